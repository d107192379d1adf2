"""The node's Prometheus metrics, for monitoring tools (docs/operators.md).

GET /metrics   the text exposition format (`prometheus_client`), to clients on the node's own
               machine (loopback) or in node.toml's [metrics] allow list; 403 to anyone else,
               404 on a node that keeps no metrics

The same router serves `cctns node serve --metrics HOST:PORT` on its own (`create_metrics_app`
in `node.web.app`): the app's state carries the registry and who may read it, nothing else.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from node.config import Metrics

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


@router.get("/metrics")
def metrics(request: Request) -> Response:
    registry: CollectorRegistry | None = request.app.state.metrics
    allowed: Metrics = request.app.state.metrics_allow
    if registry is None:
        return PlainTextResponse("this node keeps no metrics\n", status_code=404)
    client = request.client.host if request.client is not None else ""
    if not allowed.allows(client):
        return PlainTextResponse(
            "metrics are served to this machine and node.toml's [metrics] allow list only\n",
            status_code=403,
        )
    response = Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
    response.headers["Cache-Control"] = "no-store"
    return response
