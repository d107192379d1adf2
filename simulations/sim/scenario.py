"""Scenarios: the offices, workload, links and faults a simulation runs, read from compact files.

A scenario file (TOML, in simulations/scenarios/) names states and their districts by counts
("482 stations, 203 circles ...") and `load_scenario` expands them, deterministically, into every
office with its node id, role (one of federation.trust.identity.ROLES), parent, district and
state. Nothing here runs a node: the engine (simulations/sim/engine.py) and the real-process mode
(simulations/sim/realproc.py) read a `Scenario` and do the running.

Every figure that says something about the police (offices, cases per year, entries per day,
officers) names a source from the file's [sources] table, whose `status` says plainly whether the
figure is "verified" against its source, "unverified" (taken from a secondary text or spread
proportionally) or an "assumption"; simulations/scenarios/SOURCES.md says the same in prose.

`scale` keeps a deterministic fraction of the stations (systematic sampling within each state,
at least one per state), every kept station's whole chain of parents up to the national node,
the same fraction (rounded) of the other leaf offices (control rooms, laboratories, bureaux), and
every office a fault names, so a quick run keeps every level of the hierarchy. Workload rates
are per office and do not change with scale (a station is as busy in a small run as in a full
one).

Simulated time is seconds from the scenario's start (its `start`, Indian time); fault times in
files are durations from that start: "90s", "30m", "6h", "2d", "1d6h30m" or plain seconds.
"""

from __future__ import annotations

import math
import random
import re
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import Any

from federation.trust.identity import ROLES, valid_node_id
from ledger.errors import InputError

SCENARIO_DIR = Path(__file__).resolve().parent.parent / "scenarios"
SOURCE_STATUSES = ("verified", "unverified", "assumption")
FAULT_KINDS = (
    "link-down",  # the office's link to its parent is down for `duration`
    "district-cut",  # every link into and out of a district's subtree is down
    "crash",  # the node stops, and restarts after `duration`
    "restore-backup",  # the node is restored from a backup `duration` (backup_age) old
    "equivocate",  # the node shows one log to its parent and a different one to others
    "slow-link",  # the uplink's latency becomes `latency_ms` for `duration`
    "lossy-link",  # the uplink loses a fraction `loss` of messages for `duration`
    "move",  # the office moves to a new address (the directory must say so)
)
_NEEDS_DURATION = frozenset({"link-down", "district-cut", "crash", "slow-link", "lossy-link"})
WORK_KINDS = ("gd", "fir", "petition", "search")
LEAF_ROLES = ("control-room", "forensic-lab", "fingerprint-bureau")
_DURATION = re.compile(
    r"^(?:(\d+(?:\.\d+)?)d)?(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s)?$"
)
_PART = re.compile(r"^[a-z0-9][a-z0-9._-]*$")


# -- what a scenario holds ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Office:
    """One node of the network."""

    node_id: str  # "kerala/thrissur-city/ps-007"
    role: str  # one of ROLES
    parent: str  # the parent's node id; "" for the top of the tree
    district: str  # the district's id part ("thrissur-city"); "" above district level
    state: str  # the state's id ("kerala"); "" for the national node
    name: str  # for people: "Thrissur City police station 7"
    level: int  # depth in the tree: 0 for the top (national node, or the state when alone)

    @property
    def id(self) -> str:
        """The node id (the name the engine's `OfficeLike` reads)."""
        return self.node_id

    def origin(self, host: str = "cctns.in") -> str:
        """The office's log origin ("cctns.in/kerala/scrb")."""
        return f"{host}/{self.node_id}"


@dataclass(frozen=True, slots=True)
class District:
    state: str
    id: str  # "thrissur-city" (unique within its state)
    name: str  # "Thrissur City"
    node_id: str  # the district police office's node id ("kerala/thrissur-city/dpo")
    territorial: bool = True  # False for a unit such as the railway police


@dataclass(frozen=True, slots=True)
class State:
    id: str
    name: str
    node_id: str  # the state node ("kerala/scrb")
    stations: int  # police stations in the full (unscaled) scenario
    cases_per_year: float  # cognizable cases (IPC/BNS + SLL) a year; 0 when not given


@dataclass(frozen=True, slots=True)
class Rates:
    """What one office does in a simulated day (before the daily rhythm spreads it)."""

    gd_entries: float
    firs: float
    petitions: float
    officers: int
    searches_per_officer: float

    @property
    def searches(self) -> float:
        return self.officers * self.searches_per_officer

    def per_day(self, kind: str) -> float:
        """The day's rate of one of WORK_KINDS."""
        return {
            "gd": self.gd_entries,
            "fir": self.firs,
            "petition": self.petitions,
            "search": self.searches,
        }[kind]


NO_WORK = Rates(0.0, 0.0, 0.0, 0, 0.0)


@dataclass(frozen=True, slots=True)
class LinkProfile:
    """A link as the simulator models it; one-way figures."""

    latency_ms: float
    jitter_ms: float
    loss: float  # probability that one message is lost
    bandwidth_kbps: float
    source: str


@dataclass(frozen=True, slots=True)
class Fault:
    kind: str  # one of FAULT_KINDS
    start: float  # simulated seconds from the scenario's start
    duration: float  # seconds; restore-backup: the backup's age; 0 for equivocate and move
    target: str  # a node id (district-cut: the district police office's)
    other: str = ""  # link-down: the far end (default: the target's parent)
    params: Mapping[str, float | str] = field(default_factory=dict)

    @property
    def end(self) -> float:
        return self.start + self.duration

    @property
    def at(self) -> float:
        return self.start

    @property
    def latency(self) -> float:
        """slow-link: the link's one-way latency in seconds during the fault."""
        return float(self.params.get("latency_ms", 0.0)) / 1000.0

    @property
    def loss(self) -> float:
        """lossy-link: the fraction of messages lost during the fault."""
        return float(self.params.get("loss", 0.0))


