"""What the engine reads from a scenario, as Protocols, and a small scenario built in code.

The scenario files and their loader live in simulations/sim/scenario.py (Kerala, India); the
engine reads any object of this shape, so tests can build tiny ones here without files.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

FAULT_KINDS = (
    "link-down",
    "district-cut",
    "crash",
    "restore-backup",
    "equivocate",
    "slow-link",
    "lossy-link",
    "move",
)


class OfficeLike(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def role(self) -> str: ...
    @property
    def parent(self) -> str: ...
    @property
    def district(self) -> str: ...


class WorkloadLike(Protocol):
    @property
    def rhythm(self) -> Sequence[float]: ...
    def entries_per_day(self, role: str) -> float: ...
    def searches_per_day(self, role: str) -> float: ...


class FaultLike(Protocol):
    @property
    def kind(self) -> str: ...
    @property
    def at(self) -> float: ...
    @property
    def duration(self) -> float: ...
    @property
    def target(self) -> str: ...
    @property
    def other(self) -> str: ...
    @property
    def latency(self) -> float: ...
    @property
    def loss(self) -> float: ...


class ScenarioLike(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def offices(self) -> Sequence[OfficeLike]: ...
    @property
    def workload(self) -> WorkloadLike: ...
    @property
    def faults(self) -> Sequence[FaultLike]: ...


# -- a scenario built in code --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TinyOffice:
    id: str
    role: str
    parent: str
    district: str


@dataclass(frozen=True, slots=True)
class TinyWorkload:
    entries: dict[str, float] = field(default_factory=lambda: {"station": 48.0})
    searches: dict[str, float] = field(default_factory=lambda: {"station": 4.0})
    rhythm: Sequence[float] = (1,) * 6 + (3,) * 12 + (1,) * 6

    def entries_per_day(self, role: str) -> float:
        return self.entries.get(role, 0.0)

    def searches_per_day(self, role: str) -> float:
        return self.searches.get(role, 0.0)


@dataclass(frozen=True, slots=True)
class TinyFault:
    kind: str
    at: float
    duration: float
    target: str
    other: str = ""
    latency: float = 0.0
    loss: float = 0.0


@dataclass(frozen=True, slots=True)
class TinyScenario:
    name: str
    offices: Sequence[TinyOffice]
    workload: TinyWorkload = TinyWorkload()
    faults: Sequence[TinyFault] = ()


def tiny_scenario(
    *,
    districts: int = 2,
    circles: int = 2,
    stations: int = 3,
    faults: Sequence[TinyFault] = (),
    workload: TinyWorkload | None = None,
) -> TinyScenario:
    """A state (SCRB), `districts` districts, each with `circles` circles of `stations`
    stations: the shape of Kerala, small. Node ids: "tiny/scrb", "tiny/d1", "tiny/d1/c1",
    "tiny/d1/c1/ps1"."""
    offices = [TinyOffice("tiny/scrb", "state", "", "")]
    for d in range(1, districts + 1):
        district = f"tiny/d{d}"
        offices.append(TinyOffice(district, "district", "tiny/scrb", district))
        for c in range(1, circles + 1):
            circle = f"{district}/c{c}"
            offices.append(TinyOffice(circle, "circle", district, district))
            for s in range(1, stations + 1):
                offices.append(TinyOffice(f"{circle}/ps{s}", "station", circle, district))
    return TinyScenario("tiny", offices, workload or TinyWorkload(), tuple(faults))
