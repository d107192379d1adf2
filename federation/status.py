"""The one mapping between the project's errors and gRPC status codes, for both ends of a call.

`STATUSES` is read both ways. A server (federation/grpc_server.py, and the simulated one in
federation/memory.py) answers an error with the status of the first row whose class the error
is an instance of, most specific first, and the error's message; an error outside the project's
tree is INTERNAL, told as "internal error" and nothing more. A client (federation/grpc_client.py,
federation/memory.py) raises the class of the first row naming the status it got, naming the
node that answered; a status whose row is no peer or input error, or that no row names, is a
PeerError carrying the status name. Errors are mapped by class only, never by name or text.

The one exception is gRPC's own: a TLS handshake the other side refused reaches a gRPC client
as UNAVAILABLE with the reason in the details, and is raised as AuthenticationError.
"""

from __future__ import annotations

from typing import Final

import grpc

from ledger.errors import (
    AuthenticationError,
    CctnsError,
    InputError,
    NotFound,
    NotPermitted,
    PeerError,
    PeerUnavailable,
    RateLimited,
    StoreError,
)

__all__ = ["STATUSES", "error_for", "reply_for", "status_for"]

STATUSES: Final[tuple[tuple[type[CctnsError], grpc.StatusCode], ...]] = (
    (AuthenticationError, grpc.StatusCode.UNAUTHENTICATED),
    (NotPermitted, grpc.StatusCode.PERMISSION_DENIED),
    (NotFound, grpc.StatusCode.NOT_FOUND),
    # TooLarge too: a row of its own would make every INVALID_ARGUMENT a TooLarge at the client.
    (InputError, grpc.StatusCode.INVALID_ARGUMENT),
    (PeerUnavailable, grpc.StatusCode.UNAVAILABLE),
    # Client side only: a call's own deadline passed (a server answers PeerUnavailable above).
    (PeerUnavailable, grpc.StatusCode.DEADLINE_EXCEEDED),
    # Server side only: the client of a node whose storage failed sees it as unavailable.
    (StoreError, grpc.StatusCode.UNAVAILABLE),
    # A caller over its quota. Its client raises a PeerError naming the status (the quota is the
    # answering node's, not something the caller's own users did), as for gRPC's own
    # RESOURCE_EXHAUSTED (a message over the size limit).
    (RateLimited, grpc.StatusCode.RESOURCE_EXHAUSTED),
    # Verification, peer and usage errors: the answering node could not do what was asked.
    (CctnsError, grpc.StatusCode.FAILED_PRECONDITION),
)
INTERNAL_DETAILS: Final = "internal error"
# A storage failure's own message names the node's files: other nodes hear only this (the
# server logs the rest), as the node's web users do (node/web/errors.py).
STORAGE_DETAILS: Final = "storage unavailable"
_HANDSHAKE_WORDS: Final = ("handshake", "ssl")


def status_for(error: BaseException) -> grpc.StatusCode:
    """The status a server answers `error` with (INTERNAL outside the project's tree)."""
    for error_class, status in STATUSES:
        if isinstance(error, error_class):
            return status
    return grpc.StatusCode.INTERNAL


def reply_for(error: BaseException) -> tuple[grpc.StatusCode, str]:
    """(status, details) a server sends for `error`: its message; for an INTERNAL one nothing
    but "internal error", for a storage failure nothing but "storage unavailable" (the server
    logs the rest)."""
    status = status_for(error)
    if status == grpc.StatusCode.INTERNAL:
        return status, INTERNAL_DETAILS
    if isinstance(error, StoreError):
        return status, STORAGE_DETAILS
    return status, str(error)


def error_for(status: grpc.StatusCode, details: str, node_id: str) -> CctnsError:
    """The error a client raises for a status (and its details) from the node `node_id`."""
    if status in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED) and any(
        word in details.lower() for word in _HANDSHAKE_WORDS
    ):
        return AuthenticationError(f"TLS handshake refused: {details}", node_id)
    error_class = next((cls for cls, code in STATUSES if code == status), None)
    if error_class is not None and issubclass(error_class, PeerError):
        return error_class(details, node_id)
    if error_class is not None and issubclass(error_class, InputError):
        return error_class(f"{node_id}: {details}")
    return PeerError(f"{status.name}: {details}", node_id)