@dataclass(frozen=True, slots=True)
class Source:
    key: str
    title: str
    status: str  # one of SOURCE_STATUSES
    edition: str = ""
    table: str = ""
    url: str = ""
    note: str = ""


@dataclass(frozen=True, slots=True)
class Arrival:
    """One piece of work arriving at an office: `kind` is one of WORK_KINDS."""

    time: float
    node_id: str
    kind: str


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    seed: int
    scale: float
    days: float  # the default simulated span
    start: datetime  # simulated time 0 (aware, Indian time)
    host: str  # origins are f"{host}/{node_id}"
    offices: tuple[Office, ...]  # parents before children, in a fixed order
    levels: tuple[str, ...]  # roles from the top to the station ("national", ..., "station")
    states: tuple[State, ...]
    districts: tuple[District, ...]
    hour_weights: tuple[float, ...]  # 24 shares of a day's work, summing to 1 (hour 0 = 00:00)
    links: Mapping[str, LinkProfile]  # by the child's role (its uplink), "peer", "default"
    faults: tuple[Fault, ...]
    sources: Mapping[str, Source]
    figure_sources: Mapping[str, str]  # figure name -> source key ("stations", "firs", ...)
    _rates: Mapping[str, Rates] = field(repr=False)
    _by_id: dict[str, Office] = field(init=False, repr=False, compare=False)
    _children: dict[str, list[Office]] = field(init=False, repr=False, compare=False)

    @property
    def police_districts(self) -> tuple[District, ...]:
        """The territorial districts (Kerala's 19), without units such as the railway police."""
        return tuple(d for d in self.districts if d.territorial)

    def __post_init__(self) -> None:
        by_id = {o.node_id: o for o in self.offices}
        children: dict[str, list[Office]] = {}
        for office in self.offices:
            children.setdefault(office.parent, []).append(office)
        object.__setattr__(self, "_by_id", by_id)
        object.__setattr__(self, "_children", children)

    # offices
    def office(self, node_id: str) -> Office:
        """The office with this node id; InputError naming it when there is none."""
        try:
            return self._by_id[node_id]
        except KeyError:
            raise InputError(f"scenario {self.name!r} has no office {node_id!r}") from None

    def __contains__(self, node_id: object) -> bool:
        return node_id in self._by_id

    @property
    def root(self) -> Office:
        return self.offices[0]

    def children(self, node_id: str) -> tuple[Office, ...]:
        return tuple(self._children.get(node_id, ()))

    def subtree(self, node_id: str) -> tuple[Office, ...]:
        """The office and everything under it, parents first."""
        out = [self.office(node_id)]
        for office in out:  # grows while iterating: a breadth-first walk
            out.extend(self._children.get(office.node_id, ()))
        return tuple(out)

    def ancestors(self, node_id: str) -> tuple[Office, ...]:
        """The chain of parents from the office's parent up to the top."""
        chain: list[Office] = []
        parent = self.office(node_id).parent
        while parent:
            chain.append(self._by_id[parent])
            parent = chain[-1].parent
        return tuple(chain)

    def subtree_scenario(self, node_id: str) -> Scenario:
        """The part of the scenario under `node_id` (a state node, say) as a scenario of its
        own: that office at the top, the faults that name only offices inside it."""
        top = self.office(node_id)
        inside = self.subtree(node_id)
        ids = {o.node_id for o in inside}
        shift = top.level
        offices = tuple(
            replace(o, parent="" if o.node_id == node_id else o.parent, level=o.level - shift)
            for o in self.offices
            if o.node_id in ids
        )
        return replace(
            self,
            offices=offices,
            levels=self.levels[self.levels.index(top.role) :],
            states=tuple(s for s in self.states if s.node_id in ids or s.id == top.state),
            districts=tuple(d for d in self.districts if d.node_id in ids),
            faults=tuple(
                f for f in self.faults if f.target in ids and (not f.other or f.other in ids)
            ),
            _rates={k: v for k, v in self._rates.items() if k in ids},
        )

    def by_role(self, role: str) -> tuple[Office, ...]:
        return tuple(o for o in self.offices if o.role == role)

    def counts(self) -> dict[str, int]:
        """Offices per role, in ROLES order (roles with none left out)."""
        found: dict[str, int] = {}
        for office in self.offices:
            found[office.role] = found.get(office.role, 0) + 1
        return {role: found[role] for role in ROLES if role in found}

    # workload and links
    @cached_property
    def workload(self) -> Workload:
        """The workload as the engine reads it (per role, with the daily rhythm)."""
        return Workload(self)

    def rates(self, node_id: str) -> Rates:
        """What the office does per simulated day (NO_WORK for offices that register nothing)."""
        self.office(node_id)
        return self._rates.get(node_id, NO_WORK)

    def uplink(self, node_id: str) -> LinkProfile:
        """The link from the office to its parent."""
        role = self.office(node_id).role
        return self.links.get(role) or self.links["default"]

    @property
    def peer_link(self) -> LinkProfile:
        """A direct link between two offices (a cross-station fetch)."""
        return self.links.get("peer") or self.links["default"]

    def hour_weight(self, t: float) -> float:
        """The share of a day's work falling in the hour of simulated time `t`."""
        hour = int((t / 3600.0 + self.start.hour + self.start.minute / 60) % 24)
        return self.hour_weights[hour]

    def work_per_day(self) -> dict[str, float]:
        """The whole network's expected work per simulated day, by kind."""
        totals = dict.fromkeys(WORK_KINDS, 0.0)
        for rates in self._rates.values():
            for kind in WORK_KINDS:
                totals[kind] += rates.per_day(kind)
        return totals


