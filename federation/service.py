"""The Peer service's logic, independent of any transport: what a node answers other nodes.

Every RPC of protos/federation.proto is one method here taking `(caller, request)` and returning
the response message (`get_entries` returns an iterator of batches). The gRPC servicer
(federation/grpc_server.py) and the in-memory transport (federation/memory.py) are thin adapters
over it: they authenticate the caller, decode, call, encode, and map errors once.

Policy lives in one table, `ACCESS`: which roles may read full records (fetch, search, log
entries) and which may only ask hit/no-hit questions. Roles not in the table get nothing.

Every fetch, search and hit/no-hit counts against the caller's quota (`quota`, per peer node id;
node.toml's `peer_audited_calls`): over it, the call is refused with RateLimited
(RESOURCE_EXHAUSTED) before anything is looked up or written, so a peer cannot fill this node's
log with audit entries or its CPU with searches. Calls that write nothing (checkpoints, entries,
proofs, revocations) are not counted. Without a quota (tests, the simulator) nothing is.

Every request is first held to the node's limits (`LocalNode.check_request`: the node's one table
of limits, node/records/limits.py, so this module keeps no lengths of its own); what is checked
here besides is what a request means (ranges, kinds, who may ask).

Every fetch, search and hit/no-hit answered here is first appended to the node's own ledger as an
AuditEntry (who asked, for which case, what was returned); the signed leaf of that entry, with
its inclusion proof, goes back to the asker as the `receipt`:
- in a RecordResponse the proof leads to the response's `checkpoint`, like the record's own;
  a record of another log, fetched from this node's replica of it (`RecordRequest.origin`: a
  retired office's records), is proven to the replica's checkpoint and the receipt to this
  node's own, carried beside it (`receipt_checkpoint`, `receipt_key_handovers`);
- a SearchResponse or HitResponse carries no checkpoint, so its receipt's proof is for the tree
  of size `index + 1` (the audit entry is the last leaf). The asker can link that root to any
  later signed checkpoint with a consistency proof (see federation/verify.py, verify_receipt).
Every message carrying entries also carries the log's key hand-over entries, proven for the same
tree (`key_handovers`; empty for a log that never rotated its key), so an asker that trusts an
earlier key of the answering node can follow the log to the key that signed the answer.
Every fetch, search and hit/no-hit answer also carries `witnessed`: the newest checkpoint of the
own log a witness (the parent) cosigned and the consistency proof from it to the answer's tree,
so any reader, not only the parent, can hold the answer to its witness policy
(federation/witness.py). The answer's own checkpoint is the newest (it covers the receipt just
written), so the cosigned one is carried beside it rather than served instead of it. GetCheckpoint
carries it too, beside the log's own note, which is served as signed (followers store it).

This module never does I/O of its own and never imports trio, grpc or node/: it talks to its node
only through `LocalNode`, and is synchronous and thread-safe as that is.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Final

from federation.audit import CONTROL, audit_entry, check_context, describe_search
from federation.directory import MAX_RELAYED, Directory, VerifiedEntry
from federation.gossip import GossipBook
from federation.interfaces import DEFAULT_BATCH_SIZE, LocalNode, LogReader, PeerIdentity
from federation.logs import proven_entry, proven_key_handovers
from federation.quota import Quota
from federation.trust.identity import valid_node_id
from federation.witness import own_cosignature_time
from ledger.checkpoint import parse_note
from ledger.errors import InputError, NotFound, NotPermitted, PeerError, VerificationError
from protos import federation_pb2, ledger_pb2

__all__ = [
    "ACCESS",
    "DEFAULT_BATCH_SIZE",
    "DEFAULT_SEARCH_LIMIT",
    "HIT_IDENTIFIER_TYPES",
    "MAX_BATCH_BYTES",
    "MAX_BATCH_SIZE",
    "MAX_ENTRIES_PER_REQUEST",
    "MAX_HIT_REFS",
    "MAX_SEARCH_LIMIT",
    "SEARCH_KINDS",
    "Access",
    "PeerService",
    "access_for",
    "audited_call_quota",
]


@dataclass(frozen=True, slots=True)
class Access:
    """What one role may ask another office for."""

    full_records: bool  # fetch_record, search, and log entries (which carry whole records)
    hit_no_hit: bool  # "do you hold a record matching this identifier?"
    zero_fir: bool  # hand a Zero FIR, or a case's investigation, over to another station


_POLICE: Final = Access(full_records=True, hit_no_hit=True, zero_fir=False)
_HIT_ONLY: Final = Access(full_records=False, hit_no_hit=True, zero_fir=False)

# The entitlement table: the one place that says who may read what. Checkpoints, consistency
# proofs and revocations carry no record data and are open to every authenticated node.
ACCESS: Final[Mapping[str, Access]] = {
    "station": Access(full_records=True, hit_no_hit=True, zero_fir=True),
    "circle": _POLICE,
    "sub-division": _POLICE,
    "district": _POLICE,
    "state": _POLICE,
    "national": _POLICE,
    "control-room": _POLICE,
    "forensic-lab": _HIT_ONLY,
    "fingerprint-bureau": _HIT_ONLY,
}
_NO_ACCESS: Final = Access(full_records=False, hit_no_hit=False, zero_fir=False)

# "history": history-sheeted persons by name; "mo": accused by their modus operandi
# (node/records/history.py); "similar": cases like a case (its number) or like the MO and words
# asked (docs/mo-search.md).
SEARCH_KINDS: Final = (
    "person",
    "vehicle",
    "property",
    "case",
    "history",
    "mo",
    "similar",
    "face",
    "fingerprint",
)
# Search kinds that search by a probe (SearchRequest.probe: an image, a template) rather than by
# text: the query is then optional, and the audit entry names the probe by its SHA-256.
PROBE_KINDS: Final = ("face", "fingerprint")
HIT_IDENTIFIER_TYPES: Final = (
    "vehicle_registration",
    "engine_number",
    "chassis_number",
    "person_name",
    "fir",
    "chance_print",
)
# Identifier types asked by a probe (HitRequest.probe: a chance print's image or template); the
# value is then optional (the asker's own reference for the print), the audit names the probe by
# its SHA-256.
HIT_PROBE_TYPES: Final = ("chance_print",)
#: What an officer may watch (docs/watch.md): a person by name, a vehicle by registration,
#: engine or chassis number, a property item by an identifier (IMEI, serial), a phone number.
WATCH_KINDS: Final = ("person", "vehicle", "property", "phone")
DEFAULT_SEARCH_LIMIT: Final = 50
MAX_SEARCH_LIMIT: Final = 500
MAX_HIT_REFS: Final = 100
MAX_BATCH_SIZE: Final = 2000
# One EntryBatch holds leaves of at most this many bytes together (a single larger leaf goes
# alone): with the ledger's largest entry (ledger.log.MAX_ENTRY_BYTES, 1 MiB) a batch stays far
# below gRPC's message limit (federation/grpc_server.py MAX_MESSAGE_BYTES, 16 MiB) whatever the
# entries' sizes, where a count alone let twenty large entries overflow it.
MAX_BATCH_BYTES: Final = 4 * 1024 * 1024
# Bytes a leaf adds to a batch besides itself: its field tag and length.
_LEAF_FRAMING: Final = 6
# One GetEntries call returns at most this many leaves; a longer range is refused with InputError
# (clients ask for long ranges in parts), so one call cannot hold a server thread for minutes.
MAX_ENTRIES_PER_REQUEST: Final = 50_000
MAX_AGE: Final = 150
# One BlobChunk carries at most this many bytes of a blob (well under gRPC's message limit).
BLOB_CHUNK_BYTES: Final = 1024 * 1024
BLOB_DIGEST: Final = re.compile(r"^[0-9a-f]{64}$")


def access_for(role: str) -> Access:
    """What a caller of `role` may ask for (nothing, for a role not in the table)."""
    return ACCESS.get(role, _NO_ACCESS)


def audited_call_quota(spec: str) -> Quota:
    """The quota of each peer's audited calls (FetchRecord, Search, HitNoHit), `spec` as
    node.toml's `peer_audited_calls` writes it ("60/minute;1800/hour")."""
    refusal = "too many audited calls (FetchRecord, Search, HitNoHit) from your node"
    return Quota(spec, "peer.audited", refusal)


