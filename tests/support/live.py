"""A real app server on a loopback socket, run by uvicorn in a background thread."""

from __future__ import annotations

import asyncio
import contextlib
import os
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

SUITE_ENVIRON = {"AGENTLOOM_PRELOAD_SDKS": "false"}
"""Settings every process the suite starts inherits (tests/conftest.py puts them in this
environment; `default_environ` keeps them). They change what a start costs, not what the
product does: servers and workers import each SDK at its first use instead of all three in
the background at start, a preload that is 2.1 of a worker's 3.8 s of start-up CPU, and the
suite starts dozens of processes on two cores. tests/operability/test_startup_imports.py
checks the product's default."""


def free_port() -> int:
    """A loopback port free now, for a server process that must be told its port."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def default_environ(**extra: str) -> dict[str, str]:
    """This environment without AGENTLOOM_ settings (a process started with it sees the
    product's defaults), but for the suite's own (`SUITE_ENVIRON`); `extra` on top."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("AGENTLOOM_") or key in SUITE_ENVIRON
    }
    env.update(extra)
    return env


class PromptServer(uvicorn.Server):
    """uvicorn's server, told to stop by an event instead of finding out at its next tick.

    uvicorn checks `should_exit` every 0.1 s and, stopping, gives open connections 0.1 s
    more; the suite stops hundreds of in-process servers, most with nothing open, each
    waiting about 0.15 s for nothing. `request_stop()` wakes the loop at once, and with no
    connection or request left the shutdown goes straight to the app's lifespan.
    """

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_requested: asyncio.Event | None = None

    async def main_loop(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop_requested = asyncio.Event()
        counter = 0
        should_exit = await self.on_tick(counter)
        while not should_exit:
            counter = (counter + 1) % 864000
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop_requested.wait(), 0.1)
            should_exit = await self.on_tick(counter)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        if self.server_state.connections or self.server_state.tasks:
            await super().shutdown(sockets)
            return
        # Nothing open: uvicorn would still give connections 0.1 s to wind down.
        for server in self.servers:
            server.close()
        for sock in sockets or []:
            sock.close()
        await self.lifespan.shutdown()

    def request_stop(self) -> None:
        self.should_exit = True
        loop, requested = self._loop, self._stop_requested
        if loop is not None and requested is not None:
            with contextlib.suppress(RuntimeError):  # its loop has closed already
                loop.call_soon_threadsafe(requested.set)


@dataclass(kw_only=True)
class LiveServer:
    base_url: str
    port: int
    server: PromptServer
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
        self.server.request_stop()
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
    server = PromptServer(config)
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
