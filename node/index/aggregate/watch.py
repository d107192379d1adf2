"""Watch lists held by an aggregating node for the offices below it (docs/watch.md).

An officer anywhere watches a person (by name, spelling variants alike), a vehicle (by
registration, engine or chassis number), a property item (by an identifier: IMEI, serial) or a
phone number. The officer's node hands the watch to the office above (federation `Watch`), which
passes it further up; every aggregating office holding it matches each record it indexes from
its replicas against it, **in the same transaction as the rows** (so a record is matched exactly
once, however the ingest is cut or resumed), and keeps the record found until the watcher's
node has it (`pending`, `delivered`; federation `Alert`, node/runtime.py).

Standing watch lists come from the records themselves: a vehicle reported stolen is watched for
the office that reported it, and so is a person reported missing, and an accused its case
holds wanted (a `wanted` case event: proclaimed absconding, a warrant pending, a lookout); when
one turns up in a record of another office, that office is told. A wanted person's watch ends
when their case records the arrest of that accused or withdraws the notice (`wanted_events`,
kind "ended"), in the transaction that indexes that event.

Only the node's own bookkeeping database is written here (tables `watches`, `watch_hits`:
node/index/migrations/aggregate 0003); the derived tables are read, never changed.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as postgresql_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.engine import Connection, Engine

from ledger.errors import InputError
from node.index import schema as core
from node.index.aggregate import keys
from node.index.aggregate import schema as agg
from node.records import names
from node.records.validation import identifier_key, registration_key

KINDS = ("person", "vehicle", "property", "phone")
STOLEN_PREFIX = "stolen:"  # standing watches: a vehicle reported stolen
MISSING_PREFIX = "missing:"  # a person reported missing
MISSING_HEAD = "Missing persons"
WANTED_PREFIX = "wanted:"  # an accused declared wanted in a case
# The kind watched by each standing list, by the prefix of its watch ids (officers' watch ids
# are "w" and hex digits: node/station/watchlist.py).
STANDING_KINDS = {STOLEN_PREFIX: "vehicle", MISSING_PREFIX: "person", WANTED_PREFIX: "person"}
_NOT_DIGIT = re.compile(r"[^0-9]")
_RELATION = re.compile(r"^(.*?)\s+([SDWCH]/o)\s+(.+)$", re.IGNORECASE)
_WITH_RELATIVE = "|"
_MIN_IDENTIFIER = 6  # a property identifier shorter than this would match too much


@dataclass(frozen=True, slots=True)
class Hit:
    """A record found for a watch, waiting for (or delivered to) the watcher's node."""

    watcher: str
    watch_id: str
    officer_id: str
    kind: str
    value: str
    origin: str
    index: int
    ref: str
    detail: str
    found_ms: int


def standing_kind(watch_id: str) -> str:
    """The kind a standing watch (made from the records, not by an officer) watches, by its
    id; "" for an officer's watch."""
    for prefix, kind in STANDING_KINDS.items():
        if watch_id.startswith(prefix):
            return kind
    return ""


def match_key(kind: str, value: str) -> str:
    """What a watch is compared by: a person's name variants (every main token's spelling key),
    a vehicle's registration key (or the identifier key of an engine or chassis number), a
    property identifier's letters and digits, a phone's last ten digits."""
    text = value.strip()
    if kind == "person":
        # "Ramesh K S/o Krishnan": the person and the relative must both match.
        relation = _RELATION.match(text)
        own, relative = (relation[1], relation[3]) if relation else (text, "")
        variants = " ".join(names.analyse(own).variants)
        if not variants:
            raise InputError(f"{value!r} holds no name to watch")
        if relative:
            of_relative = " ".join(names.analyse(relative).variants)
            if of_relative:
                return f"{variants}{_WITH_RELATIVE}{of_relative}"
        return variants
    if kind == "vehicle":
        return registration_key(text)
    if kind == "property":
        key = identifier_key(text)
        if len(key) < _MIN_IDENTIFIER:
            raise InputError(f"a property identifier to watch has {_MIN_IDENTIFIER} characters")
        return key
    if kind == "phone":
        digits = _NOT_DIGIT.sub("", text)[-10:]
        if len(digits) < 10:
            raise InputError(f"{value!r} is no phone number (ten digits)")
        return digits
    raise InputError(f"watch kind {kind!r} is not one of {', '.join(KINDS)}")


