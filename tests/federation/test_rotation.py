"""A node's key rotation as the federation sees it: askers that trust the node's old key (its
federation.toml entry, its certificate) verify what it signs after the rotation through the
hand-over its answers carry; forged hand-overs are refused. In-process over real stations,
then end to end: real node processes, mutual TLS gRPC on loopback, the parent's replica
following across the rotation and a record written after it fetched and verified."""

from __future__ import annotations

import base64 as b64
import json
import time
from collections.abc import Iterator
from pathlib import Path

import nacl.signing
import pytest
import trio

from admin.cli import main
from federation.replicas import origin_slug
from federation.trust.credentials import NodeCredentials
from federation.verify import verify_receipt, verify_record_response
from ledger.checkpoint import parse_note, sign_checkpoint
from ledger.entry import encode_leaf, parse_leaf, sign_body
from ledger.errors import InputError, PeerError, VerificationError
from ledger.keys import KEY_ROTATION, sign_possession
from ledger.log import verify_log
from ledger.rocksdb_store import RocksDBLogStore
from node.config import DataDir, load_federation
from node.demo.federation import build
from node.demo.seed import seed_station
from node.peers.clients import Peers
from node.station import registers
from node.station.core import Station
from node.station.rotation import rotate_key
from protos import federation_pb2
from tests.federation.cluster import OFFICER, Member, context, first_fir, open_member
from tests.node.support import theft_fir
from tests.processes import serve_federated, stop_node

# -- in-process: PeerService over real stations -----------------------------------------------


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Member, Member, bytes]]:
    """(owner, asker, the owner's key before it rotated): the owner has 80 seeded records, a
    rotation, and a record written after it."""
    root = tmp_path_factory.mktemp("rotation")
    owner = open_member(root, "ps-kalamassery", records=80)
    asker = open_member(root, "ps-aluva", records=0)
    old = owner.public_key
    rotate_key(owner.station, DataDir(root / "ps-kalamassery"), OFFICER)
    yield owner, asker, old
    owner.station.close()
    asker.station.close()


def fetch(owner: Member, asker: Member, ref: str) -> federation_pb2.RecordResponse:
    request = federation_pb2.RecordRequest(ref=ref, context=context())
    return owner.service.fetch_record(asker.identity, request)


def test_rotation_record_before_and_after_verify_under_the_old_key(
    pair: tuple[Member, Member, bytes],
) -> None:
    owner, asker, old = pair
    before = first_fir(owner.station).fir_number
    after = registers.register_fir(owner.station, OFFICER, theft_fir()).ref
    for ref in (before, after):
        response = fetch(owner, asker, ref)
        assert [
            p.index for p in response.key_handovers
        ] == owner.station.ledger.keys.handover_indexes()
        for pinned in (old, owner.public_key):  # federation.toml's key, or the new one
            verified = verify_record_response(
                response, expected_origin=owner.origin, owner_public_key=pinned, expected_ref=ref
            )
            assert verified.record.body.fir.fir_number == ref
    with pytest.raises(VerificationError, match="never pass through"):
        verify_record_response(
            fetch(owner, asker, after),
            expected_origin=owner.origin,
            owner_public_key=asker.public_key,
        )


def test_rotation_search_and_hit_receipts_verify_under_the_old_key(
    pair: tuple[Member, Member, bytes],
) -> None:
    owner, asker, old = pair
    search = owner.service.search(
        asker.identity,
        federation_pb2.SearchRequest(kind="case", query="theft", context=context()),
    )
    hit = owner.service.hit_no_hit(
        asker.identity,
        federation_pb2.HitRequest(identifier_type="fir", value="FIR No. 1/2026", context=context()),
    )
    for answer in (search, hit):
        receipt = verify_receipt(
            answer.receipt,
            expected_origin=owner.origin,
            owner_public_key=old,
            key_handovers=answer.key_handovers,
            asker_node_id=asker.node_id,
        )
        assert receipt.audit.asker_node_id == asker.node_id
        with pytest.raises(VerificationError, match="signature"):
            verify_receipt(answer.receipt, expected_origin=owner.origin, owner_public_key=old)


def test_rotation_key_history_is_served_for_a_size(pair: tuple[Member, Member, bytes]) -> None:
    owner, asker, old = pair
    (handover_index,) = owner.station.ledger.keys.handover_indexes()
    history = owner.service.get_key_history(
        asker.identity, federation_pb2.KeyHistoryRequest(size=owner.station.ledger.size())
    )
    (proven,) = history.handovers
    body = parse_leaf(proven.leaf).decode_body()
    assert proven.index == handover_index and body.node_event.kind == KEY_ROTATION
    assert body.node_event.previous_key == old
    before = owner.service.get_key_history(
        asker.identity, federation_pb2.KeyHistoryRequest(size=handover_index)
    )
    assert list(before.handovers) == []
    with pytest.raises(InputError):
        owner.service.get_key_history(
            asker.identity, federation_pb2.KeyHistoryRequest(size=owner.station.ledger.size() + 1)
        )


