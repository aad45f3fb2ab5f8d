"""The flow builder against the fake OpenAI server: streamed fragments, validation, one
repair round, metadata; the generated workflow runs."""

from __future__ import annotations

import json
from typing import Any

import pytest

from engine.errors import ValidationFailed
from engine.outbound import OutboundGuard
from engine.services.flow_builder import (
    FlowFragment,
    FlowMetadata,
    FlowReset,
    build_flow,
    collect_flow,
)
from engine.services.llm_pricing import TokenCount, estimate_cost, estimate_tokens, price_of
from engine.services.model_access import LlmAccess, ModelChoice
from engine.validation import validate_workflow
from tests.engine.helpers import run, services
from tests.support.openai_server import FakeOpenAIServer, Reply

pytestmark = pytest.mark.anyio

SUMMARIZER = {
    "nodes": [
        {"id": "start-1", "type": "start", "position": {"x": 0, "y": 0}, "data": {}},
        {
            "id": "llm-1",
            "type": "llm",
            "position": {"x": 250, "y": 0},
            "data": {
                "provider": "openai",
                "model": "gpt-4o-mini",
                "prompt": "Summarize: {input.text}",
            },
        },
        {"id": "end-1", "type": "end", "position": {"x": 500, "y": 0}, "data": {}},
    ],
    "edges": [
        {"id": "e1", "source": "start-1", "target": "llm-1"},
        {"id": "e2", "source": "llm-1", "target": "end-1"},
    ],
}
NO_END = {
    "nodes": SUMMARIZER["nodes"][:2],
    "edges": SUMMARIZER["edges"][:1],
}


def scripted(*answers: str) -> Any:
    """Answer the n-th chat request with the n-th text (the last one repeats)."""
    calls: list[int] = []

    def rule(request: dict[str, Any]) -> Reply:
        calls.append(1)
        return answers[min(len(calls), len(answers)) - 1]

    return rule


def access(server: FakeOpenAIServer) -> LlmAccess:
    return LlmAccess(
        owner_id="owner-1",
        guard=OutboundGuard.from_entries(["127.0.0.1"]),
        environ={"OPENAI_API_KEY": "sk", "OPENAI_BASE_URL": server.base_url},
    )


async def chunks_of(
    server: FakeOpenAIServer, message: str = "Summarize a text", **kwargs: Any
) -> list[Any]:
    stream = await build_flow(
        message, choice=ModelChoice(model="gpt-4o-mini"), access=access(server), **kwargs
    )
    return [chunk async for chunk in stream]


async def test_fragments_are_the_answer_then_metadata(openai_server: FakeOpenAIServer) -> None:
    answer = json.dumps(SUMMARIZER, indent=1)
    openai_server.set_rule(scripted(answer))
    chunks = await chunks_of(openai_server)
    *fragments, metadata = chunks
    assert len(fragments) > 5
    assert all(isinstance(f, FlowFragment) and f.round == 1 for f in fragments)
    assert "".join(f.wire() for f in fragments) == answer
    assert isinstance(metadata, FlowMetadata)
    assert metadata.valid and not metadata.repaired and metadata.errors == []
    assert metadata.workflow == SUMMARIZER
    assert metadata.model == "gpt-4o-mini"
    assert metadata.tokens_from_usage
    # The fake server's usage: words of the prompt + the answer's tokens.
    request = openai_server.requests[0]
    words = sum(len(str(m["content"]).split()) for m in request["messages"])
    assert metadata.estimated_tokens > words
    assert metadata.estimated_cost.startswith("$")
    wire = metadata.wire()
    assert wire["type"] == "__metadata"
    assert set(wire) >= {
        "durationMs",
        "estimatedTokens",
        "model",
        "estimatedCost",
        "valid",
        "errors",
        "repaired",
    }
    assert len(openai_server.requests) == 1
    system = request["messages"][0]["content"]
    assert '"nodes"' in system and "condition" in system and "a2a" in system
    assert "calculator" in system


async def test_the_generated_workflow_runs(openai_server: FakeOpenAIServer) -> None:
    openai_server.set_rule(scripted(json.dumps(SUMMARIZER)))
    chunks = await chunks_of(openai_server)
    metadata = chunks[-1]
    assert isinstance(metadata, FlowMetadata) and metadata.workflow is not None
    assert validate_workflow(metadata.workflow["nodes"], metadata.workflow["edges"]).valid
    openai_server.set_rule(lambda request: "A short summary.")
    env = {"OPENAI_API_KEY": "sk", "OPENAI_BASE_URL": openai_server.base_url}
    result, _ = await run(
        metadata.workflow["nodes"],
        metadata.workflow["edges"],
        {"text": "a long text"},
        svc=services(environ=env),
    )
    assert result.status == "completed", result.error
    assert result.output == "A short summary."
    assert openai_server.requests[-1]["messages"][-1]["content"] == "Summarize: a long text"


