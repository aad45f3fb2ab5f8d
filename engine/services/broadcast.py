"""In-process fan-out of run events to live subscribers.

Each subscriber gets its own bounded memory stream (an anyio stream hands an
item to one receiver only). A subscriber that falls behind is not waited for:
its stream is closed and it catches up from the persisted log, so a slow
client never slows the run and never loses an event.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from engine.events import ExecutionEvent

BUFFER = 1024


class Broadcaster:
    def __init__(self) -> None:
        self._subscribers: dict[str, set[MemoryObjectSendStream[ExecutionEvent]]] = defaultdict(set)

    def publish(self, event: ExecutionEvent) -> None:
        subscribers = self._subscribers.get(event.execution_id)
        if not subscribers:
            return
        for stream in list(subscribers):
            try:
                stream.send_nowait(event)
            except anyio.WouldBlock:
                stream.close()  # too slow: it will re-read the log
                subscribers.discard(stream)
            except (anyio.BrokenResourceError, anyio.ClosedResourceError):
                subscribers.discard(stream)

    @contextmanager
    def subscribe(self, execution_id: str) -> Iterator[MemoryObjectReceiveStream[ExecutionEvent]]:
        send, receive = anyio.create_memory_object_stream[ExecutionEvent](BUFFER)
        self._subscribers[execution_id].add(send)
        try:
            yield receive
        finally:
            subscribers = self._subscribers.get(execution_id)
            if subscribers is not None:
                subscribers.discard(send)
                if not subscribers:
                    del self._subscribers[execution_id]
            send.close()
            receive.close()

    def subscriber_count(self, execution_id: str) -> int:
        return len(self._subscribers.get(execution_id, ()))
