"""The streaming core without a database: recorder, follower, relay and run host.

Each test builds the real parts over the in-memory store ports; the cases are
the ones a transport cannot show cheaply: slow consumers, gaps, duplicates,
a database that fails between a write and the fan-out, and change-stream errors.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from datetime import timedelta
from typing import Any, NoReturn, cast

import anyio
import anyio.abc
import pytest

from engine.clock import utcnow
from engine.events import TERMINAL_EVENT_TYPES, ExecutionEvent, Log, to_execution_event
from engine.run_types import RunServices
from engine.runner import WorkflowRunner
from engine.services.broadcast import Broadcaster
from engine.services.event_follow import EventFollower
from engine.services.executions import ExecutionService
from engine.services.memory_stores import (
    InMemoryEventDatabase,
    InMemoryEventStore,
    InMemoryExecutionStore,
)
from engine.services.records import Execution
from engine.services.remote_events import RemoteEventRelay
from engine.services.run_host import RunHost
from engine.services.run_recorder import RunRecorder
from tests.services.graphs import chain

pytestmark = pytest.mark.anyio
OWNER = "u1"


class Core:
    """One "process": the real streaming core over in-memory stores."""

    def __init__(
        self,
        *,
        database: InMemoryEventDatabase | None = None,
        executions: InMemoryExecutionStore | None = None,
        poll_s: float = 0.05,
        writer: str = "p1",
        buffer: int = 256,
        end_grace_s: float = 0.2,
    ) -> None:
        self.executions = executions or InMemoryExecutionStore()
        self.events = InMemoryEventStore(database, writer=writer)
        self.broadcaster = Broadcaster(buffer=buffer)
        self.recorder = RunRecorder(
            events=self.events,
            executions=self.executions,
            broadcaster=self.broadcaster,
            retry_for_s=5.0,
        )
        self.runner = WorkflowRunner(RunServices(event_sink=self.recorder, environ={}))
        self.host = RunHost(
            executions=self.executions,
            events=self.events,
            recorder=self.recorder,
            broadcaster=self.broadcaster,
            runner=self.runner,
            worker=writer,
            lease_s=5.0,
        )
        self.relay = RemoteEventRelay(
            events=self.events,
            broadcaster=self.broadcaster,
            is_local=self.host.is_local,
            check_s=0.02,
            max_backoff_s=0.05,
        )
        self.follower = EventFollower(
            events=self.events,
            executions=self.executions,
            broadcaster=self.broadcaster,
            is_local=self.host.is_local,
            on_remote=self.relay.notice,
            poll_s=poll_s,
            end_grace_s=end_grace_s,
        )
        self.service = ExecutionService(
            executions=self.executions,
            events=self.events,
            workflows=cast(Any, None),  # start_graph never reads saved workflows
            host=self.host,
            recorder=self.recorder,
            follower=self.follower,
        )

    async def start(self, length: int, **input_data: Any) -> Execution:
        nodes, edges = chain(length)
        return await self.service.start_graph(
            OWNER, nodes=nodes, edges=edges, input_data=input_data or {"n": 1}
        )

    def stored(self, execution_id: str) -> list[int]:
        return sorted(self.events.database.logs[execution_id])


async def collect(events: AsyncIterator[ExecutionEvent], *, pause_s: float = 0.0) -> list[int]:
    seqs = []
    async for event in events:
        seqs.append(event.seq)
        if pause_s:
            await anyio.sleep(pause_s)
    return seqs


async def test_a_consumer_slower_than_the_poll_interval_gets_every_event() -> None:
    """The old follower yielded inside `move_on_after`: a slow consumer was cancelled."""
    core = Core(poll_s=0.01)
    async with anyio.create_task_group() as tg:
        core.host.bind(tg)
        execution = await core.start(5)
        events = await core.service.events(OWNER, execution.id)
        seqs = await collect(events, pause_s=0.05)  # 5x the poll interval per event
        core.host.bind(None)
    assert seqs == list(range(1, len(seqs) + 1)) and seqs == core.stored(execution.id)
    done = await core.service.get(OWNER, execution.id)
    assert done.status == "completed" and done.output_data == {"n": 1}


async def test_a_dropped_subscriber_catches_up_from_the_log() -> None:
    core = Core(buffer=1)  # one pending batch: any backlog drops the subscriber
    async with anyio.create_task_group() as tg:
        core.host.bind(tg)
        execution = await core.start(50)
        events = await core.service.events(OWNER, execution.id)
        first = await anext(events)
        await anyio.sleep(0.2)  # the run finishes meanwhile; our stream overflowed
        rest = await collect(events)
        core.host.bind(None)
    assert [first.seq, *rest] == core.stored(execution.id)
    assert rest[-1] == max(core.stored(execution.id))


def _event(execution_id: str, seq: int, final: bool = False) -> ExecutionEvent:
    if final:
        from engine.events import RunFinished

        return to_execution_event(
            execution_id, seq, RunFinished(output=None, usage={}, execution_time_ms=0)
        )
    return to_execution_event(
        execution_id, seq, Log(node_id=None, level="info", message=f"line {seq}")
    )


async def test_gaps_and_duplicates_in_the_live_stream_become_one_clean_sequence() -> None:
    """Live batches may repeat what the log replay gave, or skip (a lost batch)."""
    core = Core()
    execution = Execution(owner_id=OWNER, status="running")
    await core.executions.add(execution)
    log = [_event(execution.id, s, final=s == 8) for s in range(1, 9)]
    await core.events.append(log[:3])
    received: list[int] = []

    async def consume() -> None:
        received.extend(await collect(core.follower.follow(execution.id, 0)))

    async with anyio.create_task_group() as tg:
        tg.start_soon(consume)
        while core.broadcaster.subscriber_count(execution.id) == 0:
            await anyio.sleep(0.005)
        await anyio.sleep(0.02)
        core.broadcaster.publish(execution.id, log[1:3])  # duplicates of the replay
        await core.events.append(log[3:])
        core.broadcaster.publish(execution.id, log[5:6])  # a gap: 4 and 5 never came live
        core.broadcaster.publish(execution.id, log[5:])
    assert received == list(range(1, 9))


async def test_nothing_unstored_is_fanned_out_and_retries_keep_the_seqs() -> None:
    """The database fails between runs of the flusher: no subscriber sees those events
    until they are stored, and the stored log is 1..N without a gap or a duplicate."""
    core = Core()
    core.recorder._retry_for_s = 5.0
    seen: list[ExecutionEvent] = []
    core.events.database.faults.fail_next("append", 3)
    async with anyio.create_task_group() as tg:
        core.host.bind(tg)
        execution = await core.start(20)
        with core.broadcaster.subscribe(execution.id) as live:

            async def watch() -> None:
                while True:
                    batch = await live.receive()
                    stored = core.stored(execution.id)
                    # Every event a subscriber gets is already in the log.
                    assert all(e.seq in stored for e in batch)
                    seen.extend(batch)
                    if batch[-1].type == "run_finished":
                        return

            await watch()
        core.host.bind(None)
    stored = core.stored(execution.id)
    assert stored == list(range(1, len(stored) + 1))
    assert [e.seq for e in seen] == stored
    assert core.events.database.append_calls >= 4  # three failures, then the writes


async def test_group_commit_writes_batches_in_order() -> None:
    core = Core()
    core.events.database.latency_s = 0.002  # a database round trip
    async with anyio.create_task_group() as tg:
        core.host.bind(tg)
        execution = await core.start(300)
        seqs = await collect(await core.service.events(OWNER, execution.id))
        core.host.bind(None)
    stored = core.stored(execution.id)
    assert seqs == stored == list(range(1, len(stored) + 1))
    # ~900 events in far fewer writes: the run kept going while each write was in flight.
    assert core.events.database.append_calls < len(stored) / 3


async def test_final_status_is_stored_before_the_terminal_event_goes_out() -> None:
    core = Core()
    statuses: list[str] = []
    async with anyio.create_task_group() as tg:
        core.host.bind(tg)
        execution = await core.start(3)
        with core.broadcaster.subscribe(execution.id) as live:
            while True:
                batch = await live.receive()
                if batch[-1].type == "run_finished":
                    stored = await core.executions.get_any(execution.id)
                    assert stored is not None
                    statuses.append(stored.status)
                    break
        core.host.bind(None)
    assert statuses == ["completed"]


async def test_live_state_is_fresh_between_status_writes() -> None:
    core = Core()
    core.recorder._status_interval_s = 3600  # only the final write happens
    async with anyio.create_task_group() as tg:
        core.host.bind(tg)
        execution = await core.start(2, n=1)
        async with anyio.create_task_group():
            async for event in await core.service.events(OWNER, execution.id):
                if event.type == "node_started" and event.node_id == "t-1":
                    live = await core.service.get(OWNER, execution.id)
                    stored = await core.executions.get_any(execution.id)
                    assert live.current_node == "t-1"
                    assert stored is not None and stored.current_node is None
        core.host.bind(None)


async def test_the_status_never_runs_ahead_of_the_log() -> None:
    """A status that names a node as current is backed by that node's stored start: a
    reader who sees it and then reads the log (or a process resuming after a crash)
    finds the node there."""
    core = Core()
    core.recorder._status_interval_s = 0  # a status write after every batch
    core.events.database.latency_s = 0.002  # batches are in flight while the run goes on
    database = core.events.database
    behind: list[str] = []
    update_progress = core.executions.update_progress

    def started(execution_id: str) -> set[str | None]:
        log = database.logs.get(execution_id, {}).values()
        return {e.node_id for e in log if e.type == "node_started"}

    async def checked(execution_id: str, *, progress: int | None, current_node: str | None) -> None:
        if current_node is not None and current_node not in started(execution_id):
            behind.append(current_node)
        await update_progress(execution_id, progress=progress, current_node=current_node)

    core.executions.update_progress = checked  # type: ignore[method-assign]
    async with anyio.create_task_group() as tg:
        core.host.bind(tg)
        execution = await core.start(60)
        async for event in await core.service.events(OWNER, execution.id):
            live = core.recorder.live_state(execution.id)
            if live is not None and live.current_node is not None:
                assert live.current_node in started(execution.id), event
        core.host.bind(None)
    assert behind == []
    assert (await core.executions.get_any(execution.id)).status == "completed"  # type: ignore[union-attr]


async def _followed_then_run(
    server: Core,
    worker: Core,
    tg: anyio.abc.TaskGroup,
    execution_id: str,
    follow: Callable[[], Coroutine[Any, Any, None]],
) -> None:
    """`follow` subscribes in the server; once it has, the worker runs the execution."""
    tg.start_soon(follow)
    while server.broadcaster.subscriber_count(execution_id) == 0:
        await anyio.sleep(0.005)
    worker.host.bind(tg)
    worker.host.submit(execution_id)


async def test_a_run_in_another_process_is_followed_through_the_relay() -> None:
    """Two "processes" over one database: the worker runs, the server's subscriber follows
    live through the change feed even with log polling far slower than the run."""
    database = InMemoryEventDatabase()
    executions = InMemoryExecutionStore()
    server = Core(database=database, executions=executions, writer="server", poll_s=60)
    worker = Core(database=database, executions=executions, writer="worker")
    received: list[int] = []
    async with anyio.create_task_group() as tg:
        tg.start_soon(server.relay.run_forever)
        execution = await server.start(10)  # not bound: stays pending for the worker

        async def follow() -> None:
            events = await server.service.events(OWNER, execution.id)
            received.extend(await collect(events))

        await _followed_then_run(server, worker, tg, execution.id, follow)
        with anyio.fail_after(10):
            while not received or received[-1] != max(worker.stored(execution.id) or [0]):
                await anyio.sleep(0.01)
            while (await executions.get_any(execution.id)).status != "completed":  # type: ignore[union-attr]
                await anyio.sleep(0.01)
        worker.host.bind(None)
        tg.cancel_scope.cancel()
    assert received == worker.stored(execution.id)
    assert len(server.events.watches) >= 1


class SlowToSettle(InMemoryExecutionStore):
    async def finish(self, execution_id: str, **fields: Any) -> bool:
        await anyio.sleep(0.3)
        return await super().finish(execution_id, **fields)


async def test_a_subscriber_of_a_run_elsewhere_gets_its_end_once_the_run_is_settled() -> None:
    """The log is complete before the final status is written; a subscriber in another
    process that has the terminal event (through the relay) finds the run over."""
    database, executions = InMemoryEventDatabase(), SlowToSettle()
    server = Core(
        database=database, executions=executions, writer="server", poll_s=60, end_grace_s=5
    )
    worker = Core(database=database, executions=executions, writer="worker")
    statuses: list[str] = []
    async with anyio.create_task_group() as tg:
        tg.start_soon(server.relay.run_forever)
        execution = await server.start(3)

        async def follow() -> None:
            async for event in await server.service.events(OWNER, execution.id):
                if event.type == "run_finished":
                    statuses.append((await server.service.get(OWNER, execution.id)).status)

        await _followed_then_run(server, worker, tg, execution.id, follow)
        with anyio.fail_after(10):
            while not statuses:
                await anyio.sleep(0.01)
        worker.host.bind(None)
        tg.cancel_scope.cancel()
    assert statuses == ["completed"]


async def test_a_subscriber_resuming_after_the_end_completes_at_once() -> None:
    """A client that saw the terminal event and subscribes again after its seq (a reconnect
    after a crash) gets nothing and an end at once, not after the grace that a run whose
    terminal event never came is given."""
    database = InMemoryEventDatabase()
    executions = InMemoryExecutionStore()
    worker = Core(database=database, executions=executions, writer="worker")
    server = Core(
        database=database, executions=executions, writer="server", end_grace_s=60, poll_s=60
    )
    async with anyio.create_task_group() as tg:
        worker.host.bind(tg)
        execution = await worker.start(3)
        with anyio.fail_after(10):
            while (await executions.get_any(execution.id)).status != "completed":  # type: ignore[union-attr]
                await anyio.sleep(0.01)
        worker.host.bind(None)
    stored = worker.stored(execution.id)
    with anyio.fail_after(5):  # the grace is 60 s
        after_end = await collect(await server.service.events(OWNER, execution.id, stored[-1]))
        last_only = await collect(await server.service.events(OWNER, execution.id, stored[-2]))
    assert after_end == [] and last_only == [stored[-1]]


async def test_subscribers_of_a_run_elsewhere_share_one_look_at_it() -> None:
    """Thirty subscribers of a run that waits in another process: one look at the run per
    half poll interval serves them all (each used to read the log and the record every
    interval), and when it runs they still get every event once, in order."""
    database = InMemoryEventDatabase()
    executions = InMemoryExecutionStore()
    server = Core(database=database, executions=executions, writer="server", poll_s=0.05)
    worker = Core(database=database, executions=executions, writer="worker")
    calls = {"after": 0, "last_seq": 0, "get_any": 0}

    def counted(store: Any, name: str) -> None:
        real = getattr(store, name)

        async def call(*args: Any, **kwargs: Any) -> Any:
            calls[name] += 1
            return await real(*args, **kwargs)

        setattr(store, name, call)

    for store, name in ((server.events, "after"), (server.events, "last_seq")):
        counted(store, name)
    counted(executions, "get_any")
    subscribers = 30
    received: list[list[int]] = [[] for _ in range(subscribers)]
    async with anyio.create_task_group() as tg:
        execution = await server.start(20)  # not bound: it waits for the worker

        async def follow(index: int) -> None:
            events = await server.service.events(OWNER, execution.id)
            received[index].extend(await collect(events))

        for index in range(subscribers):
            tg.start_soon(follow, index)
        while server.broadcaster.subscriber_count(execution.id) < subscribers:
            await anyio.sleep(0.005)
        before = dict(calls)
        await anyio.sleep(0.5)  # ten poll intervals of quiet: what do they cost?
        quiet = {name: calls[name] - before[name] for name in calls}
        worker.host.bind(tg)
        worker.host.submit(execution.id)
        with anyio.fail_after(10):
            while any(len(r) < len(worker.stored(execution.id)) or not r for r in received):
                await anyio.sleep(0.01)
        worker.host.bind(None)
        tg.cancel_scope.cancel()
    stored = worker.stored(execution.id)
    assert all(r == stored for r in received)
    # Ten intervals, two looks each at most, two queries a look; nobody read the log.
    # (Each subscriber on its own: 30 x 10 x (1 log read + 1 record read) = 600.)
    assert quiet["after"] == 0, quiet
    assert quiet["get_any"] <= 22 and quiet["last_seq"] <= 22, quiet


async def test_the_relay_reopens_after_an_error_and_resumes_after_its_token() -> None:
    database = InMemoryEventDatabase()
    executions = InMemoryExecutionStore()
    server = Core(database=database, executions=executions, writer="server", poll_s=60)
    worker = Core(database=database, executions=executions, writer="worker")
    database.faults.fail_next("watch_next", 2)  # the change stream breaks twice
    received: list[int] = []
    async with anyio.create_task_group() as tg:
        tg.start_soon(server.relay.run_forever)
        execution = await server.start(10)

        async def follow() -> None:
            received.extend(await collect(await server.service.events(OWNER, execution.id)))

        await _followed_then_run(server, worker, tg, execution.id, follow)
        with anyio.fail_after(10):
            while not received or received[-1] != max(worker.stored(execution.id) or [0]):
                await anyio.sleep(0.01)
        worker.host.bind(None)
        tg.cancel_scope.cancel()
    assert received == worker.stored(execution.id)
    assert server.relay.failures == 2 and len(server.events.watches) >= 3


async def test_cancel_of_a_pending_run_closes_its_log() -> None:
    core = Core()
    execution = await core.start(3)  # no host bound: it stays pending
    cancelled = await core.service.cancel(OWNER, execution.id)
    assert cancelled.status == "cancelled"
    events = await collect(await core.service.events(OWNER, execution.id))
    assert events == [1]
    assert core.events.database.logs[execution.id][1].type == "run_cancelled"


async def test_recovery_resumes_a_dead_run_and_closes_its_log_once() -> None:
    core = Core()
    execution = await core.start(3)
    await core.executions.claim(execution.id, worker="dead", lease_s=-1)  # lapsed at once
    async with anyio.create_task_group() as tg:
        core.host.bind(tg)
        resumed = await core.host.recover()
        again = await core.host.recover()
        assert resumed == [execution.id] and again == []
        events = await collect(await core.service.events(OWNER, execution.id))
        core.host.bind(None)
    log = core.events.database.logs[execution.id]
    assert events == sorted(log) == list(range(1, len(log) + 1))
    types = [e.type for e in log.values()]
    # It died before writing anything: started anew, and the take-over says so.
    assert types[:2] == ["run_started", "run_resumed"] and types[-1] == "run_finished"
    assert log[2].data["previous_owner"] == "dead" and log[2].data["takeovers"] == 1
    done = await core.service.get(OWNER, execution.id)
    assert done.status == "completed" and done.takeovers == 1
    # A log has one end: closing it again adds nothing.
    assert not await core.host.cancel_unheld(execution.id)
    assert len(core.events.database.logs[execution.id]) == len(log)


async def test_a_run_taken_over_too_often_fails_saying_why() -> None:
    core = Core()
    core.host.max_resumes = 1
    execution = await core.start(3)
    for dead in ("dead-1", "dead-2"):  # two crashes: the second take-over is one too many
        await core.executions.claim(execution.id, worker=dead, lease_s=-1)
        taken = await core.executions.take_over(worker=dead + "x", lease_s=-1)
        assert taken is not None and taken.reason == "lease_lapsed"
        core.executions.executions[execution.id].status = "pending"
    await core.executions.claim(execution.id, worker="dead-3", lease_s=-1)
    async with anyio.create_task_group() as tg:
        core.host.bind(tg)
        assert await core.host.recover() == [execution.id]
        events = await collect(await core.service.events(OWNER, execution.id))
        core.host.bind(None)
    done = await core.service.get(OWNER, execution.id)
    assert done.status == "failed" and "AGENTLOOM_MAX_RESUMES=1" in (done.error or "")
    log = core.events.database.logs[execution.id]
    assert events == [1] and log[1].type == "run_failed"
    assert log[1].data["error_type"] == "ResumeLimitExceeded"


async def test_a_run_given_up_frees_its_slot_for_the_owners_next_queued_run() -> None:
    """Under a per-user limit, a run failed for too many take-overs starts the owner's
    next queued run here at once, as any other end does (not a sweep later)."""
    core = Core()
    core.host.max_resumes = 0
    core.host.admission.limit = 1
    crashed = await core.start(3)
    await core.executions.claim(crashed.id, worker="dead-1", lease_s=-1)
    queued = await core.start(2)  # pending: no process is sweeping
    async with anyio.create_task_group() as tg:
        core.host.bind(tg)
        assert await core.host.recover() == [crashed.id]
        with anyio.fail_after(5):
            await collect(await core.service.events(OWNER, queued.id))
        core.host.bind(None)
    assert (await core.service.get(OWNER, crashed.id)).status == "failed"
    assert (await core.service.get(OWNER, queued.id)).status == "completed"


class Killed(BaseException):
    """The process died (SIGKILL): nothing after this point of it runs."""


class Mortal:
    """One process that dies right after the first of a run's two ending writes (its
    final status, the terminal event), whichever order they come in: once dead, every
    write of it fails."""

    dead = False

    def check(self) -> None:
        if self.dead:
            raise Killed

    def die(self) -> NoReturn:
        self.dead = True
        raise Killed


class MortalEvents(InMemoryEventStore):
    def __init__(self, database: InMemoryEventDatabase, *, writer: str, process: Mortal) -> None:
        super().__init__(database, writer=writer)
        self._process = process

    async def append(self, events: Sequence[ExecutionEvent], *, exclusive: bool = False) -> None:
        self._process.check()
        await super().append(events, exclusive=exclusive)
        if events and events[-1].type in TERMINAL_EVENT_TYPES:
            self._process.die()


class MortalExecutions:
    """This process's view of the execution store the processes share."""

    def __init__(self, shared: InMemoryExecutionStore, process: Mortal) -> None:
        self._shared = shared
        self._process = process

    def __getattr__(self, name: str) -> Any:
        self._process.check()
        return getattr(self._shared, name)

    async def finish(self, execution_id: str, **fields: Any) -> bool:
        self._process.check()
        await self._shared.finish(execution_id, **fields)
        self._process.die()


