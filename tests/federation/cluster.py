"""Real stations (RocksDB ledger, SQLite index, seeded records) for the query tests."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from federation.interfaces import PeerIdentity
from federation.memory import MemoryNetwork
from federation.service import PeerService
from node.config import DataDir
from node.demo.seed import seed_station
from node.peers.peer_node import StationPeerNode
from node.station import registers
from node.station.core import Station
from protos import federation_pb2, ledger_pb2, records_pb2
from tests.node.support import theft_fir

DISTRICT = "kerala/ernakulam-city"
STATIONS = ("ps-kalamassery", "ps-aluva", "ps-edappally", "ps-kakkanad")
LAB = "fsl-thiruvananthapuram"
OFFICER = "PEN100001"
CASE = "FIR No. 12/2026 of ps-kalamassery"


@dataclass
class Member:
    """One node: its station, LocalNode, service and identity."""

    station: Station
    node: StationPeerNode
    service: PeerService
    identity: PeerIdentity

    @property
    def node_id(self) -> str:
        return self.identity.node_id

    @property
    def origin(self) -> str:
        return self.station.config.origin

    @property
    def public_key(self) -> bytes:
        return self.station.ledger.public_key


def open_member(root: Path, name: str, *, role: str = "station", records: int = 200) -> Member:
    """A new node in `root/name`, seeded with `records` synthetic records (seed from the name)."""
    data_dir = DataDir(root / name)
    data_dir.create(
        origin=f"cctns.in/{DISTRICT}/{name}",
        role=role,
        district="Ernakulam City",
        station="Kalamassery",
    )
    station = Station.open(data_dir)
    if records:
        seed_station(station, records, seed=sum(map(ord, name)), show_progress=False)
        # What the synthetic history draws changes with the day it ends on: one FIR with a
        # named complainant and a vehicle is always there for the tests that look for them.
        registers.register_fir(station, OFFICER, theft_fir())
    node = StationPeerNode(station, cosignature_dir=root / name / "cosignatures")
    identity = PeerIdentity(
        node_id=station.config.node_id,
        role=role,
        parent=DISTRICT,
        ledger_key=station.ledger.public_key,
    )
    return Member(station, node, PeerService(node), identity)


def open_cluster(root: Path) -> Iterator[dict[str, Member]]:
    """Four seeded stations and an unseeded forensic lab, closed afterwards."""
    members: dict[str, Member] = {}
    try:
        for name in STATIONS:
            members[name] = open_member(root, name)
        members[LAB] = open_member(root, LAB, role="forensic-lab", records=0)
        yield members
    finally:
        for member in members.values():
            member.station.close()


def network(members: dict[str, Member], **options: object) -> MemoryNetwork:
    """Every member on a new MemoryNetwork."""
    net = MemoryNetwork(**options)  # type: ignore[arg-type]
    for member in members.values():
        net.add(member.service, member.identity)
    return net


def context(officer: str = OFFICER, case: str = CASE) -> federation_pb2.QueryContext:
    return federation_pb2.QueryContext(officer_id=officer, purpose="investigation", case_ref=case)


def first_fir(station: Station) -> records_pb2.Fir:
    """The first FIR in the station's log."""
    for _, body in station.ledger.bodies():
        if body.WhichOneof("record") == "fir" and body.fir.fir_number:
            return body.fir
    raise AssertionError("no FIR in the log")


def first_vehicle(station: Station) -> tuple[str, str]:
    """(registration, FIR number) of the first vehicle in an FIR's property list."""
    for _, body in station.ledger.bodies():
        if body.WhichOneof("record") != "fir":
            continue
        for item in body.fir.property:
            if item.vehicle.registration and body.fir.fir_number:
                return item.vehicle.registration, body.fir.fir_number
    raise AssertionError("no vehicle in any FIR")


def first_person(station: Station) -> tuple[str, str]:
    """(name, FIR number) of the first named person in an FIR."""
    for _, body in station.ledger.bodies():
        if body.WhichOneof("record") != "fir":
            continue
        for entry in body.fir.persons:
            if entry.person.name and body.fir.fir_number:
                return entry.person.name, body.fir.fir_number
    raise AssertionError("no named person in any FIR")


def audits(station: Station, start: int = 0) -> list[tuple[int, ledger_pb2.AuditEntry]]:
    """(index, AuditEntry) of every audit entry from `start` on."""
    return [
        (index, body.audit)
        for index, body in station.ledger.bodies(start)
        if body.WhichOneof("record") == "audit"
    ]
