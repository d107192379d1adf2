"""free_port under pytest-xdist: each worker's own block, below the kernel's ephemeral range."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from node.demo import federation

EPHEMERAL = Path("/proc/sys/net/ipv4/ip_local_port_range")


def _ephemeral() -> tuple[int, int]:
    low, high = EPHEMERAL.read_text().split()
    return int(low), int(high)


def _binds(sock: socket.socket, port: int) -> bool:
    try:
        sock.bind(("127.0.0.1", port))
    except OSError:
        return False
    return True


def test_free_port_of_a_worker_is_in_its_block_and_skips_a_bound_port(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw3")
    first = federation._WORKER_PORTS_FROM + 3 * federation._WORKER_BLOCK
    block = range(first, first + federation._WORKER_BLOCK)
    ports = [federation.free_port() for _ in range(5)]
    assert all(port in block for port in ports)
    assert len(set(ports)) == 5  # handed out in turn, not the same one again
    with socket.socket() as held:
        # Bind the port that would come next: it is skipped. (The real worker gw3 of this run
        # may hold ports of the block: the first one free from offset 10 is taken.)
        offset = next(
            o for o in range(10, federation._WORKER_BLOCK - 10) if _binds(held, first + o)
        )
        held.listen()
        monkeypatch.setattr(federation, "_handed_out", iter(range(offset, offset + 10)))
        port = federation.free_port()
        assert first + offset < port < first + offset + 10
    assert block.stop <= _ephemeral()[0]  # never a port the kernel hands to bind(0) or a connection


def test_free_port_outside_a_worker_is_the_kernels_pick(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)
    port = federation.free_port()
    low, high = _ephemeral()
    assert low <= port <= high
