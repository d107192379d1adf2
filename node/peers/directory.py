"""The node's directory of offices, kept in its data directory, and how it talks about it.

`NodeDirectory` holds the node's `federation.directory.Directory` (verified entries of the
offices it knows: its own subtree, announced by its children; its state's offices, refreshed
from its parent; offices it looked up) and its own signed statement, on disk:

    <data dir>/directory.json       the directory (`Directory.to_json`), rewritten atomically
    <data dir>/statement.json       the node's own latest signed statement
    <data dir>/directory-pending/   signed entries made while the node runs (a parent's
                                    retirement of a child): the running node takes them in

The async functions here (announce, refresh, locate) speak through any `PeerClient`: the
runtime's loop uses them with gRPC clients, `cctns federation join` once, the simulator with
the in-memory transport. docs/directory.md tells the whole story.
"""

from __future__ import annotations

import importlib.metadata
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import nacl.signing

from federation.directory import (
    MAX_RELAYED,
    Applied,
    Directory,
    VerifiedEntry,
    make_entry,
    parse_entry,
    sign_page,
    sign_statement,
    verify_page,
)
from federation.interfaces import PeerAddress, PeerClient
from federation.trust.chain import RevocationCheck
from federation.trust.credentials import NodeCredentials
from federation.trust.files import write_atomic
from federation.trust.identity import address_from_certificate
from ledger.errors import (
    CctnsError,
    InputError,
    NotFound,
    PeerError,
    PeerUnavailable,
    UsageError,
    VerificationError,
)
from node.config import DataDir
from protos import federation_pb2

__all__ = [
    "DIRECTORY_NAME",
    "PENDING_NAME",
    "SOFTWARE_VERSION",
    "STATEMENT_NAME",
    "NodeDirectory",
    "Refreshed",
    "announce_to_parent",
    "locate",
    "refresh_from_parent",
]

log = logging.getLogger(__name__)

DIRECTORY_NAME = "directory.json"
STATEMENT_NAME = "statement.json"
PENDING_NAME = "directory-pending"
# Pages fetched in one refresh at most (500 entries each): a whole state's offices.
MAX_PAGES = 100


def _software_version() -> str:
    try:
        return importlib.metadata.version("cctns")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


SOFTWARE_VERSION = _software_version()


