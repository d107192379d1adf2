"""`make bench` (third part): page latency of the web UI, measured with a real HTTP client
against the node's own server (hypercorn's trio worker, `cctns node web`) on loopback.

A station is seeded with 200,000 synthetic records (--records to reduce; it takes minutes and
prints progress), an officer account is made with a TOTP secret, and `python -m admin.cli node
web` serves the station as a separate process. The benchmark logs in with httpx as a browser does
(password, then TOTP, CSRF tokens taken from the forms, the session cookie kept) and times, one
request after another on one keep-alive connection:

- GET /fir/new          the FIR form (an officer's most used page);
- GET /case/<ref>       a case page of a seeded FIR (random FIRs of the station);
- GET /search?q=<name>  a person search with a misspelt name of a seeded person;
- GET /healthz          the baseline: the same server and client doing almost nothing.

Reported: p50 and p99 (ms) of each, and each p99 as a ratio of the baseline's. Target: every page
p99 under 200 ms.

Then the staff page under a portal flood, in the same run: the case page is timed again alone,
then while a second process floods the citizens' portal (complaints and status lookups, as fast
as --flood-workers threads can send them, each request from another loopback address so that
the per-client limits do not stop it and the node's total limits, its defaults, are what it
meets). Reported: the case page's p99 under the flood against the same page unloaded (a ratio),
and the flood's requests per second, accepted and refused (429). Results: bench-out/web.json and
bench-out/web.svg.
"""

from __future__ import annotations

import argparse
import html
import multiprocessing
import queue
import random
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pyotp

from node.config import DataDir
from node.demo.federation import free_port
from node.demo.seed import seed_station
from node.records.refs import record_ref
from node.records.validation import IST
from node.station.core import Station
from node.web.auth import accounts_for
from protos import records_pb2
from simulations.bench import misspell
from simulations.chart import bar_chart
from simulations.report import percentile, save_results

ORIGIN = "cctns.in/kerala/ernakulam-city/ps-kalamassery"
OFFICER_ID = "PEN700001"
PASSWORD = "bench password for the web ui"
TARGET_P99_MS = 200.0
START_TIMEOUT = 120.0
FLOOD_WORKERS = 4
FLOOD_START_TIMEOUT = 60.0


def seeded_station(path: Path, records: int) -> DataDir:
    """A station holding `records` synthetic records (reused when `path` already holds one)."""
    data_dir = DataDir(path)
    if data_dir.exists():
        print(f"reusing the station in {path}", file=sys.stderr)
        return data_dir
    data_dir.create(origin=ORIGIN, district="Ernakulam City", station="Kalamassery")
    station = Station.open(data_dir)
    try:
        started = time.perf_counter()
        print(f"seeding {records:,} records (this takes minutes) ...", file=sys.stderr)
        counts = seed_station(station, records, show_progress=True)
        seconds = time.perf_counter() - started
        print(f"seeded {counts} in {seconds:.0f}s", file=sys.stderr)
    finally:
        station.close()
    return data_dir


def ref_slug(ref: str) -> str:
    """The case page's URL form of a reference: "FIR No. 12/2026" -> "12-2026"."""
    fir = re.match(r"^FIR No\. (\d+)/(\d{4})$", ref)
    return f"{fir[1]}-{fir[2]}" if fir else quote(ref, safe="")


def samples(data_dir: DataDir, count: int, seed: int = 7) -> tuple[list[str], list[str]]:
    """FIR references and person names (of persons not sealed) from the station's records."""
    station = Station.open(data_dir)
    try:
        refs: list[str] = []
        names: list[str] = []
        index = station.ledger.size() - 1
        while index >= 0 and len(refs) < count:
            body = station.ledger.body(index)
            index -= 1
            if body.WhichOneof("record") != "fir":
                continue
            refs.append(record_ref(body))
            names.extend(
                e.person.name
                for e in body.fir.persons
                if e.person.name
                and not e.person.identity_commitment
                and e.role != records_pb2.VICTIM
            )
    finally:
        station.close()
    if not refs or not names:
        raise SystemExit("the station holds no FIR with a named person: seed more records")
    rng = random.Random(seed)
    return refs, [misspell(rng.choice(names), rng) for _ in range(count)]


