"""Executions: start a run (it outlives the request), cancel it, read it, stream its events.

The parts, each in its own module:

    ExecutionService   the rules behind every execution API (this module)
    ├── RunHost         claims and runs executions under a lease (run_host.py)
    │   └── RunRecorder the runner's sink: group commit, then fan-out (run_recorder.py)
    ├── EventFollower   replay from any seq, then live, once each (event_follow.py)
    │   ├── Broadcaster in-process fan-out (broadcast.py)
    │   └── RemoteEventRelay  change stream for other processes' runs (remote_events.py)
    └── stores          ExecutionStore, EventStore (stores.py; MongoDB in storage/)
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Awaitable, Callable, Sequence
from contextlib import aclosing
from dataclasses import replace
from typing import Any

import anyio

from engine.errors import NotFound, ValidationFailed
from engine.events import ExecutionEvent
from engine.services.access import Owner, reach, user_of
from engine.services.event_follow import EventFollower
from engine.services.logs import LOG_LEVELS, log_entry
from engine.services.pages import Page
from engine.services.records import (
    EXECUTION_STATUSES,
    TERMINAL_STATUSES,
    Execution,
    ExecutionQuery,
    JSONDict,
    LogEntry,
    LogQuery,
)
from engine.services.run_host import RunHost
from engine.services.run_recorder import RunRecorder
from engine.services.stores import EventStore, ExecutionStore
from engine.services.workflows import WorkflowService
from engine.validation import validate_workflow

CANCEL_WAIT_S = 10.0
"""How long `cancel` waits for the run to log its end before answering."""

PrepareGraph = Callable[[str, list[JSONDict]], Awaitable[list[JSONDict]]]


class ExecutionService:
    def __init__(
        self,
        *,
        executions: ExecutionStore,
        events: EventStore,
        workflows: WorkflowService,
        host: RunHost,
        recorder: RunRecorder,
        follower: EventFollower,
        prepare_graph: PrepareGraph | None = None,
    ) -> None:
        self._executions = executions
        self._events = events
        self._workflows = workflows
        self._host = host
        self._recorder = recorder
        self._follower = follower
        self._prepare_graph = prepare_graph
        """Applied to a graph before it is snapshotted (e.g. agent skills), if set."""

    # -- commands --------------------------------------------------------------------------

    async def start(
        self,
        owner: Owner,
        workflow_id: str,
        input_data: Any,
        *,
        run_id: str | None = None,
        thread_id: str | None = None,
    ) -> Execution:
        workflow = await self._workflows.get(owner, workflow_id)
        return await self.start_graph(
            owner,
            nodes=workflow.nodes,
            edges=workflow.edges,
            input_data=input_data,
            workflow_id=workflow.id,
            workflow_name=workflow.name,
            run_id=run_id,
            thread_id=thread_id,
        )

    async def start_graph(
        self,
        owner: Owner,
        *,
        nodes: Any,
        edges: Any,
        input_data: Any,
        workflow_id: str | None = None,
        workflow_name: str = "",
        kind: str = "workflow",
        run_id: str | None = None,
        thread_id: str | None = None,
    ) -> Execution:
        """Persist a pending execution and hand it to the run host; returns at once.

        A scoped API key starts only its workflows: an ad-hoc graph (`workflow_id` None)
        answers like a missing workflow."""
        reach(owner).require(workflow_id)
        owner_id = user_of(owner)
        if input_data is None:
            input_data = {}
        if not isinstance(input_data, dict):
            raise ValidationFailed("input_data must be an object", field="input_data")
        report = validate_workflow(nodes, edges)
        if not report.valid:
            raise ValidationFailed(
                "the workflow is not valid: " + "; ".join(report.errors),
                field="workflow",
                details=report.errors,
            )
        if self._prepare_graph is not None:
            nodes = await self._prepare_graph(owner_id, nodes)
        execution = Execution(
            owner_id=owner_id,
            workflow_id=workflow_id,
            workflow_name=workflow_name,
            nodes=nodes,
            edges=edges,
            input_data=input_data,
            kind=kind,
            run_id=run_id,
            thread_id=thread_id,
        )
        await self._executions.add(execution)
        self._host.submit(execution.id)
        return execution

    async def cancel(self, owner: Owner, execution_id: str) -> Execution:
        """Stop a run; answers once its log has ended (status `cancelled`)."""
        execution = await self.get(owner, execution_id)
        if execution.status in TERMINAL_STATUSES:
            return execution
        if not self._host.cancel_local(execution_id) and not await self._host.cancel_unheld(
            execution_id
        ):
            # Running in another process, which sees the request when it renews its lease.
            await self._executions.request_cancel(execution_id)
        with anyio.move_on_after(CANCEL_WAIT_S):
            async with aclosing(self._follower.follow(execution_id, 0)) as events:
                async for _ in events:
                    pass
        return await self.get(owner, execution_id)

    # -- queries ---------------------------------------------------------------------------

    async def get(self, owner: Owner, execution_id: str) -> Execution:
        """Every read of one run (events, logs, traces, cancel) passes here: a run of a
        workflow out of the caller's reach answers like a missing one."""
        access = reach(owner)
        execution = await self._executions.get(access.user_id, execution_id)
        if execution is None or not access.reaches(execution.workflow_id):
            raise NotFound(f"Execution {execution_id} not found")
        return self._with_live_state(execution)

    async def find(self, owner: Owner, query: ExecutionQuery) -> Page[Execution]:
        if query.skip < 0:
            raise ValidationFailed("skip must be >= 0", field="skip")
        if not 1 <= query.limit <= 100:
            raise ValidationFailed("limit must be between 1 and 100", field="limit")
        if query.status is not None and query.status not in EXECUTION_STATUSES:
            raise ValidationFailed(
                f"status must be one of {', '.join(EXECUTION_STATUSES)}", field="status"
            )
        access = reach(owner)
        if access.workflow_ids is not None:
            allowed = access.workflow_ids
            if query.only_workflow_ids is not None:
                allowed = allowed & query.only_workflow_ids
            query = replace(query, only_workflow_ids=allowed)
        found = await self._executions.find(access.user_id, query)
        return Page(items=[self._with_live_state(e) for e in found.items], total=found.total)

    async def logs(
        self, owner: Owner, execution_id: str, query: LogQuery
    ) -> tuple[list[LogEntry], int]:
        await self.get(owner, execution_id)
        if query.skip < 0:
            raise ValidationFailed("skip must be >= 0", field="skip")
        if not 1 <= query.limit <= 1000:
            raise ValidationFailed("limit must be between 1 and 1000", field="limit")
        if query.level is not None and query.level not in LOG_LEVELS:
            raise ValidationFailed(f"level must be one of {', '.join(LOG_LEVELS)}", field="level")
        lines = [
            line
            for line in await self._log_lines(execution_id)
            if (query.level is None or line.level == query.level)
            and (query.node_id is None or line.node_id == query.node_id)
        ]
        return lines[query.skip : query.skip + query.limit], len(lines)

    async def all_logs(self, owner: Owner, execution_id: str) -> list[LogEntry]:
        await self.get(owner, execution_id)
        return await self._log_lines(execution_id)

    async def _log_lines(self, execution_id: str) -> list[LogEntry]:
        # Log lines are a projection of the log, computed on read: writes stay one
        # document per event with no secondary index to maintain.
        events = await self._events.log_events(execution_id)
        return [line for line in map(log_entry, events) if line is not None]

    async def events(
        self, owner: Owner, execution_id: str, after_seq: int = 0
    ) -> AsyncGenerator[ExecutionEvent, None]:
        """Every event after `after_seq`, then the live ones, ending after the terminal one.

        Checks ownership and arguments when called (not on first iteration), so a caller
        learns of a bad id before it starts streaming.
        """
        await self.get(owner, execution_id)
        if after_seq < 0:
            raise ValidationFailed("afterSeq must be >= 0", field="afterSeq")
        return self._follower.follow(execution_id, after_seq)

    async def event_batches(
        self, owner: Owner, execution_id: str, after_seq: int = 0
    ) -> AsyncGenerator[Sequence[ExecutionEvent], None]:
        """`events()` in batches: each message a subscriber gets carries all it missed."""
        await self.get(owner, execution_id)
        if after_seq < 0:
            raise ValidationFailed("afterSeq must be >= 0", field="afterSeq")
        return self._follower.follow_batches(execution_id, after_seq)

    async def event_page(
        self, owner: Owner, execution_id: str, offset: int, limit: int
    ) -> Page[ExecutionEvent]:
        """Events `offset + 1 ...` of the log (seqs are positions), and how many it has."""
        await self.get(owner, execution_id)
        items = await self._events.after(execution_id, offset, limit=limit) if limit else []
        return Page(items=items, total=await self._events.last_seq(execution_id))

    async def graph(self, owner: Owner, execution_id: str) -> tuple[list[Any], list[Any]]:
        """The graph snapshot the run executes: stored apart from the execution record,
        which `get` and `find` read without it."""
        await self.get(owner, execution_id)
        return await self._executions.graph(execution_id)

    async def all_events(self, owner: Owner, execution_id: str) -> list[ExecutionEvent]:
        """The whole stored log of the owner's execution, in seq order."""
        await self.get(owner, execution_id)
        events: list[ExecutionEvent] = []
        while True:
            batch = await self._events.after(
                execution_id, events[-1].seq if events else 0, limit=1000
            )
            events.extend(batch)
            if len(batch) < 1000:
                return events

    def _with_live_state(self, execution: Execution) -> Execution:
        """A run of this process: progress and current node as of now, not the last write."""
        if execution.status != "running":
            return execution
        live = self._recorder.live_state(execution.id)
        if live is not None:
            execution.progress, execution.current_node = live.progress, live.current_node
        return execution
