"""Hosting runs in this process: claim, run under a renewed lease, recover the dead.

Runs belong to the host's task group (the server's or a worker's), never to
the request that started them. A run is claimed atomically (pending ->
running, with this process's lease), executed by the runner with its events
recorded by the `RunRecorder`, and its lease renewed every third of its
length; a cancel requested from another process arrives with a renewal.
Runs whose process died (lease lapsed) are marked failed, and their log is
closed with a `run_failed` event.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid

import anyio
from anyio.abc import TaskGroup

from engine.events import (
    TERMINAL_EVENT_TYPES,
    RunCancelled,
    RunEvent,
    RunFailed,
    to_execution_event,
)
from engine.run_types import RunRequest
from engine.runner import WorkflowRunner
from engine.services import lifecycle_log
from engine.services.broadcast import Broadcaster
from engine.services.records import Execution
from engine.services.run_recorder import RunRecorder
from engine.services.stores import EventStore, ExecutionStore, SeqTaken

log = logging.getLogger(__name__)


def worker_name() -> str:
    """This process's name in leases and event documents: host, pid, and a random tag."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class RunHost:
    def __init__(
        self,
        *,
        executions: ExecutionStore,
        events: EventStore,
        recorder: RunRecorder,
        broadcaster: Broadcaster,
        runner: WorkflowRunner,
        worker: str,
        lease_s: float = 30.0,
        run_timeout_s: float = 3600.0,
        node_timeout_s: float = 600.0,
    ) -> None:
        self._executions = executions
        self._events = events
        self._recorder = recorder
        self._broadcaster = broadcaster
        self._runner = runner
        self.worker = worker
        self._lease_s = lease_s
        self._run_timeout_s = run_timeout_s
        self._node_timeout_s = node_timeout_s
        self._task_group: TaskGroup | None = None
        self._submitted: set[str] = set()

    def is_local(self, execution_id: str) -> bool:
        """Whether this process runs (or is about to run) that execution: its events are
        published here as they are stored, so nobody needs the change stream for it."""
        return execution_id in self._submitted or self._recorder.is_local(execution_id)

    def bind(self, task_group: TaskGroup | None) -> None:
        """Runs submitted from now on belong to `task_group`; None leaves them pending."""
        self._task_group = task_group

    @property
    def accepting(self) -> bool:
        return self._task_group is not None

    def submit(self, execution_id: str) -> None:
        """Claim and run a pending execution in the background, if this process runs any."""
        if self._task_group is not None:
            self._submitted.add(execution_id)
            self._task_group.start_soon(self._claim_and_run, execution_id)

    def cancel_local(self, execution_id: str) -> bool:
        """Cancel a run of this process; False if it is not running here."""
        return self._runner.cancel(execution_id)

    # -- recovery --------------------------------------------------------------------------

    async def recover(self) -> list[str]:
        """Fail the runs a dead process left `running`, closing their event logs."""
        failed = await self._executions.fail_abandoned(
            reason="the process running this execution stopped before it finished"
        )
        for execution_id in failed:
            await self.close_log(
                execution_id,
                RunFailed(
                    error="the process running this execution stopped",
                    error_type="WorkerLost",
                    execution_time_ms=0,
                ),
            )
        return failed

    async def sweep_forever(self) -> None:
        while True:
            await anyio.sleep(self._lease_s)
            try:
                await self.recover()
            except anyio.get_cancelled_exc_class():
                raise
            except Exception:  # the next sweep retries; a sweep must not stop the server
                log.exception("recovering abandoned runs failed")

    async def work_forever(self, *, idle_s: float = 0.5) -> None:
        """A worker: claim pending executions one by one and run them."""
        while True:
            claimed = await self._executions.claim_next(worker=self.worker, lease_s=self._lease_s)
            if claimed is None:
                await anyio.sleep(idle_s)
                continue
            assert self._task_group is not None, "bind() a task group before work_forever()"
            self._task_group.start_soon(self._run, claimed)

    async def close_log(self, execution_id: str, ending: RunEvent) -> None:
        """Append the terminal event a run that never ran (or died) could not write."""
        last = await self._events.last_seq(execution_id)
        tail = await self._events.after(execution_id, last - 1, limit=1) if last else []
        if tail and tail[0].type in TERMINAL_EVENT_TYPES:
            return  # it ended after all: a log has one end
        event = to_execution_event(execution_id, last + 1, ending)
        try:
            await self._events.append([event], exclusive=True)
        except SeqTaken:
            # A racing writer took that seq: its log already has an end (or will).
            log.info("log of %s was closed by another writer", execution_id)
            return
        self._broadcaster.publish(execution_id, (event,))

    async def close_cancelled(self, execution_id: str) -> None:
        await self.close_log(execution_id, RunCancelled(reason="cancelled", execution_time_ms=0))

    # -- running ---------------------------------------------------------------------------

    async def _claim_and_run(self, execution_id: str) -> None:
        try:
            claimed = await self._executions.claim(
                execution_id, worker=self.worker, lease_s=self._lease_s
            )
            if claimed is not None:
                await self._run(claimed)
        finally:
            self._submitted.discard(execution_id)
            # Local subscribers wait without polling while a run is ours: tell them it is
            # not (any more), so they follow it through the log from now on.
            self._broadcaster.release(execution_id)

    async def _run(self, execution: Execution) -> None:
        try:
            async with self._recorder.session(execution.id):
                await self._execute(execution)
        except anyio.get_cancelled_exc_class():
            # The host is shutting down: the runner has logged `run_cancelled` (shielded),
            # which recorded the final status with it.
            raise
        except Exception:  # the run boundary: never leave an execution `running`
            log.exception("execution %s crashed", execution.id)
            # After the session: its pending events are written, so this end comes last.
            try:
                await self._executions.finish(execution.id, status="failed", error="internal error")
                await self.close_log(
                    execution.id,
                    RunFailed(error="internal error", error_type="InternalError", execution_time_ms=0),
                )
            except Exception:  # the database is gone too: the lease will lapse and recovery runs
                log.exception("could not record the failure of %s", execution.id)
        finally:
            # (Otherwise the final status was recorded with the terminal event.)
            self._broadcaster.release(execution.id)

    async def _execute(self, execution: Execution) -> None:
        request = RunRequest(
            execution_id=execution.id,
            owner_id=execution.owner_id,
            nodes=execution.nodes,
            edges=execution.edges,
            input_data=execution.input_data,
            run_timeout_s=self._run_timeout_s,
            node_timeout_s=self._node_timeout_s,
        )
        lifecycle_log.run_started(execution)
        async with anyio.create_task_group() as tg:
            tg.start_soon(self._keep_lease, execution.id)
            result = await self._runner.run(request)
            tg.cancel_scope.cancel()
        lifecycle_log.run_ended(execution, result)

    async def _keep_lease(self, execution_id: str) -> None:
        while True:
            await anyio.sleep(self._lease_s / 3)
            try:
                lease = await self._executions.renew(
                    execution_id, worker=self.worker, lease_s=self._lease_s
                )
            except anyio.get_cancelled_exc_class():
                raise
            except Exception:  # transient: the next renewal (a third of the lease later) retries
                log.warning("renewing the lease of %s failed", execution_id, exc_info=True)
                continue
            if lease == "cancel_requested":
                self._runner.cancel(execution_id)
