"""Beats, the duty roster and the beat book on the web (`node.web.pages.duty`) over a real
station and real officer accounts: the SHO defines beats and assigns duties through the forms,
an overlapping duty is refused with the station's message and nothing written, the workload
panel lists the beat with the most incidents first and a pending warrant under its beat, a
patrol is written into the beat book, the CSVs carry the rows, a GD writer may write a patrol
but not assign, and every page speaks English and Malayalam."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest

from node.index import duty as duty_index
from node.records.validation import IST
from node.station import processes, registers
from protos import records_pb2
from tests.web.support import Node, login, open_kalamassery, post_form, web_node


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    tmp = tmp_path_factory.mktemp("duty")
    made = web_node(tmp, open_kalamassery(tmp))
    yield made
    made.close()


def _local(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M")


def test_duty_pages_define_assign_workload_patrol(node: Node) -> None:
    sho = login(node, "PEN420001", "sho")
    for code, name, places in (
        ("B1", "HMT Colony", "HMT Colony\nNorth Kalamassery"),
        ("B2", "Edappally", "Edappally; Pathadipalam"),
    ):
        form = {"code": code, "name": name, "localities": places}
        answer = post_form(sho, "/beats/define", form, page="/beats")
        assert answer.status_code == 303, answer.text
    beats_page = sho.get("/beats").text
    assert "North Kalamassery" in beats_page and "Pathadipalam" in beats_page
    for place in ("Edappally toll junction", "Edappally church", "HMT Colony gate"):
        fir = records_pb2.Fir(
            place_of_occurrence=records_pb2.Place(description=place),
            sections=[records_pb2.ActSection(act="BNS", section="303(2)")],
            brief_facts="A motorcycle parked by the road was stolen.",
            occurrence_from_ms=node.station.now() - 5 * 3_600_000,
        )
        fir.persons.add(person=records_pb2.Person(name="Rajesh K"), role=records_pb2.COMPLAINANT)
        registers.register_fir(node.station, "PEN420001", fir)
    today = datetime.now(IST)
    warrant = processes.receive_process(
        node.station, "PEN420001",
        records_pb2.CourtProcess(
            process_type="non_bailable_warrant", court="JFCM Kalamassery",
            court_case_number="CC 12/2026",
            returnable_date=(today.date() + timedelta(days=9)).isoformat(),
            person=records_pb2.Person(name="Suresh K", address="Near HMT Colony gate"),
        ),
    ).ref  # fmt: skip

    start = today + timedelta(hours=1)
    assign = {
        "officer_id": "PEN430017", "duty_kind": "beat_patrol", "beat_code": "B1",
        "from_time": _local(start), "to_time": _local(start + timedelta(hours=6)),
    }  # fmt: skip
    answer = post_form(sho, "/duty/assign", assign, page="/duty")
    assert answer.status_code == 303, answer.text
    size = node.station.ledger.size()
    clash = {**assign, "duty_kind": "court_duty", "beat_code": "", "place": "JFCM"}
    answer = post_form(sho, "/duty/assign", clash, page="/duty")
    assert answer.status_code == 400 and "PEN430017 is already on beat patrol" in answer.text
    assert node.station.ledger.size() == size

    day = start.date().isoformat()
    page = sho.get("/duty", params={"day": day}).text
    assert "PEN430017" in page and "Beat patrol" in page
    # The workload panel: B2 (two incidents) above B1 (one, and the warrant), B1 covered.
    workload = page[page.index('id="duty-workload"') :]
    assert workload.index('data-beat="B2"') < workload.index('data-beat="B1"')
    b1_row = workload[workload.index('data-beat="B1"') :].split("</tr>")[0]
    assert warrant in b1_row and "PEN430017" in b1_row
    b2_row = workload[workload.index('data-beat="B2"') :].split("</tr>")[0]
    assert "Not covered" in b2_row

    mine = sho.get("/duty", params={"officer": "PEN430017"}).text
    assert "PEN430017" in mine[mine.index('id="duty-roster"') :].split("</table>")[0]
    rows = list(csv.reader(io.StringIO(sho.get("/duty.csv", params={"day": day}).text)))
    assert rows[0][:3] == ["ref", "officer", "duty"]
    assert [r[1] for r in rows[1:]] == ["PEN430017"]
    (booked,) = duty_index.roster(node.station.index, 0, 2**62, officer_id="PEN430017")
    cancel = {"ref": f"DUTY-{booked.ledger_index}", "reason": "On leave", "day": day}
    assert post_form(sho, "/duty/cancel", cancel, page="/duty").status_code == 303
    assert "On leave" in sho.get("/duty", params={"day": day}).text

    writer = login(node, "PEN430020", "gd_writer")
    assert post_form(writer, "/duty/assign", assign, page="/duty").status_code == 403
    went = today - timedelta(hours=3)
    patrol = {
        "beat_code": "B1", "from_time": _local(went),
        "to_time": _local(went + timedelta(hours=2)),
        "points": f"{went.strftime('%H:%M')} HMT Colony gate\n"
                  f"{(went + timedelta(hours=1)).strftime('%H:%M')} North Kalamassery ATM",
        "observations": "Street light near the ATM not working.",
        "checks": "Biju M; Bus shelter; Loitering, sent home",
    }  # fmt: skip
    answer = post_form(writer, "/beat-book/new", patrol, page="/beat-book")
    assert answer.status_code == 303, answer.text
    book = writer.get("/beat-book", params={"beat": "B1"}).text
    assert "North Kalamassery ATM" in book and "Biju M" in book and "PEN430020" in book
    book_csv = writer.get("/beat-book.csv", params={"beat": "B1"}).text
    assert "Street light near the ATM" in book_csv
    assert "B2" in sho.get("/beats.csv").text

    retire = {"code": "B2", "reason": "Merged into B1"}
    assert post_form(sho, "/beats/retire", retire, page="/beats").status_code == 303
    answer = post_form(
        sho, "/duty/assign", {**assign, "officer_id": "PEN430021", "beat_code": "B2"}, page="/duty"
    )
    assert answer.status_code == 400 and "beat B2 is retired" in answer.text


@pytest.mark.parametrize(
    ("path", "english", "malayalam"),
    [
        ("/duty", "Duty roster", "ഡ്യൂട്ടി റോസ്റ്റർ"),
        ("/beats", "Beats", "ബീറ്റുകൾ"),
        ("/beat-book", "Beat book", "ബീറ്റ് ബുക്ക്"),
    ],
)
def test_duty_pages_in_english_and_malayalam(
    node: Node, path: str, english: str, malayalam: str
) -> None:
    sho = login(node, f"PEN42{len(path):04d}", "sho")
    page = sho.get(path)
    assert page.status_code == 200 and f"<h1>{english}" in page.text
    page = sho.get(path, params={"lang": "ml"})
    assert page.status_code == 200 and f"<h1>{malayalam}" in page.text