async def _run_until_killed(core: Core, execution_id: str) -> None:
    try:
        async with anyio.create_task_group() as tg:
            core.host.bind(tg)
            core.host.submit(execution_id)
            await anyio.sleep_forever()
    except BaseException as error:  # a task group wraps the kill
        if not isinstance(error, Killed) and not (
            isinstance(error, BaseExceptionGroup) and error.subgroup(Killed) is not None
        ):
            raise


def _dying_core(shared: InMemoryExecutionStore, database: InMemoryEventDatabase) -> Core:
    core = Core(database=database, executions=shared, writer="dies")
    process = Mortal()
    core.events = MortalEvents(database, writer="dies", process=process)
    executions = MortalExecutions(shared, process)
    for part in (core.recorder, core.host, core.service, core.follower, core.relay):
        part._events = core.events
        if hasattr(part, "_executions"):
            part._executions = cast(Any, executions)
    return core


async def _recovered_elsewhere(
    shared: InMemoryExecutionStore, database: InMemoryEventDatabase, execution_id: str
) -> tuple[Core, list[int]]:
    """The dead process's lease lapses; another process recovers the run and follows it."""
    shared._leases[execution_id] = ("dies", utcnow() - timedelta(seconds=1))
    survivor = Core(database=database, executions=shared, writer="survivor")
    async with anyio.create_task_group() as tg:
        survivor.host.bind(tg)
        with anyio.fail_after(10):
            await survivor.host.recover()
            events = await collect(await survivor.service.events(OWNER, execution_id))
        survivor.host.bind(None)
    return survivor, events


