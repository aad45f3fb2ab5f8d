"""Mounts the documented REST dialects onto a FastAPI app (OpenAPI, /docs, /redoc for free)."""

from __future__ import annotations

from fastapi import FastAPI
from starlette.routing import WebSocketRoute

from rest_compat import (
    agui,
    api_builders,
    api_knowledge,
    api_secrets,
    api_workflows,
    v1_auth,
    v1_datasources,
    v1_executions,
    v1_workflows,
)
from rest_compat.errors import install_error_handlers
from rest_compat.json_guard import JsonBodyGuard
from rest_compat.mounting import include_shared
from rest_compat.openapi import install_openapi
from rest_compat.operations import AUTHENTICATED
from rest_compat.v1_websocket import execution_socket

ROUTERS = (
    v1_auth.router,
    v1_workflows.router,
    v1_executions.router,
    api_workflows.router,
    v1_datasources.router,
    api_secrets.router,
    api_knowledge.router,
    agui.router,
    api_builders.router,
)


def install_rest(app: FastAPI) -> None:
    install_error_handlers(app)
    # Unreadable JSON bodies get a 400 naming why, before any parser meets them.
    app.add_middleware(JsonBodyGuard)
    # The caller is authenticated before a body or parameter is validated.
    include_shared(app, ROUTERS, dependencies=AUTHENTICATED)
    app.router.routes.append(
        WebSocketRoute("/api/v1/ws/executions/{execution_id}", execution_socket)
    )
    install_openapi(app)
