"""Fan-out over real stations on the in-memory network: merged answers, every peer accounted
for, unanswered peers named with their reason."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import trio
import trio.testing

from federation.fanout import FanOutResult, fan_out, federated_search
from federation.interfaces import PeerClient
from federation.verify import verify_receipt
from ledger.errors import InputError, VerificationError
from protos import federation_pb2
from tests.federation.cluster import (
    CASE,
    LAB,
    OFFICER,
    STATIONS,
    Member,
    audits,
    context,
    first_person,
    first_vehicle,
    network,
    open_cluster,
)

ASKER = "ps-kalamassery"
PEERS = STATIONS[1:]  # aluva, edappally, kakkanad


@pytest.fixture(scope="module")
def members(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Member]]:
    yield from open_cluster(tmp_path_factory.mktemp("cluster"))


def run_mock(main: object) -> None:
    trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))  # type: ignore[arg-type]


def person_search(query: str) -> federation_pb2.SearchRequest:
    return federation_pb2.SearchRequest(kind="person", query=query, limit=200, context=context())


def test_fanout_search_merges_answers_and_names_the_partitioned_peer(
    members: dict[str, Member],
) -> None:
    net = network(members, latency=0.05)
    asker = members[ASKER]
    net.partition(asker.node_id, members["ps-kakkanad"].node_id)
    # A name every station's synthetic records are likely to share: take one from each.
    names = [first_person(members[p].station)[0] for p in PEERS]
    query = names[0].split()[-1] if len(names[0].split()[-1]) > 2 else names[0]
    keys = {m.node_id: (m.origin, m.public_key) for m in members.values()}

    def check(node_id: str, response: federation_pb2.SearchResponse) -> None:
        origin, key = keys[node_id]
        verify_receipt(
            response.receipt,
            expected_origin=origin,
            owner_public_key=key,
            asker_node_id=asker.node_id,
        )

    sizes = {p: members[p].station.ledger.size() for p in PEERS}
    result = None

    async def main() -> None:
        nonlocal result
        clients = net.clients(asker.node_id, [members[p].node_id for p in PEERS])
        result = await federated_search(clients, person_search(query), deadline=2.0, verify=check)

    run_mock(main)
    assert result is not None
    kakkanad = members["ps-kakkanad"].node_id
    assert result.unanswered == {kakkanad: "timeout"}
    answered = {members[p].node_id for p in PEERS} - {kakkanad}
    assert set(result.freshness) == answered == set(result.receipts)
    for node_id in answered:
        (fresh,) = result.freshness[node_id]
        assert fresh.origin == keys[node_id][0]
    scores = [hit.score for _, hit in result.hits]
    assert scores == sorted(scores, reverse=True)
    assert {hit.origin for _, hit in result.hits} <= {keys[n][0] for n in answered}
    for answered_by, hit in result.hits:
        assert hit.origin == keys[answered_by][0]
    # Each answering station logged the query: who asked, for which case, what it returned.
    for name in ("ps-aluva", "ps-edappally"):
        member = members[name]
        ((_, audit),) = audits(member.station, sizes[name])
        assert (audit.asker_node_id, audit.asker_officer_id, audit.case_ref) == (
            asker.node_id,
            OFFICER,
            CASE,
        )
        assert audit.query_kind == "search:person"
        mine = {hit.ref for by, hit in result.hits if by == member.node_id}
        assert set(audit.returned_refs) == mine
    assert audits(members["ps-kakkanad"].station, sizes["ps-kakkanad"]) == []


def test_fanout_latency_beyond_the_deadline_is_a_timeout(members: dict[str, Member]) -> None:
    net = network(members)
    asker = members[ASKER]
    slow = members["ps-edappally"].node_id
    net.set_link(asker.node_id, slow, latency=5.0)
    result = None

    async def main() -> None:
        nonlocal result
        start = trio.current_time()
        clients = net.clients(asker.node_id, [members[p].node_id for p in PEERS])
        result = await federated_search(clients, person_search("Raju"), deadline=1.0)
        assert trio.current_time() - start == pytest.approx(1.0)

    run_mock(main)
    assert result is not None
    assert result.unanswered == {slow: "timeout"}
    assert "1 s" in result.details[slow]
    assert len(result.freshness) == 2


def test_fanout_names_each_reason(members: dict[str, Member]) -> None:
    net = network(members)
    lab = members[LAB]
    down = members["ps-aluva"].node_id
    net.down(down)
    result: FanOutResult[federation_pb2.SearchResponse] | None = None

    async def main() -> None:
        nonlocal result
        clients = net.clients(lab.node_id, [members[p].node_id for p in PEERS])
        result = await fan_out(
            clients,
            lambda c: c.search(person_search("Raju"), timeout=1.0),
            deadline=1.0,
        )

    run_mock(main)
    assert result is not None
    assert result.answers == {}
    assert result.unanswered == {
        down: "unavailable",
        members["ps-edappally"].node_id: "refused",
        members["ps-kakkanad"].node_id: "refused",
    }
    assert not result.complete


def test_fanout_hit_no_hit_from_a_forensic_lab(members: dict[str, Member]) -> None:
    net = network(members, latency=(0.01, 0.2), seed=3)
    lab = members[LAB]
    owner = members["ps-edappally"]
    registration, fir_number = first_vehicle(owner.station)
    request = federation_pb2.HitRequest(
        identifier_type="vehicle_registration", value=registration, context=context()
    )
    result: FanOutResult[federation_pb2.HitResponse] | None = None

    async def main() -> None:
        nonlocal result
        clients = net.clients(lab.node_id, [members[s].node_id for s in STATIONS])
        result = await fan_out(clients, lambda c: c.hit_no_hit(request, timeout=2), deadline=2)

    run_mock(main)
    assert result is not None and result.complete
    assert list(result.answers) == [members[s].node_id for s in STATIONS]
    answer = result.answers[owner.node_id]
    assert answer.hit and fir_number in answer.refs
    verify_receipt(
        answer.receipt,
        expected_origin=owner.origin,
        owner_public_key=owner.public_key,
        asker_node_id=lab.node_id,
    )


class _Broken:
    """A client whose answers are all wrong in one way or another."""

    def __init__(self, node_id: str, error: BaseException) -> None:
        self._node_id = node_id
        self._error = error

    @property
    def node_id(self) -> str:
        return self._node_id

    async def search(
        self, request: federation_pb2.SearchRequest, *, timeout: float
    ) -> federation_pb2.SearchResponse:
        await trio.sleep(0.01)
        raise self._error


def test_fanout_errors_and_failed_verification_are_named(members: dict[str, Member]) -> None:
    net = network(members)
    asker = members[ASKER]
    good = net.client(asker.node_id, members["ps-aluva"].node_id)
    tampered = net.client(asker.node_id, members["ps-edappally"].node_id)
    clients: list[PeerClient] = [
        good,
        tampered,
        _Broken("x/peer-error", VerificationError("bad proof")),  # type: ignore[list-item]
        _Broken("x/bug", RuntimeError("boom")),  # type: ignore[list-item]
    ]

    def check(node_id: str, response: federation_pb2.SearchResponse) -> None:
        if node_id == tampered.node_id:
            raise VerificationError("receipt signature does not verify")

    result = None

    async def main() -> None:
        nonlocal result
        result = await federated_search(clients, person_search("Raju"), deadline=1, verify=check)

    run_mock(main)
    assert result is not None
    assert result.unanswered == {
        tampered.node_id: "error",
        "x/peer-error": "error",
        "x/bug": "error",
    }
    assert "does not verify" in result.details[tampered.node_id]
    assert "RuntimeError" in result.details["x/bug"]
    assert set(result.receipts) == {good.node_id}


def test_fanout_every_peer_is_accounted_for_under_random_faults(
    members: dict[str, Member],
) -> None:
    for seed in range(4):
        net = network(members, seed=seed, latency=(0.0, 1.5), loss=0.3)
        asker = members[ASKER]
        ids = [members[p].node_id for p in PEERS]
        result: FanOutResult[bytes] | None = None

        async def main() -> None:
            nonlocal result
            clients = net.clients(asker.node_id, ids)  # noqa: B023
            result = await fan_out(clients, lambda c: c.get_checkpoint(timeout=1), deadline=1)

        run_mock(main)
        assert result is not None
        assert sorted([*result.answers, *result.unanswered]) == sorted(ids)
        assert not set(result.answers) & set(result.unanswered)
        assert set(result.unanswered.values()) <= {"timeout"}


def test_fanout_refuses_duplicate_peers_and_bad_deadlines(members: dict[str, Member]) -> None:
    net = network(members)
    client = net.client(members[ASKER].node_id, members["ps-aluva"].node_id)

    async def main() -> None:
        with pytest.raises(InputError, match="more than once"):
            await fan_out([client, client], lambda c: c.get_checkpoint(timeout=1), deadline=1)
        with pytest.raises(InputError, match="deadline"):
            await fan_out([client], lambda c: c.get_checkpoint(timeout=1), deadline=0)
        empty: FanOutResult[bytes] = await fan_out(
            [], lambda c: c.get_checkpoint(timeout=1), deadline=1
        )
        assert empty.complete and not empty.answers

    run_mock(main)
