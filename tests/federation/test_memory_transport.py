"""The in-memory transport: serialised calls between real stations, latency, loss, partitions,
nodes down, deadlines; deterministic under trio's MockClock."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator

import pytest
import trio
import trio.testing

from federation.memory import Link, MemoryNetwork
from federation.verify import verify_record_response
from ledger.errors import InputError, NotPermitted, PeerUnavailable
from protos import federation_pb2
from tests.federation.cluster import LAB, Member, context, first_fir, network, open_cluster

A, B = "ps-kalamassery", "ps-aluva"


@pytest.fixture(scope="module")
def members(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Member]]:
    yield from open_cluster(tmp_path_factory.mktemp("cluster"))


def run(main: Callable[[], Awaitable[None]], *, mock: bool = True) -> None:
    clock = trio.testing.MockClock(autojump_threshold=0) if mock else None
    trio.run(main, clock=clock)


def record_request(member: Member) -> federation_pb2.RecordRequest:
    return federation_pb2.RecordRequest(ref=first_fir(member.station).fir_number, context=context())


def test_memory_fetch_across_stations_is_verified_by_the_caller(
    members: dict[str, Member],
) -> None:
    owner, asker = members[A], members[B]
    net = network(members)

    async def main() -> None:
        client = net.client(asker.node_id, owner.node_id)
        response = await client.fetch_record(record_request(owner), timeout=5)
        verified = verify_record_response(
            response,
            expected_origin=owner.origin,
            owner_public_key=owner.public_key,
            asker_node_id=asker.node_id,
        )
        assert verified.receipt.audit.asker_node_id == asker.node_id

    run(main, mock=False)  # real threads, real clock
    run(main)  # and under the MockClock


def test_memory_calls_take_the_link_latency_both_ways(members: dict[str, Member]) -> None:
    net = network(members, latency=0.25)

    async def main() -> None:
        start = trio.current_time()
        note = await net.client(members[B].node_id, members[A].node_id).get_checkpoint(timeout=5)
        assert note.startswith(members[A].origin.encode())
        assert trio.current_time() - start == pytest.approx(0.5)

    run(main)


def test_memory_latency_beyond_the_deadline_is_unavailable_at_the_deadline(
    members: dict[str, Member],
) -> None:
    net = network(members)
    net.set_link(members[B].node_id, members[A].node_id, latency=3.0)

    async def main() -> None:
        start = trio.current_time()
        with pytest.raises(PeerUnavailable, match="within 2 s"):
            await net.client(members[B].node_id, members[A].node_id).get_checkpoint(timeout=2)
        assert trio.current_time() - start == pytest.approx(2.0)

    run(main)


def test_memory_partition_is_silence_until_healed(members: dict[str, Member]) -> None:
    net = network(members)
    a, b = members[A].node_id, members[B].node_id
    net.partition(a, b)

    async def main() -> None:
        client = net.client(b, a)
        start = trio.current_time()
        with pytest.raises(PeerUnavailable):
            await client.get_checkpoint(timeout=1.5)
        assert trio.current_time() - start == pytest.approx(1.5)
        net.heal(a, b)
        assert await client.get_checkpoint(timeout=1.5)

    run(main)


def test_memory_node_down_refuses_at_once(members: dict[str, Member]) -> None:
    net = network(members)
    a, b = members[A].node_id, members[B].node_id
    net.down(a)

    async def main() -> None:
        client = net.client(b, a)
        start = trio.current_time()
        with pytest.raises(PeerUnavailable, match="down"):
            await client.get_checkpoint(timeout=10)
        assert trio.current_time() - start < 1
        net.up(a)
        assert await client.get_checkpoint(timeout=10)

    run(main)


def test_memory_lost_messages_time_out(members: dict[str, Member]) -> None:
    net = network(members, loss=1.0)

    async def main() -> None:
        with pytest.raises(PeerUnavailable):
            await net.client(members[B].node_id, members[A].node_id).get_checkpoint(timeout=1)

    run(main)


def test_memory_random_latency_is_reproducible_from_the_seed(members: dict[str, Member]) -> None:
    def durations(seed: int) -> list[float]:
        net = network(members, seed=seed, latency=(0.1, 0.9), loss=0.3)
        out: list[float] = []

        async def main() -> None:
            client = net.client(members[B].node_id, members[A].node_id)
            for _ in range(8):
                start = trio.current_time()
                try:
                    await client.get_checkpoint(timeout=1.5)
                except PeerUnavailable:
                    out.append(-1.0)
                else:
                    out.append(round(trio.current_time() - start, 9))

        run(main)
        return out

    first = durations(7)
    assert first == durations(7)
    assert first != durations(8)
    assert -1.0 in first and any(d > 0 for d in first)


def test_memory_errors_cross_the_wire_as_status_and_message(members: dict[str, Member]) -> None:
    net = network(members)
    owner, asker, lab = members[A], members[B], members[LAB]

    async def main() -> None:
        with pytest.raises(InputError, match=f"{owner.node_id}: no record"):
            await net.client(asker.node_id, owner.node_id).fetch_record(
                federation_pb2.RecordRequest(ref="FIR No. 999/2026", context=context()),
                timeout=5,
            )
        with pytest.raises(NotPermitted) as refused:
            await net.client(lab.node_id, owner.node_id).fetch_record(
                record_request(owner), timeout=5
            )
        assert refused.value.node_id == owner.node_id

    run(main)


def test_memory_get_entries_returns_the_whole_log(members: dict[str, Member]) -> None:
    net = network(members)
    owner = members[A]

    async def main() -> None:
        size = owner.station.ledger.size()
        leaves = await net.client(members[B].node_id, owner.node_id).get_entries(
            "", 0, size, batch_size=7, timeout=5
        )
        assert leaves == list(owner.station.ledger.store.entries(0, size))

    run(main)


def test_memory_responses_are_copies_not_shared_objects(members: dict[str, Member]) -> None:
    net = network(members)

    async def main() -> None:
        client = net.client(members[B].node_id, members[A].node_id)
        first = await client.fetch_record(record_request(members[A]), timeout=5)
        second = await client.fetch_record(record_request(members[A]), timeout=5)
        assert first.record.leaf == second.record.leaf and first is not second
        assert first.receipt.index != second.receipt.index  # each read is audited

    run(main)


def test_memory_network_rejects_unknown_nodes_and_bad_links(members: dict[str, Member]) -> None:
    net = network(members)
    with pytest.raises(InputError):
        net.client(members[B].node_id, "nobody")
    with pytest.raises(InputError):
        net.add(members[A].service, members[A].identity)
    with pytest.raises(InputError):
        Link(latency=-1)
    with pytest.raises(InputError):
        Link(loss=1.5)
    assert isinstance(net, MemoryNetwork)


def test_memory_inline_mode_answers_the_same(members: dict[str, Member]) -> None:
    net = network(members, in_thread=False, latency=0.1)

    async def main() -> None:
        note = await net.client(members[B].node_id, members[A].node_id).get_checkpoint(timeout=1)
        assert note.startswith(members[A].origin.encode())

    run(main)
