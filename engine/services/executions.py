"""Executions: start a run (it outlives the request), cancel it, read it, stream its events.

A run's events are persisted in order (the runner numbers them 1, 2, 3...)
and fanned out live in-process. `events()` replays the log from any `seq`
and then follows it live, switching back to the log whenever the live
stream lags or another process runs the workflow, so a subscriber sees
every event exactly once and the stream ends after the terminal event.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from typing import Any

import anyio
from anyio.abc import TaskGroup

from engine.errors import NotFound, ValidationFailed
from engine.events import ExecutionEvent, RunCancelled, RunFailed, to_execution_event
from engine.run_types import RunRequest
from engine.runner import WorkflowRunner
from engine.services.broadcast import Broadcaster
from engine.services.logs import log_entry
from engine.services.records import (
    EXECUTION_STATUSES,
    TERMINAL_STATUSES,
    Execution,
    ExecutionQuery,
    JSONDict,
    LogEntry,
    LogQuery,
    utcnow,
)
from engine.services.stores import EventStore, ExecutionStore
from engine.services.workflows import WorkflowService
from engine.validation import validate_workflow

log = logging.getLogger(__name__)

TERMINAL_EVENTS = frozenset({"run_finished", "run_failed", "run_cancelled"})
PAGE = 500
END_GRACE_S = 5.0
"""How long a subscriber waits for the terminal event of a run already marked over."""


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def final_fields(event: ExecutionEvent) -> dict[str, Any]:
    data = event.data
    fields: dict[str, Any] = {
        "execution_time": data.get("execution_time_ms"),
        "finished_at": event.timestamp,
    }
    if event.type == "run_finished":
        fields.update(status="completed", output_data=data.get("output"), progress=100)
        fields["usage"] = data.get("usage") or {}
    elif event.type == "run_failed":
        fields.update(status="failed", error=data.get("error"))
    else:
        fields.update(status="cancelled", error=data.get("reason") or "cancelled")
    return fields


class RecordingSink:
    """The runner's EventSink: persist, keep the execution's live status, fan out."""

    def __init__(
        self, *, events: EventStore, executions: ExecutionStore, broadcaster: Broadcaster
    ) -> None:
        self._events = events
        self._executions = executions
        self._broadcaster = broadcaster

    async def publish(self, event: ExecutionEvent) -> None:
        if event.type in TERMINAL_EVENTS:
            # Recorded before the event is logged or sent: a reader of the log or the live
            # stream who sees the end also sees the final status. (Had the append failed
            # after this, readers still stop: the status is terminal and the log ends.)
            await self._executions.finish(event.execution_id, **final_fields(event))
        await self._events.append(event, log=log_entry(event))
        if event.type == "progress":
            await self._executions.update_progress(
                event.execution_id,
                progress=int(event.data.get("progress", 0)),
                current_node=event.data.get("current_node"),
            )
        elif event.type == "node_started":
            await self._executions.update_progress(
                event.execution_id, progress=None, current_node=event.node_id
            )
        self._broadcaster.publish(event)


class ExecutionService:
    def __init__(
        self,
        *,
        executions: ExecutionStore,
        events: EventStore,
        workflows: WorkflowService,
        broadcaster: Broadcaster,
        runner: WorkflowRunner,
        worker: str | None = None,
        lease_s: float = 30.0,
        run_timeout_s: float = 3600.0,
        node_timeout_s: float = 600.0,
        poll_s: float = 1.0,
        prepare_graph: Callable[[str, list[JSONDict]], Awaitable[list[JSONDict]]] | None = None,
    ) -> None:
        self._executions = executions
        self._events = events
        self._workflows = workflows
        self._broadcaster = broadcaster
        self._runner = runner
        self.worker = worker or worker_name()
        self._lease_s = lease_s
        self._run_timeout_s = run_timeout_s
        self._node_timeout_s = node_timeout_s
        self._poll_s = poll_s
        self._prepare_graph = prepare_graph
        """Applied to a graph before it is snapshotted (e.g. agent skills), if set."""
        self._task_group: TaskGroup | None = None

    # -- lifecycle -------------------------------------------------------------------------

    def bind(self, task_group: TaskGroup | None) -> None:
        """Runs started from now on belong to `task_group` (the server's), not to a request."""
        self._task_group = task_group

    async def recover(self) -> list[str]:
        """Fail the runs a dead process left `running`, closing their event logs."""
        failed = await self._executions.fail_abandoned(
            reason="the process running this execution stopped before it finished"
        )
        for execution_id in failed:
            await self._close_log(execution_id, "the process running this execution stopped")
        return failed

    async def sweep_forever(self) -> None:
        while True:
            await anyio.sleep(self._lease_s)
            await self.recover()

    async def follow_other_processes(self) -> None:
        """Relay events appended by other processes (workers) to this process's subscribers.

        A MongoDB change stream on the event log; events of runs this process runs are
        already published by its own sink. Without change streams subscribers still get
        everything: they fall back to reading the log every `poll_s`.
        """
        try:
            async for event in self._events.watch():
                if not self._runner.is_running(event.execution_id):
                    self._broadcaster.publish(event)
        except anyio.get_cancelled_exc_class():
            raise
        except Exception:  # e.g. a deployment without change streams: polling remains
            log.warning("change stream unavailable; cross-process streaming polls the log")

    async def work_forever(self, *, idle_s: float = 0.5) -> None:
        """A worker: claim pending executions one by one and run them."""
        while True:
            claimed = await self._executions.claim_next(worker=self.worker, lease_s=self._lease_s)
            if claimed is None:
                await anyio.sleep(idle_s)
                continue
            assert self._task_group is not None
            self._task_group.start_soon(self._run, claimed)

    # -- commands --------------------------------------------------------------------------

    async def start(
        self,
        owner_id: str,
        workflow_id: str,
        input_data: Any,
        *,
        run_id: str | None = None,
        thread_id: str | None = None,
    ) -> Execution:
        workflow = await self._workflows.get(owner_id, workflow_id)
        return await self.start_graph(
            owner_id,
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
        owner_id: str,
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
        if input_data is None:
            input_data = {}
        if not isinstance(input_data, dict):
            raise ValidationFailed("input_data must be an object", field="input_data")
        report = validate_workflow(nodes, edges)
        if report.valid and self._prepare_graph is not None:
            nodes = await self._prepare_graph(owner_id, nodes)
        if not report.valid:
            raise ValidationFailed(
                "the workflow is not valid: " + "; ".join(report.errors),
                field="workflow",
                details=report.errors,
            )
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
        if self._task_group is not None:
            self._task_group.start_soon(self._claim_and_run, execution.id)
        return execution

    async def cancel(self, owner_id: str, execution_id: str) -> Execution:
        execution = await self.get(owner_id, execution_id)
        if execution.status in TERMINAL_STATUSES:
            return execution
        if not self._runner.cancel(execution_id):
            # Not running here: pending (never claimed) or running in another process,
            # which sees the request when it renews its lease.
            if await self._executions.cancel_pending(execution_id):
                await self._close_log(execution_id, None)
            else:
                await self._executions.request_cancel(execution_id)
        # Answer once the run has really stopped: follow its log to the terminal event
        # (the sink records the final status before it publishes that event).
        with anyio.move_on_after(10):
            async for _ in self.events(owner_id, execution_id, 0):
                pass
        return await self.get(owner_id, execution_id)

    # -- queries ---------------------------------------------------------------------------

    async def get(self, owner_id: str, execution_id: str) -> Execution:
        execution = await self._executions.get(owner_id, execution_id)
        if execution is None:
            raise NotFound(f"Execution {execution_id} not found")
        return execution

    async def list(self, owner_id: str, query: ExecutionQuery) -> list[Execution]:
        if query.skip < 0:
            raise ValidationFailed("skip must be >= 0", field="skip")
        if not 1 <= query.limit <= 100:
            raise ValidationFailed("limit must be between 1 and 100", field="limit")
        if query.status is not None and query.status not in EXECUTION_STATUSES:
            raise ValidationFailed(
                f"status must be one of {', '.join(EXECUTION_STATUSES)}", field="status"
            )
        return await self._executions.find(owner_id, query)

    async def logs(
        self, owner_id: str, execution_id: str, query: LogQuery
    ) -> tuple[list[LogEntry], int]:
        await self.get(owner_id, execution_id)
        if query.skip < 0:
            raise ValidationFailed("skip must be >= 0", field="skip")
        if not 1 <= query.limit <= 1000:
            raise ValidationFailed("limit must be between 1 and 1000", field="limit")
        if query.level is not None and query.level not in ("info", "warn", "error", "debug"):
            raise ValidationFailed("level must be one of info, warn, error, debug", field="level")
        return await self._events.logs(execution_id, query)

    async def all_logs(self, owner_id: str, execution_id: str) -> list[LogEntry]:
        await self.get(owner_id, execution_id)
        return await self._events.all_logs(execution_id)

    async def events(
        self, owner_id: str, execution_id: str, after_seq: int = 0
    ) -> AsyncIterator[ExecutionEvent]:
        """Every event after `after_seq`, then the live ones, ending after the terminal one."""
        await self.get(owner_id, execution_id)
        if after_seq < 0:
            raise ValidationFailed("afterSeq must be >= 0", field="afterSeq")
        last = after_seq
        while True:
            with self._broadcaster.subscribe(execution_id) as live:
                # Subscribed first, then read the log: nothing can fall between the two.
                while True:
                    batch = await self._events.after(execution_id, last, limit=PAGE)
                    for event in batch:
                        yield event
                        last = event.seq
                        if event.type in TERMINAL_EVENTS:
                            return
                    if len(batch) < PAGE:
                        break
                if await self._ended_without_log(execution_id, last):
                    return
                lagging = False
                while not lagging:
                    with anyio.move_on_after(self._poll_s):
                        try:
                            event = await live.receive()
                        except anyio.EndOfStream:
                            break  # dropped for being slow: catch up from the log
                        if event.seq <= last:
                            continue
                        if event.seq != last + 1:
                            break  # a gap: the log has what we missed
                        yield event
                        last = event.seq
                        if event.type in TERMINAL_EVENTS:
                            return
                        continue
                    # Quiet for a while: another process may be running it; read the log.
                    lagging = True

    async def _ended_without_log(self, execution_id: str, last: int) -> bool:
        """A run that is over but whose log will get no terminal event (it died mid-write).

        The final status is written just before the terminal event, so a run that ended
        only moments ago is given time for that event to arrive.
        """
        execution = await self._executions.get_any(execution_id)
        if execution is None:
            return True
        if execution.status not in TERMINAL_STATUSES:
            return False
        settled = execution.finished_at is None or (
            utcnow() - execution.finished_at > timedelta(seconds=END_GRACE_S)
        )
        return settled and await self._events.last_seq(execution_id) <= last

    # -- running ---------------------------------------------------------------------------

    async def _claim_and_run(self, execution_id: str) -> None:
        claimed = await self._executions.claim(
            execution_id, worker=self.worker, lease_s=self._lease_s
        )
        if claimed is not None:
            await self._run(claimed)

    async def _run(self, execution: Execution) -> None:
        request = RunRequest(
            execution_id=execution.id,
            owner_id=execution.owner_id,
            nodes=execution.nodes,
            edges=execution.edges,
            input_data=execution.input_data,
            run_timeout_s=self._run_timeout_s,
            node_timeout_s=self._node_timeout_s,
        )
        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(self._keep_lease, execution.id)
                await self._runner.run(request)
                tg.cancel_scope.cancel()
        except anyio.get_cancelled_exc_class():
            with anyio.CancelScope(shield=True):
                await self._executions.finish(
                    execution.id,
                    status="cancelled",
                    error="the server shut down during the run",
                    finished_at=utcnow(),
                )
            raise
        except Exception:  # the run boundary: never leave an execution `running`
            log.exception("execution %s crashed", execution.id)
            await self._executions.finish(
                execution.id, status="failed", error="internal error", finished_at=utcnow()
            )
            await self._close_log(execution.id, "internal error")
            return
        # The final status was recorded by the sink with the terminal event (final_fields).

    async def _keep_lease(self, execution_id: str) -> None:
        while True:
            await anyio.sleep(self._lease_s / 3)
            lease = await self._executions.renew(
                execution_id, worker=self.worker, lease_s=self._lease_s
            )
            if lease == "cancel_requested":
                self._runner.cancel(execution_id)

    async def _close_log(self, execution_id: str, error: str | None) -> None:
        """Append the terminal event a run that never ran (or died) could not write."""
        last = await self._events.last_seq(execution_id)
        if error is None:
            event = to_execution_event(
                execution_id, last + 1, RunCancelled(reason="cancelled", execution_time_ms=0)
            )
        else:
            event = to_execution_event(
                execution_id,
                last + 1,
                RunFailed(error=error, error_type="WorkerLost", execution_time_ms=0),
            )
        try:
            await self._events.append(event, log=log_entry(event))
        except Exception:  # a racing writer got that seq: its log already has an end
            log.warning("could not close the event log of %s", execution_id)
            return
        self._broadcaster.publish(event)
