"""Retiring an office kind (docs/directory.md "Retiring an office kind"): Kerala closed its
circle offices and Inspectors head the stations. Real node processes on loopback, joined with
`cctns federation join`: a circle office (under a sub-division) with a station below it; the
station is enrolled again under the sub-division and joins it (its statement takes the next
sequence), the sub-division retires the circle (successor: itself; refused while its replica
lacks entries the circle holds) and the circle closes. Then a
station of another district still finds a record written at the circle before it closed
(answered from the sub-division's replica, freshness saying so), fetches it by its number
(proven against the circle's log, the receipt against the sub-division's: "from the replica
held by" it), and finds the station's records; every
directory shows the circle retired and the station under the sub-division; the sub-division's
jurisdiction covers the station and the circle's no longer does."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import trio

from federation.replicas import origin_slug
from federation.trust.credentials import NodeCredentials
from federation.trust.revocation import RevocationSet
from ledger.entry import parse_leaf
from ledger.errors import NotFound
from node.config import DataDir
from node.peers.clients import Peers
from node.peers.directory import DIRECTORY_NAME, NodeDirectory
from node.station.core import Station
from node.web.rules import Officer, covers
from protos import federation_pb2, ledger_pb2
from tests.federation.cluster import first_fir, first_person
from tests.federation.procs import (
    Federation,
    Spec,
    append_entries,
    build_federation,
    read_store,
    wait_for,
)

pytestmark = pytest.mark.slow

SPECS = [
    Spec("scrb", "state"),
    Spec("ekm", "district", parent="scrb"),
    Spec("tsr", "district", parent="scrb"),
    Spec("sdpo", "sub-division", parent="ekm"),
    Spec("cir", "circle", parent="sdpo", records=4),
    Spec("kal", "station", parent="cir", records=4),
    Spec("oll", "station", parent="tsr", records=2),
]
CATCH_UP = 120.0
DEADLINE = "15"


@dataclass
class World:
    fed: Federation
    circle_person: str  # a person named in a record written at the circle before it closed
    circle_fir: str
    circle_size: int  # the circle's log when it closed
    station_person: str
    station_fir: str
    station_sequence: int  # the station's statement before it was re-parented
    join_text: str  # what the station's second join printed
    retire_text: str


def directory_of(fed: Federation, name: str) -> dict[str, dict[str, object]]:
    path = fed[name].path / DIRECTORY_NAME
    if not path.exists():
        return {}
    return {row["node_id"]: row for row in json.loads(path.read_text())["entries"]}


def join(fed: Federation, name: str, parent: str) -> str:
    args = ["federation", "join", "--data-dir", str(fed[name].path)]
    if parent:
        args += ["--parent-address", fed[parent].address]
    result = fed.cli(*args)
    assert result.returncode == 0, result.stderr
    return result.stderr


def replica_size(fed: Federation, holder: str, child: str) -> int:
    path = fed[holder].path / "replicas" / origin_slug(fed[child].origin) / "log"
    if not path.exists():
        return 0
    with read_store(path) as store:
        latest = store.latest_checkpoint()
        return latest[0] if latest is not None else 0


def own_size(fed: Federation, name: str) -> int:
    return fed.checkpoint_of(name, name).size


def _caught_up(fed: Federation, child: str) -> bool:
    return replica_size(fed, "sdpo", child) >= own_size(fed, child) > 0


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    base = tmp_path_factory.mktemp("retire")
    fed = build_federation(base, SPECS)
    authority = base / "authorities" / "kerala"
    fed.state.save(authority)  # the state authority enrols the station again
    for node in fed.nodes.values():
        node.data_dir.federation_path.unlink()  # no peer lists: every node joins
    facts: dict[str, str] = {}
    for name in ("cir", "kal"):
        station = Station.open(fed[name].data_dir)
        try:
            facts[f"{name}_fir"] = first_fir(station).fir_number
            facts[f"{name}_person"], _ = first_person(station)
        finally:
            station.close()
    try:
        for spec in SPECS:
            join(fed, spec.name, spec.parent)
            fed.start(spec.name)
        kal, cir, sdpo = fed["kal"], fed["cir"], fed["sdpo"]
        # Before: the sub-division follows its whole subtree, the circle and the station.
        for child in ("cir", "kal"):
            wait_for(
                f"sdpo to replicate {child}",
                functools.partial(_caught_up, fed, child),
                timeout=CATCH_UP,
            )
        wait_for("oll to know kal", lambda: kal.node_id in directory_of(fed, "oll"))
        before = directory_of(fed, "sdpo")[kal.node_id]
        assert before["parent"] == cir.node_id
        sequence = int(str(before["sequence"]))

        # 1. The station: enrolled again under the sub-division, joins it, starts again.
        fed.stop("kal")
        enrolled = fed.cli(
            "ca", "enrol", "--authority", str(authority), "--data-dir", str(kal.path),
            "--parent", sdpo.node_id, "--address", kal.address,
        )  # fmt: skip
        assert enrolled.returncode == 0, enrolled.stderr
        join_text = join(fed, "kal", "sdpo")
        fed.start("kal")

        # 2. The sub-division retires the circle, its own office answering for it: not while
        # its replica lacks entries the circle holds (written while the sub-division was down).
        fed.stop("sdpo")
        fed.stop("cir")
        append_entries(cir, 5, note="last entries of the circle")
        fed.start("cir")
        early = fed.cli(
            "federation", "retire", "--data-dir", str(sdpo.path), "--node-id", cir.node_id,
            "--successor", sdpo.node_id,
        )  # fmt: skip
        assert early.returncode == 2 and "catch up before retiring" in early.stderr, early.stderr
        assert not (sdpo.path / "directory-pending").exists() or not any(
            (sdpo.path / "directory-pending").iterdir()
        )
        fed.start("sdpo")
        wait_for(
            "sdpo to hold the circle's whole log",
            lambda: replica_size(fed, "sdpo", "cir") >= own_size(fed, "cir"),
            timeout=CATCH_UP,
        )
        circle_size = own_size(fed, "cir")
        retired = fed.cli(
            "federation", "retire", "--data-dir", str(sdpo.path), "--node-id", cir.node_id,
            "--successor", sdpo.node_id,
        )  # fmt: skip
        assert retired.returncode == 0, retired.stderr
        # 3. The circle closes. The sub-division restarts: it no longer follows the retired
        # circle, and still holds its replica.
        wait_for(
            "sdpo to take the retirement in",
            lambda: directory_of(fed, "sdpo").get(cir.node_id, {}).get("status") == "retired",
        )
        fed.stop("cir")
        fed.stop("sdpo")
        fed.start("sdpo")
        yield World(
            fed,
            facts["cir_person"],
            facts["cir_fir"],
            circle_size,
            facts["kal_person"],
            facts["kal_fir"],
            sequence,
            join_text,
            retired.stderr,
        )
    finally:
        fed.stop_all()


def test_directories_show_the_circle_retired_and_the_station_reparented(world: World) -> None:
    fed = world.fed
    cir, kal, sdpo = fed["cir"], fed["kal"], fed["sdpo"]
    assert f"re-parented: {cir.node_id} -> {sdpo.node_id}" in world.join_text
    assert f"holds {world.circle_size} entries of {cir.origin}" in world.retire_text

    def settled(name: str) -> bool:
        offices = directory_of(fed, name)
        circle, station = offices.get(cir.node_id, {}), offices.get(kal.node_id, {})
        return (
            circle.get("status") == "retired"
            and circle.get("successor") == sdpo.node_id
            and station.get("parent") == sdpo.node_id
        )

    for name in ("ekm", "scrb", "tsr", "oll"):
        wait_for(
            f"{name}'s directory to show the retirement and the new parent",
            functools.partial(settled, name),
        )
    # As an operator reads it, at a station of another district.
    shown = fed.cli("federation", "directory", "--json", "--data-dir", str(fed["oll"].path))
    offices = {row["node_id"]: row for row in json.loads(shown.stdout)["offices"]}
    assert offices[cir.node_id]["status"] == "retired"
    assert offices[cir.node_id]["role"] == "circle"  # its certificate, kept as history
    assert offices[kal.node_id]["parent"] == sdpo.node_id
    # The station's new word took the next sequence, with its new certificate.
    assert int(offices[kal.node_id]["sequence"]) == world.station_sequence + 1


def test_the_circles_records_are_found_from_another_district(world: World) -> None:
    fed = world.fed
    cir, sdpo, oll = fed["cir"], fed["sdpo"], fed["oll"]
    wait_for(
        "oll to know the circle retired",
        lambda: directory_of(fed, "oll").get(cir.node_id, {}).get("status") == "retired",
    )
    # The sub-division kept the circle's whole log, and serves it after a restart without
    # following the closed office any more.
    assert replica_size(fed, "sdpo", "cir") == world.circle_size
    assert fed.checkpoint_of("oll", "sdpo", cir.origin).size == world.circle_size

    def followed_again() -> str | None:
        text = _since_restart(fed["sdpo"].log_text())
        return text if f"following {fed['kal'].node_id}" in text else None

    last_run = wait_for("sdpo to follow its subtree again", followed_again)
    assert f"following {cir.node_id}" not in last_run

    # Asked for the circle, the directory sends oll to the sub-division, which answers from
    # its replica: the hits name the circle's log, the freshness says it is a replica's.
    result = fed.cli(
        "peer", "search", world.circle_person, "--nodes", cir.node_id, "--json",
        "--deadline", DEADLINE, "--data-dir", str(oll.path),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert not answer["unanswered"], result.stdout
    hits = [h for h in answer["hits"] if h["origin"] == cir.origin]
    assert hits and {h["answered_by"] for h in hits} == {sdpo.node_id}, result.stdout
    parts = {p["origin"]: p for p in answer["freshness"][sdpo.node_id]}
    assert parts[cir.origin]["from_replica"], parts
    assert int(parts[cir.origin]["checkpoint_size"]) > 0

    # The case itself, by its number, the same way.
    result = fed.cli(
        "peer", "search", world.circle_fir, "--kind", "case", "--nodes", cir.node_id,
        "--json", "--deadline", DEADLINE, "--data-dir", str(oll.path),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    cases = [h for h in json.loads(result.stdout)["hits"] if h["origin"] == cir.origin]
    assert [h["ref"] for h in cases] == [world.circle_fir], result.stdout


def test_the_circles_record_is_fetched_from_the_subdivisions_replica(world: World) -> None:
    """The record itself, by its number, from another district: the directory sends oll to the
    sub-division, which answers from its replica of the circle's log (never with its own
    record of the same number); the record is proven against the circle's key and log, the
    read's receipt against the sub-division's, and the answer says whose replica, as of when."""
    fed = world.fed
    cir, sdpo, oll = fed["cir"], fed["sdpo"], fed["oll"]
    wait_for(
        "oll to know the circle retired",
        lambda: directory_of(fed, "oll").get(cir.node_id, {}).get("status") == "retired",
    )
    audits_before = _audits_of(fed, "sdpo")
    result = fed.cli(
        "peer", "fetch", world.circle_fir, "--node", cir.node_id, "--json", "--deadline",
        DEADLINE, "--data-dir", str(oll.path),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["origin"] == cir.origin
    assert answer["record"]["fir"]["fir_number"] == world.circle_fir
    assert answer["record"]["origin"] == cir.origin  # written in the circle's own log
    assert answer["answered_by"] == sdpo.node_id
    assert answer["from_replica"].startswith(f"from the replica held by {sdpo.node_id}, as of ")
    assert "IST" in answer["from_replica"], answer["from_replica"]
    assert answer["receipt"].endswith(f"of {sdpo.origin}"), answer["receipt"]
    assert answer["witness"]["ok"], answer["witness"]
    verified_at = int(answer["verified"].rsplit(" ", 1)[-1])
    assert verified_at == world.circle_size  # the replica's checkpoint: the closed log, whole
    # The read is audited in the sub-division's own log, naming the circle's record.
    office = cir.origin.split("/", 1)[-1]
    new = [a for a in _audits_of(fed, "sdpo") if a not in audits_before]
    assert any(
        a.query_kind == "fetch" and list(a.returned_refs) == [f"{world.circle_fir} @ {office}"]
        for a in new
    ), new


def test_a_fetch_of_a_log_not_held_is_a_plain_not_found(world: World) -> None:
    """Asked for a record of a log it holds no replica of (a station of another district), the
    sub-division says so, naming the log: it never answers from its own records instead."""
    fed = world.fed
    sdpo, oll = fed["sdpo"], fed["oll"]
    peers = Peers.load(oll.data_dir)
    request = federation_pb2.RecordRequest(
        ref=world.circle_fir,
        origin=oll.origin,
        context=federation_pb2.QueryContext(
            officer_id="PEN100001", purpose="investigation", case_ref="enquiry"
        ),
    )

    async def ask() -> None:
        client = peers.client(peers.address(sdpo.node_id))
        try:
            await client.fetch_record(request, timeout=float(DEADLINE))
        finally:
            client.close()

    with pytest.raises(NotFound, match=f"holds no replica of {re.escape(oll.origin)}"):
        trio.run(ask)


def _audits_of(fed: Federation, name: str) -> list[ledger_pb2.AuditEntry]:
    """The audit entries of a running node's log, read from its store (read-only)."""
    with read_store(fed[name].data_dir.ledger_path) as store:
        size = store.size()
        leaves = list(store.entries(0, size))
    bodies = (parse_leaf(leaf).decode_body() for leaf in leaves)
    return [body.audit for body in bodies if body.WhichOneof("record") == "audit"]


