"""One index over every log an aggregating node replicates (district, state, national).

A station's index (`node.index.record_index`) is the projection of one log. A state node holds
hundreds of replicas and the national node about 17,000: one SQLite file per replica cannot
answer "this person, anywhere in the state" in one query, nor count a year's crimes. This index
puts every replica's rows in the same tables, keyed by `keys` (state, office, ledger index), on
PostgreSQL (partitioned per state) or SQLite, with the same projection code as a station's, so
that a figure or a search hit here is the one a station's own index gives for its log.

Ingest is resumable and idempotent. Each origin's `indexed_size` lives in the bookkeeping and
moves in the same transaction as the rows it covers; entries below it are skipped. A crash
mid-ingest rolls the whole transaction back, and the next ingest starts from the sizes stored.
Only verified entries ever arrive here (the replica set's sizes: what checkpoints cover).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from federation.trust.identity import ORIGIN
from ledger.entry import parse_leaf
from ledger.errors import InputError, StoreError
from ledger.log import now_ms
from node.index import history, migrations, person_links, similar
from node.index import projection as projecting
from node.index import schema as core
from node.index.aggregate import keys
from node.index.aggregate import schema as agg
from node.index.aggregate.watch import WatchBook
from node.index.lookups import FirView, Lookups
from node.index.projection import Batch, IndexedEntry
from node.index.record_index import sqlite_pragmas
from node.index.search import PersonHit, Search
from node.records.case_transfer import parse_case_key
from node.records.casework import WANTED_ENDED_BY
from node.records.laws import Statutes
from protos import ledger_pb2

#: Entries per transaction when catching up: large enough for COPY to pay, small enough that a
#: crash loses little work and a transaction's memory stays bounded.
INGEST_BATCH = 20_000

_OUTCOME_KINDS = ("final_report", "court_progress")


@dataclass(frozen=True, slots=True)
class Office:
    """An origin as the index numbers it."""

    origin: str
    origin_no: int
    state: str
    indexed_size: int
    # When its entries were last indexed (0: not since the bookkeeping recorded it); not part of
    # what makes two answers about an office equal.
    indexed_at_ms: int = field(default=0, compare=False)

    @property
    def base(self) -> int:
        return keys.base(self.origin_no)

    @classmethod
    def of_row(cls, row: Any) -> Office:
        return cls(
            str(row.origin),
            int(row.origin_no),
            str(row.state),
            int(row.indexed_size),
            int(row.indexed_at_ms or 0),
        )


@dataclass(frozen=True, slots=True)
class Located:
    """A row's key traced back: the office and the entry in its own log."""

    origin: str
    index: int


