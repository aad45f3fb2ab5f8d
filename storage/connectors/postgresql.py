"""PostgreSQL data sources (asyncpg).

Every query runs in `BEGIN READ ONLY` with `SET LOCAL statement_timeout` and
is always rolled back; the client-side `anyio.fail_after` is the backstop for
when the server timeout does not fire (asyncpg sends a cancel request to the
server when the awaiting task is cancelled, then the connection is closed).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from contextlib import suppress
from typing import Any

import anyio
import asyncpg

from engine.errors import QueryTimedOut, UpstreamFailed, ValidationFailed
from storage.connectors.base import QueryContext, QueryResult, optional_str, scrub
from storage.connectors.binding import BoundSql, bind_sql
from storage.connectors.pg_params import argument_error, coerce_args
from storage.connectors.sql_config import SQL_SECRET_FIELDS, SqlTarget, sql_target
from storage.connectors.sqlguard import check_read_only
from storage.connectors.values import jsonable

DEFAULT_PORT = 5432
SSL_MODES = frozenset({"disable", "prefer", "require"})
# The server's statement_timeout should fire first and give the clean error;
# the client waits this much longer before cancelling on its own.
CLIENT_GRACE_S = 1.0

_READ_ONLY_SQLSTATES = frozenset({"25006"})  # read_only_sql_transaction
_TIMEOUT_SQLSTATES = frozenset({"57014"})  # query_canceled (statement_timeout, cancel)


class PostgreSQLConnector:
    type_name = "postgresql"
    secret_fields = SQL_SECRET_FIELDS

    def validate(self, config: Mapping[str, Any]) -> None:
        _target_and_ssl(config)

    def secret_paths(self, config: Mapping[str, Any]) -> set[str]:
        return set(self.secret_fields)

    async def test(self, config: Mapping[str, Any], ctx: QueryContext) -> str:
        result = await self.query(config, "SHOW server_version", ctx)
        version = result.data[0].get("server_version", "") if result.data else ""
        return f"connected to PostgreSQL {version}".strip()

    async def query(self, config: Mapping[str, Any], query: str, ctx: QueryContext) -> QueryResult:
        bound = BoundSql(text=query, args=(), labels=())
        if ctx.params is not None:
            bound = bind_sql(query, ctx.params, "postgresql")
        check_read_only(bound.text, "postgresql")
        target, ssl = _target_and_ssl(config)
        address = await ctx.guard.resolve(target.host, target.port, field="config.host")
        conn = await _connect(target, address, ssl, ctx.timeout_s)
        try:
            try:
                with anyio.fail_after(ctx.timeout_s + CLIENT_GRACE_S):
                    rows = await run_read_only(
                        conn, bound.text, ctx.row_cap + 1, ctx.timeout_s, bound=bound
                    )
            except TimeoutError:
                raise QueryTimedOut(
                    f"PostgreSQL query timed out after {ctx.timeout_s:g}s"
                ) from None
            except asyncpg.PostgresError as exc:
                raise _map_error(exc, ctx.timeout_s, target.password) from None
        finally:
            await _close(conn)
        return QueryResult.from_rows(rows, ctx.row_cap)


def _target_and_ssl(config: Mapping[str, Any]) -> tuple[SqlTarget, str]:
    target = sql_target(config, DEFAULT_PORT)
    ssl = optional_str(config, "ssl", "prefer").lower() or "prefer"
    if ssl not in SSL_MODES:
        raise ValidationFailed(
            f"config.ssl must be one of {', '.join(sorted(SSL_MODES))}", field="config.ssl"
        )
    return target, ssl


async def _connect(target: SqlTarget, address: str, ssl: str, timeout_s: float) -> Any:
    try:
        with anyio.fail_after(timeout_s + CLIENT_GRACE_S):
            conn = await asyncpg.connect(
                host=address,
                port=target.port,
                user=target.username,
                password=target.password or None,
                database=target.database,
                ssl=ssl,
                timeout=timeout_s,
                # No statement cache: every query is one-off user text.
                statement_cache_size=0,
                server_settings={"application_name": "agentloom"},
            )
    except TimeoutError:
        raise QueryTimedOut(
            f"connecting to PostgreSQL at {target.host}:{target.port} timed out"
        ) from None
    except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as exc:
        detail = scrub(str(exc) or type(exc).__name__, target.password)
        raise UpstreamFailed(
            f"cannot connect to PostgreSQL at {target.host}:{target.port}: {detail}"
        ) from None
    return conn


async def run_read_only(
    conn: Any, sql: str, max_rows: int, timeout_s: float, *, bound: BoundSql | None = None
) -> list[dict[str, Any]]:
    """Run `sql` in a read-only transaction with a server-side timeout; always roll back.

    This is the database-side lock and deliberately does not re-check `sql`:
    tests call it directly to prove the server refuses writes on its own.
    `bound` carries the bind arguments of a workflow query (`$1`, `$2`...).
    """
    timeout_ms = max(1, math.ceil(timeout_s * 1000))
    transaction = conn.transaction(readonly=True)
    await transaction.start()
    try:
        # SET LOCAL ends with the transaction. standard_conforming_strings is
        # pinned because the lexical screen assumes '\' is not an escape in '...'.
        await conn.execute(
            f"SET LOCAL statement_timeout = {timeout_ms}; "
            f"SET LOCAL lock_timeout = {timeout_ms}; "
            f"SET LOCAL idle_in_transaction_session_timeout = {timeout_ms + 5000}; "
            "SET LOCAL standard_conforming_strings = on"
        )
        for type_name in ("json", "jsonb"):
            await conn.set_type_codec(
                type_name, encoder=json.dumps, decoder=json.loads, schema="pg_catalog"
            )
        if bound is not None and bound.args:
            statement = await conn.prepare(sql)
            args = coerce_args(bound.args, tuple(statement.get_parameters()), bound.labels)
            try:
                cursor = await statement.cursor(*args)
            except asyncpg.DataError as exc:
                # Client-side encoding of an argument asyncpg still could not take.
                raise argument_error(str(exc), bound.labels) or exc from None
        else:
            cursor = await conn.cursor(sql)
        records = await cursor.fetch(max_rows)
        return [jsonable(dict(record.items())) for record in records]
    finally:
        # A failed rollback is harmless: the connection is closed next, and
        # PostgreSQL rolls back whatever a closed connection left open.
        with suppress(asyncpg.PostgresError, asyncpg.InterfaceError, OSError):
            with anyio.CancelScope(shield=True), anyio.move_on_after(2):
                await transaction.rollback()


async def _close(conn: Any) -> None:
    with anyio.CancelScope(shield=True):
        try:
            with anyio.fail_after(2):
                await conn.close()
        except Exception:  # any failure to close politely: cut the socket instead
            conn.terminate()


def _map_error(exc: asyncpg.PostgresError, timeout_s: float, password: str) -> Exception:
    sqlstate = getattr(exc, "sqlstate", "") or ""
    detail = scrub(str(exc), password)
    if sqlstate in _READ_ONLY_SQLSTATES:
        return ValidationFailed(
            f"the database refused a write in a read-only query: {detail}", field="query"
        )
    if sqlstate in _TIMEOUT_SQLSTATES:
        return QueryTimedOut(f"PostgreSQL query timed out after {timeout_s:g}s: {detail}")
    return UpstreamFailed(f"PostgreSQL error: {detail}")


CONNECTOR = PostgreSQLConnector()
