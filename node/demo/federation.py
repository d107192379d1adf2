"""`make run`: a small federation on one machine, every node a real process.

The national node (NCRB), one state node (SCRB), two district offices and four police stations,
each with its own key, certificate (the national node's from a demo national root, the others'
from a Kerala authority), RocksDB ledger, SQLite index and gRPC port on 127.0.0.1, stations
seeded with synthetic records. No peer list is written: each
node's federation.toml says only where it listens and who its parent is (and where), and the
nodes join as an operator would (`cctns federation join`, parents first, then `cctns node
serve`), learning the other offices from the signed directory (docs/directory.md). Each office
follows every office of its subtree the directory names: districts replicate their stations, the
state node every district and station, the national node every office, each indexed in one
aggregate index (docs/aggregate.md). Prints how to query one station from another, then
runs until Ctrl-C (or, with `--check`, asks every office from one station, fetches a record of
another district's station, and stops).
"""

from __future__ import annotations

import itertools
import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import trio

from federation.interfaces import PeerAddress
from federation.trust.authority import create_root, enrol_node, issue_state_authority
from ledger.errors import NotFound, PeerError, PeerUnavailable, UsageError
from node.config import (
    AGGREGATE_NAME,
    DataDir,
    FederationConfig,
    PeerEntry,
    load_federation,
    save_federation,
)
from node.demo import biometrics
from node.demo.seed import seed_station
from node.index.aggregate.index import AggregateIndex
from node.index.record_index import RecordIndex
from node.peers.clients import Peers
from node.records.validation import IST
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
    # The national node (NCRB) above the state: certified by the national root itself, it
    # follows and indexes every office of its subtree (docs/aggregate.md).
    DemoNode("ncrb", "cctns.in/national", "national", "New Delhi", "NCRB", ""),
    DemoNode("scrb", "cctns.in/kerala/scrb", "state", "Thiruvananthapuram City", "SCRB", "ncrb"),
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


# Ports for node processes started by tests under pytest-xdist: each worker its own block, below
# the kernel's ephemeral range (Debian's ip_local_port_range starts at 32768).
_WORKER_PORTS_FROM = 20000
_WORKER_BLOCK = 1500
_handed_out = itertools.count()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now, for a process started later to bind.

    The kernel's pick (bind to port 0) is used by the demo and the benchmarks. Between that pick
    and the node process binding it, the kernel may hand the same port to anyone else asking
    for one; with four pytest-xdist workers starting node processes at once that happened (a
    node failed to bind its gRPC port). So a test worker (PYTEST_XDIST_WORKER=gwN) hands out
    ports from a block of its own below the ephemeral range, which neither bind(0) nor outgoing
    connections draw from, in turn, skipping any port something is bound to."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if worker.startswith("gw") and worker[2:].isdigit():
        first = _WORKER_PORTS_FROM + int(worker[2:]) * _WORKER_BLOCK
        for _ in range(_WORKER_BLOCK):
            port = first + next(_handed_out) % _WORKER_BLOCK
            if _bindable(port):
                return port
        raise UsageError(f"no free port in {first}..{first + _WORKER_BLOCK - 1}")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        picked: int = sock.getsockname()[1]
        return picked