class AggregateIndex:
    """The index of every replica on an aggregating node. Single writer; readers concurrent."""

    def __init__(self, url: str) -> None:
        self._engine: Engine = sa.create_engine(url)
        self.postgres = self._engine.dialect.name == "postgresql"
        if self._engine.dialect.name == "sqlite":
            sa.event.listen(self._engine, "connect", sqlite_pragmas)
        self.search = Search(self._engine)
        # Lookups by row key only: by reference a record's number names one in every office.
        self._lookups = Lookups(self._engine)
        self._lock = threading.Lock()
        self._offices: dict[int, str] = {}  # origin number -> origin, for `locate`
        self._tokens: set[tuple[str, str, str]] = set()  # name_tokens rows known written
        self.watches = WatchBook(self._engine, now_ms)
        try:
            self._create()
        except sa.exc.SQLAlchemyError as exc:
            self._engine.dispose()
            raise StoreError(f"cannot open the aggregate index at {url!r}: {exc}") from exc

    @property
    def engine(self) -> Engine:
        """For read-only queries (statistics, reports)."""
        return self._engine

    def close(self) -> None:
        self._engine.dispose()

    # -- tables ----------------------------------------------------------------------------------

    def _create(self) -> None:
        # The bookkeeping cannot be made again (the offices' numbers key every row): it moves
        # by migration (node/index/migrations); the derived tables are simply made.
        with self._engine.begin() as conn:
            migrations.upgrade(conn, "aggregate", legacy_tables=("agg_states", "agg_origins"))
        if self._older_shape():
            # Rows of another shape of the station's tables (core.SCHEMA_VERSION): projected
            # again from the replicas, as a station's own index is from its ledger.
            agg.derived.drop_all(self._engine)
            with self._engine.begin() as conn:
                conn.execute(agg.agg_origins.update().values(indexed_size=0))
        agg.derived.create_all(self._engine)
        with self._engine.begin() as conn:
            present = {r[0] for r in conn.execute(sa.select(core.index_meta.c.key))}
            # Name ids run across every office (each office's sizes are in the bookkeeping).
            if "next_name_id" not in present:
                conn.execute(core.index_meta.insert().values(key="next_name_id", value=1))
            if "schema" not in present:
                conn.execute(
                    core.index_meta.insert().values(key="schema", value=core.SCHEMA_VERSION)
                )
            for state_no in conn.execute(sa.select(agg.agg_states.c.state_no)).scalars():
                self._create_partitions(conn, int(state_no))

    def _older_shape(self) -> bool:
        """Whether the derived tables hold rows of another `core.SCHEMA_VERSION` (rows written
        before the aggregate recorded its shape have none: they are of shape 4)."""
        if not sa.inspect(self._engine).has_table(core.index_meta.name):
            return False
        with self._engine.connect() as conn:
            stored = conn.execute(
                sa.select(core.index_meta.c.value).where(core.index_meta.c.key == "schema")
            ).scalar()
            indexed = conn.execute(
                sa.select(sa.func.count())
                .select_from(agg.agg_origins)
                .where(agg.agg_origins.c.indexed_size > 0)
            ).scalar()
        return bool(indexed) and (4 if stored is None else int(stored)) != core.SCHEMA_VERSION

    def _create_partitions(self, conn: Connection, state_no: int) -> None:
        if not self.postgres:
            return
        low, high = keys.state_range(state_no)
        for table in agg.PARTITIONED:
            conn.execute(sa.text(agg.state_partition_ddl(table, state_no, low, high)))

    def rebuild(self) -> None:
        """Drops every derived row (the bookkeeping's numbers stay, so keys do not change) and
        sets every office's indexed size to 0: the next `catch_up` projects the replicas again."""
        with self._lock:
            agg.derived.drop_all(self._engine)
            self.search.reset()
            self._tokens.clear()
            with self._engine.begin() as conn:
                conn.execute(agg.agg_origins.update().values(indexed_size=0))
            self._create()

    def drop_state(self, state: str) -> int:
        """Removes one state's rows (its partitions on PostgreSQL) and forgets what of its
        offices was indexed; returns how many offices it had. The bookkeeping keeps their
        numbers, so a later ingest gives the same keys."""
        with self._lock, self._engine.begin() as conn:
            state_no = conn.execute(
                sa.select(agg.agg_states.c.state_no).where(agg.agg_states.c.state == state)
            ).scalar()
            if state_no is None:
                raise InputError(f"no state {state!r} in this index")
            low, high = keys.state_range(int(state_no))
            pn = core.person_names
            names = sa.select(pn.c.name_id).where(
                pn.c.ledger_index >= low, pn.c.ledger_index < high
            )
            conn.execute(core.name_keys.delete().where(core.name_keys.c.name_id.in_(names)))
            conn.execute(pn.delete().where(pn.c.ledger_index >= low, pn.c.ledger_index < high))
            for table in reversed(agg.PARTITIONED):
                if self.postgres:
                    conn.execute(
                        sa.text(f'DROP TABLE "{agg.partition_name(table, int(state_no))}"')
                    )
                else:
                    column = table.c.ledger_index
                    conn.execute(table.delete().where(column >= low, column < high))
            self._create_partitions(conn, int(state_no))
            done = conn.execute(
                agg.agg_origins.update()
                .where(agg.agg_origins.c.state == state)
                .values(indexed_size=0)
            )
            return int(done.rowcount)

    # -- offices ---------------------------------------------------------------------------------

    def office(self, origin: str) -> Office:
        """The office of `origin`, numbered (and its state too) when first met."""
        if not ORIGIN.match(origin):
            raise InputError(f"{origin!r} is not an origin")
        with self._lock, self._engine.begin() as conn:
            return self._office(conn, origin)

    def _office(self, conn: Connection, origin: str) -> Office:
        o = agg.agg_origins
        row = conn.execute(sa.select(o).where(o.c.origin == origin)).first()
        if row is None:
            state = keys.state_of_node(origin.split("/", 1)[1])
            s = agg.agg_states
            state_no = conn.execute(sa.select(s.c.state_no).where(s.c.state == state)).scalar()
            if state_no is None:
                state_no = int(conn.execute(sa.select(sa.func.max(s.c.state_no))).scalar() or 0) + 1
                if state_no > keys.MAX_STATES:
                    raise StoreError(
                        f"the index holds {keys.MAX_STATES} states: no room for {state}"
                    )
                conn.execute(s.insert().values(state=state, state_no=state_no))
                self._create_partitions(conn, state_no)
            low = keys.origin_number(int(state_no), 0)
            high = low + keys.MAX_OFFICES
            last = conn.execute(
                sa.select(sa.func.max(o.c.origin_no)).where(
                    o.c.origin_no >= low, o.c.origin_no < high
                )
            ).scalar()
            origin_no = low if last is None else int(last) + 1
            if origin_no >= high:
                raise StoreError(f"state {state} has {keys.MAX_OFFICES} offices: no room")
            conn.execute(
                o.insert().values(
                    origin=origin,
                    origin_no=origin_no,
                    state=state,
                    indexed_size=0,
                    registered_at_ms=now_ms(),
                )
            )
            row = conn.execute(sa.select(o).where(o.c.origin == origin)).one()
            self._recredit(conn, origin, origin_no)
        office = Office.of_row(row)
        self._offices[office.origin_no] = office.origin
        return office

    def _recredit(self, conn: Connection, origin: str, origin_no: int) -> None:
        """Credits to the office `origin`, first met now, the outcomes of its cases that units
        took over and that were ingested before it (left under the units' keys by
        `_credited`): the result does not depend on which log was ingested first."""
        host, node_id = origin.split("/", 1)
        co = agg.case_outcomes
        escaped = node_id.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        waiting = conn.execute(
            sa.select(co.c.ledger_index, co.c.origin_no, co.c.fir_number).where(
                co.c.fir_number.like(f"% of {escaped}", escape="\\")
            )
        ).all()
        o = agg.agg_origins
        for ledger_index, unit_no, key in waiting:
            parsed = parse_case_key(str(key))
            unit = conn.execute(sa.select(o.c.origin).where(o.c.origin_no == unit_no)).scalar()
            if parsed is None or parsed[1] != node_id or str(unit).split("/", 1)[0] != host:
                continue
            conn.execute(
                co.update()
                .where(co.c.ledger_index == ledger_index)
                .values(origin_no=origin_no, fir_number=parsed[0])
            )

    def _credited(self, conn: Connection, origin: str, outcome: tuple[Any, ...]) -> tuple[Any, ...]:
        """An outcome of a case a unit took over (its `fir_number` the case's key, "FIR No.
        12/2026 of kerala/.../ps-x": node/records/case_transfer.py) is credited to the FIR it
        investigates: the registering office's number and the FIR's own number, so that the
        statistics count the unit's final report against the one FIR (the unit registers
        none). Left under the unit's key when this index holds no office of that node id on
        the unit's host (its outcome then joins no FIR here)."""
        parsed = parse_case_key(str(outcome[2]))
        if parsed is None:
            return outcome
        number, node_id = parsed
        o = agg.agg_origins
        sender = f"{origin.split('/', 1)[0]}/{node_id}"
        found = conn.execute(sa.select(o.c.origin_no).where(o.c.origin == sender)).scalar()
        if found is None:
            return outcome
        return (outcome[0], int(found), number, *outcome[3:])

    def _offices_of(self, conn: Connection, origins: list[str]) -> dict[str, Office]:
        """The offices of `origins` (one query for those met before; the others numbered)."""
        o = agg.agg_origins
        found = {
            str(r.origin): Office.of_row(r)
            for r in conn.execute(sa.select(o).where(o.c.origin.in_(origins)))
        }
        for origin in origins:
            if origin not in found:
                found[origin] = self._office(conn, origin)
        for office in found.values():
            self._offices[office.origin_no] = office.origin
        return found

    def offices(self) -> list[Office]:
        """Every office the index has met, by number."""
        o = agg.agg_origins
        with self._engine.connect() as conn:
            rows = conn.execute(sa.select(o).order_by(o.c.origin_no)).all()
        return [Office.of_row(r) for r in rows]

    def indexed_size(self, origin: str) -> int:
        """How many of `origin`'s entries are indexed (0 for an office not met yet)."""
        o = agg.agg_origins
        with self._engine.connect() as conn:
            size = conn.execute(sa.select(o.c.indexed_size).where(o.c.origin == origin)).scalar()
        return int(size or 0)

    def locate(self, row_key: int) -> Located:
        """The office and ledger index of a row's key."""
        origin_no, index = keys.split(row_key)
        origin = self._offices.get(origin_no)
        if origin is None:
            o = agg.agg_origins
            with self._engine.connect() as conn:
                found = conn.execute(
                    sa.select(o.c.origin).where(o.c.origin_no == origin_no)
                ).scalar()
            if found is None:
                raise StoreError(f"key {row_key} names no office of this index")
            origin = self._offices[origin_no] = str(found)
        return Located(origin, index)

    # -- ingest ----------------------------------------------------------------------------------

    def apply(self, entries: Mapping[str, Sequence[IndexedEntry]]) -> int:
        """Projects each origin's entries (continuing from its indexed size; those below it are
        skipped, a gap raises StoreError), all in ONE transaction; returns entries applied."""
        applied = 0
        with self._lock:
            try:
                with self._engine.begin() as conn:
                    # One batch for every office of the transaction (one COPY per table): rows
                    # of different offices never meet; `base` says whose entries cite whose.
                    batch = Batch(next_name_id=core.read_meta(conn, "next_name_id"))
                    outcomes: list[tuple[Any, ...]] = []
                    wanted: list[tuple[Any, ...]] = []  # wanted_events rows, and ends to check
                    sizes: dict[str, int] = {}
                    offices = self._offices_of(conn, list(entries))
                    for origin, part in entries.items():
                        office = offices[origin]
                        batch.base = office.base
                        expected = office.indexed_size
                        for entry in part:
                            if entry.index < expected:
                                continue
                            if entry.index != expected:
                                raise StoreError(
                                    f"{origin}: index gap: expected entry {expected}, "
                                    f"got {entry.index}"
                                )
                            row_key = keys.key(office.origin_no, entry.index)
                            projecting.project(conn, batch, row_key, entry.body)
                            outcome = _outcome(office.origin_no, row_key, entry.body)
                            if outcome is not None:
                                outcomes.append(self._credited(conn, origin, outcome))
                            wanted += _wanted_rows(office.origin_no, row_key, entry.body)
                            history.project(conn, row_key, entry.body, base=office.base)
                            similar.project(conn, row_key, entry.body, base=office.base)
                            person_links.project(conn, row_key, entry.body, base=office.base)
                            expected += 1
                        if expected != office.indexed_size:
                            sizes[origin] = expected
                            applied += expected - office.indexed_size
                    if not sizes:
                        return 0
                    batch.flush(conn)
                    # The vocabulary of name tokens is shared by every office and grows
                    # slowly: only tokens this index has not written before are inserted.
                    fresh = batch.tokens - self._tokens
                    batch.tokens = set(fresh)
                    batch.flush_tokens(conn)
                    if outcomes:
                        projecting.insert_rows(conn, agg.case_outcomes, outcomes)
                    if wanted:
                        _project_wanted(conn, wanted)
                    # Watch lists: every new record matched once, in this same transaction.
                    ranges = []
                    for origin, size in sizes.items():
                        office = offices[origin]
                        first = keys.key(office.origin_no, office.indexed_size)
                        ranges.append((origin, first, keys.key(office.origin_no, size)))
                    self.watches.match(conn, ranges)
                    o = agg.agg_origins
                    now = now_ms()
                    for origin, size in sizes.items():
                        conn.execute(
                            o.update()
                            .where(o.c.origin == origin)
                            .values(indexed_size=size, indexed_at_ms=now)
                        )
                    core.set_meta(conn, "next_name_id", batch.next_name_id)
                self._tokens |= fresh  # written: the transaction committed
            except sa.exc.SQLAlchemyError as exc:
                raise StoreError(f"aggregate index update failed: {exc}") from exc
        return applied

    def catch_up(
        self,
        logs: Iterable[tuple[str, int, Callable[[int, int], Iterable[bytes]]]],
        *,
        batch_entries: int = INGEST_BATCH,
        progress: Callable[[int], None] | None = None,
    ) -> int:
        """Indexes each log up to its verified size. `logs` gives (origin, verified size,
        leaves(start, end)); offices with few new entries share a transaction, a long log is
        split into transactions of about `batch_entries`. Returns entries applied."""
        total = 0
        pending: dict[str, list[IndexedEntry]] = {}
        count = 0
        for origin, size, leaves in logs:
            start = self.office(origin).indexed_size
            while start < size:
                end = min(size, start + batch_entries - count)
                part = pending.setdefault(origin, [])
                part.extend(
                    IndexedEntry(position, parse_leaf(leaf).decode_body())
                    for position, leaf in enumerate(leaves(start, end), start)
                )
                count += end - start
                start = end
                if count >= batch_entries:
                    done = self.apply(pending)
                    total += done
                    if progress is not None:
                        progress(done)
                    pending, count = {}, 0
        if pending:
            done = self.apply(pending)
            total += done
            if progress is not None:
                progress(done)
        return total

    # -- reading ---------------------------------------------------------------------------------

    def persons(
        self,
        text: str,
        *,
        age_min: int | None = None,
        age_max: int | None = None,
        limit: int = 50,
    ) -> list[tuple[Located, PersonHit]]:
        """Persons by name across every office, each hit with its office and entry."""
        hits = self.search.persons(text, age_min=age_min, age_max=age_max, limit=limit)
        return [(self.locate(hit.ledger_index), hit) for hit in hits]

    def records_by_ref(self, ref: str, *, limit: int = 200) -> list[Located]:
        """The records called `ref` ("FIR No. 12/2026", "PET/2026/000123"; a bare "12/2026"
        means an FIR) in every office, in key order: one per office that has it."""
        key = core.ref_key(ref)
        if not key:
            return []
        r, f = core.records, core.firs
        stmt = sa.select(r.c.ledger_index).where(r.c.ref_key == key)
        if re.fullmatch(r"\s*[0-9]{1,9}\s*/\s*[0-9]{4}\s*", ref):
            serial, year = core.serial_year(ref, year_first=False)
            bare = sa.select(f.c.ledger_index).where(f.c.year == year, f.c.serial == serial)
            stmt = sa.union(stmt, bare).subquery().select()
        with self._engine.connect() as conn:
            found = conn.execute(stmt.order_by(sa.text("1")).limit(limit)).scalars().all()
        return [self.locate(int(k)) for k in found]

    def record_history(self, origin: str, ref: str) -> list[int]:
        """The record `ref` of the office `origin` (its ledger index), then each amendment's,
        in ledger order: what a fetch of a replica's record returns; [] when not indexed."""
        held = [found for found in self.records_by_ref(ref) if found.origin == origin]
        if not held:
            return []
        key = self.key_of(held[0])
        a = core.amendments
        with self._engine.connect() as conn:
            stmt = sa.select(a.c.ledger_index).where(a.c.target_index == key)
            rows = conn.execute(stmt.order_by(a.c.ledger_index)).scalars()
            return [held[0].index, *(self.locate(int(r)).index for r in rows)]

    def fir_at(self, located: Located) -> FirView | None:
        """The FIR at an office's entry, as the office's own index shows it."""
        return self._lookups.fir_at(self.key_of(located))

    def key_of(self, located: Located) -> int:
        o = agg.agg_origins
        with self._engine.connect() as conn:
            found = conn.execute(
                sa.select(o.c.origin_no).where(o.c.origin == located.origin)
            ).scalar()
        if found is None:
            raise StoreError(f"{located.origin} is not in this index")
        return keys.key(int(found), located.index)

    def firs_by_office(self, *, crime_only: bool = True) -> list[tuple[str, int]]:
        """Crime FIRs numbered at each office (every office met, 0 included), by origin."""
        f = agg.firs
        office = agg.high_bits(f.c.ledger_index, keys.OFFICE_SHIFT)
        heads = sorted(Statutes.default().non_crime_heads())
        stmt = sa.select(office, sa.func.count()).where(f.c.serial > 0).group_by(office)
        if crime_only:
            stmt = stmt.where(sa.or_(f.c.crime_head.is_(None), f.c.crime_head.not_in(heads)))
        with self._engine.connect() as conn:
            counts = {int(n): int(c) for n, c in conn.execute(stmt)}
        return [(o.origin, counts.get(o.origin_no, 0)) for o in self.offices()]

    def snapshot(self) -> list[tuple[str, list[tuple[Any, ...]]]]:
        """Every derived table's rows in key order, for comparing a rebuild with the original."""
        out: list[tuple[str, list[tuple[Any, ...]]]] = []
        with self._engine.connect() as conn:
            for table in agg.derived.sorted_tables:
                stmt = sa.select(table).order_by(*table.primary_key.columns)
                out.append((table.name, [tuple(r) for r in conn.execute(stmt)]))
        return out