async def test_an_invalid_answer_is_repaired(openai_server: FakeOpenAIServer) -> None:
    first = "Here is your workflow:\n```json\n" + json.dumps(NO_END) + "\n```"
    second = json.dumps(SUMMARIZER)
    openai_server.set_rule(scripted(first, second))
    chunks = await chunks_of(openai_server)
    kinds = [type(c).__name__ for c in chunks]
    reset_at = kinds.index("FlowReset")
    assert kinds[-1] == "FlowMetadata"
    before, reset, after = chunks[:reset_at], chunks[reset_at], chunks[reset_at + 1 : -1]
    assert "".join(f.text for f in before) == first
    assert all(f.round == 1 for f in before) and all(f.round == 2 for f in after)
    assert "".join(f.text for f in after) == second
    assert isinstance(reset, FlowReset)
    assert reset.wire()["type"] == "__reset"
    assert reset.reason == "invalid workflow"
    assert any("no end node" in e for e in reset.errors)
    metadata = chunks[-1]
    assert metadata.valid and metadata.repaired and metadata.workflow == SUMMARIZER
    repair = openai_server.requests[1]["messages"]
    assert repair[-2] == {"role": "assistant", "content": first}
    assert repair[-1]["role"] == "user" and "no end node" in repair[-1]["content"]


async def test_an_answer_that_stays_invalid_says_so(openai_server: FakeOpenAIServer) -> None:
    openai_server.set_rule(scripted(json.dumps(NO_END)))
    chunks = await chunks_of(openai_server)
    metadata = chunks[-1]
    assert isinstance(metadata, FlowMetadata)
    assert not metadata.valid and metadata.repaired
    assert any("no end node" in e for e in metadata.errors)
    assert metadata.wire()["valid"] is False
    assert len(openai_server.requests) == 2
    assert sum(isinstance(c, FlowReset) for c in chunks) == 1


async def test_prose_instead_of_json_is_repaired(openai_server: FakeOpenAIServer) -> None:
    openai_server.set_rule(scripted("I would use an LLM node.", json.dumps(SUMMARIZER)))
    chunks = await chunks_of(openai_server)
    reset = next(c for c in chunks if isinstance(c, FlowReset))
    assert reset.reason == "not JSON"
    assert chunks[-1].valid and chunks[-1].repaired


async def test_history_and_the_current_workflow_are_sent(openai_server: FakeOpenAIServer) -> None:
    openai_server.set_rule(scripted(json.dumps(SUMMARIZER)))
    history = [
        {"role": "user", "content": "Make a summarizer"},
        {"role": "assistant", "content": json.dumps(NO_END)},
    ]
    await chunks_of(
        openai_server,
        "Add an end node",
        history=history,
        current_payload=json.dumps(NO_END),
    )
    messages = openai_server.requests[0]["messages"]
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user"]
    assert messages[1:3] == history
    assert json.dumps(NO_END, separators=(",", ":")) in messages[3]["content"]
    assert messages[3]["content"].endswith("Add an end node")


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"message": "  "}, "message"),
        ({"current_payload": "{not json"}, "currentPayload"),
        ({"current_payload": "[1, 2]"}, "currentPayload"),
        ({"history": [{"role": "system", "content": "x"}]}, "history"),
    ],
)
async def test_bad_requests_fail_before_streaming(
    openai_server: FakeOpenAIServer, kwargs: dict[str, Any], field: str
) -> None:
    message = kwargs.pop("message", "Make something")
    with pytest.raises(ValidationFailed) as refused:
        await build_flow(message, choice=ModelChoice(), access=access(openai_server), **kwargs)
    assert refused.value.field == field
    assert openai_server.requests == []


async def test_collect_flow_returns_the_metadata(openai_server: FakeOpenAIServer) -> None:
    openai_server.set_rule(scripted(json.dumps(SUMMARIZER)))
    stream = await build_flow("x", choice=ModelChoice(), access=access(openai_server))
    metadata = await collect_flow(stream)
    assert metadata.valid and metadata.workflow == SUMMARIZER


def test_token_and_cost_estimates() -> None:
    assert estimate_tokens(0) == 0 and estimate_tokens(9) == 3
    assert price_of("gpt-4o-mini-2024-07-18") == price_of("gpt-4o-mini")
    assert price_of("gpt-4o-2024-08-06") == price_of("gpt-4o") != price_of("gpt-4o-mini")
    tokens = TokenCount(prompt=1_000_000, completion=1_000_000, from_usage=True)
    assert estimate_cost(tokens, model="gpt-4o", provider="openai") == "$12.50"
    small = TokenCount(prompt=1000, completion=100, from_usage=False)
    assert estimate_cost(small, model="gpt-4o-mini", provider="openai") == "$0.0002"
    assert estimate_cost(small, model="my-azure-deployment", provider="azure-openai") == "unknown"
    assert estimate_cost(small, model="llama3.1", provider="ollama") == "$0.00"
