"""The investigation forms over a real station (RocksDB ledger, SQLite index): the arrest memo
and the 24-hour clock of the lock-up register, remand and bail with the final report's limit,
the seizure mahazar and an item's chain of custody, the case diary day by day, the final
report's two-month limit and the informant's ninety days; every refusal writes nothing, and a
rebuilt index holds the same registers."""

from __future__ import annotations

import pytest

from ledger.errors import InputError
from ledger.log import now_ms
from node.index import investigation as held
from node.records.investigation import item_ref
from node.records.validation import DAY_MS, ist_date
from node.station import casework, investigation, registers
from node.station.core import Station
from protos import records_pb2
from tests.node.support import VICTIM, sexual_offence_fir, station_clock_at, theft_fir

OFFICER = "PEN100001"
IO = "PEN300001"
HOUR = 60 * 60 * 1000


def refused(station: Station, message: str, fn: object, *args: object, **kw: object) -> None:
    size = station.ledger.size()
    with pytest.raises(InputError, match=message):
        fn(station, *args, **kw)  # type: ignore[operator]
    assert station.ledger.size() == size


def memo(**fields: object) -> records_pb2.ArrestMemo:
    given: dict[str, object] = {
        "place": "His house at Edappally",
        "grounds": "Named by the complainant; the stolen motorcycle found with him",
        "attesting_witness": "Ramesh K, neighbour",
        "informed_person": "Shyla, wife",
        "informed_at_ms": now_ms(),
    }
    given.update(fields)
    return records_pb2.ArrestMemo(**given)  # type: ignore[arg-type]


def accused(code: str, name: str) -> records_pb2.PersonInCase:
    return records_pb2.PersonInCase(
        person=records_pb2.Person(name=name, age=29, sex="M"), accused_code=code
    )


def happened(fir: records_pb2.Fir, registered_ms: int) -> records_pb2.Fir:
    """`fir` as if its offence happened six hours before `registered_ms`."""
    fir.occurrence_from_ms = registered_ms - 6 * HOUR
    fir.ClearField("occurrence_to_ms")
    return fir


def mahazar() -> records_pb2.Mahazar:
    return records_pb2.Mahazar(
        place="Shed behind the accused's house",
        witnesses=["Ramesh K", "Abdul Salam"],
        video_reference="VID/KLM/2026/118 (body camera 3)",
    )


def test_arrest_starts_the_production_clock_and_overdue_shows(station: Station) -> None:
    fir = registers.register_fir(station, OFFICER, theft_fir()).ref
    refused(
        station,
        "grounds of arrest.*attested",
        casework.arrest,
        IO,
        fir,
        [accused("A1", "Manoj P")],
        memo(grounds="", attesting_witness=""),
    )
    arrested_at = now_ms() - 30 * HOUR
    casework.arrest(station, IO, fir, [accused("A1", "Manoj P")], memo(), at_ms=arrested_at)
    (row,) = held.lockup_register(station.index)
    assert (row.accused_code, row.status, row.memo_complete) == ("A1", "at_station", True)
    assert row.production_due_ms == arrested_at + 24 * HOUR
    assert row.production_overdue(now_ms())
    due = investigation.due_now(station)
    assert [(d.kind, d.overdue) for d in due if d.kind == "production"] == [("production", True)]

    # A notice to appear in place of arrest holds nobody and starts no clock.
    casework.arrest(station, IO, fir, [accused("A2", "Sunil T")], memo(notice_to_appear=True))
    assert [r.accused_code for r in held.lockup_register(station.index)] == ["A1"]
    assert {r.accused_code: r.status for r in held.arrests(station.index, fir)}["A2"] == "noticed"

    # Produced and remanded: off the production list, the final report's clock set (theft:
    # three years, so 60 days, BNSS s.187(3)).
    refused(
        station,
        "at most 15 days",
        casework.order_custody,
        IO,
        fir,
        records_pb2.CustodyOrder(
            accused_code="A1", order="judicial_custody", court="JFCM Aluva",
            until_ms=now_ms() + 20 * DAY_MS,
        ),
    )  # fmt: skip
    refused(
        station,
        "A2 is not held",
        casework.order_custody,
        IO,
        fir,
        records_pb2.CustodyOrder(accused_code="A2", order="bail", court="JFCM", bail_bond="x"),
    )
    remanded = now_ms()
    casework.order_custody(
        station, IO, fir,
        records_pb2.CustodyOrder(
            accused_code="A1", order="judicial_custody", court="JFCM Aluva",
            until_ms=remanded + 14 * DAY_MS, order_reference="CMP 412/2026",
        ),
        at_ms=remanded,
    )  # fmt: skip
    (row,) = held.lockup_register(station.index)
    assert (row.status, row.court) == ("judicial_custody", "JFCM Aluva")
    assert not any(d.kind == "production" for d in investigation.due_now(station))
    clock = held.case_clock(station.index, fir)
    assert clock is not None and clock.final_report_due_ms == remanded + 60 * DAY_MS
    refused(
        station,
        "bail by default is due only",
        casework.order_custody,
        IO,
        fir,
        records_pb2.CustodyOrder(accused_code="A1", order="default_bail", court="JFCM Aluva"),
    )
    later = remanded + 61 * DAY_MS
    overdue = investigation.due_now(station, now=later)
    assert ("default_bail", fir, True) in [(d.kind, d.fir_number, d.overdue) for d in overdue]
    casework.order_custody(
        station,
        IO,
        fir,
        records_pb2.CustodyOrder(
            accused_code="A1", order="bail", court="JFCM", bail_bond="Rs 25,000"
        ),
        text="",
    )
    assert held.lockup_register(station.index) == []


