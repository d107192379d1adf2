"""The directory in the simulator: offices join through their parents with real signed entries,
readers find the offices they search in it, and hold every answer to its parent's cosignature.

What is real (federation/directory.py, federation/witness.py, docs/directory.md):

- every office has a real X.509 certificate under a real chain: one national root, one
  authority per state (`federation.trust.authority`), made when the run starts, valid from
  before the simulated epoch; its statement is signed by its ledger key (the engine's key of
  the office) with `sign_statement`, dated in simulated time;
- every office with children keeps a real `Directory` of its subtree: at the start each office
  announces itself to its parent, which checks the entry (`verify_entry`: the chain to the
  root, the state authority certifying only its own offices, the statement's signature by the
  certificate's ledger key, the node ids agreeing) and keeps it under its rules (`keep`: a
  higher sequence replaces, a replay or a second word under one sequence is refused); each
  ancestor up to the top checks and keeps it in turn (the relay);
- a move (simulations/sim/faults.py `move`) ends with the office signing a new statement,
  status `moved`, sequence + 1, a new address; its parent takes it at once (the office
  announces when it is back), each ancestor above one directory round later (`ROUND`, the
  runtime's `_keep_directory` interval);
- a reader (an office that searches) finds each office it asks as `Peers.locate` does: its
  own entries first, else its parent's directory, then the grandparent's, ... and checks the
  entry itself before using its address; once a round it looks again at the directory it
  learned an office from, if that directory changed (as a node reads its parent's changes when
  the parent's version moved). A search goes to the address the reader holds: an address that
  is no longer live (the office moved) is not answered;
- every search answer is held to the reader's witness policy (`parent_policy`: the answering
  office's parent's cosignature, its key taken from the directory, at most node.toml's default
  `max_age_minutes` old) after its receipt is verified (`verify_receipt`); failed verdicts are
  counted, and stated in the report's notes.

What is light, to keep the run cheap: announces and lookups are calls on the ancestor's
`Directory` object, not rpcs (no latency, no bytes counted, no page signatures); readers keep
the entries they looked up, not their state's whole directory; and an entry's check is done
once per run for the same bytes (`_check`: the verdict of `verify_entry` on identical bytes is
the same for every office that receives them; a forged or altered entry is other bytes and is
checked in full). Without that cache every office on the way up checks each entry again: 2.4 ms
each (the chain verification), ~4 checks per office in Kerala.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import nacl.signing
import trio

from federation.directory import Directory, VerifiedEntry, sign_statement, verify_entry
from federation.trust.authority import Authority, create_root, enrol_node, issue_state_authority
from federation.verify import verify_receipt
from federation.witness import WitnessVerdict, check_witnessed, parent_policy
from ledger.errors import CctnsError, VerificationError
from ledger.keys import LogKeys
from node.config import Witnessing
from protos import federation_pb2
from simulations.sim.node import Office

__all__ = ["ROUND", "SOFTWARE_VERSION", "SimDirectory"]

ROUND = 30.0  # s: the runtime's directory round (node serve --revocation-interval)
SOFTWARE_VERSION = "sim"
PORT = 7100
MAX_AGE_S = Witnessing().max_age_minutes * 60


@dataclass(slots=True)
class _Known:
    """An office as a reader holds it: the entry it checked, the directory it came from and
    that directory's version then, and when the reader last looked there."""

    entry: VerifiedEntry
    source: str
    version: int
    looked: float


