"""History sheets and MO over a real station (RocksDB ledger, SQLite index): a sheet opened,
reviewed and closed is three entries and the opening never changes; a sheet without its order
or grounds is refused with every problem listed and nothing written; a child is never
sheeted; an MO recorded for an accused and later superseded keeps both in the log; the
history-sheeted person is found by a misspelt name; a rebuilt index holds the same rows."""

from __future__ import annotations

import datetime
import io

import pytest
from pypdf import PdfReader

from ledger.errors import InputError
from node.index import history as register
from node.index.record_index import IndexedEntry, RecordIndex
from node.records.validation import IST, ist_date
from node.station import casework, history, investigation, registers
from node.station.core import Station, station_projections
from node.station.pdf_fonts import find_fonts, shaping_available
from node.station.register_export import csv_lines, open_register, parse_period, register_pdf
from protos import records_pb2
from tests.node.support import VICTIM, person, sexual_offence_fir, theft_fir

OFFICER = "PEN100001"
SP = "PEN900001"
NAME = "Sudheesh Kumar"


def refused(station: Station, fn: object, *args: object, **kw: object) -> InputError:
    size = station.ledger.size()
    with pytest.raises(InputError) as caught:
        fn(station, *args, **kw)  # type: ignore[operator]
    assert station.ledger.size() == size
    return caught.value


def burglary(station: Station) -> str:
    fir = theft_fir()
    fir.persons.append(
        person(NAME, records_pb2.ACCUSED, age=34, sex="M", relation="S/o", relative_name="Gopalan")
    )
    fir.persons[-1].accused_code = "A1"
    return registers.register_fir(station, OFFICER, fir).ref


def today(station: Station) -> str:
    return ist_date(station.now()).isoformat()


def sheet(fir_number: str, day: str, **fields: object) -> records_pb2.HistorySheet:
    given: dict[str, object] = {
        "person": records_pb2.Person(
            name=NAME, relation="S/o", relative_name="Gopalan", age=34, sex="M",
            address="Puthenpurayil House, HMT Colony, Kalamassery",
            aliases=["Kallan Sudhi"], identifying_marks=["mole on the left cheek"],
        ),
        "category": "known_depredator",
        "grounds": "Three house-breakings by night in two years; convicted once in 2024.",
        "ordered_by": SP,
        "ordered_by_rank": "sp",
        "order_reference": "No. 1234/HS/2026/EKM",
        "order_date": day,
        "cases": [records_pb2.SheetCase(fir_number=fir_number),
                  records_pb2.SheetCase(office="ps-aluva", fir_number="FIR No. 88/2025")],
        "mo": records_pb2.ModusOperandi(
            time_of_day="night", place_type="locked_house", entry_method="window_grill_removed",
            property_taken=["gold_ornaments"],
        ),
    }  # fmt: skip
    given.update(fields)
    return records_pb2.HistorySheet(**given)  # type: ignore[arg-type]