class PeerService:
    """The Peer service over one LocalNode. Synchronous and thread-safe."""

    def __init__(
        self, node: LocalNode, *, quota: Quota | None = None, gossip: GossipBook | None = None
    ) -> None:
        """`quota`: of each peer's audited calls (`audited_call_quota`); None counts nothing.
        `gossip`: where readers' gossiped checkpoints are checked (None: Gossip checks none)."""
        self.node = node
        self._quota = quota
        self._gossip = gossip

    # -- logs: checkpoints, entries, proofs --------------------------------------------------------

    def get_checkpoint(
        self, caller: PeerIdentity, request: federation_pb2.CheckpointRequest
    ) -> federation_pb2.CheckpointResponse:
        """The latest signed checkpoint of the own log or of a replica held here."""
        self.node.check_request(request)
        log = self._log(request.origin)
        note = log.checkpoint()
        if request.origin not in ("", self.node.origin):
            return federation_pb2.CheckpointResponse(note=note)
        # The note itself stays the log's own bytes (followers and standbys store it as
        # signed); the witnesses' cosignature comes beside it.
        size = parse_note(note)[0].size
        return federation_pb2.CheckpointResponse(note=note, witnessed=self._witnessed(log, size))

    def get_entries(
        self, caller: PeerIdentity, request: federation_pb2.EntriesRequest
    ) -> Iterator[federation_pb2.EntryBatch]:
        """Leaves start..end-1 in batches of at most MAX_BATCH_SIZE leaves and MAX_BATCH_BYTES
        (at least one leaf each). The request is checked before the first batch; a range longer
        than MAX_ENTRIES_PER_REQUEST is refused."""
        self.node.check_request(request)
        self._require_full(caller, "read log entries")
        log = self._log(request.origin)
        size = log.size()
        start, end = request.start, request.end
        if start > end:
            raise InputError(f"entry range {start}..{end} is backwards")
        if end > size:
            raise InputError(f"entry range {start}..{end} is beyond the log's {size} entries")
        if end - start > MAX_ENTRIES_PER_REQUEST:
            raise InputError(
                f"entry range {start}..{end} is longer than {MAX_ENTRIES_PER_REQUEST} entries: "
                "ask for it in parts"
            )
        batch_size = min(request.batch_size or DEFAULT_BATCH_SIZE, MAX_BATCH_SIZE)
        return _batches(log, start, end, batch_size, MAX_BATCH_BYTES)

    def get_consistency_proof(
        self, caller: PeerIdentity, request: federation_pb2.ConsistencyRequest
    ) -> federation_pb2.ProofResponse:
        """RFC 9162 consistency proof between two sizes of a log held here."""
        self.node.check_request(request)
        log = self._log(request.origin)
        size = log.size()
        if not 0 < request.size1 <= request.size2 <= size:
            raise InputError(
                f"no consistency proof from size {request.size1} to {request.size2}: "
                f"need 0 < size1 <= size2 <= {size}"
            )
        hashes = log.consistency_proof(request.size1, request.size2)
        return federation_pb2.ProofResponse(hashes=hashes)

    def get_key_history(
        self, caller: PeerIdentity, request: federation_pb2.KeyHistoryRequest
    ) -> federation_pb2.KeyHistory:
        """The key hand-over entries of a log held here below `size`, proven for that size.
        They carry no record data: open to every authenticated node, like checkpoints."""
        log = self._log(request.origin)
        size = log.size()
        if not 0 < request.size <= size:
            raise InputError(f"no key history for size {request.size}: need 0 < size <= {size}")
        return federation_pb2.KeyHistory(handovers=proven_key_handovers(log, request.size))

    def put_cosignature(
        self, caller: PeerIdentity, request: federation_pb2.CosignatureRequest
    ) -> federation_pb2.CosignatureResponse:
        """Keeps a witness's cosignature of one of this node's checkpoints.

        Checked here: the note is well formed, names this node's log, and does not claim more
        entries than the log has. The witness's own signature is the node's to check.
        """
        self.node.check_request(request)
        note = request.cosigned_note
        if not note:
            raise InputError("the cosigned note is empty")
        try:
            checkpoint, signatures = parse_note(note)
        except VerificationError as exc:
            raise InputError(f"the cosigned note is malformed: {exc}") from exc
        if checkpoint.origin != self.node.origin:
            raise InputError(f"the cosigned note is for {checkpoint.origin!r}, not this node's log")
        if checkpoint.size > self.node.log().size():
            raise InputError(f"the cosigned note claims {checkpoint.size} entries: too many")
        if len(signatures) < 2:
            raise InputError("the note carries no cosignature besides the node's own")
        self.node.store_cosignature(note)
        return federation_pb2.CosignatureResponse(stored=True)

    # -- queries -------------------------------------------------------------------------------

    def fetch_record(
        self, caller: PeerIdentity, request: federation_pb2.RecordRequest
    ) -> federation_pb2.RecordResponse:
        """One record by reference, with its amendments, proofs, checkpoint and the receipt.
        With `request.origin` naming another log: from this node's verified replica of it
        (`_fetch_from_replica`), under the same entitlement, quota and audit."""
        self.node.check_request(request)
        self._require_full(caller, "fetch records")
        self._spend_quota(caller)
        ref = _clean(request.ref, "record reference")
        context = check_context(request.context)
        origin = request.origin.strip()
        if origin not in ("", self.node.origin):
            return self._fetch_from_replica(caller, ref, origin, context)
        found = self.node.find_record(ref)
        if found is None:
            raise NotFound(f"no record {ref!r} at {self.node.node_id}")
        record_index, amendment_indexes = found
        log = self.node.log()
        audit = audit_entry(caller.node_id, context, "fetch", ref, [ref], full_record=True)
        receipt_index, receipt_leaf = self.node.append_audit(audit)
        note = log.checkpoint()
        size = parse_note(note)[0].size
        if size <= receipt_index:
            raise PeerError("the log's checkpoint does not cover the audit entry just written")
        return federation_pb2.RecordResponse(
            origin=self.node.origin,
            record=proven_entry(log, record_index, size),
            amendments=[proven_entry(log, i, size) for i in amendment_indexes],
            checkpoint=note,
            receipt=proven_entry(log, receipt_index, size, leaf=receipt_leaf),
            key_handovers=proven_key_handovers(log, size),
            witnessed=self._witnessed(log, size),
        )

    def _fetch_from_replica(
        self,
        caller: PeerIdentity,
        ref: str,
        origin: str,
        context: federation_pb2.QueryContext,
    ) -> federation_pb2.RecordResponse:
        """Record `ref` of the log `origin`, from this node's verified replica of it (a retired
        office's records, docs/directory.md): the record and its amendments proven to the
        replica's checkpoint (signed by that office, cosigned by this node when it verified
        it), the log's key hand-overs, and the read's audit entry proven in this node's own
        log (`receipt_checkpoint`, `receipt_key_handovers`). NotFound naming the origin when
        no replica of it is held here, or the record is not in it (nothing audited then)."""
        if CONTROL.search(origin):
            raise InputError("the origin is not a valid log origin")
        try:
            replica = self.node.log(origin)
        except PeerError as exc:
            raise NotFound(
                f"{self.node.node_id} holds no replica of {origin}: ask the office itself, or "
                "the office its directory entry names as holding its records"
            ) from exc
        # Looked up before the checkpoint is read: the index holds only verified entries, and
        # the replica's checkpoint only grows, so it covers whatever was found.
        found = self.node.find_record(ref, origin)
        if found is None:
            raise NotFound(f"no record {ref!r} of {origin} in {self.node.node_id}'s replica")
        record_index, amendment_indexes = found
        try:
            note = replica.checkpoint()
        except PeerError as exc:
            raise NotFound(f"{self.node.node_id} holds no verified checkpoint of {origin}") from exc
        size = parse_note(note)[0].size
        if max([record_index, *amendment_indexes]) >= size:
            raise PeerError(f"the replica's checkpoint of {origin} does not cover {ref!r}")
        office = origin.split("/", 1)[-1]
        audit = audit_entry(
            caller.node_id, context, "fetch", ref, [f"{ref} @ {office}"], full_record=True
        )
        receipt_index, receipt_leaf = self.node.append_audit(audit)
        own = self.node.log()
        own_note = own.checkpoint()
        own_size = parse_note(own_note)[0].size
        if own_size <= receipt_index:
            raise PeerError("the log's checkpoint does not cover the audit entry just written")
        # The replica's checkpoint is served as this node cosigned it when it verified it: the
        # witness of a log it holds for an office that no longer answers.
        witnessed = (
            federation_pb2.Witnessed(note=note)
            if own_cosignature_time(note, self.node.origin) is not None
            else None
        )
        return federation_pb2.RecordResponse(
            origin=origin,
            record=proven_entry(replica, record_index, size),
            amendments=[proven_entry(replica, i, size) for i in amendment_indexes],
            checkpoint=note,
            receipt=proven_entry(own, receipt_index, own_size, leaf=receipt_leaf),
            key_handovers=proven_key_handovers(replica, size),
            witnessed=witnessed,
            answered_by=self.node.node_id,
            receipt_checkpoint=own_note,
            receipt_key_handovers=proven_key_handovers(own, own_size),
        )

    def search(
        self, caller: PeerIdentity, request: federation_pb2.SearchRequest
    ) -> federation_pb2.SearchResponse:
        """Person / vehicle / property / case search from this node's index and replicas."""
        self.node.check_request(request)
        self._require_full(caller, "search records")
        self._spend_quota(caller)
        checked = _check_search(request)
        context = check_context(request.context)
        hits, freshness = self.node.search(checked)
        hits = sorted(hits, key=lambda h: -h.score)[: checked.limit]
        refs = list(dict.fromkeys(h.ref for h in hits if h.ref))
        kind = f"search:{checked.kind}"
        audit = audit_entry(
            caller.node_id, context, kind, describe_search(checked), refs, full_record=True
        )
        receipt, handovers = self._self_anchored_receipt(audit)
        return federation_pb2.SearchResponse(
            hits=hits,
            freshness=freshness,
            receipt=receipt,
            answered_by=self.node.node_id,
            key_handovers=handovers,
            witnessed=self._witnessed(self.node.log(), receipt.index + 1),
        )

    def get_blob(
        self, caller: PeerIdentity, request: federation_pb2.BlobRequest
    ) -> Iterator[federation_pb2.BlobChunk]:
        """A blob an entry names (a photo, a fingerprint slip), in chunks of BLOB_CHUNK_BYTES,
        the first with the whole size. Like GetEntries, for nodes entitled to full records (a
        replica fetching what its entries name); the asker checks the bytes against the digest
        it holds from a verified entry, so this node's word is not needed for them."""
        self.node.check_request(request)
        self._require_full(caller, "read blobs")
        if not BLOB_DIGEST.match(request.digest):
            raise InputError("a blob digest is 64 lowercase hexadecimal digits (SHA-256)")
        data = self.node.blob(request.origin, request.digest)
        return _blob_chunks(data)

    def hit_no_hit(
        self, caller: PeerIdentity, request: federation_pb2.HitRequest
    ) -> federation_pb2.HitResponse:
        """Whether a record matches an identifier: yes/no and references, never the record."""
        self.node.check_request(request)
        if not access_for(caller.role).hit_no_hit:
            raise NotPermitted(f"a {caller.role!r} node may not ask hit/no-hit questions")
        self._spend_quota(caller)
        kind = request.identifier_type
        if kind not in HIT_IDENTIFIER_TYPES:
            raise InputError(
                f"identifier type {kind!r} is not one of {', '.join(HIT_IDENTIFIER_TYPES)}"
            )
        if kind in HIT_PROBE_TYPES:
            if not request.probe:
                raise InputError(f"a {kind} hit/no-hit question needs a probe (the print)")
            value = request.value.strip()
            digest = hashlib.sha256(request.probe).hexdigest()
            asked = f"{value} (probe sha256:{digest})".strip()
        else:
            value = asked = _clean(request.value, "identifier")
        context = check_context(request.context)
        refs = list(dict.fromkeys(self.node.hits(kind, value, probe=request.probe)))[:MAX_HIT_REFS]
        audit = audit_entry(caller.node_id, context, f"hit:{kind}", asked, refs, full_record=False)
        receipt, handovers = self._self_anchored_receipt(audit)
        return federation_pb2.HitResponse(
            hit=bool(refs),
            refs=refs,
            receipt=receipt,
            answered_by=self.node.node_id,
            key_handovers=handovers,
            witnessed=self._witnessed(self.node.log(), receipt.index + 1),
        )

    # -- other exchanges -----------------------------------------------------------------------

    def transfer_zero_fir(
        self, caller: PeerIdentity, request: federation_pb2.ZeroFirHandover
    ) -> federation_pb2.ZeroFirAcceptance:
        """A Zero FIR handed over by the station where it was registered."""
        self.node.check_request(request)
        if not access_for(caller.role).zero_fir:
            raise NotPermitted(f"a {caller.role!r} node may not hand over a Zero FIR")
        if not request.origin or not request.checkpoint or not request.zero_fir.leaf:
            raise InputError("a Zero FIR handover needs the origin, the entry and a checkpoint")
        return self.node.accept_zero_fir(caller, request)

    def transfer_case(
        self, caller: PeerIdentity, request: federation_pb2.CaseHandover
    ) -> federation_pb2.CaseAcceptance:
        """A case's investigation transferred here by the station that registered it."""
        self.node.check_request(request)
        if not access_for(caller.role).zero_fir:
            raise NotPermitted(f"a {caller.role!r} node may not transfer a case")
        if not request.origin or not request.checkpoint or not request.fir.leaf:
            raise InputError("a case hand-over needs the origin, the entries and a checkpoint")
        return self.node.accept_case(caller, request)

    def get_revocations(
        self, caller: PeerIdentity, request: federation_pb2.RevocationsRequest
    ) -> federation_pb2.RevocationsResponse:
        """Signed revocations this node knows of."""
        self.node.check_request(request)
        return federation_pb2.RevocationsResponse(signed_revocations=self.node.revocations())

    # -- the directory (docs/directory.md) ------------------------------------------------------

    def announce(
        self, caller: PeerIdentity, request: federation_pb2.AnnounceRequest
    ) -> federation_pb2.AnnounceResponse:
        """A child tells this node (its parent) its signed statement, and passes up the entries
        of its own subtree. Only a node whose certificate names this node as its parent may
        announce here, only its own entry (the certificate in it must be the one it called
        with, the statement signed by itself); relayed entries must verify and lie below it.
        A relayed entry that fails is left out, the rest kept. Answers the directory version."""
        self.node.check_request(request)
        directory = self._directory()
        if caller.parent != self.node.node_id:
            raise NotPermitted(
                f"{caller.node_id}'s parent is {caller.parent or '(none)'}, not "
                f"{self.node.node_id}: a node announces itself to its own parent"
            )
        try:
            own = directory.check(request.entry)
        except (VerificationError, PeerError) as exc:
            raise NotPermitted(f"your directory entry is refused: {exc}") from exc
        if (
            own.node_id != caller.node_id
            or own.identity.ledger_key != caller.ledger_key
            or (caller.serial and own.identity.serial != caller.serial)
        ):
            raise NotPermitted(
                f"the entry announced ({own.node_id}, certificate {own.identity.serial}) is not "
                f"the caller's own ({caller.node_id}, certificate {caller.serial})"
            )
        if own.statement.signer != caller.node_id:
            raise NotPermitted("a node announces only a statement it signed itself")
        try:
            directory.keep(own)
        except VerificationError as exc:
            raise NotPermitted(f"your directory entry is refused: {exc}") from exc
        if len(request.relayed) > MAX_RELAYED:
            raise InputError(f"an announce relays at most {MAX_RELAYED} entries")
        relayed: dict[str, VerifiedEntry] = {}
        for entry in request.relayed:
            try:
                verified = directory.check(entry)
            except (VerificationError, PeerError):
                continue
            relayed[verified.node_id] = verified
        for verified in relayed.values():
            if _below(verified, caller.node_id, relayed, directory):
                try:
                    directory.keep(verified)
                except VerificationError:
                    continue  # an older word than the one held: nothing changes
        directory.seen(caller.node_id)
        self.node.child_announced(caller)
        return federation_pb2.AnnounceResponse(directory_version=directory.version)

    # -- watch lists (docs/watch.md) ------------------------------------------------------------

    def watch(
        self, caller: PeerIdentity, request: federation_pb2.WatchRequest
    ) -> federation_pb2.WatchResponse:
        """Watches handed up by a child (its certificate names this node as its parent), each
        for the child itself or for an office below it in the directory."""
        self.node.check_request(request)
        if caller.parent != self.node.node_id:
            raise NotPermitted(
                f"{caller.node_id}'s parent is {caller.parent or '(none)'}, not "
                f"{self.node.node_id}: watches go to the office above"
            )
        directory = self.node.directory
        for item in request.watches:
            if not item.watch_id or item.kind not in WATCH_KINDS or not item.value.strip():
                raise InputError(
                    f"a watch has an id, a kind ({', '.join(WATCH_KINDS)}) and a value"
                )
            watcher = item.watcher_node_id
            if watcher == caller.node_id:
                continue
            entry = directory.get(watcher) if directory is not None else None
            if (
                entry is None
                or directory is None
                or not _below(entry, caller.node_id, {}, directory)
            ):
                raise NotPermitted(f"{watcher} is not an office below {caller.node_id}")
        return federation_pb2.WatchResponse(held=self.node.hold_watches(caller, request.watches))

    def alert(
        self, caller: PeerIdentity, request: federation_pb2.AlertRequest
    ) -> federation_pb2.AlertResponse:
        """Records matching this node's watches, from an office above it (the node checks
        that the caller is: its certificate's parent, or an ancestor in its directory)."""
        self.node.check_request(request)
        for alert in request.alerts:
            if alert.watcher_node_id != self.node.node_id:
                raise InputError(f"an alert for {alert.watcher_node_id} was sent here")
        return federation_pb2.AlertResponse(
            accepted=self.node.accept_alerts(caller, request.alerts)
        )

    def get_directory(
        self, caller: PeerIdentity, request: federation_pb2.DirectoryRequest
    ) -> federation_pb2.DirectoryPage:
        """The entries changed since `since_version` (under `subtree`, a node-id prefix; and
        always this node and the offices above it), one signed page; open to every
        authenticated node, like checkpoints (entries are public facts about offices)."""
        self.node.check_request(request)
        directory = self._directory()
        if request.subtree and not valid_node_id(request.subtree):
            raise InputError(f"subtree {request.subtree!r} is not a node id prefix")
        node_id = self.node.node_id
        above = [node_id, *(v.node_id for v in directory.ancestors(node_id))]
        listing = directory.changes_since(
            request.since_version,
            node_id=node_id,
            subtree=request.subtree,
            limit=request.limit,
            always=above,
        )
        return self.node.sign_directory_page(listing)

    def lookup_office(
        self, caller: PeerIdentity, request: federation_pb2.LookupRequest
    ) -> federation_pb2.DirectoryPage:
        """One office's entry (and its successors' when it retired or merged), signed;
        NotFound when this node's directory does not know it."""
        self.node.check_request(request)
        directory = self._directory()
        if not valid_node_id(request.node_id):
            raise InputError(f"{request.node_id!r} is not a node id")
        listing = directory.lookup_listing(request.node_id, server=self.node.node_id)
        if not listing.entries:
            raise NotFound(f"{self.node.node_id} does not know {request.node_id}")
        return self.node.sign_directory_page(listing)

    def gossip(
        self, caller: PeerIdentity, request: federation_pb2.GossipRequest
    ) -> federation_pb2.GossipResponse:
        """Checkpoints a reader saw of other logs: compared with this node's replicas and with
        what other readers gossiped (federation/gossip.py). Open to every authenticated node:
        it reveals nothing but which of its children this node holds evidence against."""
        self.node.check_request(request)
        if self._gossip is None:
            return federation_pb2.GossipResponse()
        return self._gossip.receive(caller.node_id, list(request.notes))

    # -- helpers -------------------------------------------------------------------------------

    def _witnessed(self, log: LogReader, size: int) -> federation_pb2.Witnessed | None:
        """The newest cosigned checkpoint of the own log and the consistency proof from it to
        the tree of `size` the answer's proofs lead to; None before any witness cosigned."""
        cosigned = self.node.witnessed_checkpoint()
        if not cosigned:
            return None
        witnessed_size = parse_note(cosigned)[0].size
        if not 0 < witnessed_size <= size:
            return None  # nothing to tie (a note beyond the answer cannot be: stale memory)
        proof = log.consistency_proof(witnessed_size, size) if witnessed_size < size else []
        return federation_pb2.Witnessed(note=cosigned, consistency=proof)

    def _require_full(self, caller: PeerIdentity, what: str) -> None:
        if not access_for(caller.role).full_records:
            raise NotPermitted(
                f"a {caller.role!r} node may not {what}: it is entitled to hit/no-hit answers only"
                if access_for(caller.role).hit_no_hit
                else f"a {caller.role!r} node may not {what}"
            )

    def _directory(self) -> Directory:
        directory = self.node.directory
        if directory is None:
            raise NotFound(f"{self.node.node_id} keeps no directory")
        return directory

    def _spend_quota(self, caller: PeerIdentity) -> None:
        """Counts an audited call of `caller`; RateLimited over its quota (nothing done yet)."""
        if self._quota is not None:
            self._quota.spend(caller.node_id)

    def _log(self, origin: str) -> LogReader:
        if origin and CONTROL.search(origin):
            raise InputError("the origin is not a valid log origin")
        try:
            return self.node.log(origin)
        except PeerError as exc:
            raise InputError(f"{self.node.node_id} holds no log {origin!r}") from exc

    def _self_anchored_receipt(
        self, audit: ledger_pb2.AuditEntry
    ) -> tuple[federation_pb2.ProvenEntry, list[federation_pb2.ProvenEntry]]:
        """Appends `audit`; its proof is for the tree whose last leaf it is (size index + 1),
        and so are the proofs of the log's key hand-overs that come with it."""
        index, leaf = self.node.append_audit(audit)
        log = self.node.log()
        return proven_entry(log, index, index + 1, leaf=leaf), proven_key_handovers(log, index + 1)


