"""The `knowledge` node and the `knowledge_search` agent tool, in real workflow runs."""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest

from engine.memory import InMemoryEventSink
from engine.runner import RunRequest, RunResult, RunServices, WorkflowRunner
from engine.services.knowledge import KnowledgeService
from engine.validation import validate_workflow
from tests.knowledge.conftest import openai_env
from tests.knowledge.samples import stream
from tests.support.openai_server import FakeOpenAIServer, Reply, ToolCallReply, last_user_message

pytestmark = pytest.mark.anyio

OWNER, OTHER = "owner-a", "owner-b"
MISSING = "00000000-0000-0000-0000-000000000000"

ZOO = "The zebra enclosure opens at noon and closes at six."
GARDEN = "The tulip beds in the garden are watered at dawn."


def node(node_id: str, node_type: str, **data: Any) -> dict[str, Any]:
    return {"id": node_id, "type": node_type, "position": {"x": 0, "y": 0}, "data": data}


def edges(*ids: str) -> list[dict[str, Any]]:
    return [{"id": f"{a}->{b}", "source": a, "target": b} for a, b in itertools.pairwise(ids)]


async def knowledge_base(service: KnowledgeService) -> str:
    kb = await service.create_knowledge_base(OWNER, name="Park")
    for name, text in (("zoo.txt", ZOO), ("garden.txt", GARDEN)):
        file = await service.ingest(
            OWNER, kb.id, file_name=name, content_type=None, chunks=stream(text.encode())
        )
        assert file.status == "ready"
    return kb.id


async def run(
    service: KnowledgeService,
    server: FakeOpenAIServer,
    nodes: list[dict[str, Any]],
    input_data: dict[str, Any],
    *,
    owner_id: str = OWNER,
) -> tuple[RunResult, InMemoryEventSink]:
    sink = InMemoryEventSink()
    services = RunServices(
        event_sink=sink, environ=openai_env(server), knowledge=service, retry_base_delay_s=0.01
    )
    result = await WorkflowRunner(services).run(
        RunRequest(
            execution_id="exec-knowledge",
            owner_id=owner_id,
            nodes=nodes,
            edges=edges(*(n["id"] for n in nodes)),
            input_data=input_data,
        )
    )
    return result, sink


def rag_workflow(kb_ids: list[str]) -> list[dict[str, Any]]:
    return [
        node("start-1", "start"),
        node("knowledge-1", "knowledge", knowledgeBaseIds=kb_ids, query="{input.question}", topK=1),
        node(
            "llm-1",
            "llm",
            provider="openai",
            model="gpt-4o-mini",
            prompt="Answer from this context only.\n{knowledge-1.context}\nQuestion: {input.question}",
        ),
        node("end-1", "end"),
    ]


async def test_retrieved_context_reaches_the_llm_prompt(
    service: KnowledgeService, openai_server: FakeOpenAIServer
) -> None:
    kb_id = await knowledge_base(service)
    nodes = rag_workflow([kb_id])
    assert validate_workflow(nodes, edges(*(n["id"] for n in nodes))).valid
    result, sink = await run(
        service, openai_server, nodes, {"question": "When does the zebra enclosure open?"}
    )
    assert result.status == "completed", result.error
    [finished] = [e for e in sink.of_type("node_finished") if e.node_id == "knowledge-1"]
    output = finished.data["output"]
    [chunk] = output["chunks"]
    assert (chunk["text"], chunk["fileName"], chunk["chunkIndex"]) == (ZOO, "zoo.txt", 0)
    assert 0 < chunk["score"] <= 1
    assert output["context"] == f"[1] zoo.txt\n{ZOO}"
    # The LLM was asked with the retrieved passage in its prompt (the fake server echoes it).
    [chat] = openai_server.requests
    prompt = last_user_message(chat)
    assert f"[1] zoo.txt\n{ZOO}" in prompt and GARDEN not in prompt
    assert result.output == f"Summary: {prompt}"
    assert [r["input"] for r in openai_server.embedding_requests][-1] == [
        "When does the zebra enclosure open?"
    ]


async def test_another_users_knowledge_base_fails_the_node_like_a_missing_one(
    service: KnowledgeService, openai_server: FakeOpenAIServer
) -> None:
    kb_id = await knowledge_base(service)
    errors = []
    for kb in (kb_id, MISSING):
        result, _ = await run(
            service, openai_server, rag_workflow([kb]), {"question": "zebra"}, owner_id=OTHER
        )
        assert result.status == "failed"
        assert result.error is not None
        errors.append(result.error.replace(kb, "<id>"))
    assert errors[0] == errors[1]
    assert "Knowledge base <id> not found" in errors[0]
    assert openai_server.requests == []  # the LLM was never reached


def test_node_config_is_validated() -> None:
    nodes = [
        node("start-1", "start"),
        node("knowledge-1", "knowledge", knowledgeBaseIds="kb", query="q", topK=0, minScore=2),
        node("end-1", "end"),
    ]
    report = validate_workflow(nodes, edges("start-1", "knowledge-1", "end-1"))
    assert not report.valid
    text = " ".join(report.errors)
    assert "knowledgeBaseIds must be a list" in text
    assert "topK must be an integer" in text and "minScore must be a number" in text


def search_then_answer(request: dict[str, Any]) -> Reply:
    """Call knowledge_search once, then answer with what it returned."""
    results = [m for m in request["messages"] if m.get("role") == "tool"]
    if not results:
        return [ToolCallReply(name="knowledge_search", arguments={"query": "tulip beds watered"})]
    return "Found: " + results[-1]["content"]


async def test_an_agent_searches_its_knowledge_bases_with_the_tool(
    service: KnowledgeService, openai_server: FakeOpenAIServer
) -> None:
    kb_id = await knowledge_base(service)
    openai_server.set_rule(search_then_answer)
    agent = node(
        "agent-1", "agent", provider="openai", prompt="When are the tulips watered?",
        knowledgeBases=[kb_id],
    )  # fmt: skip
    result, sink = await run(
        service, openai_server, [node("start-1", "start"), agent, node("end-1", "end")], {}
    )
    assert result.status == "completed", result.error
    # The tool came with the knowledge base, without being listed in data.tools.
    offered = [t["function"]["name"] for t in openai_server.requests[0]["tools"]]
    assert offered == ["knowledge_search"]
    [tool_result] = sink.of_type("tool_result")
    assert tool_result.data["is_error"] is False
    top = tool_result.data["result"]["results"][0]
    assert (top["text"], top["fileName"]) == (GARDEN, "garden.txt")
    assert GARDEN in json.dumps(result.output)


async def test_the_tool_answers_another_users_knowledge_base_like_a_missing_one(
    service: KnowledgeService, openai_server: FakeOpenAIServer
) -> None:
    kb_id = await knowledge_base(service)
    openai_server.set_rule(search_then_answer)
    answers = []
    for kb in (kb_id, MISSING):
        agent = node("agent-1", "agent", provider="openai", prompt="Tulips?", knowledgeBases=[kb])
        result, sink = await run(
            service,
            openai_server,
            [node("start-1", "start"), agent, node("end-1", "end")],
            {},
            owner_id=OTHER,
        )
        assert result.status == "completed", result.error  # the model sees the error, goes on
        [tool_result] = sink.of_type("tool_result")
        assert tool_result.data["is_error"] is True
        answers.append(json.dumps(tool_result.data["result"]).replace(kb, "<id>"))
    assert answers[0] == answers[1] == json.dumps({"error": "Knowledge base <id> not found"})
