"""A station as the federation sees it: `LocalNode` over a `node.station.core.Station`.

It answers from the station's own log and index only (replicas come with replication): records
by reference, person / vehicle / property / case / history-sheet / MO searches, hit/no-hit
lookups by identifier, and it appends the audit entries of other offices' queries to the
station's ledger, indexing them as every other entry is.

It must never reveal a withheld identity: searches go through the index, which has no names for
withheld persons, and records leave as the signed leaves the ledger holds (which carry only the
identity's commitment). Nothing here adds data to what the index and the ledger already hold.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from google.protobuf.message import Message
from sqlalchemy.engine import Engine

from federation.directory import Directory
from federation.interfaces import LogReader, PeerIdentity
from federation.logs import LedgerLogReader
from federation.replicas import ReplicaSet
from federation.trust.files import write_atomic
from federation.trust.revocation import RevocationSet
from federation.witness import own_cosignature_time
from ledger.checkpoint import parse_note
from ledger.cosignature import merge_cosignatures
from ledger.entry import parse_leaf
from ledger.errors import InputError, NotFound, NotPermitted, PeerError, VerificationError
from ledger.log import now_ms
from ledger.proof import verify_log_checkpoint
from node.index import history, similar
from node.index.aggregate.index import Located
from node.index.lookups import FirView
from node.index.search import Search, VehicleHit
from node.peers import faces
from node.peers.directory import NodeDirectory
from node.peers.replica_index import ReplicaIndexes
from node.records import limits
from node.records.fingerprints.slips import FINGERS
from node.records.history import parse_mo_query
from node.records.refs import record_ref
from node.records.validation import registration_key
from node.station import audit as station_audit
from node.station import case_transfer, fingerprints, photos, transfer
from node.station.core import SYSTEM_OFFICER, Station
from node.station.watchlist import Received
from protos import federation_pb2, ledger_pb2

__all__ = ["LedgerLogReader", "StationPeerNode"]

# A person-name hit/no-hit answers "yes" only for a name that matches exactly as written (the
# index scores an exact match of every token at 1.0 or more; variants and sound-alikes lower).
PERSON_HIT_MIN_SCORE = 1.0
_IDENT_KEYS = {
    "engine_number": "engine_number",
    "chassis_number": "chassis_number",
}


def _ignore_announcement(node_id: str) -> None:
    """The default `on_child_announced`: a node that follows nobody has nothing to wake."""


log = logging.getLogger(__name__)

RECENT_COSIGNED = 16  # cosigned notes kept in memory (for operators and tests)
WITNESSED_NAME = "witnessed.note"  # the newest cosigned note, in the cosignature directory


class StationPeerNode:
    """LocalNode over one Station: its own log, index and audit trail. Thread-safe."""

    def __init__(
        self,
        station: Station,
        *,
        cosignature_dir: Path | None = None,
        replicas: ReplicaSet | None = None,
        replica_indexes: ReplicaIndexes | None = None,
        revocations: RevocationSet | None = None,
        directory: NodeDirectory | None = None,
    ) -> None:
        self.station = station
        self._reader = LedgerLogReader(station.ledger)
        self._replicas = replicas
        self._replica_indexes = replica_indexes
        self._revocations = revocations
        self._directory = directory
        self._cosignature_dir = cosignature_dir
        # The latest notes received (a parent cosigns every checkpoint it verifies: thousands a
        # day, so only the newest is kept on disk and a few in memory).
        self._cosignatures: collections.deque[bytes] = collections.deque(maxlen=RECENT_COSIGNED)
        self._witnessed = b""  # the newest cosigned note of the own log
        self._lock = threading.Lock()
        if cosignature_dir is not None and (cosignature_dir / WITNESSED_NAME).exists():
            note = (cosignature_dir / WITNESSED_NAME).read_bytes()
            try:
                self._keep_newest(note)
                self._cosignatures.append(note)
            except (InputError, VerificationError) as exc:
                log.warning("not serving %s: %s", cosignature_dir / WITNESSED_NAME, exc)
        # Called (from a gRPC thread) with a child's node id when it announces itself; the
        # runtime points it at its followers' wake-ups (federation/replication_loop.py).
        self.on_child_announced: Callable[[str], None] = _ignore_announcement

    @property
    def node_id(self) -> str:
        return self.station.config.node_id

    @property
    def origin(self) -> str:
        return self.station.config.origin

    def log(self, origin: str = "") -> LogReader:
        """The own log, or a verified replica this node holds; PeerError for any other."""
        if origin in ("", self.origin):
            return self._reader
        if self._replicas is not None and origin in self._replicas:
            return self._replicas.get(origin)
        raise PeerError(f"no replica of {origin!r} here", node_id=self.node_id)

    def _sources(self) -> list[_Source]:
        """The own index, then (on a node holding replicas) the one index over them all."""
        lookups = self.station.index.lookups

        def own_cases(query: str) -> list[tuple[str, int, FirView | None]]:
            fir = lookups.fir(query)
            if fir is not None:
                return [(self.origin, fir.ledger_index, fir)]
            position = lookups.record_index(query)
            return [] if position is None else [(self.origin, position, None)]

        sources = [
            _Source(
                self.station.index.search,
                lambda key: (self.origin, key),
                own_cases,
                False,
                self.station.index.engine,
            )
        ]
        if self._replica_indexes is not None and self._replica_indexes.held():
            aggregate = self._replica_indexes.aggregate

            def locate(key: int) -> tuple[str, int]:
                found = aggregate.locate(key)
                return found.origin, found.index

            def replica_cases(query: str) -> list[tuple[str, int, FirView | None]]:
                return [
                    (found.origin, found.index, aggregate.fir_at(found))
                    for found in aggregate.records_by_ref(query)
                ]

            sources.append(_Source(aggregate.search, locate, replica_cases, True, aggregate.engine))
        return sources

    def _replica_freshness(self, now: int) -> list[federation_pb2.Freshness]:
        """Each unquarantined replica's part of an answer: as of its checkpoint, which this node
        cosigned when it verified it; covering what the index holds of it."""
        if self._replicas is None or self._replica_indexes is None:
            return []
        sizes = {o.origin: o.indexed_size for o in self._replica_indexes.aggregate.offices()}
        out = []
        for replica in self._replicas:
            if replica.quarantined:
                continue
            cosigned = None
            if replica.size():
                cosigned = own_cosignature_time(replica.checkpoint(), self.origin)
            out.append(
                federation_pb2.Freshness(
                    origin=replica.origin,
                    checkpoint_size=min(sizes.get(replica.origin, 0), replica.size()),
                    from_replica=True,
                    verified_at_ms=now,
                    as_of_ms=cosigned * 1000 if cosigned is not None else 0,
                    as_of_source="cosigned",
                )
            )
        return out

    def _quarantined(self) -> set[str]:
        """Replicas whose logs are not trusted until an operator clears them: no answers."""
        return (
            set() if self._replicas is None else {r.origin for r in self._replicas if r.quarantined}
        )

    def _answered(self, hits: list[federation_pb2.SearchHit]) -> list[federation_pb2.SearchHit]:
        quarantined = self._quarantined()
        return [hit for hit in hits if hit.origin not in quarantined]

    def check_request(self, request: Message) -> None:
        """A peer's request against the table of limits (`node.records.limits`)."""
        found = limits.problems(request)
        if found:
            raise InputError(f"{type(request).__name__}: {'; '.join(found)}", found)

    def find_record(self, ref: str, origin: str = "") -> tuple[int, list[int]] | None:
        """Record `ref` and its amendments in the own log, or in the verified replica of
        `origin` (from the index over the replicas, which holds only verified entries; a
        retired office's records are fetched this way from the office holding its log)."""
        if origin in ("", self.origin):
            indexes = self.station.index.lookups.history(ref)
        else:
            if self._replicas is None or self._replica_indexes is None:
                return None
            if origin not in self._replicas:
                return None
            if self._replicas.get(origin).quarantined:
                raise NotFound(
                    f"{self.node_id}'s replica of {origin} is quarantined: it answers nothing "
                    "from it until an operator clears it"
                )
            indexes = self._replica_indexes.aggregate.record_history(origin, ref)
        if not indexes:
            return None
        return indexes[0], indexes[1:]

    # -- searching -------------------------------------------------------------------------------

    def search(
        self, request: federation_pb2.SearchRequest
    ) -> tuple[list[federation_pb2.SearchHit], list[federation_pb2.Freshness]]:
        """Answers from the own index and the index of every (unquarantined) replica, each
        part with its freshness: 'as of checkpoint N of node X', and in time (`as_of_ms`: now
        for the own log, this node's cosignature time of the replica's checkpoint)."""
        limit = request.limit or 50
        # Read before searching: the answer covers at least this many entries.
        covered = self.station.index.indexed_size()
        hits: list[federation_pb2.SearchHit] = []
        # A face search reads the node's one face gallery (own photos and replicas'), not the
        # SQL sources.
        sources = [] if request.kind == "face" else self._sources()
        if request.kind == "fingerprint":
            sources = []
            hits = self._search_fingerprints(request.probe, limit)
        if request.kind == "face":
            hits = faces.face_hits(
                photos.gallery(self.station), request.probe, limit, self._quarantined()
            )
        for source in sources:
            if request.kind == "person":
                found = self._search_persons(source, request, limit)
            elif request.kind == "vehicle":
                found = self._search_vehicles(source, request.query, limit)
            elif request.kind == "property":
                found = self._search_property(source, request.query, limit)
            elif request.kind == "case":
                found = self._search_case(source, request.query)
            elif request.kind == "history":
                found = self._search_history(source, request.query, limit)
            elif request.kind == "mo":
                found = self._search_mo(source, request.query, limit)
            elif request.kind == "similar":
                found = self._search_similar(source, request.query, limit)
            else:
                raise InputError(f"unknown search kind {request.kind!r}")
            hits.extend(self._answered(found) if source.replica else found)
        now = now_ms()
        freshness = [
            federation_pb2.Freshness(
                origin=self.origin,
                checkpoint_size=covered,
                from_replica=False,
                verified_at_ms=now,
                as_of_ms=now,
                as_of_source="live",
            ),
            *self._replica_freshness(now),
        ]
        hits.sort(key=lambda hit: -hit.score)
        return hits[:limit], freshness

    @staticmethod
    def _hit(
        source: _Source, ref: str, key: int, title: str, detail: str, score: float
    ) -> federation_pb2.SearchHit:
        origin, index = source.locate(key)
        return federation_pb2.SearchHit(
            origin=origin, ref=ref, index=index, title=title, detail=detail, score=score
        )

    def _search_persons(
        self, source: _Source, request: federation_pb2.SearchRequest, limit: int
    ) -> list[federation_pb2.SearchHit]:
        found = source.search.persons(
            request.query,
            age_min=request.age_min or None,
            age_max=request.age_max or None,
            limit=limit,
        )
        # A person who is history-sheeted is said to be, in every hit of theirs.
        sheeted = history.sheeted_names(source.search, source.engine, request.query, limit=limit)
        out = []
        for person in found:
            parts = [person.role]
            note = history.sheet_note(person, sheeted)
            if note:
                parts.append(note)
            if person.relative_name:
                parts.append(f"{person.relation or 'relative'} {person.relative_name}".strip())
            if person.age:
                parts.append(f"age {person.age}")
            if person.matched_name and person.matched_name != person.name:
                parts.append(f"matched {person.matched_name!r}")
            out.append(
                self._hit(
                    source,
                    person.record_ref,
                    person.ledger_index,
                    person.name,
                    ", ".join(parts),
                    person.score,
                )
            )
        return out

    def _search_vehicles(
        self, source: _Source, query: str, limit: int
    ) -> list[federation_pb2.SearchHit]:
        wanted = registration_key(query)
        out = []
        for vehicle in source.search.vehicles(query, limit=limit):
            exact = _vehicle_matches_exactly(vehicle, query, wanted)
            what = " ".join(p for p in (vehicle.colour, vehicle.make, vehicle.model) if p)
            detail = ", ".join(
                p for p in (what, vehicle.vehicle_type, vehicle.property_status) if p
            )
            out.append(
                self._hit(
                    source,
                    vehicle.record_ref,
                    vehicle.ledger_index,
                    vehicle.registration or vehicle.engine_number or vehicle.chassis_number,
                    f"{detail} (matched on {vehicle.matched_on})",
                    1.0 if exact else 0.5,
                )
            )
        return out

    def _search_property(
        self, source: _Source, query: str, limit: int
    ) -> list[federation_pb2.SearchHit]:
        words = query.strip().lower()
        out = []
        for item in source.search.property(query, limit=limit):
            detail = f"{item.category}, {item.status}"
            if item.value_inr:
                detail += f", Rs {item.value_inr}"
            score = 1.0 if item.category == words else 0.5
            out.append(
                self._hit(
                    source, item.record_ref, item.ledger_index, item.description, detail, score
                )
            )
        return out

    def _search_history(
        self, source: _Source, query: str, limit: int
    ) -> list[federation_pb2.SearchHit]:
        """History-sheeted persons by (misspelt) name: the sheet's number, its category and
        whether it is open. Names the withholding policy protects are never indexed."""
        return [
            self._hit(
                source,
                found.person.record_ref,
                found.person.ledger_index,
                found.person.name,
                found.detail,
                found.person.score,
            )
            for found in history.search_sheets(source.search, source.engine, query, limit=limit)
        ]

    def _search_mo(self, source: _Source, query: str, limit: int) -> list[federation_pb2.SearchHit]:
        """The current MO entries of accused matching the attributes asked
        ("entry:window_grill_removed place:locked_house night"), best first; an accused whose
        name the case withholds is named by code only."""
        wanted = parse_mo_query(query)
        if not wanted:
            raise InputError(
                "an MO search names attributes of the vocabulary, e.g. "
                "'entry:window_grill_removed place:locked_house night'"
            )
        out = []
        for row, score in history.match_mo(source.engine, wanted, limit=limit):
            title = " ".join(p for p in (row.accused_code, row.name) if p)
            detail = history.mo_text(row.attributes)
            out.append(self._hit(source, row.fir_number, row.ledger_index, title, detail, score))
        return out

    def _search_similar(
        self, source: _Source, query: str, limit: int
    ) -> list[federation_pb2.SearchHit]:
        """Cases like the one asked (a case number of this station's own log) or like the MO
        and words asked ("entry_method:window_grill_removed night almirah chisel"), best
        first (docs/mo-search.md). The hit names the case, its crime head, MO and the words
        it shares; never a person."""
        wanted = similar.query_text(query)
        if not source.replica:
            key = similar.case_key(source.engine, query.strip())
            if key is not None:
                wanted = similar.query_case(source.engine, key)
        if not wanted.terms:
            raise InputError(
                "a similar-case search names a case of this station, or MO attributes and "
                "words, e.g. 'entry:window_grill_removed place:locked_house night almirah'"
            )
        return [
            self._hit(
                source,
                case.fir_number,
                case.ledger_index,
                case.fir_number,
                similar.describe(case),
                case.score,
            )
            for case in similar.similar(source.engine, wanted, limit=limit)
        ]

    def _search_case(self, source: _Source, query: str) -> list[federation_pb2.SearchHit]:
        out = []
        for origin, position, fir in source.cases(query):
            if fir is not None:
                ref = fir.fir_number or fir.zero_fir_number
                detail = "; ".join(
                    p
                    for p in (
                        fir.crime_head,
                        fir.status,
                        " ".join(fir.sections),
                        f"{len(fir.amendments)} amendment(s)" if fir.amendments else "",
                    )
                    if p
                )
                title = ref
            else:
                (leaf,) = self.log(origin).leaves(position, position + 1)
                body = parse_leaf(leaf).decode_body()
                ref = title = record_ref(body)
                detail = (body.WhichOneof("record") or "").replace("_", " ")
            out.append(
                federation_pb2.SearchHit(
                    origin=origin, ref=ref, index=position, title=title, detail=detail, score=1.0
                )
            )
        return self._answered(out) if source.replica else out

    def _search_fingerprints(self, probe: bytes, limit: int) -> list[federation_pb2.SearchHit]:
        """The enrolled ten-print fingers most like a chance print, best first: the node's own
        slips and its (unquarantined) replicas' (node/station/fingerprints.py `gallery`)."""
        excluded = frozenset(self._quarantined())
        return [
            federation_pb2.SearchHit(
                origin=c.origin,
                ref=c.record_ref,
                index=c.ledger_index,
                title=c.subject or c.person_id,
                detail=f"{FINGERS.get(c.finger, 'finger')}; person {c.person_id}"
                + ("; hit" if c.hit else ""),
                score=c.score,
            )
            for c in fingerprints.search(self.station, probe, limit, excluded=excluded)
            if c.ledger_index >= 0
        ]

    def blob(self, origin: str, digest: str) -> bytes:
        """A blob of the own log's or a held replica's entries (PeerError for a log not held
        here, NotFound for a blob not held)."""
        self.log(origin)
        return self.station.blobs.get(digest)

    def hits(self, identifier_type: str, value: str, *, probe: bytes = b"") -> list[str]:
        """References of records holding the identifier exactly (no record content), from the
        own index and every replica's; a replica's references name their office. A chance
        print is matched against the node's ten-print gallery (docs/fingerprints.md)."""
        if identifier_type == "chance_print":
            return fingerprints.hits(self.station, probe, excluded=frozenset(self._quarantined()))
        refs: list[str] = []
        quarantined = self._quarantined()
        for source in self._sources():
            for ref, key in self._hits_in(source, identifier_type, value):
                origin, _ = source.locate(key)
                if not source.replica:
                    refs.append(ref)
                elif origin not in quarantined:
                    refs.append(f"{ref} @ {origin.split('/', 1)[-1]}")
        return list(dict.fromkeys(refs))

    def _hits_in(self, source: _Source, identifier_type: str, value: str) -> list[tuple[str, int]]:
        """(reference, row key) of the records holding the identifier exactly."""
        search = source.search
        if identifier_type == "vehicle_registration":
            wanted = registration_key(value)
            return _refs(
                (v.record_ref, v.ledger_index)
                for v in search.vehicles(value, limit=200)
                if v.matched_on == "registration" and registration_key(v.registration) == wanted
            )
        if identifier_type in _IDENT_KEYS:
            wanted = _alnum(value)
            attribute = _IDENT_KEYS[identifier_type]
            return _refs(
                (v.record_ref, v.ledger_index)
                for v in search.vehicles(value, limit=200)
                if _alnum(getattr(v, attribute)) == wanted
            )
        if identifier_type == "person_name":
            return _refs(
                (p.record_ref, p.ledger_index)
                for p in search.persons(value, limit=200)
                if p.score >= PERSON_HIT_MIN_SCORE
            )
        if identifier_type == "fir":
            found = []
            for origin, position, fir in source.cases(value):
                if fir is not None:
                    key = self._key_of(source, origin, position)
                    found.append((fir.fir_number or fir.zero_fir_number, key))
            return found
        raise InputError(f"unknown identifier type {identifier_type!r}")

    def _key_of(self, source: _Source, origin: str, position: int) -> int:
        if not source.replica:
            return position
        assert self._replica_indexes is not None
        return self._replica_indexes.aggregate.key_of(Located(origin, position))

    # -- audit, Zero FIR, cosignatures, revocations ---------------------------------------------

    def append_audit(self, audit: ledger_pb2.AuditEntry) -> tuple[int, bytes]:
        """Appends the audit entry (written by the node itself, the name asked for sealed:
        `node.station.audit`) and indexes it."""
        receipt = station_audit.append_audit(self.station, audit)
        return receipt.index, self.station.ledger.leaf(receipt.index)

    def accept_zero_fir(
        self, caller: PeerIdentity, handover: federation_pb2.ZeroFirHandover
    ) -> federation_pb2.ZeroFirAcceptance:
        """A Zero FIR from another station: the sender's key comes from its certificate, and
        the log handed over must be the caller's own."""
        if handover.origin.split("/", 1)[-1] != caller.node_id:
            raise NotPermitted(
                f"{caller.node_id} handed over a Zero FIR of another log ({handover.origin})"
            )
        return transfer.accept_zero_fir(
            self.station, SYSTEM_OFFICER, handover, caller.ledger_key, handover.origin
        )

    def accept_case(
        self, caller: PeerIdentity, handover: federation_pb2.CaseHandover
    ) -> federation_pb2.CaseAcceptance:
        """A case's investigation transferred here: the sender's key comes from its
        certificate, and the log handed over must be the caller's own."""
        if handover.origin.split("/", 1)[-1] != caller.node_id:
            raise NotPermitted(
                f"{caller.node_id} handed over a case of another log ({handover.origin})"
            )
        return case_transfer.accept_case(
            self.station, SYSTEM_OFFICER, handover, caller.ledger_key, handover.origin
        )

    def store_cosignature(self, cosigned_note: bytes) -> None:
        """Keeps the cosigned note; the newest one (with a directory, also in its file
        `witnessed.note`, for after a restart) is served with every answer
        (`witnessed_checkpoint`). InputError for a note that is not a checkpoint this log
        signed (its root at that size)."""
        with self._lock:
            if self._keep_newest(cosigned_note) and self._cosignature_dir is not None:
                write_atomic(self._cosignature_dir / WITNESSED_NAME, cosigned_note)
            self._cosignatures.append(cosigned_note)

    def _keep_newest(self, note: bytes) -> bool:
        """Checks `note` is this log's; True when it is now the newest cosigned one."""
        ledger = self.station.ledger
        try:
            checkpoint = verify_log_checkpoint(note, keys=ledger.keys, origin=self.origin)
        except VerificationError as exc:
            raise InputError(f"the cosigned note is not this log's checkpoint: {exc}") from exc
        if checkpoint.size > ledger.size() or ledger.root(checkpoint.size) != checkpoint.root:
            raise InputError(f"the cosigned note's root at size {checkpoint.size} is not the log's")
        held = parse_note(self._witnessed)[0].size if self._witnessed else -1
        if checkpoint.size < held:
            return False
        if checkpoint.size == held:
            # The same checkpoint cosigned by another witness (an office higher up), or again
            # by the same one later: keep every witness's newest line.
            with contextlib.suppress(VerificationError):  # another note of that size: the new
                note = merge_cosignatures(self._witnessed, note)
        self._witnessed = note
        return True

    def witnessed_checkpoint(self) -> bytes:
        """The newest cosigned checkpoint of the own log (b"" before any witness cosigned)."""
        with self._lock:
            return self._witnessed

    def cosignatures(self) -> list[bytes]:
        """The latest cosigned notes received (at most RECENT_COSIGNED), oldest first."""
        with self._lock:
            return list(self._cosignatures)

    def revocations(self) -> list[bytes]:
        return [] if self._revocations is None else self._revocations.signed_records()

    # -- the directory (node/peers/directory.py) -------------------------------------------------

    @property
    def directory(self) -> Directory | None:
        return None if self._directory is None else self._directory.directory

    def sign_directory_page(
        self, listing: federation_pb2.DirectoryListing
    ) -> federation_pb2.DirectoryPage:
        if self._directory is None:
            raise PeerError("this node keeps no directory", node_id=self.node_id)
        return self._directory.sign_page(listing)

    # -- watch lists (docs/watch.md) -------------------------------------------------------------

    def hold_watches(self, caller: PeerIdentity, items: Sequence[federation_pb2.WatchItem]) -> int:
        """Keeps watches handed up from below in the index over this node's replicas, which
        matches every record it indexes against them. A station holds none: NotPermitted."""
        if self._replica_indexes is None or self.station.config.role == "station":
            raise NotPermitted(f"{self.node_id} indexes no offices below it: it keeps no watches")
        return self._replica_indexes.aggregate.watches.hold(
            (i.watcher_node_id, i.watch_id, i.officer_id, i.kind, i.value, i.cancelled)
            for i in items
        )

    def accept_alerts(
        self, caller: PeerIdentity, alerts: Sequence[federation_pb2.WatchAlert]
    ) -> int:
        """Keeps the alerts an office above sent for this node's watches; returns the new.
        Only an office above this node may send them: its certificate's parent, or an ancestor
        in its directory."""
        above = self._directory.offices_above() if self._directory is not None else ()
        if caller.node_id not in above:
            raise NotPermitted(f"{caller.node_id} is not an office above {self.node_id}")
        received = [
            Received(a.watch_id, a.origin, a.index, a.ref, a.detail, a.found_at_ms) for a in alerts
        ]
        return self.station.watchlist.receive(caller.node_id, received)

    def child_announced(self, caller: PeerIdentity) -> None:
        """Keeps the directory with the child's entry (directory.json), then tells the
        runtime (`on_child_announced`: its follower of that child wakes at once)."""
        if self._directory is not None:
            self._directory.save_if_changed()
        self.on_child_announced(caller.node_id)


@dataclass(frozen=True, slots=True)
class _Source:
    """An index a search answers from: the own index, or the one index over the replicas.
    `locate` turns a row's key into (origin, ledger index); `cases` finds records by reference
    as (origin, ledger index, the FIR when it is one)."""

    search: Search
    locate: Callable[[int], tuple[str, int]]
    cases: Callable[[str], list[tuple[str, int, FirView | None]]]
    replica: bool
    engine: Engine  # the same index's, for the history sheets and MO entries


def _alnum(text: str) -> str:
    return "".join(c for c in text.upper() if c.isascii() and c.isalnum())


def _vehicle_matches_exactly(vehicle: VehicleHit, query: str, wanted: str) -> bool:
    key = _alnum(query)
    return (
        registration_key(vehicle.registration) == wanted
        or _alnum(vehicle.engine_number) == key
        or _alnum(vehicle.chassis_number) == key
    )


def _refs(found: Iterable[tuple[str, int]]) -> list[tuple[str, int]]:
    """Distinct (reference, key) with a reference, in the order found."""
    return list(dict.fromkeys((ref, key) for ref, key in found if ref))
