"""`make bench` (second part): the federation's throughput and latency over real gRPC with mutual
TLS on loopback, each figure printed beside a baseline measured in the same run on the same
machine (these machines are noisy; ratios travel).

Every node here is a real node in its own process (`python -m simulations.bench_federation
--serve DIR`): a data directory made with DataDir.create, a certificate from a national root and
a state authority (enrol_node), a federation.toml, and node.runtime.open_node (Station, RocksDB
ledger, SQLite index, replicas) behind start_server(PeerServicer(PeerService(StationPeerNode)))
on 127.0.0.1. The benchmark process is the asking node (a district office) with its own
certificate, using GrpcPeerClient from trio as a node does.

Measured:
- baselines: raw SHA-256 over 1 KiB buffers (hashlib) and raw Ed25519 verifications over 1 KiB
  (libsodium through nacl), per second, one thread;
- replication catch-up: a station with N entries of ~1 KiB; the district pulls it with
  ReplicaFollower + follow_round (pipelined: the next chunk is fetched while one is verified and
  the one before written) into a RocksDB ReplicaSet (with its witness cosigning the final
  checkpoint, no replica indexing: `on_verified` unset). Verified entries/s as a ratio of the raw
  SHA-256 rate (target >= 0.10; the SHA-256 rate measured again just before and after that
  catch-up, as the machine may be shared), and of the Ed25519 verify rate. The headline uses the
  defaults a running node uses (chunk 2048, batch 500); a larger chunk and batch (--chunk,
  --batch) is measured beside it (in trials it was no faster: within run-to-run noise);
- direct query latency: FetchRecord of FIR references from a seeded station, every answer
  checked with verify_record_response (signatures, inclusion proofs, checkpoint, receipt), p50 /
  p99, beside a bare echo RPC registered on the same server, called the same way (a blocking
  call in a trio worker thread over an mTLS channel built alike). Target p99 ratio <= 3. Each
  fetch appends a durable audit entry on the answering node: that cost is in the figure;
- fan-out latency: federated_search (person, receipts verified) to 20 real nodes at once,
  p50 / p99, beside the same search to one of them.

`--only catch-up direct fan-out` runs some of them (the baselines always run).
Results: bench-out/federation.json and bench-out/federation.svg.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import grpc
import nacl.bindings
import nacl.signing
import trio

from federation import tls
from federation.fanout import federated_search
from federation.grpc_client import DEFAULT_LIMITER, GRACE_SECONDS, GrpcPeerClient
from federation.grpc_server import MAX_MESSAGE_BYTES, PeerServicer, start_server
from federation.interfaces import PeerAddress
from federation.replicas import ReplicaSet
from federation.replication import DEFAULT_CHUNK, Witness
from federation.replication_loop import follow_round
from federation.service import DEFAULT_BATCH_SIZE, PeerService
from federation.trust.authority import create_root, enrol_node, issue_state_authority
from federation.trust.credentials import NodeCredentials
from federation.verify import verify_receipt, verify_record_response
from ledger.checkpoint import parse_note
from ledger.errors import PeerUnavailable
from node.config import DataDir, FederationConfig, save_federation
from node.demo.federation import free_port
from node.demo.seed import seed_station
from node.records.refs import record_ref
from node.records.validation import IST
from node.runtime import open_node, settle_heap
from node.station.core import Station
from protos import federation_pb2, ledger_pb2, records_pb2
from simulations.chart import bar_chart
from simulations.report import per_second, percentile, progress, save_results

SELF = "simulations.bench_federation"  # the node processes run this module with --serve
ENTRY_BYTES = 1024
ECHO_SERVICE = "bench.Echo"
ECHO_METHOD = f"/{ECHO_SERVICE}/Echo"
DISTRICT = "kerala/ernakulam-city/dpo"
CONTEXT = federation_pb2.QueryContext(
    officer_id="PEN100001", purpose="make bench", case_ref="BENCH/1/2026"
)
SHA_AROUND = 100_000  # 1 KiB buffers hashed just before and after each catch-up
CATCH_UP_TARGET = 0.10  # catch-up entries/s over raw SHA-256 (1 KiB) per second
BENCHES = ("catch-up", "direct", "fan-out")
QUERY_TARGET = 3.0  # direct query p99 over bare echo p99


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# -- baselines ---------------------------------------------------------------------------------


def sha256_rate(count: int) -> float:
    """Raw SHA-256 over `count` 1 KiB buffers, per second, one thread."""
    buffers = [os.urandom(ENTRY_BYTES) for _ in range(count)]
    sha256 = hashlib.sha256
    start = time.perf_counter()
    for buffer in buffers:
        sha256(buffer).digest()
    return per_second(count, time.perf_counter() - start)


def bench_baselines(count: int) -> dict[str, float]:
    """Raw SHA-256 and raw Ed25519 verification over 1 KiB buffers, one thread."""
    buffers = [os.urandom(ENTRY_BYTES) for _ in range(count)]
    sha_rate = sha256_rate(count)
    key = nacl.signing.SigningKey.generate()
    public = bytes(key.verify_key)
    signed = [bytes(key.sign(buffer)) for buffer in buffers[: max(1, count // 20)]]
    start = time.perf_counter()
    for message in signed:
        nacl.bindings.crypto_sign_open(message, public)
    verify_rate = per_second(len(signed), time.perf_counter() - start)
    return {"raw_sha256_per_s": sha_rate, "raw_ed25519_verify_per_s": verify_rate}


# -- building nodes ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BenchNode:
    """A node's data directory and what an asker needs to reach and check it."""

    path: Path
    node_id: str
    origin: str
    address: str
    ledger_key: bytes

    def peer(self) -> PeerAddress:
        return PeerAddress(
            node_id=self.node_id,
            address=self.address,
            role="station",
            origin=self.origin,
            ledger_key=self.ledger_key,
        )