def test_seized_item_goes_to_the_laboratory_and_back(station: Station) -> None:
    fir = registers.register_fir(station, OFFICER, theft_fir()).ref
    phone = records_pb2.PropertyItem(category="mobile phone", description="Redmi 9, black",
                                     identifiers="IMEI 356789104563217")  # fmt: skip
    refused(
        station,
        "at least one witness.*audio-video",
        casework.seize,
        IO,
        fir,
        [phone],
        records_pb2.Mahazar(place="Shed"),
    )
    receipt = casework.seize(station, IO, fir, [phone], mahazar())
    ref = item_ref(receipt.index, 1)
    (item,) = held.property_register(station.index, fir)
    assert (item.item_ref, item.location, item.witnesses) == (
        ref,
        "station",
        "Ramesh K; Abdul Salam",
    )
    refused(
        station,
        "at the station: it cannot be moved from laboratory",
        casework.move_property,
        IO,
        fir,
        records_pb2.PropertyMovement(
            item=ref, movement="from_laboratory", counterpart="FSL", reference="FSL/2026/77"
        ),
    )
    refused(
        station,
        "forwarding letter",
        casework.move_property,
        IO,
        fir,
        records_pb2.PropertyMovement(item=ref, movement="to_laboratory", counterpart="RFSL"),
    )
    steps = [
        ("to_laboratory", "Regional FSL Thiruvananthapuram", "Letter 56/2026", "laboratory"),
        ("from_laboratory", "Regional FSL Thiruvananthapuram", "FSL report 2026/77", "station"),
        ("to_court", "JFCM Aluva", "Property list 12/2026", "court"),
        ("returned_to_owner", "Leela Menon", "CMP 88/2026 (interim custody)", "owner"),
    ]
    before = station.ledger.size()
    for movement, counterpart, reference, _ in steps:
        casework.move_property(
            station, IO, fir,
            records_pb2.PropertyMovement(
                item=ref, movement=movement, counterpart=counterpart, reference=reference
            ),
        )  # fmt: skip
    # Each movement is an entry of the log, and the chain of custody lists them in order.
    kinds = [
        station.ledger.body(i).case_event.movement.movement
        for i in range(before, station.ledger.size())
    ]
    assert kinds == [s[0] for s in steps]
    chain = held.movements(station.index, ref)
    assert [(m.movement, m.to_location) for m in chain] == [(s[0], s[3]) for s in steps]
    assert chain[1].from_location == "laboratory"
    refused(
        station,
        "at the owner",
        casework.move_property,
        IO,
        fir,
        records_pb2.PropertyMovement(item=ref, movement="disposed", reference="order"),
    )


