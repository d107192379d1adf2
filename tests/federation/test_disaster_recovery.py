"""Disaster recovery with real node processes on loopback: a station (the data centre), its
standby (the DR centre: the same identity in another directory) and their parent, a district
office that replicates and witnesses the station's log.

The primary writes, the standby follows, the primary is killed with SIGKILL, the standby takes
over and serves at the station's address; the parent goes on replicating one log, consistent
with every checkpoint either site signed. Then the old primary comes back: with its parent
reachable it learns it was replaced and refuses to start; with its parent cut off it starts and
appends, and the parent's witness refuses the second head (quarantine and an alert in its log).
The station's arrest photo comes across to the standby before the takeover (nothing its entries
name is missing after it), and a copy damaged on the new primary's disk is fetched back from the
parent by `cctns node repair-blobs`, the damaged file kept aside.
"""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from federation.replicas import origin_slug
from federation.replication import META_STATUS
from federation.standby import TAKEOVER, find_takeover
from ledger.checkpoint import verify_checkpoint
from ledger.log import verify_log
from node.demo.biometrics import accused_on_record
from node.station.blobs import BlobStore
from node.station.core import Station
from protos import federation_pb2
from tests.federation.procs import (
    Federation,
    Node,
    Spec,
    append_entries,
    build_federation,
    make_standby,
    read_store,
    wait_for,
)
from tests.node.support import arrest_photo
from tests.processes import launch_node, start_node, stop_node

pytestmark = pytest.mark.slow  # real node processes

SPECS = [Spec("dpo", "district"), Spec("sta", "station", parent="dpo", records=30)]
CATCH_UP = 120.0
TIMEOUT = 15.0


@dataclass
class Failover:
    """The federation after the takeover: `dr` serves as the station, `sta` is dead."""

    fed: Federation
    dr: Node  # the standby, now the primary
    old_checkpoints: list[bytes]  # every checkpoint the old primary's store holds
    taken_over_at: int  # the takeover entry's index (the old primary's size)
    size: int  # the new primary's size once the parent replicated it
    photo: str  # the digest of the photo the station kept before the failure


def photograph(node: Node) -> str:
    """Keeps an arrest photo of the first accused of a STOPPED station's FIRs; its digest."""
    station = Station.open(node.data_dir)
    try:
        ((fir_number, person),) = accused_on_record(station, 1)
        kept = arrest_photo(station, "PEN100001", fir_number, person.person_id)
    finally:
        station.close()
    return kept.sha256


def blob_file(node: Node, digest: str) -> Path:
    return node.path / BlobStore(None).relative_path(digest)


def searched(fed: Federation, asker: str, target: str, count: int) -> None:
    """`count` audited searches of `target` by `asker`: each appends an entry to its log."""
    for number in range(count):
        request = federation_pb2.SearchRequest(
            kind="person",
            query=f"Raju {number}",
            context=federation_pb2.QueryContext(
                officer_id="PEN100001", purpose="test", case_ref=f"DR drill {number}"
            ),
        )
        fed.ask(asker, target, lambda c, r=request: c.search(r, timeout=TIMEOUT))


def verified_size(path: Path) -> int:
    """The size of the newest checkpoint a store holds (read-only, beside a running node)."""
    with read_store(path) as store:
        latest = store.latest_checkpoint()
        return latest[0] if latest is not None else 0


def parent_replica(fed: Federation, origin: str) -> Path:
    return fed["dpo"].path / "replicas" / origin_slug(origin) / "log"


def exits_refusing(fed: Federation, name: str) -> tuple[int, str]:
    """Starts `cctns node serve` for `name`, which must exit without serving: (code, log)."""
    node = fed[name]
    process = launch_node("node", "serve", "--data-dir", str(node.path), log_path=node.log_path)
    try:
        code = process.wait(timeout=60)
        assert process.stdout is not None and process.stdout.read() == b"", "it served"
    finally:
        stop_node(process)
    return code, node.log_text()


