"""Executions over GraphQL: start, cancel, read, the live node graph, logs and events.

Every projection here (status, node states, logs, events) is read from the
run's event log or the execution record; the subscriptions follow the log live.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence
from contextlib import aclosing
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import Enum
from typing import Annotated, Any

import strawberry

from engine.errors import NotFound
from engine.events import TERMINAL_EVENT_TYPES, ExecutionEvent
from engine.services.logs import summarize
from engine.services.records import Execution, ExecutionQuery, LogEntry, LogQuery
from graph.analytics import (  # issue 15: usage and cost fields
    COST_DESCRIPTION,
    USAGE_BY_MODEL_DESCRIPTION,
    ModelUsage,
    execution_cost,
    execution_usage_by_model,
)
from graph.context import Context
from graph.conventions import (
    JSON,
    Node,
    UserError,
    build_connection,
    connection_type,
    search_text,
    stored,
    window,
)
from graph.payloads import attempt
from graph.shared_results import SharedList, SharedRoot, shared_view
from graph.workflows import After, Before, First, IdArg, Last, WorkflowType, workflow_or_none

Info = strawberry.Info[Context, None]


@strawberry.enum(description="Where a run is in its life.")
class ExecutionStatus(Enum):
    PENDING = strawberry.enum_value("pending", description="Waiting to be picked up.")
    RUNNING = strawberry.enum_value("running", description="Running now.")
    COMPLETED = strawberry.enum_value("completed", description="Finished with an output.")
    FAILED = strawberry.enum_value("failed", description="Stopped by an error.")
    CANCELLED = strawberry.enum_value("cancelled", description="Stopped by a user.")


@strawberry.enum(description="What an event of a run's log says.")
class EventType(Enum):
    RUN_STARTED = strawberry.enum_value("run_started", description="The run began.")
    RUN_FINISHED = strawberry.enum_value("run_finished", description="The run ended with output.")
    RUN_FAILED = strawberry.enum_value("run_failed", description="The run ended in an error.")
    RUN_CANCELLED = strawberry.enum_value("run_cancelled", description="The run was cancelled.")
    NODE_STARTED = strawberry.enum_value("node_started", description="A node began.")
    NODE_FINISHED = strawberry.enum_value("node_finished", description="A node produced output.")
    NODE_FAILED = strawberry.enum_value("node_failed", description="A node failed.")
    NODE_SKIPPED = strawberry.enum_value("node_skipped", description="A node was not reached.")
    LLM_TOKEN = strawberry.enum_value("llm_token", description="A streamed piece of LLM text.")
    LLM_RESET = strawberry.enum_value(
        "llm_reset", description="A retried LLM call: drop the node's streamed text so far."
    )
    TOOL_CALL = strawberry.enum_value("tool_call", description="An agent called a tool.")
    TOOL_RESULT = strawberry.enum_value("tool_result", description="A tool answered.")
    LOG = strawberry.enum_value("log", description="A log line from a node.")
    PROGRESS = strawberry.enum_value("progress", description="Share of nodes settled.")
    HUMAN_INPUT_REQUESTED = strawberry.enum_value(
        "human_input_requested", description="A human node waits for an answer."
    )
    HUMAN_INPUT_RECEIVED = strawberry.enum_value(
        "human_input_received", description="The answer arrived."
    )
    RUN_RESUMED = strawberry.enum_value(
        "run_resumed",
        description="A process took the run over from its log (after a crash, a shutdown or "
        "an answer); finished nodes keep their outputs, the node in flight runs again.",
    )
    RUN_SUSPENDED = strawberry.enum_value(
        "run_suspended",
        description="The run left its process without ending (a shutdown, or it waits for "
        "a person); another process resumes it.",
    )


@strawberry.enum(description="How serious a log line is.")
class LogLevel(Enum):
    DEBUG = strawberry.enum_value("debug", description="Detail (tool calls, skips).")
    INFO = strawberry.enum_value("info", description="Normal progress.")
    WARN = strawberry.enum_value("warn", description="Something to look at.")
    ERROR = strawberry.enum_value("error", description="A failure.")


@strawberry.enum(description="Where one node of a run is.")
class NodeRunStatus(Enum):
    PENDING = strawberry.enum_value("pending", description="Not started (yet).")
    RUNNING = strawberry.enum_value("running", description="Running now.")
    FINISHED = strawberry.enum_value("finished", description="Produced its output.")
    FAILED = strawberry.enum_value("failed", description="Failed (its last attempt).")
    SKIPPED = strawberry.enum_value("skipped", description="Not reached on this run.")


@strawberry.type(description="One node of a run, as the run's events tell it.")
class ExecutionNodeState:
    node_id: str = strawberry.field(description="The node's id in the workflow.")
    node_type: str | None = strawberry.field(description="The node's kind.")
    status: NodeRunStatus = strawberry.field(description="Where it is.")
    started_at: datetime | None = strawberry.field(description="When it last started.")
    finished_at: datetime | None = strawberry.field(description="When it last ended.")
    attempts: int = strawberry.field(description="How often it started (loops: per item).")
    output: JSON | None = strawberry.field(description="Its last output, if finished.")
    error: str | None = strawberry.field(description="Its last error, if failed.")


@dataclass(kw_only=True)
class NodeStates:
    """Node states folded from events, in the order nodes first appear."""

    by_id: dict[str, ExecutionNodeState] = field(default_factory=dict)

    def apply(self, event: ExecutionEvent) -> bool:
        """Fold one event in; True if it changed a node."""
        if not event.type.startswith("node_") or event.node_id is None:
            return False
        state = self.by_id.get(event.node_id)
        if state is None:
            state = ExecutionNodeState(
                node_id=event.node_id,
                node_type=event.data.get("node_type"),
                status=NodeRunStatus.PENDING,
                started_at=None,
                finished_at=None,
                attempts=0,
                output=None,
                error=None,
            )
            self.by_id[event.node_id] = state
        if event.type == "node_started":
            state.status, state.started_at = NodeRunStatus.RUNNING, event.timestamp
            state.attempts += 1
        elif event.type == "node_finished":
            state.status, state.finished_at = NodeRunStatus.FINISHED, event.timestamp
            state.output, state.error = event.data.get("output"), None
        elif event.type == "node_failed":
            state.status, state.finished_at = NodeRunStatus.FAILED, event.timestamp
            state.error = str(event.data.get("error", ""))
        elif event.type == "node_skipped":
            state.status = NodeRunStatus.SKIPPED
        return True

    def with_graph(self, nodes: Sequence[Any]) -> list[ExecutionNodeState]:
        """Every node of the graph: those the log has not named yet are pending."""
        out = list(self.by_id.values())
        for node in nodes:
            if isinstance(node, dict) and isinstance(node.get("id"), str):
                if node["id"] not in self.by_id:
                    out.append(
                        ExecutionNodeState(
                            node_id=node["id"],
                            node_type=node.get("type"),
                            status=NodeRunStatus.PENDING,
                            started_at=None,
                            finished_at=None,
                            attempts=0,
                            output=None,
                            error=None,
                        )
                    )
        return out


@strawberry.type(name="Execution", description="One run of a workflow (or of an ad-hoc graph).")
class ExecutionType(Node):
    id: strawberry.ID = strawberry.field(description="The run's id.")
    workflow_id: strawberry.ID | None = strawberry.field(
        description="The workflow it ran (null for ad-hoc graphs)."
    )
    workflow_name: str = strawberry.field(description="The workflow's name when it ran.")
    status: ExecutionStatus = strawberry.field(description="Where it is.")
    progress: int = strawberry.field(description="0-100: share of top-level nodes settled.")
    current_node: str | None = strawberry.field(description="The node that last started.")
    task_id: str = strawberry.field(description="Seed 000's task id.")
    input_data: JSON = strawberry.field(description="The run input.")
    output_data: JSON | None = strawberry.field(
        description="The run output (any JSON value; seed 000 wraps non-objects)."
    )
    error: str | None = strawberry.field(description="Why it failed or was cancelled.")
    usage: JSON = strawberry.field(description="Token usage: prompt, completion, total.")
    execution_time: int | None = strawberry.field(description="Milliseconds, once finished.")
    created_at: datetime = strawberry.field(description="When it was started.")
    started_at: datetime | None = strawberry.field(description="When a process picked it up.")
    finished_at: datetime | None = strawberry.field(description="When it ended.")
    # -- issue 16: durable runs
    waiting_for_input: bool = strawberry.field(
        description="Running, but held by no process: it waits for a person's answer "
        "(`submitHumanInput`), which resumes it on whichever process claims it."
    )
    takeovers: int = strawberry.field(
        description="How often another process took the run over after its process stopped."
    )
    retry_of: strawberry.ID | None = strawberry.field(
        description="The run this one retries (`retryExecution`), if any."
    )
    retry_from_node: str | None = strawberry.field(
        description="The node the retry started from: it and everything downstream ran again."
    )
    # -- issue 15: estimated cost and per-model usage, resolved from `usage` (graph/analytics.py)
    cost: float | None = strawberry.field(resolver=execution_cost, description=COST_DESCRIPTION)
    usage_by_model: list[ModelUsage] = strawberry.field(
        resolver=execution_usage_by_model, description=USAGE_BY_MODEL_DESCRIPTION
    )
    raw: strawberry.Private[Execution]
    known_states: strawberry.Private[NodeStates | None] = None

    @strawberry.field(
        description="Its place among its owner's pending runs (1: starts next) while it waits "
        "for a slot under the per-user running limit; null once it is no longer pending."
    )
    async def queue_position(self, info: Info) -> int | None:
        return await info.context.services.admission.queue_position(self.raw)

    @strawberry.field(description="The workflow it ran (null once deleted or for ad-hoc runs).")
    async def workflow(self, info: Info) -> WorkflowType | None:
        if self.workflow_id is None:
            return None
        found = await workflow_or_none(info, str(self.workflow_id))
        return WorkflowType.of(found) if found else None

    @strawberry.field(
        description="Every node of the run's graph with its state: the live execution graph."
    )
    async def nodes(self, info: Info) -> list[ExecutionNodeState]:
        states = self.known_states
        graph_nodes = self.raw.nodes
        if states is None or not graph_nodes:
            owner = await info.context.access()
            executions = info.context.services.executions
            if states is None:
                states = NodeStates()
                for event in await executions.all_events(owner, str(self.id)):
                    states.apply(event)
            if not graph_nodes:
                # A read of the record leaves its graph snapshot out (stored apart); the
                # nodes the log has not named yet are known only from it.
                graph_nodes, _ = await executions.graph(owner, str(self.id))
        return states.with_graph(graph_nodes)

    @strawberry.field(description="The run's event log, in order.")
    async def events(
        self, info: Info, first: First = None, after: After = None
    ) -> ExecutionEventConnection:
        owner = await info.context.access()
        page = window(first=first, after=after, last=None, before=None)
        events = info.context.services.executions
        found = await events.event_page(owner, str(self.id), page.offset, page.limit)
        items = [ExecutionEventType.of(e) for e in found.items]
        return build_connection(
            ExecutionEventConnection, items, offset=page.offset, total=found.total
        )

    @strawberry.field(description="The run's log lines (a view of its events).")
    async def logs(
        self,
        info: Info,
        first: First = None,
        after: After = None,
        level: Annotated[
            LogLevel | None, strawberry.argument(description="Only this level.")
        ] = None,
        node_id: Annotated[
            str | None, strawberry.argument(description="Only this node's lines.")
        ] = None,
    ) -> LogEntryConnection:
        owner = await info.context.access()
        page = window(first=first, after=after, last=None, before=None)
        query = LogQuery(
            level=stored(level) if level else None,
            node_id=node_id,
            skip=page.offset,
            limit=max(page.limit, 1),
        )
        lines, total = await info.context.services.executions.logs(owner, str(self.id), query)
        items = [LogEntryType.of(e) for e in lines][: page.limit]
        return build_connection(LogEntryConnection, items, offset=page.offset, total=total)

    @strawberry.field(description="Seed 000's log summary: counts per level and per node.")
    async def log_summary(self, info: Info) -> LogSummary:
        owner = await info.context.access()
        summary = summarize(await info.context.services.executions.all_logs(owner, str(self.id)))
        return LogSummary(
            total_logs=summary["total_logs"],
            level_stats=summary["level_stats"],
            node_stats=[NodeLogStats(**s) for s in summary["node_stats"]],
            error_logs=[LogEntryType.of(e) for e in summary["error_logs"]],
        )

    @classmethod
    def of(cls, e: Execution, states: NodeStates | None = None) -> ExecutionType:
        return cls(
            id=strawberry.ID(e.id),
            workflow_id=strawberry.ID(e.workflow_id) if e.workflow_id else None,
            workflow_name=e.workflow_name,
            status=ExecutionStatus(e.status),
            progress=e.progress,
            current_node=e.current_node,
            task_id=e.task_id,
            input_data=e.input_data,
            output_data=e.output_data,
            error=e.error,
            usage=e.usage,
            execution_time=e.execution_time,
            created_at=e.created_at,
            started_at=e.started_at,
            finished_at=e.finished_at,
            waiting_for_input=e.waiting,
            takeovers=e.takeovers,
            retry_of=strawberry.ID(e.retry_of) if e.retry_of else None,
            retry_from_node=e.retry_from_node,
            raw=e,
            known_states=states,
        )


@strawberry.type(name="ExecutionEvent", description="One entry of a run's ordered event log.")
class ExecutionEventType(SharedRoot):
    execution_id: strawberry.ID = strawberry.field(description="The run.")
    seq: int = strawberry.field(description="1, 2, 3... in the run, without gaps.")
    type: EventType = strawberry.field(description="What happened.")
    node_id: str | None = strawberry.field(description="The node it concerns, if any.")
    timestamp: datetime = strawberry.field(description="When (UTC, milliseconds).")
    data: JSON = strawberry.field(description="The event's payload (depends on `type`).")

    @classmethod
    def of(cls, e: ExecutionEvent) -> ExecutionEventType:
        return cls(
            execution_id=strawberry.ID(e.execution_id),
            seq=e.seq,
            type=EventType(e.type),
            node_id=e.node_id,
            timestamp=e.timestamp,
            data=e.data,
        )


def _batch_view(batch: Sequence[ExecutionEvent]) -> SharedList:
    return SharedList(shared_view(event, ExecutionEventType.of) for event in batch)


@strawberry.type(name="LogEntry", description="A log line: a view of one event of the log.")
class LogEntryType:
    id: strawberry.ID = strawberry.field(description="`<executionId>:<seq>`.")
    seq: int = strawberry.field(description="The event's seq.")
    node_id: str | None = strawberry.field(description="The node, if any.")
    node_type: str | None = strawberry.field(description="The node's kind, if any.")
    level: LogLevel = strawberry.field(description="How serious.")
    message: str = strawberry.field(description="What happened.")
    timestamp: datetime = strawberry.field(description="When.")
    duration_ms: int | None = strawberry.field(description="How long it took, where it applies.")

    @classmethod
    def of(cls, e: LogEntry) -> LogEntryType:
        return cls(
            id=strawberry.ID(e.id),
            seq=e.seq,
            node_id=e.node_id,
            node_type=e.node_type,
            level=LogLevel(e.level),
            message=e.message,
            timestamp=e.timestamp,
            duration_ms=e.duration_ms,
        )


@strawberry.type(description="Log lines of one node.")
class NodeLogStats:
    node_id: str = strawberry.field(description="The node.")
    node_type: str | None = strawberry.field(description="Its kind.")
    log_count: int = strawberry.field(description="Its log lines.")
    total_duration_ms: int = strawberry.field(description="Its executions' total time.")


@strawberry.type(description="Seed 000's log summary of a run.")
class LogSummary:
    total_logs: int = strawberry.field(description="All log lines.")
    level_stats: JSON = strawberry.field(description="Lines per level.")
    node_stats: list[NodeLogStats] = strawberry.field(description="Lines per node.")
    error_logs: list[LogEntryType] = strawberry.field(description="The error lines.")


ExecutionConnection = connection_type(ExecutionType, "Execution", "run")
ExecutionEventConnection = connection_type(ExecutionEventType, "ExecutionEvent", "event")
LogEntryConnection = connection_type(LogEntryType, "LogEntry", "log line")


@strawberry.input(description="Start a run of a saved workflow.")
class ExecuteWorkflowInput:
    workflow_id: strawberry.ID = strawberry.field(description="The workflow to run.")
    input_data: JSON | None = strawberry.field(
        default=None, description="The run input (an object)."
    )


@strawberry.input(description="The run to cancel.")
class CancelExecutionInput:
    id: strawberry.ID = strawberry.field(description="Its id.")


@strawberry.input(description="The run to retry, and the node to start again from.")
class RetryExecutionInput:
    id: strawberry.ID = strawberry.field(description="The ended run to retry.")
    from_node_id: str = strawberry.field(
        description="Run this node and everything downstream again; every other node keeps "
        "the output the run recorded."
    )


@strawberry.type(description="What `retryExecution` answers.")
class RetryExecutionPayload:
    execution: ExecutionType | None = strawberry.field(
        description="The new run (pending, linked by `retryOf`), unless userErrors say why not."
    )
    user_errors: list[UserError] = strawberry.field(description="What to fix in the input.")


@strawberry.type(description="What `executeWorkflow` answers.")
class ExecuteWorkflowPayload:
    execution: ExecutionType | None = strawberry.field(
        description="The new run (pending), unless userErrors say why not."
    )
    user_errors: list[UserError] = strawberry.field(description="What to fix in the input.")


@strawberry.type(description="What `cancelExecution` answers.")
class CancelExecutionPayload:
    execution: ExecutionType | None = strawberry.field(description="The run, once it stopped.")
    user_errors: list[UserError] = strawberry.field(description="What to fix in the input.")


async def execution_or_none(info: Info, execution_id: str) -> Execution | None:
    owner = await info.context.access()
    try:
        return await info.context.services.executions.get(owner, execution_id)
    except NotFound:
        return None


async def execution_page(
    info: Info,
    *,
    first: int | None,
    after: str | None,
    workflow_id: str | None = None,
    status: ExecutionStatus | None = None,
    search: str | None = None,
    last: int | None = None,
    before: str | None = None,
) -> Any:
    owner = await info.context.access()
    base = ExecutionQuery(
        workflow_id=workflow_id,
        status=stored(status) if status else None,
        search=search_text(search),
        skip=0,
        limit=1,
    )
    total = None
    if last is not None and before is None:
        total = (await info.context.services.executions.find(owner, base)).total
    page = window(first=first, after=after, last=last, before=before, total=total)
    from dataclasses import replace

    found = await info.context.services.executions.find(
        owner, replace(base, skip=page.offset, limit=max(page.limit, 1))
    )
    items = [ExecutionType.of(e) for e in found.items][: page.limit]
    return build_connection(ExecutionConnection, items, offset=page.offset, total=found.total)


@strawberry.type
class ExecutionQueryRoot:
    @strawberry.field(description="One of the caller's runs, or null.")
    async def execution(self, info: Info, id: IdArg) -> ExecutionType | None:
        found = await execution_or_none(info, str(id))
        return ExecutionType.of(found) if found else None

    @strawberry.field(description="The caller's runs, newest first.")
    async def executions(
        self,
        info: Info,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
        workflow_id: Annotated[
            strawberry.ID | None, strawberry.argument(description="Only this workflow's runs.")
        ] = None,
        status: Annotated[
            ExecutionStatus | None, strawberry.argument(description="Only runs in this state.")
        ] = None,
        search: Annotated[
            str | None,
            strawberry.argument(description="Text in the workflow name, the id or the error."),
        ] = None,
    ) -> ExecutionConnection:
        connection: Any = await execution_page(
            info,
            first=first,
            after=after,
            last=last,
            before=before,
            workflow_id=str(workflow_id) if workflow_id else None,
            status=status,
            search=search,
        )
        return connection


@strawberry.type
class ExecutionMutationRoot:
    @strawberry.mutation(description="Start a run; it answers at once with the pending run.")
    async def execute_workflow(
        self, info: Info, input: ExecuteWorkflowInput
    ) -> ExecuteWorkflowPayload:
        owner = await info.context.access()
        executions = info.context.services.executions
        started, errors = await attempt(
            lambda: executions.start(owner, str(input.workflow_id), input.input_data)
        )
        return ExecuteWorkflowPayload(
            execution=ExecutionType.of(started) if started else None, user_errors=errors
        )

    @strawberry.mutation(description="Stop a run; it ends `cancelled` (a finished run stays).")
    async def cancel_execution(
        self, info: Info, input: CancelExecutionInput
    ) -> CancelExecutionPayload:
        owner = await info.context.access()
        done = await info.context.services.executions.cancel(owner, str(input.id))
        return CancelExecutionPayload(execution=ExecutionType.of(done), user_errors=[])

    @strawberry.mutation(
        description="Start a new run of an ended run's workflow version and input that "
        "reuses the recorded outputs of every node not downstream of `fromNodeId` (they "
        "are not run again) and runs the rest."
    )
    async def retry_execution(
        self, info: Info, input: RetryExecutionInput
    ) -> RetryExecutionPayload:
        owner = await info.context.access()
        retries = info.context.services.retries
        retried, errors = await attempt(
            lambda: retries.retry(owner, str(input.id), input.from_node_id)
        )
        return RetryExecutionPayload(
            execution=ExecutionType.of(retried) if retried else None, user_errors=errors
        )


AfterSeq = Annotated[int, strawberry.argument(description="Start after this seq (0: all).")]
ExecutionIdArg = Annotated[strawberry.ID, strawberry.argument(description="The run.")]
CHANGES_STATUS = frozenset(
    {
        "run_started",
        "run_finished",
        "run_failed",
        "run_cancelled",
        "progress",
        # issue 16: waitingForInput and takeovers change with these
        "run_suspended",
        "run_resumed",
    }
)


@strawberry.type
class ExecutionSubscriptionRoot:
    @strawberry.subscription(
        description="Every event after `afterSeq`, then the live ones; completes after the "
        "terminal event. Reconnect with the last seq seen: no gap, no duplicate."
    )
    async def execution_events(
        self, info: Info, execution_id: ExecutionIdArg, after_seq: AfterSeq = 0
    ) -> AsyncGenerator[ExecutionEventType, None]:
        owner = await info.context.access()
        events = await info.context.services.executions.events(owner, execution_id, after_seq)
        # Closed here when a subscriber stops early, in the task that iterated it.
        async with aclosing(events):
            async for event in events:
                # One object per stored event for every subscriber: its selection is then
                # executed and encoded once per distinct document (graph/shared_results.py).
                yield shared_view(event, ExecutionEventType.of)

    @strawberry.subscription(
        description="`executionEvents` in batches: each message is a list of consecutive "
        "events, as many as the server has for this subscriber when it sends. Made for "
        "many subscribers or fast runs: a subscriber that falls behind gets fewer, larger "
        "messages instead of a growing delay. Completes after the terminal event."
    )
    async def execution_event_batches(
        self, info: Info, execution_id: ExecutionIdArg, after_seq: AfterSeq = 0
    ) -> AsyncGenerator[list[ExecutionEventType], None]:
        owner = await info.context.access()
        batches = await info.context.services.executions.event_batches(
            owner, execution_id, after_seq
        )
        async with aclosing(batches):
            async for batch in batches:
                yield shared_view(batch, _batch_view)

    @strawberry.subscription(
        description="The run as it changes: sent now, then after every change of its status, "
        "progress or a node's state (`nodes` is the live execution graph); completes when "
        "the run has ended."
    )
    async def execution_updated(
        self, info: Info, id: ExecutionIdArg
    ) -> AsyncGenerator[ExecutionType, None]:
        owner = await info.context.access()
        executions = info.context.services.executions
        states = NodeStates()
        logged = await executions.all_events(owner, id)
        for event in logged:
            states.apply(event)
        # Read once: every push lists the graph's nodes, the unstarted ones as PENDING.
        graph_nodes, _ = await executions.graph(owner, id)
        yield ExecutionType.of(
            replace(await executions.get(owner, id), nodes=graph_nodes), _copy(states)
        )
        if logged and logged[-1].type in TERMINAL_EVENT_TYPES:
            return
        batches = await executions.event_batches(owner, id, logged[-1].seq if logged else 0)
        async with aclosing(batches):
            async for batch in batches:
                changed = False
                for event in batch:
                    changed = states.apply(event) or event.type in CHANGES_STATUS or changed
                if changed:
                    execution = replace(await executions.get(owner, id), nodes=graph_nodes)
                    yield ExecutionType.of(execution, _copy(states))


def _copy(states: NodeStates) -> NodeStates:
    """A snapshot: the fold goes on while the subscriber reads this one."""
    return NodeStates(by_id={k: replace(v) for k, v in states.by_id.items()})