def _bindable(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the servers bind
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _descendants(name: str, nodes: Sequence[DemoNode] = NODES) -> list[DemoNode]:
    children = [n for n in nodes if n.parent == name]
    return children + [d for c in children for d in _descendants(c.name, nodes)]


def build(
    base: Path,
    *,
    records: int,
    nodes: Sequence[DemoNode] = NODES,
    peer_lists: bool = False,
    biometrics: bool = False,
) -> None:
    """Creates the demo's authorities, nodes, certificates, federation.toml files and records.
    `nodes` (the demo's eight by default: the national node, then one state's offices; the
    simulator's real-process mode passes its own) come parents before children. federation.toml
    holds what is local only (`listen`, `parent`, `parent_address`): the nodes learn each other
    from the directory once they join (`join_and_start`). `peer_lists` also writes every other
    node's address and ledger key as [[peers]] (local overrides, docs/directory.md): for tests
    and the simulator's real-process mode, which run some nodes without their parents or never
    join them. `biometrics` adds photos and fingerprint slips (node/demo/biometrics.py): the
    first station's arrested persons, and their chance print at a station of another district
    (about 15 s more)."""
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
            root if node.role == "national" else kerala,
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
            if other.name != node.name and peer_lists
        )
        save_federation(
            data_dir,
            FederationConfig(
                listen=f"127.0.0.1:{ports[node.name]}",
                parent=parent,
                peers=peers,
                parent_address=f"127.0.0.1:{ports[node.parent]}" if node.parent else "",
            ),
        )
        station = Station.open(data_dir)
        try:
            if node.role == "station" and records:
                print(f"seeding {node.name} ...", file=sys.stderr)
                seed_station(station, records, seed=100 + number)
                first = _first_fir(station)
                if first:
                    (data_dir.path / FIRST_FIR_NAME).write_text(first + "\n", encoding="utf-8")
                if biometrics:
                    _biometrics(station, data_dir.path, node, nodes, number, first)
        finally:
            station.close()
        _demo_officer(data_dir, node, number)


def _biometrics(
    station: Station,
    folder: Path,
    node: DemoNode,
    nodes: Sequence[DemoNode],
    number: int,
    first_fir: str,
) -> None:
    """Photos and ten-prints at the first station; the chance print of its first arrested
    person at the first station of another district (node/demo/biometrics.py)."""
    stations = [n for n in nodes if n.role == "station"]
    officer = f"PEN{100001 + number}"
    if node == stations[0]:
        print(f"photographing and fingerprinting at {node.name} ...", file=sys.stderr)
        biometrics.enrol_arrested(station, officer, folder)
    elif first_fir and node == next(
        (n for n in stations if n.district != stations[0].district), None
    ):
        biometrics.lift_chance_print(station, officer, first_fir, folder)


DEMO_PASSWORD = "kerala-police-demo"
# A seeded station's first FIR number, for the examples and `--check` (which FIRs the synthetic
# history holds depends on the day the demo is built: early in January there may be no FIR of
# the new year yet).
FIRST_FIR_NAME = "demo-first-fir.txt"


def _first_fir(station: Station) -> str:
    for _, body in station.ledger.bodies(0, station.ledger.size()):
        if body.WhichOneof("record") == "fir" and body.fir.fir_number:
            return str(body.fir.fir_number)
    return ""


def _demo_fir(base: Path, name: str) -> str:
    """The FIR number `build` noted for a seeded station (FIR No. 1 of this year if none)."""
    path = base / name / FIRST_FIR_NAME
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    return f"FIR No. 1/{time.localtime().tm_year}"


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


# The demo's directory round (and revocation exchange), in seconds: a station's entry reaches the
# state node one round of its district after it joined (30 s for a real node).
DIRECTORY_INTERVAL = 2.0
READY_TIMEOUT = 120.0  # s a level has to start and answer (a loaded machine is slow)


def start(
    base: Path,
    *,
    nodes: Sequence[DemoNode] = NODES,
    poll: float = 1.0,
    directory_interval: float | None = None,
) -> list[subprocess.Popen[bytes]]:
    """Starts every node (of `build`'s `nodes`) as its own process, replication polled every
    `poll` seconds, the directory kept every `directory_interval` seconds (the node's
    default when None); logs (and each node's ready line) go to <base>/logs/<name>.log."""
    (base / "logs").mkdir(exist_ok=True)
    processes = []
    http = _http_ports(base)
    for node in nodes:
        command = [sys.executable, "-m", "admin.cli", "node", "serve"]
        if directory_interval is not None:
            command += ["--revocation-interval", f"{directory_interval:g}"]
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


def _levels(nodes: Sequence[DemoNode]) -> list[list[DemoNode]]:
    """The nodes by depth in the tree: the national node, the state, its children..."""
    depth: dict[str, int] = {}
    for node in nodes:  # parents come first
        depth[node.name] = depth[node.parent] + 1 if node.parent else 0
    return [[n for n in nodes if depth[n.name] == d] for d in range(max(depth.values()) + 1)]


