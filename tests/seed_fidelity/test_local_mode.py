"""Seed 003 without login: `AGENTLOOM_LOCAL_USER` (issue 12, item 1), from the client's side.

AgentCraftLab's front end is a single-user browser app on the same machine that
sends no credentials. In local mode its calls work as the named user (created on
first use); without local mode, and for anything that is not such a local call
(another machine, a proxied request, a foreign page's Origin, a rebound Host
name, bad credentials), the answer stays 401.
"""

from __future__ import annotations

import json
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn

from agentloom import Settings, create_app
from tests.agui.helpers import run_input, sse_events
from tests.operability.test_cli import AGENTLOOM, _one_clear_line, _run
from tests.seed_fidelity.helpers import echo_workflow
from tests.support.live import TLS, LiveServer


def client(server: LiveServer, headers: dict[str, str]) -> httpx.Client:
    """A client without credentials that sends these headers."""
    return httpx.Client(base_url=server.base_url, headers=headers, timeout=30, verify=TLS)


@pytest.fixture
def local(server_factory: Callable[..., LiveServer]) -> LiveServer:
    return server_factory(local_user="desk_user", cors_origins="http://app.example.test")


def test_front_end_calls_work_without_a_token(local: LiveServer) -> None:
    with local.client() as c:  # no Authorization, no X-Api-Key, from 127.0.0.1
        me = c.get("/api/v1/auth/me")
        assert me.status_code == 200, me.text
        assert me.json()["username"] == "desk_user"
        created = c.post(
            "/api/workflows",
            json={"name": "Local flow", "description": "", "workflowJson": echo_workflow()},
        )
        assert created.status_code == 201, created.text
        listed = c.get("/api/workflows")
        assert [w["id"] for w in listed.json()] == [created.json()["id"]]
        assert c.post("/api/credentials", json={"provider": "openai", "apiKey": "sk-1"}).is_success
        assert [k["provider"] for k in c.get("/api/credentials").json()] == ["openai"]
        _, events = sse_events(c, "/ag-ui", run_input(echo_workflow(), "hi"))
        assert events[-1]["type"] == "RUN_FINISHED"
        assert "You said hi" in json.dumps(events[-1]["result"])
        # GraphQL answers for the same user.
        r = c.post("/graphql", json={"query": "{ me { username } }"})
        assert r.json() == {"data": {"me": {"username": "desk_user"}}}


def test_the_local_user_is_created_once_and_kept(
    server_factory: Callable[..., LiveServer],
) -> None:
    first = server_factory(local_user="desk_user")
    with first.client() as c:
        ids = {c.get("/api/v1/auth/me").json()["id"] for _ in range(3)}
        c.post("/api/workflows", json={"name": "kept", "workflowJson": echo_workflow()})
    assert len(ids) == 1
    # A second server over the same database finds the same account, not a new one.
    second = server_factory(local_user="desk_user")
    with second.client() as c:
        assert c.get("/api/v1/auth/me").json()["id"] in ids
        assert [w["name"] for w in c.get("/api/workflows").json()] == ["kept"]


def test_without_local_mode_the_same_calls_are_401(server: LiveServer) -> None:
    with server.client() as c:
        for method, path, body in [
            ("GET", "/api/workflows", None),
            ("POST", "/api/workflows", {"name": "x"}),
            ("GET", "/api/credentials", None),
            ("POST", "/ag-ui", run_input(echo_workflow())),
        ]:
            r = c.request(method, path, json=body)
            assert r.status_code == 401, (path, r.text)
            assert set(r.json()) == {"code", "message"}
        assert c.get("/api/v1/auth/me").status_code == 401


def test_credentials_still_decide_when_sent(local: LiveServer) -> None:
    other = local.register()
    with local.client(other["token"]) as c:  # a real token: its own user, not the local one
        assert c.get("/api/v1/auth/me").json()["username"] == other["username"]
    with local.client("not-a-jwt") as c:  # credentials that fail are not "no credentials"
        assert c.get("/api/workflows").status_code == 401
    with client(local, {"X-Api-Key": "acl_wrong"}) as c:
        assert c.get("/api/workflows").status_code == 401