def _below(
    entry: VerifiedEntry, ancestor: str, batch: Mapping[str, VerifiedEntry], directory: Directory
) -> bool:
    """Whether `entry`'s parent links (through `batch` and `directory`) reach `ancestor`."""
    parent = entry.parent
    for _ in range(8):  # national, state, district, sub-division, circle, station: deep enough
        if parent == ancestor:
            return True
        above = batch.get(parent) or directory.get(parent)
        if above is None or not parent:
            return False
        parent = above.parent
    return False


def _batches(
    log: LogReader, start: int, end: int, batch_size: int, max_bytes: int
) -> Iterator[federation_pb2.EntryBatch]:
    """Leaves start..end-1, read `batch_size` at a time, sent in batches of at most `batch_size`
    leaves and `max_bytes` bytes; a leaf larger than `max_bytes` alone goes in a batch of its
    own, so every batch holds at least one leaf and the range always completes."""
    batch = federation_pb2.EntryBatch(start=start)
    held = 0
    for first in range(start, end, batch_size):
        leaves = log.leaves(first, min(first + batch_size, end))
        # Most groups fit in one batch whole: sent as read, without a Python step per leaf
        # (the same batches the loop below makes; a replica's catch-up waits on this).
        if not batch.leaves and sum(map(len, leaves)) + _LEAF_FRAMING * len(leaves) <= max_bytes:
            yield federation_pb2.EntryBatch(start=first, leaves=leaves)
            batch = federation_pb2.EntryBatch(start=first + len(leaves))
            continue
        for leaf in leaves:
            cost = len(leaf) + _LEAF_FRAMING
            if batch.leaves and (held + cost > max_bytes or len(batch.leaves) >= batch_size):
                yield batch
                batch = federation_pb2.EntryBatch(start=batch.start + len(batch.leaves))
                held = 0
            batch.leaves.append(leaf)
            held += cost
    if batch.leaves:
        yield batch