def test_case_diary_one_entry_per_day_never_changed(station: Station) -> None:
    fir = registers.register_fir(station, OFFICER, theft_fir()).ref
    today = ist_date(now_ms()).isoformat()
    day = records_pb2.DiaryDay(
        day=today,
        places_visited=["Scene at Kalamassery market"],
        statements=[
            records_pb2.DiaryStatement(
                witness=records_pb2.Person(name="Abdul Salam", age=51),
                summary="Saw two men push the motorcycle towards the highway at 11 pm",
            )
        ],
        documents=["CCTV footage from the market gate"],
    )
    casework.write_diary(station, IO, fir, day, "Visited the scene, examined one witness")
    assert list(held.diary_days(station.index, fir)) == [today]
    refused(station, "is written: an entry is never changed", casework.write_diary, IO, fir, day,
            "More")  # fmt: skip
    tomorrow = ist_date(now_ms() + DAY_MS).isoformat()
    refused(station, "in the future", casework.write_diary, IO, fir,
            records_pb2.DiaryDay(day=tomorrow), "Planned")  # fmt: skip
    # The diary is no record of its own: there is nothing an amendment could name to change it.
    with pytest.raises(InputError):
        registers.amend(station, OFFICER, f"{fir}/diary/{today}", "typo", {"text": "changed"})


def test_rape_case_final_report_due_in_two_months(station: Station) -> None:
    registered = now_ms() - 70 * DAY_MS
    with station_clock_at(station, registered):
        rape = happened(sexual_offence_fir(), registered)
        fir = registers.register_fir(station, OFFICER, rape).ref
        theft = registers.register_fir(station, OFFICER, happened(theft_fir(), registered)).ref
    due = {(d.kind, d.fir_number): d for d in investigation.due_now(station)}
    assert due[("final_report", fir)].overdue  # two months passed, no final report
    assert ("final_report", theft) not in due  # theft has no two-month limit
    # Ninety days for the informant: due in twenty days, beyond the week listed.
    assert ("progress", fir) not in due
    casework.record_case_event(
        station, IO, fir, "final_report", report_type="charge_sheet",
        sections=[records_pb2.ActSection(act="BNS", section="64(1)")],
    )  # fmt: skip
    kinds = {(d.kind, d.fir_number) for d in investigation.due_now(station)}
    assert ("final_report", fir) not in kinds


def test_informant_told_within_ninety_days(station: Station) -> None:
    registered = now_ms() - 95 * DAY_MS
    with station_clock_at(station, registered):
        fir = registers.register_fir(station, OFFICER, happened(theft_fir(), registered)).ref
    due = {(d.kind, d.fir_number): d for d in investigation.due_now(station)}
    assert due[("progress", fir)].overdue
    refused(station, "how and what", casework.inform_progress, IO, fir, "")
    casework.inform_progress(station, IO, fir, "Told by phone: two accused identified")
    assert ("progress", fir) not in {(d.kind, d.fir_number) for d in investigation.due_now(station)}


def test_registers_survive_a_rebuilt_index(station: Station) -> None:
    fir = registers.register_fir(station, OFFICER, theft_fir()).ref
    casework.arrest(station, IO, fir, [accused("A1", "Manoj P")], memo())
    seized = casework.seize(
        station, IO, fir, [records_pb2.PropertyItem(category="cash", description="Rs 4,000")],
        mahazar(),
    )  # fmt: skip
    ref = item_ref(seized.index, 1)
    casework.move_property(
        station, IO, fir,
        records_pb2.PropertyMovement(item=ref, movement="to_court", counterpart="JFCM",
                                     reference="PL 1/2026"),
    )  # fmt: skip
    before = (held.lockup_register(station.index), held.property_register(station.index))
    station.index.drop_all()
    station.sync_index()
    after = (held.lockup_register(station.index), held.property_register(station.index))
    assert after == before
    assert [m.movement for m in held.movements(station.index, ref)] == ["to_court"]


