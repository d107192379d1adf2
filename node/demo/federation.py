"""`make run`: a small federation on one machine, every node a real process.

One state node (SCRB), two district offices and four police stations, each with its own key,
certificate (from a demo national root and a Kerala authority), RocksDB ledger, SQLite index and
gRPC port on 127.0.0.1, stations seeded with synthetic records. Districts replicate their
stations, the state replicates everyone. Prints how to query one station from another, then
runs until Ctrl-C (or, with `--check`, runs one cross-station search and stops).
"""

from __future__ import annotations

import shlex
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import trio

from federation.interfaces import PeerAddress
from federation.trust.authority import create_root, enrol_node, issue_state_authority
from ledger.errors import PeerError, UsageError
from node.config import DataDir, FederationConfig, PeerEntry, save_federation
from node.demo.seed import seed_station
from node.peers.clients import Peers
from node.station.core import Station
from node.web.auth import accounts_for


@dataclass(frozen=True, slots=True)
class DemoNode:
    name: str
    origin: str
    role: str
    district: str
    station: str
    parent: str  # name of the parent demo node, "" for the state

    @property
    def node_id(self) -> str:
        return self.origin.split("/", 1)[1]


NODES = (
    DemoNode("scrb", "cctns.in/kerala/scrb", "state", "Thiruvananthapuram City", "SCRB", ""),
    DemoNode(
        "ekm-dpo",
        "cctns.in/kerala/ernakulam-city/dpo",
        "district",
        "Ernakulam City",
        "District Police Office",
        "scrb",
    ),
    DemoNode(
        "tsr-dpo",
        "cctns.in/kerala/thrissur-city/dpo",
        "district",
        "Thrissur City",
        "District Police Office",
        "scrb",
    ),
    DemoNode(
        "kalamassery",
        "cctns.in/kerala/ernakulam-city/ps-kalamassery",
        "station",
        "Ernakulam City",
        "Kalamassery",
        "ekm-dpo",
    ),
    DemoNode(
        "edappally",
        "cctns.in/kerala/ernakulam-city/ps-edappally",
        "station",
        "Ernakulam City",
        "Edappally",
        "ekm-dpo",
    ),
    DemoNode(
        "ollur",
        "cctns.in/kerala/thrissur-city/ps-ollur",
        "station",
        "Thrissur City",
        "Ollur",
        "tsr-dpo",
    ),
    DemoNode(
        "thrissur-east",
        "cctns.in/kerala/thrissur-city/ps-thrissur-east",
        "station",
        "Thrissur City",
        "Thrissur East",
        "tsr-dpo",
    ),
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _descendants(name: str, nodes: Sequence[DemoNode] = NODES) -> list[DemoNode]:
    children = [n for n in nodes if n.parent == name]
    return children + [d for c in children for d in _descendants(c.name, nodes)]


def build(base: Path, *, records: int, nodes: Sequence[DemoNode] = NODES) -> None:
    """Creates the demo's authorities, nodes, certificates, federation.toml files and records.
    `nodes` (the demo's seven by default; the simulator's real-process mode passes its own)
    must be of one state, parents before children."""
    root = create_root(common_name="cctns demo national root")
    kerala = issue_state_authority(root, "kerala")
    root.save(base / "authorities" / "root")
    kerala.save(base / "authorities" / "kerala")
    ports = {node.name: free_port() for node in nodes}
    http_ports = {node.name: free_port() for node in nodes}
    (base / "http-ports.txt").write_text(
        "".join(f"{name} {port}\n" for name, port in http_ports.items())
    )
    keys: dict[str, bytes] = {}
    for node in nodes:
        data_dir = DataDir(base / node.name)
        data_dir.create(
            origin=node.origin, role=node.role, district=node.district, station=node.station
        )
        keys[node.name] = bytes(data_dir.load_key().verify_key)
    by_name = {node.name: node for node in nodes}
    for number, node in enumerate(nodes):
        data_dir = DataDir(base / node.name)
        parent = by_name[node.parent].node_id if node.parent else ""
        creds = enrol_node(
            kerala,
            node_id=node.node_id,
            role=node.role,
            parent=parent,
            ledger_key=keys[node.name],
            address=f"127.0.0.1:{ports[node.name]}",
        )
        creds.save(data_dir.path)
        follows = {d.name for d in _descendants(node.name, nodes)}
        peers = tuple(
            PeerEntry(
                PeerAddress(
                    node_id=other.node_id,
                    address=f"127.0.0.1:{ports[other.name]}",
                    role=other.role,
                    origin=other.origin,
                    ledger_key=keys[other.name],
                ),
                follow=other.name in follows,
            )
            for other in nodes
            if other.name != node.name
        )
        save_federation(
            data_dir,
            FederationConfig(listen=f"127.0.0.1:{ports[node.name]}", parent=parent, peers=peers),
        )
        station = Station.open(data_dir)
        try:
            if node.role == "station" and records:
                print(f"seeding {node.name} ...", file=sys.stderr)
                seed_station(station, records, seed=100 + number)
        finally:
            station.close()
        _demo_officer(data_dir, node, number)


DEMO_PASSWORD = "kerala-police-demo"


_OFFICER_ROLES = {
    "station": "sho",
    "circle": "circle_inspector",
    "sub-division": "sdpo",
    "district": "district_supervisor",
    "state": "scrb_analyst",
}


def _demo_officer(data_dir: DataDir, node: DemoNode, number: int) -> None:
    """One officer per office for trying the web UI; the TOTP secret is kept in the demo
    folder (demo only: a real node shows it once, to the officer). Offices with no web role
    of their own (control rooms, laboratories, bureaux) get none."""
    role = _OFFICER_ROLES.get(node.role)
    if role is None:
        return
    jurisdiction = node.node_id.rsplit("/", 1)[0] if node.role != "station" else ""
    accounts = accounts_for(data_dir)
    try:
        officer_id = f"PEN{100001 + number}"
        _, secret = accounts.create_officer(
            officer_id,
            f"Demo officer, {node.station}",
            "F",
            role,
            node.node_id,
            jurisdiction,
            DEMO_PASSWORD,
        )
        (data_dir.path / "web" / "demo-officer.txt").write_text(f"{officer_id} {secret}\n")
    finally:
        accounts.close()


def _http_ports(base: Path) -> dict[str, int]:
    lines = (base / "http-ports.txt").read_text().split("\n")
    return {name: int(port) for name, port in (line.split() for line in lines if line)}


def start(
    base: Path, *, nodes: Sequence[DemoNode] = NODES, poll: float = 1.0
) -> list[subprocess.Popen[bytes]]:
    """Starts every node (of `build`'s `nodes`) as its own process, replication polled every
    `poll` seconds; logs (and each node's ready line) go to <base>/logs/<name>.log."""
    (base / "logs").mkdir(exist_ok=True)
    processes = []
    http = _http_ports(base)
    for node in nodes:
        command = [sys.executable, "-m", "admin.cli", "node", "serve"]
        with (base / "logs" / f"{node.name}.log").open("ab") as log:
            processes.append(
                subprocess.Popen(
                    [
                        *command,
                        "--data-dir",
                        str(base / node.name),
                        "--poll",
                        str(poll),
                        "--http",
                        f"127.0.0.1:{http[node.name]}",
                    ],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
    return processes


async def _wait_ready(base: Path, timeout: float = 30.0) -> None:
    """Asks every node for its checkpoint, as the state node, until all answer."""
    peers = Peers.load(DataDir(base / "scrb"))
    federation = peers.federation
    targets = [e.address for e in federation.peers] + [
        PeerAddress(node_id=NODES[0].node_id, address=federation.listen)
    ]
    deadline = trio.current_time() + timeout
    for target in targets:
        client = peers.client(target)
        try:
            while True:
                try:
                    await client.get_checkpoint(timeout=2.0)
                    break
                except PeerError:
                    if trio.current_time() > deadline:
                        raise
                    await trio.sleep(0.3)
        finally:
            client.close()


def stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def run_federation_demo(base: Path, *, records: int = 400, check: bool = False) -> int:
    """Builds (once), starts and explains the demo federation."""
    base = base.resolve()
    if not (base / "scrb" / "federation.toml").exists():
        if base.exists() and any(base.iterdir()):
            raise UsageError(f"{base} exists and is not a demo federation: remove it first")
        base.mkdir(parents=True, exist_ok=True)
        build(base, records=records)
    processes = start(base)
    try:
        trio.run(_wait_ready, base)
        kal = shlex.quote(str(base / "kalamassery"))
        year = time.localtime().tm_year
        print(f"\nA federation of 7 nodes is running on 127.0.0.1 (logs in {base / 'logs'}):")
        for node in NODES:
            print(f"  {node.role:9} {node.node_id}")
        print("\nAsk every office from Kalamassery station (fan-out, verified answers):")
        print(f"  .venv/bin/cctns peer search 'Muhammed' --data-dir {kal}")
        print("Fetch one record from Ollur station, with its proofs:")
        print(
            f"  .venv/bin/cctns peer fetch 'FIR No. 1/{year}' "
            f"--node kerala/thrissur-city/ps-ollur --data-dir {kal}"
        )
        print("Ask the state node (answers from its verified replicas, with freshness):")
        print(f"  .venv/bin/cctns peer search 'Raju' --nodes kerala/scrb --data-dir {kal}")
        print("Who holds this vehicle? (hit/no-hit)")
        print(f"  .venv/bin/cctns peer hit KL-07-AB-1234 --data-dir {kal}")
        http = _http_ports(base)
        officer, secret = (base / "kalamassery" / "web" / "demo-officer.txt").read_text().split()
        print("\nWeb UI (citizens' portal needs no login):")
        for node in NODES:
            print(f"  http://127.0.0.1:{http[node.name]}/   {node.node_id}")
        print(f"Officer login at Kalamassery: {officer} / {DEMO_PASSWORD}, then the 6-digit code")
        print(
            f"from an authenticator app with key {secret} (or: .venv/bin/python -c "
            f"\"import pyotp; print(pyotp.TOTP('{secret}').now())\")"
        )
        if check:
            result = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "admin.cli",
                    "peer",
                    "search",
                    "Raju",
                    "--data-dir",
                    str(base / "kalamassery"),
                ],
                capture_output=True,
                text=True,
                check=False,
            )
            print(result.stdout)
            return result.returncode
        print("\nPress Ctrl-C to stop the federation.")
        stop_signals = {signal.SIGINT, signal.SIGTERM}
        signal.pthread_sigmask(signal.SIG_BLOCK, stop_signals)
        signal.sigwait(stop_signals)
        return 0
    finally:
        stop(processes)
