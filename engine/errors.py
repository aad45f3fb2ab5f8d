"""The typed errors every layer above the engine understands.

    AgentloomError
    ├── NotFound            an object is missing, or belongs to someone else
    ├── Forbidden           authenticated, but the action is not allowed
    ├── Unauthenticated     no valid credentials
    ├── ValidationFailed    bad input; `field` names the offending field
    ├── Conflict            the object exists already / state forbids the change
    ├── RateLimited         too many attempts in the window
    ├── PayloadTooLarge     the request body exceeds its cap
    └── UpstreamFailed      an outside service (LLM, database, URL) failed
        └── QueryTimedOut   a data source did not answer in time (code TIMEOUT)

`code` travels in GraphQL `extensions.code`; rest_compat maps it to an HTTP
status and the error body of its dialect.
"""

from __future__ import annotations

from typing import Any, ClassVar


class AgentloomError(Exception):
    """Root of the errors that reach a client; `code` is stable API."""

    code: ClassVar[str] = "INTERNAL_ERROR"

    def __init__(self, message: str, *, field: str | None = None, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.details = details


class NotFound(AgentloomError):
    code = "NOT_FOUND"


class Forbidden(AgentloomError):
    code = "FORBIDDEN"


class Unauthenticated(AgentloomError):
    code = "UNAUTHENTICATED"


class ValidationFailed(AgentloomError):
    code = "VALIDATION_ERROR"


class Conflict(AgentloomError):
    code = "CONFLICT"


class RateLimited(AgentloomError):
    code = "RATE_LIMITED"


class PayloadTooLarge(AgentloomError):
    code = "PAYLOAD_TOO_LARGE"


class UpstreamFailed(AgentloomError):
    code = "UPSTREAM_FAILED"


class QueryTimedOut(UpstreamFailed):
    """A data source query (or its connection) ran out of time: a gateway timeout."""

    code = "TIMEOUT"


class OutboundRefused(ValidationFailed):
    """A user-supplied URL or host points where the outbound guard forbids."""

    code = "OUTBOUND_REFUSED"
