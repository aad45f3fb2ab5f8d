"""Seed 003 `GET /info`: what this server is, its goal mode, and every endpoint it serves.

The endpoint list is read from the app's routes (again whenever the app's routes are
not the ones it was read from), so it cannot drift from what is served: `"<METHOD>
<path>"` per method of each HTTP route (HEAD left out: it rides on GET), `"WEBSOCKET
<path>"` per WebSocket route, `"GET <path>/{path}"` for a mounted static folder. The
goal mode comes from GraphQL's `goalMode` (`AGENTLOOM_GOAL_MODE`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import Request
from fastapi.routing import APIWebSocketRoute, RouteContext, iter_route_contexts
from starlette.routing import BaseRoute, Mount, WebSocketRoute

from rest_compat.operations import execute, operation

NAME = "agentloom"
PROTOCOL = "AG-UI"
GOAL_MODE = operation("{ goalMode }", __name__)


def _endpoints(context: RouteContext) -> list[str]:
    route, path = context.original_route, context.path or ""
    if isinstance(route, WebSocketRoute | APIWebSocketRoute):
        return [f"WEBSOCKET {path}"]
    if isinstance(route, Mount):
        return [f"GET {path}/{{path}}"]
    return [f"{m} {path}" for m in sorted(set(context.methods or ()) - {"HEAD"})]


def served_endpoints(routes: Sequence[BaseRoute]) -> list[str]:
    """Every endpoint of `routes` (included routers' routes too), by path, then method."""
    found = {e for context in iter_route_contexts(routes) for e in _endpoints(context)}
    return sorted(found, key=lambda e: (e.split(" ", 1)[1], e.split(" ", 1)[0]))


def _served_by(app: Any) -> list[str]:
    """`served_endpoints` of the app, kept until its routes change: walking them cost 0.7 ms,
    a fifth of a `GET /info`."""
    key = tuple(map(id, app.routes))
    cached = getattr(app.state, "served_endpoints", None)
    if cached is None or cached[0] != key:
        cached = (key, served_endpoints(app.routes))
        app.state.served_endpoints = cached
    return list(cached[1])


async def server_info(request: Request, *, version: str) -> dict[str, Any]:
    """The `/info` document (public: it names no user's data)."""
    data = await execute(request, GOAL_MODE)
    return {
        "name": NAME,
        "protocol": PROTOCOL,
        "version": version,
        "mode": str(data["goalMode"]).lower(),
        "endpoints": _served_by(request.app),
    }
