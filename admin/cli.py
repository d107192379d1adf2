"""The `cctns` command: one entry point, a command group per concern.

Flags default from CCTNS_* environment variables (CCTNS_DATA_DIR). Machine-readable output is
JSON on stdout; progress goes to stderr. Errors print one line on stderr (`-v` adds the
traceback) and the command exits with the code of the first row of `EXIT_CODES` that matches:

    0  ok
    1  a search that some node did not answer (the nodes are named); any other failure
    2  bad input or usage
    3  verification failed (a tampered log, a forged proof, an equivocation seen)
    4  storage failure
    5  a peer failed or refused
    6  refused for now: asked too often (retry later)
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Sequence

from admin import (
    case_cli,
    duty_cli,
    federation_cli,
    fingerprint_cli,
    history_cli,
    import_cli,
    ledger_cli,
    linkage_cli,
    node_cli,
    peer_cli,
    pki_cli,
    record_cli,
    register_cli,
    report_cli,
    sim_cli,
    stats_cli,
    user_cli,
    watch_cli,
)
from admin.common import Handler
from ledger.errors import (
    CctnsError,
    EntriesLost,
    InputError,
    PeerError,
    RateLimited,
    StoreError,
    TooLarge,
    UsageError,
    VerificationError,
)

# The one mapping from the project's errors to exit codes: the first class that matches wins.
EXIT_CODES: tuple[tuple[type[CctnsError], int], ...] = (
    (TooLarge, 2),  # an input over its declared maximum is bad input
    (InputError, 2),
    (UsageError, 2),
    # A store behind its high-water mark fails against a checkpoint the node signed.
    (EntriesLost, 3),
    (VerificationError, 3),
    (StoreError, 4),
    (PeerError, 5),
    (RateLimited, 6),
    (CctnsError, 1),
)
# What each exit code means, as `cctns --help`, the README and docs/decisions.md say it.
EXIT_MEANINGS: tuple[tuple[int, str], ...] = (
    (0, "ok"),
    (1, "a search that some node did not answer (named), or another failure"),
    (2, "bad input or usage"),
    (3, "verification failed"),
    (4, "storage failure"),
    (5, "a peer failed or refused"),
    (6, "refused for now: asked too often (retry later)"),
)
EPILOG = "exit codes: " + "; ".join(f"{code} {meaning}" for code, meaning in EXIT_MEANINGS)


def exit_code(error: CctnsError) -> int:
    """The exit code for `error` (see `EXIT_CODES`)."""
    return next(code for kind, code in EXIT_CODES if isinstance(error, kind))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cctns",
        description="Crime and Criminal Tracking Network node: records, ledger, federation.",
        epilog=EPILOG,
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="show tracebacks")
    groups = parser.add_subparsers(dest="group", required=True, metavar="COMMAND")
    for group in (
        node_cli,
        ledger_cli,
        record_cli,
        import_cli,
        case_cli,
        history_cli,
        linkage_cli,
        fingerprint_cli,
        duty_cli,
        register_cli,
        report_cli,
        stats_cli,
        watch_cli,
        pki_cli,
        peer_cli,
        federation_cli,
        user_cli,
        sim_cli,
    ):
        group.register(groups)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the command line; returns the exit code."""
    # Everything a node writes (keys, RocksDB and SQLite files, logs) is its user's only: the
    # libraries create files with the process umask (node/config.py).
    os.umask(0o077)
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Handler = args.handler
    try:
        return handler(args)
    except CctnsError as exc:
        if args.verbose:
            traceback.print_exc()
        index = getattr(exc, "index", None)
        where = f"entry {index}: " if index is not None and f"entry {index}" not in str(exc) else ""
        print(f"error: {where}{exc}", file=sys.stderr)
        return exit_code(exc)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