class Workload:
    """The engine's view of a scenario's workload: per role means and the daily rhythm.

    Rates differ between offices of one role (a station's FIRs follow its state's published
    cases), so `entries_per_day_of(node_id)` gives one office's; the per-role figures are means."""

    def __init__(self, scenario: Scenario) -> None:
        self._scenario = scenario
        self.rhythm: tuple[float, ...] = scenario.hour_weights
        sums: dict[str, list[float]] = {}
        for office in scenario.offices:
            rates = scenario.rates(office.node_id)
            acc = sums.setdefault(office.role, [0.0, 0.0, 0.0])
            acc[0] += rates.gd_entries + rates.firs + rates.petitions
            acc[1] += rates.searches
            acc[2] += 1
        self._entries = {role: acc[0] / acc[2] for role, acc in sums.items()}
        self._searches = {role: acc[1] / acc[2] for role, acc in sums.items()}

    def entries_per_day(self, role: str) -> float:
        """Mean records (GD entries, FIRs, petitions) an office of `role` writes a day."""
        return self._entries.get(role, 0.0)

    def searches_per_day(self, role: str) -> float:
        """Mean searches an office of `role` starts a day (officers x searches per officer)."""
        return self._searches.get(role, 0.0)

    def entries_per_day_of(self, node_id: str) -> float:
        rates = self._scenario.rates(node_id)
        return rates.gd_entries + rates.firs + rates.petitions

    def searches_per_day_of(self, node_id: str) -> float:
        return self._scenario.rates(node_id).searches


# -- reading a file ----------------------------------------------------------------------------


def scenario_path(name_or_path: str | Path) -> Path:
    """A scenario file: a path, or the name of one in simulations/scenarios/."""
    path = Path(name_or_path)
    if path.suffix == ".toml" or path.exists():
        if not path.is_file():
            raise InputError(f"scenario file {str(path)!r} does not exist")
        return path
    found = SCENARIO_DIR / f"{name_or_path}.toml"
    if not found.is_file():
        known = ", ".join(sorted(p.stem for p in SCENARIO_DIR.glob("*.toml")))
        raise InputError(f"no scenario named {str(name_or_path)!r} (known: {known})")
    return found


def scenario_names() -> tuple[str, ...]:
    return tuple(sorted(p.stem for p in SCENARIO_DIR.glob("*.toml")))


def load_scenario(
    name_or_path: str | Path,
    *,
    scale: float = 1.0,
    seed: int | None = None,
    offices: int | None = None,
    faults: bool = True,
) -> Scenario:
    """The scenario in a file (or named, from simulations/scenarios/), its offices expanded.

    `scale` (0 < scale <= 1) keeps that fraction of the stations with their whole hierarchy;
    `offices` instead picks the largest scale whose expansion has at most that many offices.
    `seed` (default: the file's) chooses which stations a scale keeps and seeds the workload.
    `faults=False` leaves the fault schedule out (and keeps no office for its sake).
    A file with mistakes raises InputError listing every problem with where it is."""
    path = scenario_path(name_or_path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"scenario {path.name}: not valid TOML: {exc}") from exc
    return scenario_from_dict(
        data, scale=scale, seed=seed, offices=offices, faults=faults, where=path.name
    )


def scenario_from_dict(
    data: Mapping[str, Any],
    *,
    scale: float = 1.0,
    seed: int | None = None,
    offices: int | None = None,
    faults: bool = True,
    where: str = "scenario",
) -> Scenario:
    """As `load_scenario`, from the file's parsed TOML."""
    spec = _Spec(data, where)
    spec.check()
    spec.with_faults = faults
    if offices is not None:
        return _fit(spec, offices, seed)
    if not 0 < scale <= 1:
        raise InputError(f"{where}: scale must be above 0 and at most 1, not {scale}")
    return spec.build(scale, spec.seed if seed is None else seed)


def _fit(spec: _Spec, offices: int, seed: int | None) -> Scenario:
    chosen_seed = spec.seed if seed is None else seed
    full = spec.build(1.0, chosen_seed)
    if len(full.offices) <= offices:
        return full
    low, high = 0.0, 1.0
    best = spec.build(1e-9, chosen_seed)
    if len(best.offices) > offices:
        raise InputError(
            f"{spec.where}: the smallest whole hierarchy has {len(best.offices)} offices, "
            f"more than {offices}"
        )
    for _ in range(24):
        middle = (low + high) / 2
        trial = spec.build(middle, chosen_seed)
        if len(trial.offices) <= offices:
            low, best = middle, trial
        else:
            high = middle
    # Filled up with stations whose parents are in already: one office each.
    kept = {o.node_id for o in best.offices}
    spare = tuple(
        o.node_id
        for o in spec.full.offices
        if o.role == "station" and o.node_id not in kept and o.parent in kept
    )
    room = offices - len(best.offices)
    if room > 0 and spare:
        best = spec.build(best.scale, chosen_seed, spare[:room])
    return best


def parse_duration(value: object, what: str) -> float:
    """Seconds from "1d6h30m", "90s", "45m", or a number of seconds; InputError naming `what`."""
    if isinstance(value, bool):
        raise InputError(f"{what}: {value!r} is not a duration")
    if isinstance(value, int | float):
        if value < 0 or not math.isfinite(value):
            raise InputError(f"{what}: {value!r} is not a duration")
        return float(value)
    if isinstance(value, str):
        match = _DURATION.match(value.replace(" ", ""))
        if match and any(match.groups()):
            d, h, m, s = (float(g) if g else 0.0 for g in match.groups())
            return d * 86400 + h * 3600 + m * 60 + s
    raise InputError(f'{what}: {value!r} is not a duration (like "90s", "6h", "1d6h30m")')


