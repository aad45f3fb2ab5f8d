"""Who and what the current code works for: request id, caller and execution, as contextvars.

Log lines (`engine.log_format`) and the request log (`rest_compat.request_log`)
read them; nothing passes them down as arguments.

- `begin_request(request_id)` is called by the HTTP/WebSocket middleware at the
  start of a request or session. It installs a `RequestScope`: a small
  *mutable* object, so that whoever learns the caller later
  (`note_caller`, called when the GraphQL context resolves its viewer) fills it
  in where the middleware will read it at the end of the request, even from a
  task the request spawned (tasks copy contextvars, but the copy points at the
  same object).
- `bind_execution(execution_id)` marks the current task as running that
  execution (the run host calls it at the top of each run's task).
"""

from __future__ import annotations

from contextvars import ContextVar, Token
from dataclasses import dataclass


@dataclass(kw_only=True)
class RequestScope:
    """One HTTP request or WebSocket session."""

    request_id: str
    user_id: str | None = None
    """The authenticated user (the key's owner for an API key); None while anonymous."""
    api_key_id: str | None = None
    """The API key that authenticated the request, if one did."""


_request: ContextVar[RequestScope | None] = ContextVar("agentloom_request", default=None)
_execution: ContextVar[str | None] = ContextVar("agentloom_execution", default=None)


def begin_request(request_id: str) -> tuple[RequestScope, Token[RequestScope | None]]:
    """Install a fresh scope for this request; `end_request(token)` removes it."""
    scope = RequestScope(request_id=request_id)
    return scope, _request.set(scope)


def end_request(token: Token[RequestScope | None]) -> None:
    _request.reset(token)


def current_request() -> RequestScope | None:
    return _request.get()


def note_caller(user_id: str, api_key_id: str | None = None) -> None:
    """Record who the current request authenticated as (no-op outside a request)."""
    scope = _request.get()
    if scope is not None:
        scope.user_id = user_id
        scope.api_key_id = api_key_id


def bind_execution(execution_id: str | None) -> None:
    """Mark the current task (and tasks it starts) as working on `execution_id`."""
    _execution.set(execution_id)


def current_execution_id() -> str | None:
    return _execution.get()