def _outcome(origin_no: int, row_key: int, body: ledger_pb2.EntryBody) -> tuple[Any, ...] | None:
    """The `case_outcomes` row of a final report or a court's progress, or None."""
    if body.WhichOneof("record") != "case_event":
        return None
    event = body.case_event
    if event.kind not in _OUTCOME_KINDS:
        return None
    return (
        row_key,
        origin_no,
        event.fir_number,
        event.kind,
        event.at_ms,
        event.report_type,
        event.outcome,
    )


def _wanted_rows(origin_no: int, row_key: int, body: ledger_pb2.EntryBody) -> list[tuple[Any, ...]]:
    """The `wanted_events` rows of a `wanted` event (one per accused), and the candidate ends
    of an arrest or a withdrawal (kind "ended", kept only if the accused was wanted)."""
    if body.WhichOneof("record") != "case_event":
        return []
    event = body.case_event
    if event.kind == "wanted":
        kind = "wanted"
    elif event.kind in WANTED_ENDED_BY:
        kind = "ended"
    else:
        return []
    at = event.at_ms or body.written_at_ms
    return [
        (row_key, seq, origin_no, event.fir_number, p.accused_code, kind, at, p.person.name,
         p.person.relation, p.person.relative_name)
        for seq, p in enumerate(event.persons)
        if p.accused_code
    ]  # fmt: skip


