"""`/ag-ui`, `/ag-ui/goal`, `/ag-ui/human-input` over real sockets."""

from __future__ import annotations

import json
import re
import time
from typing import Any

import httpx

from tests.agui.helpers import (
    human_workflow,
    llm_workflow,
    parse_frames,
    run_input,
    sse_events,
    sse_raw,
)
from tests.runs.helpers import wait_terminal
from tests.support.live import LiveServer
from tests.support.openai_server import FakeOpenAIServer, calculator_rule


def test_frames_are_lf_only_and_ordered(llm_server: LiveServer) -> None:
    user = llm_server.register()
    with llm_server.client(user["token"]) as c:
        raw, events = sse_events(c, "/ag-ui", run_input(llm_workflow(), "hi there"))
    assert b"\r" not in raw
    assert raw.endswith(b"\n\n")
    for frame in raw.split(b"\n\n")[:-1]:
        assert re.fullmatch(rb"(id: \d+\n)?data: \{[^\n]*\}", frame), frame
    types = [e["type"] for e in events]
    assert types[0] == "RUN_STARTED" and types[1] == "STATE_SNAPSHOT"
    assert types[-1] == "RUN_FINISHED"
    text = "".join(e["delta"] for e in events if e["type"] == "TEXT_MESSAGE_CONTENT")
    assert text == "Summary: hi there"
    assert types.index("TEXT_MESSAGE_END") < types.index(
        "STEP_FINISHED", types.index("TEXT_MESSAGE_START")
    )
    deltas = [e for e in events if e["type"] == "STATE_DELTA"]
    assert any(d["delta"][0]["path"] == "/nodes/llm-1" for d in deltas)
    assert all(None not in e.values() for e in events)


def test_auth_required(llm_server: LiveServer) -> None:
    with llm_server.client() as c:
        r = c.post("/ag-ui", json=run_input(llm_workflow()))
        assert r.status_code == 401
        assert set(r.json()) == {"code", "message"}
        assert c.post("/ag-ui/human-input", json={"runId": "x", "response": "y"}).status_code == 401


def test_goal_agent_uses_the_calculator(
    llm_server: LiveServer, openai_server: FakeOpenAIServer
) -> None:
    openai_server.set_rule(calculator_rule)
    user = llm_server.register()
    body = run_input("", "calculate 12*7")
    body["forwardedProps"] = {"provider": "openai", "model": "gpt-4o-mini", "tools": "calculator"}
    with llm_server.client(user["token"]) as c:
        _, events = sse_events(c, "/ag-ui/goal", body)
        r = c.post(
            "/ag-ui/goal",
            json={**body, "runId": "r-new", "forwardedProps": {"tools": "calculator,nope"}},
        )
        assert r.status_code == 422 and "tools" in r.json()["message"]
    types = [e["type"] for e in events]
    assert types[-1] == "RUN_FINISHED"
    start = next(e for e in events if e["type"] == "TOOL_CALL_START")
    assert start["toolCallName"] == "calculator"
    args = next(e for e in events if e["type"] == "TOOL_CALL_ARGS")
    assert json.loads(args["delta"]) == {"expression": "12*7"}
    result = next(e for e in events if e["type"] == "TOOL_CALL_RESULT")
    assert "84" in result["content"]
    text = "".join(e["delta"] for e in events if e["type"] == "TEXT_MESSAGE_CONTENT")
    assert "84" in text