def join_and_start(
    base: Path,
    *,
    nodes: Sequence[DemoNode] = NODES,
    poll: float = 1.0,
    directory_interval: float = DIRECTORY_INTERVAL,
) -> list[subprocess.Popen[bytes]]:
    """Starts the nodes as an operator brings up a federation: level by level, parents first,
    each node `cctns federation join`s (announces itself to its running parent and reads its
    directory), then `cctns node serve`s. A join refused or failing stops everything (UsageError
    with the join's own message)."""
    processes: list[subprocess.Popen[bytes]] = []
    by_name = {n.name: n for n in nodes}
    try:
        for level in _levels(nodes):
            for parent in sorted({n.parent for n in level if n.parent}):
                trio.run(_wait_answering, base / by_name[parent].name, by_name[parent].node_id)
            joins = [(node, _join(base, node)) for node in level]
            try:
                for node, join in joins:
                    _, err = join.communicate(timeout=READY_TIMEOUT)
                    with (base / "logs" / f"{node.name}.log").open("ab") as log:
                        log.write(err)
                    if join.returncode != 0:
                        last = err.decode(errors="replace").strip().splitlines()[-1:]
                        raise UsageError(f"{node.node_id} could not join: {''.join(last)}")
            finally:
                stop([join for _, join in joins])
            processes += start(base, nodes=level, poll=poll, directory_interval=directory_interval)
    except BaseException:
        stop(processes)
        raise
    return processes


def _join(base: Path, node: DemoNode) -> subprocess.Popen[bytes]:
    """`cctns federation join` for `node` (its parent's address is in the federation.toml that
    `build` wrote, as `join` itself writes it)."""
    (base / "logs").mkdir(exist_ok=True)
    data_dir = DataDir(base / node.name)
    command = [sys.executable, "-m", "admin.cli", "federation", "join"]
    command += ["--data-dir", str(data_dir.path)]
    parent_address = load_federation(data_dir).parent_address
    if parent_address:
        command += ["--parent-address", parent_address]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


async def _wait_answering(
    data_dir: Path, node_id: str, *, asker: Path | None = None, timeout: float = READY_TIMEOUT
) -> None:
    """Until node `node_id` answers a checkpoint request from the node in `asker` (default:
    `data_dir`'s own node), its address found as that node finds it: federation.toml's parent
    address, the directory, or by asking up the chain of parents (`Peers.locate`)."""
    peers = Peers.load(DataDir(asker or data_dir))
    deadline = trio.current_time() + timeout
    while True:
        try:
            client = peers.client(await peers.locate(node_id))
            try:
                await client.get_checkpoint(timeout=2.0)
                return
            finally:
                client.close()
        except (PeerError, NotFound):
            if trio.current_time() > deadline:
                raise
            await trio.sleep(0.3)
            peers = Peers.load(DataDir(asker or data_dir))  # the directory as saved since


def _directory_of(data_dir: Path) -> set[str]:
    """The offices in a node's directory as it last saved it (every entry verified again)."""
    node = Peers.load(DataDir(data_dir)).directory
    return {entry.node_id for entry in node.directory.entries()} if node is not None else set()


async def _wait_ready(base: Path, timeout: float = READY_TIMEOUT) -> None:
    """Until the federation works without peer lists: the state node's directory holds every
    office (announced by its districts, relayed for their stations) and each answers it;
    Kalamassery finds Ollur, a station of another district, through the directory (up the
    chain of parents) and is answered; and Kalamassery's own directory holds every office (so
    `cctns peer search` from it asks them all)."""
    everyone = {node.node_id for node in NODES}
    state, station = base / NODES[0].name, base / "kalamassery"
    await _until(lambda: everyone <= _directory_of(state), "the state's directory", timeout)
    for node in NODES:
        await _wait_answering(state, node.node_id, timeout=timeout)
    ollur = next(n for n in NODES if n.name == "ollur")
    await _wait_answering(station, ollur.node_id, timeout=timeout)
    await _until(lambda: everyone <= _directory_of(station), "Kalamassery's directory", timeout)


