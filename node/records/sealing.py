"""Sealed identities: who the law says must not be named leaves the station only as a commitment.

The identity of a victim of a sexual offence (BNS 64-79, POCSO, ...), of a juvenile, and of an
informant who asks for it is moved out of the signed entry. The entry keeps the person's id,
role, sex, nationality, the `juvenile` flag and

    identity_commitment = SHA-256("cctns/identity/v1\\n" || salt || canonical identity)

where `salt` is 32 random bytes and the canonical identity is the deterministic protobuf
serialisation of a `Person` holding only the withheld fields (`WITHHELD_FIELDS`). Replicas verify
the entry's signature without ever seeing the value; the clear identity and its salt live in the
station's sealed store (`node.station.sealed_store`), beside the ledger, never replicated.

An authorised disclosure releases identity and salt; anyone holding the signed entry checks them
with `verify_disclosure`. Free text (brief facts) that names a sealed person is redacted with a
placeholder naming the commitment, which the station's own unsealed view fills back in.

Who is withheld is decided here (`withheld_persons`); this module must never touch the ledger,
a store or the network: the station seals while it drafts an FIR and logs disclosures.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ledger.errors import VerificationError
from node.records.laws import Statutes
from protos import records_pb2

COMMITMENT_CONTEXT = b"cctns/identity/v1\n"
SALT_SIZE = 32
COMMITMENT_SIZE = 32
# Person fields that identify someone; they leave the entry when the identity is sealed.
WITHHELD_FIELDS = (
    "name",
    "aliases",
    "relative_name",
    "relation",
    "age",
    "date_of_birth",
    "address",
    "identifying_marks",
    "photo_ref",
    "fingerprint_ref",
    "mobile",
)
# Placeholder for a sealed name in free text: "[withheld:1a2b3c4d]" (the commitment's first
# 4 bytes in hex), and "[withheld:1a2b3c4d:relative]" for the relative's name.
_PLACEHOLDER = re.compile(r"\[withheld:([0-9a-f]{8})(:relative)?\]")
_MIN_REDACTED = 3


@dataclass(frozen=True, slots=True)
class SealedIdentity:
    """A withheld identity as the station keeps it: the value, its salt and its commitment."""

    commitment: bytes
    salt: bytes
    identity: records_pb2.Person  # only the withheld fields
    record_ref: str = ""
    person_id: str = ""


def withheld_part(person: records_pb2.Person) -> records_pb2.Person:
    """A Person holding only the withheld (identifying) fields of `person`."""
    part = records_pb2.Person()
    for name in WITHHELD_FIELDS:
        value = getattr(person, name)
        if isinstance(value, str | int):
            setattr(part, name, value)
        else:
            getattr(part, name).extend(value)
    return part


def has_identity(person: records_pb2.Person) -> bool:
    """Whether any identifying field of `person` is filled in."""
    return withheld_part(person).ByteSize() > 0


def canonical_identity(person: records_pb2.Person) -> bytes:
    """The committed bytes: deterministic serialisation of the withheld fields alone."""
    return withheld_part(person).SerializeToString(deterministic=True)


def commit_identity(person: records_pb2.Person, salt: bytes) -> bytes:
    """SHA-256("cctns/identity/v1\\n" || salt || canonical identity)."""
    if len(salt) != SALT_SIZE:
        raise VerificationError(f"the salt must be {SALT_SIZE} bytes, got {len(salt)}")
    return hashlib.sha256(COMMITMENT_CONTEXT + salt + canonical_identity(person)).digest()


def verify_disclosure(commitment: bytes, person: records_pb2.Person, salt: bytes) -> None:
    """Checks a disclosed identity and salt against the commitment in a signed entry.

    Only the withheld fields of `person` count (a full Person may be passed). Raises
    VerificationError when they do not match.
    """
    if len(commitment) != COMMITMENT_SIZE:
        raise VerificationError(f"a commitment is {COMMITMENT_SIZE} bytes, got {len(commitment)}")
    if not hmac.compare_digest(commit_identity(person, salt), commitment):
        raise VerificationError("the disclosed identity and salt do not match the commitment")


def withheld_persons(
    fir: records_pb2.Fir, statutes: Statutes, *, withhold_informants: bool = False
) -> list[records_pb2.Person]:
    """The persons of `fir` whose identity the law withholds, not sealed yet.

    Every juvenile; where a cited section withholds identity (BNS 64-79, POCSO, ...) the
    victims, the informants and anyone recorded with a victim's identity (the victim as
    complainant); informants in any case when `withhold_informants`. Persons already sealed (a
    transferred Zero FIR) keep their commitment and are not listed.
    """
    sensitive = any(
        statutes.is_known(s.act, s.section) and statutes.section(s.act, s.section).identity_withheld
        for s in fir.sections
    )
    victims = (
        {canonical_identity(e.person) for e in fir.persons if e.role == records_pb2.VICTIM}
        if sensitive
        else set()
    )
    found: list[records_pb2.Person] = []
    for entry in fir.persons:
        person = entry.person
        if person.identity_commitment or not has_identity(person):
            continue
        informant = entry.role == records_pb2.INFORMANT
        if (
            person.juvenile
            or (withhold_informants and informant)
            or (sensitive and (entry.role == records_pb2.VICTIM or informant))
            or canonical_identity(person) in victims
        ):
            found.append(person)
    return found


def seal_person(
    person: records_pb2.Person, *, record_ref: str = "", salt: bytes | None = None
) -> SealedIdentity:
    """Moves `person`'s identity out (in place), leaving the commitment; returns what to keep."""
    identity = withheld_part(person)
    salt = os.urandom(SALT_SIZE) if salt is None else salt
    commitment = commit_identity(identity, salt)
    for name in WITHHELD_FIELDS:
        person.ClearField(name)  # type: ignore[arg-type]
    person.identity_commitment = commitment
    return SealedIdentity(commitment, salt, identity, record_ref, person.person_id)


