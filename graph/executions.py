"""Executions over GraphQL: start, cancel, read, logs, and the live event subscription."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence
from contextlib import aclosing
from datetime import datetime

import strawberry
from strawberry.scalars import JSON

from engine.errors import NotFound
from engine.events import ExecutionEvent
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
from graph.shared_results import SharedList, SharedRoot, shared_view
from graph.workflows import WorkflowType

Info = strawberry.Info[Context, None]


@strawberry.type(name="ExecutionStatus")
class ExecutionStatusType:
    status: str
    progress: int
    current_node: str | None


@strawberry.type(name="Execution")
class ExecutionType:
    id: strawberry.ID
    workflow_id: strawberry.ID | None
    workflow_name: str
    status: str
    progress: int
    current_node: str | None
    task_id: str
    input_data: JSON
    output_data: JSON | None
    error: str | None
    usage: JSON
    execution_time: int | None = strawberry.field(description="Milliseconds, once finished.")
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    # -- issue 15: estimated cost and per-model usage, resolved from `usage` (graph/analytics.py)
    cost: float | None = strawberry.field(resolver=execution_cost, description=COST_DESCRIPTION)
    usage_by_model: list[ModelUsage] = strawberry.field(
        resolver=execution_usage_by_model, description=USAGE_BY_MODEL_DESCRIPTION
    )

    @strawberry.field(description="The workflow this run came from (null once deleted).")
    async def workflow(self, info: Info) -> WorkflowType | None:
        if self.workflow_id is None:
            return None
        owner = await info.context.user_id()
        try:
            found = await info.context.services.workflows.get(owner, self.workflow_id)
        except NotFound:
            return None
        return WorkflowType.of(found)

    @classmethod
    def of(cls, e: Execution) -> ExecutionType:
        return cls(
            id=strawberry.ID(e.id),
            workflow_id=strawberry.ID(e.workflow_id) if e.workflow_id else None,
            workflow_name=e.workflow_name,
            status=e.status,
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
        )


@strawberry.type(name="ExecutionEvent")
class ExecutionEventType(SharedRoot):
    execution_id: strawberry.ID
    seq: int
    type: str
    node_id: str | None
    timestamp: datetime
    data: JSON

    @classmethod
    def of(cls, e: ExecutionEvent) -> ExecutionEventType:
        return cls(
            execution_id=strawberry.ID(e.execution_id),
            seq=e.seq,
            type=e.type,
            node_id=e.node_id,
            timestamp=e.timestamp,
            data=e.data,
        )


def _batch_view(batch: Sequence[ExecutionEvent]) -> SharedList:
    return SharedList(shared_view(event, ExecutionEventType.of) for event in batch)


@strawberry.type(name="LogEntry")
class LogEntryType:
    id: strawberry.ID
    seq: int
    node_id: str | None
    node_type: str | None
    level: str
    message: str
    timestamp: datetime
    duration_ms: int | None

    @classmethod
    def of(cls, e: LogEntry) -> LogEntryType:
        return cls(
            id=strawberry.ID(e.id),
            seq=e.seq,
            node_id=e.node_id,
            node_type=e.node_type,
            level=e.level,
            message=e.message,
            timestamp=e.timestamp,
            duration_ms=e.duration_ms,
        )


@strawberry.type
class LogPage:
    logs: list[LogEntryType]
    total: int
    skip: int
    limit: int


@strawberry.type
class NodeLogStats:
    node_id: str
    node_type: str | None
    log_count: int
    total_duration_ms: int


@strawberry.type
class LogSummary:
    total_logs: int
    level_stats: JSON
    node_stats: list[NodeLogStats]
    error_logs: list[LogEntryType]


@strawberry.type
class ExecutionQueryRoot:
    @strawberry.field
    async def execution(self, info: Info, id: strawberry.ID) -> ExecutionType:
        owner = await info.context.user_id()
        await info.context.check_execution_scope(id)
        return ExecutionType.of(await info.context.services.executions.get(owner, id))

    @strawberry.field
    async def execution_status(self, info: Info, id: strawberry.ID) -> ExecutionStatusType:
        owner = await info.context.user_id()
        await info.context.check_execution_scope(id)
        e = await info.context.services.executions.get(owner, id)
        return ExecutionStatusType(
            status=e.status, progress=e.progress, current_node=e.current_node
        )

    @strawberry.field(description="The caller's executions, newest first; limit 1-100.")
    async def executions(
        self,
        info: Info,
        skip: int = 0,
        limit: int = 100,
        workflow_id: strawberry.ID | None = None,
        status: str | None = None,
        search: str | None = None,
    ) -> list[ExecutionType]:
        owner = await info.context.user_id()
        viewer = await info.context.viewer()
        query = ExecutionQuery(
            only_workflow_ids=viewer.scoped_workflow_ids,
            skip=skip,
            limit=limit,
            workflow_id=workflow_id,
            status=status or None,
            search=search or None,
        )
        found = await info.context.services.executions.find(owner, query)
        return [ExecutionType.of(e) for e in found]

    @strawberry.field
    async def execution_logs(
        self,
        info: Info,
        execution_id: strawberry.ID,
        level: str | None = None,
        node_id: str | None = None,
        skip: int = 0,
        limit: int = 100,
    ) -> LogPage:
        owner = await info.context.user_id()
        await info.context.check_execution_scope(execution_id)
        query = LogQuery(level=level or None, node_id=node_id or None, skip=skip, limit=limit)
        logs, total = await info.context.services.executions.logs(owner, execution_id, query)
        return LogPage(logs=[LogEntryType.of(e) for e in logs], total=total, skip=skip, limit=limit)

    @strawberry.field
    async def execution_log_summary(self, info: Info, execution_id: strawberry.ID) -> LogSummary:
        owner = await info.context.user_id()
        await info.context.check_execution_scope(execution_id)
        summary = summarize(await info.context.services.executions.all_logs(owner, execution_id))
        return LogSummary(
            total_logs=summary["total_logs"],
            level_stats=summary["level_stats"],
            node_stats=[NodeLogStats(**s) for s in summary["node_stats"]],
            error_logs=[LogEntryType.of(e) for e in summary["error_logs"]],
        )


@strawberry.type
class ExecutionMutationRoot:
    @strawberry.mutation(description="Start a run; it returns at once, status `pending`.")
    async def execute_workflow(
        self, info: Info, workflow_id: strawberry.ID, input_data: JSON | None = None
    ) -> ExecutionType:
        owner = await info.context.user_id()
        await info.context.check_workflow_scope(workflow_id)
        execution = await info.context.services.executions.start(owner, workflow_id, input_data)
        return ExecutionType.of(execution)

    @strawberry.mutation(description="Stop a run; it ends in status `cancelled`.")
    async def cancel_execution(self, info: Info, id: strawberry.ID) -> ExecutionType:
        owner = await info.context.user_id()
        await info.context.check_execution_scope(id)
        return ExecutionType.of(await info.context.services.executions.cancel(owner, id))


@strawberry.type
class ExecutionSubscriptionRoot:
    @strawberry.subscription(
        description="Every event after `afterSeq`, then live ones; completes after the last."
    )
    async def execution_events(
        self, info: Info, execution_id: strawberry.ID, after_seq: int = 0
    ) -> AsyncGenerator[ExecutionEventType, None]:
        owner = await info.context.user_id()
        await info.context.check_execution_scope(execution_id)
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
        self, info: Info, execution_id: strawberry.ID, after_seq: int = 0
    ) -> AsyncGenerator[list[ExecutionEventType], None]:
        owner = await info.context.user_id()
        await info.context.check_execution_scope(execution_id)
        batches = await info.context.services.executions.event_batches(
            owner, execution_id, after_seq
        )
        async with aclosing(batches):
            async for batch in batches:
                yield shared_view(batch, _batch_view)
