"""GraphQL WebSocket handlers that re-check the connection's credential (issue 11, item 6).

strawberry authenticates a WebSocket once, at `connection_init`. These handlers
(both protocols) check the credential again before every new operation and, while
operations run, every `AGENTLOOM_CREDENTIAL_RECHECK_SECONDS` and at its expiry; a
failed check closes the socket with 4401 or 4403 (graph/credential_watch.py), which
ends every operation on it. The connection watches instead of each subscription, so
a socket carrying many subscriptions costs one check per interval.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    ConnectionInitMessage,
    SubscribeMessage,
)
from strawberry.subscriptions.protocols.graphql_ws.handlers import BaseGraphQLWSHandler
from strawberry.subscriptions.protocols.graphql_ws.types import (
    ConnectionInitMessage as LegacyInitMessage,
)
from strawberry.subscriptions.protocols.graphql_ws.types import StartMessage

from engine.errors import AgentloomError
from graph.context import Context
from graph.credential_watch import (
    close_code,
    close_when_lost,
    reason_text,
    recheck,
    recheck_seconds,
)


class _Checks:
    """What both protocols share: the per-operation check and the connection's watch."""

    context: Context
    websocket: Any
    _watch: asyncio.Task[None] | None = None

    def _start_watch(self, running: Any) -> None:
        if self._watch is None and self.context.has_credential():
            self._watch = asyncio.create_task(
                close_when_lost(
                    self.context,
                    recheck_seconds(self.context),
                    self._close,
                    active=lambda: bool(running),
                )
            )

    async def _still_valid(self) -> bool:
        try:
            await recheck(self.context)
        except AgentloomError as error:
            await self._close(close_code(error), reason_text(error))
            return False
        return True

    async def _close(self, code: int, reason: str) -> None:
        with contextlib.suppress(Exception):  # the client may be gone already
            await self.websocket.close(code=code, reason=reason)

    async def _stop_watch(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(BaseException):
                await self._watch


class CheckedTransportWSHandler(_Checks, BaseGraphQLTransportWSHandler[Context, None]):
    """graphql-transport-ws (the `graphql-ws` npm client, gql's default)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.context.watched = True

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        await super().handle_connection_init(message)
        if self.connection_acknowledged:
            self._start_watch(self.operations)

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        if self.connection_acknowledged and not await self._still_valid():
            return
        await super().handle_subscribe(message)

    async def shutdown(self) -> None:
        await self._stop_watch()
        await super().shutdown()


class CheckedLegacyWSHandler(_Checks, BaseGraphQLWSHandler[Context, None]):
    """The legacy `graphql-ws` protocol (Apollo's subscriptions-transport-ws)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.context.watched = True

    async def handle_connection_init(self, message: LegacyInitMessage) -> None:
        await super().handle_connection_init(message)
        if self.connection_acknowledged:
            self._start_watch(self.tasks)

    async def handle_start(self, message: StartMessage) -> None:
        if self.connection_acknowledged and not await self._still_valid():
            return
        await super().handle_start(message)

    async def cleanup(self) -> None:
        await self._stop_watch()
        await super().cleanup()