def _project_wanted(conn: Connection, rows: list[tuple[Any, ...]]) -> None:
    """Inserts the wanted rows, then the ends of those an earlier row declared wanted (in this
    transaction or before): an arrest that ends no wanted status is not kept."""
    declared = [r for r in rows if r[5] == "wanted"]
    if declared:
        projecting.insert_rows(conn, agg.wanted_events, declared)
    ends = [r for r in rows if r[5] == "ended"]
    if not ends:
        return
    t = agg.wanted_events
    first: dict[tuple[int, str, str], int] = {}  # (origin, FIR, accused) -> first wanted key
    numbers = sorted({str(r[3]) for r in ends})
    for origin_no in sorted({int(r[2]) for r in ends}):
        low, high = keys.office_range(origin_no)
        for start in range(0, len(numbers), 1000):
            stmt = (
                sa.select(t.c.fir_number, t.c.accused_code, sa.func.min(t.c.ledger_index))
                .where(
                    t.c.ledger_index >= low,
                    t.c.ledger_index < high,
                    t.c.kind == "wanted",
                    t.c.fir_number.in_(numbers[start : start + 1000]),
                )
                .group_by(t.c.fir_number, t.c.accused_code)
            )
            for number, code, key in conn.execute(stmt):
                first[(origin_no, str(number), str(code))] = int(key)
    kept = [r for r in ends if first.get((int(r[2]), str(r[3]), str(r[4])), r[0]) < r[0]]
    if kept:
        projecting.insert_rows(conn, agg.wanted_events, kept)


__all__ = ["INGEST_BATCH", "AggregateIndex", "Located", "Office"]
