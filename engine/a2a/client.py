"""Sending one message to an A2A agent with the `a2a-sdk` client, and reading its reply.

The agent's card is found first (`engine.a2a.cards`, per `format`); the SDK
picks the transport the card offers (JSON-RPC or HTTP+JSON, A2A 1.0 or the
0.3 compatibility layer). When the card says the agent streams, the reply is
read as a stream and each piece is reported through the callbacks as it
arrives: `on_text` gets artifact and message text, `on_status` a task's
state changes. Every request goes through the outbound guard, including the
endpoint the card names (a card cannot point us at an internal address).

Reply text: the text parts of one artifact (or message) are concatenated as
they come (streamed chunks of one text); separate artifacts and messages are
joined with a newline. A task that ends `failed`, `rejected` or `canceled`
is `A2aFailed` with the agent's status message.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import anyio
import httpx
from a2a.client import A2AClientError, ClientConfig, ClientFactory
from a2a.client.card_resolver import parse_agent_card
from a2a.types.a2a_pb2 import Message, Part, Role, SendMessageRequest, StreamResponse, TaskState
from a2a.utils.constants import TransportProtocol
from a2a.utils.errors import A2AError
from google.protobuf.json_format import MessageToDict, ParseError

from engine.a2a.cards import DEFAULT_SEND_TIMEOUT_S, A2aFormat, FoundCard, find_agent_card
from engine.errors import UpstreamFailed
from engine.http_body import MIB
from engine.outbound import OutboundGuard, guarded_http_client

MAX_RESPONSE_BYTES = 8 * MIB
FAILED_STATES = frozenset({"failed", "rejected", "canceled"})

TextCallback = Callable[[str], Awaitable[None]]
StatusCallback = Callable[[str, str], Awaitable[None]]
"""`(state, status message text)`."""


class A2aFailed(UpstreamFailed):
    """The agent could not be asked, or its task ended in failure."""


@dataclass(kw_only=True)
class A2aReply:
    """What the agent answered."""

    text: str
    parts: list[dict[str, Any]] = field(default_factory=list)
    """Every part of the reply (artifacts, then messages), as A2A JSON (`{"text": ...}`...)."""
    state: str = "completed"
    """The task's last state (`completed`, `input-required`...), or `message` for a
    direct message reply."""
    task_id: str | None = None
    context_id: str | None = None
    agent_name: str = ""


def state_name(state: int) -> str:
    """`TASK_STATE_INPUT_REQUIRED` -> `input-required`."""
    name = TaskState.Name(state) if state in TaskState.values() else "TASK_STATE_UNSPECIFIED"
    return name.removeprefix("TASK_STATE_").lower().replace("_", "-")


def _part_text(parts: Any) -> str:
    return "".join(part.text for part in parts if part.HasField("text"))


@dataclass(kw_only=True)
class _Collector:
    """Builds the reply from the stream of responses (or the single one)."""

    on_text: TextCallback | None
    on_status: StatusCallback | None
    artifacts: dict[str, list[Part]] = field(default_factory=dict)
    messages: list[list[Part]] = field(default_factory=list)
    state: str = "message"
    status_text: str = ""
    task_id: str | None = None
    context_id: str | None = None

    async def _text(self, text: str) -> None:
        if text and self.on_text is not None:
            await self.on_text(text)

    async def _status(self, status: Any) -> None:
        self.state = state_name(status.state)
        self.status_text = _part_text(status.message.parts) if status.HasField("message") else ""
        if self.on_status is not None:
            await self.on_status(self.state, self.status_text)

    async def take(self, event: StreamResponse) -> None:
        kind = event.WhichOneof("payload")
        if kind == "message":
            self.messages.append(list(event.message.parts))
            await self._text(_part_text(event.message.parts))
        elif kind == "task":
            task = event.task
            self.task_id, self.context_id = task.id, task.context_id
            for artifact in task.artifacts:
                # A task snapshot carries whole artifacts: report only what is new.
                known = _part_text(self.artifacts.get(artifact.artifact_id, []))
                self.artifacts[artifact.artifact_id] = list(artifact.parts)
                fresh = _part_text(artifact.parts)
                await self._text(fresh[len(known) :] if fresh.startswith(known) else fresh)
            await self._status(task.status)
        elif kind == "status_update":
            self.task_id = event.status_update.task_id or self.task_id
            await self._status(event.status_update.status)
        elif kind == "artifact_update":
            update = event.artifact_update
            artifact = update.artifact
            previous = self.artifacts.get(artifact.artifact_id, []) if update.append else []
            self.artifacts[artifact.artifact_id] = [*previous, *artifact.parts]
            await self._text(_part_text(artifact.parts))

    def reply(self, agent_name: str) -> A2aReply:
        groups = [*self.artifacts.values(), *self.messages]
        texts = [text for text in (_part_text(parts) for parts in groups) if text]
        if not texts and self.status_text:
            texts = [self.status_text]
        return A2aReply(
            text="\n".join(texts),
            parts=[MessageToDict(part) for parts in groups for part in parts],
            state=self.state,
            task_id=self.task_id,
            context_id=self.context_id,
            agent_name=agent_name,
        )


async def send_message(
    url: str,
    message: str,
    fmt: A2aFormat = "auto",
    *,
    guard: OutboundGuard,
    timeout_s: float = DEFAULT_SEND_TIMEOUT_S,
    card: FoundCard | None = None,
    on_text: TextCallback | None = None,
    on_status: StatusCallback | None = None,
    field: str = "url",
) -> A2aReply:
    """Send `message` as a user text message and return the agent's reply.

    `OutboundRefused` for a URL the guard refuses; `AgentCardNotFound` when no
    card is found; `A2aFailed` when the exchange fails, times out (`timeout_s`
    for the whole exchange) or the task ends in failure.
    """
    found = card or await find_agent_card(
        url, fmt, guard=guard, timeout_s=min(timeout_s, 30.0), field=field
    )
    try:
        agent_card = parse_agent_card(dict(found.card))
    except ParseError as exc:
        raise A2aFailed(f"the agent card at {found.url} is not valid: {exc}") from exc
    if not agent_card.supported_interfaces:
        raise A2aFailed(f"the agent card at {found.url} names no endpoint (url)")
    collector = _Collector(on_text=on_text, on_status=on_status)
    request = SendMessageRequest(
        message=Message(
            role=Role.ROLE_USER, message_id=str(uuid.uuid4()), parts=[Part(text=message)]
        )
    )
    try:
        with anyio.fail_after(timeout_s):
            async with guarded_http_client(
                guard, field=field, timeout=timeout_s, max_response_bytes=MAX_RESPONSE_BYTES
            ) as http:
                config = ClientConfig(
                    httpx_client=http,
                    streaming=True,
                    supported_protocol_bindings=[
                        TransportProtocol.JSONRPC,
                        TransportProtocol.HTTP_JSON,
                    ],
                )
                client = ClientFactory(config).create(agent_card)
                async for event in client.send_message(request):
                    await collector.take(event)
    except TimeoutError as exc:
        raise A2aFailed(f"the A2A agent at {url} did not answer within {timeout_s:g}s") from exc
    except (A2AClientError, A2AError, httpx.HTTPError, ValueError) as exc:
        raise A2aFailed(f"the A2A agent at {url} failed: {exc}") from exc
    reply = collector.reply(agent_card.name)
    if reply.state in FAILED_STATES:
        reason = collector.status_text or reply.text or "no reason given"
        raise A2aFailed(f"the A2A agent's task ended {reply.state}: {reason}")
    return reply
