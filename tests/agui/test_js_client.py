"""The real `@ag-ui/client` HttpAgent against a live server: it must accept every stream."""

from __future__ import annotations

import json
import uuid
from typing import Any

from tests.agui.helpers import human_workflow, llm_workflow, run_js
from tests.support.live import LiveServer
from tests.support.openai_server import FakeOpenAIServer, calculator_rule


def agent_run(server: LiveServer, path: str, message: str, **config: Any) -> list[dict[str, Any]]:
    user = server.register()
    args = {
        "url": f"{server.base_url}{path}",
        "token": user["token"],
        "threadId": f"t-{uuid.uuid4().hex[:8]}",
        "runId": f"r-{uuid.uuid4().hex[:8]}",
        "message": message,
        **config,
    }
    lines = run_js("agui_run.mjs", json.dumps(args))
    assert lines, "the client printed nothing"
    assert "failed" not in lines[-1], lines[-1]
    assert lines[-1] == {"done": True}
    return lines[:-1]


def check_run(events: list[dict[str, Any]]) -> None:
    """One run's events, in the order the protocol requires."""
    types = [e["type"] for e in events]
    assert types[0] == "RUN_STARTED" and types[-1] == "RUN_FINISHED", types
    assert "RUN_FINISHED" not in types[:-1] and "RUN_ERROR" not in types
    open_messages: set[str] = set()
    for event in events:
        if event["type"] == "TEXT_MESSAGE_START":
            open_messages.add(event["messageId"])
        elif event["type"] == "TEXT_MESSAGE_END":
            open_messages.remove(event["messageId"])
    assert not open_messages


def text(events: list[dict[str, Any]]) -> str:
    return "".join(e["delta"] for e in events if e["type"] == "TEXT_MESSAGE_CONTENT")


def test_workflow_json_run(llm_server: LiveServer) -> None:
    events = agent_run(
        llm_server, "/ag-ui", "hello agent", forwardedProps={"workflowJson": llm_workflow()}
    )
    check_run(events)
    assert text(events) == "Summary: hello agent"


def test_goal_with_the_calculator(llm_server: LiveServer, openai_server: FakeOpenAIServer) -> None:
    openai_server.set_rule(calculator_rule)
    events = agent_run(
        llm_server,
        "/ag-ui/goal",
        "calculate 12*7",
        forwardedProps={"provider": "openai", "model": "gpt-4o-mini", "tools": "calculator"},
    )
    check_run(events)
    types = [e["type"] for e in events]
    start = next(e for e in events if e["type"] == "TOOL_CALL_START")
    assert start["toolCallName"] == "calculator"
    args = [e for e in events if e["type"] == "TOOL_CALL_ARGS"]
    assert args and all(a["toolCallId"] == start["toolCallId"] for a in args)
    assert "12*7" in "".join(a["delta"] for a in args)
    end = types.index("TOOL_CALL_END")
    assert types.index("TOOL_CALL_START") < types.index("TOOL_CALL_ARGS") < end
    result = next(e for e in events if e["type"] == "TOOL_CALL_RESULT")
    assert result["toolCallId"] == start["toolCallId"] and "84" in result["content"]
    assert types.index("TOOL_CALL_RESULT") > end
    assert "84" in text(events)


def test_interrupt_then_resume(llm_server: LiveServer) -> None:
    lines = agent_run(
        llm_server,
        "/ag-ui",
        "the plan",
        forwardedProps={"workflowJson": human_workflow(), "humanInputMode": "interrupt"},
        resumeRunId=f"r-{uuid.uuid4().hex[:8]}",
        resumePayload={"response": "approved"},
    )
    marker = next(i for i, line in enumerate(lines) if "resumed" in line)
    first, second = lines[:marker], lines[marker + 1 :]
    check_run(first)
    outcome = first[-1]["outcome"]
    assert outcome["type"] == "interrupt"
    assert [i["id"] for i in outcome["interrupts"]] == lines[marker]["resumed"]
    assert outcome["interrupts"][0]["message"] == "Approve the plan?"
    check_run(second)
    assert "outcome" not in second[-1] or second[-1]["outcome"]["type"] == "success"
    assert "Answer: approved" in json.dumps(second[-1]["result"])