def test_rotation_forged_handover_in_a_response_is_refused(
    pair: tuple[Member, Member, bytes],
) -> None:
    """Someone without the owner's key answers in its name: a hand-over from the old key to
    their own, signed by themselves, and a checkpoint by their key."""
    owner, asker, old = pair
    thief = nacl.signing.SigningKey.generate()
    response = fetch(owner, asker, first_fir(owner.station).fir_number)
    forged = federation_pb2.RecordResponse()
    forged.CopyFrom(response)
    (real,) = forged.key_handovers
    body = parse_leaf(real.leaf).decode_body()
    body.node_event.public_key = bytes(thief.verify_key)
    body.node_event.possession = sign_possession(thief, owner.origin, body.index, old)
    raw = body.SerializeToString(deterministic=True)
    real.leaf = encode_leaf(raw, sign_body(raw, bytes(thief) + bytes(thief.verify_key)))
    note = parse_note(forged.checkpoint)[0]
    forged.checkpoint = sign_checkpoint(note, thief)
    with pytest.raises(VerificationError, match="signature"):
        verify_record_response(forged, expected_origin=owner.origin, owner_public_key=old)
    # And with no hand-over at all, a checkpoint by the thief's key is no checkpoint of the log.
    del forged.key_handovers[:]
    with pytest.raises(VerificationError, match="no signature"):
        verify_record_response(forged, expected_origin=owner.origin, owner_public_key=old)


# -- end to end: real processes, mutual TLS gRPC on loopback ----------------------------------

STATION, DISTRICT, ASKER = "kalamassery", "ekm-dpo", "edappally"
STATION_ID = "kerala/ernakulam-city/ps-kalamassery"
DISTRICT_ID = "kerala/ernakulam-city/dpo"
REPLICATION_DEADLINE = 90.0


async def _district_holds(base: Path, origin: str) -> tuple[int, list[int]]:
    """The size of the district's verified replica of `origin` and the hand-overs it serves
    with it, asked over gRPC as another station would."""
    peers = Peers.load(DataDir(base / ASKER))
    client = peers.client(peers.address(DISTRICT_ID))
    try:
        try:
            note = await client.get_checkpoint(origin, timeout=5.0)
        except PeerError:
            return 0, []
        size = parse_note(note)[0].size
        history = await client.get_key_history(origin, size, timeout=5.0)
    finally:
        client.close()
    return size, [proven.index for proven in history]


def _wait_replicated(base: Path, origin: str, size: int) -> list[int]:
    """Polls the district until its replica of `origin` covers `size` entries (bounded)."""
    deadline = time.monotonic() + REPLICATION_DEADLINE
    while True:
        held, handovers = trio.run(_district_holds, base, origin)
        if held >= size:
            return handovers
        assert time.monotonic() < deadline, f"the district replicated {held} of {size}"
        time.sleep(0.5)


def _size(data_dir: DataDir) -> int:
    with RocksDBLogStore.open(data_dir.ledger_path, audit=True) as store:
        return store.size()


@pytest.mark.slow  # real node processes
def test_rotation_end_to_end_parent_follows_and_asker_verifies(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    build(tmp_path, records=20, peer_lists=True)
    station_dir = DataDir(tmp_path / STATION)
    origin = station_dir.load_config().origin
    old = bytes(station_dir.load_key().verify_key)
    district = serve_federated(tmp_path, DISTRICT)
    child = serve_federated(tmp_path, STATION)
    try:
        assert _wait_replicated(tmp_path, origin, _size(station_dir)) == []
        stop_node(child)

        # The operator's steps (docs/federation-trust.md): rotate, re-enrol, serve again.
        capsys.readouterr()
        assert main(["node", "rotate-key", "--data-dir", str(station_dir.path), "--json"]) == 0
        rotated = json.loads(capsys.readouterr().out)
        new = bytes(station_dir.load_key().verify_key)
        assert rotated["previous_key"] == b64.b64encode(old).decode()
        assert rotated["public_key"] == b64.b64encode(new).decode()
        listen = load_federation(station_dir).listen
        enrol = [
            "ca", "enrol", "--authority", str(tmp_path / "authorities" / "kerala"),
            "--data-dir", str(station_dir.path), "--parent", DISTRICT_ID, "--address", listen,
        ]  # fmt: skip
        assert main(enrol) == 0
        assert NodeCredentials.load(station_dir.path).identity.ledger_key == new
        station = Station.open(station_dir)
        try:
            seed_station(station, 15, seed=77, show_progress=False)
            after = [
                (index, body.fir.fir_number)
                for index, body in station.ledger.bodies(rotated["handover_index"])
                if body.WhichOneof("record") == "fir" and body.fir.fir_number
            ]
            size = station.ledger.size()
        finally:
            station.close()
        assert after, "the seed wrote no FIR after the rotation"
        child = serve_federated(tmp_path, STATION)

        # The district follows across the hand-over with the key its federation.toml pinned.
        assert _wait_replicated(tmp_path, origin, size) == [rotated["handover_index"]]
        district_pin = Peers.load(DataDir(tmp_path / DISTRICT)).address(STATION_ID).ledger_key
        assert district_pin == old

        # Another station, which also still pins the old key, fetches a record written after
        # the rotation: signed by the new key, verified through the hand-over.
        assert Peers.load(DataDir(tmp_path / ASKER)).address(STATION_ID).ledger_key == old
        index, ref = after[-1]
        fetch = [
            "peer", "fetch", ref, "--node", STATION_ID, "--data-dir", str(tmp_path / ASKER),
            "--officer", "PEN100005", "--case", "FIR No. 3/2026 of ps-edappally", "--json",
        ]  # fmt: skip
        capsys.readouterr()
        assert main(fetch) == 0
        fetched = json.loads(capsys.readouterr().out)
        assert fetched["record"]["fir"]["fir_number"] == ref
        assert fetched["verified"].startswith(f"entry {index} in checkpoint")
    finally:
        stop_node(child)
        stop_node(district)

    # The district's replica is the child's own log: it verifies from the genesis key.
    replica = tmp_path / DISTRICT / "replicas" / origin_slug(origin) / "log"
    with RocksDBLogStore.open(replica, audit=True) as store:
        report = verify_log(store, old, origin)
    assert report.size >= size and report.keys.current == new
    assert report.keys.handover_indexes() == [rotated["handover_index"]]
