"""What the watch-list tests share besides fixtures (conftest.py): the two stations and the
aggregating node's ingest of their logs."""

from __future__ import annotations

from node.index.aggregate.index import AggregateIndex
from node.station.core import Station

A = "cctns.in/kerala/ernakulam-city/ps-kalamassery"
B = "cctns.in/kerala/thrissur-city/ps-ollur"
OFFICER = "PEN100300"


def ingest(index: AggregateIndex, stations: dict[str, Station]) -> None:
    index.catch_up(
        (s.config.origin, s.ledger.size(), s.ledger.store.entries) for s in stations.values()
    )
