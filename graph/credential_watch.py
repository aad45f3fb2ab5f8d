"""Credentials re-checked on open connections (issue 11, item 6).

A request checks its credential once; a WebSocket or an SSE stream lives on after
its API key is revoked, its token expires or its account is removed. So:

- the GraphQL WebSockets (graphql-transport-ws and the legacy protocol, graph/view.py)
  re-check on every new operation, and their connection re-checks every
  `AGENTLOOM_CREDENTIAL_RECHECK_SECONDS` (and at the credential's own expiry) while
  operations run; a failed check closes the socket with 4401 (the credential is gone
  or expired) or 4403 (it authenticates, but reaches less than when the socket
  opened: another user, a lower role, a narrower workflow scope);
- every other stream of a subscription (the seed WebSocket, the AG-UI, knowledge
  progress and flow builder SSE streams, GraphQL over SSE and multipart) goes through
  `guarded()` (`AgentloomSchema.stream`): the same periodic check, and a failed one
  ends the stream with one last result whose error carries `extensions.code`
  UNAUTHENTICATED or FORBIDDEN, which each transport turns into its dialect's final
  error frame (the seed WebSocket then closes with 4401/4403).

A check that cannot run (the database is unreachable) keeps the stream and tries
again at the next interval: an outage must not cut every live stream, and requests
fail meanwhile anyway.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Any

import anyio
from graphql import GraphQLError
from strawberry.types import ExecutionResult

from engine.errors import AgentloomError, Forbidden, Unauthenticated
from graph.context import Context, Viewer

log = logging.getLogger(__name__)

DEFAULT_RECHECK_S = 60.0
CREDENTIAL_GONE = 4401
"""Close code: the credential no longer authenticates (revoked, expired, account gone)."""
NO_LONGER_ALLOWED = 4403
"""Close code: it authenticates, but no longer reaches what the connection was opened with."""
EXPIRY_MARGIN_S = 0.25
"""A check at a credential's expiry runs this much after it (expiry has one-second steps)."""


def recheck_seconds(context: Context) -> float:
    """`AGENTLOOM_CREDENTIAL_RECHECK_SECONDS` of the app serving this context."""
    request = context.request
    app = request.scope.get("app") if request is not None else None
    settings = getattr(getattr(app, "state", None), "settings", None)
    value = getattr(settings, "credential_recheck_seconds", None)
    return float(value) if value else DEFAULT_RECHECK_S


def close_code(error: AgentloomError) -> int:
    return CREDENTIAL_GONE if isinstance(error, Unauthenticated) else NO_LONGER_ALLOWED


def _narrowed(before: Viewer, after: Viewer) -> AgentloomError | None:
    """Why `after` no longer stands for `before`, if it does not."""
    if after.user_id != before.user_id:
        return Unauthenticated("the credential now names another account")
    if before.role == "admin" and after.role != "admin":
        return Forbidden("the account is no longer an administrator")
    wide, narrow = before.scoped_workflow_ids, after.scoped_workflow_ids
    if narrow is not None and (wide is None or not wide <= narrow):
        return Forbidden("the API key no longer reaches these workflows")
    return None


async def recheck(context: Context) -> None:
    """Raise `Unauthenticated` or `Forbidden` when the context's credential no longer
    stands for the viewer it authenticated as; nothing when it has no credential."""
    if not context.has_credential():
        return
    before = await context.viewer()  # what the connection was opened as (cached)
    after = await context.recheck()
    if after is None:
        return
    problem = _narrowed(before, after)
    if problem is not None:
        raise problem


def _next_check_in(context: Context, interval: float) -> float:
    viewer = context._viewer
    if viewer is None or viewer.expires_at is None:
        return interval
    left = viewer.expires_at - time.time() + EXPIRY_MARGIN_S
    return max(min(interval, left), EXPIRY_MARGIN_S)


async def watch(
    context: Context, interval: float, *, active: Callable[[], bool] = lambda: True
) -> AgentloomError:
    """Wait until the credential fails a check (run every `interval` seconds and at its
    expiry, when `active()`); return why."""
    while True:
        await anyio.sleep(_next_check_in(context, interval))
        if not active():
            continue
        try:
            await recheck(context)
        except AgentloomError as error:
            return error
        except Exception:  # the check could not run: try again later (module docstring)
            log.warning("re-checking a connection's credential failed", exc_info=True)


def lost_result(error: AgentloomError) -> ExecutionResult:
    """The last result of a stream whose credential failed its check."""
    extensions = {"code": error.code, "closeCode": close_code(error)}
    return ExecutionResult(data=None, errors=[GraphQLError(error.message, extensions=extensions)])


def lost_code(result: Any) -> int | None:
    """The close code a `lost_result` carries (None for any other result)."""
    for error in getattr(result, "errors", None) or ():
        code = (getattr(error, "extensions", None) or {}).get("closeCode")
        if code in (CREDENTIAL_GONE, NO_LONGER_ALLOWED):
            return int(code)
    return None


async def guarded(
    results: AsyncGenerator[Any, None], context: Context, interval: float
) -> AsyncGenerator[Any, None]:
    """`results`, ended with a `lost_result` when the credential fails a check.

    The check runs in a task of its own and interrupts only the wait for the next
    result (a cancel scope around that wait, never around a `yield`), so a quiet stream
    (a run waiting for a person) is cut as promptly as a busy one, and a busy one pays
    nothing per result. The task starts after the first result: a query or mutation
    over a streaming transport ends before it would.
    """
    lost: AgentloomError | None = None
    waiting: anyio.CancelScope | None = None
    checker: asyncio.Task[None] | None = None

    async def check() -> None:
        nonlocal lost
        lost = await watch(context, interval)
        if waiting is not None:
            waiting.cancel()

    try:
        async with contextlib.aclosing(results):
            while lost is None:
                with anyio.CancelScope() as scope:
                    waiting = scope
                    try:
                        item = await results.__anext__()
                    except StopAsyncIteration:
                        return
                    finally:
                        waiting = None
                if scope.cancelled_caught:
                    break
                yield item
                if checker is None:
                    checker = asyncio.create_task(check())
        if lost is not None:
            yield lost_result(lost)
    finally:
        if checker is not None:
            checker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await checker


async def close_when_lost(
    context: Context,
    interval: float,
    close: Callable[[int, str], Awaitable[None]],
    *,
    active: Callable[[], bool],
) -> None:
    """A connection's watch: closes it (4401/4403, the reason) once a check fails."""
    error = await watch(context, interval, active=active)
    await close(close_code(error), reason_text(error))


def reason_text(error: AgentloomError) -> str:
    """A WebSocket close reason (at most 123 bytes)."""
    return error.message.encode()[:120].decode(errors="ignore")