@dataclass(frozen=True, slots=True)
class Asker:
    """The district office the benchmark acts as."""

    data_dir: DataDir
    credentials: NodeCredentials
    origin: str

    def client(self, node: BenchNode) -> GrpcPeerClient:
        return GrpcPeerClient(
            node.peer(),
            credentials=tls.channel_credentials(self.credentials),
            options=tls.channel_options(),
        )


class Federation:
    """A national root, the Kerala authority, and the nodes created under `base`."""

    def __init__(self, base: Path) -> None:
        self.base = base
        root = create_root(common_name="cctns bench national root")
        self.kerala = issue_state_authority(root, "kerala")

    def asker(self) -> Asker:
        origin = f"cctns.in/{DISTRICT}"
        data_dir = DataDir(self.base / "dpo")
        data_dir.create(
            origin=origin, role="district", district="Ernakulam City", station="District Office"
        )
        creds = enrol_node(
            self.kerala,
            node_id=DISTRICT,
            role="district",
            parent="kerala/scrb",
            ledger_key=bytes(data_dir.load_key().verify_key),
            address=f"127.0.0.1:{free_port()}",
        )
        return Asker(data_dir, creds, origin)

    def station(self, name: str, station: str) -> tuple[BenchNode, DataDir]:
        """A new enrolled station node (no records yet), with its federation.toml."""
        node_id = f"kerala/ernakulam-city/ps-{name}"
        origin = f"cctns.in/{node_id}"
        data_dir = DataDir(self.base / name)
        data_dir.create(origin=origin, role="station", district="Ernakulam City", station=station)
        key = bytes(data_dir.load_key().verify_key)
        address = f"127.0.0.1:{free_port()}"
        creds = enrol_node(
            self.kerala,
            node_id=node_id,
            role="station",
            parent=DISTRICT,
            ledger_key=key,
            address=address,
        )
        creds.save(data_dir.path)
        save_federation(data_dir, FederationConfig(listen=address, parent=DISTRICT))
        return BenchNode(data_dir.path, node_id, origin, address, key), data_dir