def add_officer(data_dir: DataDir) -> str:
    """The benchmark's officer (an SHO of the station); returns the TOTP secret."""
    accounts = accounts_for(data_dir)
    try:
        if accounts.officer(OFFICER_ID) is not None:
            return accounts.totp_secret(OFFICER_ID)
        node_id = ORIGIN.split("/", 1)[1]
        _, secret = accounts.create_officer(
            OFFICER_ID, "Bench Officer", "F", "sho", node_id, node_id, PASSWORD
        )
        return secret
    finally:
        accounts.close()


def _csrf(page: str) -> str:
    found = (
        re.search(r'name="csrf_token"[^>]*value="([^"]*)"', page)
        or re.search(r'value="([^"]*)"[^>]*name="csrf_token"', page)
        or re.search(r'<meta name="csrf-token" content="([^"]*)"', page)
    )
    if found is None:
        raise SystemExit("no CSRF token on the login page")
    return html.unescape(found.group(1))


def _action(page: str, field: str, default: str) -> str:
    for form in re.finditer(r"<form\b([^>]*)>(.*?)</form>", page, re.S | re.I):
        if f'name="{field}"' in form.group(2):
            action = re.search(r'action="([^"]*)"', form.group(1))
            return html.unescape(action.group(1)) if action and action.group(1) else default
    return default


def login(client: httpx.Client, secret: str) -> None:
    """Password, then a fresh TOTP code; the session cookie stays in `client`."""
    page = client.get("/login")
    step = client.post(
        _action(page.text, "password", "/login"),
        data={"officer_id": OFFICER_ID, "password": PASSWORD, "csrf_token": _csrf(page.text)},
        follow_redirects=True,
    )
    totp = pyotp.TOTP(secret)
    # A code is accepted once: wait for a step the node has not seen (a reused station).
    step_now = int(time.time()) // totp.interval
    time.sleep(max(0.0, (step_now + 1) * totp.interval - time.time() + 0.2))
    done = client.post(
        _action(step.text, "code", "/login/totp"),
        data={"code": totp.now(), "csrf_token": _csrf(step.text)},
        follow_redirects=True,
    )
    if done.status_code != 200 or OFFICER_ID not in done.text:
        raise SystemExit(f"login failed ({done.status_code}): {done.text[:400]}")


def start_server(data_dir: DataDir, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "admin.cli", "node", "web"]
    command += ["--data-dir", str(data_dir.path), "--http", f"127.0.0.1:{port}"]
    with log.open("ab") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        if process.poll() is not None:
            raise SystemExit(f"the node exited:\n{log.read_text(errors='replace')}")
        try:
            if httpx.get(f"{base}/healthz", timeout=2.0).status_code == 200:
                return process, base
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            stop_server(process)
            raise SystemExit(f"no answer from {base}/healthz:\n{log.read_text(errors='replace')}")
        time.sleep(0.2)


