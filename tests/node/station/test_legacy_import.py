"""Legacy cases imported (`node.station.legacy`, `cctns import`): the sample export in both
formats, every problem of a bad export listed with nothing written, an import interrupted
half-way and run again ending with every case exactly once and the live series after it."""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime
from pathlib import Path

import pytest

from admin.cli import main
from ledger.errors import InputError, StoreError
from node.config import DataDir
from node.records.validation import IST, utc_ms
from node.station import legacy, registers
from node.station.core import Station
from protos import ledger_pb2
from tests.node.support import station_clock_at, theft_fir

SAMPLE = Path(__file__).resolve().parents[3] / "node" / "demo" / "seeddata" / "legacy"
OFFICER = "PEN100001"
SOURCE = "CCTNS 1.0 export, Kalamassery, 2016-2025"
# The station's clock in these tests: late 2025, after the sample's last case of the year.
TODAY = datetime(2025, 12, 20, 12, 0, tzinfo=IST)
NOW = utc_ms(TODAY)


def _bodies(station: Station) -> list[tuple[int, ledger_pb2.EntryBody]]:
    return list(station.ledger.bodies(0, station.ledger.size()))


def _sample(fmt: str) -> legacy.LegacyExport:
    path = SAMPLE / "cases.json" if fmt == "json" else SAMPLE
    export = legacy.read_export(path, OFFICER, fmt)
    assert export.problems == []
    return export


def test_legacy_sample_reads_alike_from_json_and_csv() -> None:
    from_json, from_csv = _sample("json"), _sample("csv")
    assert len(from_json.cases) == 20
    assert [c.ref for c in from_json.cases] == [c.ref for c in from_csv.cases]
    for a, b in zip(from_json.cases, from_csv.cases, strict=True):
        assert a.fir == b.fir and a.officer == b.officer
        assert [e for _, e in a.events] == [e for _, e in b.events]


def test_legacy_import_keeps_numbers_and_dates_and_marks_every_entry(station: Station) -> None:
    with station_clock_at(station, NOW):
        result = legacy.import_cases(station, _sample("json"), source=SOURCE)
    assert (result.imported, result.skipped, result.cases) == (20, 0, 20)
    written = _bodies(station)[1:]  # after the genesis entry
    assert len(written) == result.entries
    assert all(body.imported_from == SOURCE for _, body in written)
    kinds = Counter(body.WhichOneof("record") for _, body in written)
    assert kinds["fir"] == 20 and kinds["case_event"] == 28
    firs = {body.fir.fir_number: (index, body) for index, body in written if body.HasField("fir")}
    index, body = firs["FIR No. 57/2016"]
    assert body.fir.registered_at_ms == utc_ms(datetime(2016, 6, 14, 18, 45, tzinfo=IST))
    assert body.officer_id == OFFICER
    assert [p.accused_code for p in body.fir.persons[1:]] == ["A1", "A2"]
    assert body.fir.persons[0].person.name == "സുധ മേനോൻ"
    # Person ids name the entry they were written in, though drafted before any was written.
    assert all(p.person.person_id.startswith(f"P-{index}-") for p in body.fir.persons)
    assert firs["FIR No. 12/2016"][1].officer_id == "PEN100231"  # the row's own officer
    # The cited GD entry is kept; without one, an imported GD entry of the FIR's day is written.
    assert firs["FIR No. 96/2019"][1].fir.gd_reference == "2019-05-30/41"
    # A victim of a sexual offence is sealed, and her name redacted from the case's events.
    victim_case = firs["FIR No. 22/2019"][1].fir
    assert victim_case.persons[0].person.identity_commitment
    texts = [b.case_event.text for _, b in written if b.case_event.fir_number == "FIR No. 22/2019"]
    assert texts[0].startswith("Statement of [withheld:") and "Sreelakshmi" not in texts[0]