def _padded_gd(number: int, padding: str) -> ledger_pb2.EntryBody:
    return ledger_pb2.EntryBody(
        officer_id="PEN100001",
        general_diary=records_pb2.GeneralDiaryEntry(
            gd_date="2026-01-01",
            gd_number=number,
            entry_time_ms=1_767_225_600_000,
            category="information",
            summary=padding,
        ),
    )


def build_catch_up_node(federation: Federation, entries: int) -> tuple[BenchNode, float]:
    """A station whose log holds `entries` General Diary entries of ~1 KiB leaves (appended with
    Ledger.append_many in groups of 2000, then indexed); returns it and the mean leaf size."""
    node, data_dir = federation.station("catch-up", "Catch Up")
    station = Station.open(data_dir)
    try:
        # Size the padding so that a whole leaf (body, signature, framing) is about 1 KiB.
        probe = station.ledger.append(_padded_gd(0, ""))
        padding = "x" * max(0, ENTRY_BYTES - len(probe.leaf))
        group = 2000
        for first in range(1, entries, group):
            last = min(first + group, entries)
            station.ledger.append_many([_padded_gd(i, padding) for i in range(first, last)])
            progress("  appended", last, entries)
        _log("")
        station.sync_index()
        size = station.ledger.size()
        total = sum(len(leaf) for leaf in station.ledger.store.entries(size - 1000, size))
    finally:
        station.close()
    return node, total / 1000


def build_seeded_node(
    federation: Federation, name: str, records: int, seed: int
) -> tuple[BenchNode, list[str], list[str]]:
    """A station seeded with synthetic records; returns it, its FIR references and the names of
    the persons in its FIRs."""
    node, data_dir = federation.station(name, f"Bench {name}")
    station = Station.open(data_dir)
    try:
        seed_station(station, records, seed=seed, show_progress=False)
        firs: list[str] = []
        names: list[str] = []
        for _, body in station.ledger.bodies(0, station.ledger.size()):
            if body.WhichOneof("record") == "fir" and body.fir.fir_number:
                firs.append(record_ref(body))
                names.extend(p.person.name for p in body.fir.persons if p.person.name)
    finally:
        station.close()
    return node, firs, names


# -- running nodes -----------------------------------------------------------------------------


def _echo(request: bytes, context: grpc.ServicerContext) -> bytes:
    return request


def serve_node(path: Path) -> int:
    """The node process: opens the node as `cctns node serve` does, serves the Peer service
    (mTLS, health, reflection) plus a bare echo RPC on the same server, prints the port, and
    runs until its stdin closes."""
    with open_node(DataDir(path)) as parts:
        service = PeerService(parts.local)
        server, port = start_server(
            PeerServicer(service, parts.authenticate),
            parts.peers.federation.listen,
            credentials=tls.server_credentials(parts.peers.credentials),
        )
        echo = grpc.method_handlers_generic_handler(
            ECHO_SERVICE, {"Echo": grpc.unary_unary_rpc_method_handler(_echo)}
        )
        server.add_generic_rpc_handlers((echo,))
        settle_heap()  # as `cctns node serve` does once started
        print(port, flush=True)
        try:
            sys.stdin.read()
        finally:
            server.stop(grace=1.0).wait()
    return 0


