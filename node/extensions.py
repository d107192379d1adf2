"""The index projections every node carries beyond the core tables of node/index.py.

Each area that adds record kinds registers its projection here, once; `RecordIndex` creates,
feeds, drops and snapshots them with its own tables, in the same transactions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from node.index.core import Projection


def projections() -> list[Projection]:
    """Fresh instances of every registered projection (none are shared between indexes)."""
    found: list[Projection] = []
    from node.casework import CaseworkProjection

    found.append(CaseworkProjection())
    from node.services import ServicesProjection

    found.append(ServicesProjection())
    return found