def _insert(conn: Connection, table: sa.Table) -> Any:
    """An INSERT that leaves a row already there alone (a record matched twice, a watch handed
    up again)."""
    name = conn.dialect.name
    if name == "postgresql":
        return postgresql_dialect.insert(table).on_conflict_do_nothing()
    if name == "sqlite":
        return sqlite_dialect.insert(table).on_conflict_do_nothing()
    raise InputError(f"watch lists need SQLite or PostgreSQL, not {name}")


class WatchBook:
    """The watches an aggregating node holds and the records it found for them."""

    def __init__(self, engine: Engine, clock: Any) -> None:
        self._engine = engine
        self._clock = clock

    # -- holding -----------------------------------------------------------------------------

    def hold(self, items: Iterable[tuple[str, str, str, str, str, bool]]) -> int:
        """Keeps each (watcher, watch_id, officer_id, kind, value, cancelled): a new watch, a
        change, or its withdrawal. Returns how many are held (not withdrawn) of them."""
        held = 0
        w = agg.watches
        now = self._clock()
        with self._engine.begin() as conn:
            for watcher, watch_id, officer_id, kind, value, cancelled in items:
                key = match_key(kind, value)
                values = {
                    "officer_id": officer_id,
                    "kind": kind,
                    "value": value.strip(),
                    "match_key": key,
                    "cancelled": cancelled,
                    "updated_ms": now,
                }
                done = conn.execute(
                    w.update()
                    .where(w.c.watcher == watcher, w.c.watch_id == watch_id)
                    .values(**values)
                )
                if not done.rowcount:
                    conn.execute(
                        w.insert().values(
                            watcher=watcher, watch_id=watch_id, source_key=0, **values
                        )
                    )
                held += not cancelled
        return held

    def held(self, *, updated_since: int = 0) -> list[tuple[str, str, str, str, str, bool]]:
        """The watches held (withdrawn ones too) changed since `updated_since`, to hand up."""
        w = agg.watches
        stmt = (
            sa.select(w.c.watcher, w.c.watch_id, w.c.officer_id, w.c.kind, w.c.value, w.c.cancelled)
            .where(w.c.updated_ms >= updated_since, w.c.source_key == 0)
            .order_by(w.c.watcher, w.c.watch_id)
        )
        with self._engine.connect() as conn:
            return [
                (str(a), str(b), str(c), str(d), str(e), bool(f))
                for a, b, c, d, e, f in conn.execute(stmt)
            ]

    # -- matching, inside an ingest's transaction -----------------------------------------------

    def match(self, conn: Connection, ranges: Sequence[tuple[str, int, int]]) -> int:
        """Records of the new rows (`ranges`: origin, first and end aggregate key) that match a
        watch, kept as hits; standing watches made from the new rows first. Returns hits."""
        if not ranges:
            return 0
        self._standing(conn, ranges)
        w = agg.watches
        running = w.c.cancelled.is_(False)
        kinds = {
            kind
            for kind in KINDS
            if conn.execute(sa.select(w.c.kind).where(running, w.c.kind == kind).limit(1)).first()
        }
        if not kinds:
            return 0
        # Property identifiers match by containment: their (few, officers') watches are read
        # whole; every other kind is looked up by the keys the new rows carry, never read whole
        # (the standing watches of a state number in the tens of thousands).
        property_keys = (
            [
                str(key)
                for key in conn.execute(
                    sa.select(w.c.match_key).where(running, w.c.kind == "property")
                ).scalars()
            ]
            if "property" in kinds
            else []
        )
        found: list[tuple[int, str, str, str]] = []  # (row key, kind, key, what matched)
        for low, high in ((r[1], r[2]) for r in ranges):
            found += self._candidates(conn, low, high, kinds, property_keys)
        book = self._watches_for(conn, {(kind, key) for _, kind, key, _ in found})
        found = [hit for hit in found if (hit[1], hit[2]) in book]
        rows = []
        now = self._clock()
        refs = self._refs(conn, {key for key, _, _, _ in found})
        origins: dict[int, str] = {}
        for row_key, kind, key, what in found:
            origin_no, index = keys.split(row_key)
            if origin_no not in origins:
                origins[origin_no] = self._origin(conn, origin_no)
            origin = origins[origin_no]
            own = origin.split("/", 1)[-1]
            for watcher, watch_id, source in book[(kind, key)]:
                if source and (source == row_key or watcher == own):
                    continue  # a standing watch is news only from other offices' records
                rows.append(
                    {
                        "watcher": watcher,
                        "watch_id": watch_id,
                        "row_key": row_key,
                        "origin": origin,
                        "idx": index,
                        "ref": refs.get(row_key, ""),
                        "detail": what,
                        "found_ms": now,
                        "delivered_ms": 0,
                    }
                )
        if rows:
            conn.execute(_insert(conn, agg.watch_hits), rows)
        return len(rows)

    def _candidates(
        self, conn: Connection, low: int, high: int, kinds: set[str], property_keys: list[str]
    ) -> list[tuple[int, str, str, str]]:
        """What the rows keyed low..high-1 could match: (row key, kind, key, what), for the
        kinds of watch held."""
        found: list[tuple[int, str, str, str]] = []
        v = core.vehicles
        if "vehicle" in kinds:
            stmt = sa.select(
                v.c.ledger_index, v.c.registration, v.c.reg_key, v.c.engine_key, v.c.chassis_key
            ).where(v.c.ledger_index >= low, v.c.ledger_index < high)
            for row_key, registration, *idents in conn.execute(stmt):
                for label, key in zip(("registration", "engine", "chassis"), idents, strict=True):
                    if key:
                        found.append(
                            (int(row_key), "vehicle", str(key), f"vehicle {registration} ({label})")
                        )
        pn = core.person_names
        if "person" in kinds:
            by_name = sa.select(
                pn.c.ledger_index, pn.c.person_seq, pn.c.kind, pn.c.name, pn.c.variants
            ).where(
                pn.c.ledger_index >= low,
                pn.c.ledger_index < high,
                pn.c.superseded.is_(False),
            )
            rows = conn.execute(by_name).all()
            relatives = {
                (int(r.ledger_index), int(r.person_seq)): str(r.variants)
                for r in rows
                if r.kind == "relative"
            }
            for r in rows:
                if r.kind == "relative":
                    continue
                variants = str(r.variants)
                relative = relatives.get((int(r.ledger_index), int(r.person_seq)))
                keys_of = [variants]
                if relative:
                    keys_of.append(f"{variants}{_WITH_RELATIVE}{relative}")
                for key in keys_of:
                    found.append((int(r.ledger_index), "person", key, f"person {r.name}"))
        p = core.persons
        if "phone" in kinds:
            # A person the law withholds is never found by a watch, as by a search.
            by_phone = sa.select(p.c.ledger_index, p.c.mobile).where(
                p.c.ledger_index >= low,
                p.c.ledger_index < high,
                p.c.mobile != "",
                p.c.withheld.is_(False),
            )
            for row_key, mobile in conn.execute(by_phone):
                digits = _NOT_DIGIT.sub("", str(mobile))[-10:]
                if len(digits) == 10:
                    found.append((int(row_key), "phone", digits, f"phone {mobile}"))
        wanted = property_keys
        if wanted:
            item = core.property_items
            by_item = sa.select(item.c.ledger_index, item.c.description, item.c.ident_key).where(
                item.c.ledger_index >= low, item.c.ledger_index < high, item.c.ident_key != ""
            )
            for row_key, description, ident in conn.execute(by_item):
                ident = str(ident)
                for key in wanted:
                    # "IMEI 3567..." watched, "3567..." written (or the other way round).
                    if key in ident or (len(ident) >= _MIN_IDENTIFIER and ident in key):
                        found.append((int(row_key), "property", key, f"property {description}"))
        return list(dict.fromkeys(found))

    @staticmethod
    def _watches_for(
        conn: Connection, wanted: set[tuple[str, str]]
    ) -> dict[tuple[str, str], list[tuple[str, str, int]]]:
        """The running watches on each (kind, key) of `wanted`: (watcher, watch id, source)."""
        w = agg.watches
        book: dict[tuple[str, str], list[tuple[str, str, int]]] = defaultdict(list)
        by_kind: dict[str, list[str]] = defaultdict(list)
        for kind, key in wanted:
            by_kind[kind].append(key)
        for kind, found_keys in by_kind.items():
            ordered = sorted(found_keys)
            for start in range(0, len(ordered), 1000):
                stmt = sa.select(w.c.watcher, w.c.watch_id, w.c.match_key, w.c.source_key).where(
                    w.c.cancelled.is_(False),
                    w.c.kind == kind,
                    w.c.match_key.in_(ordered[start : start + 1000]),
                )
                for watcher, watch_id, key, source in conn.execute(stmt):
                    book[(kind, str(key))].append((str(watcher), str(watch_id), int(source)))
        return book

    def _standing(self, conn: Connection, ranges: Sequence[tuple[str, int, int]]) -> None:
        """Standing watches from the new rows: each vehicle reported stolen, for its office;
        each person reported missing, and each accused declared wanted, for theirs (and the
        wanted ones ended by an arrest or a withdrawal cancelled)."""
        rows = []
        now = self._clock()
        # The offices whose new rows declare or end a wanted status (one query per 200 offices).
        we = agg.wanted_events
        office_of = agg.high_bits(we.c.ledger_index, keys.OFFICE_SHIFT)
        watchers = {keys.split(low)[0]: origin.split("/", 1)[-1] for origin, low, _ in ranges}
        for start in range(0, len(ranges), 200):
            part = ranges[start : start + 200]
            changed = (
                sa.select(office_of)
                .distinct()
                .where(
                    sa.or_(
                        *(
                            (we.c.ledger_index >= low) & (we.c.ledger_index < high)
                            for _, low, high in part
                        )
                    )
                )
            )
            for origin_no in conn.execute(changed).scalars().all():
                self._wanted(conn, watchers[int(origin_no)], int(origin_no), now)
        v, item = core.vehicles, core.property_items
        p, f = core.persons, core.firs
        for origin, low, high in ranges:
            watcher = origin.split("/", 1)[-1]
            stolen = (
                sa.select(v.c.ledger_index, v.c.property_seq, v.c.registration)
                .join(
                    item,
                    (item.c.ledger_index == v.c.ledger_index) & (item.c.seq == v.c.property_seq),
                )
                .where(
                    v.c.ledger_index >= low,
                    v.c.ledger_index < high,
                    item.c.status == "stolen",
                    v.c.reg_key != "",
                )
            )
            for row_key, seq, registration in conn.execute(stolen):
                rows.append(
                    (watcher, f"{STOLEN_PREFIX}{keys.split(int(row_key))[1]}/{seq}", "vehicle",
                     str(registration), int(row_key))
                )  # fmt: skip
            missing = (
                sa.select(p.c.ledger_index, p.c.seq, p.c.name, p.c.relation, p.c.relative_name)
                .join(f, f.c.ledger_index == p.c.ledger_index)
                .where(
                    p.c.ledger_index >= low,
                    p.c.ledger_index < high,
                    p.c.role == "missing",
                    p.c.name != "",
                    p.c.withheld.is_(False),
                    f.c.crime_head == MISSING_HEAD,
                )
            )
            for row_key, seq, name, relation, relative in conn.execute(missing):
                if not relative:
                    continue  # a name alone names too many people across a state
                link = relation if _RELATION.match(f"x {relation} y") else "C/o"
                value = f"{name} {link} {relative}"
                rows.append(
                    (watcher, f"{MISSING_PREFIX}{keys.split(int(row_key))[1]}/{seq}", "person",
                     value, int(row_key))
                )  # fmt: skip
        if not rows:
            return
        # One standing watch per office and thing: a vehicle reported stolen twice is one.
        w = agg.watches
        # (Wanted persons are their own list: `_wanted` keeps one watch per person there.)
        standing = {
            (str(a), str(b), str(c))
            for a, b, c in conn.execute(
                sa.select(w.c.watcher, w.c.kind, w.c.match_key).where(
                    w.c.source_key != 0,
                    w.c.cancelled.is_(False),
                    w.c.watch_id.not_like(f"{WANTED_PREFIX}%"),
                )
            )
        }
        values = []
        for watcher, watch_id, kind, value, source in rows:
            try:
                key = match_key(kind, value)
            except InputError:
                continue
            if (watcher, kind, key) in standing:
                continue
            standing.add((watcher, kind, key))
            values.append(
                {
                    "watcher": watcher,
                    "watch_id": watch_id,
                    "officer_id": "",
                    "kind": kind,
                    "value": value,
                    "match_key": key,
                    "source_key": source,
                    "cancelled": False,
                    "updated_ms": now,
                }
            )
        if values:
            conn.execute(_insert(conn, agg.watches), values)

    @staticmethod
    def _wanted(conn: Connection, watcher: str, origin_no: int, now: int) -> None:
        """Makes the office's standing watches of wanted persons what its cases say now: one
        watch per person wanted ("Name S/o Relative"; one without a relative's name is not
        watched, as for missing persons), each cancelled once every case wanting that person
        has recorded the arrest or the withdrawal. An office holds few wanted persons, so its
        rows are read whole when any of them changes."""
        we, w = agg.wanted_events, agg.watches
        low, high = keys.office_range(origin_no)
        open_rows: dict[tuple[str, str], Any] = {}  # (FIR, accused code) -> its wanted row
        stmt = (
            sa.select(we)
            .where(we.c.ledger_index >= low, we.c.ledger_index < high)
            .order_by(we.c.ledger_index, we.c.seq)
        )
        for r in conn.execute(stmt):
            if r.kind == "wanted":
                open_rows[(str(r.fir_number), str(r.accused_code))] = r
            else:
                open_rows.pop((str(r.fir_number), str(r.accused_code)), None)
        wanted: dict[str, tuple[str, str, int]] = {}  # match key -> (watch id, value, source)
        for r in open_rows.values():
            if not (r.name and r.relative_name):
                continue  # a name alone names too many people across a state
            link = r.relation if _RELATION.match(f"x {r.relation} y") else "C/o"
            value = f"{r.name} {link} {r.relative_name}"
            try:
                key = match_key("person", value)
            except InputError:
                continue
            watch_id = f"{WANTED_PREFIX}{keys.split(int(r.ledger_index))[1]}/{r.seq}"
            wanted.setdefault(key, (watch_id, value, int(r.ledger_index)))
        running = {
            str(key): str(watch_id)
            for watch_id, key in conn.execute(
                sa.select(w.c.watch_id, w.c.match_key).where(
                    w.c.watcher == watcher,
                    w.c.watch_id.like(f"{WANTED_PREFIX}%"),
                    w.c.cancelled.is_(False),
                )
            )
        }
        ended = [watch_id for key, watch_id in running.items() if key not in wanted]
        if ended:
            conn.execute(
                w.update()
                .where(w.c.watcher == watcher, w.c.watch_id.in_(ended))
                .values(cancelled=True, updated_ms=now)
            )
        for key, (watch_id, value, source) in wanted.items():
            if key in running:
                continue  # watched already (for another case that wants the same person)
            values = {
                "officer_id": "",
                "kind": "person",
                "value": value,
                "match_key": key,
                "source_key": source,
                "cancelled": False,
                "updated_ms": now,
            }
            done = conn.execute(
                w.update().where(w.c.watcher == watcher, w.c.watch_id == watch_id).values(**values)
            )
            if not done.rowcount:
                conn.execute(w.insert().values(watcher=watcher, watch_id=watch_id, **values))

    @staticmethod
    def _refs(conn: Connection, row_keys: set[int]) -> dict[int, str]:
        r = core.records
        out: dict[int, str] = {}
        ordered = sorted(row_keys)
        for start in range(0, len(ordered), 1000):
            part = ordered[start : start + 1000]
            for key, ref in conn.execute(
                sa.select(r.c.ledger_index, r.c.ref).where(r.c.ledger_index.in_(part))
            ):
                out[int(key)] = str(ref or "")
        return out

    @staticmethod
    def _origin(conn: Connection, origin_no: int) -> str:
        o = agg.agg_origins
        found = conn.execute(sa.select(o.c.origin).where(o.c.origin_no == origin_no)).scalar()
        return str(found or "")

    # -- delivering ------------------------------------------------------------------------------

    def pending(self, *, limit: int = 500) -> dict[str, list[Hit]]:
        """Hits not yet delivered, by watcher node, oldest first."""
        h, w = agg.watch_hits, agg.watches
        stmt = (
            sa.select(h, w.c.officer_id, w.c.kind, w.c.value)
            .join(w, (w.c.watcher == h.c.watcher) & (w.c.watch_id == h.c.watch_id))
            .where(h.c.delivered_ms == 0)
            .order_by(h.c.found_ms, h.c.row_key)
            .limit(limit)
        )
        out: dict[str, list[Hit]] = defaultdict(list)
        with self._engine.connect() as conn:
            for r in conn.execute(stmt):
                out[str(r.watcher)].append(
                    Hit(
                        str(r.watcher),
                        str(r.watch_id),
                        str(r.officer_id),
                        str(r.kind),
                        str(r.value),
                        str(r.origin),
                        int(r.idx),
                        str(r.ref),
                        str(r.detail),
                        int(r.found_ms),
                    )
                )
        return dict(out)

    def delivered(self, hits: Sequence[Hit]) -> None:
        """Marks hits delivered to their watcher's node."""
        h = agg.watch_hits
        now = self._clock()
        with self._engine.begin() as conn:
            for hit in hits:
                conn.execute(
                    h.update()
                    .where(
                        h.c.watcher == hit.watcher,
                        h.c.watch_id == hit.watch_id,
                        h.c.origin == hit.origin,
                        h.c.idx == hit.index,
                    )
                    .values(delivered_ms=now)
                )


__all__ = [
    "KINDS",
    "STANDING_KINDS",
    "WANTED_PREFIX",
    "Hit",
    "WatchBook",
    "match_key",
    "standing_kind",
]
