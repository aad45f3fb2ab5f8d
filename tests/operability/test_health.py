"""/healthz and /readyz, with the database really stopped under a running server."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import anyio
import pytest

from storage.bootstrap import EmbeddedServer, start_embedded
from tests.analytics.helpers import wait_for
from tests.support.live import LiveServer, start_live_server


@pytest.fixture
def own_database(tmp_path: Path) -> Iterator[EmbeddedServer]:
    """A SecantusDB subprocess of this test alone, so stopping it hurts nobody else."""
    embedded = start_embedded(tmp_path / "db")
    try:
        yield embedded
    finally:
        embedded.stop()


def test_readyz_turns_503_when_the_database_stops(
    own_database: EmbeddedServer, tmp_path: Path
) -> None:
    server: LiveServer = start_live_server(
        mongodb_uri=own_database.uri,
        database=f"t_{uuid.uuid4().hex[:8]}",
        data_dir=tmp_path / "data",
    )
    try:
        with server.client() as c:
            ready = c.get("/readyz")
            assert ready.status_code == 200
            assert ready.json() == {"status": "ready", "checks": {"database": True, "runs": True}}
            assert c.get("/healthz").json() == {"status": "ok"}

            own_database.stop()
            started = time.monotonic()
            gone = wait_for(lambda: (r := c.get("/readyz")).status_code == 503 and r, what="503")
            # The ping has a short deadline: a dead database is noticed in seconds, not 30.
            assert time.monotonic() - started < 10
            assert gone.json() == {
                "status": "unavailable",
                "checks": {"database": False, "runs": True},
            }
            assert c.get("/healthz").status_code == 200  # alive all the same
        # And it stops promptly all the same: closing the client once waited out the
        # driver's 30 s server selection to end its sessions on the dead database.
        stopping = time.monotonic()
        server.stop()
        assert not server.thread.is_alive() and time.monotonic() - stopping < 10
    finally:
        server.stop()


def test_a_server_that_leaves_runs_to_workers_is_ready_without_a_run_loop(
    server_factory: Callable[..., LiveServer],
) -> None:
    server = server_factory(run_in_server=False)
    with server.client() as c:
        r = c.get("/readyz")
    assert r.status_code == 200
    assert r.json()["checks"] == {"database": True, "runs": True}
    assert server.app.state.services.executions is not None


def test_a_stuck_run_loop_makes_the_server_unready(
    server_factory: Callable[..., LiveServer],
) -> None:
    """`runs` is the loop that claims and resumes runs coming round, not a flag."""
    server = server_factory()
    host = server.app.state.run_host
    with server.client() as c:
        # Ready as it starts (its first sweep has as long as any other to come round).
        assert c.get("/readyz").json()["checks"] == {"database": True, "runs": True}
        host.stale_after_s = 0.5

        async def stuck() -> list[str]:
            await anyio.sleep_forever()
            return []

        host.recover = stuck  # the next sweep hangs here, as a loop stuck on a call would
        gone = wait_for(lambda: (r := c.get("/readyz")).status_code == 503 and r, what="503")
        assert gone.json() == {"status": "unavailable", "checks": {"database": True, "runs": False}}
        assert c.get("/healthz").status_code == 200  # alive all the same
