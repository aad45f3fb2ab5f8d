"""agentloom's composition root: storage, services, the GraphQL schema and the ASGI app.

Reads the settings once, connects storage, builds the services, the GraphQL
schema and the ASGI app (GraphQL + the REST/WebSocket/SSE compatibility layer);
`run_worker` is the same composition without the web layer.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import os
import signal
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import anyio
from fastapi import FastAPI
from starlette.routing import Route, WebSocketRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from agentloom import VERSION
from agentloom.settings import Settings, comma_items
from console import install_console
from engine.builtin_templates import list_templates
from engine.graph_limits import GraphLimits
from engine.knowledge.embeddings import OpenAIEmbeddingClients
from engine.outbound import OutboundGuard
from engine.output_limits import OutputLimits
from engine.pricing import PriceError, load_price_table
from engine.run_types import RunServices
from engine.runner import WorkflowRunner
from engine.services.accounts import AccountService, LoginPolicy
from engine.services.agent_runs import AgentRunService
from engine.services.ai_builders import AiBuilderService
from engine.services.analytics import AnalyticsService
from engine.services.apikeys import ApiKeyService
from engine.services.background import BackgroundJobs
from engine.services.broadcast import Broadcaster
from engine.services.credentials import CredentialService
from engine.services.datasources import DataSourceRunQuerier, DataSourceService
from engine.services.event_follow import EventFollower
from engine.services.executions import ExecutionService
from engine.services.goal_flow import GoalGraphs
from engine.services.human_input import HumanInputService
from engine.services.knowledge import KnowledgeService
from engine.services.records import Template
from engine.services.remote_events import RemoteEventRelay
from engine.services.request_log import RequestLogWriter
from engine.services.run_admission import RunAdmission
from engine.services.run_host import RunHost, worker_name
from engine.services.run_recorder import RunRecorder
from engine.services.run_retention import RunRetention
from engine.services.run_retry import RunRetries
from engine.services.skills import SkillService
from engine.services.tool_discovery import ToolDiscoveryService
from engine.services.traces import TraceService
from engine.services.uploads import UploadService
from engine.services.workflows import TemplateService, WorkflowService
from engine.tools import TOOL_CATALOG
from explorers import ExplorerGraphQLApp, install_explorers
from graph.auth import TokenService
from graph.context import Services
from graph.local_mode import cors_origins
from graph.schema import build_schema
from rest_compat.app import install_rest
from rest_compat.cors import install_cors
from rest_compat.operability import Operability, install_operability
from rest_compat.operations import check_operations_once
from rest_compat.request_log import RequestObserver
from storage.analytics_stores import MongoRunStats
from storage.bootstrap import Database, connect
from storage.chroma_opener import ChromaOnDemand
from storage.crypto import SecretBox, load_or_create_key
from storage.execution_stores import (
    MongoEventStore,
    MongoExecutionStore,
    MongoRunLookup,
    migrate_event_log,
)
from storage.health import database_reachable
from storage.human_input_stores import MongoHumanInputBroker
from storage.knowledge_stores import (
    GridFSOriginalStore,
    MongoIngestEventStore,
    MongoKnowledgeBaseStore,
    MongoKnowledgeFileStore,
)
from storage.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from storage.metrics import PrometheusMetrics
from storage.request_log_stores import MongoRequestLogStore
from storage.run_admission_stores import MongoRunSlots
from storage.run_instance import Instance, claim_instance
from storage.run_retention_stores import MongoRetentionStore
from storage.secret_stores import (
    ConnectorGateway,
    GridFSUploadStore,
    MongoApiKeyStore,
    MongoCredentialStore,
    MongoDataSourceStore,
)
from storage.skill_stores import MongoSkillStore
from storage.stores import (
    MongoLoginFailureStore,
    MongoTemplateStore,
    MongoUserStore,
    MongoWorkflowStore,
)

log = logging.getLogger("agentloom")


@dataclass(kw_only=True, frozen=True)
class Runtime:
    """The services plus the background parts a process runs (runs, relays, sweeps)."""

    services: Services
    host: RunHost
    relay: RemoteEventRelay
    metrics: PrometheusMetrics
    request_log_store: MongoRequestLogStore
    request_log: RequestLogWriter | None
    """None when AGENTLOOM_REQUEST_LOG=false."""
    vectors: ChromaOnDemand
    """Knowledge base vectors (opened on first use, closed at shutdown)."""
    retention: RunRetention
    instance: Instance
    """This process's instance id (held while it runs; released at shutdown)."""