class NodeDirectory:
    """The node's directory and its own statement, kept in its data directory. Thread-safe."""

    def __init__(
        self,
        path: Path,
        node_id: str,
        directory: Directory | Callable[[], Directory],
        key: nacl.signing.SigningKey | None,
        credentials: NodeCredentials,
    ) -> None:
        """`directory`, or how to read it when first used; `key`: the node's ledger key
        (None when it is not the one the certificate names: nothing can be signed)."""
        self.path = path
        self.node_id = node_id
        self._directory = directory if isinstance(directory, Directory) else None
        self._read = directory if not isinstance(directory, Directory) else None
        self.credentials = credentials
        self.parent = credentials.identity.parent
        self._key = key
        self._lock = threading.Lock()
        self.parent_version = 0  # the parent's directory version this node has read up to
        self.relayed_version = 0  # this directory's version last relayed up to the parent
        self._saved_version = -1 if self._directory is None else self._directory.version

    @property
    def directory(self) -> Directory:
        """The verified entries (read from directory.json, every entry checked again, when
        first used)."""
        if self._directory is None:
            assert self._read is not None
            self._directory = self._read()
            self._saved_version = self._directory.version
        return self._directory

    @classmethod
    def open(
        cls,
        data_dir: DataDir,
        credentials: NodeCredentials,
        revocations: RevocationCheck | None = None,
    ) -> NodeDirectory:
        """The directory kept in `data_dir` (empty before the first join), read when first
        used. A node whose ledger key is not the one its certificate names (a key rotated
        since enrolment) reads directories but signs nothing until it is enrolled again."""
        identity = credentials.identity
        key: nacl.signing.SigningKey | None = data_dir.load_key()
        if key is not None and bytes(key.verify_key) != identity.ledger_key:
            log.warning(
                "%s: the ledger key is not the one the certificate names: the node signs no "
                "directory statement until it is enrolled again (`cctns ca enrol`)",
                data_dir.path,
            )
            key = None
        path = data_dir.path / DIRECTORY_NAME

        def read() -> Directory:
            if not path.exists():
                return Directory(credentials.root_pem, revocations)
            refused: list[tuple[str, str]] = []
            directory = Directory.from_json(
                path.read_bytes(), credentials.root_pem, revocations, refused=refused
            )
            for node_id, reason in refused:
                log.warning("directory entry of %s dropped: %s", node_id, reason)
            return directory

        return cls(data_dir.path, identity.node_id, read, key, credentials)

    def signing_key(self) -> nacl.signing.SigningKey:
        """The node's ledger key; UsageError when it cannot sign (see `open`)."""
        if self._key is None:
            raise UsageError(
                f"{self.node_id}'s ledger key is not the one its certificate names: enrol it "
                "again (`cctns ca enrol`) before it signs directory statements"
            )
        return self._key

    def save(self) -> None:
        """Writes directory.json atomically (a crash leaves the old file or the new one)."""
        with self._lock:
            version = self.directory.version
            write_atomic(self.path / DIRECTORY_NAME, self.directory.to_json())
            self._saved_version = version

    def save_if_changed(self) -> bool:
        """Saves when an entry changed since the last save (last-seen times wait for the
        next `save`: a heartbeat from each child is not worth a write)."""
        if self.directory.version == self._saved_version:
            return False
        self.save()
        return True

    # -- the own statement -----------------------------------------------------------------------

    def own(self) -> VerifiedEntry | None:
        """The node's own entry as it last signed it (None before it ever did)."""
        path = self.path / STATEMENT_NAME
        if not path.exists():
            return None
        entry = parse_entry(make_entry(self.credentials.chain_pem, path.read_bytes()))
        try:
            return self.directory.check(entry)
        except VerificationError as exc:
            log.warning("own statement no longer verifies (%s): signing a new one", exc)
            return None

    def state(
        self,
        *,
        address: str = "",
        status: str = "",
        successor: str = "",
        at_least: int = 0,
    ) -> VerifiedEntry:
        """The node's own entry, signed anew when the address (default: the one it stated
        before, else its certificate's), status (default: as before, else "active") or
        software version changed, or when the sequence must reach `at_least`; kept in
        statement.json and the directory."""
        with self._lock:
            current = self.own()
            address = address or (
                current.address if current else address_from_certificate(self.credentials.chain_pem)
            )
            status = status or (current.status if current else "active")
            if (
                current is not None
                and current.address == address
                and current.status == status
                and current.successor == successor
                and current.software_version == SOFTWARE_VERSION
                and current.statement.sequence >= at_least
            ):
                entry = current
            else:
                sequence = max(current.statement.sequence + 1 if current else 1, at_least)
                statement = sign_statement(
                    self.signing_key(),
                    node_id=self.node_id,
                    address=address,
                    sequence=sequence,
                    software_version=SOFTWARE_VERSION,
                    status=status,
                    successor=successor,
                )
                write_atomic(self.path / STATEMENT_NAME, statement)
                entry = self.directory.check(
                    parse_entry(make_entry(self.credentials.chain_pem, statement))
                )
        try:
            if self.directory.keep(entry):
                self.save()
        except VerificationError:
            pass  # the directory holds a later word about this node (its parent retired it)
        return entry

    def sign_page(self, listing: federation_pb2.DirectoryListing) -> federation_pb2.DirectoryPage:
        return sign_page(listing, self.signing_key(), self.credentials.chain_pem)

    def sign_for_child(
        self, child: str, *, status: str, successor: str = ""
    ) -> federation_pb2.DirectoryEntry:
        """A retirement or merger of a child office, signed by this node (its parent), the
        child's certificate taken from the directory. InputError when it is not a child here."""
        held = self.directory.get(child)
        if held is None or held.parent != self.node_id:
            raise InputError(f"{child} is not a child of {self.node_id} in its directory")
        statement = sign_statement(
            self.signing_key(),
            node_id=child,
            address=held.address,
            sequence=held.statement.sequence + 1,
            software_version=held.software_version,
            status=status,
            successor=successor,
            signer=self.node_id,
        )
        return federation_pb2.DirectoryEntry(
            chain=held.entry.chain, statement=statement, signer_chain=self.credentials.chain_pem
        )

    # -- what the node does with it -------------------------------------------------------------

    def offices_above(self) -> tuple[str, ...]:
        """The offices this node sits under, nearest first: its certificate's parent, then
        each one's parent as far as the directory knows (a station: its circle or
        sub-division, the district, the state, the national bureau)."""
        if not self.parent:
            return ()
        above = [self.parent, *(v.node_id for v in self.directory.ancestors(self.parent))]
        above += [v.node_id for v in self.directory.ancestors(self.node_id)]
        return tuple(dict.fromkeys(above))

    def children(self) -> list[VerifiedEntry]:
        """The offices whose certificate names this node as their parent, still at work."""
        return [v for v in self.directory.children(self.node_id) if v.status in _AT_WORK]

    def descendants(self) -> list[VerifiedEntry]:
        """Every office below this node by parent links (children, their children, ...), still
        at work: the logs a higher office replicates."""
        return [v for v in self.directory.subtree(self.node_id) if v.status in _AT_WORK]

    def relay(self) -> tuple[list[federation_pb2.DirectoryEntry], int]:
        """Entries of this node's subtree changed since the last relay up, oldest change
        first, at most MAX_RELAYED (the rest go with the next announce); with the version
        they reach (what `relayed_version` becomes once the parent took them)."""
        directory = self.directory
        version = directory.version
        changed = sorted(
            (
                (directory.changed(v.node_id), v)
                for v in directory.subtree(self.node_id, since=self.relayed_version)
            ),
            key=lambda pair: pair[0],
        )
        if len(changed) > MAX_RELAYED:
            changed = changed[:MAX_RELAYED]
            version = changed[-1][0]
        return [v.entry for _, v in changed], version

    def take_pending(self) -> list[str]:
        """Takes in the signed entries left in directory-pending/ (by `cctns federation
        retire` while the node ran); a file that does not verify is renamed *.refused."""
        folder = self.path / PENDING_NAME
        taken: list[str] = []
        if not folder.is_dir():
            return taken
        for path in sorted(folder.glob("*.entry")):
            try:
                entry = parse_entry(path.read_bytes())
                verified = self.directory.check(entry)
                self.directory.keep(verified)
                taken.append(verified.node_id)
                path.unlink()
            except CctnsError as exc:
                log.error("pending directory entry %s refused: %s", path.name, exc)
                path.rename(path.with_suffix(".refused"))
        if taken:
            self.save()
        return taken

    def peer_address(self, node_id: str) -> tuple[PeerAddress, str] | None:
        """Where `node_id` answers now (its successor's address for a retired or merged
        office, with a note saying so); None when the directory does not know it."""
        found = self.directory.resolve(node_id)
        if found is None:
            return None
        entry, note = found
        return entry.peer_address(), note

    @property
    def scope(self) -> str:
        """The offices this node keeps from its parent's directory: its state's (the first
        part of its node id)."""
        return self.node_id.split("/", 1)[0]


