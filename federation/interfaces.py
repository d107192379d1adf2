"""The small interfaces the federation is written against.

Imports run one way: node -> federation -> ledger. The federation never imports node/: it knows
a node only through `LocalNode` (what a node answers and stores) and knows other nodes only
through `PeerClient` (the transport). The gRPC client is one PeerClient, the in-memory transport
(tests, simulations/) another; the node's runtime implements LocalNode and wires them together.

Messages are the protobuf types of protos/federation.proto: they are plain data, and the same
ones cross the wire, so the in-memory transport exercises exactly what gRPC carries.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Protocol

from google.protobuf.message import Message

from protos import federation_pb2, ledger_pb2

if TYPE_CHECKING:  # federation/directory.py imports PeerIdentity from here
    from federation.directory import Directory

# Entries per EntryBatch a reader asks for unless it says otherwise (the server caps the count
# at federation.service.MAX_BATCH_SIZE and the bytes at MAX_BATCH_BYTES). 1,000 entries of
# about 1 KiB: half as many messages as 500 for a catch-up (docs/replication.md, "Two
# fetches in flight").
DEFAULT_BATCH_SIZE: Final = 500


@dataclass(frozen=True, slots=True)
class PeerIdentity:
    """Who is calling, as proven by their certificate (or the in-memory transport's word)."""

    node_id: str
    role: str
    parent: str
    ledger_key: bytes  # the node's Ed25519 ledger key, from its certificate
    serial: str = ""  # certificate serial number (hex)


@dataclass(frozen=True, slots=True)
class PeerAddress:
    """How to reach a node: its id, its role, and its gRPC address (host:port)."""

    node_id: str
    address: str
    role: str = "station"
    origin: str = ""
    ledger_key: bytes = b""
    parent: str = ""  # the node id of its parent: the witness that cosigns its checkpoints


class PeerClient(Protocol):
    """One remote node. Every call takes a deadline in seconds and raises
    ledger.errors.PeerUnavailable (no answer in time), AuthenticationError (refused),
    NotPermitted (our role may not ask that), InputError (NotFound: nothing by that name there),
    or PeerError (a malformed or wrong answer); federation/status.py maps them."""

    @property
    def node_id(self) -> str: ...

    async def get_checkpoint(self, origin: str = "", *, timeout: float) -> bytes: ...

    async def get_entries(
        self,
        origin: str,
        start: int,
        end: int,
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        timeout: float,
    ) -> list[bytes]: ...

    async def get_consistency_proof(
        self, origin: str, size1: int, size2: int, *, timeout: float
    ) -> list[bytes]: ...

    async def get_key_history(
        self, origin: str, size: int, *, timeout: float
    ) -> list[federation_pb2.ProvenEntry]: ...

    async def put_cosignature(self, cosigned_note: bytes, *, timeout: float) -> None: ...

    async def fetch_record(
        self, request: federation_pb2.RecordRequest, *, timeout: float
    ) -> federation_pb2.RecordResponse: ...

    async def search(
        self, request: federation_pb2.SearchRequest, *, timeout: float
    ) -> federation_pb2.SearchResponse: ...

    async def hit_no_hit(
        self, request: federation_pb2.HitRequest, *, timeout: float
    ) -> federation_pb2.HitResponse: ...

    async def get_blob(self, origin: str, digest: str, *, timeout: float) -> bytes:
        """The bytes of a blob an entry of `origin` names (GetBlob's chunks joined; the caller
        checks them against the digest: federation/blobs.py)."""
        ...

    async def transfer_zero_fir(
        self, handover: federation_pb2.ZeroFirHandover, *, timeout: float
    ) -> federation_pb2.ZeroFirAcceptance: ...

    async def transfer_case(
        self, handover: federation_pb2.CaseHandover, *, timeout: float
    ) -> federation_pb2.CaseAcceptance: ...

    async def get_revocations(self, *, timeout: float) -> list[bytes]: ...

    async def gossip(
        self, notes: Sequence[bytes], *, timeout: float
    ) -> federation_pb2.GossipResponse: ...

    async def announce(
        self, request: federation_pb2.AnnounceRequest, *, timeout: float
    ) -> federation_pb2.AnnounceResponse: ...

    async def get_directory(
        self, request: federation_pb2.DirectoryRequest, *, timeout: float
    ) -> federation_pb2.DirectoryPage: ...

    async def lookup_office(
        self, node_id: str, *, timeout: float
    ) -> federation_pb2.DirectoryPage: ...

    async def watch(
        self, request: federation_pb2.WatchRequest, *, timeout: float
    ) -> federation_pb2.WatchResponse: ...

    async def alert(
        self, request: federation_pb2.AlertRequest, *, timeout: float
    ) -> federation_pb2.AlertResponse: ...


class LogReader(Protocol):
    """Read access to one log (the node's own, or a verified replica). Synchronous and
    thread-safe: gRPC handlers call it from grpc's threads."""

    @property
    def origin(self) -> str: ...

    def size(self) -> int: ...

    def checkpoint(self) -> bytes: ...

    def leaves(self, start: int, end: int) -> list[bytes]: ...

    def inclusion_proof(self, index: int, size: int) -> list[bytes]: ...

    def consistency_proof(self, size1: int, size2: int) -> list[bytes]: ...

    def key_handovers(self) -> list[int]:
        """Indexes of the log's key hand-over entries, oldest first (ledger/keys.py)."""
        ...


class LocalNode(Protocol):
    """What the federation needs from the node it runs in. Synchronous, thread-safe."""

    @property
    def node_id(self) -> str: ...

    @property
    def origin(self) -> str: ...

    def log(self, origin: str = "") -> LogReader:
        """The node's own log ('' or its own origin) or a replica it holds; PeerError if none."""
        ...

    def check_request(self, request: Message) -> None:
        """Refuses (InputError, every problem listed) a request with a field over the node's
        declared limit for it: the federation has no numbers of its own for what fits."""
        ...

    def find_record(self, ref: str, origin: str = "") -> tuple[int, list[int]] | None:
        """Ledger index of record `ref` and of its amendments: in the node's own log ('' or its
        own origin), or in its verified replica of `origin` (as far as its checkpoint covers;
        NotFound for a replica it will not answer from, a quarantined one)."""
        ...

    def search(
        self, request: federation_pb2.SearchRequest
    ) -> tuple[list[federation_pb2.SearchHit], list[federation_pb2.Freshness]]:
        """Answers from the own index and, on an aggregating node, from every replica."""
        ...

    def hits(self, identifier_type: str, value: str, *, probe: bytes = b"") -> list[str]:
        """References of records matching an identifier (no record content); `probe` is the
        print of a "chance_print" question."""
        ...

    def blob(self, origin: str, digest: str) -> bytes:
        """The blob `digest` held here for entries of `origin` (the node's own or a replica's):
        a photo or a fingerprint slip; NotFound when this node does not hold it."""
        ...

    def append_audit(self, audit: ledger_pb2.AuditEntry) -> tuple[int, bytes]:
        """Appends an audit entry to the own log; returns (index, leaf): the signed receipt."""
        ...

    def accept_zero_fir(
        self, caller: PeerIdentity, handover: federation_pb2.ZeroFirHandover
    ) -> federation_pb2.ZeroFirAcceptance:
        """Verifies and numbers a Zero FIR handed over by another station."""
        ...

    def accept_case(
        self, caller: PeerIdentity, handover: federation_pb2.CaseHandover
    ) -> federation_pb2.CaseAcceptance:
        """Verifies and takes over a case whose investigation another station transferred."""
        ...

    def store_cosignature(self, cosigned_note: bytes) -> None:
        """Keeps a witness's cosignature of one of this node's checkpoints."""
        ...

    def witnessed_checkpoint(self) -> bytes:
        """The newest cosigned checkpoint note of the node's own log (b"" if none yet): served
        with every answer so readers can check their witness policy (federation/witness.py)."""
        ...

    def revocations(self) -> list[bytes]:
        """Signed revocation records this node knows of."""
        ...

    # -- the directory (federation/directory.py, docs/directory.md) ----------------------------

    @property
    def directory(self) -> Directory | None:
        """The node's directory of offices (None: it keeps none, and serves none)."""
        ...

    def sign_directory_page(
        self, listing: federation_pb2.DirectoryListing
    ) -> federation_pb2.DirectoryPage:
        """The listing signed with the node's ledger key, with its certificate chain."""
        ...

    def child_announced(self, caller: PeerIdentity) -> None:
        """A child has announced itself (its entry is in the directory now): keep the
        directory, and let whatever follows that child know it is back."""
        ...

    # -- watch lists (docs/watch.md) -----------------------------------------------------------

    def hold_watches(self, caller: PeerIdentity, items: Sequence[federation_pb2.WatchItem]) -> int:
        """Keeps (or withdraws) watches handed up by `caller` for offices of its subtree, to
        match against every record this node indexes; returns how many it holds of them.
        NotPermitted on a node that indexes no replicas."""
        ...

    def accept_alerts(
        self, caller: PeerIdentity, alerts: Sequence[federation_pb2.WatchAlert]
    ) -> int:
        """Records matching this node's watches, told by an office above it (NotPermitted for a
        caller that is not above this node); returns how many were new."""
        ...
