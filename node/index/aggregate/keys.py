"""The keys of an aggregating node's index: every origin's entries in one key space.

A row of a node's own index is keyed by its entry's ledger index. An aggregating node (district,
state, national) indexes many logs in the same tables, so a row is keyed by one 63-bit number
made of three parts:

    bits 56..62  the state's number (1..127), given when the index first meets the state
    bits 40..55  the office's number within its state (0..65535), given when first met
    bits  0..39  the entry's ledger index in its own log (up to 2**40, about 10**12, entries)

The state is the first part of the office's node id ("kerala/ernakulam-city/ps-x": kerala).
Each state's rows are one contiguous range, each office's a range within it: a state is one
partition of every table on PostgreSQL (node.index.aggregate.schema), an office a range scan.
A row is traced back to its office and entry by `split`; the numbers are kept in the index's
bookkeeping (never derived from the rows), so a rebuild gives every row the same key.
"""

from __future__ import annotations

from typing import Final

from ledger.errors import InputError

STATE_SHIFT: Final = 56
OFFICE_SHIFT: Final = 40
MAX_STATES: Final = 127
MAX_OFFICES: Final = 1 << (STATE_SHIFT - OFFICE_SHIFT)  # per state
MAX_ENTRIES: Final = 1 << OFFICE_SHIFT  # per log


def origin_number(state_no: int, office_no: int) -> int:
    """The number of an office: its state's number and its own, in one."""
    if not 1 <= state_no <= MAX_STATES:
        raise InputError(f"state number {state_no} is not in 1..{MAX_STATES}")
    if not 0 <= office_no < MAX_OFFICES:
        raise InputError(f"office number {office_no} is not in 0..{MAX_OFFICES - 1}")
    return (state_no << (STATE_SHIFT - OFFICE_SHIFT)) | office_no


def base(origin_no: int) -> int:
    """The key of entry 0 of the office numbered `origin_no`."""
    return origin_no << OFFICE_SHIFT


def key(origin_no: int, index: int) -> int:
    """The key of entry `index` of the office numbered `origin_no`."""
    if not 0 <= index < MAX_ENTRIES:
        raise InputError(f"ledger index {index} is out of range for an aggregate key")
    return base(origin_no) + index


def split(row_key: int) -> tuple[int, int]:
    """(office number, ledger index) of a key."""
    return row_key >> OFFICE_SHIFT, row_key & (MAX_ENTRIES - 1)


def state_range(state_no: int) -> tuple[int, int]:
    """The keys of one state's rows: [low, high)."""
    return state_no << STATE_SHIFT, (state_no + 1) << STATE_SHIFT


def office_range(origin_no: int) -> tuple[int, int]:
    """The keys of one office's rows: [low, high)."""
    return base(origin_no), base(origin_no + 1)


def state_of_node(node_id: str) -> str:
    """The state an office belongs to: the first part of its node id."""
    state = node_id.split("/", 1)[0]
    if not state:
        raise InputError(f"node id {node_id!r} names no state")
    return state
