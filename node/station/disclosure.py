"""Releasing a sealed identity (a court order, an approved officer's request), logged as a
Disclosure entry; and keeping an identity disclosed to this station.

The released identity and salt check against the commitment in the signed entry
(`node.records.sealing.verify_disclosure`); the disclosure itself is in the log for good.
"""

from __future__ import annotations

from node.records import limits
from node.records.sealing import SealedIdentity, verify_disclosure, withheld_part
from node.records.validation import Problems, check_officer
from node.station.core import Draft, Station
from protos import ledger_pb2, records_pb2


def disclose(
    station: Station,
    officer_id: str,
    commitment: bytes,
    authority: str,
    requester_node_id: str,
    *,
    requester_officer_id: str = "",
) -> tuple[records_pb2.Person, bytes]:
    """Releases a sealed identity under `authority` (a court order, an approval): appends
    a Disclosure entry, then returns the identity and its salt (`verify_disclosure` checks
    them against the commitment in the signed entry)."""
    with station.writing():
        problems = Problems()
        check_officer(officer_id, problems)
        problems.require(authority, "the authority for the disclosure")
        problems.require(requester_node_id, "the requesting node")
        limits.check(
            ledger_pb2.Disclosure(
                commitment=commitment,
                requester_node_id=requester_node_id,
                requester_officer_id=requester_officer_id,
                authority=authority,
            ),
            problems,
        )
        problems.raise_if_any("identity not disclosed")
        item = station.sealed.get(commitment)
        if item is None:
            problems.add("this station holds no sealed identity with that commitment")
        problems.raise_if_any("identity not disclosed")
        assert item is not None
        disclosure = ledger_pb2.Disclosure(
            commitment=item.commitment,
            record_ref=item.record_ref,
            requester_node_id=requester_node_id,
            requester_officer_id=requester_officer_id,
            authority=authority,
        )
        station.run(Draft("disclosure", item.record_ref, [station.body(officer_id, disclosure)]))
        identity = records_pb2.Person()
        identity.CopyFrom(item.identity)
        return identity, item.salt


def import_disclosed(
    station: Station,
    commitment: bytes,
    person: records_pb2.Person,
    salt: bytes,
    *,
    record_ref: str = "",
) -> None:
    """Keeps an identity disclosed to this station (e.g. with a transferred Zero FIR) in the
    sealed store, once it verifies against the commitment; VerificationError otherwise."""
    verify_disclosure(commitment, person, salt)
    with station.writing():
        station.sealed.put_many(
            [SealedIdentity(bytes(commitment), bytes(salt), withheld_part(person), record_ref)]
        )
