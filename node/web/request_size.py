"""The one bound on what a request may carry: a body larger than `limits.MAX_REQUEST_BYTES` is
refused with 413 (through the one error mapping, `node.web.errors`) before anything parses it.

Pure ASGI middleware. A body within the limit is read here whole and handed on, so a form or
JSON parser never sees more than the limit; the fields inside are then held to the table of
limits by the pages and the station (`node.records.limits`). A body over it (a declared
Content-Length, or a chunked body as soon as it passes the limit) is refused: what the client is
still sending is read and dropped, up to `DRAIN_BYTES`, before the answer goes out, because a
server that answers and closes while the client is still sending makes the client's network
stack drop the answer with the connection (a reset), and the user sees no page at all. A body
larger than that is answered at once; the connection then closes, as it must.

Must never: hand the app a body over the limit, or keep more of one than the limit in memory.
"""

from __future__ import annotations

from fastapi import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ledger.errors import TooLarge
from node.records import limits
from node.web.errors import answer

__all__ = ["DRAIN_BYTES", "RequestSizeMiddleware"]

# How much of a refused body is read and dropped so that the client can read the answer.
DRAIN_BYTES = 16 * 1024 * 1024
# Paths that take an uploaded image (node/web/pages/photos.py, fingerprints.py): bounded by
# `limits.UPLOAD_BYTES`.
UPLOAD_PATHS = ("/photos", "/fingerprints")


class RequestSizeMiddleware:
    """Refuses request bodies over `max_bytes` (413); see the module's note."""

    def __init__(self, app: ASGIApp, max_bytes: int = limits.MAX_REQUEST_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.max_bytes
        if str(scope.get("path", "")).startswith(UPLOAD_PATHS):
            limit = max(limit, limits.UPLOAD_BYTES)
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            if declared <= limit + DRAIN_BYTES:
                await _drain(receive, DRAIN_BYTES)
            await self._refuse(scope, receive, send, limit)
            return
        chunks: list[bytes] = []
        held = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away: nobody to answer
            chunk: bytes = message.get("body", b"")
            held += len(chunk)
            if held > limit:
                if message.get("more_body", False):
                    await _drain(receive, DRAIN_BYTES)
                await self._refuse(scope, receive, send, limit)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # after the body: the disconnect, when it comes

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        error = TooLarge(f"the request is larger than {limit:,} bytes: it was refused")
        response = answer(Request(scope), error)
        await response(scope, receive, send)


async def _drain(receive: Receive, most: int) -> None:
    """Reads and drops the rest of a request body, up to `most` bytes."""
    dropped = 0
    while dropped <= most:
        message = await receive()
        if message["type"] != "http.request":
            return
        dropped += len(message.get("body", b""))
        if not message.get("more_body", False):
            return


def _content_length(scope: Scope) -> int | None:
    """The declared Content-Length (None when absent or not a number; a number too long to be
    real counts as over any limit)."""
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            text = value.decode("latin-1").strip()
            if not (text.isascii() and text.isdigit()):
                return None
            return int(text) if len(text) <= 18 else 10**18
    return None
