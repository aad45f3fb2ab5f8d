"""MySQL/MariaDB connector against the real server: reads work, nothing else does."""

# ruff: noqa: S608  (table names come from the fixture)
from __future__ import annotations

import time
import uuid

import aiomysql
import anyio
import pymysql
import pytest

from engine.errors import OutboundRefused, UpstreamFailed, ValidationFailed
from engine.outbound import OutboundGuard
from storage.connectors import mask_config, run_query, test_connection
from storage.connectors.mysql import open_connection, run_read_only
from storage.connectors.sql_config import sql_target

from .conftest import Honeypot, MySqlServer

pytestmark = pytest.mark.anyio


async def test_select_returns_json_safe_rows(
    my: MySqlServer, loopback_guard: OutboundGuard
) -> None:
    result = await run_query(
        "mysql",
        my.config,
        f"SELECT id, name, amount, created, raw FROM {my.table} ORDER BY id",
        guard=loopback_guard,
    )
    assert result.count == 5 and not result.truncated
    assert result.data[0] == {
        "id": 1,
        "name": "ada",
        "amount": 10.5,
        "created": "2024-01-02T03:04:05",
        "raw": "aGk=",
    }


async def test_percent_sign_is_not_a_placeholder(
    my: MySqlServer, loopback_guard: OutboundGuard
) -> None:
    result = await run_query(
        "mysql",
        my.config,
        f"SELECT name FROM {my.table} WHERE name LIKE 'a%' ORDER BY id",
        guard=loopback_guard,
    )
    assert result.data == [{"name": "ada"}]


async def test_row_cap_truncates(my: MySqlServer, loopback_guard: OutboundGuard) -> None:
    result = await run_query(
        "mysql",
        my.config,
        f"SELECT * FROM {my.table} ORDER BY id",
        guard=loopback_guard,
        row_cap=2,
    )
    assert [r["id"] for r in result.data] == [1, 2]
    assert result.truncated is True and result.count == 2
    exact = await run_query(
        "mysql", my.config, f"SELECT * FROM {my.table}", guard=loopback_guard, row_cap=5
    )
    assert exact.count == 5 and exact.truncated is False


@pytest.mark.parametrize(
    "template",
    [
        "INSERT INTO {t} (id, name) VALUES (99, 'x')",
        "REPLACE INTO {t} (id, name) VALUES (1, 'x')",
        "UPDATE {t} SET name = 'x'",
        "DELETE FROM {t}",
        "DROP TABLE {t}",
        "CREATE TABLE {t}_2 (a int)",
        "TRUNCATE TABLE {t}",
        "SELECT 1; DELETE FROM {t}",
        "SELECT 1;DELETE FROM {t};",
        "SET TRANSACTION READ WRITE",
        "SET SESSION TRANSACTION READ WRITE",
        "COMMIT; DELETE FROM {t}",
        "START TRANSACTION; DELETE FROM {t}",
        "WITH d AS (SELECT 1) DELETE FROM {t}",
        "SELECT * FROM {t} INTO OUTFILE '/tmp/agentloom_out'",
        "SELECT id INTO @x FROM {t} LIMIT 1",
        "SELECT GET_LOCK('agentloom', 1)",
        "SELECT LOAD_FILE('/etc/passwd')",
        "SELECT * FROM {t} FOR UPDATE",
        "SELECT * FROM {t} LOCK IN SHARE MODE",
        "SELECT 1 /*!; DELETE FROM {t} */",
        "SELECT 'a\\\\'; DELETE FROM {t}; -- '",
        "SELECT 1 # x\n; DELETE FROM {t}",
        "EXPLAIN DELETE FROM {t}",
        "LOCK TABLES {t} WRITE",
        "HANDLER {t} OPEN",
    ],
)
async def test_writes_are_refused_and_table_unchanged(
    my: MySqlServer, loopback_guard: OutboundGuard, template: str
) -> None:
    before = await my.snapshot()
    with pytest.raises(ValidationFailed) as info:
        await run_query("mysql", my.config, template.format(t=my.table), guard=loopback_guard)
    assert info.value.field == "query"
    assert await my.snapshot() == before
    assert await my.exists()