async def _until(done: Callable[[], bool], what: str, timeout: float) -> None:
    deadline = trio.current_time() + timeout
    while not done():
        if trio.current_time() > deadline:
            raise PeerUnavailable(f"{what} is not complete after {timeout:g} s (see the logs)")
        await trio.sleep(0.3)


def stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def run_federation_demo(base: Path, *, records: int = 400, check: bool = False) -> int:
    """Builds (once), starts and explains the demo federation."""
    base = base.resolve()
    if not (base / "scrb" / "federation.toml").exists():
        if base.exists() and any(base.iterdir()):
            raise UsageError(f"{base} exists and is not a demo federation: remove it first")
        base.mkdir(parents=True, exist_ok=True)
        build(base, records=records, biometrics=True)
    processes = join_and_start(base)
    try:
        trio.run(_wait_ready, base)
        kal = shlex.quote(str(base / "kalamassery"))
        first_fir = _demo_fir(base, "ollur")
        print(
            f"\nA federation of {len(NODES)} nodes is running on 127.0.0.1 "
            f"(logs in {base / 'logs'}):"
        )
        for node in NODES:
            print(f"  {node.role:9} {node.node_id}")
        print("\nAsk every office from Kalamassery station (fan-out, verified answers):")
        print(f"  .venv/bin/cctns peer search 'Muhammed' --data-dir {kal}")
        print("Fetch one record from Ollur station, with its proofs:")
        print(
            f"  .venv/bin/cctns peer fetch '{first_fir}' "
            f"--node kerala/thrissur-city/ps-ollur --data-dir {kal}"
        )
        # Every office follows its subtree as the directory names it (docs/directory.md).
        print("Ask the state node (answers from its verified replicas, with freshness):")
        print(f"  .venv/bin/cctns peer search 'Raju' --nodes kerala/scrb --data-dir {kal}")
        print("Crime statistics at the national node, from its one index over every replica:")
        print(
            f"  .venv/bin/cctns stats crime --year {_this_year()} --india --data-dir "
            f"{shlex.quote(str(base / 'ncrb'))}"
        )
        print("Who holds this vehicle? (hit/no-hit)")
        print(f"  .venv/bin/cctns peer hit KL-07-AB-1234 --data-dir {kal}")
        chance = shlex.quote(str(base / "ollur" / biometrics.CHANCE_PRINT_FILE))
        face = shlex.quote(str(base / "kalamassery" / biometrics.FACE_PROBE_FILE))
        print("A chance print lifted at Ollur, searched at the state node among the ten-prints")
        print("of every station it replicates (Kalamassery's arrested persons among them):")
        print(
            f"  .venv/bin/cctns peer search --kind fingerprint --probe {chance} "
            f"--nodes kerala/scrb --data-dir {kal}"
        )
        print("Another photo of one of them, searched by face at the state node:")
        print(
            f"  .venv/bin/cctns peer search --kind face --probe {face} "
            f"--nodes kerala/scrb --data-dir {kal}"
        )
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
            return _check(base)
        print("\nPress Ctrl-C to stop the federation.")
        stop_signals = {signal.SIGINT, signal.SIGTERM}
        signal.pthread_sigmask(signal.SIG_BLOCK, stop_signals)
        signal.sigwait(stop_signals)
        return 0
    finally:
        stop(processes)


def _this_year() -> int:
    return datetime.now(IST).year


