"""Shared fixtures: one embedded MongoDB-compatible server for the session, live servers."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from engine.services import accounts
from tests.support.fixtures import openai_server  # noqa: F401 - a fixture
from tests.support.live import SUITE_ENVIRON, LiveServer, start_live_server
from tests.support.test_database import database_process

# Inherited by every process a test starts; a value set by hand wins.
os.environ.update({key: value for key, value in SUITE_ENVIRON.items() if key not in os.environ})

PRODUCTION_PASSWORD_HASHER = accounts.PASSWORD_HASHER
TEST_PASSWORD_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
"""argon2id still, at 1 MiB and one pass, for the in-process servers: most tests register
and log in users, and at the product's 19 MiB x 2 a hash costs 38 ms of CPU here and a check
26 ms (4% of the suite's samples). Servers started as processes keep the product's cost,
and tests/api/test_accounts.py checks it end to end."""


@pytest.fixture(scope="session", autouse=True)
def _cheap_password_hashing() -> Iterator[None]:
    accounts.PASSWORD_HASHER = TEST_PASSWORD_HASHER
    dummy, accounts._DUMMY_HASH = accounts._DUMMY_HASH, TEST_PASSWORD_HASHER.hash("dummy")
    yield
    accounts.PASSWORD_HASHER, accounts._DUMMY_HASH = PRODUCTION_PASSWORD_HASHER, dummy


@pytest.fixture
def production_password_hashing() -> Iterator[None]:
    """The product's hashing cost, for a test that checks it."""
    cheap, dummy = accounts.PASSWORD_HASHER, accounts._DUMMY_HASH
    accounts.PASSWORD_HASHER = PRODUCTION_PASSWORD_HASHER
    accounts._DUMMY_HASH = PRODUCTION_PASSWORD_HASHER.hash("dummy")
    yield
    accounts.PASSWORD_HASHER, accounts._DUMMY_HASH = cheap, dummy


@pytest.fixture(scope="session")
def mongo_uri(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with database_process(tmp_path_factory.mktemp("mongo")) as uri:
        yield uri


@pytest.fixture
def server_factory(mongo_uri: str, tmp_path: Path) -> Iterator[Callable[..., LiveServer]]:
    """Start app servers (each on its own loopback port) over a fresh database."""
    started: list[LiveServer] = []
    database = f"t_{uuid.uuid4().hex[:12]}"

    def start(*, environ: dict[str, str] | None = None, **settings: object) -> LiveServer:
        values: dict[str, object] = {
            "mongodb_uri": mongo_uri,
            "database": database,
            "data_dir": tmp_path / "data",
            # A stopped test server hands its runs back at once instead of waiting for
            # their nodes (the product's default grace is 20 s; issue 16).
            "shutdown_grace_seconds": 1.0,
        }
        values.update(settings)
        server = start_live_server(environ=environ, **values)
        started.append(server)
        return server

    yield start
    for server in reversed(started):
        server.stop()


@pytest.fixture
def server(server_factory: Callable[..., LiveServer]) -> LiveServer:
    return server_factory()