@pytest.mark.parametrize(
    "template",
    [
        "INSERT INTO {t} (id, name) VALUES (99, 'x')",
        "UPDATE {t} SET name = 'x'",
        "DELETE FROM {t}",
        # DDL commits implicitly on MySQL: only the session-wide read-only mode stops it.
        "DROP TABLE {t}",
        "CREATE TABLE {t}_2 (a int)",
        "TRUNCATE TABLE {t}",
        "CREATE TEMPORARY TABLE {t}_tmp (a int)",
    ],
)
async def test_database_refuses_writes_without_the_screen(my: MySqlServer, template: str) -> None:
    """The second lock on its own: read-only session + transaction refuse writes."""
    before = await my.snapshot()
    conn = await _connect(my)
    try:
        with pytest.raises(pymysql.MySQLError) as info:
            await run_read_only(conn, template.format(t=my.table), 10, 5)
        assert info.value.args[0] == 1792
    finally:
        conn.close()
    assert await my.snapshot() == before
    assert await my.exists()


async def test_server_does_not_accept_stacked_statements(my: MySqlServer) -> None:
    """Multi-statement mode is off on the connection: a stacked query is a syntax error."""
    before = await my.snapshot()
    conn = await _connect(my)
    try:
        with pytest.raises(pymysql.MySQLError):
            await run_read_only(conn, f"SELECT 1; SELECT * FROM {my.table}", 10, 5)
    finally:
        conn.close()
    assert await my.snapshot() == before


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT 'a\\'; DELETE FROM t; -- ' AS s",
        'SELECT "a\\"; DELETE FROM t; -- " AS s',
        "SELECT 1 AS s # ; DELETE FROM t",
        "SELECT 1 AS s -- ; DELETE FROM t",
        "SELECT 1 AS `odd``; DELETE`",
        "SELECT 2--1 AS s",
    ],
)
async def test_screen_agrees_with_server_on_edges(
    my: MySqlServer, loopback_guard: OutboundGuard, sql: str
) -> None:
    result = await run_query("mysql", my.config, sql, guard=loopback_guard)
    assert result.count == 1


async def test_ansi_quotes_mode_cannot_confuse_the_screen(my: MySqlServer) -> None:
    """run_read_only pins sql_mode, so a server default of ANSI_QUOTES changes nothing."""
    conn = await _connect(my)
    try:
        async with conn.cursor() as cur:
            await cur.execute("SET SESSION sql_mode = 'ANSI_QUOTES,NO_BACKSLASH_ESCAPES'")
        rows = await run_read_only(conn, """SELECT "x" AS s, 'a\\'' AS t""", 10, 5)
        assert rows == [{"s": "x", "t": "a'"}]
    finally:
        conn.close()


async def test_sleep_is_cut_off_at_the_timeout(
    my: MySqlServer, loopback_guard: OutboundGuard
) -> None:
    # Named for this test: other tests' sleeps may run on the same server meanwhile.
    sql = f"SELECT SLEEP(30) AS agentloom_{uuid.uuid4().hex[:8]}"
    started = time.monotonic()
    with pytest.raises(UpstreamFailed) as info:
        await run_query("mysql", my.config, sql, guard=loopback_guard, timeout_s=1)
    assert time.monotonic() - started < 5
    assert "timed out" in info.value.message
    assert info.value.code == "TIMEOUT"  # QueryTimedOut: HTTP 504
    assert await _gone_within(my, sql, seconds=3)


