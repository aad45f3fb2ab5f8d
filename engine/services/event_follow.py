"""Following a run's event log: replay from any seq, then the live events, once each.

`follow()` subscribes to the in-process broadcaster first and reads the log
second, so nothing can fall between the two; then it takes live batches,
dropping what it has already yielded and going back to the log on any gap or
when it was dropped for being slow. A run recorded by another process has no
in-process publisher of its own: the change-stream relay publishes its events
here, and a quiet subscription re-reads the log every `poll_s` in case the
relay missed something. The stream ends after the run's terminal event.

Those re-reads are shared: one probe of a run (its record and its log's last seq) per
half poll interval serves every subscriber of it in this process, and a subscriber reads
the log itself only when the probe shows events it has not had. A thousand people
watching a run that waits for an answer cost the database two queries a second, not two
thousand.

Never `yield` inside a cancel scope in an async generator: the scope would
stay active while the consumer runs, and a consumer slower than the timeout
would be cancelled by the generator's deadline. Every wait here happens in a
helper that leaves its scope before the generator yields.
"""

from __future__ import annotations

import enum
from collections import OrderedDict
from collections.abc import AsyncGenerator, Callable, Sequence
from dataclasses import dataclass, field

import anyio

from engine.events import TERMINAL_EVENT_TYPES, ExecutionEvent
from engine.services.broadcast import Broadcaster, Subscription
from engine.services.records import TERMINAL_STATUSES, Execution
from engine.services.stores import EventStore, ExecutionStore

PAGE = 500
END_GRACE_S = 5.0
"""How long a subscriber that has the terminal event waits for the run's final status.

A run's log is complete before its status says it is over (`run_recorder`), so the
end can be read from the log (or the change stream) a moment before the status; a
subscriber told the run ended should find it over. After a crash between the two
writes the status waits for the lease to lapse: the end is delivered after the grace."""
SETTLED_KEPT = 4096
"""Runs remembered as settled, so their other subscribers do not look again."""


class _Wake(enum.Enum):
    QUIET = "quiet"
    """Nothing arrived within the poll interval."""
    DROPPED = "dropped"
    """The broadcaster closed our stream: we were too slow."""


PROBES_KEPT = 4096
"""Runs whose latest probe is remembered (a few per followed run of another process)."""


@dataclass(eq=False)
class _Probe:
    """What one look at a run found, shared by its subscribers while it is fresh."""

    at: float
    done: anyio.Event = field(default_factory=anyio.Event)
    execution: Execution | None = None
    last_seq: int = 0
    failed: BaseException | None = None


