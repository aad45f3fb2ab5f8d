"""Shared fixtures for the data source API tests: real PostgreSQL and MariaDB on loopback."""

# ruff: noqa: S608  (table names are generated here, not user input)
from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.support.live import LiveServer

PG = {"host": "127.0.0.1", "port": 5432, "database": "test", "username": "postgres"}
MY = {"host": "127.0.0.1", "port": 3306, "database": "test", "username": "root"}


def _reachable(port: int) -> None:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    except OSError as exc:
        reason = f"SQL server on 127.0.0.1:{port} not reachable: {exc}"
        if os.environ.get("AGENTLOOM_REQUIRE_SQL_SERVICES") == "1":
            pytest.fail(reason)
        pytest.skip(reason)


def admin_pg(sql: str) -> list[Any]:
    import anyio
    import asyncpg

    async def go() -> list[Any]:
        conn = await asyncpg.connect(host="127.0.0.1", port=5432, user="postgres", database="test")
        try:
            return list(await conn.fetch(sql))
        finally:
            await conn.close()

    return anyio.run(go)


def admin_my(sql: str) -> list[Any]:
    import aiomysql
    import anyio

    async def go() -> list[Any]:
        conn = await aiomysql.connect(host="127.0.0.1", port=3306, user="root", db="test")
        try:
            async with conn.cursor() as cur:
                await cur.execute(sql)
                rows = list(await cur.fetchall())
            await conn.commit()
            return rows
        finally:
            conn.close()

    return anyio.run(go)


@pytest.fixture
def table() -> str:
    return f"agentloom_ds_{uuid.uuid4().hex[:10]}"


@pytest.fixture
def pg(table: str) -> Iterator[str]:
    _reachable(5432)
    admin_pg(f"CREATE TABLE {table} (id int primary key, name text)")
    admin_pg(f"INSERT INTO {table} VALUES (1, 'ada'), (2, 'grace')")
    yield table
    admin_pg(f"DROP TABLE IF EXISTS {table}")


@pytest.fixture
def mariadb(table: str) -> Iterator[str]:
    _reachable(3306)
    admin_my(f"CREATE TABLE {table} (id int primary key, name varchar(20))")
    admin_my(f"INSERT INTO {table} VALUES (1, 'ada'), (2, 'grace')")
    yield table
    admin_my(f"DROP TABLE IF EXISTS {table}")


@pytest.fixture
def allowed(server_factory: Callable[..., LiveServer]) -> LiveServer:
    return server_factory(outbound_allow="127.0.0.1")