def test_legacy_bad_export_lists_every_problem_and_writes_nothing(
    station: Station, tmp_path: Path
) -> None:
    with station_clock_at(station, NOW):
        live = registers.register_fir(station, OFFICER, theft_fir(TODAY))
    assert live.ref == "FIR No. 1/2025"
    export = tmp_path / "export"
    export.mkdir()
    (export / "cases.csv").write_text(
        "fir_number,registered,occurrence_from,place,brief_facts\n"
        "5/2019,2019-13-01 10:00,2019-01-01,Kalamassery,Theft of a bicycle\n"  # line 2
        "6/2019,2019-02-01 10:00,2019-02-01 09:00,Kalamassery,Theft of a bicycle\n"  # line 3
        "6/2019,2019-02-02 10:00,2019-02-02 09:00,Kalamassery,Theft of a pump set\n"  # line 4
        "7/2019,2019-02-03 10:00,2019-02-03 09:00,,Theft of a bicycle\n"  # line 5
        "1/2025,2025-01-02 10:00,2025-01-02 09:00,Kalamassery,Theft of a bicycle\n",  # line 6
        "utf-8",
    )
    (export / "sections.csv").write_text(
        "fir_number,act,section\n6/2019,IPC,379\n7/2019,IPC,379\n1/2025,BNS,303(2)\n"
        "6/2019,IPC,9999\n9/2019,IPC,379\n",
        "utf-8",
    )
    (export / "persons.csv").write_text(
        "fir_number,role,name\n6/2019,complainant,Raju\n7/2019,complainant,Raju\n"
        "1/2025,complainant,Raju\n6/2019,bystander,Somu\n",
        "utf-8",
    )
    (export / "outcomes.csv").write_text(
        "fir_number,kind,date,report_type,sections\n6/2019,final_report,2019-01-30,charge_sheet,"
        "IPC 379\n",
        "utf-8",
    )
    size = station.ledger.size()
    with station_clock_at(station, NOW), pytest.raises(InputError) as caught:
        legacy.import_cases(station, legacy.read_export(export, OFFICER), source=SOURCE)
    found = "\n".join(caught.value.problems)
    for expected in (
        "cases.csv line 2: registered '2019-13-01 10:00' is not a date",
        "cases.csv line 4: duplicate FIR FIR No. 6/2019, also at cases.csv line 3",
        "cases.csv line 5: place is required",
        "sections.csv line 6: no case '9/2019' in cases.csv",
        "persons.csv line 5: role 'bystander' is not one of",
        "cases.csv line 6: FIR No. 1/2025 is already registered live at this station",
    ):
        assert expected in found, found
    assert station.ledger.size() == size  # nothing written
    # The persons row fixed, the station's rules speak: an unknown section, an event before
    # its FIR.
    (export / "persons.csv").write_text(
        "fir_number,role,name\n6/2019,complainant,Raju\n7/2019,complainant,Raju\n", "utf-8"
    )
    (export / "cases.csv").write_text(
        "fir_number,registered,occurrence_from,place,brief_facts\n"
        "6/2019,2019-02-01 10:00,2019-02-01 09:00,Kalamassery,Theft of a bicycle\n"
        "7/2019,2019-02-03 10:00,2019-02-03 09:00,Kalamassery,Theft of a bicycle\n",
        "utf-8",
    )
    (export / "sections.csv").write_text(
        "fir_number,act,section\n6/2019,IPC,9999\n7/2019,IPC,379\n", "utf-8"
    )
    (export / "outcomes.csv").write_text(
        "fir_number,kind,date,report_type,sections\n7/2019,final_report,2019-01-30,charge_sheet,"
        "IPC 379\n",
        "utf-8",
    )
    with station_clock_at(station, NOW), pytest.raises(InputError) as caught:
        legacy.import_cases(station, legacy.read_export(export, OFFICER), source=SOURCE)
    found = "\n".join(caught.value.problems)
    assert "cases.csv line 2 (FIR No. 6/2019): " in found and "9999" in found, found
    assert "outcomes.csv line 2: the date 2019-01-30 is before the FIR's registration" in found
    assert station.ledger.size() == size