@pytest.mark.parametrize(
    ("headers", "local_ok"),
    [
        ({"Origin": "http://localhost:5173"}, True),  # the front end's dev server
        ({"Origin": "http://127.0.0.1:5200"}, True),
        ({"Origin": "http://app.example.test"}, True),  # listed in AGENTLOOM_CORS_ORIGINS
        ({"Origin": "https://evil.example"}, False),  # a foreign page in the same browser
        ({"Origin": "null"}, False),  # file:// or a sandboxed frame
        ({"Host": "rebound.example:5200"}, False),  # DNS rebinding to 127.0.0.1
        ({"X-Forwarded-For": "203.0.113.7"}, False),  # a proxy on this machine
        ({"Forwarded": "for=203.0.113.7"}, False),
        ({"X-Real-IP": "203.0.113.7"}, False),
    ],
)
def test_only_local_callers_get_the_local_user(
    local: LiveServer, headers: dict[str, str], local_ok: bool
) -> None:
    with client(local, headers) as c:
        r = c.post("/api/workflows", json={"name": "probe"})
    assert r.status_code == (201 if local_ok else 401), r.text


def test_the_wildcard_origin_does_not_make_pages_local(
    server_factory: Callable[..., LiveServer],
) -> None:
    server = server_factory(local_user="desk_user", cors_origins="*")
    with client(server, {"Origin": "https://evil.example"}) as c:
        assert c.get("/api/workflows").status_code == 401
    with client(server, {"Origin": "http://localhost:5173"}) as c:
        assert c.get("/api/workflows").status_code == 200


@pytest.fixture
def unix_server(mongo_uri: str, tmp_path: Path) -> Iterator[Path]:
    """The app in local mode on a Unix socket: its peers are not loopback addresses."""
    settings = Settings(
        mongodb_uri=mongo_uri,
        database=f"t_uds_{time.monotonic_ns()}",
        data_dir=tmp_path / "data",
        local_user="desk_user",
    )
    path = tmp_path / "agentloom.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(str(path))
    server = uvicorn.Server(uvicorn.Config(create_app(settings), log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "server did not start"
        time.sleep(0.02)
    try:
        yield path
    finally:
        server.should_exit = True
        thread.join(timeout=20)


def test_a_peer_that_is_not_loopback_needs_credentials(unix_server: Path) -> None:
    transport = httpx.HTTPTransport(uds=str(unix_server))
    with httpx.Client(transport=transport, base_url="http://localhost") as c:
        assert c.get("/healthz").status_code == 200  # the server is there
        r = c.get("/api/workflows")
    assert r.status_code == 401
    assert set(r.json()) == {"code", "message"}


def test_refused_in_production(tmp_path: Path) -> None:
    settings = Settings(
        env="production",
        local_user="desk_user",
        secret_key="s" * 40,
        data_dir=tmp_path / "data",
    )
    with pytest.raises(SystemExit, match="AGENTLOOM_LOCAL_USER is refused"):
        create_app(settings)


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"AGENTLOOM_ENV": "production", "AGENTLOOM_LOCAL_USER": "desk_user"}, "LOCAL_USER"),
        ({"AGENTLOOM_LOCAL_USER": "two words"}, "AGENTLOOM_LOCAL_USER"),
        ({"AGENTLOOM_CORS_ORIGINS": "http://ok.test,localhost:5173/app"}, "CORS_ORIGINS"),
    ],
)
def test_bad_settings_stop_the_cli_with_one_line(
    tmp_path: Path, env: dict[str, str], named: str
) -> None:
    result: subprocess.CompletedProcess[str] = _run(
        [AGENTLOOM, "serve", "--port", "0", "--data-dir", str(tmp_path / "data")],
        AGENTLOOM_SECRET_KEY="s" * 40,
        **env,
    )
    assert named in _one_clear_line(result)
