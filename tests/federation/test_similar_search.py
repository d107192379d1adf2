"""Similar-case search ("similar", docs/mo-search.md) across the federation over a real gRPC server
on loopback: another station asks for cases like a case (by its number, or by the one-line
query `similar.compact` makes of it) and gets the cases of the same series first, the answer's
receipt naming the read "search:similar" in the station's audit entry; a district office
holding the station's verified replica answers the same from its index of replicas.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from pathlib import Path

import pytest

from federation.logs import LedgerLogReader
from federation.verify import verify_receipt
from ledger.errors import InputError
from node.config import DataDir
from node.demo.mo_cases import SERIES_MO, SERIES_PROPERTY
from node.index import similar
from node.peers.peer_node import StationPeerNode
from node.station import casework, registers
from node.station.core import Station
from protos import records_pb2
from tests.federation.test_history_search import ORIGIN, Served, serve
from tests.federation.test_replication import LogPeer, follow
from tests.node.peers.district import build_district
from tests.node.support import person, theft_fir

OFFICER = "PEN100001"
STORIES = (
    "At night the accused removed the window grill of the locked house, broke open the almirah "
    "with a chisel and stole gold ornaments; they left on a motorcycle.",
    "The grill of the rear window of the locked house was prised off at night, the almirah "
    "forced with a chisel and gold ornaments stolen. A motorcycle was heard.",
    "Gold ornaments were stolen from the almirah of a locked house after the window grill was "
    "removed at night; a chisel was found near the window.",
)
OTHERS = (
    ("The complainant's mobile phone was snatched by two men on a scooter near the bus stand.",
     {"entry_method": "none", "place_type": "road", "vehicle_used": "motorcycle"}, "mobile_phone"),
    ("The shop's shutter lock was broken and cash taken from the drawer.",
     {"entry_method": "door_lock_broken", "place_type": "shop"}, "cash"),
    ("Copper wire stolen from the office compound through the open gate.",
     {"entry_method": "open_door", "place_type": "office"}, "other"),
    ("The temple's offering box was broken open in the early morning and the cash taken.",
     {"entry_method": "door_lock_broken", "place_type": "temple"}, "temple_property"),
)  # fmt: skip


def _case(station: Station, facts: str, mo: dict[str, str], taken: tuple[str, ...]) -> str:
    when = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=2)
    fir = theft_fir(when)
    fir.brief_facts = facts
    fir.persons.append(person("Unknown", records_pb2.ACCUSED, age=30, sex="M"))
    fir.persons[-1].accused_code = "A1"
    number = registers.register_fir(station, OFFICER, fir).ref
    casework.record_mo(
        station,
        OFFICER,
        number,
        records_pb2.ModusOperandi(accused_codes=["A1"], property_taken=list(taken), **mo),
    )
    return number


def seed(station: Station) -> list[str]:
    """Three cases of one series among four others; the series' numbers, first asked about."""
    series = []
    for n, story in enumerate(STORIES):
        series.append(_case(station, story, dict(SERIES_MO), SERIES_PROPERTY))
        facts, mo, taken = OTHERS[n]
        _case(station, facts, mo, (taken,))
    _case(station, *OTHERS[3][:2], (OTHERS[3][2],))
    return series


@pytest.fixture(scope="module")
def station_served(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Station, Served, list[str]]]:
    root: Path = tmp_path_factory.mktemp("similar")
    data_dir = DataDir(root / "node")
    data_dir.create(origin=ORIGIN, district="Ernakulam City", station="Kalamassery")
    station = Station.open(data_dir)
    series = seed(station)
    served = serve(StationPeerNode(station))
    try:
        yield station, served, series
    finally:
        served.close()
        station.close()


def test_federated_similar_search_by_case_number(
    station_served: tuple[Station, Served, list[str]],
) -> None:
    station, served, series = station_served
    response = served.search("similar", series[0])
    refs = [h.ref for h in response.hits]
    assert set(refs[:2]) == set(series[1:]) and series[0] not in refs
    assert all(h.origin == ORIGIN for h in response.hits)
    assert "Window grill removed" in response.hits[0].detail
    receipt = verify_receipt(
        response.receipt, expected_origin=ORIGIN, owner_public_key=station.ledger.public_key
    )
    assert receipt.audit.query_kind == "search:similar"
    with pytest.raises(InputError, match="similar-case search names a case"):
        served.search("similar", "12 / 34")


def test_federated_similar_search_by_compact_query(
    station_served: tuple[Station, Served, list[str]],
) -> None:
    station, served, series = station_served
    key = similar.case_key(station.index.engine, series[0])
    assert key is not None
    line = similar.compact(station.index.engine, key)
    refs = [h.ref for h in served.search("similar", line).hits]
    assert set(refs[:3]) == set(series)


def test_district_replica_answers_similar_search(tmp_path: Path) -> None:
    district = build_district(tmp_path)
    served = None
    try:
        child = district.children[0]
        origin = child.config.origin
        series = seed(child)
        key = similar.case_key(child.index.engine, series[0])
        assert key is not None
        line = similar.compact(child.index.engine, key)
        peer = LogPeer({origin: LedgerLogReader(child.ledger)}.__getitem__, "children")
        follow(district.replicas.get(origin).follower, peer)
        node = StationPeerNode(
            district.station, replicas=district.replicas, replica_indexes=district.indexes
        )
        served = serve(node)
        hits = served.search("similar", line).hits
        assert {(h.origin, h.ref) for h in hits[:3]} == {(origin, n) for n in series}
    finally:
        if served is not None:
            served.close()
        district.close()
