"""AGENTLOOM_LOG_FORMAT=json: one JSON object per line, with the request id (kept from
X-Request-ID) and the execution id where they are known; runs logged as they start and end."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from tests.analytics.helpers import chain, node, wait_for
from tests.support.live import TLS, default_environ, free_port

AGENTLOOM = str(Path(sys.executable).with_name("agentloom"))


def _is_json(line: str) -> bool:
    try:
        json.loads(line)
    except ValueError:
        return False
    return True


def test_json_logs_carry_request_and_execution_ids(tmp_path: Path, mongo_uri: str) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log_file = tmp_path / "server.log"
    env = default_environ(
        AGENTLOOM_MONGODB_URI=mongo_uri,
        AGENTLOOM_DATABASE=f"t_{uuid.uuid4().hex[:10]}",
        AGENTLOOM_LOG_FORMAT="json",
        AGENTLOOM_ACCESS_LOG="true",
    )
    with log_file.open("wb") as sink:
        process = subprocess.Popen(
            [AGENTLOOM, "serve", "--data-dir", str(tmp_path / "data"), "--port", str(port)],
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_for(lambda: _ready(base), timeout=45, what="the server")
            token = _register(base)
            headers = {"Authorization": f"Bearer {token}"}
            request_id = f"req-{uuid.uuid4().hex[:10]}"
            nodes = [node("start-1", "start"), node("end-1", "end")]
            with httpx.Client(base_url=base, headers=headers, timeout=30, verify=TLS) as c:
                r = c.post(
                    "/api/v1/workflows",
                    json={"name": "logged", "nodes": nodes, "edges": chain(*nodes)},
                )
                workflow_id = r.json()["id"]
                r = c.post(
                    f"/api/v1/workflows/{workflow_id}/execute",
                    json={"input_data": {}},
                    headers={"X-Request-ID": request_id},
                )
                assert r.headers["x-request-id"] == request_id
                execution_id = r.json()["id"]
                wait_for(
                    lambda: (
                        c.get(f"/api/v1/executions/{execution_id}").json()["status"] == "completed"
                    ),
                    what="the run",
                )
                socket_url = f"ws://127.0.0.1:{port}/api/v1/ws/executions/{execution_id}"
                _websocket_once(f"{socket_url}?token={token}")
            wait_for(lambda: b"run ended" in log_file.read_bytes(), what="the run's end line")
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)

    raw = log_file.read_text().splitlines()
    not_json = [line for line in raw if line.strip() and not _is_json(line)]
    assert not not_json, not_json[:10]  # every line is one object
    lines = [json.loads(line) for line in raw if line.strip()]
    assert all({"time", "level", "logger", "message"} <= set(line) for line in lines)
    assert all(line["time"].endswith("Z") for line in lines)

    mine = [line for line in lines if line.get("request_id") == request_id]
    assert mine and any("/execute" in line["message"] for line in mine), lines
    assert all(line["logger"].startswith("uvicorn") or line.get("execution_id") for line in mine)

    started = _one(lines, "run started")
    ended = _one(lines, "run ended")
    for line in (started, ended):
        assert line["logger"] == "agentloom.runs" and line["level"] == "INFO"
        assert line["execution_id"] == execution_id and line["workflow_id"] == workflow_id
    assert ended["status"] == "completed" and isinstance(ended["duration_ms"], int)
    assert execution_id in ended["message"] and "status=completed" in ended["message"]

    # The seed WebSocket's ?token= went through the access log blanked.
    text = log_file.read_text()
    assert token not in text and "token=[redacted]" in text


def _one(lines: list[dict[str, Any]], message: str) -> dict[str, Any]:
    (found,) = [line for line in lines if line["message"].startswith(message)]
    return found


def _ready(base: str) -> bool:
    try:
        return httpx.get(base + "/readyz", timeout=1, verify=TLS).status_code == 200
    except httpx.HTTPError:
        return False


def _register(base: str) -> str:
    name = f"u{uuid.uuid4().hex[:8]}"
    credentials = {"username": name, "password": "correct-horse-9"}
    r = httpx.post(
        base + "/api/v1/auth/register",
        json={**credentials, "email": f"{name}@example.com"},
        verify=TLS,
    )
    assert r.status_code == 201, r.text
    r = httpx.post(base + "/api/v1/auth/login", data=credentials, verify=TLS)
    return str(r.json()["access_token"])


def _websocket_once(url: str) -> None:
    from websockets.exceptions import ConnectionClosed
    from websockets.sync.client import connect

    with connect(url) as ws:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                ws.recv(timeout=20)
            except ConnectionClosed:
                return


STRAY_OUTPUT = """
import gc, threading, warnings
from engine.log_format import configure_logging

configure_logging("json")
warnings.warn("an old way", UserWarning)
worker = threading.Thread(target=lambda: 1 / 0, name="stray-worker")
worker.start()
worker.join()

class Leaky:
    def __del__(self):
        raise RuntimeError("raised in __del__")

Leaky()
gc.collect()
"""


def test_warnings_and_uncaught_exceptions_are_json_lines_too() -> None:
    """Python prints these to stderr itself, as text: in a JSON log each was a line no
    shipper could parse (one broke the test above under load)."""
    done = subprocess.run(
        [sys.executable, "-c", STRAY_OUTPUT],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).resolve().parents[2],
        check=False,
    )
    raw = [line for line in done.stderr.splitlines() if line.strip()]
    assert raw and all(_is_json(line) for line in raw), raw
    lines = [json.loads(line) for line in raw]
    assert [(line["logger"], line["level"]) for line in lines] == [
        ("py.warnings", "WARNING"),
        ("agentloom.uncaught", "ERROR"),
        ("agentloom.uncaught", "ERROR"),
    ]
    assert "an old way" in lines[0]["message"]
    assert "stray-worker" in lines[1]["message"] and "ZeroDivisionError" in lines[1]["exception"]
    assert "Leaky.__del__" in lines[2]["message"] and "raised in __del__" in lines[2]["exception"]
