"""History and MO search across the federation over a real gRPC server on loopback: another
station finds a history-sheeted person by a misspelt name and an accused by their MO at the
station that recorded them, a person search says the person is history-sheeted, a closed sheet
is found closed, a protected victim is still never found; and a district office holding the
station's verified replica answers the same searches from its index of replicas.

The server runs plaintext with a fixed caller, as in tests/node/peers/test_peer_node.py: what is
tested is what the nodes answer; mutual TLS is tests/federation/test_tls.py's subject.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import trio

from federation.grpc_client import GrpcPeerClient
from federation.grpc_server import PeerServicer, start_server
from federation.interfaces import PeerAddress, PeerIdentity
from federation.logs import LedgerLogReader
from federation.service import PeerService
from federation.verify import verify_receipt
from ledger.errors import InputError
from node.config import DataDir
from node.peers.peer_node import StationPeerNode
from node.records.validation import ist_date
from node.station import casework, history, registers
from node.station.core import Station
from protos import federation_pb2, records_pb2
from tests.federation.test_replication import LogPeer, follow
from tests.node.peers.district import build_district
from tests.node.support import VICTIM, person, sexual_offence_fir, theft_fir

ORIGIN = "cctns.in/kerala/ernakulam-city/ps-kalamassery"
OFFICER = "PEN100001"
ASKER = PeerIdentity("kerala/ernakulam-city/ps-aluva", "station", "kerala/ernakulam-city", b"")
TIMEOUT = 10.0
CONTEXT = federation_pb2.QueryContext(
    officer_id="PEN300003", purpose="investigation", case_ref="FIR No. 4/2026 of ps-aluva"
)
NAME = "Sudheesh Kumar"
CLOSED_NAME = "Manoharan Pillai"
MO_QUERY = "entry:window_grill_removed place:locked_house night"


@dataclass
class Served:
    client: GrpcPeerClient
    server: Any

    def search(self, kind: str, query: str) -> federation_pb2.SearchResponse:
        request = federation_pb2.SearchRequest(kind=kind, query=query, context=CONTEXT)

        async def run() -> federation_pb2.SearchResponse:
            return await self.client.search(request, timeout=TIMEOUT)

        return trio.run(run)

    def close(self) -> None:
        self.client.close()
        self.server.stop(grace=None).wait()


def serve(node: StationPeerNode) -> Served:
    server, port = start_server(
        PeerServicer(PeerService(node), authenticate=lambda context: ASKER),
        "127.0.0.1:0",
        credentials=None,
        max_workers=2,
    )
    client = GrpcPeerClient(PeerAddress(node.node_id, f"127.0.0.1:{port}"), credentials=None)
    return Served(client, server)


def burglary(station: Station, name: str, relative: str) -> str:
    fir = theft_fir()
    fir.persons.append(
        person(name, records_pb2.ACCUSED, age=34, sex="M", relation="S/o", relative_name=relative)
    )
    fir.persons[-1].accused_code = "A1"
    return registers.register_fir(station, OFFICER, fir).ref


def sheeted(
    station: Station, name: str, relative: str, entry: str = "window_grill_removed"
) -> tuple[str, str]:
    """An FIR naming `name` as its accused A1, with their MO, and a history sheet on them."""
    fir_number = burglary(station, name, relative)
    casework.record_mo(
        station,
        OFFICER,
        fir_number,
        records_pb2.ModusOperandi(
            accused_codes=["A1"],
            time_of_day="night",
            place_type="locked_house",
            entry_method=entry,
            property_taken=["gold_ornaments"],
        ),
    )
    day = ist_date(station.now()).isoformat()
    opened = history.open_sheet(
        station,
        OFFICER,
        records_pb2.HistorySheet(
            person=records_pb2.Person(
                name=name, relation="S/o", relative_name=relative, age=34, sex="M",
                address="Puthenpurayil House, Kalamassery",
            ),
            category="known_depredator",
            grounds="House-breakings by night.",
            ordered_by="PEN900001",
            ordered_by_rank="sp",
            order_reference="No. 12/HS/2026",
            order_date=day,
            cases=[records_pb2.SheetCase(fir_number=fir_number)],
        ),
    )  # fmt: skip
    return fir_number, opened.ref


def seed(station: Station) -> tuple[str, str, str]:
    """A sheeted burglar with an MO, a second sheet closed, and a protected victim's case."""
    fir_number, sheet = sheeted(station, NAME, "Gopalan")
    _, closed = sheeted(station, CLOSED_NAME, "Raghavan", "door_lock_broken")
    day = ist_date(station.now()).isoformat()
    history.close_sheet(
        station, OFFICER, closed, history.order("PEN900001", "sp", "No. 13", day), "Died."
    )
    registers.register_fir(station, OFFICER, sexual_offence_fir())
    return fir_number, sheet, closed