def _clean(text: str, what: str) -> str:
    """`text` stripped; InputError when empty or holding a control character (its length was
    checked with the request's, by the node's limits)."""
    value = text.strip()
    if not value:
        raise InputError(f"the {what} is empty")
    if CONTROL.search(value):
        raise InputError(f"the {what} contains a control character")
    return value


def _check_search(request: federation_pb2.SearchRequest) -> federation_pb2.SearchRequest:
    """The request with its query trimmed and its limit defaulted; InputError if absurd."""
    problems: list[str] = []
    if request.kind not in SEARCH_KINDS:
        problems.append(f"search kind {request.kind!r} is not one of {', '.join(SEARCH_KINDS)}")
    query = ""
    if request.kind in PROBE_KINDS:
        if not request.probe:
            problems.append(f"a {request.kind} search needs a probe (the image to search by)")
        if request.query.strip():
            query = request.query.strip()
    else:
        try:
            query = _clean(request.query, "search query")
        except InputError as exc:
            problems.append(str(exc))
    if request.limit > MAX_SEARCH_LIMIT:
        problems.append(f"a search returns at most {MAX_SEARCH_LIMIT} hits, not {request.limit}")
    if request.age_min > MAX_AGE or request.age_max > MAX_AGE:
        problems.append(f"ages are between 0 and {MAX_AGE}")
    if request.age_max and request.age_min > request.age_max:
        problems.append(f"age range {request.age_min}..{request.age_max} is empty")
    if (request.age_min or request.age_max) and request.kind != "person":
        problems.append("an age range only applies to a person search")
    if problems:
        raise InputError("; ".join(problems), problems)
    checked = federation_pb2.SearchRequest()
    checked.CopyFrom(request)
    checked.query = query
    checked.limit = request.limit or DEFAULT_SEARCH_LIMIT
    return checked


def _blob_chunks(data: bytes) -> Iterator[federation_pb2.BlobChunk]:
    """`data` as BlobChunks of at most BLOB_CHUNK_BYTES, the first carrying the total size."""
    for start in range(0, max(len(data), 1), BLOB_CHUNK_BYTES):
        chunk = federation_pb2.BlobChunk(data=data[start : start + BLOB_CHUNK_BYTES])
        if start == 0:
            chunk.total_size = len(data)
        yield chunk
