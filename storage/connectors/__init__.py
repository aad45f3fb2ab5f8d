"""Data source connectors: PostgreSQL, MySQL/MariaDB, MongoDB, REST API, JSON.

Public API:

    await test_connection(ds_type, config, guard=...)            -> ConnectionCheck
    await run_query(ds_type, config, query, guard=..., ...)      -> QueryResult
    validate_config(ds_type, config)                             raises ValidationFailed
    SECRET_FIELDS, split_secrets, merge_secrets, mask_config     secret handling

Errors (engine.errors):

    ValidationFailed    bad config (field "config.<name>"), unknown type (field
                        "type"), a refused query (field "query"), or a write the
                        database itself refused
    └── OutboundRefused the outbound guard refused the host
    UpstreamFailed      connection failed, or the source reported an error
    └── QueryTimedOut   connecting or the query ran out of time (code TIMEOUT, HTTP 504)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.errors import UpstreamFailed, ValidationFailed
from engine.outbound import OutboundGuard
from storage.connectors.base import ConnectionCheck, FileLoader, QueryContext, QueryResult
from storage.connectors.registry import CONNECTORS, connector_for
from storage.connectors.secrets import SECRET_FIELDS, mask_config, merge_secrets, split_secrets

__all__ = [
    "CONNECTORS",
    "SECRET_FIELDS",
    "ConnectionCheck",
    "FileLoader",
    "QueryResult",
    "mask_config",
    "merge_secrets",
    "run_query",
    "split_secrets",
    "test_connection",
    "validate_config",
]

MAX_ROW_CAP = 100_000
MAX_TIMEOUT_S = 300.0


def validate_config(ds_type: str, config: Mapping[str, Any]) -> None:
    """Raise `ValidationFailed` naming the field when `config` is unusable for `ds_type`."""
    connector = connector_for(ds_type)
    if not isinstance(config, Mapping):
        raise ValidationFailed("config must be an object", field="config")
    connector.validate(config)


def _context(
    guard: OutboundGuard,
    row_cap: int,
    timeout_s: float,
    file_loader: FileLoader | None,
    params: Mapping[str, Any] | None = None,
) -> QueryContext:
    if isinstance(row_cap, bool) or not 1 <= row_cap <= MAX_ROW_CAP:
        raise ValidationFailed(f"row_cap must be 1-{MAX_ROW_CAP}", field="row_cap")
    if not 0 < timeout_s <= MAX_TIMEOUT_S:
        raise ValidationFailed(f"timeout must be in (0, {MAX_TIMEOUT_S:g}] s", field="timeout")
    return QueryContext(
        guard=guard,
        row_cap=row_cap,
        timeout_s=float(timeout_s),
        file_loader=file_loader,
        params=params,
    )


async def test_connection(
    ds_type: str,
    config: Mapping[str, Any],
    *,
    guard: OutboundGuard,
    timeout_s: float = 10,
    file_loader: FileLoader | None = None,
) -> ConnectionCheck:
    """Connect and do a trivial read.

    A source that cannot be reached answers `ok=False` with the reason; a bad
    config or a refused host raises (`ValidationFailed` / `OutboundRefused`).
    """
    validate_config(ds_type, config)
    ctx = _context(guard, 1, timeout_s, file_loader)
    try:
        message = await connector_for(ds_type).test(config, ctx)
    except UpstreamFailed as exc:
        return ConnectionCheck(ok=False, message=exc.message)
    return ConnectionCheck(ok=True, message=message)


test_connection.__test__ = False  # type: ignore[attr-defined]  # not a pytest test


async def run_query(
    ds_type: str,
    config: Mapping[str, Any],
    query: str,
    *,
    guard: OutboundGuard,
    row_cap: int = 1000,
    timeout_s: float = 10,
    file_loader: FileLoader | None = None,
    params: Mapping[str, Any] | None = None,
) -> QueryResult:
    """Run one read-only query and return at most `row_cap` JSON-safe rows.

    With `params` the query is a template: its `{path}` placeholders are bound to
    `params[path]` (SQL bind parameters, MongoDB values, encoded URL parts, JMESPath
    literals; see `binding.py`), never pasted into the text.
    """
    validate_config(ds_type, config)
    if not isinstance(query, str):
        raise ValidationFailed("query must be a string", field="query")
    if params is not None and not isinstance(params, Mapping):
        raise ValidationFailed("params must be an object", field="params")
    ctx = _context(guard, row_cap, timeout_s, file_loader, params)
    return await connector_for(ds_type).query(config, query, ctx)
