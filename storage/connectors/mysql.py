"""MySQL and MariaDB data sources (aiomysql).

Per query, on a fresh connection: the server-side timeout (MySQL
`max_execution_time` in ms; MariaDB `max_statement_time` in seconds, told
apart by the server version string), `SET SESSION TRANSACTION READ ONLY` (so
even a statement that commits implicitly, like DDL, starts in a read-only
transaction and is refused), `START TRANSACTION READ ONLY`, the query, then
ROLLBACK. The client-side `anyio.fail_after` is the backstop: on expiry it
runs `KILL QUERY <thread id>` from a second connection, because closing the
socket alone would leave the statement running on the server.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from contextlib import suppress
from typing import Any

import aiomysql
import anyio
import pymysql
from pymysql.constants import CLIENT

from engine.errors import QueryTimedOut, UpstreamFailed, ValidationFailed
from engine.templates import to_text
from storage.connectors.base import QueryContext, QueryResult, scrub
from storage.connectors.binding import BoundSql, bind_sql
from storage.connectors.sql_config import SQL_SECRET_FIELDS, SqlTarget, sql_target
from storage.connectors.sqlguard import check_read_only
from storage.connectors.values import jsonable

DEFAULT_PORT = 3306
CLIENT_GRACE_S = 1.0

# Server error codes: 1792 read-only transaction, 1290 server --read-only,
# 1969 MariaDB max_statement_time, 3024 MySQL max_execution_time, 1317 killed.
_READ_ONLY_ERRORS = frozenset({1792, 1290})
_TIMEOUT_ERRORS = frozenset({1969, 3024, 1317})
# Modes that change where strings end; the lexical screen assumes neither.
_LEXER_MODES = frozenset({"ANSI_QUOTES", "NO_BACKSLASH_ESCAPES"})


class MySQLConnector:
    type_name = "mysql"
    secret_fields = SQL_SECRET_FIELDS

    def validate(self, config: Mapping[str, Any]) -> None:
        sql_target(config, DEFAULT_PORT)

    def secret_paths(self, config: Mapping[str, Any]) -> set[str]:
        return set(self.secret_fields)

    async def test(self, config: Mapping[str, Any], ctx: QueryContext) -> str:
        result = await self.query(config, "SELECT VERSION() AS version", ctx)
        version = result.data[0].get("version", "") if result.data else ""
        flavor = "MariaDB" if "mariadb" in str(version).lower() else "MySQL"
        return f"connected to {flavor} {version}".strip()

    async def query(self, config: Mapping[str, Any], query: str, ctx: QueryContext) -> QueryResult:
        args: tuple[Any, ...] | None = None
        if ctx.params is not None:
            # The screen reads the text with its `%s` markers: the driver sends each
            # value as an escaped literal, which can never be a word the screen missed.
            query, args = mysql_markers(bind_sql(query, ctx.params, "mysql"))
        check_read_only(query, "mysql")
        target = sql_target(config, DEFAULT_PORT)
        address = await ctx.guard.resolve(target.host, target.port, field="config.host")
        conn = await _connect(target, address, ctx.timeout_s)
        try:
            try:
                with anyio.fail_after(ctx.timeout_s + CLIENT_GRACE_S):
                    rows = await run_read_only(
                        conn, query, ctx.row_cap + 1, ctx.timeout_s, args=args
                    )
            except TimeoutError:
                await _kill_query(target, address, conn, ctx.timeout_s)
                raise QueryTimedOut(f"MySQL query timed out after {ctx.timeout_s:g}s") from None
            except pymysql.MySQLError as exc:
                raise _map_error(exc, ctx.timeout_s, target.password) from None
        finally:
            # close() drops the socket without draining unread rows; the server
            # rolls back whatever the connection left open.
            conn.close()
        return QueryResult.from_rows(rows, ctx.row_cap)


async def open_connection(
    target: SqlTarget, address: str, timeout_s: float, *, database: bool = True
) -> Any:
    """A connection with multi-statement support switched off.

    aiomysql always sets CLIENT_MULTI_STATEMENTS, under which the server would
    run `SELECT 1; DELETE ...` as two statements; clearing the flag before the
    handshake makes the server itself refuse stacked statements. That needs
    the constructor plus `_connect()`, which is all `aiomysql.connect` does.
    """
    conn = aiomysql.Connection(
        host=address,
        port=target.port,
        user=target.username,
        password=target.password,
        db=target.database if database else None,
        connect_timeout=timeout_s,
        charset="utf8mb4",
        autocommit=False,
        # LOAD DATA LOCAL would let the server read files of this host.
        local_infile=False,
    )
    conn.client_flag &= ~CLIENT.MULTI_STATEMENTS
    try:
        await conn._connect()
    except BaseException:
        conn.close()
        raise
    return conn


async def _connect(target: SqlTarget, address: str, timeout_s: float) -> Any:
    try:
        with anyio.fail_after(timeout_s + CLIENT_GRACE_S):
            return await open_connection(target, address, timeout_s)
    except TimeoutError:
        raise QueryTimedOut(
            f"connecting to MySQL at {target.host}:{target.port} timed out"
        ) from None
    except (pymysql.MySQLError, OSError) as exc:
        detail = scrub(_error_text(exc), target.password)
        raise UpstreamFailed(
            f"cannot connect to MySQL at {target.host}:{target.port}: {detail}"
        ) from None


def is_mariadb(conn: Any) -> bool:
    return "mariadb" in str(conn.get_server_info()).lower()


async def run_read_only(
    conn: Any,
    sql: str,
    max_rows: int,
    timeout_s: float,
    *,
    args: tuple[Any, ...] | None = None,
) -> list[dict[str, Any]]:
    """Run `sql` in a read-only transaction with a server-side timeout; roll back.

    The database-side lock; it does not re-check `sql` (tests call it directly).
    Unbuffered cursor: only `max_rows` rows ever cross the wire. `args` are the
    values of a workflow query's `%s` markers, escaped by the driver.
    """
    setup = await conn.cursor()
    try:
        await setup.execute("SELECT @@SESSION.sql_mode")
        (mode,) = await setup.fetchone()
        modes = [m for m in str(mode).split(",") if m and m.upper() not in _LEXER_MODES]
        await setup.execute("SET SESSION sql_mode = %s", (",".join(modes),))
        if is_mariadb(conn):
            await setup.execute(f"SET SESSION max_statement_time = {timeout_s:.3f}")
        else:
            timeout_ms = max(1, math.ceil(timeout_s * 1000))
            await setup.execute(f"SET SESSION max_execution_time = {timeout_ms}")
        await setup.execute("SET SESSION TRANSACTION READ ONLY")
        await setup.execute("START TRANSACTION READ ONLY")
    finally:
        await setup.close()
    cursor = await conn.cursor(aiomysql.SSDictCursor)
    # args=None for a plain query: aiomysql must not treat its % signs as markers
    # (a bound query has them doubled by `binding.bind_sql`).
    await cursor.execute(sql, args)
    rows = await cursor.fetchmany(max_rows) if cursor.description else []
    if len(rows) < max_rows:
        # Everything was read, so the connection is idle and can roll back now;
        # otherwise closing it (the caller's job) rolls back on the server.
        await cursor.close()
        await conn.rollback()
    return [jsonable(dict(row)) for row in rows]


async def _kill_query(target: SqlTarget, address: str, conn: Any, timeout_s: float) -> None:
    """Stop the statement on the server from a second connection (best effort)."""
    thread_id = conn.server_thread_id[0] if conn.server_thread_id else None
    if not isinstance(thread_id, int):
        return
    with anyio.CancelScope(shield=True), anyio.move_on_after(max(2.0, timeout_s)):
        with suppress(pymysql.MySQLError, OSError):
            killer = await open_connection(target, address, timeout_s, database=False)
            try:
                async with killer.cursor() as cursor:
                    await cursor.execute(f"KILL QUERY {int(thread_id)}")
            finally:
                killer.close()


def mysql_markers(bound: BoundSql) -> tuple[str, tuple[Any, ...]]:
    """`%s` text and driver arguments for a bound query.

    Scalars are one `%s` each. A list of scalars becomes `(%s, %s, ...)`, one
    marker per item, for `IN {input.ids}` (an empty list is `(NULL)`, which
    matches nothing); any other list or object is bound as its JSON text
    (pymysql refuses containers, and formatted a dict's keys in unescaped).
    """
    text: list[str] = [bound.segments[0]]
    args: list[Any] = []
    for value, segment in zip(bound.args, bound.segments[1:], strict=True):
        if isinstance(value, list | tuple) and all(_is_scalar(v) for v in value):
            text.append("(" + ", ".join(["%s"] * len(value)) + ")" if value else "(NULL)")
            args.extend(value)
        else:
            text.append("%s")
            args.append(value if _is_scalar(value) else to_text(value))
        text.append(segment)
    return "".join(text), tuple(args)


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, bool | int | float | str)


def _error_text(exc: BaseException) -> str:
    args: tuple[Any, ...] = tuple(getattr(exc, "args", ()))
    if len(args) >= 2 and isinstance(args[1], str):
        return args[1]
    return str(exc) or type(exc).__name__


def _map_error(exc: pymysql.MySQLError, timeout_s: float, password: str) -> Exception:
    code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else None
    detail = scrub(_error_text(exc), password)
    if code in _READ_ONLY_ERRORS:
        return ValidationFailed(
            f"the database refused a write in a read-only query: {detail}", field="query"
        )
    if code in _TIMEOUT_ERRORS:
        return QueryTimedOut(f"MySQL query timed out after {timeout_s:g}s: {detail}")
    return UpstreamFailed(f"MySQL error: {detail}")


CONNECTOR = MySQLConnector()
