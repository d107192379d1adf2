"""Real node processes in tests: start one and wait for its ready line, not for the clock.

`cctns node serve` and `cctns node web` print exactly one line on stdout once they serve
(`cctns ready node=ID peer=HOST:PORT web=ADDRESS`, see `node.runtime.Ready`; `cctns node
standby` adds `following=HOST:PORT` once it follows its primary); their logs go to
stderr. `read_ready_line` blocks on that pipe, bounded by a deadline, and fails at once, with the
node's log, when the process exits first.
"""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from node.config import DataDir

READY_PREFIX = "cctns ready "
REPO = Path(__file__).resolve().parents[1]
STOP_TIMEOUT = 20.0


def run_cctns(*args: str, timeout: float = 120.0) -> subprocess.CompletedProcess[str]:
    """`cctns ARGS` as its own process, run to the end: its exit code, stdout and stderr."""
    return subprocess.run(
        [sys.executable, "-m", "admin.cli", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def launch_node(*args: str, log_path: Path, module: str = "admin.cli") -> subprocess.Popen[bytes]:
    """Starts `cctns <args>` (`node serve ...` or `node web ...`; `python -m <module> <args>`
    for a wrapper such as `tests.web.clocked_node`) with its logs appended to `log_path` and its
    ready line to come on its stdout (`wait_ready`)."""
    with log_path.open("ab") as log:  # the child keeps its own descriptor
        log.write(f"\n=== start {time.strftime('%H:%M:%S')} ===\n".encode())
        log.flush()
        return subprocess.Popen(
            [sys.executable, "-m", module, *args],
            cwd=REPO,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=log,
        )


def wait_ready(
    process: subprocess.Popen[bytes], *, log_path: Path, timeout: float = 60.0
) -> dict[str, str]:
    """The fields of a launched node's ready line, once it has come (the node is stopped and
    AssertionError raised if it does not)."""
    try:
        return read_ready_line(
            process, timeout=timeout, log=lambda: log_path.read_text(errors="replace")
        )
    except BaseException:
        stop_node(process)
        raise


def start_node(
    *args: str, log_path: Path, timeout: float = 60.0, module: str = "admin.cli"
) -> tuple[subprocess.Popen[bytes], dict[str, str]]:
    """`launch_node`, then `wait_ready`: the serving process and its ready line's fields."""
    process = launch_node(*args, log_path=log_path, module=module)
    return process, wait_ready(process, log_path=log_path, timeout=timeout)


def serve_federated(base: Path, name: str) -> subprocess.Popen[bytes]:
    """`cctns node serve` for the node `base/name` of a built federation (replication polled
    every half second, logs in `base/<name>.log`), once it is ready."""
    process, _ = start_node(
        "node", "serve", "--data-dir", str(base / name), "--poll", "0.5",
        log_path=base / f"{name}.log",
    )  # fmt: skip
    return process


def stop_node(process: subprocess.Popen[bytes], *, kill: bool = False) -> None:
    """SIGTERM (or, with `kill`, SIGKILL: no clean-up in the node) and wait; SIGKILL when it
    does not stop in time."""
    if process.poll() is None:
        process.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
        try:
            process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=STOP_TIMEOUT)
    if process.stdout is not None:
        process.stdout.close()


def read_ready_line(
    process: subprocess.Popen[bytes], *, timeout: float, log: Callable[[], str] = lambda: ""
) -> dict[str, str]:
    """The fields of `process`'s ready line (`node`, `peer`, `web`); AssertionError naming what
    happened if the process exits or stays silent for `timeout` seconds."""
    assert process.stdout is not None, "start the process with stdout=subprocess.PIPE"
    deadline = time.monotonic() + timeout
    buffer = b""
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        while b"\n" not in buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no ready line after {timeout:.0f} s:\n{log()[-3000:]}")
            if not selector.select(remaining):
                continue
            chunk = os.read(process.stdout.fileno(), 4096)
            if not chunk:
                process.wait(timeout=10)
                raise AssertionError(
                    f"exited ({process.returncode}) before it was ready:\n{log()[-3000:]}"
                )
            buffer += chunk
    line = buffer.split(b"\n", 1)[0].decode("utf-8")
    assert line.startswith(READY_PREFIX), f"not a ready line: {line!r}"
    return dict(field.split("=", 1) for field in line.removeprefix(READY_PREFIX).split())


def set_limits(data_dir: Path, **limits: str) -> None:
    """Writes a [limits] table into the node's node.toml (read when the node starts), e.g.
    `set_limits(path, portal_lookups="1000/minute")`; limits not named keep their defaults."""
    config = DataDir(data_dir).config_path
    table = "".join(f'{name} = "{value}"\n' for name, value in limits.items())
    config.write_text(config.read_text("utf-8") + f"\n[limits]\n{table}", "utf-8")