def stop_server(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def measure(
    client: httpx.Client, paths: Callable[[int], str], requests: int, warmup: int = 20
) -> dict[str, float]:
    """Times `requests` GETs of paths(i) (after `warmup` untimed ones); p50/p99 in ms."""
    for i in range(warmup):
        client.get(paths(i))
    times: list[float] = []
    for i in range(requests):
        path = paths(i)
        started = time.perf_counter()
        response = client.get(path)
        _ = response.content
        elapsed = time.perf_counter() - started
        if response.status_code != 200:
            raise SystemExit(f"GET {path}: {response.status_code}\n{response.text[:600]}")
        times.append(elapsed * 1000)
    return {
        "p50_ms": percentile(times, 50),
        "p99_ms": percentile(times, 99),
        "mean_ms": sum(times) / len(times),
        "requests": float(requests),
    }


def case_pages(refs: list[str]) -> Callable[[int], str]:
    """The i-th case page to time: the station's FIRs in turn."""
    return lambda i: f"/case/{ref_slug(refs[i % len(refs)])}"


def bench_pages(base: str, secret: str, refs: list[str], names: list[str], requests: int) -> Any:
    with httpx.Client(base_url=base, timeout=30.0) as client:
        login(client, secret)
        pages: dict[str, Callable[[int], str]] = {
            "healthz": lambda i: "/healthz",
            "fir_form": lambda i: "/fir/new",
            "case_page": case_pages(refs),
            "search": lambda i: f"/search?q={quote(names[i % len(names)])}",
        }
        results: dict[str, dict[str, float]] = {}
        for name, paths in pages.items():
            print(f"  {name}: {requests} requests ...", file=sys.stderr)
            results[name] = measure(client, paths, requests)
        return results


# -- the staff page under a portal flood ------------------------------------------------------


def _flood_worker(base: str, worker: int, stop: threading.Event, counts: Counter[str]) -> None:
    """Sends portal requests until `stop`: a complaint (its form first, for the CSRF token),
    then three status lookups through the API, each round from another loopback address."""
    complaint = {
        "name": "Flood Sender",
        "mobile": "9847000000",
        "address": "Nowhere",
        "subject": "flood",
        "details": "A complaint sent by the benchmark's flood.",
    }
    rounds = 0
    while not stop.is_set():
        rounds += 1
        address = f"127.{1 + worker}.{rounds // 250 % 250}.{1 + rounds % 250}"
        transport = httpx.HTTPTransport(local_address=address)
        try:
            with httpx.Client(base_url=base, transport=transport, timeout=30.0) as client:
                form = client.get("/citizen/complaint")
                counts["form"] += 1
                sent = client.post(
                    "/citizen/complaint", data={**complaint, "csrf_token": _csrf(form.text)}
                )
                counts[f"complaint {sent.status_code}"] += 1
                for n in range(3):
                    status = client.get(
                        f"/api/status/PET/2026/{(rounds * 3 + n) % 999_999 + 1:06d}",
                        params={"mobile": "9847000000"},
                    )
                    counts[f"lookup {status.status_code}"] += 1
        except httpx.HTTPError as exc:
            counts[f"error {type(exc).__name__}"] += 1


def flood(base: str, workers: int, stop: Any, results: Any) -> None:
    """The flooding process: `workers` threads until `stop` is set; then puts what was sent
    and answered, by kind and status, and the seconds it ran, on `results`."""
    started = time.perf_counter()
    done = threading.Event()
    tallies: list[Counter[str]] = [Counter() for _ in range(workers)]
    threads = [
        threading.Thread(target=_flood_worker, args=(base, n, done, tallies[n]), daemon=True)
        for n in range(workers)
    ]
    for thread in threads:
        thread.start()
    stop.wait()
    done.set()
    for thread in threads:
        thread.join(timeout=60)
    total: Counter[str] = Counter()
    for tally in tallies:
        total.update(tally)
    results.put({"seconds": time.perf_counter() - started, "counts": dict(total)})


def bench_flood(
    base: str, secret: str, refs: list[str], requests: int, workers: int
) -> dict[str, Any]:
    """The case page unloaded, then under a portal flood from a second process; both timed."""
    case_page = case_pages(refs)
    context = multiprocessing.get_context("spawn")
    stop = context.Event()
    results = context.Queue()
    with httpx.Client(base_url=base, timeout=30.0) as client:
        login(client, secret)
        print(f"  case_page unloaded: {requests} requests ...", file=sys.stderr)
        unloaded = measure(client, case_page, requests)
        process = context.Process(target=flood, args=(base, workers, stop, results))
        process.start()
        try:
            _wait_for_flood(base)
            print(f"  case_page under a portal flood: {requests} requests ...", file=sys.stderr)
            loaded = measure(client, case_page, requests, warmup=0)
        finally:
            stop.set()
            try:
                sent = results.get(timeout=120)
            except queue.Empty:
                sent = {"seconds": 0.0, "counts": {}}
            process.join(timeout=30)
            if process.is_alive():
                process.kill()
    seconds = sent["seconds"] or 1.0
    counts: dict[str, int] = sent["counts"]
    refused = sum(n for kind, n in counts.items() if kind.endswith(" 429"))
    limited = sum(n for kind, n in counts.items() if kind.startswith(("complaint ", "lookup ")))
    return {
        "page": "case_page",
        "workers": workers,
        "unloaded": unloaded,
        "loaded": loaded,
        "p99_ratio_loaded_to_unloaded": loaded["p99_ms"] / unloaded["p99_ms"],
        "flood_seconds": seconds,
        "flood_counts": counts,
        "flood_limited_requests_per_s": limited / seconds,
        "flood_accepted_per_s": (limited - refused) / seconds,
        "flood_refused_per_s": refused / seconds,
    }


def _wait_for_flood(base: str) -> None:
    """Until the portal answers a lookup with 429: the flood is at the node's limit."""
    deadline = time.monotonic() + FLOOD_START_TIMEOUT
    transport = httpx.HTTPTransport(local_address="127.0.0.9")
    with httpx.Client(base_url=base, transport=transport, timeout=30.0) as probe:
        while time.monotonic() < deadline:
            answer = probe.get("/api/status/PET/2026/000001", params={"mobile": "9847000000"})
            if answer.status_code == 429:
                return
            time.sleep(0.5)
    raise SystemExit("the portal flood never reached the node's limit")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=200_000, help="records to seed")
    parser.add_argument("--requests", type=int, default=300, help="timed requests per page")
    parser.add_argument(
        "--data-dir", default="", help="keep the seeded station here (reused when it exists)"
    )
    parser.add_argument(
        "--flood-workers",
        type=int,
        default=FLOOD_WORKERS,
        help="threads of the portal flood (in a second process)",
    )
    parser.add_argument("--out", default="bench-out/web.json")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="cctns-bench-web-") as tmp:
        station_path = Path(args.data_dir) if args.data_dir else Path(tmp) / "station"
        data_dir = seeded_station(station_path, args.records)
        refs, names = samples(data_dir, 200)
        secret = add_officer(data_dir)
        log = Path(tmp) / "node.log"
        process, base = start_server(data_dir, log)
        try:
            print(f"pages of {base} ({args.records:,} records) ...", file=sys.stderr)
            pages = bench_pages(base, secret, refs, names, args.requests)
            print("the case page under a portal flood ...", file=sys.stderr)
            flooded = bench_flood(base, secret, refs, args.requests, args.flood_workers)
        finally:
            stop_server(process)
    baseline = pages["healthz"]["p99_ms"]
    results: dict[str, Any] = {
        "when": datetime.now(IST).isoformat(),
        "records": args.records,
        "requests_per_page": args.requests,
        "target_p99_ms": TARGET_P99_MS,
        "pages": pages,
        "p99_ratio_to_healthz": {
            name: r["p99_ms"] / baseline for name, r in pages.items() if name != "healthz"
        },
    }
    results["meets_target"] = all(
        r["p99_ms"] < TARGET_P99_MS for name, r in pages.items() if name != "healthz"
    )
    results["portal_flood"] = flooded
    _report(results)
    save_results(results, args.out, _chart)
    return 0


