"""The project's one exception tree, rooted at CctnsError.

Families, each mapped once at a boundary, by class: the CLI exit code (`admin/cli.py`
`EXIT_CODES`), the gRPC status (`federation/status.py`), the HTTP status (`node/web/errors.py`):
- InputError: a user or caller gave bad input (validation). Nothing was written.
  NotFound is the InputError of asking for something that is not there, so a caller can tell
  it apart by class (gRPC NOT_FOUND, HTTP 404) while `except InputError` still catches it.
  TooLarge is the InputError of input larger than a declared maximum taken whole (a request
  body, a ledger entry): HTTP 413; elsewhere it is answered as the InputError it is.
- VerificationError: data failed a cryptographic or structural check (tampering, a forged
  proof, a misbehaving peer). Verifiers return None or raise this. EntriesLost is the
  TamperError of a store that holds fewer entries than the node acknowledged.
- StoreError: the storage layer failed or found itself inconsistent.
- UsageError: the program was misused (a missing data dir, a node not initialised).
- PeerError: another node misbehaved, could not be reached (PeerUnavailable), is not who it
  claims (AuthenticationError), or asked for what its role may not have (NotPermitted).
- RateLimited: a caller (a citizen's address, a peer) asked more often than its limit allows;
  nothing was done, and `retry_after_s` says when to ask again.
"""

from __future__ import annotations


class CctnsError(Exception):
    """Root of every error this project raises on purpose."""


class InputError(CctnsError):
    """Bad input from a user or caller; carries one message per problem found."""

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        self.problems = problems or [message]
        super().__init__(message)


class NotFound(InputError):
    """What the caller asked for is not there ("no record 'FIR No. 99/2026' at this station")."""


class TooLarge(InputError):
    """Input larger than its declared maximum as a whole ("the request body is larger than
    524,288 bytes", "an entry of 2,000,000 bytes: the ledger takes at most 1,048,576")."""


class UsageError(CctnsError):
    """The program was asked to do something it cannot in this state."""


class VerificationError(CctnsError):
    """A signature, hash, proof or structural check failed."""


class ProofError(VerificationError):
    """A Merkle inclusion or consistency proof does not verify."""


class TamperError(VerificationError):
    """The stored log is not what its writer signed; `index` names the first bad entry."""

    def __init__(self, message: str, index: int | None = None) -> None:
        self.index = index
        super().__init__(message)


class EntriesLost(TamperError):
    """The store holds fewer entries than the node acknowledged: its high-water mark (the
    latest checkpoint it signed, kept outside the store: `ledger/mark.py`) covers more. `held`
    is the store's size (also `index`, the first missing entry), `acknowledged` the mark's."""

    def __init__(self, held: int, acknowledged: int) -> None:
        self.held = held
        self.acknowledged = acknowledged
        missing = acknowledged - held
        super().__init__(
            f"{missing} acknowledged entries are missing: the log holds {held} entries but its "
            f"high-water mark (the last checkpoint this node signed, kept outside the store) "
            f"covers {acknowledged}, so the store lost entries {held}..{acknowledged - 1} (a "
            "damaged write-ahead log, or an older copy of the store put back). Nothing is "
            "written until they are back: start the node with its parent reachable (`cctns "
            "node serve` fetches its own entries back from the parent's replica first), or "
            "restore the newest backup (`cctns admin restore`)",
            index=held,
        )

    @property
    def missing(self) -> int:
        """How many acknowledged entries the store lacks."""
        return self.acknowledged - self.held


class StoreError(CctnsError):
    """Storage failed, or a commit did not fit the store's current state."""


class PeerError(CctnsError):
    """Another node misbehaved or could not be reached; `node_id` names it."""

    def __init__(self, message: str, node_id: str = "") -> None:
        self.node_id = node_id
        super().__init__(f"{node_id}: {message}" if node_id else message)


class AuthenticationError(PeerError):
    """A peer is unknown, expired, revoked, or presented no certificate."""


class NotPermitted(PeerError):
    """A node is authenticated, but its role is not entitled to what it asked for. Raised by
    the answering node about its caller; the caller's transport raises it again on its side,
    naming the node that refused."""


class PeerUnavailable(PeerError):
    """A peer did not answer (down, partitioned, or past its deadline)."""


class RateLimited(CctnsError):
    """A caller asked more often than its rate limit or quota allows (HTTP 429, gRPC
    RESOURCE_EXHAUSTED). Nothing was done or written; one more request will be accepted in
    `retry_after_s` seconds (at least 1)."""

    def __init__(self, message: str, retry_after_s: int = 1) -> None:
        self.retry_after_s = max(1, retry_after_s)
        super().__init__(message)


class EquivocationError(VerificationError):
    """A node presented two checkpoints that cannot both be true; both notes are evidence."""

    def __init__(self, message: str, first: bytes = b"", second: bytes = b"") -> None:
        self.first = first
        self.second = second
        super().__init__(message)