_AT_WORK = ("active", "moved")


def write_pending(data_dir: DataDir, entry: federation_pb2.DirectoryEntry, name: str) -> Path:
    """Leaves a signed entry for the running node to take in (`NodeDirectory.take_pending`)."""
    path = data_dir.path / PENDING_NAME / f"{name.replace('/', '+')}.entry"
    write_atomic(path, entry.SerializeToString())
    return path


# -- talking to the parent and the parent chain -------------------------------------------------


async def announce_to_parent(node: NodeDirectory, parent: PeerClient, *, timeout: float) -> int:
    """Tells the parent this node's statement (and relays its subtree's new entries); returns
    the parent's directory version. First asks the parent what it holds of this node: a later
    sequence there (this node restored from an old backup) is overtaken, and a retirement
    signed by the parent is respected (UsageError: this office was retired)."""
    held = await _held_by(node, parent, node.node_id, timeout=timeout)
    if held is not None and held.statement.signer != node.node_id:
        raise UsageError(
            f"{parent.node_id} says {node.node_id} is {held.status}"
            + (f" (successor {held.successor})" if held.successor else "")
            + ": this office does not announce itself again"
        )
    own = node.own()
    at_least = 0
    if held is not None and (own is None or held.entry.statement != own.entry.statement):
        # The parent holds another word of this node's (a statement.json lost or restored
        # from an old backup): the next one must be newer than it.
        at_least = held.statement.sequence + 1
    entry = node.state(at_least=at_least)
    relayed, reached = node.relay()
    response = await parent.announce(
        federation_pb2.AnnounceRequest(entry=entry.entry, relayed=relayed), timeout=timeout
    )
    node.relayed_version = reached
    return response.directory_version


