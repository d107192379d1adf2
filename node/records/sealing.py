"""Sealed identities: who the law says must not be named leaves the station only as a commitment.

The identity of a person the law protects (`node.records.withholding`: the victim of a sexual
offence and whoever reports it, a child in any role, an informant on the officer's order) is moved
out of the signed entry. The entry keeps the person's id,
role, sex, nationality, the `juvenile` flag and

    identity_commitment = SHA-256("cctns/identity/v1\\n" || salt || canonical identity)

where `salt` is 32 random bytes and the canonical identity is the deterministic protobuf
serialisation of a `Person` holding only the withheld fields (`WITHHELD_FIELDS`). Replicas verify
the entry's signature without ever seeing the value; the clear identity and its salt live in the
station's sealed store (`node.station.sealed_store`), beside the ledger, never replicated.

An authorised disclosure releases identity and salt; anyone holding the signed entry checks them
with `verify_disclosure`. Free text (`FREE_TEXT`: brief facts, GD summaries, case diary and other
case-event text, amendments) that names a sealed person is redacted with a placeholder naming
the commitment (`Redactor`), which the station's own unsealed view fills back in (`restore`).

Who is withheld is decided by `node.records.withholding`, not here: this module is the mechanism
(commitments, sealing, redaction). It must never touch the ledger, a store or the network: the
station seals while it drafts a record and logs disclosures.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ledger.errors import VerificationError
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
# What stands in for the name of a protected person who is not sealed (no commitment to name).
WITHHELD_TEXT = "[withheld]"
# The free-text fields of each record kind, where an officer may write a name (dotted paths into
# the record; a repeated field's every item). Amendments correct the same fields by these paths.
FREE_TEXT: Mapping[str, tuple[str, ...]] = {
    "fir": ("brief_facts", "place_of_occurrence.description", "property.description"),
    "ncr": ("brief_facts",),
    "general_diary": ("summary",),
    "petition": ("subject", "details"),
    "case_event": (
        "text",
        "outcome",
        "property.description",
        # The investigation forms (node/records/investigation.py): wherever an officer types a
        # name, a place or what someone said.
        "arrest_memo.place",
        "arrest_memo.grounds",
        "arrest_memo.attesting_witness",
        "arrest_memo.informed_person",
        "mahazar.place",
        "mahazar.witnesses",
        "custody.bail_bond",
        "custody.sureties",
        "movement.counterpart",
        "movement.reference",
        "diary.places_visited",
        "diary.documents",
        "diary.statements.summary",
        "diary.statements.witness.name",
        "diary.statements.witness.relative_name",
        "diary.statements.witness.address",
        "disposal.sentence",
        "mo.note",
        # A transfer's and an alteration's reasons (node/records/case_transfer.py).
        "transfer.reason",
        "alteration.reason",
    ),
    "amendment": ("reason",),
}


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


class Redactor:
    """Replaces the names of protected persons in free text: each sealed identity's name,
    aliases and relative's name by its placeholder, and the names of `clear` persons (protected
    but not sealed: entries written before the policy) by `WITHHELD_TEXT`. Whole words, any
    case, longest first ("Anitha Kumari" before "Anitha"); names shorter than three letters are
    left alone."""

    def __init__(
        self, sealed: Iterable[SealedIdentity] = (), clear: Iterable[records_pb2.Person] = ()
    ) -> None:
        stand_ins: dict[str, str] = {}
        for item in sealed:
            for name in (item.identity.name, *item.identity.aliases):
                stand_ins.setdefault(name.strip().lower(), placeholder(item.commitment))
            relative = item.identity.relative_name.strip().lower()
            stand_ins.setdefault(relative, placeholder(item.commitment, relative=True))
        for person in clear:
            for name in (person.name, *person.aliases, person.relative_name):
                stand_ins.setdefault(name.strip().lower(), WITHHELD_TEXT)
        words = sorted((w for w in stand_ins if len(w) >= _MIN_REDACTED), key=len, reverse=True)
        self._stand_ins = stand_ins
        self._pattern = (
            re.compile(
                r"(?<!\w)(?:" + "|".join(re.escape(w) for w in words) + r")(?!\w)", re.IGNORECASE
            )
            if words
            else None
        )

    def __bool__(self) -> bool:
        return self._pattern is not None

    def __call__(self, text: str) -> str:
        if self._pattern is None or not text:
            return text
        return self._pattern.sub(lambda m: self._stand_ins.get(m[0].lower(), WITHHELD_TEXT), text)


def redact(text: str, sealed: Iterable[SealedIdentity]) -> str:
    """`text` with every sealed name, alias and relative's name replaced by a placeholder."""
    return Redactor(sealed)(text)


def restore(text: str, sealed: Iterable[SealedIdentity]) -> str:
    """The inverse of `redact` for local use: placeholders become the names again."""
    by_prefix = {item.commitment[:4].hex(): item.identity for item in sealed}

    def name_of(match: re.Match[str]) -> str:
        identity = by_prefix.get(match[1])
        if identity is None:
            return match[0]
        return identity.relative_name if match[2] else identity.name

    return _PLACEHOLDER.sub(name_of, text)


def rewrite_free_text(record: Any, kind: str, rewrite: Callable[[str], str]) -> None:
    """Applies `rewrite` to every free-text field (`FREE_TEXT[kind]`) of `record`, in place:
    a record message, or its dict as `MessageToDict` writes it (a view)."""
    for path in FREE_TEXT.get(kind, ()):
        _rewrite(record, path.split("."), rewrite)


def _rewrite(node: Any, parts: list[str], rewrite: Callable[[str], str]) -> None:
    name, rest = parts[0], parts[1:]
    if isinstance(node, dict):
        value = node.get(name)
        if not rest:
            if isinstance(value, str) and value:
                node[name] = rewrite(value)
            elif isinstance(value, list):  # a repeated string field
                node[name] = [rewrite(v) if isinstance(v, str) else v for v in value]
            return
    else:
        value = getattr(node, name)
        if not rest:
            if isinstance(value, str):
                changed = rewrite(value)
                if changed != value:  # never marks an absent sub-message present
                    setattr(node, name, changed)
            else:  # a repeated string field: each item
                for position, item in enumerate(value):
                    value[position] = rewrite(item)
            return
    if value is None or isinstance(value, str):
        return
    children = value if isinstance(value, Sequence) else [value]
    for child in children:
        if isinstance(child, dict) or hasattr(child, "DESCRIPTOR"):
            _rewrite(child, rest, rewrite)


__all__ = [
    "COMMITMENT_CONTEXT",
    "FREE_TEXT",
    "WITHHELD_FIELDS",
    "WITHHELD_TEXT",
    "Redactor",
    "SealedIdentity",
    "canonical_identity",
    "commit_identity",
    "has_identity",
    "redact",
    "restore",
    "rewrite_free_text",
    "seal_person",
    "unsealed_person",
    "verify_disclosure",
    "withheld_part",
]