def test_history_sheet_opened_reviewed_closed_each_an_entry(station: Station) -> None:
    fir_number = burglary(station)
    day = today(station)
    opened = history.open_sheet(station, OFFICER, sheet(fir_number, day))
    year = ist_date(station.now()).year
    assert opened.ref == f"HS/{year}/000001"
    first = station.ledger.body(opened.index).SerializeToString()
    row = register.find_sheet(station.index.engine, opened.ref)
    assert row is not None and row.open and row.category == "known_depredator"
    assert row.cases == f"{fir_number}; FIR No. 88/2025 (ps-aluva)"
    assert row.mo["entry_method"] == "window_grill_removed"
    assert row.review_due_ms > station.now()

    sdpo = history.order("PEN900002", "sdpo", "No. 77/SDPO/2026", day)
    reviewed = history.review_sheet(
        station, OFFICER, opened.ref.lower().replace("000001", "1"), sdpo, "Still active."
    )
    closing = history.order(SP, "sp", "No. 90/HS/2026", day)
    closed = history.close_sheet(station, OFFICER, opened.ref, closing, "Reformed; employed.")
    assert opened.index < reviewed.index < closed.index
    # Nothing changed in place: the opening entry is as it was signed.
    assert station.ledger.body(opened.index).SerializeToString() == first
    bodies = [station.ledger.body(r.index).history_sheet for r in (opened, reviewed, closed)]
    assert [b.action for b in bodies] == ["opened", "reviewed", "closed"]
    assert {b.sheet_number for b in bodies} == {opened.ref}
    row = register.find_sheet(station.index.engine, opened.ref)
    assert row is not None and not row.open
    assert row.closing_note == "Reformed; employed." and row.ordered_by_rank == "sp"
    # The register still lists it, closed; its steps are all there.
    assert [r.sheet_number for r in register.sheets(station.index.engine)] == [opened.ref]
    assert register.sheets(station.index.engine, open_only=True) == []
    steps = register.steps(station.index.engine, row.ledger_index)
    assert [s.action for s in steps] == ["opened", "reviewed", "closed"]
    # A closed sheet takes no more steps.
    error = refused(station, history.review_sheet, OFFICER, opened.ref, sdpo, "again")
    assert "already closed" in str(error)
    # The next sheet continues the year's series.
    second = history.open_sheet(station, OFFICER, sheet(fir_number, day, category="suspect"))
    assert second.ref == f"HS/{year}/000002"


def test_history_sheet_without_order_or_grounds_lists_every_problem(station: Station) -> None:
    fir_number = burglary(station)
    bare = sheet(
        fir_number, "", grounds="", ordered_by="", ordered_by_rank="", order_reference="",
        category="goonda", cases=[records_pb2.SheetCase(fir_number="FIR No. 999/2026")],
    )  # fmt: skip
    error = refused(station, history.open_sheet, OFFICER, bare)
    message = str(error)
    for expected in (
        "the grounds for opening the sheet is required",
        "the officer who ordered opening the sheet",
        "the rank of the officer who ordered opening the sheet is required",
        "the reference of the order for opening the sheet is required",
        "the date of the order for opening the sheet is required",
        "the category is one of",
        "no FIR 'FIR No. 999/2026' at this station",
    ):
        assert expected in message, expected
    # An SHO may prepare a rowdy sheet but not order it; a closing needs a gazetted officer.
    sho = sheet(fir_number, today(station), ordered_by_rank="sho")
    assert "not by the Station House Officer" in str(
        refused(station, history.open_sheet, OFFICER, sho)
    )
    opened = history.open_sheet(station, OFFICER, sheet(fir_number, today(station)))
    by_sho = history.order(OFFICER, "sho", "No. 5/2026", today(station))
    error = refused(station, history.close_sheet, OFFICER, opened.ref, by_sho, "")
    assert "not by the Station House Officer" in str(error)
    assert "the reason the sheet is closed is required" in str(error)


def test_history_sheet_never_on_a_child(station: Station) -> None:
    fir_number = burglary(station)
    child = sheet(fir_number, today(station))
    child.person.age = 16
    assert "not opened on a child" in str(refused(station, history.open_sheet, OFFICER, child))
    born = sheet(fir_number, today(station), birth_year=ist_date(station.now()).year - 15)
    born.person.age = 0
    assert "not opened on a child" in str(refused(station, history.open_sheet, OFFICER, born))


