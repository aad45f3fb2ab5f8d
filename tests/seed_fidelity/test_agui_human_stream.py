"""A paused human node keeps seed 003's `/ag-ui` stream open (issue 12, item 5).

By default the stream sends `human_input_requested` as an AG-UI CUSTOM event with a
STATE_DELTA, stays open with SSE keep-alive comments while the run waits, and goes
on to RUN_FINISHED on the same response after `POST /ag-ui/human-input`. AG-UI 1.0
interrupts stay available: `forwardedProps.humanInputMode: "interrupt"` asks for
them and any request that carries `resume` gets them. Raw bytes over httpx, and the
real `@ag-ui/client` both ways.
"""

from __future__ import annotations

import json
import re
import subprocess
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from agentloom import Settings
from tests.agui.helpers import JS_DIR, chain, human_workflow, node, run_input, sse_events
from tests.runs.helpers import wait_terminal
from tests.support.live import LiveServer

KEEPALIVE = b": keep-alive"
FRAME = re.compile(rb"(id: \d+\n)?data: \{[^\n]*\}")


@pytest.fixture
def quick(server_factory: Callable[..., LiveServer]) -> LiveServer:
    """Keep-alives every 0.2 s instead of 15 s, so a test can see several."""
    return server_factory(sse_keepalive_seconds=0.2)


def two_humans() -> str:
    nodes = [
        node("start", "start"),
        node("human-1", "human", prompt="First: {input.input}?"),
        node("human-2", "human", prompt="Second?"),
        node("out", "output", key="answer", value="{human-1.response} / {human-2.response}"),
        node("end", "end"),
    ]
    return json.dumps({"nodes": nodes, "edges": chain(*nodes)})


def frames_of(response: httpx.Response) -> Iterator[bytes]:
    """Each SSE frame as it arrives (without its closing blank line)."""
    buffer = b""
    for chunk in response.iter_raw():
        buffer += chunk
        while b"\n\n" in buffer:
            frame, buffer = buffer.split(b"\n\n", 1)
            yield frame
    assert buffer == b"", buffer


def data_of(frame: bytes) -> dict[str, Any]:
    line = next(x for x in frame.split(b"\n") if x.startswith(b"data: "))
    return dict(json.loads(line[6:]))


def test_default_stream_waits_for_the_answer_on_the_same_response(quick: LiveServer) -> None:
    user = quick.register()
    body = run_input(human_workflow(), "the plan")
    frames: list[bytes] = []
    answered_at: int | None = None
    quiet_comments = 0
    with quick.client(user["token"]) as c, quick.client(user["token"]) as answerer:
        with c.stream("POST", "/ag-ui", json=body) as r:
            assert r.status_code == 200
            asked = False
            for frame in frames_of(r):
                frames.append(frame)
                if frame == KEEPALIVE:
                    if asked and answered_at is None:
                        quiet_comments += 1
                    if quiet_comments == 3 and answered_at is None:
                        # The run has been waiting through three keep-alives: answer it.
                        reply = answerer.post(
                            "/ag-ui/human-input",
                            json={
                                "threadId": body["threadId"],
                                "runId": body["runId"],
                                "response": "yes",
                            },
                        )
                        assert reply.status_code == 200 and reply.json() == {"success": True}
                        answered_at = len(frames)
                    continue
                event = data_of(frame)
                asked = asked or event.get("name") == "human_input_requested"
        snapshot = next(data_of(f) for f in frames if b'"STATE_SNAPSHOT"' in f)
        done = wait_terminal(c, snapshot["snapshot"]["executionId"])
    assert answered_at is not None, "the stream never paused at the human node"
    assert all(b"\r" not in f and (f == KEEPALIVE or FRAME.fullmatch(f)) for f in frames), frames
    events = [data_of(f) for f in frames if f != KEEPALIVE]
    types = [e["type"] for e in events]
    assert types[0] == "RUN_STARTED" and types[-1] == "RUN_FINISHED"
    assert types.count("RUN_STARTED") == types.count("RUN_FINISHED") == 1
    assert "RUN_ERROR" not in types
    # While it waited, nothing but keep-alives came after the question.
    before_answer = [data_of(f) for f in frames[:answered_at] if f != KEEPALIVE]
    question = before_answer[-1]
    assert question["type"] == "CUSTOM" and question["name"] == "human_input_requested"
    assert question["value"] == {
        "nodeId": "human-1",
        "prompt": "Approve the plan?",
        "executionId": done["id"],
        "threadId": body["threadId"],
        "runId": body["runId"],
        "interruptId": f"{done['id']}:human-1",
    }
    added = before_answer[-2]
    assert added["type"] == "STATE_DELTA"
    assert added["delta"] == [
        {"op": "add", "path": "/humanInput/human-1", "value": question["value"]}
    ]
    after_answer = [data_of(f) for f in frames[answered_at:] if f != KEEPALIVE]
    assert {"op": "remove", "path": "/humanInput/human-1"} in [
        op for e in after_answer if e["type"] == "STATE_DELTA" for op in e["delta"]
    ]
    received = next(e for e in after_answer if e.get("name") == "human_input_received")
    assert received["value"] == {"nodeId": "human-1", "response": "yes"}
    finished = events[-1]
    assert "outcome" not in finished or finished["outcome"]["type"] == "success"
    assert "Answer: yes" in json.dumps(finished["result"])
    assert done["status"] == "completed"


def test_keepalive_default_is_fifteen_seconds() -> None:
    assert Settings().sse_keepalive_seconds == 15.0


