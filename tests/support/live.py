"""A real app server on a loopback socket, run by uvicorn in a background thread."""

from __future__ import annotations

import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
import uvicorn

from agentloom import Settings, create_app
from engine.tls import tls_context

TLS = tls_context()
"""The TLS context for the tests' clients: httpx loads the CA bundle into a new one for
every client not handed one (20-30 ms of CPU each, about 8% of the suite's CPU)."""


@dataclass(kw_only=True)
class LiveServer:
    base_url: str
    port: int
    server: uvicorn.Server
    thread: threading.Thread
    settings: Settings
    app: Any = field(repr=False)

    @property
    def ws_url(self) -> str:
        return self.base_url.replace("http://", "ws://")

    def client(self, token: str | None = None, **kwargs: Any) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        kwargs.setdefault("verify", TLS)
        return httpx.Client(base_url=self.base_url, headers=headers, timeout=30, **kwargs)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=20)

    # -- conveniences used across the suites --------------------------------------------------

    def register(self, username: str | None = None, password: str = "correct-horse-9") -> dict:
        username = username or f"user_{uuid.uuid4().hex[:8]}"
        with self.client() as c:
            r = c.post(
                "/api/v1/auth/register",
                json={
                    "username": username,
                    "email": f"{username}@example.com",
                    "password": password,
                },
            )
            assert r.status_code == 201, r.text
            user = r.json()
            r = c.post("/api/v1/auth/login", data={"username": username, "password": password})
            assert r.status_code == 200, r.text
            user["token"] = r.json()["access_token"]
            user["password"] = password
        return user


def start_live_server(*, environ: dict[str, str] | None = None, **settings: Any) -> LiveServer:
    config_settings = Settings(**settings)
    app = create_app(config_settings, environ)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app, log_level="warning", lifespan="on", ws="websockets-sansio", proxy_headers=False
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("live server failed to start")
        time.sleep(0.02)
    return LiveServer(
        base_url=f"http://127.0.0.1:{port}",
        port=port,
        server=server,
        thread=thread,
        settings=config_settings,
        app=app,
    )
