"""Seed 000's data source `test` and `query` contract under the default configuration.

`POST /api/v1/data-sources/{id}/test` answers 200 `{"status", "message"}` for
every source it can judge, including one the outbound guard refuses; `query`
answers the refusal as a 4xx with the same message; a query that runs out of
time is 504 `TIMEOUT` (a gateway timeout), not 502.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from tests.datasources_api.conftest import PG
from tests.support.live import LiveServer


def test_refused_host_test_fails_softly_and_query_is_4xx_with_the_same_message(
    server: LiveServer,
) -> None:
    user = server.register()
    with server.client(user["token"]) as c:
        r = c.post(
            "/api/v1/data-sources",
            json={"name": "local", "type": "postgresql", "config": PG},
        )
        assert r.status_code == 201, r.text
        source = r.json()["id"]
        r = c.post(f"/api/v1/data-sources/{source}/test")
        assert r.status_code == 200, r.text
        body = r.json()
        assert set(body) == {"status", "message"}
        assert body["status"] == "failed"
        assert "127.0.0.1" in body["message"] and "AGENTLOOM_OUTBOUND_ALLOW" in body["message"]
        r = c.post(f"/api/v1/data-sources/{source}/query", json={"query": "SELECT 1"})
        assert 400 <= r.status_code < 500, r.text
        assert r.json()["detail"].endswith(body["message"])  # REST prefixes the field
        assert r.json()["error_code"] == "OUTBOUND_REFUSED"


def test_query_that_times_out_is_504_timeout(server_factory: Callable[..., LiveServer]) -> None:
    allowed = server_factory(outbound_allow="127.0.0.1", query_timeout_seconds=1.5)
    user = allowed.register()
    with allowed.client(user["token"]) as c:
        r = c.post("/api/v1/data-sources", json={"name": "pg", "type": "postgresql", "config": PG})
        assert r.status_code == 201, r.text
        source = r.json()["id"]
        started = time.monotonic()
        r = c.post(f"/api/v1/data-sources/{source}/query", json={"query": "SELECT pg_sleep(30)"})
        assert time.monotonic() - started < 10
    assert r.status_code == 504, r.text
    assert r.json()["error_code"] == "TIMEOUT"
    assert r.json()["status_code"] == 504
    assert "timed out after 1.5s" in r.json()["detail"]  # AGENTLOOM_QUERY_TIMEOUT_SECONDS
