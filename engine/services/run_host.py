"""Hosting runs in this process: claim, run under a renewed lease, resume, hand back.

Runs belong to the host's task group (the server's or a worker's), never to
the request that started them. A run is claimed atomically (pending ->
running, with this process's lease; `RunAdmission` applies the per-user
limit), executed by the runner with its events recorded by the `RunRecorder`,
and its lease renewed every third of its length; a cancel requested from
another process arrives with a renewal.

Recovery rules (durable runs):

- A run whose lease lapsed (its process died), or that this process's
  instance held in an earlier life, is taken over by whichever process
  sweeps first: its log is folded into the run's durable state
  (`run_resume`), finished nodes keep their recorded outputs, the node in
  flight runs again (`attempt` 2, 3...), a `run_resumed` event marks the
  take-over. After `max_resumes` take-overs the run fails instead, saying why.
- A run whose running nodes all wait for people leaves the process
  (`run_suspended`, lease released, `waiting`): it holds no lease and no
  task. An answer makes it claimable again (`wake`), and any process resumes
  it; its request, and so its interrupt id, stays the same.
- Shutdown (`shutdown()`): no more claims; running nodes get a grace period
  to finish, nodes about to start wait; then every run here is suspended and
  handed back (lease released) for another process to resume at once.
  `cancelled` is only ever a user's cancel.
- A process that finds its run taken over (lease lost, or another writer's
  event in its log) stops it and writes nothing more (`RunLost`).
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from collections.abc import Coroutine, Sequence
from datetime import timedelta
from typing import Any, Protocol

import anyio
from anyio.abc import TaskGroup

from engine.clock import utcnow
from engine.events import (
    TERMINAL_EVENT_TYPES,
    RunCancelled,
    RunEvent,
    RunFailed,
    to_execution_event,
)
from engine.run_control import WAITING_FOR_INPUT, Wait
from engine.run_history import Resume, Reuse
from engine.run_types import RunRequest, RunResult
from engine.runner import WorkflowRunner
from engine.services import lifecycle_log
from engine.services.broadcast import Broadcaster
from engine.services.records import Execution, TakenOver
from engine.services.run_admission import MemoryRunSlots, RunAdmission
from engine.services.run_recorder import RunLost, RunRecorder, final_fields
from engine.services.run_resume import load_history, retry_reuse
from engine.services.stores import EventStore, ExecutionStore, SeqTaken

log = logging.getLogger(__name__)

RESUME_LIMIT = "ResumeLimitExceeded"


def worker_name(instance: str | None = None) -> str:
    """This process's name in leases and event documents: host, pid, and its instance
    (kept across restarts with the same data directory) or a random tag."""
    return f"{socket.gethostname()}:{os.getpid()}:{instance or uuid.uuid4().hex[:6]}"


class WaitingRequests(Protocol):
    """The human-input requests of runs (`storage.human_input_stores`)."""

    async def has_answer_to_take(self, execution_id: str, cut_waits: Sequence[Wait]) -> bool:
        """An answer was given that no node has taken yet, or that one of these waits
        (node id, loop path) took just before the run left: its node never finished."""
        ...

    async def close(self, execution_id: str) -> None:
        """The run ended: its open requests can no longer be answered."""
        ...


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
        admission: RunAdmission | None = None,
        requests: WaitingRequests | None = None,
        instance: str | None = None,
        max_resumes: int = 3,
        release_waits_after_s: float | None = 1.0,
        sweep_s: float | None = None,
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
        self.admission = admission or RunAdmission(executions=executions, slots=MemoryRunSlots())
        self._requests = requests
        self._instance = instance
        """Runs leased under this instance by an earlier life of the process are resumed at once."""
        self.max_resumes = max_resumes
        self._release_waits_after_s = release_waits_after_s
        self._sweep_s = sweep_s if sweep_s is not None else min(1.0, lease_s / 2)
        self._last_sweep: float | None = None
        self.stale_after_s = max(10 * self._sweep_s, 10.0)
        """A sweep loop silent this long is dead or stuck: the process is not ready."""
        self._task_group: TaskGroup | None = None
        self._submitted: set[str] = set()
        self._hosted: set[str] = set()
        """Runs this process executes now (claimed, not yet ended or handed back)."""
        self._recovered = False
        self._idle = anyio.Event()
        """Set when the last hosted run leaves (shutdown waits for it)."""

    def is_local(self, execution_id: str) -> bool:
        """Whether this process runs (or is about to run) that execution: its events are
        published here as they are stored, so nobody needs the change stream for it."""
        return execution_id in self._submitted or self._recorder.is_local(execution_id)

    def bind(self, task_group: TaskGroup | None) -> None:
        """Runs submitted from now on belong to `task_group`; None leaves them pending."""
        self._task_group = task_group
        if task_group is not None and self._last_sweep is None:
            # The first sweep has as long as any other to come round: a server is ready
            # as it starts, not only once its first sweep has ended (which a test or a
            # load balancer asking at once would see as a 503).
            self._last_sweep = time.monotonic()

    @property
    def accepting(self) -> bool:
        return self._task_group is not None

    @property
    def sweeping(self) -> bool:
        """Whether this process takes runs and its sweep loop came round lately (what
        `/readyz` calls the run loop being alive)."""
        if not self.accepting or self._last_sweep is None:
            return False
        return time.monotonic() - self._last_sweep <= self.stale_after_s

    def submit(self, execution_id: str) -> None:
        """Claim and run a pending execution in the background, if this process runs any."""
        if self._task_group is not None:
            self._submitted.add(execution_id)
            self._task_group.start_soon(self._claim_and_run, execution_id)

    def cancel_local(self, execution_id: str) -> bool:
        """Cancel a run of this process; False if it is not running here."""
        return self._runner.cancel(execution_id)

    # -- taking runs over --------------------------------------------------------------------

    async def recover(self) -> list[str]:
        """Take over every run that is free to take (lapsed, handed back, or this
        instance's from an earlier life) and resume it here; their ids."""
        resumed: list[str] = []
        while self.accepting:
            taken = await self._executions.take_over(
                worker=self.worker,
                lease_s=self._lease_s,
                instance=None if self._recovered else self._instance,
            )
            if taken is None:
                break
            resumed.append(taken.execution.id)
            self._start_resume(taken)
        self._recovered = True
        return resumed

    async def sweep_forever(self) -> None:
        """While this process runs executions: resume runs nobody holds, and start pending
        runs nobody claimed (created over a lease ago, or queued behind a user's limit)."""
        while True:
            try:
                if self.accepting:
                    await self.recover()
                    await self._claim_orphans()
            except anyio.get_cancelled_exc_class():
                raise
            except Exception:  # the next sweep retries; a sweep must not stop the server
                log.exception("recovering runs failed")
            self._last_sweep = time.monotonic()
            await anyio.sleep(self._sweep_s)

    async def _claim_orphans(self) -> None:
        older_than = utcnow() - timedelta(seconds=self._lease_s)
        while self.accepting:
            claimed = await self.admission.claim_next(
                worker=self.worker, lease_s=self._lease_s, older_than=older_than
            )
            if claimed is None:
                return
            self._start_run(claimed)

    async def work_forever(self, *, idle_s: float = 0.5) -> None:
        """A worker: take over runs nobody holds, claim pending ones, run them; until
        `shutdown()`."""
        while self.accepting:
            if await self.recover():
                continue
            claimed = await self.admission.claim_next(worker=self.worker, lease_s=self._lease_s)
            if claimed is None:
                await anyio.sleep(idle_s)
                continue
            self._start_run(claimed)

    async def wake(self, execution_id: str) -> None:
        """An answer came for a run: if it waited with no process, it may be resumed now."""
        if await self._executions.wake(execution_id) and self.accepting:
            taken = await self._executions.take_over(
                worker=self.worker, lease_s=self._lease_s, execution_id=execution_id
            )
            if taken is not None:
                self._start_resume(taken)

    def _start_run(self, execution: Execution) -> None:
        self._spawn(execution.id, self._run(execution))

    def _start_resume(self, taken: TakenOver) -> None:
        self._spawn(taken.execution.id, self._resume(taken))

    def _spawn(self, execution_id: str, work: Coroutine[Any, Any, None]) -> None:
        assert self._task_group is not None, "bind() a task group first"
        self._submitted.add(execution_id)

        async def hosting() -> None:
            try:
                await work
            finally:
                self._submitted.discard(execution_id)
                self._broadcaster.release(execution_id)

        self._task_group.start_soon(hosting)

    # -- shutdown ----------------------------------------------------------------------------

    async def shutdown(self, grace_s: float, *, settle_s: float = 10.0) -> list[str]:
        """Stop claiming; give running nodes `grace_s` to finish (nothing new starts), then
        hand every run still here back to be resumed elsewhere. Returns their ids."""
        self.bind(None)
        self._runner.drain()
        with anyio.move_on_after(grace_s):
            await self._none_hosted()
        handed = sorted(self._hosted)
        for execution_id in handed:
            self._runner.stop(execution_id, "suspend", "shutdown")
        with anyio.move_on_after(settle_s):
            await self._none_hosted()
        return handed

    async def _none_hosted(self) -> None:
        while self._hosted:
            self._idle = anyio.Event()
            await self._idle.wait()

    # -- ending runs that are not running here ----------------------------------------------

    async def cancel_unheld(self, execution_id: str) -> bool:
        """Cancel a run no live process holds (pending, waiting for input, handed back, or
        its process died): hold it, then end it. False when a live process holds it (its
        lease renewal sees the request) or it is over."""
        held = await self._executions.hold_to_cancel(
            execution_id, worker=self.worker, lease_s=self._lease_s
        )
        return held and await self._end(
            execution_id, RunCancelled(reason="cancelled", execution_time_ms=0)
        )

    async def _end(self, execution_id: str, ending: RunEvent | None) -> bool:
        """End a run this process holds but does not run, in the recorder's order: the
        terminal event (or the one its log has already: a log has one end), then the final
        status from it, then the fan-out. A crash between the two writes leaves a held run
        whose log has ended, which the next holder settles here. False when the run is no
        longer ours (whoever holds it now ends it) or, with no `ending`, its log has none.
        """
        # Fenced like the recorder's writes: renewed, the lease is ours for `lease_s`, so
        # no process takes the run over and writes its log while we append to it.
        if (
            await self._executions.renew(execution_id, worker=self.worker, lease_s=self._lease_s)
            == "lost"
        ):
            return False
        if self._requests is not None:
            await self._requests.close(execution_id)
        last = await self._events.last_seq(execution_id)
        tail = await self._events.after(execution_id, last - 1, limit=1) if last else []
        if tail and tail[0].type in TERMINAL_EVENT_TYPES:
            event = tail[0]
        elif ending is None:
            return False
        else:
            event = to_execution_event(execution_id, last + 1, ending)
            try:
                await self._events.append([event], exclusive=True)
            except SeqTaken:
                log.info("log of %s was written by another process", execution_id)
                return False
        if not await self._executions.finish(
            execution_id, worker=self.worker, **final_fields(event)
        ):
            return False
        self._broadcaster.publish(execution_id, (event,))
        return True

    # -- running ---------------------------------------------------------------------------

    async def _claim_and_run(self, execution_id: str) -> None:
        claimed_id = execution_id
        try:
            claimed = await self.admission.claim(
                execution_id, worker=self.worker, lease_s=self._lease_s
            )
            if claimed is not None:
                claimed_id = claimed.id  # under a limit: the owner's oldest pending run
                self._submitted.add(claimed_id)
                await self._run(claimed)
        finally:
            for done in {execution_id, claimed_id}:
                self._submitted.discard(done)
                # Local subscribers wait without polling while a run is ours: tell them it
                # is not (any more), so they follow it through the log from now on.
                self._broadcaster.release(done)

    async def _resume(self, taken: TakenOver) -> None:
        execution = taken.execution
        if taken.reason == "lease_lapsed" and execution.takeovers > self.max_resumes:
            await self._give_up(taken)
            return
        history = await load_history(self._events, execution.id)
        if history.terminal is not None:
            # It ended after all (the process died after its last event): settle the status.
            await self._settle_ended(execution)
            return
        reason = taken.reason
        if reason == "handed_back" and history.suspended == WAITING_FOR_INPUT:
            reason = "input_received"
        resume = Resume(
            history=history,
            previous_owner=taken.previous_owner,
            reason=reason,
            takeovers=execution.takeovers,
        )
        log.info(
            "resuming %s after seq %d (%s, previous owner %s)",
            execution.id,
            history.last_seq,
            reason,
            taken.previous_owner,
        )
        await self._run(execution, resume)

    async def _give_up(self, taken: TakenOver) -> None:
        execution = taken.execution
        error = (
            f"the run was taken over {execution.takeovers - 1} times after its process "
            f"stopped, the limit (AGENTLOOM_MAX_RESUMES={self.max_resumes}); last owner "
            f"{taken.previous_owner}"
        )
        log.warning("execution %s failed: %s", execution.id, error)
        ending = RunFailed(error=error, error_type=RESUME_LIMIT, execution_time_ms=0)
        if await self._end(execution.id, ending):
            await self._freed(execution)

    async def _settle_ended(self, execution: Execution) -> None:
        if await self._end(execution.id, None):
            await self._freed(execution)

    async def _freed(self, execution: Execution) -> None:
        """The run ended here (its requests are closed): its slot is free, and the
        owner's next queued run starts here."""
        await self.admission.finished(execution.owner_id, execution.id)
        if self.accepting and self.admission.limit:
            # A slot is free: the owner's next queued run starts here.
            claimed = await self.admission.claim_for(
                execution.owner_id, worker=self.worker, lease_s=self._lease_s
            )
            if claimed is not None:
                self._start_run(claimed)

    async def _run(self, execution: Execution, resume: Resume | None = None) -> None:
        self._hosted.add(execution.id)
        result: RunResult | None = None
        try:
            async with self._recorder.session(execution.id):
                result = await self._execute(execution, resume)
        except anyio.get_cancelled_exc_class():
            # The host is stopping without a shutdown: the runner logged `run_suspended`;
            # the lease goes back so another process resumes the run at once.
            with anyio.CancelScope(shield=True):
                await self._release(execution, waiting=False)
            raise
        except BaseException as error:  # the run boundary: never leave an execution `running`
            if _lost(error):
                log.warning("execution %s was taken over by another process", execution.id)
                return
            if not isinstance(error, Exception):
                raise
            log.exception("execution %s crashed", execution.id)
            # After the session: its pending events are written, so this end comes last.
            try:
                crash = RunFailed(
                    error="internal error", error_type="InternalError", execution_time_ms=0
                )
                if await self._end(execution.id, crash):
                    await self._freed(execution)
            except Exception:  # the database is gone too: the lease will lapse and recovery runs
                log.exception("could not record the failure of %s", execution.id)
            return
        finally:
            self._hosted.discard(execution.id)
            if not self._hosted:
                self._idle.set()
            # (Otherwise the final status was recorded with the terminal event.)
            self._broadcaster.release(execution.id)
        await self._after(execution, result)

    async def _after(self, execution: Execution, result: RunResult) -> None:
        if result.status == "abandoned":
            return
        if result.status != "suspended":
            if self._requests is not None:
                await self._requests.close(execution.id)
            await self._freed(execution)
            return
        waiting = result.error == WAITING_FOR_INPUT
        if not await self._release(execution, waiting=waiting):
            return
        # An answer given between the decision to wait and the release found the run still
        # held and could not wake it: look once more, now that the release is stored. So
        # with an answer a cut wait had already taken (the database applied the write, the
        # reply came after the stop): nobody would give it again.
        if (
            waiting
            and self._requests is not None
            and await self._requests.has_answer_to_take(execution.id, result.cut_waits)
        ):
            await self.wake(execution.id)

    async def _release(self, execution: Execution, *, waiting: bool) -> bool:
        try:
            return await self._executions.release(execution.id, worker=self.worker, waiting=waiting)
        except Exception:  # the lease lapses by itself: the run is resumed after it
            log.exception("could not hand back %s", execution.id)
            return False

    async def _execute(self, execution: Execution, resume: Resume | None) -> RunResult:
        reuse = await self._reuse(execution)
        request = RunRequest(
            execution_id=execution.id,
            owner_id=execution.owner_id,
            nodes=execution.nodes,
            edges=execution.edges,
            input_data=execution.input_data,
            run_timeout_s=self._run_timeout_s,
            node_timeout_s=self._node_timeout_s,
            resume=resume,
            reuse=reuse,
            release_waits_after_s=self._release_waits_after_s,
        )
        lifecycle_log.run_started(execution)
        async with anyio.create_task_group() as tg:
            tg.start_soon(self._keep_lease, execution.id)
            result = await self._runner.run(request)
            tg.cancel_scope.cancel()
        lifecycle_log.run_ended(execution, result)
        return result

    async def _reuse(self, execution: Execution) -> Reuse | None:
        if not (execution.retry_of and execution.retry_from_node):
            return None
        return await retry_reuse(
            self._events,
            source_execution_id=execution.retry_of,
            nodes=execution.nodes,
            edges=execution.edges,
            from_node_id=execution.retry_from_node,
        )

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
            elif lease == "lost":
                # Another process took the run over (this one stalled past its lease).
                log.warning("lost the lease of %s: stopping without writing", execution_id)
                self._runner.stop(execution_id, "abandon")
                return


def _lost(error: BaseException) -> bool:
    """Whether `error` (or any exception in a group) says the run was taken over."""
    if isinstance(error, RunLost):
        return True
    if isinstance(error, BaseExceptionGroup):
        return any(_lost(inner) for inner in error.exceptions)
    return False