def build_runtime(
    settings: Settings, environ: Mapping[str, str] | None = None, *, embedded_vectors: bool = True
) -> Runtime:
    """Every service, store and port, wired once; nothing is assembled per request."""
    instance = claim_instance(settings.data_dir)
    worker = worker_name(instance.id)
    guard = OutboundGuard.from_entries(comma_items(settings.outbound_allow))
    templates = MongoTemplateStore()
    limits = GraphLimits(
        max_nodes=settings.max_workflow_nodes,
        max_edges=settings.max_workflow_edges,
        max_bytes=settings.max_workflow_bytes,
    )
    workflows = WorkflowService(workflows=MongoWorkflowStore(), templates=templates, limits=limits)
    executions_store = MongoExecutionStore()
    events_store = MongoEventStore(writer=worker)
    broadcaster = Broadcaster()
    # -- issue 15: metrics, the request log, prices
    metrics = PrometheusMetrics()
    request_log_store = MongoRequestLogStore()
    request_log = RequestLogWriter(request_log_store) if settings.request_log else None
    metrics.watch(
        subscribers=lambda: sum(map(broadcaster.subscriber_count, broadcaster.watched())),
        request_log=request_log,
    )
    try:
        prices = load_price_table(os.environ if environ is None else environ)
    except PriceError as exc:
        raise SystemExit(f"agentloom: {exc}") from None
    recorder = RunRecorder(
        events=events_store,
        executions=executions_store,
        broadcaster=broadcaster,
        metrics=metrics,
        worker=worker,
    )
    human_broker = MongoHumanInputBroker()
    box = SecretBox(load_or_create_key(settings.data_dir, settings.encryption_key))
    uploads = UploadService(store=GridFSUploadStore())
    data_sources = DataSourceService(
        store=MongoDataSourceStore(box),
        connectors=ConnectorGateway(guard, timeout_s=settings.query_timeout_seconds),
        read_upload=uploads.read_upload,
    )
    credentials = CredentialService(store=MongoCredentialStore(box), guard=guard)
    vectors = vector_store(settings, embedded=embedded_vectors)
    knowledge = KnowledgeService(
        bases=MongoKnowledgeBaseStore(),
        files=MongoKnowledgeFileStore(),
        events=MongoIngestEventStore(),
        originals=GridFSOriginalStore(),
        vectors=vectors,
        # The owner's stored OpenAI/Azure credential first, else the environment's.
        embeddings=OpenAIEmbeddingClients(
            credentials=credentials,
            environ=dict(os.environ if environ is None else environ),
            guard=guard,
        ),
        follow_poll_s=settings.log_poll_seconds,
    )
    runner = WorkflowRunner(
        RunServices(
            event_sink=recorder,
            human_input=human_broker,
            outbound_guard=guard,
            credentials=credentials,
            data_sources=DataSourceRunQuerier(data_sources),
            knowledge=knowledge,
            environ=dict(os.environ if environ is None else environ),
            prices=prices,
            output_limits=OutputLimits(max_bytes=settings.max_node_output_bytes),
        )
    )
    host = RunHost(
        executions=executions_store,
        events=events_store,
        recorder=recorder,
        broadcaster=broadcaster,
        runner=runner,
        worker=worker,
        lease_s=settings.lease_seconds,
        run_timeout_s=settings.run_timeout_seconds,
        node_timeout_s=settings.node_timeout_seconds,
        # -- issue 16: durable runs
        admission=RunAdmission(
            executions=executions_store,
            slots=MongoRunSlots(),
            limit=settings.max_running_per_user,
        ),
        requests=human_broker,
        instance=instance.id if instance.durable else None,
        max_resumes=settings.max_resumes,
        release_waits_after_s=settings.release_waits_after_seconds,
    )
    relay = RemoteEventRelay(events=events_store, broadcaster=broadcaster, is_local=host.is_local)
    follower = EventFollower(
        events=events_store,
        executions=executions_store,
        broadcaster=broadcaster,
        is_local=host.is_local,
        on_remote=relay.notice if settings.shared_database else None,
        poll_s=settings.log_poll_seconds,
    )
    skills = SkillService(store=MongoSkillStore(), tools=TOOL_CATALOG)
    executions = ExecutionService(
        executions=executions_store,
        events=events_store,
        workflows=workflows,
        host=host,
        recorder=recorder,
        follower=follower,
        prepare_graph=skills.expand_agent_skills,
    )
    human_input = HumanInputService(store=human_broker, wake=host.wake)
    run_lookup = MongoRunLookup()
    ai_builders = AiBuilderService(
        guard=guard,
        credentials=credentials,
        environ=dict(os.environ if environ is None else environ),
    )
    retries = RunRetries(executions=executions, store=executions_store, submit=host.submit)
    services = Services(
        accounts=AccountService(
            users=MongoUserStore(),
            failures=MongoLoginFailureStore(),
            policy=LoginPolicy(
                max_failures=settings.login_max_failures,
                window=timedelta(seconds=settings.login_window_seconds),
            ),
            admin_usernames=frozenset(comma_items(settings.admin_users)),
        ),
        tokens=TokenService(
            secret=settings.signing_secret(), ttl=timedelta(minutes=settings.token_ttl_minutes)
        ),
        workflows=workflows,
        templates=TemplateService(templates=templates, limits=limits),
        executions=executions,
        data_sources=data_sources,
        credentials=credentials,
        api_keys=ApiKeyService(store=MongoApiKeyStore()),
        uploads=uploads,
        human_input=human_input,
        skills=skills,
        traces=TraceService(lookup=run_lookup, executions=executions),
        agent_runs=AgentRunService(
            executions=executions,
            skills=skills,
            human=human_input,
            lookup=run_lookup,
            files=uploads,
            goals=GoalGraphs(
                mode=settings.goal_mode,
                skills=skills,
                builders=ai_builders,
                graphs=executions_store,
            ),
        ),
        analytics=AnalyticsService(requests=request_log_store, runs=MongoRunStats()),
        tool_discovery=ToolDiscoveryService(
            guard=guard, discover_timeout_s=settings.discovery_timeout_seconds
        ),
        ai_builders=ai_builders,
        knowledge=knowledge,
        jobs=BackgroundJobs(),
        retries=retries,
        admission=host.admission,
    )
    return Runtime(
        services=services,
        host=host,
        relay=relay,
        metrics=metrics,
        request_log_store=request_log_store,
        request_log=request_log,
        vectors=vectors,
        retention=RunRetention(
            store=MongoRetentionStore(),
            days=settings.retention_days,
            every_s=settings.retention_sweep_seconds,
        ),
        instance=instance,
    )


