"""Seed 000 `/api/v1/data-sources` against real PostgreSQL and MariaDB on loopback."""

# ruff: noqa: S608  (table names are generated here, not user input)
from __future__ import annotations

import socket
import threading
import uuid
from typing import Any

import pytest

from tests.datasources_api.conftest import MY, PG, admin_my, admin_pg
from tests.runs.helpers import chain, create_workflow, node, wait_terminal
from tests.support.live import LiveServer


def _create(c: Any, **body: Any) -> dict:
    r = c.post("/api/v1/data-sources", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def test_crud_masking_test_and_query_postgres(allowed: LiveServer, pg: str) -> None:
    user = allowed.register()
    canary = f"pw-{uuid.uuid4().hex}"
    with allowed.client(user["token"]) as c:
        ds = _create(
            c,
            name="pg",
            type="postgresql",
            description="d",
            config={**PG, "password": canary},
        )
        assert ds["config"]["password"] == "********"
        assert ds["status"] == "active"
        assert set(ds) >= {"id", "name", "type", "description", "config", "status", "created_at"}
        got = c.get(f"/api/v1/data-sources/{ds['id']}").json()
        assert got["config"] == {**PG, "password": "********"}
        # Postgres trusts loopback: a wrong stored password still connects, so test succeeds.
        assert c.post(f"/api/v1/data-sources/{ds['id']}/test").json()["status"] == "success"
        r = c.post(f"/api/v1/data-sources/{ds['id']}/query", json={"query": f"SELECT * FROM {pg}"})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["count"] == 2 and body["truncated"] is False
        assert {row["name"] for row in body["data"]} == {"ada", "grace"}
        # The masked value sent back keeps the secret; the name changes.
        r = c.put(
            f"/api/v1/data-sources/{ds['id']}",
            json={"name": "pg2", "config": {**PG, "password": "********"}},
        )
        assert r.status_code == 200, r.text
        assert r.json()["name"] == "pg2"
        r = c.put(f"/api/v1/data-sources/{ds['id']}", json={"status": "inactive"})
        assert r.json()["status"] == "inactive"
        listed = c.get("/api/v1/data-sources", params={"type": "postgresql"}).json()
        assert [d["id"] for d in listed] == [ds["id"]]
        assert c.get("/api/v1/data-sources", params={"status": "active"}).json() == []
        assert c.get("/api/v1/data-sources", params={"limit": 101}).status_code == 422
        for response_text in (r.text, str(listed), got.__repr__()):
            assert canary not in response_text
        r = c.delete(f"/api/v1/data-sources/{ds['id']}")
        assert r.status_code == 200 and "message" in r.json()
        assert c.get(f"/api/v1/data-sources/{ds['id']}").status_code == 404


@pytest.mark.parametrize(
    "statement",
    [
        "DELETE FROM {t}",
        "DROP TABLE {t}",
        "UPDATE {t} SET name = 'x'",
        "SELECT 1; DELETE FROM {t}",
        "INSERT INTO {t} VALUES (3, 'x')",
    ],
)
def test_writes_refused_table_unchanged_postgres(
    allowed: LiveServer, pg: str, statement: str
) -> None:
    user = allowed.register()
    with allowed.client(user["token"]) as c:
        ds = _create(c, name="pg", type="postgresql", config=PG)
        r = c.post(f"/api/v1/data-sources/{ds['id']}/query", json={"query": statement.format(t=pg)})
        assert r.status_code == 422, r.text
        assert set(r.json()) == {"detail", "error_code", "status_code"}
    assert sorted(row["name"] for row in admin_pg(f"SELECT name FROM {pg}")) == ["ada", "grace"]


@pytest.mark.parametrize("statement", ["DELETE FROM {t}", "SELECT 1; DROP TABLE {t}"])
def test_mariadb_query_and_refusals(allowed: LiveServer, mariadb: str, statement: str) -> None:
    user = allowed.register()
    with allowed.client(user["token"]) as c:
        ds = _create(c, name="my", type="mysql", config=MY)
        r = c.post(
            f"/api/v1/data-sources/{ds['id']}/query", json={"query": f"SELECT * FROM {mariadb}"}
        )
        assert r.status_code == 200, r.text
        assert r.json()["count"] == 2
        r = c.post(
            f"/api/v1/data-sources/{ds['id']}/query", json={"query": statement.format(t=mariadb)}
        )
        assert r.status_code == 422, r.text
    assert len(admin_my(f"SELECT name FROM {mariadb}")) == 2


def test_validation_unreachable_and_other_users(allowed: LiveServer) -> None:
    alice, bob = allowed.register(), allowed.register()
    with allowed.client(alice["token"]) as c:
        r = c.post("/api/v1/data-sources", json={"name": "x", "type": "postgresql", "config": {}})
        assert r.status_code == 422 and "config." in r.json()["detail"], r.text
        r = c.post("/api/v1/data-sources", json={"name": "x", "type": "oracle", "config": {}})
        assert r.status_code == 422
        # A closed loopback port: the test answers "failed", a query answers 502.
        closed = socket.socket()
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
        closed.close()
        ds = _create(c, name="dead", type="postgresql", config={**PG, "port": port})
        r = c.post(f"/api/v1/data-sources/{ds['id']}/test")
        assert r.status_code == 200 and r.json()["status"] == "failed", r.text
        r = c.post(f"/api/v1/data-sources/{ds['id']}/query", json={"query": "SELECT 1"})
        assert r.status_code == 502, r.text
    with allowed.client(bob["token"]) as c:
        for method, path in [
            ("GET", ""),
            ("PUT", ""),
            ("DELETE", ""),
            ("POST", "/test"),
            ("POST", "/query"),
        ]:
            r = c.request(
                method, f"/api/v1/data-sources/{ds['id']}{path}", json={"query": "SELECT 1"}
            )
            assert r.status_code == 404, (method, path, r.text)
        assert c.get("/api/v1/data-sources").json() == []


def test_graphql_masks_and_queries(allowed: LiveServer) -> None:
    user = allowed.register()
    with allowed.client(user["token"]) as c:
        r = c.post(
            "/graphql",
            json={
                "query": "mutation($i: CreateDataSourceInput!) { createDataSource(input: $i)"
                " { dataSource { id config status } userErrors { field message } } }",
                "variables": {
                    "i": {
                        "name": "j",
                        "type": "JSON",
                        "config": {"data": [{"a": 1}, {"a": 2}]},
                    }
                },
            },
        )
        created = r.json()["data"]["createDataSource"]
        assert created["userErrors"] == [] and created["dataSource"]["status"] == "ACTIVE", r.text
        ds = created["dataSource"]
        r = c.post(
            "/graphql",
            json={
                "query": "mutation($i: QueryDataSourceInput!) { queryDataSource(input: $i)"
                " { result { data count truncated } userErrors { field message } } }",
                "variables": {"i": {"id": ds["id"], "query": ""}},
            },
        )
        body = r.json()
        assert body["data"]["queryDataSource"]["result"]["count"] == 2, body
        # Another user's or a missing source: a top-level NOT_FOUND, like REST's 404.
        r = c.post(
            "/graphql",
            json={
                "query": "mutation($i: QueryDataSourceInput!) { queryDataSource(input: $i)"
                " { result { count } userErrors { field message } } }",
                "variables": {"i": {"id": "no-such-source", "query": ""}},
            },
        )
        body = r.json()
        assert body["data"] is None, body
        assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND", body


class Honeypot:
    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self._stop = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self._stop = True
        self.thread.join(timeout=2)
        self.sock.close()


def test_ssrf_loopback_refused_by_default(server: LiveServer) -> None:
    pot = Honeypot()
    try:
        user = server.register()
        with server.client(user["token"]) as c:
            for ds_type, config in [
                ("postgresql", {**PG, "port": pot.port}),
                ("mysql", {**MY, "port": pot.port}),
                ("api", {"base_url": f"http://127.0.0.1:{pot.port}/"}),
            ]:
                ds = _create(c, name="ssrf", type=ds_type, config=config)
                # Seed 000's test contract: a refused host is a failed test, not an error.
                r = c.post(f"/api/v1/data-sources/{ds['id']}/test")
                assert r.status_code == 200, r.text
                assert r.json()["status"] == "failed"
                assert "AGENTLOOM_OUTBOUND_ALLOW" in r.json()["message"]
                r = c.post(f"/api/v1/data-sources/{ds['id']}/query", json={"query": "SELECT 1"})
                assert r.status_code == 422, r.text
    finally:
        pot.close()
    assert pot.connections == 0


def test_workflow_datasource_node_against_postgres(allowed: LiveServer, pg: str) -> None:
    user = allowed.register()
    with allowed.client(user["token"]) as c:
        ds = _create(c, name="pg", type="postgresql", config=PG)
        nodes = [
            node("start", "start"),
            node(
                "q",
                "datasource",
                data_source_id=ds["id"],
                query=f"SELECT name FROM {pg} ORDER BY id",
            ),
            node("end", "end"),
        ]
        wf = create_workflow(c, nodes, chain(*nodes))
        r = c.post(f"/api/v1/workflows/{wf}/execute", json={"input_data": {}})
        assert r.status_code in (200, 201, 202), r.text
        done = wait_terminal(c, r.json()["id"])
        assert done["status"] == "completed", done
        assert "grace" in str(done["output_data"])
    other = allowed.register()
    with allowed.client(other["token"]) as c:
        wf = create_workflow(c, nodes, chain(*nodes))
        r = c.post(f"/api/v1/workflows/{wf}/execute", json={"input_data": {}})
        done = wait_terminal(c, r.json()["id"])
        assert done["status"] == "failed", done