def even_split(total: int, parts: int) -> list[int]:
    """`total` in `parts` shares differing by at most one, the larger first."""
    if parts <= 0:
        return []
    base, extra = divmod(total, parts)
    return [base + 1 if i < extra else base for i in range(parts)]


class _Problems:
    def __init__(self, where: str) -> None:
        self.where = where
        self.items: list[str] = []

    def add(self, text: str) -> None:
        self.items.append(f"{self.where}: {text}")

    def raise_any(self) -> None:
        if self.items:
            first = self.items[0] if len(self.items) == 1 else f"{len(self.items)} problems"
            raise InputError(f"bad scenario: {first}", list(self.items))


@dataclass
class _Tree:
    """The expansion in progress: offices in order, station rates' inputs."""

    offices: list[Office] = field(default_factory=list)
    districts: list[District] = field(default_factory=list)
    states: list[State] = field(default_factory=list)


class _Spec:
    """A parsed, checked scenario file, able to expand itself at any scale."""

    def __init__(self, data: Mapping[str, Any], where: str) -> None:
        self.data = data
        self.where = where
        self.problems = _Problems(where)
        meta = data.get("scenario")
        self.meta: Mapping[str, Any] = meta if isinstance(meta, Mapping) else {}
        self.seed = 0
        self.with_faults = True

    # -- checking: every mistake found, then one InputError listing them all
    def check(self) -> None:
        p = self.problems
        if not isinstance(self.data.get("scenario"), Mapping):
            p.add("missing the [scenario] table")
        meta = self.meta
        name = meta.get("name")
        if not isinstance(name, str) or not _PART.match(name):
            p.add(f"[scenario] name must be a lower-case word, not {name!r}")
        seed = meta.get("seed", 0)
        if not isinstance(seed, int) or isinstance(seed, bool):
            p.add(f"[scenario] seed must be an integer, not {seed!r}")
        else:
            self.seed = seed
        days = meta.get("days", 1)
        if not isinstance(days, int | float) or isinstance(days, bool) or days <= 0:
            p.add(f"[scenario] days must be a positive number, not {days!r}")
        start = meta.get("start", "2026-01-05T00:00:00+05:30")
        try:
            parsed = datetime.fromisoformat(str(start))
            if parsed.tzinfo is None:
                p.add(f"[scenario] start {start!r} must carry its offset (+05:30)")
        except ValueError:
            p.add(f"[scenario] start {start!r} is not an ISO date and time")
        national = meta.get("national")
        if national is not None and (
            not isinstance(national, Mapping) or not valid_node_id(str(national.get("id", "")))
        ):
            p.add("[scenario] national must be a table with a node id: {id = 'ncrb', name = ...}")
        self._check_sources()
        self._check_states()
        self._check_workload()
        self._check_links()
        p.raise_any()
        self._check_faults()
        p.raise_any()

    def _check_sources(self) -> None:
        sources = self.data.get("sources", {})
        self.sources: dict[str, Source] = {}
        if not isinstance(sources, Mapping) or not sources:
            self.problems.add("missing the [sources] tables (every figure names its source)")
            return
        for key, entry in sources.items():
            if not isinstance(entry, Mapping) or not isinstance(entry.get("title"), str):
                self.problems.add(f"[sources.{key}] needs a title")
                continue
            status = entry.get("status")
            if status not in SOURCE_STATUSES:
                self.problems.add(
                    f"[sources.{key}] status {status!r} is not one of {', '.join(SOURCE_STATUSES)}"
                )
                continue
            self.sources[key] = Source(
                key=key,
                title=entry["title"],
                status=status,
                edition=str(entry.get("edition", "")),
                table=str(entry.get("table", "")),
                url=str(entry.get("url", "")),
                note=str(entry.get("note", "")),
            )
        figures = self.data.get("figures", {})
        self.figure_sources: dict[str, str] = {}
        if not isinstance(figures, Mapping):
            self.problems.add("[figures] must map figure names to source keys")
            return
        for figure, key in figures.items():
            self._source_ref(key, f"[figures] {figure}")
            self.figure_sources[figure] = str(key)

    def _source_ref(self, key: object, what: str) -> None:
        if not isinstance(key, str) or key not in self.data.get("sources", {}):
            self.problems.add(f"{what} names source {key!r}, which [sources] does not have")

    def _count(self, table: Mapping[str, Any], key: str, what: str, *, default: int = 0) -> int:
        value = table.get(key, default)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            self.problems.add(f"{what}: {key} must be a whole number of at least 0, not {value!r}")
            return 0
        return value

    def _leaf_offices(self, table: Mapping[str, Any], what: str) -> list[tuple[str, int, str]]:
        found: list[tuple[str, int, str]] = []
        offices = table.get("offices", [])
        if not isinstance(offices, list):
            self.problems.add(f"{what}: offices must be a list of {{role, count}} tables")
            return found
        for i, entry in enumerate(offices):
            if not isinstance(entry, Mapping):
                self.problems.add(f"{what}: offices[{i}] must be a table")
                continue
            role = entry.get("role")
            if role not in ROLES or role in ("state", "national", "station"):
                self.problems.add(
                    f"{what}: offices[{i}] role {role!r} is not one of "
                    f"{', '.join(r for r in ROLES if r not in ('state', 'national', 'station'))}"
                )
                continue
            count = self._count(entry, "count", f"{what}: offices[{i}]", default=1)
            found.append((str(role), count, str(entry.get("name", role))))
        return found

    def _check_states(self) -> None:
        states = self.data.get("state")
        if not isinstance(states, list) or not states:
            self.problems.add("missing [[state]] tables (at least one state)")
            return
        seen: set[str] = set()
        for i, state in enumerate(states):
            what = f"[[state]] #{i + 1}"
            if not isinstance(state, Mapping):
                self.problems.add(f"{what} must be a table")
                continue
            sid = state.get("id")
            if not isinstance(sid, str) or not _PART.match(sid):
                self.problems.add(f"{what}: id must be a lower-case word, not {sid!r}")
                continue
            what = f"[[state]] {sid}"
            if sid in seen:
                self.problems.add(f"{what}: the id appears twice")
            seen.add(sid)
            if not isinstance(state.get("name"), str):
                self.problems.add(f"{what}: needs a name")
            node = state.get("node", "scrb")
            if not isinstance(node, str) or not _PART.match(node):
                self.problems.add(f"{what}: node must be a lower-case word, not {node!r}")
            cases = state.get("cases_per_year", 0)
            if not isinstance(cases, int | float) or isinstance(cases, bool) or cases < 0:
                self.problems.add(f"{what}: cases_per_year must be a number >= 0, not {cases!r}")
            self._leaf_offices(state, what)
            own_sources = state.get("sources", {})
            if not isinstance(own_sources, Mapping):
                self.problems.add(f"{what}: sources must map figure names to source keys")
            else:
                for figure, key in own_sources.items():
                    self._source_ref(key, f"{what} sources.{figure}")
                    self.figure_sources[f"{sid}.{figure}"] = str(key)
            districts = state.get("district")
            if districts is None:
                count = self._count(state, "districts", what)
                stations = self._count(state, "stations", what)
                if count == 0:
                    self.problems.add(f"{what}: needs [[state.district]] tables or districts = N")
                elif stations < count:
                    self.problems.add(
                        f"{what}: {stations} stations cannot fill {count} districts "
                        "(every district needs a station)"
                    )
                continue
            if not isinstance(districts, list) or not districts:
                self.problems.add(f"{what}: district must be a list of [[state.district]] tables")
                continue
            for j, district in enumerate(districts):
                if not isinstance(district, Mapping):
                    self.problems.add(f"{what} district #{j + 1} must be a table")
            seen_districts: set[str] = set()
            for j, district in enumerate(self._spread(state, what)):
                dwhat = f"{what} district #{j + 1}"
                did = district.get("id")
                if not isinstance(did, str) or not _PART.match(did):
                    self.problems.add(f"{dwhat}: id must be a lower-case word, not {did!r}")
                    continue
                dwhat = f"{what} district {did}"
                if did in seen_districts:
                    self.problems.add(f"{dwhat}: the id appears twice")
                seen_districts.add(did)
                stations = self._count(district, "stations", dwhat)
                circles = self._count(district, "circles", dwhat)
                sub_divisions = self._count(district, "sub_divisions", dwhat)
                self._count(district, "control_rooms", dwhat)
                if not isinstance(district.get("territorial", True), bool):
                    self.problems.add(f"{dwhat}: territorial must be true or false")
                if stations == 0:
                    self.problems.add(f"{dwhat}: a district needs at least one station")
                if circles > stations:
                    self.problems.add(f"{dwhat}: {circles} circles for {stations} stations")
                below, kind = (circles, "circles") if circles else (stations, "stations")
                if sub_divisions > below:
                    self.problems.add(
                        f"{dwhat}: {sub_divisions} sub-divisions for {below} {kind} "
                        "(each needs one)"
                    )
                self._leaf_offices(district, dwhat)

    def _spread(self, state: Mapping[str, Any], what: str) -> list[dict[str, Any]]:
        """The state's district tables with the figures they leave out filled in: the state's
        `spread` totals shared evenly among the districts without their own figure, and its
        `district_offices` given to every territorial district without `offices`."""
        districts = [d if isinstance(d, Mapping) else {} for d in state["district"]]
        filled: list[dict[str, Any]] = [dict(d) for d in districts]
        spread = state.get("spread", {})
        if not isinstance(spread, Mapping):
            self.problems.add(f"{what}: spread must be a table of totals")
            spread = {}
        for figure, total in spread.items():
            if figure not in ("stations", "circles", "sub_divisions", "control_rooms"):
                self.problems.add(f"{what}: spread.{figure} is not a figure a district has")
                continue
            if not isinstance(total, int) or isinstance(total, bool) or total < 0:
                self.problems.add(f"{what}: spread.{figure} must be a whole number >= 0")
                continue
            missing = [d for d in filled if figure not in d]
            for district, share in zip(missing, even_split(total, len(missing)), strict=True):
                district[figure] = share
        extra = state.get("district_offices")
        if extra is not None:
            for district in filled:
                if "offices" not in district and district.get("territorial", True) is not False:
                    district["offices"] = extra
        return filled

    def _figure(self, table: Mapping[str, Any], key: str, what: str) -> float:
        entry = table.get(key)
        if not isinstance(entry, Mapping):
            self.problems.add(f"{what}.{key} must be a table {{value = ..., source = ...}}")
            return 0.0
        value = entry.get("value")
        if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
            self.problems.add(f"{what}.{key}: value must be a number >= 0, not {value!r}")
            return 0.0
        self._source_ref(entry.get("source"), f"{what}.{key}")
        return float(value)

    def _check_workload(self) -> None:
        workload = self.data.get("workload")
        self.workload: dict[str, Rates] = {}
        self.workload_sources: dict[str, dict[str, str]] = {}
        self.hour_weights: tuple[float, ...] = ()
        if not isinstance(workload, Mapping):
            self.problems.add("missing the [workload] table")
            return
        weights = workload.get("hour_weights")
        if (
            not isinstance(weights, list)
            or len(weights) != 24
            or not all(isinstance(w, int | float) and not isinstance(w, bool) for w in weights)
            or any(w < 0 for w in weights)
            or sum(weights) <= 0
        ):
            self.problems.add("[workload] hour_weights must be 24 numbers >= 0 (one per hour)")
        else:
            total = float(sum(weights))
            self.hour_weights = tuple(float(w) / total for w in weights)
        self._source_ref(workload.get("hour_weights_source"), "[workload] hour_weights_source")
        for role, table in workload.items():
            if role in ("hour_weights", "hour_weights_source"):
                continue
            what = f"[workload.{role}]"
            if role not in ROLES:
                self.problems.add(f"{what}: {role!r} is not one of {', '.join(ROLES)}")
                continue
            if not isinstance(table, Mapping):
                self.problems.add(f"{what} must be a table")
                continue
            names = ("gd_entries", "firs", "petitions", "officers", "searches_per_officer")
            unknown = sorted(set(table) - set(names))
            if unknown:
                self.problems.add(f"{what}: unknown figures {', '.join(unknown)}")
            values = [self._figure(table, n, what) for n in names]
            self.workload[role] = Rates(
                gd_entries=values[0],
                firs=values[1],
                petitions=values[2],
                officers=round(values[3]),
                searches_per_officer=values[4],
            )
            self.workload_sources[role] = {
                n: str(table[n].get("source")) for n in names if isinstance(table.get(n), Mapping)
            }
        if "station" not in self.workload:
            self.problems.add("[workload.station] is missing: stations must do some work")
        elif self.workload["station"].per_day("gd") <= 0:
            self.problems.add("[workload.station] gd_entries must be above 0")

    def _check_links(self) -> None:
        links = self.data.get("links")
        self.links: dict[str, LinkProfile] = {}
        if not isinstance(links, Mapping) or "default" not in links:
            self.problems.add("missing the [links.default] table")
            return
        for key, table in links.items():
            what = f"[links.{key}]"
            if key not in (*ROLES, "peer", "default"):
                self.problems.add(f"{what}: {key!r} is not a role, 'peer' or 'default'")
                continue
            if not isinstance(table, Mapping):
                self.problems.add(f"{what} must be a table")
                continue
            values: dict[str, float] = {}
            for name in ("latency_ms", "jitter_ms", "loss", "bandwidth_kbps"):
                value = table.get(name)
                if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
                    self.problems.add(f"{what}: {name} must be a number >= 0, not {value!r}")
                    value = 0.0
                values[name] = float(value)
            if values["loss"] >= 1:
                self.problems.add(f"{what}: loss must be below 1 (it is a probability)")
            if values["bandwidth_kbps"] <= 0:
                self.problems.add(f"{what}: bandwidth_kbps must be above 0")
            self._source_ref(table.get("source"), what)
            self.links[key] = LinkProfile(source=str(table.get("source")), **values)

    def _check_faults(self) -> None:
        """Faults name offices of the full expansion; checked once that expansion exists."""
        self.full = self._expand()
        by_id = {o.node_id: o for o in self.full.offices}
        faults = self.data.get("fault", [])
        self.faults: list[Fault] = []
        if not isinstance(faults, list):
            self.problems.add("fault must be a list of [[fault]] tables")
            return
        for i, entry in enumerate(faults):
            what = f"[[fault]] #{i + 1}"
            if not isinstance(entry, Mapping):
                self.problems.add(f"{what} must be a table")
                continue
            kind = entry.get("kind")
            if kind not in FAULT_KINDS:
                self.problems.add(f"{what}: kind {kind!r} is not one of {', '.join(FAULT_KINDS)}")
                continue
            what = f"[[fault]] #{i + 1} ({kind})"
            try:
                start = parse_duration(entry.get("at"), f"{what} at")
                duration = parse_duration(entry.get("duration", 0), f"{what} duration")
            except InputError as exc:
                self.problems.add(str(exc))
                continue
            if kind in _NEEDS_DURATION and duration <= 0:
                self.problems.add(f"{what}: needs a duration above 0")
            name = entry.get("target")
            target = self._resolve(name, by_id)
            if target is None:
                self.problems.add(f"{what}: target {name!r} is not an office of the scenario")
                continue
            if kind == "district-cut" and by_id[target].role != "district":
                self.problems.add(f"{what}: target {name!r} is not a district police office")
            other = ""
            if "other" in entry:
                other = self._resolve(entry["other"], by_id) or ""
                if not other:
                    self.problems.add(f"{what}: other {entry['other']!r} is not an office")
            params: dict[str, float | str] = {}
            for key, value in entry.items():
                if key in ("kind", "at", "duration", "target", "other"):
                    continue
                if key == "backup_age":
                    try:
                        params[key] = duration = parse_duration(value, f"{what} backup_age")
                    except InputError as exc:
                        self.problems.add(str(exc))
                elif key not in ("latency_ms", "loss"):
                    self.problems.add(f"{what}: unknown field {key!r}")
                elif isinstance(value, int | float) and not isinstance(value, bool):
                    params[key] = value
                else:
                    self.problems.add(f"{what}: {key} = {value!r} is not a number or text")
            needed = {
                "slow-link": "latency_ms",
                "lossy-link": "loss",
                "restore-backup": "backup_age",
            }
            if kind in needed and needed[kind] not in params:
                self.problems.add(f"{what}: needs {needed[kind]}")
            loss = params.get("loss")
            if kind == "lossy-link" and isinstance(loss, int | float) and not 0 < loss < 1:
                self.problems.add(f"{what}: loss must be between 0 and 1")
            self.faults.append(Fault(kind, start, duration, target, other, params))

    def _resolve(self, name: object, by_id: Mapping[str, Office]) -> str | None:
        """A node id, or "<role>#<n>": the n-th office of that role (from 0), in file order."""
        if not isinstance(name, str):
            return None
        if name in by_id:
            return name
        role, sep, number = name.partition("#")
        if sep and role in ROLES and number.isdigit():
            of_role = [o.node_id for o in self.full.offices if o.role == role]
            index = int(number)
            return of_role[index] if index < len(of_role) else None
        return None

    # -- expansion
    def _expand(self) -> _Tree:
        tree = _Tree()
        meta = self.meta
        national = meta.get("national")
        top = ""
        level = 0
        if isinstance(national, Mapping):
            top = str(national["id"])
            name = str(national.get("name", top))
            tree.offices.append(Office(top, "national", "", "", "", name, 0))
            level = 1
        for state in self.data["state"]:
            sid = state["id"]
            state_node = f"{sid}/{state.get('node', 'scrb')}"
            tree.offices.append(
                Office(
                    state_node,
                    "state",
                    top,
                    "",
                    sid,
                    str(state.get("node_name", f"{state['name']} state node")),
                    level,
                )
            )
            for role, count, name in self._leaf_offices(state, sid):
                for n in range(1, count + 1):
                    tree.offices.append(
                        Office(
                            f"{sid}/{role}-{n}", role, state_node, "", sid, f"{name} {n}", level + 1
                        )
                    )
            before = sum(1 for o in tree.offices if o.role == "station")
            if "district" in state:
                for district in self._spread(state, sid):
                    self._expand_district(tree, sid, state_node, district, level + 1)
            else:
                count, stations = state["districts"], state["stations"]
                for n, share in enumerate(even_split(stations, count), start=1):
                    district = {"id": f"d{n:02d}", "name": f"{state['name']} district {n}"}
                    self._expand_district(
                        tree, sid, state_node, {**district, "stations": share}, level + 1
                    )
            stations_here = sum(1 for o in tree.offices if o.role == "station") - before
            tree.states.append(
                State(
                    sid,
                    str(state["name"]),
                    state_node,
                    stations_here,
                    float(state.get("cases_per_year", 0)),
                )
            )
        return tree

    def _expand_district(
        self, tree: _Tree, sid: str, state_node: str, district: Mapping[str, Any], level: int
    ) -> None:
        did = str(district["id"])
        name = str(district.get("name", did))
        base = f"{sid}/{did}"
        dpo = f"{base}/dpo"
        territorial = district.get("territorial", True) is not False
        tree.districts.append(District(sid, did, name, dpo, territorial))
        add = tree.offices.append
        add(Office(dpo, "district", state_node, did, sid, f"{name} district police office", level))
        rooms = int(district.get("control_rooms", 0))
        for n in range(1, rooms + 1):
            suffix = "" if rooms == 1 else f"-{n}"
            add(
                Office(
                    f"{base}/control-room{suffix}",
                    "control-room",
                    dpo,
                    did,
                    sid,
                    f"{name} police control room{suffix.replace('-', ' ')}",
                    level + 1,
                )
            )
        for role, count, label in self._leaf_offices(district, base):
            for n in range(1, count + 1):
                add(
                    Office(
                        f"{base}/{role}-{n}", role, dpo, did, sid, f"{name} {label} {n}", level + 1
                    )
                )
        stations = int(district["stations"])
        circles = int(district.get("circles", 0))
        sub_divisions = int(district.get("sub_divisions", 0))
        # Parents of the stations: circles under sub-divisions under the district office, the
        # absent levels skipped; each level split as evenly as the counts allow.
        sdpos = [f"{base}/sdpo-{n}" for n in range(1, sub_divisions + 1)]
        for n, sdpo in enumerate(sdpos, start=1):
            add(Office(sdpo, "sub-division", dpo, did, sid, f"{name} sub-division {n}", level + 1))
        circle_parents: list[str] = []
        for sdpo, share in zip(sdpos, even_split(circles, len(sdpos)), strict=True):
            circle_parents += [sdpo] * share
        if not sdpos:
            circle_parents = [dpo] * circles
        circle_ids = [f"{base}/circle-{n:02d}" for n in range(1, circles + 1)]
        for n, (circle, parent) in enumerate(zip(circle_ids, circle_parents, strict=True), start=1):
            depth = level + (2 if sdpos else 1)
            add(Office(circle, "circle", parent, did, sid, f"{name} circle {n}", depth))
        station_parents = circle_ids or sdpos or [dpo]
        depth = level + 1 + (1 if sdpos else 0) + (1 if circle_ids else 0)
        number = 0
        for parent, share in zip(
            station_parents, even_split(stations, len(station_parents)), strict=True
        ):
            for _ in range(share):
                number += 1
                add(
                    Office(
                        f"{base}/ps-{number:03d}",
                        "station",
                        parent,
                        did,
                        sid,
                        f"{name} police station {number}",
                        depth,
                    )
                )

    def build(self, scale: float, seed: int, add: tuple[str, ...] = ()) -> Scenario:
        full = self.full
        kept = list(full.offices) if scale >= 1 else self._sample(full, scale, seed, add)
        kept_ids = {o.node_id for o in kept}
        districts = tuple(d for d in full.districts if d.node_id in kept_ids)
        state_rates = {s.id: s for s in full.states}
        rates: dict[str, Rates] = {}
        for office in kept:
            base = self.workload.get(office.role)
            if base is None:
                continue
            if office.role == "station":
                state = state_rates[office.state]
                if state.cases_per_year > 0 and state.stations:
                    # The state's published cases a year, shared by its stations.
                    firs = state.cases_per_year / state.stations / 365.0
                    base = Rates(
                        base.gd_entries,
                        firs,
                        base.petitions,
                        base.officers,
                        base.searches_per_officer,
                    )
            rates[office.node_id] = base
        first_station = next(o for o in kept if o.role == "station")
        chain = [first_station.role]
        parent = first_station.parent
        by_id = {o.node_id: o for o in kept}
        while parent:
            chain.append(by_id[parent].role)
            parent = by_id[parent].parent
        meta = self.meta
        return Scenario(
            name=str(meta["name"]),
            title=str(meta.get("title", meta["name"])),
            seed=seed,
            scale=scale,
            days=float(meta.get("days", 1)),
            start=datetime.fromisoformat(str(meta.get("start", "2026-01-05T00:00:00+05:30"))),
            host=str(meta.get("host", "cctns.in")),
            offices=tuple(kept),
            levels=tuple(reversed(chain)),
            states=tuple(s for s in full.states if s.node_id in kept_ids),
            districts=districts,
            hour_weights=self.hour_weights,
            links=dict(self.links),
            faults=tuple(self.faults) if self.with_faults else (),
            sources=dict(self.sources),
            figure_sources={
                **self.figure_sources,
                **{
                    f"{role}.{name}": key
                    for role, names in self.workload_sources.items()
                    for name, key in names.items()
                },
            },
            _rates=rates,
        )

    def _sample(
        self, full: _Tree, scale: float, seed: int, add: tuple[str, ...] = ()
    ) -> list[Office]:
        rng = random.Random(seed)
        by_id = {o.node_id: o for o in full.offices}
        keep: set[str] = set(self._pinned()) | set(add)
        for state in full.states:
            for role in ("station", *LEAF_ROLES):
                of_role = [o for o in full.offices if o.state == state.id and o.role == role]
                want = round(len(of_role) * scale)
                if role == "station":
                    want = max(1, want)
                else:
                    # Leaf offices whose parent stays (a control room with its district).
                    of_role = [o for o in of_role if o.parent in keep or o.parent == state.node_id]
                want = min(want, len(of_role))
                if want == 0:
                    continue
                # Systematic sampling: evenly spaced through the file's order, so kept stations
                # spread over the districts in proportion; the seed shifts the comb.
                offset = rng.random()
                step = len(of_role) / want
                for i in range(want):
                    keep.add(of_role[min(len(of_role) - 1, int((i + offset) * step))].node_id)
                if role == "station":
                    for node_id in list(keep):
                        parent = by_id[node_id].parent
                        while parent and parent not in keep:
                            keep.add(parent)
                            parent = by_id[parent].parent
        for node_id in list(keep):  # the ancestors of pinned and leaf offices too
            parent = by_id[node_id].parent
            while parent and parent not in keep:
                keep.add(parent)
                parent = by_id[parent].parent
        return [o for o in full.offices if o.node_id in keep]

    def _pinned(self) -> Iterator[str]:
        """The offices the faults name (and a station of a cut district), which a scale keeps."""
        if not self.with_faults:
            return
        for fault in self.faults:
            yield fault.target
            if fault.other:
                yield fault.other
            if fault.kind == "district-cut":
                prefix = fault.target.rsplit("/", 1)[0] + "/"
                yield next(
                    o.node_id
                    for o in self.full.offices
                    if o.role == "station" and o.node_id.startswith(prefix)
                )


