"""PostgreSQL connector against the real server: reads work, nothing else does."""

# ruff: noqa: S608  (table names come from the fixture)
from __future__ import annotations

import time
import uuid

import anyio
import asyncpg
import pytest

from engine.errors import OutboundRefused, UpstreamFailed, ValidationFailed
from engine.outbound import OutboundGuard
from storage.connectors import mask_config, run_query, test_connection
from storage.connectors.postgresql import run_read_only

from .conftest import Honeypot, PgServer

pytestmark = pytest.mark.anyio


async def test_select_returns_json_safe_rows(pg: PgServer, loopback_guard: OutboundGuard) -> None:
    result = await run_query(
        "postgresql",
        pg.config,
        f"SELECT id, name, amount, created, uid, raw FROM {pg.table} ORDER BY id",
        guard=loopback_guard,
    )
    assert result.count == 5
    assert result.truncated is False
    first = result.data[0]
    assert first["id"] == 1
    assert first["name"] == "ada"
    assert first["amount"] == 10.5
    assert first["created"] == "2024-01-02T03:04:05+00:00"
    assert isinstance(first["uid"], str) and len(first["uid"]) == 36
    assert first["raw"] == "aGk="  # base64 of b"hi"


async def test_json_columns_are_decoded(pg: PgServer, loopback_guard: OutboundGuard) -> None:
    result = await run_query(
        "postgresql", pg.config, """SELECT '{"a": [1, 2]}'::jsonb AS j""", guard=loopback_guard
    )
    assert result.data == [{"j": {"a": [1, 2]}}]


async def test_row_cap_truncates(pg: PgServer, loopback_guard: OutboundGuard) -> None:
    result = await run_query(
        "postgresql",
        pg.config,
        f"SELECT * FROM {pg.table} ORDER BY id",
        guard=loopback_guard,
        row_cap=3,
    )
    assert [r["id"] for r in result.data] == [1, 2, 3]
    assert result.count == 3
    assert result.truncated is True
    exact = await run_query(
        "postgresql", pg.config, f"SELECT * FROM {pg.table}", guard=loopback_guard, row_cap=5
    )
    assert exact.count == 5 and exact.truncated is False


async def test_row_cap_does_not_read_everything(
    pg: PgServer, loopback_guard: OutboundGuard
) -> None:
    started = time.monotonic()
    result = await run_query(
        "postgresql",
        pg.config,
        "SELECT a.oid FROM pg_class a, pg_class b, pg_class c",
        guard=loopback_guard,
        row_cap=10,
        timeout_s=5,
    )
    assert result.count == 10 and result.truncated
    assert time.monotonic() - started < 3


@pytest.mark.parametrize(
    "template",
    [
        "INSERT INTO {t} (id, name) VALUES (99, 'x')",
        "UPDATE {t} SET name = 'x'",
        "DELETE FROM {t}",
        "DROP TABLE {t}",
        "CREATE TABLE {t}_2 (a int)",
        "TRUNCATE {t}",
        "SELECT 1; DELETE FROM {t}",
        "SELECT 1;DELETE FROM {t};",
        "SET TRANSACTION READ WRITE",
        "SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE",
        "COMMIT; DELETE FROM {t}",
        "ROLLBACK; DELETE FROM {t}",
        "BEGIN; DELETE FROM {t}",
        "WITH d AS (DELETE FROM {t} RETURNING *) SELECT * FROM d",
        "WITH u AS (UPDATE {t} SET name = 'x' RETURNING *) SELECT count(*) FROM u",
        "SELECT * INTO {t}_copy FROM {t}",
        "SELECT pg_terminate_backend(pg_backend_pid())",
        "SELECT pg_cancel_backend(pid) FROM pg_stat_activity",
        "SELECT set_config('default_transaction_read_only', 'off', false)",
        "SELECT pg_advisory_lock(42)",
        "SELECT query_to_xml('DELETE FROM {t}', true, true, '')",
        "SELECT * FROM {t} FOR UPDATE",
        "EXPLAIN ANALYZE DELETE FROM {t}",
        "DO $$ BEGIN DELETE FROM {t}; END $$",
        "COPY {t} TO '/tmp/agentloom_copy'",
        "SELECT $$x$$; DELETE FROM {t}",
        "SELECT 1 /* c */ ; /* c */ DELETE FROM {t}",
        "SELECT 'a\\'; DELETE FROM {t}; --'",
    ],
)
async def test_writes_are_refused_and_table_unchanged(
    pg: PgServer, loopback_guard: OutboundGuard, template: str
) -> None:
    before = await pg.snapshot()
    with pytest.raises(ValidationFailed) as info:
        await run_query("postgresql", pg.config, template.format(t=pg.table), guard=loopback_guard)
    assert info.value.field == "query"
    assert await pg.snapshot() == before
    assert await pg.exists()


@pytest.mark.parametrize(
    "template",
    [
        "INSERT INTO {t} (id, name) VALUES (99, 'x')",
        "UPDATE {t} SET name = 'x'",
        "DELETE FROM {t}",
        "DROP TABLE {t}",
        "CREATE TABLE {t}_2 (a int)",
        "WITH d AS (DELETE FROM {t} RETURNING *) SELECT * FROM d",
        "SELECT * INTO {t}_copy FROM {t}",
        "SELECT * FROM {t} FOR UPDATE",
        "SELECT nextval('agentloom_no_such_seq')",
    ],
)
async def test_database_refuses_writes_without_the_screen(pg: PgServer, template: str) -> None:
    """The second lock on its own: the read-only transaction refuses writes."""
    before = await pg.snapshot()
    conn = await asyncpg.connect(**_dsn(pg))
    try:
        with pytest.raises(asyncpg.PostgresError) as info:
            await run_read_only(conn, template.format(t=pg.table), 10, 5)
        assert info.value.sqlstate in ("25006", "42P01")
    finally:
        await conn.close()
    assert await pg.snapshot() == before
    assert await pg.exists()


