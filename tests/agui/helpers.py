"""Helpers for the AG-UI tests: workflows, raw SSE reading, the npm client runner."""

from __future__ import annotations

import itertools
import json
import subprocess
import uuid
from pathlib import Path
from typing import Any

import httpx

JS_DIR = Path(__file__).resolve().parents[1] / "js"


def node(node_id: str, node_type: str, **data: Any) -> dict[str, Any]:
    return {"id": node_id, "type": node_type, "position": {"x": 0, "y": 0}, "data": data}


def chain(*nodes: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"id": f"e{i}", "source": a["id"], "target": b["id"]}
        for i, (a, b) in enumerate(itertools.pairwise(nodes))
    ]


def llm_workflow() -> str:
    nodes = [
        node("start", "start"),
        node("llm-1", "llm", prompt="{input.input}"),
        node("end", "end"),
    ]
    return json.dumps({"nodes": nodes, "edges": chain(*nodes)})


def human_workflow() -> str:
    nodes = [
        node("start", "start"),
        node("human-1", "human", prompt="Approve {input.input}?"),
        node("out", "output", key="answer", value="Answer: {human-1.response}"),
        node("end", "end"),
    ]
    return json.dumps({"nodes": nodes, "edges": chain(*nodes)})


def run_input(
    workflow_json: str, text: str = "hello", human_input_mode: str | None = None, **extra: Any
) -> dict[str, Any]:
    """A RunAgentInput body; `human_input_mode="interrupt"` asks for AG-UI 1.0 interrupts."""
    props: dict[str, Any] = {"workflowJson": workflow_json}
    if human_input_mode is not None:
        props["humanInputMode"] = human_input_mode
    body: dict[str, Any] = {
        "threadId": f"t-{uuid.uuid4().hex[:8]}",
        "runId": f"r-{uuid.uuid4().hex[:8]}",
        "messages": [{"id": "m1", "role": "user", "content": text}],
        "forwardedProps": props,
        "state": {},
        "tools": [],
        "context": [],
    }
    body.update(extra)
    return body


def parse_frames(raw: bytes) -> list[tuple[int | None, dict[str, Any]]]:
    """Each SSE frame's `id` (None when it has none) and its JSON data."""
    out: list[tuple[int | None, dict[str, Any]]] = []
    for frame in raw.decode().split("\n\n"):
        if not frame:
            continue
        event_id: int | None = None
        data = ""
        for line in frame.split("\n"):
            if line.startswith("id: "):
                event_id = int(line[4:])
            elif line.startswith("data: "):
                data += line[6:]
        out.append((event_id, json.loads(data)))
    return out


def sse_raw(
    c: httpx.Client, path: str, body: dict[str, Any], headers: dict[str, str] | None = None
) -> bytes:
    headers = {"Accept": "text/event-stream", **(headers or {})}
    with c.stream("POST", path, json=body, headers=headers) as r:
        assert r.status_code == 200, r.read()
        return b"".join(r.iter_bytes())


def sse_events(c: httpx.Client, path: str, body: dict[str, Any]) -> tuple[bytes, list[dict]]:
    raw = sse_raw(c, path, body)
    return raw, [event for _, event in parse_frames(raw)]


def run_js(script: str, *args: str, timeout: float = 60) -> list[dict[str, Any]]:
    proc = subprocess.run(
        ["node", str(JS_DIR / script), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=JS_DIR,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr + proc.stdout
    return [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