@pytest.fixture(scope="module")
def station_served(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Station, Served, tuple[str, str, str]]]:
    root: Path = tmp_path_factory.mktemp("history")
    data_dir = DataDir(root / "node")
    data_dir.create(origin=ORIGIN, district="Ernakulam City", station="Kalamassery")
    station = Station.open(data_dir)
    refs = seed(station)
    served = serve(StationPeerNode(station))
    try:
        yield station, served, refs
    finally:
        served.close()
        station.close()


def test_federated_history_search_finds_the_sheeted_person_misspelt(
    station_served: tuple[Station, Served, tuple[str, str, str]],
) -> None:
    station, served, (_, sheet, closed) = station_served
    response = served.search("history", "Sudeesh Kumar")
    (hit,) = [h for h in response.hits if h.ref == sheet]
    assert hit.title == NAME and hit.origin == ORIGIN
    assert "known depredator" in hit.detail.lower() and "open" in hit.detail
    receipt = verify_receipt(
        response.receipt, expected_origin=ORIGIN, owner_public_key=station.ledger.public_key
    )
    assert receipt.audit.query_kind == "search:history"
    # A closed sheet stays findable, and says it is closed.
    (gone,) = [h for h in served.search("history", "Manoharan").hits if h.ref == closed]
    assert gone.detail.endswith("closed") or ", closed" in gone.detail
    # History search finds only sheeted persons: the complainant of the same FIRs is not.
    assert not served.search("history", "Rajesh K").hits


def test_federated_person_search_says_the_person_is_history_sheeted(
    station_served: tuple[Station, Served, tuple[str, str, str]],
) -> None:
    _, served, (fir_number, sheet, _) = station_served
    hits = served.search("person", NAME).hits
    (accused,) = [h for h in hits if h.ref == fir_number]
    assert f"history-sheeted ({sheet}, open)" in accused.detail
    (complainant,) = [h for h in served.search("person", "Rajesh K").hits][:1]
    assert "history-sheeted" not in complainant.detail


def test_federated_mo_search_finds_the_accused(
    station_served: tuple[Station, Served, tuple[str, str, str]],
) -> None:
    _, served, (fir_number, _, _) = station_served
    hits = served.search("mo", MO_QUERY).hits
    best = hits[0]
    assert best.score == 1.0 and best.title == f"A1 {NAME}"
    assert best.ref == fir_number
    # The other burglar's MO matches two of the three attributes asked.
    assert [h.score for h in hits[1:]] == [round(2 / 3, 4)]
    assert "Window grill removed" in best.detail and "Gold ornaments" in best.detail
    with pytest.raises(InputError, match="MO search names attributes"):
        served.search("mo", "crowbar")


def test_federated_history_search_never_finds_a_protected_victim(
    station_served: tuple[Station, Served, tuple[str, str, str]],
) -> None:
    _, served, _ = station_served
    for kind in ("history", "person"):
        response = served.search(kind, VICTIM)
        shown = b"".join(hit.SerializeToString() for hit in response.hits)
        assert VICTIM.encode() not in shown


def test_district_replica_answers_history_and_mo_search(tmp_path: Path) -> None:
    district = build_district(tmp_path)
    served = None
    try:
        child = district.children[0]
        origin = child.config.origin
        fir_number, sheet, closed = seed(child)
        peer = LogPeer({origin: LedgerLogReader(child.ledger)}.__getitem__, "children")
        follow(district.replicas.get(origin).follower, peer)
        node = StationPeerNode(
            district.station, replicas=district.replicas, replica_indexes=district.indexes
        )
        served = serve(node)
        found = served.search("history", "Sudeesh Kumar").hits
        (hit,) = [h for h in found if h.ref == sheet]
        assert hit.origin == origin and hit.title == NAME and "open" in hit.detail
        assert any(
            h.ref == closed and "closed" in h.detail
            for h in served.search("history", CLOSED_NAME).hits
        )
        mo = served.search("mo", MO_QUERY).hits
        assert (mo[0].origin, mo[0].ref, mo[0].score) == (origin, fir_number, 1.0)
        people = served.search("person", NAME).hits
        assert any(
            h.ref == fir_number and f"history-sheeted ({sheet}, open)" in h.detail for h in people
        )
        assert VICTIM.encode() not in b"".join(
            h.SerializeToString() for h in served.search("person", VICTIM).hits
        )
    finally:
        if served is not None:
            served.close()
        district.close()
