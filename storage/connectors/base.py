"""What every data source connector shares: results, the query context, config checks.

A connector is one module per data source type exposing a `CONNECTOR`
object that satisfies `Connector`; `registry.py` maps type names to them, so
nothing here knows the individual types.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from engine.errors import ValidationFailed
from engine.outbound import OutboundGuard

FileLoader = Callable[[str], Awaitable[Any]]
"""Resolves a stored file id to its content (bytes, str, or already-parsed JSON)."""

MASK = "********"


@dataclass(frozen=True, kw_only=True)
class ConnectionCheck:
    """Outcome of `test_connection`."""

    ok: bool
    """Whether a connection (and a trivial read) succeeded."""
    message: str
    """Human-readable outcome; never contains a secret."""


@dataclass(frozen=True, kw_only=True)
class QueryResult:
    """Rows of a query, capped."""

    data: list[dict[str, Any]]
    """JSON-safe rows (at most the row cap)."""
    count: int
    """Number of rows in `data`."""
    truncated: bool
    """True when the source had more rows than the cap."""

    @classmethod
    def from_rows(cls, rows: list[dict[str, Any]], row_cap: int) -> QueryResult:
        """Build from up to `row_cap + 1` fetched rows: the extra one only proves truncation."""
        truncated = len(rows) > row_cap
        kept = rows[:row_cap]
        return cls(data=kept, count=len(kept), truncated=truncated)


@dataclass(frozen=True, kw_only=True)
class QueryContext:
    """Everything a connector needs besides its config and query."""

    guard: OutboundGuard
    """Decides which hosts may be contacted; every host goes through it."""
    row_cap: int
    """At most this many rows are returned."""
    timeout_s: float
    """Budget for connecting and for running the query, each."""
    file_loader: FileLoader | None = None
    """For the `json` type's `file_id`."""
    params: Mapping[str, Any] | None = None
    """Set for a workflow's query: the query is a template and these are the values of
    its `{path}` placeholders, which the connector binds (`binding.py`), never splices.
    None: the query is plain text, taken as written."""


class Connector(Protocol):
    """One data source type."""

    type_name: str
    secret_fields: frozenset[str]
    """Dotted paths of config fields that hold secrets (encrypted at rest, masked on read)."""

    def validate(self, config: Mapping[str, Any]) -> None:
        """Raise `ValidationFailed(field="config.<name>")` for a missing or invalid field."""
        ...

    def secret_paths(self, config: Mapping[str, Any]) -> set[str]:
        """`secret_fields` plus any config-dependent ones (e.g. sensitive header names)."""
        ...

    async def test(self, config: Mapping[str, Any], ctx: QueryContext) -> str:
        """Connect and do a trivial read; return a success message or raise."""
        ...

    async def query(self, config: Mapping[str, Any], query: str, ctx: QueryContext) -> QueryResult:
        """Run a read-only query and return at most `ctx.row_cap` rows."""
        ...


# -- config field checks, shared so every type words its errors the same way --


def require_str(
    config: Mapping[str, Any], name: str, *, allow_empty: bool = False, prefix: str = ""
) -> str:
    """`config[name]` as a non-empty string; `prefix` names a nested object ("auth")."""
    field = f"config.{prefix}.{name}" if prefix else f"config.{name}"
    value = config.get(name)
    if not isinstance(value, str) or (not allow_empty and not value.strip()):
        raise ValidationFailed(f"{field} is required (a string)", field=field)
    return value


def optional_str(config: Mapping[str, Any], name: str, default: str = "") -> str:
    value = config.get(name, default)
    if value is None:
        return default
    if not isinstance(value, str):
        raise ValidationFailed(f"config.{name} must be a string", field=f"config.{name}")
    return value


def port_of(config: Mapping[str, Any], default: int) -> int:
    value = config.get("port", default)
    if value is None or value == "":
        return default
    # A port typed into a form often arrives as a string: accept digits only.
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
        raise ValidationFailed("config.port must be an integer 1-65535", field="config.port")
    return value


def scrub(message: str, *secrets: str | None) -> str:
    """Remove secret values from an error message before it reaches a client."""
    for secret in secrets:
        # One- and two-character secrets would shred the message; they are also
        # not worth hiding (any message leaks less than a brute force finds).
        if secret and len(secret) >= 3:
            message = message.replace(secret, MASK)
    return message