def test_fir_sent_to_magistrate_and_the_judgment(station: Station) -> None:
    registered = now_ms() - 2 * DAY_MS
    with station_clock_at(station, registered):
        fir = registers.register_fir(station, OFFICER, happened(theft_fir(), registered)).ref
    due = {(d.kind, d.fir_number): d for d in investigation.due_now(station)}
    assert due[("fir_to_magistrate", fir)].overdue  # "forthwith": a day at most here
    refused(station, "the magistrate", casework.send_to_magistrate, OFFICER, fir, "")
    casework.send_to_magistrate(station, OFFICER, fir, "JFCM Kalamassery")
    assert ("fir_to_magistrate", fir) not in {
        (d.kind, d.fir_number) for d in investigation.due_now(station)
    }

    today = ist_date(now_ms()).isoformat()
    judgment = records_pb2.Disposal(
        result="convicted", accused_codes=["a1"], court="JFCM Kalamassery",
        case_number="CC 231/2026", judgment_date=today,
    )  # fmt: skip
    refused(
        station, "sections the accused were convicted under.*sentence",
        casework.record_disposal, OFFICER, fir, judgment,
    )  # fmt: skip
    refused(
        station, "has no accused A9", casework.record_disposal, OFFICER, fir,
        records_pb2.Disposal(result="acquitted", accused_codes=["A9"], court="JFCM",
                             judgment_date=today),
    )  # fmt: skip
    judgment.sections.add(act="BNS", section="303(2)")
    judgment.sentence = "Simple imprisonment for one year and a fine of Rs 5,000"
    casework.record_disposal(station, OFFICER, fir, judgment)
    written = station.ledger.body(station.ledger.size() - 1).case_event
    assert (written.kind, list(written.disposal.accused_codes)) == ("court_disposal", ["A1"])
    refused(
        station, "the result is one of upheld", casework.record_disposal, OFFICER, fir,
        records_pb2.Disposal(result="convicted", accused_codes=["A1"], court="Sessions Court",
                             judgment_date=today),
        appeal=True,
    )  # fmt: skip


def test_investigation_forms_redact_a_protected_victims_name(station: Station) -> None:
    """A rape victim's name typed into the case diary (as the person examined, in what they
    said, in a place visited) and into a property movement's owner is withheld in the entry,
    as in the FIR; an address or phone number for the person examined is refused."""
    fir = registers.register_fir(station, OFFICER, sexual_offence_fir()).ref
    victim = VICTIM
    today = ist_date(now_ms()).isoformat()
    day = records_pb2.DiaryDay(
        day=today,
        places_visited=[f"House of {victim} at Kakkanad"],
        statements=[
            records_pb2.DiaryStatement(
                witness=records_pb2.Person(name=victim, age=24, sex="F"),
                summary=f"{victim} identified the accused at the bus stop",
            )
        ],
    )
    with_phone = records_pb2.DiaryDay()
    with_phone.CopyFrom(day)
    with_phone.statements[0].witness.mobile = "9447000111"
    refused(station, "address and phone belong", casework.write_diary, IO, fir, with_phone, "x")
    casework.write_diary(station, IO, fir, day, f"Recorded the statement of {victim}")
    written = station.ledger.body(station.ledger.size() - 1)
    assert victim.lower() not in str(written).lower()
    assert "[withheld:" in written.case_event.diary.statements[0].witness.name
    seized = casework.seize(
        station, IO, fir, [records_pb2.PropertyItem(category="mobile phone", description="Phone")],
        mahazar(),
    )  # fmt: skip
    casework.move_property(
        station, IO, fir,
        records_pb2.PropertyMovement(item=item_ref(seized.index, 1), movement="returned_to_owner",
                                     counterpart=victim, reference="CMP 9/2026"),
    )  # fmt: skip
    assert victim.lower() not in str(station.ledger.body(station.ledger.size() - 1)).lower()
