"""A standby follows its primary's log and takes over without forking it (federation/standby.py).

The logs are real (a RocksDB store for the standby); the network is the in-process `LogPeer` of
tests/federation/test_replication.py, which answers from real logs and can be cut. The same
story with real node processes and gRPC is tests/federation/test_disaster_recovery.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import trio

from federation.replicas import ReplicaSet
from federation.replication import ReplicaFollower
from federation.standby import TAKEOVER, StandbyState, Takeover, find_takeover, take_over
from ledger.checkpoint import verify_checkpoint
from ledger.entry import parse_leaf
from ledger.errors import EquivocationError, PeerUnavailable, UsageError
from ledger.log import Ledger, verify_log
from ledger.rocksdb_store import RocksDBLogStore
from ledger.store import LogStore
from tests.federation.test_replication import (
    CHILD_KEY,
    CHILD_PUBLIC,
    ORIGIN,
    WITNESS,
    LogPeer,
    append,
    child,
    follow,
    forked_pair,
    serving,
)


@pytest.fixture
def standby_store(tmp_path: Path) -> Iterator[RocksDBLogStore]:
    store = RocksDBLogStore.open(tmp_path / "standby")
    yield store
    store.close()


def _take_over(
    store: LogStore, primary: LogPeer, parent: LogPeer | None, *, without_parent: bool = False
) -> Takeover:
    async def run() -> Takeover:
        return await take_over(
            store,
            CHILD_KEY,
            ORIGIN,
            primary=primary,
            parent=parent,
            without_parent=without_parent,
            officer_id="system",
            detail="the standby at the DR centre took over",
            clock=lambda: 2,
        )

    return trio.run(run)


def _dead(peer: LogPeer) -> LogPeer:
    peer.unavailable = True
    return peer


def test_takeover_continues_every_checkpoint_of_the_old_primary(
    standby_store: RocksDBLogStore,
) -> None:
    primary = child()
    parent = ReplicaSet(None, witness=WITNESS)
    parent_follower = parent.follow(ORIGIN, CHILD_PUBLIC)
    link = serving(primary)
    standby = ReplicaFollower(standby_store, ORIGIN, CHILD_PUBLIC)
    old_checkpoints = []
    for _ in range(3):  # the primary writes; the standby and the parent follow
        append(primary, 25)
        old_checkpoints.append(primary.checkpoint())
        follow(standby, link, chunk=10)
        follow(parent_follower, link)
    assert StandbyState.of(standby).complete and standby.verified_size == 75

    done = _take_over(standby_store, _dead(link), LogPeer(parent.get, "dpo"))

    assert (done.index, done.parent, done.from_parent) == (75, "asked", 0)
    assert done.continued == old_checkpoints[-1]
    new_primary = Ledger(standby_store, CHILD_KEY, ORIGIN)
    takeover = new_primary.body(75).replication_event
    assert (takeover.kind, takeover.size, takeover.origin) == (TAKEOVER, 75, ORIGIN)
    assert verify_checkpoint(takeover.checkpoint, CHILD_PUBLIC, ORIGIN).size == 75
    append(new_primary, 10, "after takeover")
    # One log: every checkpoint the old primary signed holds in the new primary's log.
    report = verify_log(standby_store, CHILD_PUBLIC, ORIGIN, trusted_checkpoints=[*old_checkpoints])
    assert report.size == 86
    # The parent's witness follows the new primary from where the old one stopped.
    follow(parent_follower, serving(new_primary))
    assert parent_follower.verified_size == 86 and not parent_follower.quarantined
    new_primary.close()


def test_takeover_refused_while_the_primary_answers(standby_store: RocksDBLogStore) -> None:
    primary = child()
    append(primary, 12)
    link = serving(primary)
    follow(ReplicaFollower(standby_store, ORIGIN, CHILD_PUBLIC), link)
    with pytest.raises(UsageError, match="primary still answers, with a checkpoint for 12"):
        _take_over(standby_store, link, None)
    assert standby_store.size() == 12  # nothing written


def test_takeover_refused_mid_catch_up_says_what_it_holds(
    standby_store: RocksDBLogStore,
) -> None:
    primary = child()
    append(primary, 40)
    link = serving(primary)
    link.fail_entries_after = 2  # the primary dies after two chunks
    standby = ReplicaFollower(standby_store, ORIGIN, CHILD_PUBLIC)
    with pytest.raises(PeerUnavailable, match="link dropped"):
        follow(standby, link, chunk=10)
    with pytest.raises(UsageError, match=r"holds 20 entries.* covers 40 \(entries 20..39 missing"):
        _take_over(standby_store, _dead(link), None)
    assert standby_store.size() == 20 and find_takeover(standby_store) is None


def test_takeover_fetches_what_only_the_parent_holds(standby_store: RocksDBLogStore) -> None:
    primary = child()
    append(primary, 30)
    link = serving(primary)
    standby = ReplicaFollower(standby_store, ORIGIN, CHILD_PUBLIC)
    follow(standby, link)
    append(primary, 14)  # reaches the parent, not the standby, before the primary dies
    parent = ReplicaSet(None, witness=WITNESS)
    follow(parent.follow(ORIGIN, CHILD_PUBLIC), link)

    done = _take_over(standby_store, _dead(link), LogPeer(parent.get, "dpo"))

    assert (done.index, done.from_parent) == (44, 14)
    verify_log(standby_store, CHILD_PUBLIC, ORIGIN, trusted_checkpoints=[primary.checkpoint()])


def test_takeover_needs_the_parent_or_the_operator_s_word(
    standby_store: RocksDBLogStore,
) -> None:
    primary = child()
    append(primary, 8)
    link = serving(primary)
    follow(ReplicaFollower(standby_store, ORIGIN, CHILD_PUBLIC), link)
    parent = _dead(LogPeer(ReplicaSet(None).get, "dpo"))
    with pytest.raises(UsageError, match=r"parent cannot be asked.*holds 8 entries.*--without"):
        _take_over(standby_store, _dead(link), parent)
    assert standby_store.size() == 8
    done = _take_over(standby_store, link, parent, without_parent=True)
    assert (done.index, done.parent) == (8, "unreachable")


def test_takeover_refused_when_the_parent_holds_another_history(
    standby_store: RocksDBLogStore,
) -> None:
    a, b = forked_pair(5, 3, 6)  # the primary signed two histories; each site saw one
    follow(ReplicaFollower(standby_store, ORIGIN, CHILD_PUBLIC), serving(a))
    parent = ReplicaSet(None)
    follow(parent.follow(ORIGIN, CHILD_PUBLIC), serving(b))
    with pytest.raises(EquivocationError):
        _take_over(standby_store, _dead(serving(a)), LogPeer(parent.get, "dpo"))
    assert standby_store.size() == 8 and find_takeover(standby_store) is None
    # The standby keeps the evidence and refuses again, parent or not.
    with pytest.raises(EquivocationError, match="quarantined"):
        _take_over(standby_store, _dead(serving(a)), None)


def test_takeover_refused_with_nothing_held(standby_store: RocksDBLogStore) -> None:
    with pytest.raises(UsageError, match="holds 0 entries"):
        _take_over(standby_store, _dead(serving(child())), None)


def test_old_primary_that_appends_after_the_takeover_is_quarantined_by_the_parent(
    standby_store: RocksDBLogStore,
) -> None:
    old = child()
    append(old, 20)
    link = serving(old)
    follow(ReplicaFollower(standby_store, ORIGIN, CHILD_PUBLIC), link)
    parent = ReplicaSet(None, witness=WITNESS)
    follower = parent.follow(ORIGIN, CHILD_PUBLIC)
    follow(follower, link)
    _take_over(standby_store, _dead(link), LogPeer(parent.get, "dpo"))
    new = Ledger(standby_store, CHILD_KEY, ORIGIN)
    append(new, 5, "new primary")
    follow(follower, serving(new))
    accepted = parent.get(ORIGIN).checkpoint()

    append(old, 3, "old primary, back")  # the old site comes back and appends
    progress = follow(follower, serving(old))

    assert progress.alert is not None and follower.quarantined
    assert progress.alert.first == accepted and progress.alert.second == old.checkpoint()
    assert parent.get(ORIGIN).size() == 26  # the new primary's head, never the old one's
    new.close()


def test_find_takeover_names_the_first_takeover_entry(standby_store: RocksDBLogStore) -> None:
    primary = child()
    append(primary, 6)
    link = serving(primary)
    follow(ReplicaFollower(standby_store, ORIGIN, CHILD_PUBLIC), link)
    assert find_takeover(standby_store) is None
    _take_over(standby_store, _dead(link), None)
    found = find_takeover(standby_store, 3)
    assert found is not None and found[0] == 6 and found[1].kind == TAKEOVER
    assert find_takeover(standby_store, 7) is None
    body = parse_leaf(standby_store.entry(6)).decode_body()
    assert body.officer_id == "system"