def vector_store(settings: Settings, *, embedded: bool) -> ChromaOnDemand:
    """Chroma for knowledge bases: the server at AGENTLOOM_CHROMA_URL, else the embedded one
    in `<data>/chroma` when this process may own it (not a worker: one process per store)."""
    url = (settings.chroma_url or "").strip()
    if url:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise SystemExit(f"agentloom: AGENTLOOM_CHROMA_URL: not an http(s) URL: {url!r}")
        return ChromaOnDemand(url=url)
    if embedded:
        return ChromaOnDemand(path=settings.data_dir / "chroma")
    return ChromaOnDemand(
        refusal="knowledge bases in an `agentloom worker` need AGENTLOOM_CHROMA_URL "
        "(a Chroma server): the embedded Chroma belongs to the API server's process"
    )


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


LAZY_SDKS = ("openai", "mcp", "a2a.client")
"""Imported on first use, not with the server (`engine/llm.py`, `engine/mcp`, `engine/a2a`)."""


async def import_sdks_in_background() -> None:
    """Import the LLM, MCP and A2A SDKs in a worker thread once the server is up.

    The command starts without them (1.2 s less), and the first call that needs one does
    not stall the event loop while it imports (0.4 s for `openai`), every other request
    with it. Workers skip this: their first LLM call waits that long once.
    """
    for name in LAZY_SDKS:
        await anyio.to_thread.run_sync(importlib.import_module, name)


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


async def run_worker(settings: Settings) -> None:
    """Claim pending executions from the shared database and run them, leases renewed."""
    if not settings.mongodb_uri:
        raise SystemExit(
            "agentloom worker needs AGENTLOOM_MONGODB_URI (a database shared with the server)"
        )
    runtime = build_runtime(settings, embedded_vectors=False)
    database = await connect(
        mongodb_uri=settings.mongodb_uri,
        database_name=settings.database,
        data_dir=settings.data_dir,
    )
    host = runtime.host
    log.info("worker %s polling %s", host.worker, settings.database)
    try:
        async with anyio.create_task_group() as runs:
            host.bind(runs)
            runs.start_soon(host.work_forever)
            await stop_on_signal(host, settings.shutdown_grace_seconds)
            runs.cancel_scope.cancel()
    finally:
        runtime.vectors.close()
        await database.close()
        runtime.instance.release()


async def stop_on_signal(host: RunHost, grace_s: float) -> None:
    """SIGTERM/SIGINT: claim nothing more, let running nodes finish for `grace_s`, hand the
    rest back (a deploy is not a cancel), then the worker exits."""
    with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
        async for signum in signals:
            log.info("worker %s stopping (%s)", host.worker, signal.Signals(signum).name)
            await host.shutdown(grace_s)
            return


def export_schema() -> str:
    return str(build_schema()) + "\n"
