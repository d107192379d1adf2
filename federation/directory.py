"""The signed directory: which offices exist, where they answer, and whom to ask instead.

Theory of operation (docs/directory.md). An entry is an office's word about itself, checkable
by anyone who trusts the national root, whoever hands it on:
- its certificate chain (leaf first, state authority next), checked against the root and the
  revocations a node knows (federation/trust/chain.py): the node id, role, parent and ledger
  key come from the certificate, never from the directory;
- its address statement: canonical JSON (node id, address, status, successor, sequence, time,
  software version, signer) signed with the office's own ledger key (Ed25519), or, for a
  retirement or a merger, with its parent office's ledger key (the parent's chain travels with
  the entry as `signer_chain`).
A higher sequence replaces a lower one; a lower one, or another statement under the same
sequence, is refused (a replay, or an office saying two things). A statement is signed under
its own domain prefix, so no ledger entry or checkpoint signed by the same key can pass for one.

A `Directory` keeps the verified entries by node id with a version counter: every change gets
the next version, so a reader asks "what changed since version V" (`changes_since`) and gets
a bounded page of entries and of removals (an entry whose certificate was revoked is removed,
and the removal is remembered so readers learn it too). A page travels signed by the serving
node's ledger key (`sign_page`, `verify_page`); the reader then verifies every entry in it on
its own (`Directory.apply`): a forged or unchained entry is refused with its reason and nothing
of it is kept, whatever the page's signature says.

This module does no I/O and never imports trio, grpc or node/ (the node keeps its directory in
its data directory as `to_json` writes it). It is synchronous and thread-safe.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Final

import nacl.exceptions
import nacl.signing
from google.protobuf.message import DecodeError

from federation.interfaces import PeerAddress, PeerIdentity
from federation.trust.chain import CLOCK_SKEW, RevocationCheck, now, stamp, state_of, utc
from federation.trust.chain import verify_chain as verify_certificate_chain
from federation.trust.identity import (
    address_from_certificate,
    canonical_json,
    load_certificates,
    parse_address,
    valid_node_id,
)
from ledger.errors import AuthenticationError, CctnsError, InputError, VerificationError
from protos import federation_pb2

__all__ = [
    "MAX_CHAIN_BYTES",
    "MAX_ENTRIES_PER_PAGE",
    "MAX_PAGE_BYTES",
    "MAX_RELAYED",
    "MAX_STATEMENT_BYTES",
    "STATUSES",
    "Applied",
    "Directory",
    "StaleEntry",
    "Statement",
    "VerifiedEntry",
    "sign_page",
    "sign_statement",
    "verify_entry",
    "verify_page",
]

STATUSES: Final = ("active", "moved", "retired", "merged")
# Statuses a parent office may sign for its child: the child may be gone and unable to sign.
_PARENT_MAY_SIGN: Final = ("retired", "merged")
# Bounds: one entry (two PEM certificates of about 1 KiB each, a statement of a few hundred
# bytes), one page of a listing, the entries a child relays up in one announce.
MAX_CHAIN_BYTES: Final = 16 * 1024
MAX_STATEMENT_BYTES: Final = 4 * 1024
MAX_ENTRIES_PER_PAGE: Final = 500
MAX_PAGE_BYTES: Final = 4 * 1024 * 1024
MAX_RELAYED: Final = 500
MAX_SOFTWARE_VERSION: Final = 64
# Domain prefixes: what a ledger key signs here can be nothing else it signs.
_STATEMENT_DOMAIN: Final = b"cctns directory statement v1\n"
_PAGE_DOMAIN: Final = b"cctns directory page v1\n"
_TIME_FORMAT: Final = "%Y-%m-%dT%H:%M:%SZ"


class StaleEntry(VerificationError):
    """An entry older than the one held (a lower sequence): a replay, or a reader behind."""


# -- statements ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Statement:
    """An office's signed word on where it answers (verified)."""

    node_id: str
    address: str
    status: str
    successor: str
    sequence: int
    time: dt.datetime
    software_version: str
    signer: str


