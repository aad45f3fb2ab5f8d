"""agentloom's composition root: storage, services, the GraphQL schema and the ASGI app.

Reads the settings once, connects storage, builds the services (`agentloom.runtime`,
which `agentloom worker` runs alone), the GraphQL schema and the ASGI app (GraphQL +
the REST/WebSocket/SSE compatibility layer).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import anyio
from fastapi import FastAPI
from starlette.routing import Route, WebSocketRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from agentloom import VERSION
from agentloom.runtime import build_runtime, import_sdks_in_background
from agentloom.settings import Settings
from console import install_console
from engine.builtin_templates import list_templates
from engine.services.records import Template
from engine.services.run_host import RunHost
from engine.services.uploads import UploadService
from explorers import ExplorerGraphQLApp, install_explorers
from graph.local_mode import cors_origins
from graph.schema import build_schema
from rest_compat.app import install_rest
from rest_compat.cors import install_cors
from rest_compat.operability import Operability, install_operability
from rest_compat.operations import check_operations_once
from rest_compat.request_log import RequestObserver
from storage.bootstrap import Database, connect
from storage.execution_stores import (
    migrate_event_log,
)
from storage.health import database_reachable
from storage.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from storage.stores import (
    MongoTemplateStore,
)

log = logging.getLogger("agentloom")


async def seed_builtin_templates() -> None:
    shipped = [
        Template(
            id=t["id"],
            builtin=True,
            name=t["name"],
            description=t.get("description", ""),
            category=t.get("category", ""),
            icon=t.get("icon", ""),
            tags=list(t.get("tags", [])),
            nodes=t["nodes"],
            edges=t["edges"],
        )
        for t in list_templates()
    ]
    await MongoTemplateStore().replace_builtin(shipped)


async def purge_uploads_forever(uploads: UploadService, every_s: float = 300.0) -> None:
    """Temporary uploads live one hour; the TTL index drops their metadata, this drops the bytes."""
    while True:
        try:
            await uploads.purge_expired()
        except Exception:  # a failed sweep is retried next time; it must not stop the server
            log.exception("purging expired uploads failed")
        await anyio.sleep(every_s)


class AgentloomAPI(FastAPI):
    """The FastAPI app, with GraphQL WebSocket connections handed straight to GraphQL.

    Every message a subscription sends passes through the ASGI send wrappers of the
    middleware in front of a route; a thousand subscribers made that a fifth of the
    server's time (make bench). Those sockets skip the middleware: GraphQL has its own
    error handling, and nothing else in the stack applies to a WebSocket.
    """

    def __init__(self, *, graphql_websocket: ASGIApp, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._graphql_websocket = graphql_websocket

    def build_middleware_stack(self) -> ASGIApp:
        stack = super().build_middleware_stack()
        graphql_websocket = self._graphql_websocket

        async def dispatch(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] == "websocket" and scope["path"] == "/graphql":
                scope["app"] = self
                await graphql_websocket(scope, receive, send)
            else:
                await stack(scope, receive, send)

        return dispatch


def create_app(
    settings: Settings | None = None, environ: Mapping[str, str] | None = None
) -> AgentloomAPI:
    settings = settings or Settings()
    settings.check_local_mode()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    runtime = build_runtime(settings, environ)
    services = runtime.services
    schema = build_schema(production=settings.production)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        database: Database = await connect(
            mongodb_uri=settings.mongodb_uri,
            database_name=settings.database,
            data_dir=settings.data_dir,
        )
        app.state.database = database
        app.state.loop = asyncio.get_running_loop()
        try:
            await migrate_event_log()
            await seed_builtin_templates()
            await runtime.request_log_store.ensure_indexes(retention_days=settings.request_log_days)
            host = runtime.host
            # An ingest cannot resume where a stopped process left it: its file is
            # marked failed, with the reason, and can be uploaded again.
            await services.knowledge.fail_interrupted_ingests()
            # Runs live in this task group, not in the request that started them.
            async with anyio.create_task_group() as runs:
                host.bind(runs if settings.run_in_server else None)
                # Ingests too: an upload's job goes on after its request ends.
                services.jobs.bind(runs)
                runs.start_soon(host.sweep_forever)  # resumes runs left by stopped processes
                runs.start_soon(runtime.retention.run_forever)
                runs.start_soon(drain_on_signal, host)
                if settings.shared_database:
                    runs.start_soon(runtime.relay.run_forever)
                runs.start_soon(purge_uploads_forever, services.uploads)
                if settings.preload_sdks:
                    runs.start_soon(import_sdks_in_background)
                if runtime.request_log is not None:
                    runs.start_soon(runtime.request_log.run_forever)
                yield
                # A deploy is not a cancel: runs are handed back to be resumed elsewhere.
                await host.shutdown(settings.shutdown_grace_seconds)
                services.jobs.bind(None)
                # Cancelled ingests remove their partial chunks and fail their files
                # (shielded) before the group exits and the stores close.
                runs.cancel_scope.cancel()
        finally:
            runtime.vectors.close()
            await database.close()
            runtime.instance.release()

    exit_requested = anyio.Event()

    async def drain_on_signal(host: RunHost) -> None:
        # SIGTERM starts the drain at once, while uvicorn still closes its connections.
        await exit_requested.wait()
        await host.shutdown(settings.shutdown_grace_seconds)

    def on_exit_signal() -> None:
        loop = getattr(app.state, "loop", None)
        if loop is not None:
            loop.call_soon_threadsafe(exit_requested.set)

    graphql_app = ExplorerGraphQLApp(schema, services, graphql_ide="graphiql")
    observer = RequestObserver(writer=runtime.request_log, metrics=runtime.metrics)
    app = AgentloomAPI(
        # GraphQL WebSockets skip the middleware stack: observed here instead (issue 15).
        graphql_websocket=observer.wrap(graphql_app, path_template="/graphql"),
        title="agentloom",
        version=VERSION,
        description="GraphQL-first server for low-code AI agent workflows. "
        "GraphQL at /graphql; the REST dialects below run the same resolvers.",
        lifespan=lifespan,
        # Served by `explorers` from local files; FastAPI's own pages load from a CDN.
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.on_exit_signal = on_exit_signal
    app.state.services = services
    app.state.run_host = runtime.host
    app.state.schema = schema
    app.state.request_observer = observer  # bench/request_log.py switches its writer
    app.router.routes.append(Route("/graphql", graphql_app, methods=["GET", "POST"]))
    app.router.routes.append(WebSocketRoute("/graphql", graphql_app))
    install_rest(app)
    # Every GraphQL document a REST route runs is checked now: a typo fails the start.
    check_operations_once(schema._schema, built_as=("build_schema", settings.production))
    install_explorers(app)
    install_console(app)

    async def readiness() -> dict[str, bool]:
        database: Database | None = getattr(app.state, "database", None)
        return {
            "database": await database_reachable(database.client if database else None),
            # Taking runs, and the loop that claims and resumes them came round lately.
            "runs": runtime.host.sweeping or not settings.run_in_server,
        }

    install_operability(
        app,
        Operability(
            observer=observer,
            checks=readiness,
            exposition=runtime.metrics.scrape,
            metrics_content_type=METRICS_CONTENT_TYPE,
            metrics_token=settings.metrics_token,
        ),
    )
    install_cors(app, cors_origins(settings.cors_origins))  # last: outermost
    return app


def export_schema() -> str:
    return str(build_schema()) + "\n"