def _report(r: dict[str, Any]) -> None:
    print(
        f"\nweb UI page latency, {r['records']:,} records, {r['requests_per_page']} requests each"
    )
    print(f"{'page':12} {'p50 ms':>9} {'p99 ms':>9} {'p99/healthz':>12}  target p99 < 200 ms")
    for name, page in r["pages"].items():
        ratio = r["p99_ratio_to_healthz"].get(name)
        verdict = (
            "" if name == "healthz" else "meets" if page["p99_ms"] < TARGET_P99_MS else "BELOW"
        )
        ratio_text = "baseline" if ratio is None else f"{ratio:.1f}x"
        print(f"{name:12} {page['p50_ms']:9.1f} {page['p99_ms']:9.1f} {ratio_text:>12}  {verdict}")
    flood = r["portal_flood"]
    print(
        f"\n{flood['page']} under a portal flood ({flood['workers']} threads in a second process, "
        f"{flood['flood_seconds']:.0f} s; the node's default limits)"
    )
    print(f"{'':12} {'p50 ms':>9} {'p99 ms':>9}")
    for name in ("unloaded", "loaded"):
        print(f"{name:12} {flood[name]['p50_ms']:9.1f} {flood[name]['p99_ms']:9.1f}")
    print(
        f"p99 under the flood / unloaded: {flood['p99_ratio_loaded_to_unloaded']:.2f}x; flood "
        f"{flood['flood_limited_requests_per_s']:.0f} complaints and lookups/s sent, "
        f"{flood['flood_accepted_per_s']:.1f}/s accepted, {flood['flood_refused_per_s']:.0f}/s "
        "refused (429)"
    )


def _chart(r: dict[str, Any]) -> str:
    bars = [
        (f"{name} p99", page["p99_ms"], f"{page['p99_ms']:.1f} ms (p50 {page['p50_ms']:.1f})")
        for name, page in r["pages"].items()
    ]
    flood = r["portal_flood"]
    for name in ("unloaded", "loaded"):
        timed = flood[name]
        label = f"{flood['page']} p99, {'under a portal flood' if name == 'loaded' else 'alone'}"
        bars.append((label, timed["p99_ms"], f"{timed['p99_ms']:.1f} ms"))
    return bar_chart(
        f"Web UI page latency, {r['records']:,} records (hypercorn, loopback)",
        bars,
        target=TARGET_P99_MS,
        target_label="p99 target 200 ms",
    )


if __name__ == "__main__":
    sys.exit(main())
