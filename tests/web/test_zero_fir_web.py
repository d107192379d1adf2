"""A Zero FIR handed over from its case page: the sending station's web UI (inside its running
node) calls the station with jurisdiction over mutual TLS; both are real processes (slow)."""

from __future__ import annotations

import re
import subprocess
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pyotp
import pytest

from node.config import DataDir
from node.demo.federation import DEMO_PASSWORD, build, free_port
from node.records.validation import IST, utc_ms
from node.station import registers, transfer
from node.station.core import Station
from protos import records_pb2
from tests.processes import start_node, stop_node
from tests.web.browser import csrf_from, form_action

pytestmark = pytest.mark.slow

SENDER, RECEIVER = "kalamassery", "edappally"
RECEIVER_ID = "kerala/ernakulam-city/ps-edappally"


def _serve(base: Path, name: str, *extra: str) -> subprocess.Popen[bytes]:
    """`cctns node serve` of `name`, once its ready line has come."""
    process, _ = start_node(
        "node", "serve", "--data-dir", str(base / name), *extra, log_path=base / f"{name}.log"
    )
    return process


def _login(client: httpx.Client, officer: str, secret: str) -> None:
    """Password, then the code: on the TOTP page, or on the first-login setup page."""
    page = client.get("/login")
    step = client.post(
        "/login",
        data={"officer_id": officer, "password": DEMO_PASSWORD, "csrf_token": csrf_from(page.text)},
    )
    action = form_action(step.text, "code", "/login/totp")
    done = client.post(
        action, data={"code": pyotp.TOTP(secret).now(), "csrf_token": csrf_from(step.text)}
    )
    assert done.status_code == 200, done.text[:300]
    assert "cctns_session" in client.cookies


def test_zero_fir_sent_from_the_case_page(tmp_path: Path) -> None:
    build(tmp_path, records=15, peer_lists=True)
    sender = DataDir(tmp_path / SENDER)
    station = Station.open(sender)
    try:
        occurred = datetime.now(IST) - timedelta(hours=2)
        zero = registers.register_fir(
            station,
            "PEN100004",
            records_pb2.Fir(
                zero_fir=True,
                jurisdiction_station="Edappally",
                occurrence_from_ms=utc_ms(occurred),
                place_of_occurrence=records_pb2.Place(description="Edappally toll junction"),
                sections=[records_pb2.ActSection(act="BNS", section="303(2)")],
                brief_facts="Bag stolen from a parked scooter at Edappally.",
                persons=[
                    records_pb2.PersonInCase(
                        person=records_pb2.Person(name="Deepa Thomas", age=30, sex="F"),
                        role=records_pb2.COMPLAINANT,
                    )
                ],
            ),
        ).ref
    finally:
        station.close()
    officer, secret = (sender.path / "web" / "demo-officer.txt").read_text().split()
    port = free_port()
    receiver = _serve(tmp_path, RECEIVER)
    web = _serve(tmp_path, SENDER, "--http", f"127.0.0.1:{port}")
    try:
        url = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=url, follow_redirects=True, timeout=60) as client:
            _login(client, officer, secret)
            serial, year = re.findall(r"\d+", zero)
            case = f"/case/zero-{serial}-{year}"
            page = client.get(case)
            assert page.status_code == 200, page.text[:300]
            sent = client.post(
                f"{case}/send-zero",
                data={"to_station": RECEIVER_ID, "csrf_token": csrf_from(page.text)},
            )
            assert "numbered as FIR No." in sent.text, sent.text[-2000:]
    finally:
        for process in (web, receiver):
            stop_node(process)
    again = Station.open(sender)
    try:
        assert transfer.zero_fir_status(again, zero)["fir_number"].startswith("FIR No. ")
    finally:
        again.close()
