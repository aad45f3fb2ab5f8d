"""Seed 003 credentials, API keys and uploads, over REST, GraphQL and WebSocket."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from tests.datasources_api.test_datasources_v1 import PG, Honeypot
from tests.runs.helpers import chain, create_workflow, node, wait_terminal
from tests.support.live import TLS, LiveServer

CREDENTIAL_KEYS = {
    "id",
    "provider",
    "name",
    "hasApiKey",
    "endpoint",
    "model",
    "createdAt",
    "updatedAt",
}


def test_credentials_crud_runtime_keys_and_scope(server: LiveServer) -> None:
    alice, bob = server.register(), server.register()
    canary = f"sk-{uuid.uuid4().hex}"
    with server.client(alice["token"]) as c:
        r = c.post(
            "/api/credentials", json={"provider": "openai", "name": "main", "apiKey": canary}
        )
        assert r.status_code == 201, r.text
        cred = r.json()
        assert set(cred) == CREDENTIAL_KEYS and cred["hasApiKey"] is True
        listed = c.get("/api/credentials")
        assert canary not in listed.text and listed.json()[0]["id"] == cred["id"]
        r = c.put(f"/api/credentials/{cred['id']}", json={"model": "gpt-4o"})
        assert r.status_code == 200 and r.json()["model"] == "gpt-4o" and r.json()["hasApiKey"]
        keys = c.get("/api/credentials/runtime-keys")
        assert keys.status_code == 200, keys.text
        assert keys.json()[0]["apiKey"] == canary
        statuses = [c.get("/api/credentials/runtime-keys").status_code for _ in range(10)]
        assert statuses[-1] == 429 and statuses.count(200) == 9
        assert c.post("/api/credentials", json={"name": "x"}).status_code == 422
    with server.client(bob["token"]) as c:
        assert c.get("/api/credentials").json() == []
        assert c.put(f"/api/credentials/{cred['id']}", json={"name": "x"}).status_code == 404
        assert c.delete(f"/api/credentials/{cred['id']}").status_code == 404
    with server.client(alice["token"]) as c:
        deleted = c.delete(f"/api/credentials/{cred['id']}")
        assert deleted.status_code == 200 and deleted.json() == {"success": True}
        assert c.get("/api/credentials").json() == []


def test_credential_endpoint_guarded(server: LiveServer) -> None:
    pot = Honeypot()
    try:
        user = server.register()
        with server.client(user["token"]) as c:
            r = c.post(
                "/api/credentials",
                json={
                    "provider": "openai",
                    "apiKey": "k",
                    "endpoint": f"http://127.0.0.1:{pot.port}/v1",
                },
            )
            # Checked for syntax only when saved (no DNS, no connection); the guard
            # refuses it when an LLM node uses it (tests/seed_fidelity).
            assert r.status_code == 201, r.text
    finally:
        pot.close()
    assert pot.connections == 0


def _hc(server: LiveServer, headers: dict[str, str]) -> httpx.Client:
    return httpx.Client(base_url=server.base_url, headers=headers, timeout=30, verify=TLS)


def _key(c: object, **body: object) -> dict:
    r = c.post("/api/keys", json={"name": "k", **body})  # type: ignore[attr-defined]
    assert r.status_code == 201, r.text
    return r.json()


def test_api_keys_scope_expiry_revoke(server: LiveServer) -> None:
    user = server.register()
    with server.client(user["token"]) as c:
        nodes = [node("start", "start"), node("end", "end")]
        wf_in = create_workflow(c, nodes, chain(*nodes), name="in")
        wf_out = create_workflow(c, nodes, chain(*nodes), name="out")
        ex_out = c.post(f"/api/v1/workflows/{wf_out}/execute", json={"input_data": {}}).json()
        wait_terminal(c, ex_out["id"])
        scoped = _key(c, scopedWorkflowIds=f"{wf_in}, ")
        assert set(scoped) == {
            "id",
            "name",
            "keyPrefix",
            "scopedWorkflowIds",
            "expiresAt",
            "createdAt",
            "rawKey",
        }
        raw = scoped["rawKey"]
        assert raw.startswith("acl_") and scoped["keyPrefix"] == raw[:12] + "..."
        assert scoped["scopedWorkflowIds"] == wf_in
        listed = c.get("/api/keys").json()
        assert "rawKey" not in listed[0] and raw not in str(listed)
        assert (
            c.post("/api/keys", json={"name": "k", "expiresAt": "2001-01-01T00:00:00Z"}).status_code
            == 422
        )

    # REST with the scoped key: its workflow yes, the other one answers like a missing one.
    for headers in ({"Authorization": f"Bearer {raw}"}, {"X-Api-Key": raw}):
        with _hc(server, headers) as k:
            assert k.get(f"/api/v1/workflows/{wf_in}").status_code == 200
            assert k.get(f"/api/v1/workflows/{wf_out}").status_code == 404
            assert [w["id"] for w in k.get("/api/v1/workflows").json()] == [wf_in]
            assert k.post(f"/api/v1/workflows/{wf_out}/execute", json={}).status_code == 404
            assert k.get(f"/api/v1/executions/{ex_out['id']}").status_code == 404
            r = k.post(f"/api/v1/workflows/{wf_in}/execute", json={"input_data": {}})
            assert r.status_code in (200, 201, 202), r.text
            ex_in = r.json()["id"]
            wait_terminal(k, ex_in)
            assert ex_out["id"] not in str(k.get("/api/v1/executions").json())
            # Managing keys and credentials needs a session.
            assert k.get("/api/keys").status_code == 403
            assert k.post("/api/keys", json={"name": "x"}).status_code == 403
            assert k.get("/api/credentials").status_code == 403
    # GraphQL.
    with _hc(server, {"X-Api-Key": raw}) as k:
        r = k.post("/graphql", json={"query": f'{{ workflow(id: "{wf_out}") {{ id }} }}'})
        # Outside the key's scope answers exactly like a missing workflow: null, no error.
        assert r.json() == {"data": {"workflow": None}}
        r = k.post("/graphql", json={"query": f'{{ workflow(id: "{wf_in}") {{ id }} }}'})
        assert r.json()["data"]["workflow"]["id"] == wf_in
    # WebSocket: token query parameter and X-Api-Key header.
    ws = server.ws_url
    with connect(f"{ws}/api/v1/ws/executions/{ex_in}?token={raw}") as sock:
        assert "status" in sock.recv(timeout=10)
    with connect(
        f"{ws}/api/v1/ws/executions/{ex_in}", additional_headers={"X-Api-Key": raw}
    ) as sock:
        assert "status" in sock.recv(timeout=10)
    with pytest.raises(Exception):  # noqa: B017 - closed before or right after accept
        with connect(f"{ws}/api/v1/ws/executions/{ex_out['id']}?token={raw}") as sock:
            sock.recv(timeout=10)
    # Revoke: the key stops working everywhere.
    with server.client(user["token"]) as c:
        deleted = c.delete(f"/api/keys/{scoped['id']}")
        assert deleted.status_code == 200 and deleted.json() == {"success": True}
        assert c.delete(f"/api/keys/{scoped['id']}").status_code == 404
    with _hc(server, {"X-Api-Key": raw}) as k:
        assert k.get(f"/api/v1/workflows/{wf_in}").status_code == 401
    with _hc(server, {"Authorization": "Bearer acl_unknown"}) as k:
        assert k.get("/api/v1/workflows").status_code == 401
    with pytest.raises((InvalidStatus, Exception)):
        with connect(f"{ws}/api/v1/ws/executions/{ex_in}?token={raw}") as sock:
            sock.recv(timeout=10)


def test_api_key_expiry(server: LiveServer) -> None:
    import time
    from datetime import UTC, datetime, timedelta

    user = server.register()
    with server.client(user["token"]) as c:
        soon = (datetime.now(UTC) + timedelta(seconds=1.5)).isoformat()
        raw = _key(c, expiresAt=soon)["rawKey"]
    with _hc(server, {"X-Api-Key": raw}) as k:
        assert k.get("/api/v1/workflows").status_code == 200
        time.sleep(2)
        r = k.get("/api/v1/workflows")
        assert r.status_code == 401 and "expired" in r.text


def test_upload_round_trip_and_cap(server: LiveServer) -> None:
    user = server.register()
    with server.client(user["token"]) as c:
        payload = b'[{"a": 1}, {"a": 2}, {"a": 3}]'
        r = c.post("/api/upload", files={"file": ("rows.json", payload, "application/json")})
        assert r.status_code == 200, r.text
        up = r.json()
        assert up["fileId"].startswith("upload-") and up["size"] == len(payload)
        assert up["fileName"] == "rows.json"
        # A json data source reads the upload (owner-scoped).
        r = c.post(
            "/api/v1/data-sources",
            json={"name": "f", "type": "json", "config": {"file_id": up["fileId"]}},
        )
        ds = r.json()
        r = c.post(f"/api/v1/data-sources/{ds['id']}/query", json={"query": ""})
        assert r.status_code == 200 and r.json()["count"] == 3, r.text
        big = b"x" * (32 * 1024 * 1024 + 1)
        r = c.post("/api/upload", files={"file": ("big.bin", big)})
        assert r.status_code == 413, r.text
        assert r.json()["code"] == "PAYLOAD_TOO_LARGE"
    other = server.register()
    with server.client(other["token"]) as c:
        r = c.post(
            "/api/v1/data-sources",
            json={"name": "f", "type": "json", "config": {"file_id": up["fileId"]}},
        )
        r = c.post(f"/api/v1/data-sources/{r.json()['id']}/query", json={"query": ""})
        assert r.status_code == 404, r.text


def test_canary_secrets_not_in_database_files_nor_logs(
    server_factory: Callable[..., LiveServer], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    data_dir = tmp_path / "embedded"
    server = server_factory(mongodb_uri=None, data_dir=data_dir)
    canary = f"canary-{uuid.uuid4().hex}"
    user = server.register()
    with server.client(user["token"]) as c:
        r = c.post(
            "/api/v1/data-sources",
            json={"name": "pg", "type": "postgresql", "config": {**PG, "password": canary}},
        )
        assert r.status_code == 201 and canary not in r.text
        r = c.post("/api/credentials", json={"provider": "openai", "apiKey": canary + "-key"})
        assert r.status_code == 201 and canary not in r.text
        c.post(f"/api/v1/data-sources/{r.json()['id']}/test")
    server.stop()
    files = [p for p in data_dir.rglob("*") if p.is_file()]
    assert files
    needle = canary.encode()
    leaked = [p for p in files if needle in p.read_bytes()]
    assert leaked == []
    assert canary not in caplog.text
