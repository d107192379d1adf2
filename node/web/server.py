"""Serving the web app with hypercorn's trio worker, inside the node's trio loop."""

from __future__ import annotations

import logging

import trio
from fastapi import FastAPI
from hypercorn.config import Config
from hypercorn.trio import serve


async def serve_http(
    app: FastAPI,
    bind: str,
    *,
    task_status: trio.TaskStatus[list[str]] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serves `app` on `bind` (host:port) until cancelled; reports the bound addresses."""
    config = Config()
    config.bind = [bind]
    config.accesslog = None
    # Through the process's logging (stderr, one format: the journal's under systemd), not a
    # handler of hypercorn's own that wrote every line twice, once with its own timestamp.
    config.errorlog = logging.getLogger("hypercorn.error")
    config.keep_alive_timeout = 30
    await serve(app, config, task_status=task_status)  # type: ignore[arg-type]
