"""The simulator's directory (simulations/sim/directory.py): offices join through their parents
with real signed entries, a moved office is found at its new address, a forged entry is
refused, and search answers are held to the parent's cosignature."""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable

import nacl.signing
import pytest
import trio
import trio.testing

from federation.directory import sign_statement
from federation.trust.authority import create_root, enrol_node, issue_state_authority
from protos import federation_pb2
from simulations.sim.directory import ROUND, SimDirectory
from simulations.sim.engine import EPOCH_MS, SimOptions, run_scenario, select_offices
from simulations.sim.shape import TinyFault, tiny_scenario

READER = "tiny/d1/c1/ps1"
MOVER = "tiny/d1/c2/ps2"  # another circle of the same district: found through the district


def _key(node_id: str) -> nacl.signing.SigningKey:
    return nacl.signing.SigningKey(hashlib.sha256(f"test:{node_id}".encode()).digest())


def _directory() -> SimDirectory:
    offices = select_offices(tiny_scenario(districts=2, circles=2, stations=2), 1.0, 1)
    return SimDirectory.joined(offices, _key, epoch_ms=EPOCH_MS, now=trio.current_time)


def _in_sim_time(test: Callable[[], Awaitable[None]]) -> None:
    trio.run(test, clock=trio.testing.MockClock(autojump_threshold=0))


def test_sim_directory_every_office_joins_up_its_chain() -> None:
    async def test() -> None:
        directory = _directory()
        assert not directory.refused
        # The district holds its whole subtree, the state everyone, a circle its stations.
        assert len(directory.tables["tiny/scrb"]) == len(directory.offices)
        assert {e.node_id for e in directory.tables["tiny/d1/c2"].entries()} == {
            "tiny/d1/c2",
            "tiny/d1/c2/ps1",
            "tiny/d1/c2/ps2",
        }
        held = directory.tables["tiny/d1"].get(MOVER)
        assert held is not None and held.identity.ledger_key == bytes(_key(MOVER).verify_key)
        assert directory.address(READER, MOVER) == directory.enrolled_at[MOVER]

    _in_sim_time(test)


def test_sim_directory_moved_office_is_found_at_its_new_address() -> None:
    async def test() -> None:
        directory = _directory()
        old = directory.address(READER, MOVER)
        assert directory.reachable(READER, [MOVER]) == [MOVER]
        async with trio.open_nursery() as nursery:
            assert directory.move(MOVER, nursery) == old
            new = directory.entries[MOVER]
            # The reader still holds the old address: dead now, the office is not reached.
            assert directory.reachable(READER, [MOVER]) == []
            # The parent took the new statement at once; the district one round later.
            parent = directory.tables["tiny/d1/c2"].get(MOVER)
            assert parent is not None and parent.status == "moved"
            assert parent.statement.sequence == 2
            await trio.sleep(ROUND + 1)
            district = directory.tables["tiny/d1"].get(MOVER)
            assert district is not None and district.entry.statement == new.statement
            await trio.sleep(ROUND)  # the reader looks again once a round
            assert directory.address(READER, MOVER) not in (None, old)
            assert directory.reachable(READER, [MOVER]) == [MOVER]
            # The old statement again (a replay) changes nothing.
            assert not directory.announce("tiny/d1", _first_entry(directory, MOVER, old))
            assert "older" in directory.refused[-1][1]

    _in_sim_time(test)


def _first_entry(
    directory: SimDirectory, node_id: str, address: str
) -> federation_pb2.DirectoryEntry:
    statement = sign_statement(
        _key(node_id),
        node_id=node_id,
        address=address,
        sequence=1,
        software_version="sim",
        at=directory.now(),
    )
    return federation_pb2.DirectoryEntry(chain=directory.chains[node_id], statement=statement)


@pytest.mark.parametrize("forgery", ["another key", "another root", "another office's chain"])
def test_sim_directory_refuses_a_forged_entry(forgery: str) -> None:
    async def test() -> None:
        directory = _directory()
        genuine = directory.tables["tiny/d1"].get(MOVER)
        assert genuine is not None
        chain = directory.chains[MOVER]
        key = _key(MOVER)
        if forgery == "another key":
            key = nacl.signing.SigningKey(b"\x01" * 32)
        elif forgery == "another root":
            rogue = issue_state_authority(create_root(common_name="rogue"), "tiny")
            chain = enrol_node(
                rogue,
                node_id=MOVER,
                role="station",
                parent="tiny/d1/c2",
                ledger_key=bytes(key.verify_key),
                address="10.9.9.9:7100",
            ).chain_pem
        else:
            chain = directory.chains["tiny/d1/c2/ps1"]
        statement = sign_statement(
            key,
            node_id=MOVER,
            address="10.9.9.9:7100",
            sequence=5,
            software_version="sim",
            at=directory.now(),
        )
        forged = federation_pb2.DirectoryEntry(chain=chain, statement=statement)
        assert not directory.announce("tiny/d1", forged)
        assert directory.refused and directory.refused[-1][0] == "tiny/d1"
        held = directory.tables["tiny/d1"].get(MOVER)
        assert held is not None and held.entry.statement == genuine.entry.statement
        assert directory.address(READER, MOVER) == genuine.address

    _in_sim_time(test)


def test_sim_move_is_published_and_answers_are_witness_checked() -> None:
    scenario = tiny_scenario(
        districts=2, circles=2, stations=2, faults=[TinyFault("move", 3 * 3600.0, 3600.0, MOVER)]
    )
    report = run_scenario(scenario, SimOptions(days=0.5, seed=7))
    assert report.ok, report.problems
    [joined, witness] = [n for n in report.notes if n.startswith(("directory:", "witness:"))]
    assert "1 moves published" in joined and "0 entries refused" in joined
    checked = int(witness.split()[1])
    assert checked > 0 and checked <= report.fanout_answered