async def test_statement_after_error_does_not_commit(pg: PgServer) -> None:
    """Reads inside run_read_only are rolled back, never committed."""
    conn = await asyncpg.connect(**_dsn(pg))
    try:
        await run_read_only(conn, "SELECT 1", 10, 5)
        assert not conn.is_in_transaction()
    finally:
        await conn.close()


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT E'\\'; DELETE FROM t; --' AS s",
        "SELECT $$ ; DELETE FROM t $$ AS s",
        "SELECT 1 AS s /* /* */ ; DELETE FROM t */",
        'SELECT 1 AS "odd""; DELETE"',
    ],
)
async def test_screen_agrees_with_server_on_edges(
    pg: PgServer, loopback_guard: OutboundGuard, sql: str
) -> None:
    """What the screen passes as one statement the server runs as one read."""
    result = await run_query("postgresql", pg.config, sql, guard=loopback_guard)
    assert result.count == 1


async def test_sleep_is_cut_off_at_the_timeout(pg: PgServer, loopback_guard: OutboundGuard) -> None:
    # Named for this test: other tests' sleeps may run on the same server meanwhile.
    sql = f"SELECT pg_sleep(30) AS agentloom_{uuid.uuid4().hex[:8]}"
    started = time.monotonic()
    with pytest.raises(UpstreamFailed) as info:
        await run_query("postgresql", pg.config, sql, guard=loopback_guard, timeout_s=1)
    assert time.monotonic() - started < 5
    assert "timed out" in info.value.message
    assert info.value.code == "TIMEOUT"  # QueryTimedOut: HTTP 504
    # The server no longer runs it either.
    running = await pg.admin.fetchval(
        "SELECT count(*) FROM pg_stat_activity WHERE query = $1 AND state = 'active'", sql
    )
    assert running == 0


async def test_sql_error_is_upstream_failed(pg: PgServer, loopback_guard: OutboundGuard) -> None:
    with pytest.raises(UpstreamFailed) as info:
        await run_query(
            "postgresql", pg.config, "SELECT * FROM agentloom_no_such_table", guard=loopback_guard
        )
    assert "agentloom_no_such_table" in info.value.message


async def test_test_connection(pg: PgServer, loopback_guard: OutboundGuard) -> None:
    check = await test_connection("postgresql", pg.config, guard=loopback_guard)
    assert check.ok, check.message
    assert "PostgreSQL" in check.message


async def test_wrong_database_reports_without_password(
    pg: PgServer, loopback_guard: OutboundGuard
) -> None:
    # Trust auth accepts any password here, so a missing database stands in
    # for a failed login; the password must still not leak.
    config = {**pg.config, "database": "agentloom_no_such_db", "password": "hunter2-secret"}
    with pytest.raises(UpstreamFailed) as info:
        await run_query("postgresql", config, "SELECT 1", guard=loopback_guard)
    assert "hunter2-secret" not in info.value.message
    check = await test_connection("postgresql", config, guard=loopback_guard)
    assert not check.ok and "hunter2-secret" not in check.message
    assert "hunter2-secret" not in str(mask_config("postgresql", config))


async def test_guard_refuses_loopback_when_not_allowed(pg: PgServer, honeypot: Honeypot) -> None:
    config = {**pg.config, "port": honeypot.port}
    with pytest.raises(OutboundRefused) as info:
        await run_query("postgresql", config, "SELECT 1", guard=OutboundGuard())
    assert info.value.field == "config.host"
    with pytest.raises(OutboundRefused):
        await test_connection("postgresql", config, guard=OutboundGuard())
    assert honeypot.connections == []


def _dsn(pg: PgServer) -> dict[str, object]:
    c = pg.config
    return {"host": c["host"], "port": c["port"], "user": c["username"], "database": c["database"]}


async def test_client_timeout_cancels_the_server_query(
    pg: PgServer, loopback_guard: OutboundGuard, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Backstop: with the server-side limit defeated, the client cancels the query."""
    from storage.connectors import postgresql as pg_module

    original = pg_module.run_read_only

    async def no_server_limit(conn, sql, max_rows, timeout_s, **bind):  # type: ignore[no-untyped-def]
        return await original(conn, sql, max_rows, 3600, **bind)

    monkeypatch.setattr(pg_module, "run_read_only", no_server_limit)
    marker = "SELECT pg_sleep(30) AS agentloom_client_timeout"
    started = time.monotonic()
    with pytest.raises(UpstreamFailed) as info:
        await run_query("postgresql", pg.config, marker, guard=loopback_guard, timeout_s=1)
    assert time.monotonic() - started < 5
    assert "timed out" in info.value.message
    assert info.value.code == "TIMEOUT"  # QueryTimedOut: HTTP 504
    for _ in range(20):  # the cancel request is asynchronous
        running = await pg.admin.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE query = $1 AND state = 'active'", marker
        )
        if running == 0:
            break
        await anyio.sleep(0.1)
    assert running == 0