def test_mo_recorded_and_superseded_both_in_the_log(station: Station) -> None:
    fir_number = burglary(station)
    first = casework.record_mo(
        station, OFFICER, fir_number,
        records_pb2.ModusOperandi(accused_codes=["a1"], time_of_day="night",
                                  entry_method="door_lock_broken", note="Used a crowbar."),
    )  # fmt: skip
    (row,) = register.case_mo(station.index.engine, fir_number)
    assert (row.accused_code, row.name, row.attributes["entry_method"]) == (
        "A1",
        NAME,
        "door_lock_broken",
    )
    later = casework.record_mo(
        station, OFFICER, fir_number,
        records_pb2.ModusOperandi(accused_codes=["A1"], time_of_day="night",
                                  place_type="locked_house", entry_method="window_grill_removed",
                                  property_taken=["gold_ornaments", "cash"], weapon="none",
                                  vehicle_used="motorcycle"),
    )  # fmt: skip
    (current,) = register.case_mo(station.index.engine, fir_number)
    assert current.ledger_index == later.index
    assert current.attributes["entry_method"] == "window_grill_removed"
    every = register.case_mo(station.index.engine, fir_number, current_only=False)
    assert [(r.ledger_index, r.superseded_by) for r in every] == [
        (first.index, later.index),
        (later.index, 0),
    ]
    # The first entry is in the log as it was written.
    assert station.ledger.body(first.index).case_event.mo.entry_method == "door_lock_broken"
    # An MO search finds the current entry, not the superseded one.
    found = register.match_mo(station.index.engine, {"entry_method": {"door_lock_broken"}})
    assert found == []
    found = register.match_mo(
        station.index.engine,
        {"entry_method": {"window_grill_removed"}, "property_taken": {"cash"}},
    )
    assert [(r.ledger_index, score) for r, score in found] == [(later.index, 1.0)]


def test_mo_refused_with_every_problem(station: Station) -> None:
    fir_number = burglary(station)
    bad = records_pb2.ModusOperandi(
        accused_codes=["A7"], time_of_day="noonish", property_taken=["gold", "cash"]
    )
    message = str(refused(station, casework.record_mo, OFFICER, fir_number, bad))
    assert "the time of day is one of" in message
    assert "the property taken is among" in message
    assert "has no accused A7" in message
    empty = records_pb2.ModusOperandi()
    message = str(refused(station, casework.record_mo, OFFICER, fir_number, empty))
    assert "name the accused" in message and "at least one attribute" in message


def test_history_sheeted_person_found_by_a_misspelt_name(station: Station) -> None:
    fir_number = burglary(station)
    opened = history.open_sheet(station, OFFICER, sheet(fir_number, today(station)))
    hits = station.index.search.persons("Sudeesh Kumar", role="history_sheeted")
    assert [(h.record_ref, h.role) for h in hits] == [(opened.ref, "history_sheeted")]
    assert station.index.search.persons("Kalan Sudhi", role="history_sheeted")


def test_history_rebuilt_index_holds_the_same_rows(station: Station) -> None:
    fir_number = burglary(station)
    day = today(station)
    opened = history.open_sheet(station, OFFICER, sheet(fir_number, day))
    history.close_sheet(station, OFFICER, opened.ref, history.order(SP, "sp", "No. 9", day), "x")
    casework.record_mo(
        station, OFFICER, fir_number,
        records_pb2.ModusOperandi(accused_codes=["A1"], weapon="knife"),
    )  # fmt: skip
    station.flush_index()
    fresh = RecordIndex("sqlite://", station_projections())
    try:
        fresh.apply([IndexedEntry(i, body) for i, body in station.ledger.bodies()])
        names = {t.name for t in register.TABLES}
        mine = [t for t in station.index.snapshot() if t[0] in names]
        assert mine == [t for t in fresh.snapshot() if t[0] in names]
        assert all(rows for _, rows in mine)
    finally:
        fresh.close()


def test_history_order_dated_in_the_future_is_refused(station: Station) -> None:
    fir_number = burglary(station)
    tomorrow = (ist_date(station.now()) + datetime.timedelta(days=2)).isoformat()
    message = str(refused(station, history.open_sheet, OFFICER, sheet(fir_number, tomorrow)))
    assert "dated in the future" in message