# -- the workload ------------------------------------------------------------------------------


def poisson(rng: random.Random, mean: float) -> int:
    """A Poisson draw (Knuth below 30, a rounded normal above: enough for arrival counts)."""
    if mean <= 0:
        return 0
    if mean < 30:
        limit, k, product = math.exp(-mean), 0, rng.random()
        while product > limit:
            k += 1
            product *= rng.random()
        return k
    return max(0, round(rng.gauss(mean, math.sqrt(mean))))


def arrivals(
    scenario: Scenario,
    *,
    start: float = 0.0,
    end: float | None = None,
    seed: int | None = None,
    kinds: tuple[str, ...] = WORK_KINDS,
) -> Iterator[Arrival]:
    """The work arriving at every office from `start` to `end` (simulated seconds; default the
    scenario's days), in time order: Poisson counts per office, kind and hour, the hour's share
    of the day from the daily rhythm, times spread uniformly within the hour. Deterministic for
    a seed (default the scenario's); the same window gives the same arrivals."""
    stop = scenario.days * 86400.0 if end is None else end
    busy = [(o.node_id, scenario.rates(o.node_id)) for o in scenario.offices]
    busy = [(node_id, rates) for node_id, rates in busy if rates != NO_WORK]
    hour = math.floor(start / 3600.0)
    base_seed = scenario.seed if seed is None else seed
    while hour * 3600.0 < stop:
        slot_start, slot_end = hour * 3600.0, (hour + 1) * 3600.0
        low, high = max(start, slot_start), min(stop, slot_end)
        if high > low:
            # One generator per hour, so any window reproduces the same hours exactly.
            rng = random.Random(f"{base_seed}:{hour}")
            share = scenario.hour_weight(slot_start) * (high - low) / 3600.0
            batch: list[Arrival] = []
            for node_id, rates in busy:
                for kind in kinds:
                    for _ in range(poisson(rng, rates.per_day(kind) * share)):
                        batch.append(Arrival(low + rng.random() * (high - low), node_id, kind))
            batch.sort(key=lambda a: (a.time, a.node_id, a.kind))
            yield from batch
        hour += 1
