"""Fixtures of the web tests: officer accounts on a hand-moved clock. Helpers that are not
fixtures are in `tests.web.support` (in-process apps) and `tests.web.browser` (node processes)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from node.web.auth import Accounts
from tests.web.support import FAST, START_MS, Clock


@pytest.fixture
def clock() -> Clock:
    """A clock the test moves by hand, from a step boundary."""
    return Clock(START_MS)


@pytest.fixture
def store(tmp_path: Path, clock: Clock) -> Iterator[Accounts]:
    """Officer accounts on `clock`, with cheap argon2 settings."""
    accounts = Accounts(f"sqlite:///{tmp_path / 'accounts.sqlite3'}", clock=clock, hasher=FAST)
    yield accounts
    accounts.close()