def _check(base: Path, attempts: int = 3) -> int:
    """`cctns demo --check`: Kalamassery asks every office (found through its directory) and
    each must answer; then it fetches, with its proofs, Ollur's first FIR (a station of the
    other district, found through the directory). 0 when both worked. The search is asked
    again (up to `attempts` times, 3 s apart) while an office is missing or late: on a loaded
    machine an office may miss the fan-out's deadline once; every attempt is printed."""
    station = str(base / "kalamassery")
    cli = [sys.executable, "-m", "admin.cli", "peer"]
    others = {n.node_id for n in NODES if n.name != "kalamassery"}
    for attempt in range(1, attempts + 1):
        search = subprocess.run(
            [*cli, "search", "Raju", "--json", "--data-dir", station],
            capture_output=True,
            text=True,
            check=False,
        )
        print(search.stderr, end="", file=sys.stderr)
        if search.returncode != 0:
            print(search.stdout)
            return search.returncode
        answer = json.loads(search.stdout)
        missing = sorted(others - set(answer["freshness"]))
        print(
            f"search from Kalamassery: {len(answer['hits'])} hits, answered by "
            f"{len(answer['freshness'])} offices, unanswered {answer['unanswered'] or 'none'}"
        )
        if not missing and not answer["unanswered"]:
            break
        if missing:
            print(f"not asked or not answering: {', '.join(missing)}")
        if attempt == attempts:
            return 1
        time.sleep(3)
    ollur = next(n for n in NODES if n.name == "ollur").node_id
    ref = _demo_fir(base, "ollur")
    fetch = subprocess.run(
        [*cli, "fetch", ref, "--node", ollur, "--json", "--data-dir", station],
        capture_output=True,
        text=True,
        check=False,
    )
    print(f"fetch {ref} from {ollur}: exit {fetch.returncode}")
    print(fetch.stderr, end="", file=sys.stderr)
    if fetch.returncode != 0:
        return fetch.returncode
    if not _national_counts_every_station(base):
        return 1
    return 0 if _state_finds_the_chance_print(base, station) else 1


def _state_finds_the_chance_print(base: Path, station: str, timeout: float = READY_TIMEOUT) -> bool:
    """Whether the state node, asked by Kalamassery, finds Ollur's chance print among the
    ten-prints it replicates: Kalamassery's, a hit (waiting up to `timeout` for the slips'
    blobs to arrive). True when the demo has no chance print (built without biometrics)."""
    probe = base / "ollur" / biometrics.CHANCE_PRINT_FILE
    if not probe.exists():
        return True
    kalamassery = next(n for n in NODES if n.name == "kalamassery").origin
    state = next(n for n in NODES if n.role == "state").node_id
    command = [sys.executable, "-m", "admin.cli", "peer", "search", "--kind", "fingerprint"]
    command += ["--probe", str(probe), "--nodes", state, "--json", "--data-dir", station]
    deadline = time.monotonic() + timeout
    hits: list[dict[str, str]] = []
    while time.monotonic() < deadline:
        search = subprocess.run(command, capture_output=True, text=True, check=False)
        if search.returncode == 0:
            hits = json.loads(search.stdout)["hits"]
            if (
                hits
                and hits[0].get("origin") == kalamassery
                and hits[0]["detail"].endswith("; hit")
            ):
                print(
                    f"state node: Ollur's chance print is a hit on {hits[0]['ref']} of "
                    f"{kalamassery.split('/', 1)[1]} ({hits[0]['detail']})"
                )
                return True
        time.sleep(2.0)
    print(f"state node: Ollur's chance print not found at Kalamassery: {hits}")
    return False


def _national_counts_every_station(base: Path, timeout: float = READY_TIMEOUT) -> bool:
    """Whether the national node's one index over its replicas counts, for every station, the
    crime FIRs the station's own index counts (waiting up to `timeout` for replication)."""
    stations = [n for n in NODES if n.role == "station"]
    own: dict[str, int] = {}
    for node in stations:
        index = RecordIndex(DataDir(base / node.name).load_config().index_url)
        try:
            own[node.origin] = sum(index.lookups.counts_by_crime_head().values())
        finally:
            index.close()
    national = next(n for n in NODES if n.role == "national")
    path = base / national.name / "replicas" / AGGREGATE_NAME
    deadline = time.monotonic() + timeout
    counted: dict[str, int] = {}
    while time.monotonic() < deadline:
        if path.exists():
            index_of_all = AggregateIndex(f"sqlite:///{path}")
            try:
                counted = dict(index_of_all.firs_by_office())
            finally:
                index_of_all.close()
            if all(counted.get(origin) == count for origin, count in own.items()):
                print(
                    f"national node: crime FIRs of {len(own)} stations counted as each "
                    f"station counts them ({sum(own.values())} in all)"
                )
                return True
        time.sleep(1.0)
    print(f"national node counts {counted}, the stations {own}")
    return False