class EventFollower:
    def __init__(
        self,
        *,
        events: EventStore,
        executions: ExecutionStore,
        broadcaster: Broadcaster,
        is_local: Callable[[str], bool],
        on_remote: Callable[[str], None] | None = None,
        poll_s: float = 1.0,
        page: int = PAGE,
        end_grace_s: float = END_GRACE_S,
    ) -> None:
        self._events = events
        self._executions = executions
        self._broadcaster = broadcaster
        self._is_local = is_local
        self._on_remote = on_remote
        """Told when a subscriber follows a run another process records (starts the relay)."""
        self._poll_s = poll_s
        self._page = page
        self._end_grace_s = end_grace_s
        self._probes: OrderedDict[str, _Probe] = OrderedDict()
        self._settled: OrderedDict[str, None] = OrderedDict()

    async def follow(
        self, execution_id: str, after_seq: int = 0
    ) -> AsyncGenerator[ExecutionEvent, None]:
        """Every event after `after_seq`, then the live ones, ending after the terminal one."""
        batches = self.follow_batches(execution_id, after_seq)
        try:
            async for batch in batches:
                for event in batch:
                    yield event
        finally:
            await batches.aclose()

    async def follow_batches(
        self, execution_id: str, after_seq: int = 0
    ) -> AsyncGenerator[Sequence[ExecutionEvent], None]:
        """`follow()` in batches: each is contiguous and follows the previous one.

        A subscriber that keeps up gets the recorder's own batches (the very objects every
        other subscriber gets, so their encodings can be shared); one that fell behind gets
        everything pending at once, so the messages it is sent shrink in number as load
        grows and its delay stays about one round over the subscribers.
        """
        last = after_seq
        read_log = True
        subscription = self._broadcaster.subscribe(execution_id)
        if self._on_remote is not None and not self._is_local(execution_id):
            self._on_remote(execution_id)
        try:
            while True:
                if read_log:
                    read_log = False
                    while True:
                        page = await self._events.after(execution_id, last, limit=self._page)
                        if page:
                            batch, ended = _through_terminal(page)
                            if ended:
                                await self._until_settled(execution_id)
                            yield batch
                            last = batch[-1].seq
                            if ended:
                                return
                        if len(page) < self._page:
                            break
                    if await self._ended_without_log(execution_id, last):
                        return
                received = await self._next(subscription)
                if received is _Wake.DROPPED:
                    subscription.close()
                    subscription = self._broadcaster.subscribe(execution_id)
                    read_log = True
                    continue
                if received is _Wake.QUIET:
                    # A run of this process publishes everything it stores: silence is
                    # just silence. Any other run may have moved on without us hearing:
                    # one shared look says whether it did.
                    if self._is_local(execution_id):
                        continue
                    probe = await self._probe(execution_id)
                    if probe.last_seq > last:
                        read_log = True
                    elif self._ended(probe.execution, probe.last_seq, last):
                        return
                    continue
                batch, complete = _continuation(received, last)
                if not complete:
                    read_log = True  # a gap: the log has what we missed
                if batch:
                    batch, ended = _through_terminal(batch)
                    if ended and not self._is_local(execution_id):
                        # Relayed from the change stream: stored, but maybe not settled.
                        # (A run of ours publishes its end only once its status is.)
                        await self._until_settled(execution_id)
                    yield batch
                    last = batch[-1].seq
                    if ended:
                        return
        finally:
            subscription.close()

    async def _next(self, live: Subscription) -> list[Sequence[ExecutionEvent]] | _Wake:
        """The next batch and whatever else is already waiting behind it."""
        first = await self._first(live)
        if isinstance(first, _Wake):
            return first
        batches = [first]
        while True:
            try:
                batches.append(live.receive_nowait())
            except (anyio.WouldBlock, anyio.EndOfStream):
                # Dropped meanwhile: the next receive says so, after these are used.
                return batches

    async def _first(self, live: Subscription) -> Sequence[ExecutionEvent] | _Wake:
        if self._is_local(live.execution_id):
            # Ours: everything stored is published here, and when the run leaves this
            # process the broadcaster ends our stream. No deadline to arm and disarm on
            # every wake-up of every subscriber.
            try:
                return await live.receive()
            except anyio.EndOfStream:
                return _Wake.DROPPED
        with anyio.move_on_after(self._poll_s):
            try:
                return await live.receive()
            except anyio.EndOfStream:
                return _Wake.DROPPED
        return _Wake.QUIET

    async def _ended_without_log(self, execution_id: str, last: int) -> bool:
        """A run that is over but whose log has no terminal event after `last`: a client
        resuming after the end it saw, or a log an older version left without its end."""
        if self._is_local(execution_id):
            return False
        execution = await self._executions.get_any(execution_id)
        last_seq = await self._events.last_seq(execution_id)
        return self._ended(execution, last_seq, last)

    @staticmethod
    def _ended(execution: Execution | None, last_seq: int, last: int) -> bool:
        """Whether nothing more will come after `last` (`last_seq` read after the record:
        a status that says over covers every event the log has by then)."""
        if execution is None:
            return True
        return execution.status in TERMINAL_STATUSES and last_seq <= last

    async def _until_settled(self, execution_id: str) -> None:
        """Wait, at most the grace, until the run's status says it is over."""
        if execution_id in self._settled:
            return
        with anyio.move_on_after(self._end_grace_s):
            while True:
                execution = await self._executions.get_any(execution_id)
                if execution is None or execution.status in TERMINAL_STATUSES:
                    # Remembered only once seen settled: after a crash between the two
                    # writes, each subscriber gives the status its grace.
                    self._settled[execution_id] = None
                    while len(self._settled) > SETTLED_KEPT:
                        self._settled.popitem(last=False)
                    return
                await anyio.sleep(0.01)

    async def _probe(self, execution_id: str) -> _Probe:
        """The run's record and its log's last seq, looked at once per half poll interval
        for all its subscribers here (a look in flight is waited for, not repeated)."""
        now = anyio.current_time()
        probe = self._probes.get(execution_id)
        if probe is None or (probe.done.is_set() and now - probe.at > self._poll_s / 2):
            probe = _Probe(at=now)
            self._probes[execution_id] = probe
            self._probes.move_to_end(execution_id)
            while len(self._probes) > PROBES_KEPT:
                self._probes.popitem(last=False)
            try:
                # The record first: a status read before the log's end cannot claim an end
                # the log has not caught up with (`_ended`).
                probe.execution = await self._executions.get_any(execution_id)
                probe.last_seq = await self._events.last_seq(execution_id)
            except BaseException as exc:
                probe.failed = exc
                if self._probes.get(execution_id) is probe:
                    del self._probes[execution_id]  # the next subscriber looks again
                raise
            finally:
                probe.done.set()
        else:
            await probe.done.wait()
            if probe.failed is not None:
                return await self._probe(execution_id)  # its looker failed: look ourselves
        return probe


def _continuation(
    batches: list[Sequence[ExecutionEvent]], last: int
) -> tuple[Sequence[ExecutionEvent], bool]:
    """The events that continue the stream after `last`, and whether nothing was missing.

    When one batch continues the stream exactly, that very batch object is returned.
    """
    if len(batches) == 1 and batches[0] and batches[0][0].seq == last + 1:
        batch = batches[0]
        if batch[-1].seq == last + len(batch):
            return batch, True
    out: list[ExecutionEvent] = []
    for batch in batches:
        for event in batch:
            if event.seq <= last:
                continue  # already had it (from the log, or an overlapping batch)
            if event.seq != last + 1:
                return tuple(out), False
            out.append(event)
            last = event.seq
    return tuple(out), True


def _through_terminal(batch: Sequence[ExecutionEvent]) -> tuple[Sequence[ExecutionEvent], bool]:
    """The batch up to and including a terminal event, and whether it had one."""
    for index, event in enumerate(batch):
        if event.type in TERMINAL_EVENT_TYPES:
            return (batch if index == len(batch) - 1 else batch[: index + 1]), True
    return batch, False
