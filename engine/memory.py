"""In-memory implementations of the ports, for tests, benches and embedding."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from engine.events import ExecutionEvent
from engine.ports import ProviderConfig


@dataclass(kw_only=True)
class InMemoryEventSink:
    """Keeps every published event in a list."""

    events: list[ExecutionEvent] = field(default_factory=list)

    async def publish(self, event: ExecutionEvent) -> None:
        self.events.append(event)

    def of_type(self, event_type: str) -> list[ExecutionEvent]:
        return [event for event in self.events if event.type == event_type]

    @property
    def types(self) -> list[str]:
        return [event.type for event in self.events]


class QueueHumanInputBroker:
    """Answers human nodes from a queue: `await broker.answer(...)` or pre-seeded answers.

    A waiting node blocks until an answer for its `(execution_id, node_id)`
    arrives; `requests` records every prompt asked.
    """

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, str]] = []
        self._asked: dict[str, tuple[str, str]] = {}
        self._streams: dict[
            tuple[str, str], tuple[MemoryObjectSendStream[str], MemoryObjectReceiveStream[str]]
        ] = {}

    def _stream(
        self, key: tuple[str, str]
    ) -> tuple[MemoryObjectSendStream[str], MemoryObjectReceiveStream[str]]:
        if key not in self._streams:
            self._streams[key] = anyio.create_memory_object_stream[str](16)
        return self._streams[key]

    def answer_nowait(self, *, execution_id: str, node_id: str, response: str) -> None:
        """Queue an answer (before or while the node waits)."""
        self._stream((execution_id, node_id))[0].send_nowait(response)

    async def ask(self, *, execution_id: str, node_id: str, prompt: str, key: str = "") -> str:
        self.requests.append((execution_id, node_id, prompt))
        request_id = f"{len(self.requests)}"
        self._asked[request_id] = (execution_id, node_id)
        return request_id

    async def answer_to(self, request_id: str) -> str:
        return await self._stream(self._asked[request_id])[1].receive()

    def close(self) -> None:
        for send, receive in self._streams.values():
            send.close()
            receive.close()


@dataclass(kw_only=True)
class StaticCredentialResolver:
    """Resolves from a dict keyed by `(owner_id, provider)`."""

    credentials: dict[tuple[str, str], ProviderConfig] = field(default_factory=dict)

    async def resolve(self, *, owner_id: str, provider: str) -> ProviderConfig | None:
        return self.credentials.get((owner_id, provider))


@dataclass(kw_only=True)
class CallableDataSourceQuerier:
    """Answers data source queries with a plain function (tests)."""

    handler: Callable[[str, str, str], dict[str, Any]]
    calls: list[tuple[str, str, str]] = field(default_factory=list)
    params: list[Mapping[str, Any] | None] = field(default_factory=list)
    """The bound placeholder values of each call, in call order."""

    async def query(
        self,
        *,
        owner_id: str,
        data_source_id: str,
        query: str,
        params: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        self.calls.append((owner_id, data_source_id, query))
        self.params.append(params)
        return self.handler(owner_id, data_source_id, query)