async def test_client_timeout_kills_the_server_query(
    my: MySqlServer, loopback_guard: OutboundGuard, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Backstop: with the server-side limit defeated, KILL QUERY still stops it."""
    from storage.connectors import mysql as mysql_module

    original = mysql_module.run_read_only

    async def no_server_limit(conn, sql, max_rows, timeout_s, **bind):  # type: ignore[no-untyped-def]
        return await original(conn, sql, max_rows, 3600, **bind)

    monkeypatch.setattr(mysql_module, "run_read_only", no_server_limit)
    marker = f"SELECT SLEEP(30) AS agentloom_{uuid.uuid4().hex[:8]}"
    started = time.monotonic()
    with pytest.raises(UpstreamFailed) as info:
        await run_query("mysql", my.config, marker, guard=loopback_guard, timeout_s=1)
    assert time.monotonic() - started < 5
    assert "timed out" in info.value.message
    assert info.value.code == "TIMEOUT"  # QueryTimedOut: HTTP 504
    assert await _gone_within(my, marker, seconds=3)


async def test_sql_error_is_upstream_failed(my: MySqlServer, loopback_guard: OutboundGuard) -> None:
    with pytest.raises(UpstreamFailed) as info:
        await run_query(
            "mysql", my.config, "SELECT * FROM agentloom_no_such_table", guard=loopback_guard
        )
    assert "agentloom_no_such_table" in info.value.message


async def test_test_connection(my: MySqlServer, loopback_guard: OutboundGuard) -> None:
    check = await test_connection("mysql", my.config, guard=loopback_guard)
    assert check.ok, check.message
    assert "MariaDB" in check.message or "MySQL" in check.message


async def test_wrong_password_is_upstream_failed_without_the_password(
    my: MySqlServer, loopback_guard: OutboundGuard
) -> None:
    user = f"al_{uuid.uuid4().hex[:8]}"
    async with my.admin.cursor() as cur:
        await cur.execute(f"CREATE USER '{user}'@'%' IDENTIFIED BY 'right-password-1'")
        await cur.execute(f"CREATE USER '{user}'@'localhost' IDENTIFIED BY 'right-password-1'")
        await cur.execute(f"GRANT SELECT ON `{my.config['database']}`.* TO '{user}'@'%'")
        await cur.execute(f"GRANT SELECT ON `{my.config['database']}`.* TO '{user}'@'localhost'")
    try:
        config = {**my.config, "username": user, "password": "wrong-password-xyz"}
        with pytest.raises(UpstreamFailed) as info:
            await run_query("mysql", config, "SELECT 1", guard=loopback_guard)
        assert "wrong-password-xyz" not in info.value.message
        assert "denied" in info.value.message.lower()
        check = await test_connection("mysql", config, guard=loopback_guard)
        assert not check.ok and "wrong-password-xyz" not in check.message
        masked = mask_config("mysql", config)
        assert masked["password"] == "********"
        assert "wrong-password-xyz" not in str(masked)
        ok = {**config, "password": "right-password-1"}
        assert (await test_connection("mysql", ok, guard=loopback_guard)).ok
    finally:
        async with my.admin.cursor() as cur:
            await cur.execute(f"DROP USER IF EXISTS '{user}'@'%'")
            await cur.execute(f"DROP USER IF EXISTS '{user}'@'localhost'")


async def test_guard_refuses_loopback_when_not_allowed(my: MySqlServer, honeypot: Honeypot) -> None:
    config = {**my.config, "port": honeypot.port}
    with pytest.raises(OutboundRefused) as info:
        await run_query("mysql", config, "SELECT 1", guard=OutboundGuard())
    assert info.value.field == "config.host"
    with pytest.raises(OutboundRefused):
        await test_connection("mysql", config, guard=OutboundGuard())
    assert honeypot.connections == []


async def _connect(my: MySqlServer) -> aiomysql.Connection:
    return await open_connection(sql_target(my.config, 3306), my.config["host"], 5)


async def _gone_within(my: MySqlServer, sql: str, *, seconds: float) -> bool:
    """KILL QUERY is asynchronous on the server: the thread leaves the process list
    within moments, not at once (a SLEEP(30) left running would stay 30 s)."""
    deadline = time.monotonic() + seconds
    while await _running(my, sql):
        if time.monotonic() > deadline:
            return False
        await anyio.sleep(0.1)
    return True


async def _running(my: MySqlServer, sql: str) -> int:
    async with my.admin.cursor() as cur:
        await cur.execute(
            "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE INFO = %s", (sql,)
        )
        (count,) = await cur.fetchone()
    return int(count)