@pytest.fixture
def failover(tmp_path: Path) -> Iterator[Failover]:
    fed = build_federation(tmp_path, SPECS, poll=0.5)
    standby: subprocess.Popen[bytes] | None = None
    try:
        photo = photograph(fed["sta"])
        fed.start("dpo")
        fed.start("sta")
        sta = fed["sta"]
        dr = make_standby(fed, "sta", "sta-dr")
        dr.log_path.parent.mkdir(exist_ok=True)
        standby, ready = start_node(
            "node", "standby", "--data-dir", str(dr.path), "--poll", "0.3",
            log_path=dr.log_path,
        )  # fmt: skip
        assert ready == {"node": sta.node_id, "peer": "-", "web": "-", "following": sta.address}

        searched(fed, "dpo", "sta", 5)  # the primary writes
        size = fed.checkpoint_of("dpo", "sta").size
        wait_for(
            "the standby to follow the primary",
            lambda: verified_size(dr.data_dir.ledger_path) == size,
            timeout=CATCH_UP,
        )
        wait_for("the standby to fetch the photo", blob_file(dr, photo).is_file, timeout=CATCH_UP)
        # The parent too has verified the primary's log (else the takeover finds it holds none).
        wait_for(
            "the parent to replicate the primary",
            lambda: verified_size(parent_replica(fed, sta.origin)) == size,
            timeout=CATCH_UP,
        )
        stop_node(standby)

        # A takeover while the primary still answers is refused, and writes nothing.
        refused = fed.cli("node", "takeover", "--data-dir", str(dr.path))
        assert refused.returncode == 2, refused.stderr
        assert f"still answers, with a checkpoint for {size} entries" in refused.stderr
        assert verified_size(dr.data_dir.ledger_path) == size

        fed.kill("sta")  # the data centre goes dark
        with read_store(sta.data_dir.ledger_path) as store:
            old_checkpoints = [note for _, note in store.checkpoints()]
            assert store.size() == size
        took = fed.cli("node", "takeover", "--data-dir", str(dr.path), "--json", "--quiet")
        assert took.returncode == 0, took.stderr
        result = json.loads(took.stdout)
        assert result["takeover_index"] == result["continued_checkpoint_size"] == size
        assert result["parent"] == "asked"
        assert result["blobs_missing"] == []  # the photo came across with the log
        assert not dr.data_dir.standby_path.exists()

        fed.start("sta-dr")  # the new primary serves at the station's address
        searched(fed, "dpo", "sta-dr", 3)  # and appends
        new_size = fed.checkpoint_of("dpo", "sta-dr").size
        assert new_size == size + 1 + 3
        wait_for(
            "the parent to replicate the new primary",
            lambda: verified_size(parent_replica(fed, sta.origin)) == new_size,
            timeout=CATCH_UP,
        )
        yield Failover(fed, dr, old_checkpoints, size, new_size, photo)
    finally:
        if standby is not None:
            stop_node(standby)
        fed.stop_all()


