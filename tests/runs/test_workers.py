"""Runs in another process: a worker claims the run, subscribers on the server still see it live,
and a run whose worker dies mid-run is resumed by the next worker, never left `running`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.api.test_workflows_v1 import SEED_EXAMPLE
from tests.runs.helpers import wait_terminal
from tests.runs.test_event_streams import lower_types
from tests.runs.test_event_streams import transport_ws as raw_transport_ws
from tests.support.live import LiveServer
from tests.support.openai_server import FakeOpenAIServer

AGENTLOOM = Path(sys.executable).parent / "agentloom"


def transport_ws(*args: Any) -> list[dict]:
    return lower_types(raw_transport_ws(*args))


@pytest.fixture
def worker_env(openai_server: FakeOpenAIServer) -> dict[str, str]:
    return {
        "DEEPSEEK_API_KEY": "sk-test",
        "DEEPSEEK_BASE_URL": openai_server.base_url,
    }


@pytest.fixture
def spawn_worker(
    mongo_uri: str, tmp_path: Path, worker_env: dict[str, str]
) -> Iterator[Callable[[LiveServer], subprocess.Popen[bytes]]]:
    workers: list[subprocess.Popen[bytes]] = []

    def spawn(server: LiveServer) -> subprocess.Popen[bytes]:
        env = {
            **os.environ,
            **worker_env,
            "AGENTLOOM_MONGODB_URI": mongo_uri,
            "AGENTLOOM_DATABASE": server.settings.database,
            "AGENTLOOM_LEASE_SECONDS": "1",
            "AGENTLOOM_DATA_DIR": str(tmp_path / "worker"),
        }
        proc = subprocess.Popen(
            [str(AGENTLOOM), "worker"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        workers.append(proc)
        return proc

    yield spawn
    for proc in workers:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)


def test_worker_runs_it_and_server_subscribers_see_it_live(
    server_factory: Callable[..., LiveServer],
    spawn_worker: Callable[[LiveServer], subprocess.Popen[bytes]],
    openai_server: FakeOpenAIServer,
) -> None:
    openai_server.token_delay_s = 0.02
    # Log polling set far beyond the test's patience: live events must come by change stream.
    server = server_factory(run_in_server=False, lease_seconds=1, log_poll_seconds=60)
    user = server.register()
    with server.client(user["token"]) as c:
        wf = c.post("/api/v1/workflows", json=SEED_EXAMPLE).json()
        eid = c.post(
            f"/api/v1/workflows/{wf['id']}/execute", json={"input_data": {"input": "worker text"}}
        ).json()["id"]
        time.sleep(0.5)
        assert (
            c.get(f"/api/v1/executions/{eid}").json()["status"] == "pending"
        )  # nobody runs it yet
        spawn_worker(server)
        started = time.monotonic()
        events = transport_ws(server, user["token"], eid, 0)
        assert time.monotonic() - started < 30
        assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
        assert events[-1]["type"] == "run_finished"
        done = wait_terminal(c, eid)
        assert done["status"] == "completed" and "worker text" in str(done["output_data"])
        # The server has the worker's trace: traces are read from the shared event log.
        trace = c.get(f"/api/traces/{eid}")
        assert trace.status_code == 200, trace.text
        lines = [json.loads(line) for line in trace.json()["entries"]]
        assert [line["seq"] for line in lines] == [e["seq"] for e in events]
        assert lines[-1]["type"] == "run_finished"
        assert trace.json()["path"] == f"traces/{eid}.jsonl"


def test_a_dead_workers_run_is_resumed_by_the_next_worker(
    server_factory: Callable[..., LiveServer],
    spawn_worker: Callable[[LiveServer], subprocess.Popen[bytes]],
    openai_server: FakeOpenAIServer,
) -> None:
    openai_server.token_delay_s = 0.5
    server = server_factory(run_in_server=False, lease_seconds=1)
    user = server.register()
    with server.client(user["token"]) as c:
        wf = c.post("/api/v1/workflows", json=SEED_EXAMPLE).json()
        eid = c.post(
            f"/api/v1/workflows/{wf['id']}/execute",
            json={"input_data": {"input": "a b c d e f g h i j"}},
        ).json()["id"]
        worker = spawn_worker(server)
        deadline = time.monotonic() + 20
        while c.get(f"/api/v1/executions/{eid}/status").json()["current_node"] != "llm-1":
            assert time.monotonic() < deadline
            time.sleep(0.1)
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
        openai_server.token_delay_s = 0.01
        spawn_worker(server)
        done = wait_terminal(c, eid, timeout=30)
        assert done["status"] == "completed", done
        assert "a b c d e f g h i j" in str(done["output_data"])
    events = transport_ws(server, user["token"], eid, 0)
    assert events[-1]["type"] == "run_finished"
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    resumed = [e for e in events if e["type"] == "run_resumed"]
    assert len(resumed) == 1 and resumed[0]["data"]["reason"] == "lease_lapsed"
    # The LLM node was in flight: it ran again, as attempt 2; the start node did not.
    started = [
        (e["nodeId"], e["data"].get("attempt")) for e in events if e["type"] == "node_started"
    ]
    assert started.count(("start-1", None)) == 1 and ("llm-1", 2) in started
