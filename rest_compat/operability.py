"""Health, readiness and metrics endpoints, and the request middleware, installed on the app.

    GET /healthz   200 {"status": "ok"} while the process serves requests at all
    GET /readyz    200 when every check passes (the database answers a ping within a
                   second; the run loop is up), else 503; the body says which failed
    GET /metrics   Prometheus text format; with AGENTLOOM_METRICS_TOKEN set it needs
                   `Authorization: Bearer <token>` (401 otherwise)

None of them is written to the request log or counted in the HTTP metrics
(see `rest_compat.request_log.QUIET_PATHS`): probes would drown the rest.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response

from rest_compat import api_analytics
from rest_compat.mounting import include_shared
from rest_compat.request_log import RequestLogMiddleware, RequestObserver

ReadinessChecks = Callable[[], Awaitable[Mapping[str, bool]]]


@dataclass(frozen=True, kw_only=True)
class Operability:
    """What the endpoints read; built by the composition root."""

    observer: RequestObserver
    checks: ReadinessChecks
    """Named checks for `/readyz` (`{"database": True, "runs": False}`)."""
    exposition: Callable[[], Awaitable[bytes]]
    """The current metrics in Prometheus text format."""
    metrics_content_type: str
    metrics_token: str | None = None


router = APIRouter(tags=["operations"])


def _operability(request: Request) -> Operability:
    ops: Operability = request.app.state.operability
    return ops


@router.get("/healthz", summary="Liveness: the process answers")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="Readiness: database reachable and run loop up (503 otherwise)")
async def readyz(request: Request) -> JSONResponse:
    checks = dict(await _operability(request).checks())
    ready = all(checks.values())
    return JSONResponse(
        {"status": "ready" if ready else "unavailable", "checks": checks},
        status_code=200 if ready else 503,
    )


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def metrics(request: Request) -> Response:
    ops = _operability(request)
    if ops.metrics_token:
        given = request.headers.get("authorization", "")
        expected = f"Bearer {ops.metrics_token}"
        if not hmac.compare_digest(given.encode(), expected.encode()):
            return JSONResponse(
                {"code": "UNAUTHENTICATED", "message": "metrics need the bearer token"},
                status_code=401,
                headers={"WWW-Authenticate": "Bearer"},
            )
    return Response(await ops.exposition(), media_type=ops.metrics_content_type)


def install_operability(app: FastAPI, ops: Operability) -> None:
    """The request middleware, `/healthz`, `/readyz`, `/metrics` and the analytics routes."""
    app.state.operability = ops
    app.add_middleware(RequestLogMiddleware, observer=ops.observer)
    include_shared(app, (router, api_analytics.router))
