"""In-process fan-out of ingest events to live followers, by file id.

Each subscriber gets its own bounded memory stream (an anyio stream hands
each item to one receiver only). Publishing never waits: a subscriber whose
buffer is full is closed instead, and catches up from the event store, where
every event was written before it was published.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from engine.knowledge.records import IngestEvent


class IngestEventHub:
    """`publish` events; `subscribe(file_id)` to receive those of one file."""

    def __init__(self, *, buffer: int = 256) -> None:
        self._buffer = buffer
        self._subscribers: dict[str, set[MemoryObjectSendStream[IngestEvent]]] = {}

    def publish(self, event: IngestEvent) -> None:
        for send in list(self._subscribers.get(event.file_id, ())):
            try:
                send.send_nowait(event)
            except anyio.WouldBlock:
                # Too slow: end its stream; the follower re-reads the store.
                self._drop(event.file_id, send)
            except (anyio.BrokenResourceError, anyio.ClosedResourceError):
                self._drop(event.file_id, send)

    def _drop(self, file_id: str, send: MemoryObjectSendStream[IngestEvent]) -> None:
        send.close()
        subscribers = self._subscribers.get(file_id)
        if subscribers is not None:
            subscribers.discard(send)
            if not subscribers:
                del self._subscribers[file_id]

    @contextmanager
    def subscribe(self, file_id: str) -> Iterator[MemoryObjectReceiveStream[IngestEvent]]:
        """A stream of the file's events published while the block runs."""
        send, receive = anyio.create_memory_object_stream[IngestEvent](self._buffer)
        self._subscribers.setdefault(file_id, set()).add(send)
        try:
            yield receive
        finally:
            self._drop(file_id, send)
            receive.close()