def test_human_input_endpoint_round_trip(llm_server: LiveServer) -> None:
    user, other = llm_server.register(), llm_server.register()
    body = run_input(human_workflow(), "the plan", human_input_mode="interrupt")
    with llm_server.client(user["token"]) as c, llm_server.client(other["token"]) as o:
        _, events = sse_events(c, "/ag-ui", body)
        last = events[-1]
        assert last["type"] == "RUN_FINISHED"
        assert last["outcome"]["type"] == "interrupt"
        interrupt = last["outcome"]["interrupts"][0]
        assert interrupt["message"] == "Approve the plan?"
        # Another user's run and a missing one: the same 404, at once. (Only a run of the
        # caller's that is still going is given a moment for its request to be stored.)
        for client, ids in (
            (o, {"threadId": body["threadId"], "runId": body["runId"]}),
            (c, {"threadId": body["threadId"], "runId": "no-such-run"}),
            (c, {"runId": "no-such-run"}),
        ):
            started = time.monotonic()
            r = client.post("/ag-ui/human-input", json={**ids, "response": "x"})
            assert r.status_code == 404
            assert r.json() == {"error": "No pending human input for this session"}
            assert time.monotonic() - started < 1.5  # the grace is 3 s
        r = c.post(
            "/ag-ui/human-input",
            json={"threadId": body["threadId"], "runId": body["runId"], "response": "yes"},
        )
        assert r.status_code == 200 and r.json() == {"success": True}
        execution_id = interrupt["id"].split(":")[0]
        done = wait_terminal(c, execution_id)
        assert done["status"] == "completed"
        assert "Answer: yes" in json.dumps(done["output_data"])
        # the same runId again: the run is streamed again, not started again
        _, again = sse_events(c, "/ag-ui", body)
        assert again[-1]["type"] == "RUN_FINISHED" and "outcome" not in again[-1]
        # traces: own only
        trace = c.get(f"/api/traces/{body['runId']}")
        assert trace.status_code == 200
        assert trace.json()["runId"] == body["runId"]
        assert json.loads(trace.json()["entries"][-1])["type"] == "run_finished"
        assert c.get("/api/traces/latest").json()["runId"] == body["runId"]
        assert o.get(f"/api/traces/{body['runId']}").status_code == 404
        assert o.get("/api/traces/latest").status_code == 404


def test_resume_answers_the_interrupt(llm_server: LiveServer) -> None:
    user, other = llm_server.register(), llm_server.register()
    body = run_input(human_workflow(), "it", human_input_mode="interrupt")
    with llm_server.client(user["token"]) as c, llm_server.client(other["token"]) as o:
        _, events = sse_events(c, "/ag-ui", body)
        interrupt = events[-1]["outcome"]["interrupts"][0]
        resume = {
            **body,
            "resume": [{"interruptId": interrupt["id"], "status": "resolved", "payload": "ok"}],
        }
        r = o.post("/ag-ui", json=resume)
        assert r.status_code == 404
        assert r.json() == {
            "code": "NOT_FOUND",
            "message": "No pending human input for this session",
        }
        _, cont = sse_events(c, "/ag-ui", resume)
    types = [e["type"] for e in cont]
    assert types[0] == "RUN_STARTED" and types[-1] == "RUN_FINISHED"
    assert "Answer: ok" in json.dumps(cont[-1]["result"])
    assert ("STEP_STARTED", "human-1") == (cont[2]["type"], cont[2].get("stepName")) or any(
        e.get("stepName") == "out" for e in cont
    )


def test_disconnect_leaves_the_run_going(
    llm_server: LiveServer, openai_server: FakeOpenAIServer
) -> None:
    openai_server.token_delay_s = 0.05
    user = llm_server.register()
    body = run_input(llm_workflow(), "one two three four five six seven eight")
    with llm_server.client(user["token"]) as c:
        with c.stream("POST", "/ag-ui", json=body) as r:
            for line in r.iter_lines():
                if "TEXT_MESSAGE_CONTENT" in line:
                    break
        # The trace is a view of the log: mid-run it has no end yet.
        partial = c.get(f"/api/traces/{body['runId']}").json()["entries"]
        assert "llm_token" in partial[-1] or "llm_token" in partial[-2]
        assert all("run_finished" not in line for line in partial)
        items = c.get("/api/v1/executions", params={"limit": 5}).json()
        rows = items["items"] if isinstance(items, dict) else items
        done = wait_terminal(c, rows[0]["id"], timeout=30)
        # The final status is written just before the terminal event (run_recorder.py):
        # the trace may need a moment more to end.
        deadline = time.monotonic() + 10
        while True:
            whole = c.get(f"/api/traces/{body['runId']}").json()["entries"]
            if "run_finished" in whole[-1] or time.monotonic() > deadline:
                break
            time.sleep(0.05)
    assert done["status"] == "completed"
    assert "eight" in json.dumps(done["output_data"])
    assert json.loads(whole[-1])["type"] == "run_finished" and whole[: len(partial)] == partial


