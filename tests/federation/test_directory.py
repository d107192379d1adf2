"""The signed directory (federation/directory.py): entries checked against the certificate chain,
sequences, pages signed by the serving node, removals on revocation; and the Announce /
GetDirectory / LookupOffice rpcs over the in-memory transport."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import nacl.signing
import pytest
import trio
from google.protobuf.message import Message

from federation.directory import (
    MAX_ENTRIES_PER_PAGE,
    Directory,
    make_entry,
    parse_entry,
    sign_page,
    sign_statement,
    verify_entry,
    verify_page,
)
from federation.interfaces import LocalNode, PeerAddress, PeerClient, PeerIdentity
from federation.memory import MemoryNetwork
from federation.service import PeerService
from federation.trust.authority import Authority, create_root, enrol_node, issue_state_authority
from federation.trust.credentials import NodeCredentials
from federation.trust.revocation import RevocationSet, sign_revocation
from ledger.errors import InputError, NotFound, NotPermitted, UsageError, VerificationError
from node.peers.directory import NodeDirectory, announce_to_parent, locate, refresh_from_parent
from node.records import limits
from protos import federation_pb2

STATE_NODE = "kerala/scrb"
DISTRICT = "kerala/ernakulam-city/dpo"
STATION = "kerala/ernakulam-city/ps-kalamassery"
OTHER_STATION = "kerala/thrissur-city/ps-ollur"


@dataclass
class Office:
    """An enrolled office: its certificate and its ledger key."""

    node_id: str
    credentials: NodeCredentials
    key: nacl.signing.SigningKey
    address: str

    def statement(self, sequence: int = 1, **fields: object) -> bytes:
        return sign_statement(
            self.key,
            node_id=self.node_id,
            address=str(fields.pop("address", self.address)),
            sequence=sequence,
            software_version="0.1.0",
            **fields,  # type: ignore[arg-type]
        )

    def entry(self, sequence: int = 1, **fields: object) -> federation_pb2.DirectoryEntry:
        return parse_entry(
            make_entry(self.credentials.chain_pem, self.statement(sequence, **fields))
        )


@pytest.fixture(scope="module")
def root() -> Authority:
    return create_root()


@pytest.fixture(scope="module")
def kerala(root: Authority) -> Authority:
    return issue_state_authority(root, "kerala")


def office(kerala: Authority, node_id: str, parent: str, role: str, port: int) -> Office:
    key = nacl.signing.SigningKey.generate()
    address = f"127.0.0.1:{port}"
    creds = enrol_node(
        kerala,
        node_id=node_id,
        role=role,
        parent=parent,
        ledger_key=bytes(key.verify_key),
        address=address,
    )
    return Office(node_id, creds, key, address)


@pytest.fixture(scope="module")
def offices(kerala: Authority) -> dict[str, Office]:
    return {
        "state": office(kerala, STATE_NODE, "", "state", 7100),
        "district": office(kerala, DISTRICT, STATE_NODE, "district", 7101),
        "station": office(kerala, STATION, DISTRICT, "station", 7102),
        "other": office(kerala, OTHER_STATION, STATE_NODE, "station", 7103),
    }


def test_directory_entry_verified_against_the_chain(
    root: Authority, offices: dict[str, Office]
) -> None:
    station = offices["station"]
    verified = verify_entry(station.entry(), root.root_pem)
    assert verified.node_id == STATION
    assert verified.parent == DISTRICT
    assert verified.address == "127.0.0.1:7102"
    assert verified.peer_address().ledger_key == bytes(station.key.verify_key)
    assert verified.peer_address().origin == f"cctns.in/{STATION}"


def test_directory_refuses_a_statement_with_a_bad_signature(
    root: Authority, offices: dict[str, Office]
) -> None:
    station = offices["station"]
    document = json.loads(station.statement())
    signature = bytearray(base64.b64decode(document["signature"]))
    signature[0] ^= 1
    document["signature"] = base64.b64encode(bytes(signature)).decode()
    forged = json.dumps(document, sort_keys=True, separators=(",", ":")).encode()
    directory = Directory(root.root_pem)
    with pytest.raises(VerificationError, match="signature does not verify"):
        directory.add(parse_entry(make_entry(station.credentials.chain_pem, forged)))
    assert STATION not in directory and directory.version == 0


def test_directory_refuses_a_statement_signed_by_another_key(
    root: Authority, offices: dict[str, Office]
) -> None:
    station, other = offices["station"], offices["other"]
    # The station's certificate, a statement for it signed by another office's ledger key.
    statement = sign_statement(other.key, node_id=STATION, address="10.0.0.9:7000", sequence=5)
    with pytest.raises(VerificationError, match="signature does not verify"):
        verify_entry(
            parse_entry(make_entry(station.credentials.chain_pem, statement)), root.root_pem
        )


def test_directory_refuses_a_chain_to_another_root(offices: dict[str, Office]) -> None:
    elsewhere = issue_state_authority(create_root(common_name="another root"), "kerala")
    impostor = office(elsewhere, STATION, DISTRICT, "station", 7999)
    directory = Directory(offices["station"].credentials.root_pem)
    with pytest.raises(VerificationError, match="not issued by a known authority"):
        directory.add(impostor.entry())
    assert len(directory) == 0


def test_directory_refuses_a_statement_for_another_node(
    root: Authority, offices: dict[str, Office]
) -> None:
    station, other = offices["station"], offices["other"]
    # The other station's statement in front of the station's certificate.
    entry = parse_entry(make_entry(station.credentials.chain_pem, other.statement()))
    with pytest.raises(
        VerificationError, match=f"names {OTHER_STATION}, the certificate {STATION}"
    ):
        verify_entry(entry, root.root_pem)


def test_directory_higher_sequence_replaces_lower_is_a_replay(
    root: Authority, offices: dict[str, Office]
) -> None:
    station = offices["station"]
    directory = Directory(root.root_pem)
    first = station.entry(1)
    moved = station.entry(2, address="127.0.0.1:7202")
    assert directory.add(first)
    assert directory.add(moved)
    assert directory.get(STATION).address == "127.0.0.1:7202"  # type: ignore[union-attr]
    assert not directory.add(moved)  # the same word again changes nothing
    version = directory.version
    with pytest.raises(VerificationError, match="older than the 2 held"):
        directory.add(first)
    with pytest.raises(VerificationError, match="another statement under sequence 2"):
        directory.add(station.entry(2, address="127.0.0.1:7302"))
    assert directory.version == version
    assert directory.get(STATION).address == "127.0.0.1:7202"  # type: ignore[union-attr]


def test_directory_statement_fields_checked_when_signed(offices: dict[str, Office]) -> None:
    station = offices["station"]
    with pytest.raises(InputError) as caught:
        station.statement(0, address="nowhere", status="gone")
    assert len(caught.value.problems) == 3


def test_directory_retirement_signed_by_the_parent_leads_to_the_successor(
    root: Authority, offices: dict[str, Office]
) -> None:
    station, district, other = offices["station"], offices["district"], offices["other"]
    directory = Directory(root.root_pem)
    directory.add(station.entry(3))
    directory.add(other.entry())
    retired = sign_statement(
        district.key,
        node_id=STATION,
        address=station.address,
        sequence=4,
        status="retired",
        successor=OTHER_STATION,
        signer=DISTRICT,
    )
    entry = parse_entry(
        make_entry(station.credentials.chain_pem, retired, district.credentials.chain_pem)
    )
    assert directory.add(entry)
    found = directory.resolve(STATION)
    assert found is not None
    assert found[0].node_id == OTHER_STATION
    assert "retired" in found[1] and OTHER_STATION in found[1]
    # Another office may not retire it; nor may a parent move it.
    by_stranger = sign_statement(
        other.key,
        node_id=STATION,
        address=station.address,
        sequence=9,
        status="retired",
        signer=OTHER_STATION,
    )
    with pytest.raises(VerificationError, match="may not sign it"):
        directory.add(parse_entry(make_entry(station.credentials.chain_pem, by_stranger)))
    moved_by_parent = sign_statement(
        district.key, node_id=STATION, address="10.1.1.1:1", sequence=9, signer=DISTRICT
    )
    with pytest.raises(VerificationError, match="may not sign it"):
        directory.add(
            parse_entry(
                make_entry(
                    station.credentials.chain_pem, moved_by_parent, district.credentials.chain_pem
                )
            )
        )


def test_directory_revocation_removes_the_entry_and_readers_learn_it(
    root: Authority, kerala: Authority, offices: dict[str, Office], tmp_path: object
) -> None:
    revocations = RevocationSet(root.root_pem)
    server = Directory(root.root_pem, revocations)
    reader = Directory(root.root_pem, RevocationSet(root.root_pem))
    for name in ("state", "district", "station"):
        server.add(offices[name].entry())
    reader.apply(server.changes_since(0, node_id=STATE_NODE))
    assert STATION in reader
    since = server.version
    revocations.add(sign_revocation(kerala, node_id=STATION, reason="station closed"))
    assert server.prune_revoked() == [STATION]
    assert STATION not in server
    with pytest.raises(VerificationError, match="revoked"):
        server.add(offices["station"].entry(7))
    delta = server.changes_since(since, node_id=STATE_NODE)
    assert list(delta.removed) == [STATION] and not delta.entries
    assert reader.apply(delta).removed == [STATION]
    assert STATION not in reader


def test_directory_page_signed_by_the_server_and_each_entry_checked(
    root: Authority, offices: dict[str, Office]
) -> None:
    state = offices["state"]
    server = Directory(root.root_pem)
    for name in ("state", "district", "station"):
        server.add(offices[name].entry())
    listing = server.changes_since(0, node_id=STATE_NODE)
    # A forged entry slipped into the listing: the page signature is good (the server signs
    # whatever it serves), the entry itself is not.
    forged = offices["other"].entry()
    forged.statement = offices["station"].statement(8, address="6.6.6.6:66")
    listing.entries.append(forged)
    page = sign_page(listing, state.key, state.credentials.chain_pem)
    got = verify_page(page, STATE_NODE, root.root_pem)
    reader = Directory(root.root_pem)
    applied = reader.apply(got)
    assert sorted(applied.accepted) == sorted([STATE_NODE, DISTRICT, STATION])
    assert len(applied.refused) == 1 and "names kerala/ernakulam-city" in applied.refused[0][1]
    assert OTHER_STATION not in reader
    assert reader.get(STATION).address == "127.0.0.1:7102"  # type: ignore[union-attr]
    with pytest.raises(VerificationError, match="signed by kerala/scrb"):
        verify_page(page, DISTRICT, root.root_pem)
    page.listing = page.listing + b"\x00"
    with pytest.raises(VerificationError, match="bad signature"):
        verify_page(page, STATE_NODE, root.root_pem)


def test_directory_changes_since_pages_and_subtrees(
    root: Authority, offices: dict[str, Office]
) -> None:
    server = Directory(root.root_pem)
    for name in ("state", "district", "station", "other"):
        server.add(offices[name].entry())
    first = server.changes_since(0, node_id=STATE_NODE, limit=3)
    assert len(first.entries) == 3 and first.more and first.next_version == 3
    rest = server.changes_since(first.next_version, node_id=STATE_NODE, limit=3)
    assert len(rest.entries) == 1 and not rest.more and rest.next_version == server.version
    district = server.changes_since(0, node_id=STATE_NODE, subtree="kerala/ernakulam-city")
    assert {parse_entry(e.SerializeToString()).chain for e in district.entries} == {
        offices["district"].credentials.chain_pem,
        offices["station"].credentials.chain_pem,
    }
    assert [v.node_id for v in server.subtree(STATE_NODE)] == [DISTRICT, STATION, OTHER_STATION]
    assert [v.node_id for v in server.children(DISTRICT)] == [STATION]
    assert [v.node_id for v in server.ancestors(STATION)] == [DISTRICT, STATE_NODE]
    assert server.changes_since(0, node_id=STATE_NODE, limit=10**6).ByteSize() > 0
    assert MAX_ENTRIES_PER_PAGE <= 500


def test_directory_file_round_trip_verifies_again(
    root: Authority, kerala: Authority, offices: dict[str, Office]
) -> None:
    directory = Directory(root.root_pem)
    for name in ("state", "district", "station"):
        directory.add(offices[name].entry())
    directory.seen(STATION, 1_700_000_000.0)
    again = Directory.from_json(directory.to_json(), root.root_pem)
    assert [v.node_id for v in again.entries()] == [v.node_id for v in directory.entries()]
    assert again.version == directory.version
    assert again.last_seen(STATION) == 1_700_000_000.0
    revocations = RevocationSet(root.root_pem)
    revocations.add(sign_revocation(kerala, node_id=DISTRICT, reason="merged"))
    refused: list[tuple[str, str]] = []
    pruned = Directory.from_json(directory.to_json(), root.root_pem, revocations, refused=refused)
    assert DISTRICT not in pruned and STATION in pruned
    assert refused and refused[0][0] == DISTRICT


# -- Announce, GetDirectory, LookupOffice over the in-memory transport ---------------------------


class DirectoryOnlyNode:
    """The part of a LocalNode the directory rpcs use, over a real NodeDirectory."""

    def __init__(self, node: NodeDirectory) -> None:
        self.held = node
        self.node_id = node.node_id
        self.announced: list[str] = []

    @property
    def directory(self) -> Directory:
        return self.held.directory

    def check_request(self, request: Message) -> None:
        found = limits.problems(request)
        if found:
            raise InputError("; ".join(found), found)

    def sign_directory_page(
        self, listing: federation_pb2.DirectoryListing
    ) -> federation_pb2.DirectoryPage:
        return self.held.sign_page(listing)

    def child_announced(self, caller: PeerIdentity) -> None:
        self.held.save_if_changed()
        self.announced.append(caller.node_id)


DISTRICT_2 = "kerala/thrissur-city/dpo"
World = tuple[MemoryNetwork, dict[str, NodeDirectory], dict[str, DirectoryOnlyNode], RevocationSet]


@pytest.fixture
def world(kerala: Authority, offices: dict[str, Office], tmp_path: Path) -> World:
    """State, two districts, a station under each; every node with its directory on disk."""
    everyone = dict(offices)
    everyone["district2"] = office(kerala, DISTRICT_2, STATE_NODE, "district", 7104)
    everyone["other"] = office(kerala, OTHER_STATION, DISTRICT_2, "station", 7105)
    net = MemoryNetwork()
    revocations = RevocationSet(kerala.root_pem)  # what every node learns, at once
    nodes: dict[str, NodeDirectory] = {}
    locals_: dict[str, DirectoryOnlyNode] = {}
    for name, member in everyone.items():
        folder = tmp_path / name
        folder.mkdir()
        creds = member.credentials
        node = NodeDirectory(
            folder, member.node_id, Directory(creds.root_pem, revocations), member.key, creds
        )
        node.state()  # the own statement, in the own directory
        nodes[name] = node
        locals_[name] = DirectoryOnlyNode(node)
        net.add(PeerService(cast(LocalNode, locals_[name])), creds.identity)
    return net, nodes, locals_, revocations


def client(net: MemoryNetwork, nodes: dict[str, NodeDirectory], a: str, b: str) -> PeerClient:
    return net.client(nodes[a].node_id, nodes[b].node_id)


async def join(net: MemoryNetwork, nodes: dict[str, NodeDirectory], name: str, parent: str) -> None:
    """What the runtime does: announce to the parent, then read its directory."""
    await announce_to_parent(nodes[name], client(net, nodes, name, parent), timeout=5)
    await refresh_from_parent(nodes[name], client(net, nodes, name, parent), timeout=5)


def test_directory_station_found_across_districts_without_a_file_edited(
    world: World,
) -> None:
    net, nodes, locals_, _ = world

    async def main() -> None:
        for name in ("district", "district2"):
            await join(net, nodes, name, "state")
        await join(net, nodes, "other", "district2")  # a new station joins in Thrissur
        assert locals_["district2"].announced == [OTHER_STATION]
        # Thrissur passes its new station up with its next announce; Ernakulam's station then
        # reads it from its district, which read it from the state.
        await announce_to_parent(
            nodes["district2"], client(net, nodes, "district2", "state"), timeout=5
        )
        assert OTHER_STATION in nodes["state"].directory
        await refresh_from_parent(
            nodes["district"], client(net, nodes, "district", "state"), timeout=5
        )
        await join(net, nodes, "station", "district")
        found, note = nodes["station"].peer_address(OTHER_STATION)  # type: ignore[misc]
        assert found.address == "127.0.0.1:7105" and note == ""
        assert found.ledger_key == bytes(nodes["other"].credentials.identity.ledger_key)
        # The parent keeps what it heard: last seen, and (signed) address and software version.
        assert nodes["district2"].directory.last_seen(OTHER_STATION) is not None
        saved = json.loads((nodes["district2"].path / "directory.json").read_text())
        assert OTHER_STATION in {row["node_id"] for row in saved["entries"]}

    trio.run(main)


def test_directory_lookup_walks_up_the_parent_chain(
    world: World,
) -> None:
    net, nodes, _, _ = world

    async def main() -> None:
        for name in ("district", "district2"):
            await join(net, nodes, name, "state")
        await join(net, nodes, "station", "district")
        await join(net, nodes, "other", "district2")
        await announce_to_parent(
            nodes["district2"], client(net, nodes, "district2", "state"), timeout=5
        )
        # Neither the station nor its district has read the state's directory since: the
        # lookup asks the district (which does not know it), then the state (which does).
        assert OTHER_STATION not in nodes["station"].directory
        asked: list[str] = []

        def connect(peer: PeerAddress) -> PeerClient:
            asked.append(peer.node_id)
            return net.client(STATION, peer.node_id)

        found, _ = await locate(nodes["station"], OTHER_STATION, connect, timeout=5)
        assert found.node_id == OTHER_STATION and asked == [DISTRICT, STATE_NODE]
        assert OTHER_STATION in nodes["station"].directory  # kept: one step next time
        with pytest.raises(NotFound, match="kerala/nowhere"):
            await locate(nodes["station"], "kerala/nowhere", connect, timeout=5)

    trio.run(main)


def test_directory_announce_refused_to_strangers_and_for_others(
    world: World,
) -> None:
    net, nodes, _, _ = world

    async def main() -> None:
        # The station's parent is the Ernakulam district, not Thrissur's.
        with pytest.raises(NotPermitted, match="announces itself to its own parent"):
            await announce_to_parent(
                nodes["station"], client(net, nodes, "station", "district2"), timeout=5
            )
        # The other station may not announce the station's entry as its own.
        stolen = nodes["station"].state().entry
        with pytest.raises(NotPermitted, match="not the caller's own"):
            await client(net, nodes, "station", "district").announce(
                federation_pb2.AnnounceRequest(entry=nodes["other"].state().entry), timeout=5
            )
        # A relayed entry from outside the caller's subtree is left out.
        await client(net, nodes, "district2", "state").announce(
            federation_pb2.AnnounceRequest(
                entry=nodes["district2"].state().entry, relayed=[stolen]
            ),
            timeout=5,
        )
        assert STATION not in nodes["state"].directory
        assert DISTRICT_2 in nodes["state"].directory

    trio.run(main)


def test_directory_revoked_office_disappears_everywhere(
    root: Authority,
    kerala: Authority,
    world: World,
) -> None:
    net, nodes, _, revocations = world
    revocation = sign_revocation(kerala, node_id=OTHER_STATION, reason="compromised")

    async def main() -> None:
        for name in ("district", "district2"):
            await join(net, nodes, name, "state")
        await join(net, nodes, "other", "district2")
        await announce_to_parent(
            nodes["district2"], client(net, nodes, "district2", "state"), timeout=5
        )
        await refresh_from_parent(
            nodes["district"], client(net, nodes, "district", "state"), timeout=5
        )
        await join(net, nodes, "station", "district")
        assert all(OTHER_STATION in nodes[n].directory for n in ("state", "district", "station"))
        # The state learns the revocation (every node does, by the revocation exchange).
        revocations.add(revocation)
        assert nodes["state"].directory.prune_revoked() == [OTHER_STATION]
        await refresh_from_parent(
            nodes["district"], client(net, nodes, "district", "state"), timeout=5
        )
        got = await refresh_from_parent(
            nodes["station"], client(net, nodes, "station", "district"), timeout=5
        )
        assert got.removed == [OTHER_STATION]
        # Thrissur's district prunes it on its own next round, as every node does.
        assert nodes["district2"].directory.prune_revoked() == [OTHER_STATION]
        assert not any(
            OTHER_STATION in node.directory
            for node in nodes.values()
            if node.node_id != OTHER_STATION
        )
        # A returning revoked office is refused at the door.
        other = nodes["other"]
        statement = (other.path / "statement.json").read_bytes()
        entry = parse_entry(make_entry(other.credentials.chain_pem, statement))
        with pytest.raises(NotPermitted, match="revoked"):
            await client(net, nodes, "other", "district2").announce(
                federation_pb2.AnnounceRequest(entry=entry), timeout=5
            )

    trio.run(main)


def test_directory_moved_office_reached_at_its_new_address(
    world: World,
) -> None:
    net, nodes, _, _ = world

    async def main() -> None:
        for name in ("district", "district2"):
            await join(net, nodes, name, "state")
        await join(net, nodes, "station", "district")
        await join(net, nodes, "other", "district2")
        await announce_to_parent(
            nodes["district2"], client(net, nodes, "district2", "state"), timeout=5
        )
        await refresh_from_parent(
            nodes["district"], client(net, nodes, "district", "state"), timeout=5
        )
        await refresh_from_parent(
            nodes["station"], client(net, nodes, "station", "district"), timeout=5
        )
        # The Thrissur station moves: it signs a new statement and announces it.
        nodes["other"].state(address="127.0.0.1:7205", status="moved")
        await announce_to_parent(
            nodes["other"], client(net, nodes, "other", "district2"), timeout=5
        )
        await announce_to_parent(
            nodes["district2"], client(net, nodes, "district2", "state"), timeout=5
        )
        await refresh_from_parent(
            nodes["district"], client(net, nodes, "district", "state"), timeout=5
        )
        await refresh_from_parent(
            nodes["station"], client(net, nodes, "station", "district"), timeout=5
        )
        found, _ = nodes["station"].peer_address(OTHER_STATION)  # type: ignore[misc]
        assert found.address == "127.0.0.1:7205"
        # Its district retires it into the Ernakulam station: readers are sent there.
        retired = nodes["district2"].sign_for_child(
            OTHER_STATION, status="merged", successor=STATION
        )
        assert nodes["district2"].directory.add(retired)
        await announce_to_parent(
            nodes["district2"], client(net, nodes, "district2", "state"), timeout=5
        )
        await refresh_from_parent(
            nodes["district"], client(net, nodes, "district", "state"), timeout=5
        )
        await refresh_from_parent(
            nodes["station"], client(net, nodes, "station", "district"), timeout=5
        )
        found, note = nodes["station"].peer_address(OTHER_STATION)  # type: ignore[misc]
        assert found.node_id == STATION and "merged" in note
        # The merged office may not announce itself back in.
        with pytest.raises(UsageError, match="merged"):
            await announce_to_parent(
                nodes["other"], client(net, nodes, "other", "district2"), timeout=5
            )

    trio.run(main)


def test_directory_restored_node_overtakes_what_its_parent_holds(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    net, nodes, _, _ = world

    async def main() -> None:
        await join(net, nodes, "district", "state")
        await join(net, nodes, "station", "district")
        held = nodes["district"].directory.get(STATION)
        assert held is not None and held.statement.sequence == 1
        # The station comes back from a backup without its statement: its next word must be
        # newer than the one its parent holds, or the parent would refuse it as a replay.
        (nodes["station"].path / "statement.json").unlink()
        await announce_to_parent(
            nodes["station"], client(net, nodes, "station", "district"), timeout=5
        )
        assert nodes["district"].directory.get(STATION).statement.sequence == 2  # type: ignore[union-attr]
        # A node relays its subtree a bounded batch at a time, and nothing is skipped.
        await join(net, nodes, "district2", "state")
        state = nodes["state"]
        monkeypatch.setattr("node.peers.directory.MAX_RELAYED", 1)
        relayed: list[bytes] = []
        while True:
            batch, reached = state.relay()
            if not batch:
                break
            assert len(batch) == 1
            relayed += [entry.chain for entry in batch]
            state.relayed_version = reached
        assert len(relayed) == len(state.directory.subtree(STATE_NODE)) == 2

    trio.run(main)