async def _held_by(
    node: NodeDirectory, client: PeerClient, node_id: str, *, timeout: float
) -> VerifiedEntry | None:
    """What `client`'s node holds of `node_id` (verified), or None when it knows nothing."""
    try:
        page = await client.lookup_office(node_id, timeout=timeout)
    except (NotFound, InputError):
        return None
    listing = verify_page(page, client.node_id, node.credentials.root_pem)
    for entry in listing.entries:
        try:
            verified = node.directory.check(entry)
        except VerificationError:
            continue
        if verified.node_id == node_id:
            return verified
    return None


@dataclass(frozen=True, slots=True)
class Refreshed:
    """What one refresh from the parent brought."""

    version: int  # the parent's version read up to
    accepted: list[str]
    refused: list[tuple[str, str]]
    removed: list[str]


async def refresh_from_parent(
    node: NodeDirectory, parent: PeerClient, *, timeout: float
) -> Refreshed:
    """Reads the parent's directory changes since the version last read (this node's state
    only, and the offices above the parent), page after page, each page's signature and
    each entry checked; saves the directory when it changed."""
    accepted: list[str] = []
    refused: list[tuple[str, str]] = []
    removed: list[str] = []
    since = node.parent_version
    for _ in range(MAX_PAGES):
        page = await parent.get_directory(
            federation_pb2.DirectoryRequest(since_version=since, subtree=node.scope),
            timeout=timeout,
        )
        listing = verify_page(page, parent.node_id, node.credentials.root_pem)
        if listing.version < since:
            since = 0  # the parent's directory started again (restored): read it all
            continue
        applied: Applied = node.directory.apply(listing)
        accepted += applied.accepted
        refused += applied.refused
        removed += applied.removed
        since = listing.next_version
        if not listing.more:
            break
    node.parent_version = since
    for where, reason in refused:
        log.warning("directory of %s: %s refused: %s", parent.node_id, where, reason)
    if accepted or removed:
        node.save()
    return Refreshed(since, accepted, refused, removed)


async def locate(
    node: NodeDirectory,
    node_id: str,
    connect: Callable[[PeerAddress], PeerClient],
    *,
    timeout: float,
    close: Callable[[PeerClient], None] = lambda client: None,
) -> tuple[PeerAddress, str]:
    """Where `node_id` answers: from the node's directory when it knows the office, else by
    asking its parent, then the parent's parent, ... (the state and national nodes hold
    their whole subtree); what is learned is kept. NotFound when nobody up the chain knows."""
    found = node.peer_address(node_id)
    if found is not None:
        return found
    asked: list[str] = []
    ancestor = node.directory.get(node.parent) if node.parent else None
    while ancestor is not None and len(asked) < 8:
        asked.append(ancestor.node_id)
        client = connect(ancestor.peer_address())
        try:
            page = await client.lookup_office(node_id, timeout=timeout)
            listing = verify_page(page, ancestor.node_id, node.credentials.root_pem)
            node.directory.apply(listing)
        except (NotFound, InputError):
            pass
        except (PeerUnavailable, PeerError, VerificationError) as exc:
            log.warning("looking up %s at %s: %s", node_id, ancestor.node_id, exc)
        finally:
            close(client)
        found = node.peer_address(node_id)
        if found is not None:
            node.save()
            return found
        ancestor = node.directory.get(ancestor.parent) if ancestor.parent else None
    where = ", ".join(asked) if asked else "nobody (no parent in the directory yet)"
    raise NotFound(f"no office {node_id} is known here or to {where}")
