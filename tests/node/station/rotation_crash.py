"""A node killed in the middle of a key rotation, for the crash tests.

    python -m tests.node.station.rotation_crash DATA_DIR STEP

Opens the station in DATA_DIR and rotates its key, SIGKILL-ing itself at STEP:
"after-new-key" (the new key is written, the log not yet handed over) or "after-handover" (the
hand-over is durable, the key file not yet replaced). Nothing after the kill runs: no clean-up,
no close, exactly as a power cut.
"""

from __future__ import annotations

import os
import signal
import sys
from typing import Any

from ledger.log import Ledger
from node.config import DataDir
from node.station.core import Station
from node.station.rotation import rotate_key


def _die(*_: Any, **__: Any) -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def main(argv: list[str]) -> int:
    path, step = argv
    data_dir = DataDir(path)
    station = Station.open(data_dir)
    if step == "after-new-key":
        Ledger.rotate_key = _die  # type: ignore[method-assign]
    elif step == "after-handover":
        DataDir.key_in_force = _die  # type: ignore[method-assign,assignment]
    else:
        raise SystemExit(f"unknown step {step!r}")
    rotate_key(station, data_dir, "PEN100001")
    return 1  # not reached


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
