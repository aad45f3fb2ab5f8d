"""Ports: the interfaces the engine needs from the outside, as Protocols.

`storage` implements them over MongoDB; tests may implement them in memory
(`engine.memory`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from engine.events import ExecutionEvent


@dataclass(frozen=True, kw_only=True)
class ProviderConfig:
    """How to reach one LLM provider: an owner's stored credential or the env."""

    provider: str
    api_key: str | None = None
    base_url: str | None = None
    api_version: str | None = None
    """Azure OpenAI only."""
    user_supplied: bool = False
    """True when it came from a user's credential: its base URL is then guarded."""


class EventSink(Protocol):
    """Receives every event of a run, in `seq` order, before the run continues."""

    async def publish(self, event: ExecutionEvent) -> None: ...


class HumanInputBroker(Protocol):
    """Delivers a person's answer to a waiting `human` node, in two steps: the request is
    stored, then the node waits for its answer (a run may leave its process only in the
    second: a run gone before its request was stored could never be answered)."""

    async def ask(self, *, execution_id: str, node_id: str, prompt: str, key: str = "") -> str:
        """Store the request of that node execution (`key`: its loop iteration path), or find
        the one stored before; its id."""
        ...

    async def answer_to(self, request_id: str) -> str:
        """Wait for the answer to that request (at once when it was given meanwhile)."""
        ...


class CredentialResolver(Protocol):
    """Looks up an owner's stored provider credential (decrypted)."""

    async def resolve(self, *, owner_id: str, provider: str) -> ProviderConfig | None: ...


class DataSourceQuerier(Protocol):
    """Runs a query against one of the owner's data sources."""

    async def query(
        self,
        *,
        owner_id: str,
        data_source_id: str,
        query: str,
        params: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """`params` (placeholder path -> value) are bound by the connector, never spliced."""
        ...
