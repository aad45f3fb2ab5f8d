"""The composition of storage, services and the run host, without the web layer.

`build_runtime` wires every service, store and port once; `agentloom.app` puts the
GraphQL schema and the ASGI app in front of it, and `run_worker` runs it alone (an
`agentloom worker` imports neither FastAPI nor Strawberry's schema: 0.8 s less to start).
"""

from __future__ import annotations

import logging
import os
import signal
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

import anyio

from agentloom.settings import Settings, comma_items
from engine.graph_limits import GraphLimits
from engine.knowledge.embeddings import OpenAIEmbeddingClients
from engine.lazy_import import import_off_loop
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
from graph.auth import TokenService
from graph.context import Services
from storage.analytics_stores import MongoRunStats
from storage.bootstrap import connect
from storage.chroma_opener import ChromaOnDemand
from storage.crypto import SecretBox, load_or_create_key
from storage.execution_stores import (
    MongoEventStore,
    MongoExecutionStore,
    MongoRunLookup,
)
from storage.human_input_stores import MongoHumanInputBroker
from storage.knowledge_stores import (
    GridFSOriginalStore,
    MongoIngestEventStore,
    MongoKnowledgeBaseStore,
    MongoKnowledgeFileStore,
)
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


LAZY_SDKS = ("openai", "mcp", "a2a.client")
"""Imported on first use, not with the server (`engine/llm.py`, `engine/mcp`, `engine/a2a`)."""


async def import_sdks_in_background() -> None:
    """Import the LLM, MCP and A2A SDKs in a worker thread once the server is up.

    The command starts without them (1.2 s less), and the first call that needs one does
    not wait for its import (0.4 s for `openai`, seconds on a loaded machine). A worker
    imports them before it takes any run, so no run's first call waits either. With
    AGENTLOOM_PRELOAD_SDKS=false each is imported at its first use instead, still in a
    thread (`import_off_loop`): the event loop, and so every lease renewal, never waits
    for an import.
    """
    for name in LAZY_SDKS:
        await import_off_loop(name)


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
    if settings.preload_sdks:
        await import_sdks_in_background()  # before any lease is held (see there)
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