def test_history_sheet_never_names_a_person_the_case_protects(station: Station) -> None:
    protected_case = registers.register_fir(station, OFFICER, sexual_offence_fir()).ref
    given = sheet(protected_case, today(station))
    given.person.name = VICTIM
    message = str(refused(station, history.open_sheet, OFFICER, given))
    assert "holds the person as one the law protects" in message
    assert station.index.search.persons(VICTIM, role="history_sheeted") == []


def test_mo_of_a_child_accused_names_no_one(station: Station) -> None:
    fir = theft_fir()
    fir.persons.append(person("Aromal Babu", records_pb2.ACCUSED, age=16, sex="M", juvenile=True))
    fir.persons[-1].accused_code = "A1"
    fir_number = registers.register_fir(station, OFFICER, fir).ref
    done = casework.record_mo(
        station, OFFICER, fir_number,
        records_pb2.ModusOperandi(accused_codes=["A1"], entry_method="open_door"),
    )  # fmt: skip
    assert b"Aromal" not in station.ledger.body(done.index).SerializeToString()
    (row,) = register.case_mo(station.index.engine, fir_number)
    assert (row.accused_code, row.name) == ("A1", "")


def test_history_sheet_due_for_review_at_the_end_of_december(station: Station) -> None:
    fir_number = burglary(station)
    opened = history.open_sheet(station, OFFICER, sheet(fir_number, today(station)))
    row = register.find_sheet(station.index.engine, opened.ref)
    assert row is not None
    year = ist_date(station.now()).year
    assert row.review_due_ms == int(
        datetime.datetime(year + 1, 1, 1, tzinfo=IST).timestamp() * 1000
    )
    (due,) = [d for d in investigation.due_now(station, now=row.review_due_ms) if d.ref]
    assert (due.kind, due.ref, due.overdue) == ("history_review", opened.ref, True)
    assert row.review_overdue(row.review_due_ms) and not row.review_overdue(station.now())
    # Retained on review: due again at the end of the year of the review.
    later = row.review_due_ms + 3_600_000
    sdpo = history.order("PEN900002", "sdpo", "No. 1", today(station))
    history.review_sheet(station, OFFICER, opened.ref, sdpo, "Active.", at_ms=station.now())
    retained = register.find_sheet(station.index.engine, opened.ref)
    assert retained is not None and retained.review_due_ms == row.review_due_ms
    assert [d.ref for d in investigation.due_now(station, now=later) if d.ref] == [opened.ref]
    history.close_sheet(
        station, OFFICER, opened.ref, history.order(SP, "sp", "No. 2", today(station)), "x"
    )
    assert [d for d in investigation.due_now(station, now=later) if d.ref] == []


MALAYALAM_NAME = "സുധീഷ് കുമാർ"


@pytest.mark.skipif(
    not (find_fonts().has_malayalam and shaping_available()),
    reason="no Malayalam font (apt-get install fonts-smc-manjari) or no uharfbuzz",
)
def test_history_register_pdf_and_csv_hold_the_standing_sheets(station: Station) -> None:
    fir_number = burglary(station)
    day = today(station)
    given = sheet(fir_number, day)
    given.person.name = MALAYALAM_NAME
    opened = history.open_sheet(station, OFFICER, given)
    period = parse_period(day, day)
    register = open_register(station, "history", period, "ml")
    data = register_pdf(
        register, register.rows(), station_name="Kalamassery", district="Ernakulam City"
    )
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
    assert MALAYALAM_NAME in text and opened.ref in text
    assert "ഹിസ്റ്ററി ഷീറ്റ് രജിസ്റ്റർ" in text
    # A sheet closed stays in the registers of the periods it stood in.
    closing = history.order(SP, "sp", "No. 2", day)
    history.close_sheet(station, OFFICER, opened.ref, closing, "Left the State.")
    rows = list(open_register(station, "history", period).rows())
    assert [r[0] for r in rows] == [opened.ref] and rows[0][-1].startswith("closed")
    lines = list(csv_lines(register, open_register(station, "history", period).rows()))
    assert len(lines) == 2 and "Left the State." in lines[1]