@contextmanager
def running(nodes: Sequence[BenchNode], logs: Path) -> Iterator[None]:
    """Starts every node in its own process; stops them all on exit."""
    logs.mkdir(parents=True, exist_ok=True)
    processes: list[subprocess.Popen[bytes]] = []
    try:
        for node in nodes:
            with (logs / f"{node.path.name}.log").open("ab") as log:
                processes.append(
                    subprocess.Popen(
                        [sys.executable, "-m", SELF, "--serve", str(node.path)],
                        stdin=subprocess.PIPE,
                        stdout=subprocess.PIPE,
                        stderr=log,
                    )
                )
        for node, process in zip(nodes, processes, strict=True):
            assert process.stdout is not None
            line = process.stdout.readline().strip()
            if not line.isdigit():
                tail = (logs / f"{node.path.name}.log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"node {node.node_id} did not start:\n{tail}")
        yield
    finally:
        for process in processes:
            if process.stdin is not None:
                process.stdin.close()
        for process in processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


async def _until_ready(client: GrpcPeerClient) -> int:
    """Waits for the node to answer; returns its log size."""
    for _ in range(100):
        try:
            note = await client.get_checkpoint(timeout=2.0)
            return parse_note(note)[0].size
        except PeerUnavailable:
            await trio.sleep(0.1)
    raise RuntimeError(f"{client.node_id} never answered")


# -- catch-up ------------------------------------------------------------------------------------


async def _catch_up(
    asker: Asker, node: BenchNode, directory: Path, chunk: int, batch: int, limit: int = 0
) -> dict[str, float]:
    witness = Witness(
        key=asker.data_dir.load_key(), name=asker.origin, clock=lambda: int(time.time())
    )
    # No on_verified hook: replica indexing is not part of this figure.
    replicas = ReplicaSet(directory, witness=witness)
    client = asker.client(node)
    try:
        size = await _until_ready(client)
        size = min(size, limit) if limit else size
        follower = replicas.follow(node.origin, node.ledger_key)
        rounds = 0
        # The baseline again just before and after: on a machine shared with other work the
        # load changes from minute to minute, and the ratio should compare like with like.
        sha_before = sha256_rate(SHA_AROUND)
        start = time.perf_counter()
        while follower.verified_size < size:
            await follow_round(
                follower,
                client,
                chunk=chunk,
                batch_size=batch,
                timeout=60.0,
                max_entries=limit or None,
            )
            rounds += 1
        seconds = time.perf_counter() - start
        sha_after = sha256_rate(SHA_AROUND)
        verified = follower.verified_size
    finally:
        client.close()
        replicas.close()
    return {
        "entries": float(verified),
        "seconds": seconds,
        "entries_per_s": per_second(verified, seconds),
        "rounds": float(rounds),
        "sha256_per_s_around": (sha_before + sha_after) / 2,
        "chunk": float(chunk),
        "batch_size": float(batch),
    }


WARM_UP_ENTRIES = 0


def bench_catch_up(
    asker: Asker, node: BenchNode, work: Path, configs: Sequence[tuple[int, int]]
) -> dict[str, dict[str, float]]:
    results: dict[str, dict[str, float]] = {}
    settle_heap()  # this process follows the child as a serving node's replication does
    with running([node], work / "logs"):
        # A first catch-up, not counted, of a part of the log: measured ones all meet a child
        # that has served before (its caches, its store's files, its gRPC threads warm). Without
        # it the first configuration measured ran up to a third slower than the same one after.
        _log("  warm-up catch-up ...")
        trio.run(_catch_up, asker, node, work / "replicas-warm-up", *configs[0], WARM_UP_ENTRIES)
        for number, (chunk, batch) in enumerate(configs):
            _log(f"  catch-up with chunk {chunk}, batch {batch} ...")
            results[f"{chunk}/{batch}"] = trio.run(
                _catch_up, asker, node, work / f"replicas-{number}", chunk, batch
            )
    return results


# -- direct query ------------------------------------------------------------------------------


async def _in_thread(blocking: Callable[[], bytes], timeout: float) -> bytes:
    """A blocking gRPC call run exactly as GrpcPeerClient runs one."""
    with trio.move_on_after(timeout + GRACE_SECONDS):
        return await trio.to_thread.run_sync(
            blocking, abandon_on_cancel=True, limiter=DEFAULT_LIMITER
        )
    raise PeerUnavailable(f"no echo within {timeout:.1f} s")


async def _direct_queries(
    asker: Asker, node: BenchNode, refs: list[str], calls: int
) -> dict[str, Any]:
    client = asker.client(node)
    options = [
        ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
        ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
        *tls.channel_options(),
    ]
    channel = grpc.secure_channel(
        node.address, tls.channel_credentials(asker.credentials), options=options
    )
    echo: grpc.UnaryUnaryMultiCallable[bytes, bytes] = channel.unary_unary(ECHO_METHOD)
    rng = random.Random(7)
    timeout = 10.0
    try:
        size_before = await _until_ready(client)
        fetch: list[float] = []
        bare: list[float] = []
        sizes: list[int] = []
        warmup = 20
        for number in range(calls + warmup):
            ref = rng.choice(refs)
            request = federation_pb2.RecordRequest(ref=ref, context=CONTEXT)
            payload = request.SerializeToString()
            # Interleaved, so both see the same machine at the same moments.
            start = time.perf_counter()
            answer = await _in_thread(functools.partial(echo, payload, timeout=timeout), timeout)
            echo_seconds = time.perf_counter() - start
            assert answer == payload
            start = time.perf_counter()
            response = await client.fetch_record(request, timeout=timeout)
            verify_record_response(
                response,
                expected_origin=node.origin,
                owner_public_key=node.ledger_key,
                asker_node_id=DISTRICT,
                expected_ref=ref,
            )
            fetch_seconds = time.perf_counter() - start
            if number >= warmup:
                bare.append(echo_seconds)
                fetch.append(fetch_seconds)
                sizes.append(response.ByteSize())
        size_after = await _until_ready(client)
    finally:
        channel.close()
        client.close()
    f50, f99 = percentile(fetch, 50), percentile(fetch, 99)
    e50, e99 = percentile(bare, 50), percentile(bare, 99)
    return {
        "calls": calls,
        "fetch_p50_ms": f50 * 1000,
        "fetch_p99_ms": f99 * 1000,
        "echo_p50_ms": e50 * 1000,
        "echo_p99_ms": e99 * 1000,
        "p99_ratio": f99 / e99,
        "p50_ratio": f50 / e50,
        "response_bytes_mean": sum(sizes) / len(sizes),
        "request_bytes": len(payload),
        "audit_entries_appended": size_after - size_before,
        "log_size_before": size_before,
    }


# -- fan-out -------------------------------------------------------------------------------------


async def _fan_out(
    asker: Asker, nodes: Sequence[BenchNode], names: list[str], rounds: int, deadline: float
) -> dict[str, Any]:
    clients = [asker.client(node) for node in nodes]
    by_id = {node.node_id: node for node in nodes}

    def check(node_id: str, response: federation_pb2.SearchResponse) -> object:
        node = by_id[node_id]
        return verify_receipt(
            response.receipt,
            expected_origin=node.origin,
            owner_public_key=node.ledger_key,
            asker_node_id=DISTRICT,
        )

    rng = random.Random(11)
    try:
        for client in clients:
            await _until_ready(client)
        latencies: list[float] = []
        unanswered = 0
        hits = 0
        warmup = 5
        for number in range(rounds + warmup):
            request = federation_pb2.SearchRequest(
                kind="person", query=rng.choice(names), limit=20, context=CONTEXT
            )
            start = time.perf_counter()
            result = await federated_search(clients, request, deadline=deadline, verify=check)
            seconds = time.perf_counter() - start
            if number >= warmup:
                latencies.append(seconds)
                unanswered += len(result.unanswered)
                hits += len(result.hits)
    finally:
        for client in clients:
            client.close()
    return {
        "nodes": len(nodes),
        "rounds": rounds,
        "p50_ms": percentile(latencies, 50) * 1000,
        "p99_ms": percentile(latencies, 99) * 1000,
        "unanswered": unanswered,
        "hits_mean": hits / rounds,
    }


# -- main ----------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--serve", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--hashes", type=int, default=200_000, help="1 KiB buffers hashed")
    parser.add_argument("--entries", type=int, default=100_000, help="entries to catch up")
    parser.add_argument("--chunk", type=int, default=8192, help="larger chunk to compare")
    parser.add_argument("--batch", type=int, default=2000, help="larger batch to compare")
    parser.add_argument("--records", type=int, default=3000, help="records of the queried node")
    parser.add_argument("--queries", type=int, default=500, help="direct fetches (and echoes)")
    parser.add_argument("--nodes", type=int, default=20, help="nodes of the fan-out")
    parser.add_argument("--node-records", type=int, default=300, help="records per fan-out node")
    parser.add_argument("--rounds", type=int, default=100, help="fan-out searches")
    parser.add_argument("--deadline", type=float, default=5.0, help="fan-out deadline, seconds")
    parser.add_argument(
        "--only",
        nargs="+",
        choices=BENCHES,
        default=list(BENCHES),
        help="the benches to run (the baselines always run); results go to --out",
    )
    parser.add_argument("--out", default="bench-out/federation.json")
    args = parser.parse_args(argv)
    if args.serve is not None:
        return serve_node(args.serve)

    results: dict[str, Any] = {
        "when": datetime.now(IST).isoformat(),
        "cpus": os.cpu_count(),
        "nodes_run_as": "one OS process per node (python -m simulations.bench_federation "
        "--serve DIR: node.runtime.open_node + start_server, mutual TLS on 127.0.0.1)",
    }
    with tempfile.TemporaryDirectory(prefix="cctns-bench-fed-") as tmp:
        work = Path(tmp)
        federation = Federation(work / "nodes")
        asker = federation.asker()

        _log(f"baselines: SHA-256 over {args.hashes:,} x 1 KiB, Ed25519 verify ...")
        results["baselines"] = bench_baselines(args.hashes)

        if "catch-up" in args.only:
            _log(f"catch-up: building a station with {args.entries:,} entries of ~1 KiB ...")
            child, leaf_bytes = build_catch_up_node(federation, args.entries)
            configs = [(DEFAULT_CHUNK, DEFAULT_BATCH_SIZE), (args.chunk, args.batch)]
            runs = bench_catch_up(asker, child, work, list(dict.fromkeys(configs)))
            results["catch_up"] = {"leaf_bytes_mean": leaf_bytes, "runs": runs}
            results["catch_up"]["chosen"] = f"{DEFAULT_CHUNK}/{DEFAULT_BATCH_SIZE}"

        if "direct" in args.only:
            _log(f"direct query: seeding a station with {args.records:,} records ...")
            queried, refs, _ = build_seeded_node(federation, "queried", args.records, seed=3)
            with running([queried], work / "logs"):
                _log(f"  {args.queries} fetches + {args.queries} echoes ...")
                results["direct"] = trio.run(_direct_queries, asker, queried, refs, args.queries)
            results["direct"]["records"] = args.records

        if "fan-out" in args.only:
            _log(f"fan-out: seeding {args.nodes} stations x {args.node_records} records ...")
            members: list[BenchNode] = []
            names: list[str] = []
            for number in range(args.nodes):
                node, _, found = build_seeded_node(
                    federation, f"bench-{number + 1:02d}", args.node_records, seed=100 + number
                )
                members.append(node)
                names.extend(found)
            _log(f"  starting {args.nodes} node processes ...")
            with running(members, work / "logs"):
                fan: dict[str, Any] = {}
                for label, group in (("one", members[:1]), ("all", members)):
                    _log(f"  {args.rounds} person searches to {len(group)} node(s) ...")
                    fan[label] = trio.run(
                        _fan_out, asker, group, sorted(set(names)), args.rounds, args.deadline
                    )
                fan["p99_ratio"] = fan["all"]["p99_ms"] / fan["one"]["p99_ms"]
                fan["p50_ratio"] = fan["all"]["p50_ms"] / fan["one"]["p50_ms"]
                fan["deadline_s"] = args.deadline
            results["fan_out"] = fan

    _derive(results)
    _report(results)
    save_results(results, args.out, _chart)
    return 0


def _derive(r: dict[str, Any]) -> None:
    sha = r["baselines"]["raw_sha256_per_s"]
    ed = r["baselines"]["raw_ed25519_verify_per_s"]
    if "catch_up" in r:
        for run in r["catch_up"]["runs"].values():
            run["ratio_to_sha256"] = run["entries_per_s"] / run["sha256_per_s_around"]
            run["ratio_to_sha256_of_the_run"] = run["entries_per_s"] / sha
            run["ratio_to_ed25519_verify"] = run["entries_per_s"] / ed
        chosen = r["catch_up"]["runs"][r["catch_up"]["chosen"]]
        r["catch_up"]["entries_per_s"] = chosen["entries_per_s"]
        r["catch_up"]["ratio_to_sha256"] = chosen["ratio_to_sha256"]
        r["catch_up"]["meets_target"] = chosen["ratio_to_sha256"] >= CATCH_UP_TARGET
    if "direct" in r:
        r["direct"]["meets_target"] = r["direct"]["p99_ratio"] <= QUERY_TARGET
    r["targets"] = {
        "catch_up_ratio_to_sha256_min": CATCH_UP_TARGET,
        "direct_p99_ratio_to_echo_max": QUERY_TARGET,
    }


def _verdict(ok: bool, target: str) -> str:
    return f"({'meets' if ok else 'MISSES'} target {target})"


def _report(r: dict[str, Any]) -> None:
    base = r["baselines"]
    sha, ed = base["raw_sha256_per_s"], base["raw_ed25519_verify_per_s"]
    print("\n== federation benchmark (gRPC + mutual TLS on 127.0.0.1, one process per node) ==")
    print(f"machine: {r['cpus']} CPUs")
    print(f"raw SHA-256 over 1 KiB, per s (baseline)      {sha:12,.0f}")
    print(f"raw Ed25519 verify over 1 KiB, per s (base.)  {ed:12,.0f}")
    if "catch_up" in r:
        _report_catch_up(r["catch_up"])
    if "direct" in r:
        _report_direct(r["direct"])
    if "fan_out" in r:
        _report_fan_out(r["fan_out"], r["cpus"])


def _report_catch_up(catch: dict[str, Any]) -> None:
    print(
        f"catch-up: {int(next(iter(catch['runs'].values()))['entries']):,} entries, "
        f"leaf {catch['leaf_bytes_mean']:.0f} bytes mean, two nodes, RocksDB replica, "
        "no replica indexing"
    )
    for key, run in catch["runs"].items():
        chunk, batch = key.split("/")
        tag = "default" if key == catch["chosen"] else "larger"
        line = (
            f"  chunk {chunk:>5}, batch {batch:>4} ({tag:7}) {run['entries_per_s']:10,.0f}/s"
            f"   /SHA-256 {run['ratio_to_sha256']:.3f} (around: "
            f"{run['sha256_per_s_around']:,.0f}/s)  /Ed25519 verify "
            f"{run['ratio_to_ed25519_verify']:.2f}"
        )
        if key == catch["chosen"]:
            line += "  " + _verdict(catch["meets_target"], f">= {CATCH_UP_TARGET}")
        print(line)


def _report_direct(direct: dict[str, Any]) -> None:
    print(
        f"direct FetchRecord + verify_record_response over {direct['records']:,} records, "
        f"{direct['calls']} calls (each appends a durable audit entry: "
        f"{direct['audit_entries_appended']} appended, warm-up included)"
    )
    print(
        f"  fetch  p50 {direct['fetch_p50_ms']:7.2f} ms   p99 {direct['fetch_p99_ms']:7.2f} ms"
        f"   (answer {direct['response_bytes_mean']:.0f} bytes mean)"
    )
    print(
        f"  echo   p50 {direct['echo_p50_ms']:7.2f} ms   p99 {direct['echo_p99_ms']:7.2f} ms"
        f"   (same server, same mTLS, {direct['request_bytes']} bytes each way)"
    )
    print(
        f"  ratio  p50 {direct['p50_ratio']:7.2f}      p99 {direct['p99_ratio']:7.2f}      "
        + _verdict(direct["meets_target"], f"<= {QUERY_TARGET:g}")
    )


def _report_fan_out(fan: dict[str, Any], cpus: int) -> None:
    one, every = fan["one"], fan["all"]
    print(
        f"fan-out person search, receipts verified, deadline {fan['deadline_s']:g} s, "
        f"{every['rounds']} rounds"
    )
    for label, part in (("1 node", one), (f"{every['nodes']} nodes", every)):
        print(
            f"  {label:8} p50 {part['p50_ms']:7.2f} ms   p99 {part['p99_ms']:7.2f} ms"
            f"   unanswered {part['unanswered']}, hits/round {part['hits_mean']:.1f}"
        )
    print(
        f"  ratio {every['nodes']} nodes / 1 node: p50 {fan['p50_ratio']:.2f}, "
        f"p99 {fan['p99_ratio']:.2f}  (no target; {cpus} CPUs serve "
        f"{every['nodes']} node processes)"
    )


def _stack(charts: Sequence[str]) -> str:
    """Several bar charts one under the other, in one SVG document."""
    parts: list[str] = []
    offset = 0
    width = 0
    for chart in charts:
        head = chart.split(">", 1)[0]
        height = int(head.split('height="', 1)[1].split('"', 1)[0])
        width = max(width, int(head.split('width="', 1)[1].split('"', 1)[0]))
        parts.append(chart.replace("<svg ", f'<svg y="{offset}" ', 1))
        offset += height + 10
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{offset}">\n'
        + "".join(parts)
        + "</svg>\n"
    )


