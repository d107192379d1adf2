"""`python -m tests.web.clocked_node CLOCK_FILE node web|serve ...`: the node's own command line
(`cctns node ...`, hypercorn's trio worker as in production), with its officer accounts on a
clock the test moves (`ClockFile`), so that an officer who logs in again in the same 30-second
TOTP step makes the node's clock move to the next step instead of waiting for it.

The one seam: `node.runtime` builds the web UI's accounts with `accounts_for`; this process
hands it accounts on the file's clock. Nothing else of the node changes. Test code only.
"""

from __future__ import annotations

import functools
import os
import sys
from pathlib import Path

from admin import cli
from ledger.log import now_ms
from node import runtime
from node.web.auth import TOTP_STEP_S, accounts_for

STEP_MS = TOTP_STEP_S * 1000


class ClockFile:
    """A clock kept in a file (Unix ms, as text): the test process moves it, the node reads it
    on every call. It stands still between moves."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def start(cls, path: Path) -> ClockFile:
        """A clock in `path`, set to the start of the current TOTP step."""
        clock = cls(path)
        clock.set(now_ms() // STEP_MS * STEP_MS)
        return clock

    def __call__(self) -> int:
        return int(self.path.read_text(encoding="ascii"))

    def set(self, ms: int) -> None:
        scratch = self.path.with_name(self.path.name + ".new")
        scratch.write_text(str(ms), encoding="ascii")
        os.replace(scratch, self.path)  # a reader sees the old time or the new, never half

    def advance(self, ms: int) -> None:
        self.set(self() + ms)


def main(argv: list[str]) -> int:
    clock = ClockFile(Path(argv[0]))
    runtime.accounts_for = functools.partial(accounts_for, clock=clock)  # type: ignore[assignment]
    return cli.main(argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
