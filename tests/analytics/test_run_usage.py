"""Usage and estimated cost per run: exact token totals from the scripted LLM, the cost the
price table implies, per provider and model, on the execution, its events and over GraphQL."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from engine.pricing import BUILTIN
from tests.analytics.conftest import llm_environ
from tests.analytics.helpers import (
    chain,
    charged,
    cost_of,
    create_workflow,
    database,
    execute,
    llm_graph,
    node,
    usage_of_requests,
    wait_terminal_in_db,
)
from tests.support.live import LiveServer
from tests.support.openai_server import FakeOpenAIServer, calculator_rule, echo_rule

GRAPHQL_USAGE = """
query($id: ID!) { execution(id: $id) {
  usage cost usageByModel { provider model promptTokens completionTokens totalTokens cost }
} }
"""


def _events(server: LiveServer, execution_id: str) -> list[dict[str, Any]]:
    return list(
        database(server)["execution_events"].find({"execution_id": execution_id}).sort("seq", 1)
    )


def test_a_streamed_llm_run_reports_exact_tokens_and_cost(
    llm_server: LiveServer, openai_server: FakeOpenAIServer
) -> None:
    user = llm_server.register()
    nodes, edges = llm_graph(model="gpt-4o-mini")
    with llm_server.client(user["token"]) as c:
        execution_id = execute(c, create_workflow(c, nodes, edges), text="three little words")
        wait_terminal_in_db(llm_server, execution_id)
        done = c.get(f"/api/v1/executions/{execution_id}").json()
        graphql = c.post(
            "/graphql", json={"query": GRAPHQL_USAGE, "variables": {"id": execution_id}}
        )

    assert done["status"] == "completed", done
    (request,) = openai_server.requests
    # Streamed, with the usage chunk asked for: the usage comes from the stream's last chunk.
    assert request["stream"] is True and request["stream_options"] == {"include_usage": True}
    entry = usage_of_requests(
        openai_server, [echo_rule(request)], provider="openai", model="gpt-4o-mini"
    )
    prompt, completion = entry["prompt_tokens"], entry["completion_tokens"]
    assert prompt > 0 and completion > 0
    expected_cost = cost_of(BUILTIN.prices["gpt-4o-mini"], prompt, completion)
    assert entry["cost"] == expected_cost
    expected = {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "cost": expected_cost,
        "by_model": [entry],
    }
    # Seed 000's execution response: the same `usage` key, more keys inside it.
    assert done["usage"] == expected

    events = _events(llm_server, execution_id)
    (llm_finished,) = [
        e for e in events if e["type"] == "node_finished" and e["node_id"] == "llm-1"
    ]
    assert llm_finished["data"]["usage"] == expected
    assert events[-1]["type"] == "run_finished" and events[-1]["data"]["usage"] == expected
    # Nodes that made no LLM call carry no usage.
    others = [e for e in events if e["type"] == "node_finished" and e["node_id"] != "llm-1"]
    assert others and all("usage" not in e["data"] for e in others)

    body = graphql.json()
    assert "errors" not in body, body
    found = body["data"]["execution"]
    assert found["usage"] == expected and found["cost"] == expected_cost
    assert found["usageByModel"] == [
        {
            "provider": "openai",
            "model": "gpt-4o-mini",
            "promptTokens": prompt,
            "completionTokens": completion,
            "totalTokens": prompt + completion,
            "cost": expected_cost,
        }
    ]


def test_models_are_priced_apart_and_an_unknown_model_has_no_price(
    llm_server: LiveServer, openai_server: FakeOpenAIServer
) -> None:
    """An llm node on gpt-4o-mini, an agent on deepseek-chat (two calls: a tool call, then
    the answer) and an llm node on a model the table does not know."""
    openai_server.set_rule(calculator_rule)
    nodes = [
        node("start-1", "start"),
        node("llm-1", "llm", provider="openai", model="gpt-4o-mini", prompt="Say {input.text}"),
        node(
            "agent-1",
            "agent",
            provider="deepseek",
            model="deepseek-chat",
            prompt="What is 12*7?",
            tools=["calculator"],
        ),
        node("llm-2", "llm", provider="openai", model="house-model-7", prompt="Echo {input.text}"),
        node("end-1", "end"),
    ]
    user = llm_server.register()
    with llm_server.client(user["token"]) as c:
        execution_id = execute(c, create_workflow(c, nodes, chain(*nodes)), text="hi there")
        wait_terminal_in_db(llm_server, execution_id)
        done = c.get(f"/api/v1/executions/{execution_id}").json()
    assert done["status"] == "completed", done

    by_model: dict[str, list[int]] = {}
    for request in openai_server.requests:
        reply = calculator_rule(request)
        prompt, completion = (
            charged(request, reply)
            if isinstance(reply, str)
            else (
                charged(request, "")[0],
                5,  # the fake server charges a tool-call answer 5 completion tokens
            )
        )
        totals = by_model.setdefault(request["model"], [0, 0])
        totals[0] += prompt
        totals[1] += completion
    assert sorted(by_model) == ["deepseek-chat", "gpt-4o-mini", "house-model-7"]

    usage = done["usage"]
    reported = {entry["model"]: entry for entry in usage["by_model"]}
    providers = {"gpt-4o-mini": "openai", "deepseek-chat": "deepseek", "house-model-7": "openai"}
    for model, (prompt, completion) in by_model.items():
        entry = reported[model]
        assert entry["provider"] == providers[model]
        assert (entry["prompt_tokens"], entry["completion_tokens"]) == (prompt, completion)
        assert entry["total_tokens"] == prompt + completion
    assert reported["house-model-7"]["cost"] is None  # not made up as "free"
    priced = [
        cost_of(BUILTIN.prices[model], *by_model[model])
        for model in ("gpt-4o-mini", "deepseek-chat")
    ]
    assert reported["gpt-4o-mini"]["cost"] == priced[0]
    assert reported["deepseek-chat"]["cost"] == priced[1]
    assert usage["cost"] == round(sum(priced), 10)
    assert usage["total_tokens"] == sum(p + c for p, c in by_model.values())


def test_the_price_table_can_be_overridden_by_a_file(
    server_factory: Callable[..., LiveServer], openai_server: FakeOpenAIServer, tmp_path: Path
) -> None:
    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps({"gpt-4o-mini": {"input": 1000, "output": 2000}}))
    server = server_factory(
        environ={**llm_environ(openai_server), "AGENTLOOM_PRICES_FILE": str(prices)}
    )
    user = server.register()
    nodes, edges = llm_graph(model="gpt-4o-mini")
    with server.client(user["token"]) as c:
        execution_id = execute(c, create_workflow(c, nodes, edges), text="priced by the operator")
        wait_terminal_in_db(server, execution_id)
        usage = c.get(f"/api/v1/executions/{execution_id}").json()["usage"]
    (request,) = openai_server.requests
    prompt, completion = charged(request, echo_rule(request))
    assert usage["cost"] == cost_of((1000, 2000), prompt, completion)
    assert usage["cost"] != cost_of(BUILTIN.prices["gpt-4o-mini"], prompt, completion)


def test_a_failed_run_keeps_what_its_llm_calls_used(
    llm_server: LiveServer, openai_server: FakeOpenAIServer
) -> None:
    nodes = [
        node("start-1", "start"),
        node("llm-1", "llm", provider="openai", model="gpt-4o", prompt="Summarize {input.text}"),
        node("code-1", "code", code="throw new Error('boom')"),
        node("end-1", "end"),
    ]
    user = llm_server.register()
    with llm_server.client(user["token"]) as c:
        execution_id = execute(c, create_workflow(c, nodes, chain(*nodes)), text="then it fails")
        wait_terminal_in_db(llm_server, execution_id)
        done = c.get(f"/api/v1/executions/{execution_id}").json()
    assert done["status"] == "failed"
    (request,) = openai_server.requests
    entry = usage_of_requests(
        openai_server, [echo_rule(request)], provider="openai", model="gpt-4o"
    )
    assert done["usage"]["by_model"] == [entry]
    assert done["usage"]["cost"] == entry["cost"] > 0
    (failed,) = [e for e in _events(llm_server, execution_id) if e["type"] == "run_failed"]
    assert failed["data"]["usage"] == done["usage"]
