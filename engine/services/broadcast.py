"""In-process fan-out of run events to live subscribers.

Events travel in batches: the recorder publishes each group commit once, after
it is stored. Each subscriber gets its own bounded memory stream (an anyio
stream hands an item to one receiver only). A subscriber that falls behind is
not waited for: its stream is closed and it catches up from the persisted log,
so a slow client never slows the run and never loses an event.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from engine.events import ExecutionEvent

BUFFER = 256
"""Batches a subscriber may hold before it is dropped (and re-reads the log)."""

Batch = Sequence[ExecutionEvent]


class Subscription:
    """One subscriber's stream of batches; `close()` (or leaving a `with`) unsubscribes."""

    def __init__(
        self,
        owner: Broadcaster,
        execution_id: str,
        send: MemoryObjectSendStream[Batch],
        receive: MemoryObjectReceiveStream[Batch],
    ) -> None:
        self._owner = owner
        self.execution_id = execution_id
        self._send = send
        self._receive = receive

    async def receive(self) -> Batch:
        """The next batch; `anyio.EndOfStream` once dropped for being slow."""
        return await self._receive.receive()

    def receive_nowait(self) -> Batch:
        """A batch already waiting; `anyio.WouldBlock` when there is none."""
        return self._receive.receive_nowait()

    def close(self) -> None:
        self._owner._remove(self.execution_id, self._send)
        self._send.close()
        self._receive.close()

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Broadcaster:
    def __init__(self, *, buffer: int = BUFFER) -> None:
        self._buffer = buffer
        self._subscribers: dict[str, set[MemoryObjectSendStream[Batch]]] = defaultdict(set)

    def publish(self, execution_id: str, batch: Batch) -> None:
        """Hand `batch` (stored events of one run, in seq order) to every subscriber."""
        subscribers = self._subscribers.get(execution_id)
        if not subscribers or not batch:
            return
        for stream in list(subscribers):
            try:
                stream.send_nowait(batch)
            except anyio.WouldBlock:
                stream.close()  # too slow: it will re-read the log
                subscribers.discard(stream)
            except (anyio.BrokenResourceError, anyio.ClosedResourceError):
                subscribers.discard(stream)

    def subscribe(self, execution_id: str) -> Subscription:
        """Batches published from now on; the stream ends if the subscriber lags."""
        send, receive = anyio.create_memory_object_stream[Batch](self._buffer)
        self._subscribers[execution_id].add(send)
        return Subscription(self, execution_id, send, receive)

    def _remove(self, execution_id: str, send: MemoryObjectSendStream[Batch]) -> None:
        subscribers = self._subscribers.get(execution_id)
        if subscribers is not None:
            subscribers.discard(send)
            if not subscribers:
                del self._subscribers[execution_id]

    def release(self, execution_id: str) -> None:
        """End every subscriber's stream of this run (after what they have pending): the
        run is no longer published here, so they go back to the log."""
        for stream in self._subscribers.pop(execution_id, set()):
            stream.close()

    def subscriber_count(self, execution_id: str) -> int:
        return len(self._subscribers.get(execution_id, ()))

    def watched(self) -> frozenset[str]:
        """The executions somebody in this process is following."""
        return frozenset(self._subscribers)