def test_takeover_continues_the_log_and_the_parent_follows(failover: Failover) -> None:
    fed, dr = failover.fed, failover.dr
    origin, key = dr.origin, dr.ledger_key
    parent_note = fed.checkpoint_of("dpo", "dpo", origin)
    held_by_parent = fed.ask("dpo", "dpo", lambda c: c.get_checkpoint(origin, timeout=TIMEOUT))
    trusted = [*failover.old_checkpoints, held_by_parent]
    assert parent_note.size == failover.size
    with read_store(dr.data_dir.ledger_path) as store:
        # One log across both sites: every checkpoint the old primary signed, and the one the
        # parent holds now, are checkpoints of the new primary's log.
        report = verify_log(store, key, origin, trusted_checkpoints=trusted)
        assert report.size == failover.size and report.root == parent_note.root
        found = find_takeover(store)
        assert found is not None and found[0] == failover.taken_over_at
        index, event = found
        assert event.kind == TAKEOVER and event.size == failover.taken_over_at
        assert event.checkpoint == failover.old_checkpoints[-1]
        assert verify_checkpoint(event.checkpoint, key, origin).size == index
    with read_store(parent_replica(fed, origin)) as replica:
        assert verify_log(replica, key, origin, trusted_checkpoints=trusted).size == failover.size
    alerts = fed.cli("node", "alerts", "--data-dir", str(fed["dpo"].path))
    assert alerts.returncode == 0, alerts.stdout  # one history: no equivocation

    # The photo on the new primary's disk is damaged; the parent holds the replica's copy.
    photo = failover.photo
    wait_for("the parent to hold the photo", blob_file(fed["dpo"], photo).is_file, timeout=CATCH_UP)
    path = blob_file(dr, photo)
    damaged = bytearray(path.read_bytes())
    damaged[len(damaged) // 2] ^= 0x10
    path.write_bytes(bytes(damaged))
    verify = fed.cli("ledger", "verify", "--data-dir", str(dr.path))
    assert verify.returncode == 3 and photo in verify.stderr
    repaired = fed.cli("node", "repair-blobs", "--data-dir", str(dr.path), "--json", "--quiet")
    assert repaired.returncode == 0, repaired.stderr
    result = json.loads(repaired.stdout)
    assert (result["damaged"], result["restored"], result["from"]) == (
        [photo],
        [photo],
        fed["dpo"].node_id,
    )
    (aside,) = result["moved_aside"]
    assert (dr.path / "blobs" / aside).read_bytes() == bytes(damaged)  # kept, not deleted
    assert hashlib.sha256(path.read_bytes()).hexdigest() == photo
    verify = fed.cli("ledger", "verify", "--data-dir", str(dr.path))
    assert verify.returncode == 0, verify.stderr


def test_old_primary_back_learns_it_was_replaced_and_never_appends(failover: Failover) -> None:
    fed = failover.fed
    sta = fed["sta"]
    fed.stop("sta-dr")  # the station's address leads back to the old data centre
    code, log = exits_refusing(fed, "sta")
    assert code == 2, log
    assert (
        f"replaced by its standby: the log continued elsewhere from entry {failover.taken_over_at}"
        in log
    )
    standby = sta.data_dir.standby()
    assert standby is not None and "taken over at entry" in standby.reason
    with read_store(sta.data_dir.ledger_path) as store:
        # It got the log back from its parent up to there, verified; it wrote nothing of its own.
        assert store.size() == failover.size
        verify_log(store, sta.ledger_key, sta.origin)
    fed.stop("dpo")  # and it stays refused with nobody to ask
    code, log = exits_refusing(fed, "sta")
    assert code == 2 and "is a standby of its node" in log.splitlines()[-1]


def test_old_primary_that_appends_cut_off_is_refused_by_the_parent_s_witness(
    failover: Failover,
) -> None:
    fed = failover.fed
    sta, origin = fed["sta"], fed["sta"].origin
    fed.stop("dpo")  # the old data centre comes back cut off from its parent
    fed.stop("sta-dr")
    forked = append_entries(sta, 3, note="written at the old data centre")
    fed.start("sta")  # nobody to ask: it starts from its own log, and serves
    assert fed.checkpoint_of("sta", "sta").size == forked == failover.taken_over_at + 3
    fed.start("dpo")  # the parent sees the old primary's head where the new one was

    alerts = wait_for(
        "the parent's equivocation alert",
        lambda: (
            (a := fed.cli("node", "alerts", "--data-dir", str(fed["dpo"].path), "--json"))
            .returncode == 3 and json.loads(a.stdout)
        ),
        timeout=CATCH_UP,
    )  # fmt: skip
    [alert] = alerts
    assert alert["kind"] == "equivocation" and alert["origin"] == origin
    first, second = (
        verify_checkpoint(base64.b64decode(alert[name]), sta.ledger_key, origin, origin)
        for name in ("checkpoint", "conflicting_checkpoint")
    )
    assert (first.size, second.size) == (failover.size, forked)  # both heads, as evidence
    # The witness kept the new primary's history and nothing of the second head.
    with read_store(parent_replica(fed, origin)) as replica:
        assert verify_log(replica, sta.ledger_key, origin).size == failover.size
        latest = replica.latest_checkpoint()
        assert latest is not None and latest[0] == failover.size
        assert replica.meta(META_STATUS) == b"quarantined"
