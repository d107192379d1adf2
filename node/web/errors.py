"""The web boundary's one error mapping: the project's error tree to an HTTP status and the
message a user sees, in one table; and the one JSON error shape of the API.

`ERRORS` is read top down and the first row whose class the error is an instance of wins, so
the most specific class comes first. A row's `public` text, when set, is shown instead of the
error's own message, which is logged: storage errors name files, peer and verification errors
name internals, and a user can act on none of them. Only what the user can act on is shown as
raised: a refusal (why the officer may not) and bad input (each problem).

Under /api/ every error has one shape, `ErrorOut`:

    {"error": {"status": 400, "message": "...", "problems": ["...", ...]}}

for the project's errors, for FastAPI's own `HTTPException` (401 without a session, 404, 405)
and for its request validation (422, one problem per invalid parameter). Pages get the error
page (`error.html`) for the project's errors; FastAPI's own errors on pages keep FastAPI's
answers (the 303 to /login among them).

A `RateLimited` answer (429) carries `Retry-After: <seconds>`, whose value the error holds.

Must never: show a user a file path or a traceback; map an error by its name or message text.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

from fastapi import FastAPI, Request
from fastapi.exception_handlers import (
    http_exception_handler,
    request_validation_exception_handler,
)
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException

from ledger.errors import (
    CctnsError,
    InputError,
    NotFound,
    NotPermitted,
    PeerError,
    RateLimited,
    StoreError,
    TooLarge,
    VerificationError,
)
from node.web.deps import render
from node.web.rules import Forbidden
from node.web.security import is_api

__all__ = [
    "ERRORS",
    "ErrorBody",
    "ErrorOut",
    "ErrorRow",
    "answer",
    "install",
    "public_message",
    "row_for",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ErrorRow:
    """One class of the error tree at the web boundary."""

    error: type[CctnsError]
    status: int
    # Shown instead of the error's own message (which is logged); None: the message is shown.
    public: str | None = None


ERRORS: tuple[ErrorRow, ...] = (
    ErrorRow(Forbidden, 403),
    ErrorRow(NotFound, 404),
    # A request body (or an entry) larger than its declared maximum: refused before it is parsed.
    ErrorRow(TooLarge, 413),
    ErrorRow(InputError, 400),
    # Over a rate limit: the answer carries `Retry-After` (seconds), pages and API alike.
    ErrorRow(RateLimited, 429),
    # 409, not 422: the records' state (the node's log, a peer's answer) failed a check, not the
    # request; 422 stays what it is in the API, a request whose parameters are invalid.
    ErrorRow(VerificationError, 409, "a record did not verify against the signed log"),
    # Another node refused what this node asked of it: not the officer's own permission (that is
    # Forbidden, 403), so a gateway's answer.
    ErrorRow(NotPermitted, 502, "another node refused the request"),
    # PeerUnavailable and AuthenticationError (of a peer) are PeerErrors.
    ErrorRow(PeerError, 502, "another node could not be reached or did not answer correctly"),
    ErrorRow(StoreError, 503, "storage unavailable"),
    ErrorRow(CctnsError, 500, "internal error"),
)


def row_for(exc: CctnsError) -> ErrorRow:
    """The first row of `ERRORS` whose class `exc` is."""
    return next(row for row in ERRORS if isinstance(exc, row.error))


def public_message(exc: CctnsError) -> str:
    """What a user is shown of `exc` (the real message of a hidden one is logged)."""
    row = row_for(exc)
    if row.public is None:
        return str(exc)
    log.warning("%s (shown as %d %r): %s", type(exc).__name__, row.status, row.public, exc)
    return row.public


class ErrorBody(BaseModel):
    """What went wrong."""

    status: int = Field(description="the HTTP status, repeated")
    message: str = Field(description="what went wrong, for people")
    problems: list[str] = Field(
        description="one line per problem: each bad input or invalid parameter; may be empty"
    )


class ErrorOut(BaseModel):
    """Every error answer under /api/."""

    error: ErrorBody


def _json(
    status: int, message: str, problems: list[str], headers: Mapping[str, str] | None = None
) -> Response:
    body = ErrorOut(error=ErrorBody(status=status, message=message, problems=problems))
    return JSONResponse(body.model_dump(), status_code=status, headers=headers)


async def _project_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, CctnsError)  # registered for CctnsError only
    return answer(request, exc)


def answer(request: Request, exc: CctnsError) -> Response:
    """The answer to `exc` by `ERRORS`: the error page, or under /api/ the JSON error shape. For
    the exception handlers, and for what refuses a request before the app sees it
    (`node.web.request_size`)."""
    row = row_for(exc)
    if row.public is None:
        message = str(exc)
    else:
        message = row.public
        failed = row.status >= 500  # ours: with the traceback
        log.log(
            logging.ERROR if failed else logging.WARNING,
            "%s %s -> %d: %s",
            request.method,
            request.url.path,
            row.status,
            exc,
            exc_info=exc if failed else None,
        )
    headers = {"Retry-After": str(exc.retry_after_s)} if isinstance(exc, RateLimited) else {}
    if is_api(request):
        problems = list(exc.problems) if isinstance(exc, InputError) else []
        return _json(row.status, message, problems, headers=headers)
    page = render(request, "error.html", status_code=row.status, status=row.status, message=message)
    page.headers.update(headers)
    return page


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if not is_api(request):
        return await http_exception_handler(request, exc)
    return _json(exc.status_code, str(exc.detail), [], headers=exc.headers)


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    if not is_api(request):
        return await request_validation_exception_handler(request, exc)
    problems = [
        f"{'.'.join(str(part) for part in error.get('loc', ()))}: {error.get('msg', '')}"
        for error in exc.errors()
    ]
    return _json(422, "the request's parameters are not valid", problems)


def install(app: FastAPI) -> None:
    """Maps errors to answers on `app`: the project's errors by `ERRORS`, FastAPI's own errors
    under /api/ in the API's error shape. The app's `state.render` draws the error page."""
    app.add_exception_handler(CctnsError, _project_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
