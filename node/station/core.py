"""The station's writer core: the lock, the numbers, the ordered commit.

Every command of every family (`registers`, `casework`, `services`, `transfer`, `disclosure`)
follows one path: holding `Station.writing()`, it checks its input (nothing is written if
anything is wrong), takes the station's numbers from `Station.numbers`, drafts its entries, and
hands them to `Station.commit`, which appends them to the ledger in one group commit (durable
before the caller hears "saved") and projects them into the query index. The ledger is the
truth; the index can always be rebuilt from it.

The station is the log's only writer: one lock serialises commands, so the numbers it hands out
are consecutive. Counters are cached from the index and forgotten when a commit fails.

This module knows no record family: it never decides what a GD entry or an FIR must hold.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from ledger import merkle
from ledger.errors import UsageError
from ledger.keys import META_KEYS, LogKeys
from ledger.log import Appended, Ledger, now_ms
from ledger.mark import MarkFile
from ledger.rocksdb_store import RocksDBLogStore
from ledger.store import LogStore
from node.config import DataDir, NodeConfig
from node.index.casework import CaseworkProjection
from node.index.duty import DutyProjection
from node.index.fingerprints import FingerprintsProjection
from node.index.history import HistoryProjection
from node.index.investigation import InvestigationProjection
from node.index.person_links import LinkageProjection
from node.index.photos import PhotosProjection
from node.index.processes import ProcessesProjection
from node.index.record_index import IndexedEntry, Projection, RecordIndex, entry_fingerprint
from node.index.services import ServicesProjection
from node.index.similar import SimilarProjection
from node.index.transfers import TransfersProjection
from node.records import limits
from node.records.laws import Statutes
from node.records.sealing import SealedIdentity
from node.records.validation import (
    CLOCK_SKEW_MS,
    FIRST_YEAR,
    LAST_YEAR,
    Problems,
    check_officer,
    time_in_years,
)
from node.station.blobs import BLOBS_DIR, BlobStore
from node.station.sealed_store import SealedStore
from node.station.watchlist import WatchList
from protos import ledger_pb2

log = logging.getLogger(__name__)

SYSTEM_OFFICER = "system"
INDEX_CHUNK = 2000
SEALED_DIR = "sealed"
# The record kinds of the entry body, by message type: what `Station.body` files a record under.
_RECORD_FIELDS: dict[str, str] = {
    f.message_type.full_name: f.name
    for f in ledger_pb2.EntryBody.DESCRIPTOR.oneofs_by_name["record"].fields
    if f.message_type is not None
}


def node_ledger(data_dir: DataDir, store: LogStore, origin: str) -> Ledger:
    """The node's Ledger over its store, signing with the key in force: the key the store's
    key list names (ledger/keys.py), taken from the node's key files, which finishes a key
    rotation a crash interrupted (`DataDir.key_in_force`), and checked against the node's
    high-water mark (`ledger/mark.py`)."""
    raw = store.meta(META_KEYS)
    key = data_dir.key_in_force(LogKeys.decode(raw).current if raw else None)
    return Ledger(store, key, origin, mark=MarkFile(data_dir.mark_path))


def station_projections() -> tuple[Projection, ...]:
    """The index projections a node's index carries beyond its core tables: casework and
    investigations, citizen services, the process register (fresh instances: none is shared
    between indexes)."""
    return (
        CaseworkProjection(),
        InvestigationProjection(),
        ServicesProjection(),
        ProcessesProjection(),
        HistoryProjection(),
        SimilarProjection(),  # after HistoryProjection: it reads the MO rows
        DutyProjection(),
        TransfersProjection(),
        PhotosProjection(),
        FingerprintsProjection(),
        LinkageProjection(),
    )


@dataclass(frozen=True, slots=True)
class Receipt:
    """What a command returns once its entries are durable and indexed."""

    kind: str
    ref: str
    index: int
    leaf_hash: bytes
    written_at_ms: int
    related: tuple[str, ...] = ()


@dataclass(slots=True)
class Batch:
    """Numbers and entries drafted so far in one commit, before any of it is appended."""

    refs: set[str] = field(default_factory=set)
    bodies: int = 0
    # Non-empty for an import: what the records come from (EntryBody.imported_from). Their
    # numbers and times are the original register's (node/station/registers.py).
    imported_from: str = ""
    # An import's first live number of each (series, period), read once per batch.
    first_live: dict[tuple[str, str], int | None] = field(default_factory=dict)


@dataclass(slots=True)
class Draft:
    """Entries prepared by one command, not yet appended."""

    kind: str
    ref: str
    bodies: list[ledger_pb2.EntryBody] = field(default_factory=list)
    related: tuple[str, ...] = ()
    sealed: list[SealedIdentity] = field(default_factory=list)


class Numbering:
    """The station's counters (FIR serials per year, GD numbers per day, receipts), cached
    from the index, and the registration time of each year's latest FIR. Used only under the
    station's lock; `forget` drops everything when numbers handed out were not written."""

    def __init__(self) -> None:
        self._counters: dict[tuple[str, str], int] = {}
        self.last_registered: dict[int, int] = {}
        self.last_gd_ms: int | None = None

    def next(self, series: str, period: str, current: Callable[[], int]) -> int:
        """The next number of `series` in `period` ("fir", "2026"); `current` reads the
        highest written one from the index the first time."""
        key = (series, period)
        if key not in self._counters:
            self._counters[key] = current()
        self._counters[key] += 1
        return self._counters[key]

    def cached(self, series: str, period: str) -> int | None:
        """The last number handed out in `period`, when it is cached."""
        return self._counters.get((series, period))

    def claim(self, series: str, period: str, number: int, current: Callable[[], int]) -> None:
        """Records that `number` was taken explicitly (an import): the series continues after
        the highest number taken."""
        key = (series, period)
        self._counters[key] = max(self._counters.get(key, current()), number)

    def forget(self) -> None:
        self._counters.clear()
        self.last_registered.clear()
        self.last_gd_ms = None


