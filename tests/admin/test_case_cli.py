"""`cctns case ...` on a real node directory: trust a court, export a case, check the document
as a receiver would, import a signed message once, refuse a forged one."""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta
from pathlib import Path

import nacl.signing
import pytest

from node.config import DataDir
from node.records.exchange import inbound
from node.records.validation import IST
from node.station import registers
from node.station.core import Station
from tests.admin.support import run
from tests.node.support import theft_fir

ORIGIN = "cctns.in/kerala/ernakulam-city/ps-kalamassery"
OFFICER = "PEN100001"
COURT_KEY = nacl.signing.SigningKey(b"\x07" * 32)


def test_case_cli_export_check_import(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data_dir = DataDir(tmp_path / "node")
    data_dir.create(origin=ORIGIN, district="Ernakulam City", station="Kalamassery")
    station = Station.open(data_dir)
    try:
        number = registers.register_fir(station, OFFICER, theft_fir()).ref
    finally:
        station.close()
    data = str(data_dir.path)
    key = base64.b64encode(bytes(COURT_KEY.verify_key)).decode()
    code, out, err = run(
        capsys, "case", "add-system", "court.jfcm-kalamassery", "--kind", "court",
        "--name", "JFCM Kalamassery", "--public-key", key, "--officer", OFFICER, "--data-dir", data,
    )  # fmt: skip
    assert code == 0, err
    code, out, _ = run(capsys, "case", "list-systems", "--data-dir", data)
    assert [s["system_id"] for s in json.loads(out)] == ["court.jfcm-kalamassery"]

    document = tmp_path / "case.json"
    assert run(capsys, "case", "export", number, "--out", str(document), "--data-dir", data)[0] == 0
    code, out, err = run(capsys, "case", "check", str(document))
    assert code == 0, err
    assert json.loads(out)["ref"] == number

    today = datetime.now(IST).date().isoformat()
    message = inbound.sign_message(
        {
            "format": "cctns-inbound/1",
            "message_id": "JFCM/2026/1",
            "sender": "court.jfcm-kalamassery",
            "sent_on": today,
            "case": {"origin": ORIGIN, "fir_number": number},
            "kind": "court_hearing",
            "body": {"court": "JFCM Kalamassery", "hearing_date": today},
        },
        COURT_KEY,
    )
    path = tmp_path / "message.json"
    path.write_text(json.dumps(message), "utf-8")
    for appended in (True, False):
        code, out, err = run(
            capsys, "case", "import", str(path), "--officer", OFFICER, "--data-dir", data
        )
        assert code == 0, err
        assert json.loads(out)["appended"] is appended
    assert len(json.loads(out)["digest"]) == 64
    # The message is not kept beside the log: its free text may name a person the law
    # withholds, which only the (redacted) event may carry.
    assert not (data_dir.path / "exchange").exists()
    message["body"]["court"] = "JFCM Aluva"
    path.write_text(json.dumps(message), "utf-8")
    code, _, err = run(
        capsys, "case", "import", str(path), "--officer", OFFICER, "--data-dir", data
    )
    assert code == 3 and "signature" in err
    path.write_text(json.dumps({"format": "cctns-inbound/1"}), "utf-8")
    code, _, err = run(
        capsys, "case", "import", str(path), "--officer", OFFICER, "--data-dir", data
    )
    assert code == 2 and err.count("is a required property") == 7, err


def test_case_cli_investigation_forms(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An arrest, a remand, a seizure and an item's movement through `cctns case`, read back
    from the lock-up and property registers; a memo without its grounds is refused."""
    data_dir = DataDir(tmp_path / "node")
    data_dir.create(origin=ORIGIN, district="Ernakulam City", station="Kalamassery")
    station = Station.open(data_dir)
    try:
        number = registers.register_fir(station, OFFICER, theft_fir()).ref
    finally:
        station.close()
    data = ["--officer", OFFICER, "--data-dir", str(data_dir.path)]
    arrest = ["case", "arrest", number, "--accused", "A1", "--name", "Manoj P"]
    code, _, err = run(capsys, *arrest, "--witness", "Ramesh K", "--informed", "Shyla", *data)
    assert code != 0 and "grounds of arrest" in err
    memo = ["--grounds", "Named by the complainant", "--witness", "Ramesh K"]
    code, _, err = run(capsys, *arrest, *memo, "--informed", "Shyla, wife", *data)
    assert code == 0, err
    code, out, _ = run(capsys, "case", "lockup", "--data-dir", str(data_dir.path))
    (held,) = json.loads(out)
    assert (held["accused_code"], held["status"], held["production_overdue"]) == (
        "A1", "at_station", False,
    )  # fmt: skip
    until = (datetime.now(IST).date() + timedelta(days=10)).isoformat()
    code, _, err = run(
        capsys, "case", "custody", number, "--accused", "A1", "--order", "judicial_custody",
        "--court", "JFCM Kalamassery", "--until", until, *data,
    )  # fmt: skip
    assert code == 0, err
    code, out, _ = run(capsys, "case", "lockup", "--data-dir", str(data_dir.path))
    assert json.loads(out)[0]["status"] == "judicial_custody"
    code, out, err = run(
        capsys, "case", "seize", number, "--item", "mobile phone|Redmi 9|IMEI 356789104563217",
        "--place", "His house", "--witness", "Abdul Salam", "--video", "VID/118", *data,
    )  # fmt: skip
    assert code == 0, err
    (item,) = json.loads(out)["items"]
    code, _, err = run(
        capsys, "case", "move", number, item, "to_laboratory", "--to", "RFSL", "--reference",
        "Letter 56/2026", *data,
    )  # fmt: skip
    assert code == 0, err
    code, out, _ = run(capsys, "case", "property", "--data-dir", str(data_dir.path))
    (row,) = json.loads(out)
    assert (row["item"], row["location"]) == (item, "laboratory")
    assert [m["movement"] for m in row["movements"]] == ["to_laboratory"]