def unsealed_person(person: records_pb2.Person, identity: records_pb2.Person) -> records_pb2.Person:
    """`person` (as in the entry) with the sealed identity filled back in."""
    full = records_pb2.Person()
    full.CopyFrom(person)
    full.MergeFrom(withheld_part(identity))
    return full


def placeholder(commitment: bytes, *, relative: bool = False) -> str:
    """The text that stands in for a sealed name in free text."""
    return f"[withheld:{commitment[:4].hex()}{':relative' if relative else ''}]"


def redact(text: str, sealed: Iterable[SealedIdentity]) -> str:
    """`text` with every sealed name, alias and relative's name replaced by a placeholder."""
    words: list[tuple[str, str]] = []
    for item in sealed:
        for name in (item.identity.name, *item.identity.aliases):
            words.append((name, placeholder(item.commitment)))
        words.append((item.identity.relative_name, placeholder(item.commitment, relative=True)))
    # Longest first, so "Anitha Kumari" goes before "Anitha".
    for word, stand_in in sorted(words, key=lambda pair: -len(pair[0])):
        word = word.strip()
        if len(word) < _MIN_REDACTED:
            continue
        pattern = re.compile(r"(?<!\w)" + re.escape(word) + r"(?!\w)", re.IGNORECASE)
        text = pattern.sub(stand_in, text)
    return text


def restore(text: str, sealed: Iterable[SealedIdentity]) -> str:
    """The inverse of `redact` for local use: placeholders become the names again."""
    by_prefix = {item.commitment[:4].hex(): item.identity for item in sealed}

    def name_of(match: re.Match[str]) -> str:
        identity = by_prefix.get(match[1])
        if identity is None:
            return match[0]
        return identity.relative_name if match[2] else identity.name

    return _PLACEHOLDER.sub(name_of, text)


def withheld_in_view(view: dict[str, Any], statutes: Statutes) -> str | None:
    """Why the law keeps this record (a sealed current view of an FIR) from the public, or None.

    Any cited section that withholds identity (BNS 64-79, POCSO, ...), any juvenile, any sealed
    identity. The PDF module has its own test (`node.web.pdf.withheld_from_public`); the portal
    applies both, so either one withholding is enough.
    """
    for cited in view.get("sections", []):
        act, section = str(cited.get("act", "")), str(cited.get("section", ""))
        if statutes.is_known(act, section) and statutes.section(act, section).identity_withheld:
            return "identity of the victim withheld by law"
    for entry in view.get("persons", []):
        person = entry.get("person", {})
        if person.get("juvenile"):
            return "identity of a juvenile withheld by law"
        if person.get("identity_commitment"):
            return "an identity in this record is sealed"
    return None


__all__ = [
    "COMMITMENT_CONTEXT",
    "WITHHELD_FIELDS",
    "SealedIdentity",
    "canonical_identity",
    "commit_identity",
    "has_identity",
    "redact",
    "restore",
    "seal_person",
    "unsealed_person",
    "verify_disclosure",
    "withheld_in_view",
    "withheld_part",
    "withheld_persons",
]