class Station:
    """One station's record keeping over a ledger and an index."""

    def __init__(
        self,
        ledger: Ledger,
        index: RecordIndex,
        config: NodeConfig,
        *,
        statutes: Statutes | None = None,
        clock: Callable[[], int] = now_ms,
        sealed: SealedStore | None = None,
        watchlist: WatchList | None = None,
        blobs: BlobStore | None = None,
    ) -> None:
        self.ledger = ledger
        self.index = index
        self.config = config
        # Station.open gives the durable store in the data directory; the in-memory default is
        # for tests and tools that build a Station by hand.
        self.sealed = sealed if sealed is not None else SealedStore.memory()
        # The officers' watch lists (docs/watch.md): in the data directory when opened there.
        self.watchlist = watchlist if watchlist is not None else WatchList("sqlite://")
        # Photos and fingerprint slips, by SHA-256 (node/station/blobs.py, docs/photos.md).
        self.blobs = blobs if blobs is not None else BlobStore.memory()
        self.statutes = statutes or Statutes.default()
        self.numbers = Numbering()
        # The station's clock: every time it writes and every "now" it checks against.
        # Simulations and tests set it (a simulated week, a petition filed twenty days ago).
        self.clock = clock
        self._lock = threading.RLock()
        # Entries in the ledger but not yet in the index (`commit(..., index_later=True)`),
        # oldest first; projected by the indexer thread, by the next commit, or on close.
        self._unindexed: list[IndexedEntry] = []
        self._indexer: ThreadPoolExecutor | None = None
        self._index_scheduled = False

    # -- opening -------------------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        data_dir: DataDir,
        *,
        index_url: str | None = None,
        progress: Callable[[int, int], None] | None = None,
        clock: Callable[[], int] = now_ms,
        rebuild_index: bool = False,
    ) -> Station:
        """Opens a node's station records: RocksDB ledger (checked against its high-water
        mark: EntriesLost when the store lost acknowledged entries), index (caught up),
        genesis entry. Refuses a standby's directory (UsageError): the station appends.
        `clock` is the station's clock (simulations and tests move it; the ledger keeps its
        own for `written_at_ms`). `rebuild_index`: the index is dropped and projected again
        rather than caught up (`cctns admin rebuild-index`: an index that belongs to another
        log, which catching up refuses, is replaced)."""
        config = data_dir.load_config()
        data_dir.require_primary()
        if index_url is None:
            data_dir.check_own_index(config)
        store = RocksDBLogStore.open(data_dir.ledger_path)
        try:
            sealed = SealedStore.open(data_dir.path / SEALED_DIR)
        except BaseException:
            store.close()
            raise
        try:
            ledger = node_ledger(data_dir, store, config.origin)
            index = RecordIndex(index_url or config.index_url, station_projections())
            watchlist = WatchList.open(data_dir.path)
            blobs = BlobStore.open(data_dir.path / BLOBS_DIR)
        except BaseException:
            sealed.close()
            store.close()
            raise
        station = cls(
            ledger, index, config, sealed=sealed, watchlist=watchlist, clock=clock, blobs=blobs
        )
        try:
            if rebuild_index:
                station.rebuild_index(progress)
            station.ensure_genesis()
            station.sync_index(progress)
        except BaseException:
            station.close()
            raise
        return station

    def close(self) -> None:
        """Indexes what is still pending, then closes the index, the ledger's signing thread,
        the store and the sealed store."""
        if self._indexer is not None:
            self._indexer.shutdown(wait=True)
            self._indexer = None
        try:
            self.flush_index()
        except Exception as exc:  # the index catches up from the ledger when next opened
            log.warning("index not brought up to date on close: %s", exc)
        self.index.close()
        self.ledger.close()
        self.ledger.store.close()
        self.sealed.close()
        self.watchlist.close()

    def ensure_genesis(self) -> None:
        """Writes entry 0 (the node's public key and origin) into an empty log."""
        with self._lock:
            if self.ledger.size() == 0:
                event = ledger_pb2.NodeEvent(
                    kind="genesis", public_key=self.ledger.public_key, note=self.config.origin
                )
                self.run(Draft("node_event", "", [self.body(SYSTEM_OFFICER, event)]))

    def sync_index(self, progress: Callable[[int, int], None] | None = None) -> int:
        """Projects ledger entries the index has not seen; returns how many were applied."""
        with self._lock:
            start, end = self.index.indexed_size(), self.ledger.size()
            if start > end:
                raise UsageError(
                    f"the index has {start} entries but the ledger {end}: it belongs to another "
                    "log; run `cctns admin rebuild-index`"
                )
            held = self.index.tail_fingerprint()
            if start and held and held != entry_fingerprint(self.ledger.body(start - 1)):
                raise UsageError(
                    f"the index's entry {start - 1} is not the ledger's: it belongs to another "
                    "log; run `cctns admin rebuild-index`"
                )
            done = start
            while done < end:
                stop = min(done + INDEX_CHUNK, end)
                self.index.apply(
                    [IndexedEntry(i, body) for i, body in self.ledger.bodies(done, stop)]
                )
                done = stop
                if progress is not None:
                    progress(done - start, end - start)
            self._unindexed = []  # read back from the ledger above
            return end - start

    def rebuild_index(self, progress: Callable[[int, int], None] | None = None) -> int:
        """Drops the index and projects the whole ledger again."""
        with self._lock:
            self.index.drop_all()
            self.numbers.forget()
            return self.sync_index(progress)

    # -- what every command uses -----------------------------------------------------------------

    @contextmanager
    def writing(self) -> Iterator[None]:
        """Holds the station's single-writer lock: read, number and append without
        interleaving. Re-entrant: a command may call another under it."""
        with self._lock:
            yield

    def now(self) -> int:
        """The station's clock (Unix milliseconds)."""
        return self.clock()

    def event_time(self, given_ms: int | None, what: str, problems: Problems) -> int:
        """The time of an event that happened before it is written (an arrest, a seizure, an
        imported record's own time): 0/None is now; refused when it is in the future or out of
        the years a record may name (then now is returned, so that a caller still computing a
        date from it before raising never overflows)."""
        now = self.clock()
        if not given_ms:
            return now
        if not time_in_years(given_ms):
            problems.add(f"{what} is not a time between the years {FIRST_YEAR} and {LAST_YEAR}")
            return now
        if given_ms > now + CLOCK_SKEW_MS:
            problems.add(f"{what} is in the future")
        return given_ms

    def entry_time(
        self, given_ms: int | None, what: str, problems: Problems, *, imported: bool = False
    ) -> int:
        """The time a register entry is written at: the station's clock (0/None), or a given
        time at most `late_entry_minutes` behind it (typed a little after the event), never
        later than now. Registers are not back-dated: an older time is refused with the reason.
        An imported record (`imported`) keeps its original time, which only may not lie in the
        future (`event_time`)."""
        if imported:
            return self.event_time(given_ms, what, problems)
        now = self.clock()
        when = self.event_time(given_ms, what, problems)
        allowance = self.config.registers.late_entry_minutes
        if when < now - allowance * 60_000:
            problems.add(
                f"{what} is more than {allowance} minutes before the station's clock: registers "
                "are written as things happen, not back-dated (past records are imported, "
                "`cctns record import`)"
            )
        return when

    @staticmethod
    def body(officer_id: str, record: Any, *, imported_from: str = "") -> ledger_pb2.EntryBody:
        """An entry body carrying `record` (any record message of the entry), by `officer_id`;
        `imported_from` marks a record imported from an earlier system."""
        body = ledger_pb2.EntryBody(officer_id=officer_id, imported_from=imported_from)
        getattr(body, _RECORD_FIELDS[record.DESCRIPTOR.full_name]).CopyFrom(record)
        return body

    def run(self, draft: Draft, *, index_later: bool = False) -> Receipt:
        """Commits one command's draft; its receipt."""
        return self.commit([draft], index_later=index_later)[0]

    def commit(self, drafts: list[Draft], *, index_later: bool = False) -> list[Receipt]:
        """Appends the drafts' entries in one group commit, in order, then indexes them; one
        receipt per draft (its last entry). Sealed identities are durable before the entries
        that commit to them. Numbers handed out for entries that were not written are taken
        back.

        `index_later`: the entries are durable in the ledger when this returns but are projected
        into the index just after, by the indexer thread (or the next commit, whichever comes
        first). Audit entries of reads use it: the reader waits for the entry's sync, not for
        its index row, which no read path needs at once (docs/federation-queries.md)."""
        bodies = [body for draft in drafts for body in draft.bodies]
        try:
            self.sealed.put_many([item for draft in drafts for item in draft.sealed])
            appended = self.ledger.append_many(bodies)
        except BaseException:
            self.numbers.forget()
            raise
        entries = [IndexedEntry(a.index, a.body) for a in appended]
        if index_later:
            self._unindexed.extend(entries)
            self._schedule_indexing()
        else:
            self._apply_index(entries)
        receipts: list[Receipt] = []
        position = 0
        for draft in drafts:
            last: Appended = appended[position + len(draft.bodies) - 1]
            position += len(draft.bodies)
            receipts.append(
                Receipt(
                    draft.kind,
                    draft.ref,
                    last.index,
                    last.leaf_hash,
                    last.body.written_at_ms,
                    draft.related,
                )
            )
        return receipts

    def _apply_index(self, entries: list[IndexedEntry]) -> None:
        """Projects the pending entries and then `entries` in one transaction (caller holds the
        lock). On failure they stay pending: the index never skips an entry."""
        pending = self._unindexed + entries
        self._unindexed = []
        try:
            self.index.apply(pending)
        except BaseException:
            self._unindexed = pending
            raise

    def flush_index(self) -> None:
        """Projects every entry committed with `index_later` that is not yet in the index."""
        with self._lock:
            self._index_scheduled = False
            if self._unindexed:
                self._apply_index([])

    def _schedule_indexing(self) -> None:
        if self._index_scheduled:
            return
        if self._indexer is None:
            self._indexer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="indexer")
        self._index_scheduled = True
        self._indexer.submit(self._index_in_background)

    def _index_in_background(self) -> None:
        try:
            self.flush_index()
        except Exception as exc:  # pending entries stay pending; the next commit retries
            log.warning("indexing after the answer failed: %s", exc)

    def append_records(self, officer_id: str, records: Sequence[Any], *, ref: str = "") -> Receipt:
        """Appends already-validated records in one group commit and indexes them; returns the
        last one's receipt. Callers validate first (the limits too, before they number: a record
        refused here has its numbers taken back) and hold `writing()` while they number."""
        with self._lock:
            problems = Problems()
            check_officer(officer_id, problems)
            for record in records:
                limits.check(record, problems)
            if problems.items:
                self.numbers.forget()
            problems.raise_if_any("entry not written")
            bodies = [self.body(officer_id, record) for record in records]
            kind = bodies[-1].WhichOneof("record") or ""
            return self.run(Draft(kind, ref, bodies))

    def append_system(self, record: Any) -> Receipt:
        """Appends an entry the node writes itself (an audit entry of another office's query,
        a replication event) and indexes it, in ledger order like every command."""
        problems = Problems()
        limits.check(record, problems)
        problems.raise_if_any("entry not written")
        with self._lock:
            body = self.body(SYSTEM_OFFICER, record)
            kind = body.WhichOneof("record") or ""
            return self.run(Draft(kind, "", [body]))

    def receipt_of(self, index: int, ref: str) -> Receipt:
        """The receipt of entry `index`, written before (a command repeated)."""
        leaf = self.ledger.leaf(index)
        body = self.ledger.body(index)
        kind = body.WhichOneof("record") or ""
        return Receipt(kind, ref, index, merkle.leaf_hash(leaf), body.written_at_ms)


__all__ = [
    "SYSTEM_OFFICER",
    "Batch",
    "Draft",
    "Numbering",
    "Receipt",
    "Station",
    "node_ledger",
    "station_projections",
]