class SimDirectory:
    """The offices' certificates and statements, their parents' directories, the readers'
    views, and the live addresses (which office answers at which address now)."""

    def __init__(
        self,
        offices: dict[str, Office],
        keys: Callable[[str], nacl.signing.SigningKey],
        *,
        epoch_ms: int,
        now: Callable[[], float],
    ) -> None:
        """`offices` parents first; `keys(node_id)`: the office's ledger key; `epoch_ms`: the
        simulated clock's zero (Unix ms); `now()`: simulated seconds since it."""
        self.offices = offices
        self._keys = keys
        self._epoch = dt.datetime.fromtimestamp(epoch_ms / 1000, dt.UTC)
        self._now = now
        before = self._epoch - dt.timedelta(days=1)  # every certificate valid from the start
        self.root = create_root(common_name="cctns sim national root", not_before=before)
        self._states: dict[str, Authority] = {}
        self.chains: dict[str, bytes] = {}
        self.enrolled_at: dict[str, str] = {}  # the address each certificate names
        self.entries: dict[str, federation_pb2.DirectoryEntry] = {}  # each office's own latest
        self.tables: dict[str, Directory] = {
            n: Directory(self.root.root_pem) for n, o in offices.items() if o.children
        }
        self.live: dict[str, str] = {}  # address -> the office answering there
        self._views: dict[str, dict[str, _Known]] = {}
        self._verified: dict[tuple[bytes, bytes, bytes], VerifiedEntry] = {}
        self.checks = 0  # entries verified in full
        self.refused: list[tuple[str, str]] = []  # (office that refused, why)
        self.lookups = 0
        self.moves = 0
        self.answers_checked = 0
        self.flagged: dict[str, int] = {}  # witness verdicts that failed, by reason's start
        for index, (node_id, office) in enumerate(offices.items()):
            address = f"10.{(index >> 16) & 255}.{(index >> 8) & 255}.{index & 255}:{PORT}"
            issuer = self._authority(node_id, before)
            creds = enrol_node(
                issuer,
                node_id=node_id,
                role=office.role,
                parent=office.parent,
                ledger_key=bytes(keys(node_id).verify_key),
                address=address,
                not_before=before,
            )
            self.chains[node_id] = creds.chain_pem
            self.enrolled_at[node_id] = address

    def _authority(self, node_id: str, before: dt.datetime) -> Authority:
        """The root for the national node; the state's authority (made once) for the rest."""
        if "/" not in node_id:
            return self.root
        state = node_id.split("/", 1)[0]
        if state not in self._states:
            self._states[state] = issue_state_authority(self.root, state, not_before=before)
        return self._states[state]

    def now(self) -> dt.datetime:
        """The simulated time."""
        return self._epoch + dt.timedelta(seconds=self._now())

    # -- joining and moving ---------------------------------------------------------------------

    @classmethod
    def joined(
        cls,
        offices: dict[str, Office],
        keys: Callable[[str], nacl.signing.SigningKey],
        *,
        epoch_ms: int,
        now: Callable[[], float],
    ) -> SimDirectory:
        """The directory once every office joined (the start of a run)."""
        directory = cls(offices, keys, epoch_ms=epoch_ms, now=now)
        directory.join_all()
        return directory

    def join_all(self) -> None:
        """Every office states its address and announces itself to its parent; the entry
        climbs to the top (each ancestor checks and keeps it)."""
        for node_id in self.offices:
            entry = self.state(node_id, self.enrolled_at[node_id])
            for holder in [node_id, *self._ancestors(node_id)]:
                self.announce(holder, entry)

    def state(
        self, node_id: str, address: str, *, status: str = "active"
    ) -> federation_pb2.DirectoryEntry:
        """The office signs a statement (the next sequence) and it becomes its live address."""
        held = self.entries.get(node_id)
        sequence = 1
        if held is not None:
            old = self._check(held)
            sequence = old.statement.sequence + 1
            self.live.pop(old.address, None)
        statement = sign_statement(
            self._keys(node_id),
            node_id=node_id,
            address=address,
            sequence=sequence,
            software_version=SOFTWARE_VERSION,
            status=status,
            at=self.now(),
        )
        entry = federation_pb2.DirectoryEntry(chain=self.chains[node_id], statement=statement)
        self.entries[node_id] = entry
        self.live[address] = node_id
        return entry

    def announce(self, holder: str, entry: federation_pb2.DirectoryEntry) -> bool:
        """`holder`'s directory checks and keeps `entry` (an announce, or a relay); False,
        with the reason kept in `refused`, when it does not verify or is older."""
        table = self.tables.get(holder)
        if table is None:
            return False
        try:
            return table.keep(self._check(entry))
        except VerificationError as exc:
            self.refused.append((holder, str(exc)))
            return False

    def move(self, node_id: str, nursery: trio.Nursery | None) -> str:
        """The office answers at a new address (the end of a move fault): a new statement,
        taken by its parent at once (the office announces when it is back) and by each
        ancestor above one round later (at once without a `nursery`). Returns the old one."""
        current = self._check(self.entries[node_id])
        host, port = current.address.rsplit(":", 1)
        entry = self.state(node_id, f"{host}:{int(port) + 1}", status="moved")
        self.moves += 1
        ancestors = self._ancestors(node_id)
        if nursery is None:
            for holder in ancestors:
                self.announce(holder, entry)
        elif ancestors:
            self.announce(ancestors[0], entry)
            nursery.start_soon(self._relay, ancestors[1:], entry)
        return current.address

    async def _relay(self, ancestors: list[str], entry: federation_pb2.DirectoryEntry) -> None:
        for holder in ancestors:
            await trio.sleep(ROUND)
            self.announce(holder, entry)

    # -- reading ---------------------------------------------------------------------------------

    def address(self, reader: str, node_id: str) -> str | None:
        """Where `reader` believes `node_id` answers (None: nobody up its chain knows it)."""
        known = self.known(reader, node_id)
        return known.address if known is not None else None

    def known(self, reader: str, node_id: str) -> VerifiedEntry | None:
        """`node_id`'s entry as `reader` holds it: looked up when it holds none (in its own
        directory, then up the chain of parents, as `Peers.locate`), checked by the reader,
        and looked at again once a round where it came from."""
        view = self._views.setdefault(reader, {})
        now = self._now()
        held = view.get(node_id)
        if held is not None:
            if now - held.looked >= ROUND:
                held.looked = now
                table = self.tables[held.source]
                if table.version != held.version:
                    held.version = table.version
                    fresh = table.get(node_id)
                    if (
                        fresh is not None
                        and fresh.statement.sequence > held.entry.statement.sequence
                    ):
                        held.entry = self._check(fresh.entry)
            return held.entry
        for source in [reader, *self._ancestors(reader)]:  # its own subtree first
            there = self.tables.get(source)
            found = there.get(node_id) if there is not None else None
            if there is not None and found is not None:
                self.lookups += 1
                entry = self._check(found.entry)
                view[node_id] = _Known(entry, source, there.version, now)
                return entry
        return None

    def reachable(self, reader: str, targets: list[str]) -> list[str]:
        """The targets `reader` reaches at the address it holds for them (the others: moved,
        or unknown, are not answered)."""
        return [t for t in targets if self.live.get(self.address(reader, t) or "") == t]

    def check_answer(
        self, reader: str, target: str, response: federation_pb2.SearchResponse
    ) -> WitnessVerdict:
        """The reader's witness check of a search answer: its receipt verified against the
        answering office's key (from the directory), then its cosigned checkpoint held to the
        parent's cosignature (the parent's key from the directory too)."""
        self.answers_checked += 1
        office = self.known(reader, target)
        parent = self.known(reader, office.parent) if office and office.parent else None
        if office is None or parent is None:
            verdict = WitnessVerdict(False, "no witness (parent) known for the office")
        else:
            try:
                receipt = verify_receipt(
                    response.receipt,
                    expected_origin=office.origin,
                    owner_public_key=office.identity.ledger_key,
                    key_handovers=response.key_handovers,
                )
                verdict = check_witnessed(
                    parent_policy(parent.origin, parent.identity.ledger_key, MAX_AGE_S),
                    response.witnessed if response.HasField("witnessed") else None,
                    keys=LogKeys.single(office.identity.ledger_key),
                    origin=office.origin,
                    size=receipt.size,
                    root=receipt.root,
                    now_s=int(self.now().timestamp()),
                )
            except CctnsError as exc:
                verdict = WitnessVerdict(False, f"receipt: {exc}")
        if not verdict.ok:
            why = verdict.reason.split(":", 1)[0]
            if "longer than" in why:
                why = "cosigned too long ago"
            self.flagged[why] = self.flagged.get(why, 0) + 1
        return verdict

    # -- helpers ---------------------------------------------------------------------------------

    def _check(self, entry: federation_pb2.DirectoryEntry) -> VerifiedEntry:
        """`verify_entry` at the simulated time, once per run for the same bytes."""
        key = (entry.chain, entry.statement, entry.signer_chain)
        verified = self._verified.get(key)
        if verified is None:
            self.checks += 1
            verified = verify_entry(entry, self.root.root_pem, at=self.now())
            self._verified[key] = verified
        return verified

    def _ancestors(self, node_id: str) -> list[str]:
        chain: list[str] = []
        parent = self.offices[node_id].parent
        while parent:
            chain.append(parent)
            parent = self.offices[parent].parent
        return chain

    def notes(self) -> list[str]:
        """What the report says of the directory and the witness checks."""
        return notes_of(self.counters())

    def counters(self) -> dict[str, Any]:
        """The figures `notes` states (a split run adds up its parts', parts.py)."""
        return {
            "joined": len(self.entries),
            "states": len(self._states),
            "checks": self.checks,
            "lookups": self.lookups,
            "moves": self.moves,
            "refused": len(self.refused),
            "answers_checked": self.answers_checked,
            "flagged": dict(self.flagged),
        }


def notes_of(counters: dict[str, Any]) -> list[str]:
    """The report's notes on the directory and the witness checks, from `counters`."""
    lines = [
        f"directory: {counters['joined']} offices joined with signed entries "
        f"({counters['states']} state authorities); {counters['checks']} entries verified in "
        f"full, {counters['lookups']} lookups by readers, {counters['moves']} moves published, "
        f"{counters['refused']} entries refused"
    ]
    if counters["answers_checked"]:
        flagged: dict[str, int] = counters["flagged"]
        failed = sum(flagged.values())
        detail = "; ".join(f"{n} {why}" for why, n in sorted(flagged.items()))
        lines.append(
            f"witness: {counters['answers_checked']} search answers held to their parent's "
            f"cosignature (at most {MAX_AGE_S // 60} min old), {failed} flagged"
            + (f" ({detail})" if detail else "")
        )
    return lines
