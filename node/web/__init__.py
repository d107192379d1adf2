"""The node's web UI: station staff, citizens' portal, dashboards, and a JSON API beside them.

An ASGI app (FastAPI/Starlette, Jinja2 templates, vendored htmx) served by hypercorn's trio
worker inside the node's trio loop. Charts are drawn on the server as SVG: no script needed to
read a dashboard, and nothing fetched at run time.
"""
