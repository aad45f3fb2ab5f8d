"""Seed 003 `/api/analytics/summary` and `/api/analytics/logs`, over the GraphQL analytics roots.

    GET /api/analytics/summary?from=&to=&userId=      (default: the last 24 hours)
    GET /api/analytics/logs?from=&to=&protocol=&limit=&userId=   (limit 1..1000, default 100)

Times are ISO 8601 (a time without an offset is UTC); answers use seed 003's
camelCase and `Z` times, enum values as the request log stores them
(`rest-v1`, `2xx`, `sse`). Errors are `{code, message}`: 422 naming the
parameter for bad input, 403 for another user's figures without role admin.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Query, Request

from engine.services.analytics import DEFAULT_LIMIT, MAX_LIMIT
from rest_compat.operations import AUTHENTICATED, execute, operation
from rest_compat.shapes import api_time

# Authenticated before the window's dates are validated (rest_compat.operations).
router = APIRouter(
    prefix="/api/analytics", tags=["analytics (AgentCraftLab)"], dependencies=AUTHENTICATED
)

PROTOCOL_VALUES = {
    "GRAPHQL": "graphql",
    "REST_V1": "rest-v1",
    "REST": "rest",
    "AG_UI": "ag-ui",
    "WS": "ws",
}
ENUM_OF_PROTOCOL = {value: name for name, value in PROTOCOL_VALUES.items()}
STATUS_CLASS_VALUES = {
    "INFORMATIONAL": "1xx",
    "SUCCESS": "2xx",
    "REDIRECTION": "3xx",
    "CLIENT_ERROR": "4xx",
    "SERVER_ERROR": "5xx",
    "OTHER": "other",
}
TRANSPORT_VALUES = {"HTTP": "http", "SSE": "sse", "WEBSOCKET": "websocket"}

SUMMARY = operation(
    """
query AnalyticsSummary($from: DateTime, $to: DateTime, $userId: ID) {
  analytics(from: $from, to: $to, userId: $userId) {
    from to userId
    requests { total errorRate clientErrorRate byProtocol { protocol statusClass count } }
    runs { total byStatus { status count } failureRate durationP50Ms durationP95Ms }
    usage {
      promptTokens completionTokens totalTokens cost
      byModel { provider model promptTokens completionTokens totalTokens cost priced runs }
    }
    topWorkflows { workflowId workflowName runs failed totalTokens cost }
  }
}
""",
    __name__,
)

LOGS = operation(
    """
query RequestLogs(
  $from: DateTime, $to: DateTime, $protocol: RequestProtocol, $first: Int!, $userId: ID
) {
  requestLogs(from: $from, to: $to, protocol: $protocol, first: $first, userId: $userId) {
    edges { node {
      requestId time method path protocol transport status durationMs userId apiKeyId
    } }
  }
}
""",
    __name__,
)

ProtocolParam = Literal["graphql", "rest-v1", "rest", "ag-ui", "ws"]


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


@router.get("/summary")
async def summary(
    request: Request,
    from_: datetime | None = Query(None, alias="from", description="Window start (ISO 8601)."),
    to: datetime | None = Query(None, description="Window end (ISO 8601, default now)."),
    userId: str | None = Query(None, description="Another user's id (admins only)."),
) -> dict[str, Any]:
    """Requests by protocol and status class, runs by status, tokens and estimated cost by
    provider and model, top workflows, error rates, run duration p50/p95."""
    data = await execute(request, SUMMARY, {"from": _iso(from_), "to": _iso(to), "userId": userId})
    result = data["analytics"]
    requests = result["requests"]
    runs = result["runs"]
    return {
        "from": api_time(result["from"]),
        "to": api_time(result["to"]),
        "userId": result["userId"],
        "requests": {
            "total": requests["total"],
            "errorRate": requests["errorRate"],
            "clientErrorRate": requests["clientErrorRate"],
            "byProtocol": [
                {
                    "protocol": PROTOCOL_VALUES[c["protocol"]],
                    "statusClass": STATUS_CLASS_VALUES[c["statusClass"]],
                    "count": c["count"],
                }
                for c in requests["byProtocol"]
            ],
        },
        "runs": {
            "total": runs["total"],
            # GraphQL's ExecutionStatus names (`COMPLETED`) as seed 003 spells them.
            "byStatus": {c["status"].lower(): c["count"] for c in runs["byStatus"]},
            "failureRate": runs["failureRate"],
            "durationP50Ms": runs["durationP50Ms"],
            "durationP95Ms": runs["durationP95Ms"],
        },
        "usage": result["usage"],
        "topWorkflows": result["topWorkflows"],
        "errorRate": requests["errorRate"],
    }


@router.get("/logs")
async def logs(
    request: Request,
    from_: datetime | None = Query(None, alias="from", description="Window start (ISO 8601)."),
    to: datetime | None = Query(None, description="Window end (ISO 8601, default now)."),
    protocol: ProtocolParam | None = Query(None, description="Only this API surface."),
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="At most this many."),
    userId: str | None = Query(None, description="Another user's id (admins only)."),
) -> list[dict[str, Any]]:
    """Request log records (no bodies, no secrets), newest first."""
    data = await execute(
        request,
        LOGS,
        {
            "from": _iso(from_),
            "to": _iso(to),
            "protocol": ENUM_OF_PROTOCOL[protocol] if protocol else None,
            "first": limit,
            "userId": userId,
        },
    )
    return [
        {
            **node,
            "time": api_time(node["time"]),
            "protocol": PROTOCOL_VALUES[node["protocol"]],
            "transport": TRANSPORT_VALUES[node["transport"]],
        }
        for node in (edge["node"] for edge in data["requestLogs"]["edges"])
    ]