def test_a_bad_mode_is_refused_before_any_run(server: LiveServer) -> None:
    user = server.register()
    body = run_input(human_workflow(), human_input_mode="wait")
    with server.client(user["token"]) as c:
        r = c.post("/ag-ui", json=body)
        assert r.status_code == 422
        assert r.json()["code"] == "VALIDATION_ERROR"
        assert "humanInputMode" in r.json()["message"]
        assert c.get("/api/v1/executions").json() in ([], {"items": [], "total": 0})


def test_interrupt_on_request_and_whenever_resume_is_sent(server: LiveServer) -> None:
    user = server.register()
    body = run_input(two_humans(), "go", human_input_mode="interrupt")
    with server.client(user["token"]) as c:
        _, first = sse_events(c, "/ag-ui", body)
        outcome = first[-1]["outcome"]
        assert first[-1]["type"] == "RUN_FINISHED" and outcome["type"] == "interrupt"
        (interrupt,) = outcome["interrupts"]
        assert interrupt["message"] == "First: go?"
        assert not [e for e in first if e["type"] == "CUSTOM"]  # interrupts replace them
        # A resume request says nothing about the mode: it speaks interrupts, so it gets one.
        resume = {
            **body,
            "runId": f"r-{uuid.uuid4().hex[:8]}",
            "forwardedProps": {"workflowJson": two_humans()},
            "resume": [{"interruptId": interrupt["id"], "status": "resolved", "payload": "a"}],
        }
        _, second = sse_events(c, "/ag-ui", resume)
        assert second[-1]["outcome"]["type"] == "interrupt"
        (interrupt,) = second[-1]["outcome"]["interrupts"]
        assert interrupt["message"] == "Second?"
        resume["resume"] = [{"interruptId": interrupt["id"], "status": "resolved", "payload": "b"}]
        _, third = sse_events(c, "/ag-ui", resume)
    assert third[-1]["type"] == "RUN_FINISHED" and "outcome" not in third[-1]
    assert "a / b" in json.dumps(third[-1]["result"])


# -- the real @ag-ui/client ---------------------------------------------------------------


def run_client(config: dict[str, Any]) -> tuple[list[dict[str, Any]], str]:
    proc = subprocess.run(
        ["node", str(JS_DIR / "agui_human.mjs"), json.dumps(config)],
        capture_output=True,
        text=True,
        timeout=90,
        cwd=JS_DIR,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr + proc.stdout
    lines = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    assert lines and lines[-1] == {"done": True}, lines[-3:]
    return lines[:-1], proc.stderr


def client_config(server: LiveServer, mode: str, workflow: str) -> dict[str, Any]:
    user = server.register()
    return {
        "url": f"{server.base_url}/ag-ui",
        "humanInputUrl": f"{server.base_url}/ag-ui/human-input",
        "token": user["token"],
        "threadId": f"t-{uuid.uuid4().hex[:8]}",
        "runId": f"r-{uuid.uuid4().hex[:8]}",
        "resumeRunId": f"r-{uuid.uuid4().hex[:8]}",
        "message": "the plan",
        "workflowJson": workflow,
        "answer": "yes",
        "mode": mode,
    }


def check_run(events: list[dict[str, Any]]) -> None:
    types = [e["type"] for e in events]
    assert types[0] == "RUN_STARTED" and types[-1] == "RUN_FINISHED", types
    assert types.count("RUN_STARTED") == types.count("RUN_FINISHED") == 1
    assert "RUN_ERROR" not in types


def test_js_client_answers_on_the_open_stream(quick: LiveServer) -> None:
    # The answer comes 1.5 s after the question: keep-alives pass through the client, and
    # the run has left its process to wait (run_control) by then.
    config = {**client_config(quick, "stream", human_workflow()), "answerAfterMs": 1500}
    lines, stderr = run_client(config)
    assert "Failed to apply state patch" not in stderr, stderr
    events = [line for line in lines if "type" in line]
    check_run(events)
    assert lines[-2] == {"runEnded": 1}
    (answered,) = [line for line in lines if "answered" in line]
    assert answered == {"answered": 200, "body": {"success": True}}
    question = next(e for e in events if e["type"] == "CUSTOM")
    assert question["name"] == "human_input_requested"
    assert question["value"]["prompt"] == "Approve the plan?"
    assert "Answer: yes" in json.dumps(events[-1]["result"])
    # The client applied every STATE_DELTA: the request came and went, the outputs are in.
    state = lines[-1]["state"]
    assert state["humanInput"] == {}
    assert state["nodes"]["human-1"] == {"response": "yes"}


def test_js_client_with_interrupts(server: LiveServer) -> None:
    lines, stderr = run_client(client_config(server, "interrupt", two_humans()))
    assert "Failed to apply state patch" not in stderr, stderr
    runs: list[list[dict[str, Any]]] = [[]]
    for line in lines:
        if "runEnded" in line:
            runs.append([])
        elif "type" in line:
            runs[-1].append(line)
    runs = [r for r in runs if r]
    assert len(runs) == 3, [[e["type"] for e in r] for r in runs]
    for events in runs:
        check_run(events)
    prompts = [r[-1]["outcome"]["interrupts"][0]["message"] for r in runs[:2]]
    assert prompts == ["First: the plan?", "Second?"]
    assert "outcome" not in runs[2][-1] or runs[2][-1]["outcome"]["type"] == "success"
    assert "yes 1 / yes 2" in json.dumps(runs[2][-1]["result"])
