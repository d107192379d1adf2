"""The systemd unit shipped in admin/systemd (docs/operators.md): `systemd-analyze verify` passes
on it where the machine has systemd-analyze (Debian does; the test says so when skipped), the
keys operators rely on are there (checked by parsing, everywhere), and a real node run the way
systemd runs it tells systemd it is ready, logs without timestamps of its own to the journal's
stream, and stops with exit 0 on SIGTERM."""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from node.config import DataDir
from tests.processes import REPO, launch_node, stop_node, wait_ready

UNIT = REPO / "admin" / "systemd" / "cctns-node@.service"
INSTALLED = "/opt/cctns/venv/bin/cctns"


def unit_keys(text: str) -> dict[str, dict[str, list[str]]]:
    """Section -> key -> values (a key may repeat), as systemd reads a unit file."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
            continue
        key, _, value = line.partition("=")
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


def test_systemd_unit_has_what_operators_rely_on() -> None:
    unit = unit_keys(UNIT.read_text("utf-8"))
    service = unit["Service"]
    expected = {
        "Type": "notify",  # READY=1 with the ready line (node.runtime.notify_systemd)
        "User": "cctns",  # a dedicated user, no root
        "KillSignal": "SIGTERM",
        "StandardError": "journal",
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "ProtectHome": "yes",
        "ReadWritePaths": "/var/lib/cctns/%i",  # the instance's data directory, and only it
        "Restart": "on-failure",
    }
    assert {key: service[key][-1] for key in expected} == expected
    assert service["ExecStart"] == [
        f"{INSTALLED} node serve --data-dir /var/lib/cctns/%i $CCTNS_OPTIONS"
    ]
    assert unit["Install"]["WantedBy"] == ["multi-user.target"]
    assert "network-online.target" in unit["Unit"]["After"]


@pytest.mark.skipif(
    shutil.which("systemd-analyze") is None, reason="systemd-analyze is not on this machine"
)
def test_systemd_unit_passes_systemd_analyze_verify(tmp_path: Path) -> None:
    # An instance of the template, its command pointed at this checkout's cctns (verify checks
    # that the command exists).
    instance = tmp_path / "cctns-node@ps-test.service"
    here = str(Path(sys.executable).parent / "cctns")
    instance.write_text(UNIT.read_text("utf-8").replace(INSTALLED, here), "utf-8")
    result = subprocess.run(
        ["systemd-analyze", "verify", str(instance)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert instance.name not in result.stderr, result.stderr


@pytest.mark.slow
def test_systemd_unit_node_notifies_logs_plainly_and_stops_on_sigterm(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data_dir = DataDir(tmp_path / "node")
    data_dir.create(origin="cctns.in/kerala/ernakulam-city/ps-kalamassery",
                    district="Ernakulam City", station="Kalamassery")  # fmt: skip
    log_path = tmp_path / "journal.log"
    log_path.touch()
    stream = log_path.stat()
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(tmp_path / "notify"))
    notify.settimeout(30)
    # What systemd hands a Type=notify service whose stderr is the journal.
    monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "notify"))
    monkeypatch.setenv("JOURNAL_STREAM", f"{stream.st_dev}:{stream.st_ino}")
    process = launch_node("node", "web", "--data-dir", str(data_dir.path),
                          "--http", "127.0.0.1:0", log_path=log_path)  # fmt: skip
    try:
        ready = wait_ready(process, log_path=log_path)
        assert notify.recv(4096).decode().startswith("READY=1\nSTATUS=cctns ready ")
        assert ready["web"].startswith("http://127.0.0.1:")
        process.send_signal(15)
        assert process.wait(timeout=30) == 0
        assert notify.recv(4096) == b"STOPPING=1"
    finally:
        stop_node(process)
        notify.close()
    lines = [line for line in log_path.read_text().splitlines() if line and "===" not in line]
    assert "INFO node.runtime: SIGTERM: stopping" in lines, lines
    # No timestamps of the node's own, and every line once (hypercorn's too, `[date] [pid] ...`).
    assert not [line for line in lines if re.match(r"\[?\d{4}-\d\d-\d\d", line)], lines
    assert len(lines) == len(set(lines)), lines
    assert "Traceback" not in "\n".join(lines)