def test_legacy_import_interrupted_and_run_again_ends_with_every_case_once(
    data_dir: DataDir,
) -> None:
    export = _sample("json")
    station = Station.open(data_dir)

    def power_cut(stage: str, done: int, total: int) -> None:
        # After the first chunk is durable, the ledger stops taking entries, as a node whose
        # store failed mid-import (the ledger's own halt: every later append raises).
        if stage == "importing":
            station.ledger.halt("power cut during the import")

    try:
        with station_clock_at(station, NOW), pytest.raises(StoreError):
            legacy.import_cases(station, export, source=SOURCE, chunk=8, progress=power_cut)
    finally:
        station.close()
    station = Station.open(data_dir)
    try:
        with station_clock_at(station, NOW):
            again = legacy.import_cases(station, export, source=SOURCE, chunk=8)
            assert (again.imported, again.skipped) == (12, 8)
            once_more = legacy.import_cases(station, export, source=SOURCE)
            assert (once_more.imported, once_more.skipped) == (0, 20)
            live = registers.register_fir(station, OFFICER, theft_fir(TODAY))
        bodies = [body for _, body in _bodies(station)]
        firs = Counter(b.fir.fir_number for b in bodies if b.HasField("fir"))
        assert sorted(firs.values()) == [1] * 21
        assert set(firs) == {case.ref for case in export.cases} | {live.ref}
        events = Counter(
            (b.case_event.fir_number, b.case_event.kind, b.case_event.at_ms)
            for b in bodies
            if b.HasField("case_event")
        )
        assert sum(events.values()) == 28 and set(events.values()) == {1}
        # The live series of 2025 continues after the highest imported number, 112/2025.
        assert live.ref == "FIR No. 113/2025"
        assert station.ledger.body(live.index).imported_from == ""
        # The same number with another registration time is another case: refused, not skipped.
        other = _sample("json").cases[0]
        other.fir.registered_at_ms += 60_000
        with station_clock_at(station, NOW), pytest.raises(InputError) as caught:
            legacy.import_cases(station, legacy.LegacyExport([other], []), source=SOURCE)
        assert caught.value.problems == [
            "cases.json case 1: FIR No. 12/2016 was imported before (from "
            f"{SOURCE!r}) with another registration time: not the same case"
        ]
    finally:
        station.close()


def test_cctns_import_runs_end_to_end(
    data_dir: DataDir, capsys: pytest.CaptureFixture[str]
) -> None:
    common = ["--source", SOURCE, "--officer", OFFICER, "--data-dir", str(data_dir.path)]
    code = main(["import", str(SAMPLE / "cases.json"), "--check", *common])
    out, err = capsys.readouterr()
    assert code == 0, err
    checked = json.loads(out)
    assert (checked["checked_only"], checked["imported"], checked["entries"]) == (True, 0, 67)
    code = main(["import", str(SAMPLE), *common])
    out, err = capsys.readouterr()
    assert code == 0, err
    result = json.loads(out)
    assert (result["imported"], result["skipped"], result["problems"]) == (20, 0, [])
    assert (result["first"], result["last"]) == ("FIR No. 12/2016", "FIR No. 112/2025")
    code = main(["import", str(SAMPLE / "cases.json"), "--format", "json", *common])
    out, err = capsys.readouterr()
    assert code == 0 and json.loads(out)["skipped"] == 20, err


def test_cctns_import_lists_problems_and_exits_2(
    data_dir: DataDir, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text(
        '{"fir_number": "3/2019", "registered": "2019-02-01", "place": "x"}\nnot json\n', "utf-8"
    )
    code = main(
        ["import", str(bad), "--source", SOURCE, "--officer", OFFICER, "--data-dir",
         str(data_dir.path)]
    )  # fmt: skip
    out, err = capsys.readouterr()
    assert code == 2
    problems = json.loads(out)["problems"]
    assert "bad.jsonl line 2: not JSON: Expecting value" in problems
    assert "bad.jsonl line 1: occurrence_from is required" in problems
    assert "bad.jsonl line 1: registered '2019-02-01' needs its time (YYYY-MM-DD HH:MM)" in problems
    assert "nothing imported" in err