def sign_statement(
    key: nacl.signing.SigningKey,
    *,
    node_id: str,
    address: str,
    sequence: int,
    software_version: str = "",
    status: str = "active",
    successor: str = "",
    signer: str = "",
    at: dt.datetime | None = None,
) -> bytes:
    """A statement signed with `key` (the office's ledger key, or its parent's for a retirement
    or merger, `signer` naming the parent). InputError lists what is wrong with the fields."""
    body = {
        "node_id": node_id,
        "address": address,
        "status": status,
        "successor": successor,
        "sequence": sequence,
        "time": stamp(utc(at) if at else now()),
        "software_version": software_version,
        "signer": signer or node_id,
    }
    problems = _statement_problems(body)
    if problems:
        raise InputError("; ".join(problems), problems)
    text = canonical_json(body)
    signature = key.sign(_STATEMENT_DOMAIN + text).signature
    return canonical_json(
        {"body": text.decode(), "signature": base64.b64encode(signature).decode()}
    )


def _statement_problems(body: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    node_id, status, successor = body["node_id"], body["status"], body["successor"]
    if not isinstance(node_id, str) or not valid_node_id(node_id):
        problems.append(f"node id {node_id!r} is not a node id")
    if status not in STATUSES:
        problems.append(f"status {status!r} is not one of {', '.join(STATUSES)}")
    if successor and (not isinstance(successor, str) or not valid_node_id(successor)):
        problems.append(f"successor {successor!r} is not a node id")
    if status == "merged" and not successor:
        problems.append("a merged office names the office it merged into (successor)")
    if successor and successor == node_id:
        problems.append("an office cannot be its own successor")
    sequence = body["sequence"]
    if not isinstance(sequence, int) or isinstance(sequence, bool) or not 0 < sequence < 2**63:
        problems.append(f"sequence {sequence!r} must be a positive whole number")
    version = body["software_version"]
    if not isinstance(version, str) or len(version) > MAX_SOFTWARE_VERSION:
        problems.append(f"software version is longer than {MAX_SOFTWARE_VERSION} characters")
    signer = body["signer"]
    if not isinstance(signer, str) or not valid_node_id(signer):
        problems.append(f"signer {signer!r} is not a node id")
    try:
        parse_address(str(body["address"]))
    except InputError as exc:
        problems.append(str(exc))
    return problems


def _read_statement(signed: bytes) -> tuple[Statement, bytes, bytes]:
    """(statement, the exact body signed, signature); VerificationError when malformed."""
    if len(signed) > MAX_STATEMENT_BYTES:
        raise VerificationError(f"statement is over {MAX_STATEMENT_BYTES} bytes")
    try:
        document = json.loads(signed)
        text = document["body"].encode()
        signature = base64.b64decode(document["signature"], validate=True)
        body = json.loads(text)
        fields = {name: body[name] for name in _FIELDS}
        when = dt.datetime.strptime(body["time"], _TIME_FORMAT).replace(tzinfo=dt.UTC)
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise VerificationError(f"malformed statement: {exc}") from exc
    if canonical_json(document) != signed or canonical_json(body) != text:
        raise VerificationError("statement is not in canonical form")
    if set(body) != {*_FIELDS, "time"}:
        raise VerificationError("statement has unknown or missing fields")
    problems = _statement_problems(fields)
    if problems:
        raise VerificationError("statement: " + "; ".join(problems))
    return (
        Statement(
            node_id=fields["node_id"],
            address=fields["address"],
            status=fields["status"],
            successor=fields["successor"],
            sequence=fields["sequence"],
            time=when,
            software_version=fields["software_version"],
            signer=fields["signer"],
        ),
        text,
        signature,
    )


_FIELDS: Final = (
    "node_id",
    "address",
    "status",
    "successor",
    "sequence",
    "software_version",
    "signer",
)


# -- entries -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class VerifiedEntry:
    """A directory entry whose chain and statement verified."""

    identity: PeerIdentity  # from the certificate: node id, role, parent, ledger key, serial
    statement: Statement
    entry: federation_pb2.DirectoryEntry = field(repr=False, compare=False)
    issuer: str = ""  # the certificate's issuer (RFC 4514), for revocation checks

    @property
    def node_id(self) -> str:
        return self.identity.node_id

    @property
    def parent(self) -> str:
        return self.identity.parent

    @property
    def address(self) -> str:
        return self.statement.address

    @property
    def status(self) -> str:
        return self.statement.status

    @property
    def successor(self) -> str:
        return self.statement.successor

    @property
    def software_version(self) -> str:
        return self.statement.software_version

    @property
    def origin(self) -> str:
        """The office's log (every log is named cctns.in/<node id>)."""
        return f"cctns.in/{self.node_id}"

    def peer_address(self) -> PeerAddress:
        """How to reach the office, as Peers and the transports take it."""
        return PeerAddress(
            node_id=self.node_id,
            address=self.address,
            role=self.identity.role,
            origin=self.origin,
            ledger_key=self.identity.ledger_key,
            parent=self.identity.parent,
        )

    def wire(self) -> bytes:
        return self.entry.SerializeToString()


def make_entry(chain_pem: bytes, statement: bytes, signer_chain: bytes = b"") -> bytes:
    """A DirectoryEntry's bytes (for files and tests)."""
    return federation_pb2.DirectoryEntry(
        chain=chain_pem, statement=statement, signer_chain=signer_chain
    ).SerializeToString()


def _chain_identity(
    chain: bytes, root_pem: bytes, revocations: RevocationCheck | None, at: dt.datetime, who: str
) -> tuple[PeerIdentity, str]:
    """The identity a chain proves, with its issuer; VerificationError naming why not."""
    if not chain:
        raise VerificationError(f"{who} carries no certificate chain")
    if len(chain) > MAX_CHAIN_BYTES:
        raise VerificationError(f"{who}'s certificate chain is over {MAX_CHAIN_BYTES} bytes")
    try:
        identity = verify_certificate_chain(chain, [], root_pem, at=at, revocations=revocations)
        issuer = load_certificates(chain, "certificate")[0].issuer
    except AuthenticationError as exc:
        raise VerificationError(f"{who}: {exc}") from exc
    state = state_of(issuer)
    if state and not identity.node_id.startswith(f"{state}/"):
        raise VerificationError(
            f"{who}: certified by the {state} authority but claims to be {identity.node_id}"
        )
    return identity, issuer.rfc4514_string()


def verify_entry(
    entry: federation_pb2.DirectoryEntry,
    root_pem: bytes,
    *,
    revocations: RevocationCheck | None = None,
    at: dt.datetime | None = None,
) -> VerifiedEntry:
    """Checks one entry: its chain against the root (and `revocations`), its statement's
    signature by the office's ledger key (or its parent's, for a retirement or merger), and
    that statement and certificate name the same office. VerificationError says why not."""
    moment = utc(at) if at else now()
    identity, issuer = _chain_identity(entry.chain, root_pem, revocations, moment, "entry")
    statement, text, signature = _read_statement(entry.statement)
    who = f"entry for {identity.node_id}"
    if statement.node_id != identity.node_id:
        raise VerificationError(
            f"{who}: the statement names {statement.node_id}, the certificate {identity.node_id}"
        )
    if statement.time > moment + CLOCK_SKEW:
        raise VerificationError(
            f"{who}: the statement is dated in the future ({stamp(statement.time)})"
        )
    if statement.signer == identity.node_id:
        key = identity.ledger_key
        if entry.signer_chain:
            raise VerificationError(f"{who}: a self-signed statement carries a signer chain")
    elif statement.signer == identity.parent and statement.status in _PARENT_MAY_SIGN:
        parent, _ = _chain_identity(
            entry.signer_chain, root_pem, revocations, moment, f"{who} signer"
        )
        if parent.node_id != statement.signer:
            raise VerificationError(
                f"{who}: signed for {statement.signer} with the certificate of {parent.node_id}"
            )
        key = parent.ledger_key
    else:
        raise VerificationError(
            f"{who}: {statement.signer} may not sign it (only the office itself, or its parent "
            f"{identity.parent or '(none)'} for a retirement or merger)"
        )
    try:
        nacl.signing.VerifyKey(key).verify(_STATEMENT_DOMAIN + text, signature)
    except (nacl.exceptions.BadSignatureError, ValueError):
        raise VerificationError(f"{who}: the statement's signature does not verify") from None
    return VerifiedEntry(identity, statement, entry, issuer)


def parse_entry(wire: bytes) -> federation_pb2.DirectoryEntry:
    entry = federation_pb2.DirectoryEntry()
    try:
        entry.ParseFromString(wire)
    except DecodeError:
        raise VerificationError("malformed directory entry") from None
    return entry


# -- pages ---------------------------------------------------------------------------------------


def sign_page(
    listing: federation_pb2.DirectoryListing, key: nacl.signing.SigningKey, chain_pem: bytes
) -> federation_pb2.DirectoryPage:
    """A listing signed by the serving node's ledger key, with its certificate chain."""
    body = listing.SerializeToString()
    signature = key.sign(_PAGE_DOMAIN + body).signature
    return federation_pb2.DirectoryPage(listing=body, signature=signature, server_chain=chain_pem)


def verify_page(
    page: federation_pb2.DirectoryPage,
    expected_node_id: str,
    root_pem: bytes,
    *,
    revocations: RevocationCheck | None = None,
    at: dt.datetime | None = None,
) -> federation_pb2.DirectoryListing:
    """The listing of a page served by `expected_node_id`, once its chain and signature
    verify; VerificationError otherwise. The entries inside are NOT verified here: that is
    `Directory.apply`'s job, entry by entry."""
    if len(page.listing) > MAX_PAGE_BYTES:
        raise VerificationError(f"directory page is over {MAX_PAGE_BYTES} bytes")
    moment = utc(at) if at else now()
    server, _ = _chain_identity(page.server_chain, root_pem, revocations, moment, "page")
    if server.node_id != expected_node_id:
        raise VerificationError(
            f"directory page from {expected_node_id} is signed by {server.node_id}"
        )
    try:
        nacl.signing.VerifyKey(server.ledger_key).verify(
            _PAGE_DOMAIN + page.listing, page.signature
        )
    except (nacl.exceptions.BadSignatureError, ValueError):
        raise VerificationError(f"directory page of {server.node_id}: bad signature") from None
    listing = federation_pb2.DirectoryListing()
    try:
        listing.ParseFromString(page.listing)
    except DecodeError:
        raise VerificationError(f"directory page of {server.node_id} is malformed") from None
    if listing.node_id != server.node_id:
        raise VerificationError(f"directory page of {server.node_id} names {listing.node_id}")
    if len(listing.entries) > MAX_ENTRIES_PER_PAGE:
        raise VerificationError(f"directory page holds over {MAX_ENTRIES_PER_PAGE} entries")
    return listing


# -- the directory -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Applied:
    """What applying a listing did: entries taken, refused (node id or position, reason),
    and removed."""

    accepted: list[str]
    refused: list[tuple[str, str]]
    removed: list[str]


@dataclass(slots=True)
class _Held:
    verified: VerifiedEntry
    changed: int  # the directory version of its last change


class Directory:
    """Verified entries by node id, with a version for delta sync. Thread-safe."""

    def __init__(self, root_pem: bytes, revocations: RevocationCheck | None = None) -> None:
        self._root_pem = root_pem
        self._revocations = revocations
        self._lock = threading.RLock()
        self._entries: dict[str, _Held] = {}
        self._removed: dict[str, int] = {}  # node id -> version of its removal
        self._last_seen: dict[str, float] = {}
        self._version = 0

    @property
    def version(self) -> int:
        with self._lock:
            return self._version

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def __contains__(self, node_id: object) -> bool:
        with self._lock:
            return node_id in self._entries

    # -- changing it -----------------------------------------------------------------------------

    def add(self, entry: federation_pb2.DirectoryEntry, *, at: dt.datetime | None = None) -> bool:
        """Verifies and keeps `entry`; True when it changed the directory. VerificationError
        (nothing kept) when it does not verify, or replays a lower sequence, or says something
        else under a sequence already held."""
        verified = verify_entry(entry, self._root_pem, revocations=self._revocations, at=at)
        return self.keep(verified)

    def check(
        self, entry: federation_pb2.DirectoryEntry, *, at: dt.datetime | None = None
    ) -> VerifiedEntry:
        """`verify_entry` against this directory's root and revocations (nothing kept)."""
        return verify_entry(entry, self._root_pem, revocations=self._revocations, at=at)

    def keep(self, verified: VerifiedEntry) -> bool:
        """Keeps an entry `check` verified; True when it changed the directory.
        VerificationError for a lower sequence (a replay) or another statement under the
        sequence held."""
        node_id = verified.node_id
        with self._lock:
            held = self._entries.get(node_id)
            if held is not None:
                old = held.verified
                if verified.statement.sequence < old.statement.sequence:
                    raise StaleEntry(
                        f"entry for {node_id}: sequence {verified.statement.sequence} is older "
                        f"than the {old.statement.sequence} held (a replay)"
                    )
                if verified.statement.sequence == old.statement.sequence:
                    if verified.entry.statement != old.entry.statement:
                        raise VerificationError(
                            f"entry for {node_id}: another statement under sequence "
                            f"{old.statement.sequence}"
                        )
                    if verified.entry.chain == old.entry.chain or not _newer_certificate(
                        verified, old
                    ):
                        return False  # the same word again (or an older certificate for it)
            self._version += 1
            self._entries[node_id] = _Held(verified, self._version)
            self._removed.pop(node_id, None)
            return True

    def remove(self, node_id: str) -> bool:
        """Drops an office (its certificate was revoked); readers learn it as a removal."""
        with self._lock:
            if self._entries.pop(node_id, None) is None:
                return False
            self._version += 1
            self._removed[node_id] = self._version
            self._last_seen.pop(node_id, None)
            return True

    def prune_revoked(self) -> list[str]:
        """Removes every entry whose certificate (or its signer's) is now revoked."""
        if self._revocations is None:
            return []
        with self._lock:
            held = [h.verified for h in self._entries.values()]
        gone = [
            v.node_id
            for v in held
            if self._revocations.is_revoked(v.identity, issuer=v.issuer or None)
        ]
        return [node_id for node_id in gone if self.remove(node_id)]

    def apply(self, listing: federation_pb2.DirectoryListing) -> Applied:
        """Takes the entries of a verified page one by one (each verified on its own: a bad
        one is refused with its reason and nothing of it kept) and its removals."""
        accepted: list[str] = []
        refused: list[tuple[str, str]] = []
        for number, entry in enumerate(listing.entries[:MAX_ENTRIES_PER_PAGE], 1):
            try:
                verified = verify_entry(entry, self._root_pem, revocations=self._revocations)
                if self.keep(verified):
                    accepted.append(verified.node_id)
            except StaleEntry:
                continue  # the server is behind on this office: what is held is newer
            except CctnsError as exc:
                refused.append((f"entry {number}", str(exc)))
        removed = [node_id for node_id in listing.removed if self.remove(node_id)]
        return Applied(accepted, refused, removed)

    def seen(self, node_id: str, at: float | None = None) -> None:
        """Notes that `node_id` was heard from (a parent's bookkeeping of its children)."""
        with self._lock:
            self._last_seen[node_id] = time.time() if at is None else at

    def last_seen(self, node_id: str) -> float | None:
        with self._lock:
            return self._last_seen.get(node_id)

    # -- reading it ------------------------------------------------------------------------------

    def get(self, node_id: str) -> VerifiedEntry | None:
        with self._lock:
            held = self._entries.get(node_id)
            return None if held is None else held.verified

    def entries(self) -> list[VerifiedEntry]:
        """Every entry, by node id."""
        with self._lock:
            return [self._entries[n].verified for n in sorted(self._entries)]

    def children(self, node_id: str) -> list[VerifiedEntry]:
        """The offices whose certificate names `node_id` as their parent."""
        return [v for v in self.entries() if v.parent == node_id]

    def subtree(self, node_id: str, *, since: int = 0) -> list[VerifiedEntry]:
        """Every office below `node_id` by parent links (not `node_id` itself); with `since`,
        only those changed after that version."""
        entries = self.entries()
        below: dict[str, list[VerifiedEntry]] = {}
        for v in entries:
            below.setdefault(v.parent, []).append(v)
        found: list[VerifiedEntry] = []
        todo = [node_id]
        seen = {node_id}
        while todo:
            for child in below.get(todo.pop(), []):
                if child.node_id not in seen:
                    seen.add(child.node_id)
                    found.append(child)
                    todo.append(child.node_id)
        if since:
            with self._lock:
                found = [
                    v
                    for v in found
                    if v.node_id in self._entries and self._entries[v.node_id].changed > since
                ]
        return sorted(found, key=lambda v: v.node_id)

    def changed(self, node_id: str) -> int:
        """The version of an entry's last change (0 when not held)."""
        with self._lock:
            held = self._entries.get(node_id)
            return 0 if held is None else held.changed

    def under(self, prefix: str) -> list[VerifiedEntry]:
        """The offices whose node id is `prefix` or starts with `prefix/` (a state, a
        district): "" is every office."""
        return [v for v in self.entries() if _in_prefix(v.node_id, prefix)]

    def ancestors(self, node_id: str) -> list[VerifiedEntry]:
        """The entries of `node_id`'s parent, its parent's parent, ... as far as known."""
        found: list[VerifiedEntry] = []
        current = self.get(node_id)
        while current is not None and current.parent and len(found) < 8:
            current = self.get(current.parent)
            if current is not None:
                found.append(current)
        return found

    def resolve(self, node_id: str) -> tuple[VerifiedEntry, str] | None:
        """The office that answers for `node_id` now: itself, or (for a retired or merged
        office) its successor, followed as far as known; with a note saying so ("" when it
        is the office itself). None when the directory does not know it."""
        current = self.get(node_id)
        if current is None:
            return None
        path = [node_id]
        while current.status in _PARENT_MAY_SIGN and current.successor and len(path) < 8:
            following = self.get(current.successor)
            if following is None or following.node_id in path:
                break
            path.append(following.node_id)
            current = following
        if len(path) == 1:
            return current, ""
        return current, f"{node_id} is {self.get(node_id).status}: asking {' -> '.join(path[1:])}"  # type: ignore[union-attr]

    def changes_since(
        self,
        since: int,
        *,
        node_id: str,
        subtree: str = "",
        limit: int = MAX_ENTRIES_PER_PAGE,
        always: Iterable[str] = (),
    ) -> federation_pb2.DirectoryListing:
        """The entries (under `subtree`, a node-id prefix; and those named in `always`) and
        removals changed after version `since`, oldest change first, at most `limit` entries
        and MAX_PAGE_BYTES. `node_id` is the serving node (it signs the page)."""
        limit = max(1, min(limit or MAX_ENTRIES_PER_PAGE, MAX_ENTRIES_PER_PAGE))
        extra = set(always)
        with self._lock:
            version = self._version
            changes: list[tuple[int, str, bool]] = [
                (h.changed, n, True)
                for n, h in self._entries.items()
                if h.changed > since and (_in_prefix(n, subtree) or n in extra)
            ]
            changes += [
                (v, n, False)
                for n, v in self._removed.items()
                if v > since and (_in_prefix(n, subtree) or n in extra)
            ]
            changes.sort()
            listing = federation_pb2.DirectoryListing(
                node_id=node_id, version=version, since_version=since, subtree=subtree
            )
            size = 0
            last = since
            more = False
            for changed, name, present in changes:
                if present:
                    wire = self._entries[name].verified.entry
                    cost = wire.ByteSize() + 8
                    if len(listing.entries) >= limit or size + cost > MAX_PAGE_BYTES:
                        more = True
                        break
                    listing.entries.append(wire)
                    size += cost
                else:
                    listing.removed.append(name)
                last = changed
            listing.more = more
            listing.next_version = last if more else version
            listing.signed_at_ms = int(time.time() * 1000)
            return listing

    def lookup_listing(self, node_id: str, *, server: str) -> federation_pb2.DirectoryListing:
        """A listing with `node_id`'s entry and those of its successors (empty when unknown)."""
        listing = federation_pb2.DirectoryListing(node_id=server, version=self.version)
        current = self.get(node_id)
        names: list[str] = []
        while current is not None and current.node_id not in names and len(names) < 8:
            names.append(current.node_id)
            listing.entries.append(current.entry)
            current = self.get(current.successor) if current.successor else None
        listing.signed_at_ms = int(time.time() * 1000)
        return listing

    # -- on disk ---------------------------------------------------------------------------------

    def to_json(self) -> bytes:
        """The directory as the node keeps it (`<data dir>/directory.json`): every entry with
        its fields for people and tools, and its signed form (`wire`) for verification."""
        with self._lock:
            entries = [
                {
                    "node_id": n,
                    "role": h.verified.identity.role,
                    "parent": h.verified.parent,
                    "address": h.verified.address,
                    "status": h.verified.status,
                    "successor": h.verified.successor,
                    "sequence": h.verified.statement.sequence,
                    "software_version": h.verified.software_version,
                    "time": stamp(h.verified.statement.time),
                    "changed": h.changed,
                    "last_seen": self._last_seen.get(n),
                    "wire": base64.b64encode(h.verified.wire()).decode("ascii"),
                }
                for n, h in sorted(self._entries.items())
            ]
            document = {"version": self._version, "entries": entries, "removed": self._removed}
        return json.dumps(document, indent=1, sort_keys=True).encode() + b"\n"

    @classmethod
    def from_json(
        cls,
        data: bytes,
        root_pem: bytes,
        revocations: RevocationCheck | None = None,
        *,
        refused: list[tuple[str, str]] | None = None,
    ) -> Directory:
        """A directory read back from `to_json`, every entry verified again: one that no
        longer verifies (revoked, expired) is left out and named in `refused`."""
        directory = cls(root_pem, revocations)
        try:
            document = json.loads(data)
            version = int(document["version"])
            rows = list(document["entries"])
            removed = {str(k): int(v) for k, v in dict(document.get("removed", {})).items()}
        except (ValueError, KeyError, TypeError) as exc:
            raise VerificationError(f"malformed directory file: {exc}") from exc
        for row in rows:
            try:
                entry = parse_entry(base64.b64decode(row["wire"], validate=True))
                verified = verify_entry(entry, root_pem, revocations=revocations)
                changed = int(row["changed"])
            except (CctnsError, ValueError, KeyError, TypeError) as exc:
                if refused is not None:
                    refused.append((str(row.get("node_id", "?")), str(exc)))
                continue
            directory._entries[verified.node_id] = _Held(verified, changed)
            seen = row.get("last_seen")
            if isinstance(seen, int | float):
                directory._last_seen[verified.node_id] = float(seen)
        directory._removed = removed
        directory._version = max(
            [version, *removed.values(), *(h.changed for h in directory._entries.values())]
        )
        return directory


def _in_prefix(node_id: str, prefix: str) -> bool:
    return not prefix or node_id == prefix or node_id.startswith(prefix + "/")


def _newer_certificate(new: VerifiedEntry, old: VerifiedEntry) -> bool:
    """Whether `new`'s certificate was issued after `old`'s (a re-enrolled office)."""
    first = load_certificates(new.entry.chain, "certificate")[0]
    second = load_certificates(old.entry.chain, "certificate")[0]
    return first.not_valid_before_utc > second.not_valid_before_utc or (
        first.not_valid_before_utc == second.not_valid_before_utc
        and first.serial_number != second.serial_number
        and first.not_valid_after_utc > second.not_valid_after_utc
    )


def certificate_address(chain_pem: bytes) -> str:
    """The address the office's certificate was issued for."""
    return address_from_certificate(chain_pem)