def test_last_event_id_resumes_without_duplicates(llm_server: LiveServer) -> None:
    user = llm_server.register()
    body = run_input(llm_workflow(), "one two three four five six seven eight")
    with llm_server.client(user["token"]) as c:
        first = parse_frames(sse_raw(c, "/ag-ui", body))
        ids = [i for i, _ in first if i is not None]
        assert ids == sorted(set(ids)) and len(ids) > 5
        assert first[0][0] is None  # RUN_STARTED is not an execution event
        contents = [n for n, (_, e) in enumerate(first) if e["type"] == "TEXT_MESSAGE_CONTENT"]
        cut_at = contents[len(contents) // 2]
        cut = first[cut_at][0]
        assert cut is not None
        raw = sse_raw(c, "/ag-ui", body, {"Last-Event-ID": str(cut)})
    assert b"\r" not in raw and raw.endswith(b"\n\n")
    resumed = parse_frames(raw)
    assert all(i is None or i > cut for i, _ in resumed)
    types = [e["type"] for _, e in resumed]
    assert types[0] == "RUN_STARTED" and types[-1] == "RUN_FINISHED"
    # Before the cut and after it, the text is whole, each token once.
    full = "".join(e["delta"] for _, e in first if e["type"] == "TEXT_MESSAGE_CONTENT")
    before = "".join(
        e["delta"] for _, e in first[: cut_at + 1] if e["type"] == "TEXT_MESSAGE_CONTENT"
    )
    after = "".join(e["delta"] for _, e in resumed if e["type"] == "TEXT_MESSAGE_CONTENT")
    assert before + after == full == "Summary: one two three four five six seven eight"
    # The open message is re-announced (same id) so the resumed stream is valid on its own.
    message_id = first[cut_at][1]["messageId"]
    start = next(e for _, e in resumed if e["type"] == "TEXT_MESSAGE_START")
    assert start["messageId"] == message_id
    assert types.count("TEXT_MESSAGE_START") == types.count("TEXT_MESSAGE_END") == 1
    # Resuming at the very end repeats nothing but the run's frame.
    with llm_server.client(user["token"]) as c:
        tail = parse_frames(sse_raw(c, "/ag-ui", body, {"Last-Event-ID": str(ids[-1])}))
    assert [e["type"] for _, e in tail] == ["RUN_STARTED", "STATE_SNAPSHOT", "RUN_FINISHED"]


def trace_of(c: httpx.Client, run_id: str) -> dict[str, Any]:
    r = c.get(f"/api/traces/{run_id}")
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def test_run_ids_are_per_user(llm_server: LiveServer) -> None:
    """The same client-chosen runId from another user starts that user's own run."""
    user, other = llm_server.register(), llm_server.register()
    body = run_input(llm_workflow(), "mine")
    theirs = {**body, "messages": [{"id": "m1", "role": "user", "content": "theirs"}]}
    with llm_server.client(user["token"]) as c, llm_server.client(other["token"]) as o:
        _, mine = sse_events(c, "/ag-ui", body)
        _, other_run = sse_events(o, "/ag-ui", theirs)
        _, again = sse_events(c, "/ag-ui", body)
        text = [
            "".join(e["delta"] for e in run if e["type"] == "TEXT_MESSAGE_CONTENT")
            for run in (mine, other_run, again)
        ]
        assert text == ["Summary: mine", "Summary: theirs", "Summary: mine"]
        assert mine[1]["snapshot"]["executionId"] == again[1]["snapshot"]["executionId"]
        assert mine[1]["snapshot"]["executionId"] != other_run[1]["snapshot"]["executionId"]
        # each user's trace under that runId is their own run
        mine_trace = trace_of(c, body["runId"])
        their_trace = trace_of(o, body["runId"])
    # Seed 003's name for a trace file; each user's is their own run all the same.
    assert mine_trace["path"] == their_trace["path"] == f"traces/{body['runId']}.jsonl"
    assert "mine" in "".join(mine_trace["entries"]) and "theirs" not in "".join(
        mine_trace["entries"]
    )
    assert "theirs" in "".join(their_trace["entries"])