def _chart(r: dict[str, Any]) -> str:
    base = r["baselines"]
    sha = base["raw_sha256_per_s"]
    charts: list[str] = []
    if "catch_up" in r:
        throughput = [
            ("raw SHA-256 1 KiB/s (baseline)", 1.0, f"{sha:,.0f}/s"),
            (
                "raw Ed25519 verify 1 KiB/s",
                base["raw_ed25519_verify_per_s"] / sha,
                f"{base['raw_ed25519_verify_per_s']:,.0f}/s",
            ),
        ]
        for key, run in r["catch_up"]["runs"].items():
            ratio = run["ratio_to_sha256"]
            throughput.append(
                (
                    f"catch-up, chunk/batch {key}",
                    ratio,
                    f"{run['entries_per_s']:,.0f}/s  ({ratio:.3f})",
                )
            )
        charts.append(
            bar_chart(
                "Replication catch-up against raw SHA-256 (same run)",
                throughput,
                target=CATCH_UP_TARGET,
                target_label=f"target {CATCH_UP_TARGET}",
            )
        )
    if "direct" in r:
        direct = r["direct"]
        latency = [
            ("bare echo p99 (baseline)", 1.0, f"{direct['echo_p99_ms']:.2f} ms"),
            (
                "FetchRecord + verify p99",
                direct["p99_ratio"],
                f"{direct['fetch_p99_ms']:.2f} ms  ({direct['p99_ratio']:.2f})",
            ),
        ]
        charts.append(
            bar_chart(
                "Query latency p99 against a bare mTLS echo (same run)",
                latency,
                target=QUERY_TARGET,
                target_label=f"target {QUERY_TARGET:g}",
            )
        )
    if "fan_out" in r:
        fan = r["fan_out"]
        one, every = fan["one"], fan["all"]
        fan_bars = [
            ("fan-out to 1 node p99 (baseline)", 1.0, f"{one['p99_ms']:.2f} ms"),
            (
                f"fan-out to {every['nodes']} nodes p99",
                fan["p99_ratio"],
                f"{every['p99_ms']:.2f} ms  ({fan['p99_ratio']:.1f})",
            ),
        ]
        charts.append(
            bar_chart(
                f"Person search p99 fanned out to {every['nodes']} nodes against 1 (same run)",
                fan_bars,
            )
        )
    return _stack(charts)


if __name__ == "__main__":
    sys.exit(main())