def test_the_reparented_stations_records_are_found(world: World) -> None:
    fed = world.fed
    kal, oll = fed["kal"], fed["oll"]
    wait_for(
        "oll to know kal under sdpo",
        lambda: directory_of(fed, "oll").get(kal.node_id, {}).get("parent") == fed["sdpo"].node_id,
    )
    result = fed.cli(
        "peer", "search", world.station_person, "--nodes", kal.node_id, "--json",
        "--deadline", DEADLINE, "--data-dir", str(oll.path),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert any(h["origin"] == kal.origin for h in answer["hits"]), result.stdout
    result = fed.cli(
        "peer", "fetch", world.station_fir, "--node", kal.node_id, "--json",
        "--deadline", DEADLINE, "--data-dir", str(oll.path),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["record"]["fir"]["fir_number"] == world.station_fir
    # The sub-division keeps following the station: its replica grows past the re-parenting.
    wait_for(
        "sdpo to hold kal's log",
        lambda: replica_size(fed, "sdpo", "kal") >= fed.checkpoint_of("sdpo", "kal").size,
        timeout=CATCH_UP,
    )


def test_supervision_follows_the_new_chain_of_offices(world: World) -> None:
    fed = world.fed
    kal, cir, sdpo = fed["kal"], fed["cir"], fed["sdpo"]
    # What the station's web UI asks (node/runtime.py hands `offices_above` to node/web/deps.py).
    credentials = NodeCredentials.load(kal.path)
    wait_for(
        "kal's directory to hold sdpo's chain",
        lambda: fed["ekm"].node_id in _offices_above(kal.data_dir, credentials),
    )
    above = _offices_above(kal.data_dir, credentials)
    assert above[0] == sdpo.node_id and cir.node_id not in above, above
    sdpo_officer = _supervisor("sdpo", sdpo.node_id)
    circle_inspector = _supervisor("circle_inspector", cir.node_id)
    other_sdpo = _supervisor("sdpo", "kerala/ernakulam-city/sdpo-elsewhere")
    assert covers(sdpo_officer, kal.node_id, above)
    assert not covers(circle_inspector, kal.node_id, above)
    assert not covers(other_sdpo, kal.node_id, above)


def _offices_above(data_dir: DataDir, credentials: NodeCredentials) -> tuple[str, ...]:
    revocations = RevocationSet.load(data_dir.path, credentials.root_pem)
    return NodeDirectory.open(data_dir, credentials, revocations).offices_above()


def _supervisor(role: str, office: str) -> Officer:
    return Officer(
        officer_id=f"PEN-{role}",
        name=role,
        sex="F",
        role=role,
        station_node_id="",
        jurisdiction=office,
        totp_confirmed=True,
    )


def _since_restart(text: str) -> str:
    """The log of a node's last run (tests/processes.py marks each start)."""
    marker = "=== start"
    return text[text.rfind(marker) :] if marker in text else text
