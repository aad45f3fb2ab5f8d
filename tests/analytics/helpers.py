"""Helpers for the analytics and operability tests: the database as the tests see it,
waiting on conditions, workflows, and what the fake LLM server charged."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from typing import Any, TypeVar

import httpx
from pymongo import MongoClient
from pymongo.database import Database

from engine.pricing import BUILTIN
from storage.request_log_stores import COLLECTION
from tests.support.live import LiveServer
from tests.support.openai_server import FakeOpenAIServer, _tokens

T = TypeVar("T")
TERMINAL = {"completed", "failed", "cancelled"}


def wait_for(probe: Callable[[], T | None], *, timeout: float = 20, what: str = "condition") -> T:
    """Call `probe` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def database(server: LiveServer) -> Database[dict[str, Any]]:
    """The server's database, through a client of the test's own."""
    client: MongoClient[dict[str, Any]] = MongoClient(server.settings.mongodb_uri, tz_aware=True)
    return client[server.settings.database]


def logged_request_ids(server: LiveServer, user_id: str | None) -> list[str]:
    """The request ids the request log holds for `user_id`, as stored (one page per user
    per written batch, see storage/request_log_stores.py)."""
    pages = database(server)[COLLECTION].find({"user_id": user_id}).sort("last", 1)
    return [record["id"] for page in pages for record in page["records"]]


def node(node_id: str, node_type: str, **data: Any) -> dict[str, Any]:
    return {"id": node_id, "type": node_type, "position": {"x": 0, "y": 0}, "data": data}


def chain(*nodes: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"id": f"e{i}", "source": a["id"], "target": b["id"]}
        for i, (a, b) in enumerate(itertools.pairwise(nodes))
    ]


def llm_graph(
    *, provider: str = "openai", model: str = "gpt-4o-mini", prompt: str = "Summarize {input.text}"
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    nodes = [
        node("start-1", "start"),
        node("llm-1", "llm", provider=provider, model=model, prompt=prompt),
        node("end-1", "end"),
    ]
    return nodes, chain(*nodes)


def create_workflow(c: httpx.Client, nodes: list[dict], edges: list[dict], name: str = "wf") -> str:
    r = c.post("/api/v1/workflows", json={"name": name, "nodes": nodes, "edges": edges})
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def execute(c: httpx.Client, workflow_id: str, **input_data: Any) -> str:
    r = c.post(f"/api/v1/workflows/{workflow_id}/execute", json={"input_data": input_data})
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def wait_terminal_in_db(server: LiveServer, execution_id: str) -> dict[str, Any]:
    """Wait for the run's end by reading the database (no HTTP request to skew the counts)."""
    executions = database(server)["executions"]
    return wait_for(
        lambda: executions.find_one({"_id": execution_id, "status": {"$in": list(TERMINAL)}}),
        what=f"execution {execution_id} to end",
    )


def charged(request: dict[str, Any], reply: str) -> tuple[int, int]:
    """(prompt, completion) tokens the fake server reports for `request` answered `reply`
    (its rule: words of every message, and the reply's streamed token count)."""
    prompt = sum(len(str(m.get("content") or "").split()) for m in request["messages"])
    return prompt, len(_tokens(reply))


def usage_of_requests(
    server: FakeOpenAIServer, replies: list[str], *, provider: str, model: str
) -> dict[str, Any]:
    """The `by_model` entry the run must report for these fake-server calls."""
    prompt = completion = 0
    for request, reply in zip(server.requests, replies, strict=True):
        p, c = charged(request, reply)
        prompt += p
        completion += c
    return {
        "provider": provider,
        "model": model,
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "cost": BUILTIN.cost(
            provider=provider, model=model, prompt_tokens=prompt, completion_tokens=completion
        ),
    }


def cost_of(price: tuple[float, float], prompt: int, completion: int) -> float:
    """What a table price (dollars per 1M tokens) implies, rounded as the server rounds."""
    return round((prompt * price[0] + completion * price[1]) / 1_000_000, 10)