async def test_a_process_killed_between_a_runs_two_ending_writes_leaves_it_settled() -> None:
    """SIGKILL between the final status and the terminal event: the run must not be left
    `completed` with a log that never ends (no process would ever close it, and every
    subscriber would end without the end). The log is written first; the next process
    finds the end in the log when the lease lapses and settles the status from it."""
    shared, database = InMemoryExecutionStore(), InMemoryEventDatabase()
    dying = _dying_core(shared, database)
    execution = await dying.start(3, n=7)
    with anyio.fail_after(10):
        await _run_until_killed(dying, execution.id)
    survivor, events = await _recovered_elsewhere(shared, database, execution.id)
    log = database.logs[execution.id]
    types = [event.type for event in log.values()]
    assert events == sorted(log) and types[-1] == "run_finished"
    assert types.count("run_finished") == 1
    done = await survivor.service.get(OWNER, execution.id)
    assert done.status == "completed"
    assert done.output_data == log[max(log)].data["output"]


async def test_a_cancel_killed_between_its_two_writes_is_settled_from_the_log() -> None:
    shared, database = InMemoryExecutionStore(), InMemoryEventDatabase()
    dying = _dying_core(shared, database)
    execution = await dying.start(3)  # no host bound: it stays pending
    with anyio.fail_after(10), pytest.raises(Killed):
        await dying.service.cancel(OWNER, execution.id)
    record = await shared.get_any(execution.id)
    assert record is not None and record.status not in ("cancelled", "completed")
    survivor, events = await _recovered_elsewhere(shared, database, execution.id)
    log = database.logs[execution.id]
    assert events == [1] and log[1].type == "run_cancelled"
    done = await survivor.service.get(OWNER, execution.id)
    assert done.status == "cancelled"
