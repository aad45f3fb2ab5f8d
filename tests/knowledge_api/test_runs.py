"""Knowledge in real runs over REST: a `knowledge` node feeding an LLM node, and the
`knowledge_search` tool of `/ag-ui/goal`; another user's knowledge base fails like a missing one."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx

from tests.agui.helpers import run_input, sse_events
from tests.knowledge_api.support import GARDEN, ZOO, upload_ready
from tests.runs.helpers import chain, create_workflow, node, wait_terminal
from tests.support.live import LiveServer
from tests.support.openai_server import FakeOpenAIServer, Reply, ToolCallReply, last_user_message

QUESTION = "When does the zebra enclosure open?"


def park(c: httpx.Client) -> str:
    kb = c.post("/api/knowledge-bases", json={"name": "Park"}).json()
    upload_ready(c, kb["id"], "zoo.txt", ZOO.encode())
    upload_ready(c, kb["id"], "garden.txt", GARDEN.encode())
    return str(kb["id"])


def rag_workflow(c: httpx.Client, kb_id: str) -> str:
    nodes = [
        node("start-1", "start"),
        node(
            "knowledge-1", "knowledge", knowledgeBaseIds=[kb_id], query="{input.question}", topK=1
        ),
        node(
            "llm-1",
            "llm",
            provider="openai",
            model="gpt-4o-mini",
            prompt="Answer from this context only.\n{knowledge-1.context}\nQuestion: {input.question}",
        ),
        node("end-1", "end"),
    ]
    return create_workflow(c, nodes, chain(*nodes), name="rag")


def run(c: httpx.Client, workflow_id: str) -> dict[str, Any]:
    r = c.post(
        f"/api/v1/workflows/{workflow_id}/execute", json={"input_data": {"question": QUESTION}}
    )
    assert r.status_code in (200, 201, 202), r.text
    return wait_terminal(c, r.json()["id"])


def test_knowledge_node_feeds_the_llm_the_right_chunk(
    kb_server: LiveServer, openai_server: FakeOpenAIServer
) -> None:
    user = kb_server.register()
    with kb_server.client(user["token"]) as c:
        kb_id = park(c)
        done = run(c, rag_workflow(c, kb_id))
        assert done["status"] == "completed", done
    # The fake model echoes its prompt: it was given the zoo chunk, and only that one.
    prompt = last_user_message(openai_server.requests[-1])
    assert f"[1] zoo.txt\n{ZOO}" in prompt and "tulip" not in prompt
    assert "zebra enclosure opens at noon" in json.dumps(done["output_data"])
    assert "tulip" not in json.dumps(done["output_data"])


def test_another_users_knowledge_base_fails_the_node_like_a_missing_one(
    kb_server: LiveServer,
) -> None:
    owner, other = kb_server.register(), kb_server.register()
    with kb_server.client(owner["token"]) as c:
        kb_id = park(c)
    missing = str(uuid.uuid4())
    with kb_server.client(other["token"]) as c:
        theirs = run(c, rag_workflow(c, kb_id))
        absent = run(c, rag_workflow(c, missing))
    assert theirs["status"] == absent["status"] == "failed"
    said = theirs["error"].replace(kb_id, "?")
    assert said == "node 'knowledge-1' (knowledge) failed: Knowledge base ? not found"
    assert said == absent["error"].replace(missing, "?")


def test_goal_agent_answers_from_documents_with_knowledge_search(
    kb_server: LiveServer, openai_server: FakeOpenAIServer
) -> None:
    def rule(request: dict[str, Any]) -> Reply:
        results = [m for m in request.get("messages", []) if m.get("role") == "tool"]
        if not results:
            return [ToolCallReply(name="knowledge_search", arguments={"query": QUESTION})]
        return f"From the documents: {results[-1]['content']}"

    openai_server.set_rule(rule)
    user = kb_server.register()
    with kb_server.client(user["token"]) as c:
        park(c)
        body = run_input("", QUESTION)
        body["forwardedProps"] = {
            "provider": "openai", "model": "gpt-4o-mini", "tools": "knowledge_search",
        }  # fmt: skip
        _, events = sse_events(c, "/ag-ui/goal", body)
    assert events[-1]["type"] == "RUN_FINISHED", events[-1]
    start = next(e for e in events if e["type"] == "TOOL_CALL_START")
    assert start["toolCallName"] == "knowledge_search"
    result = json.loads(next(e for e in events if e["type"] == "TOOL_CALL_RESULT")["content"])
    top = result["results"][0]
    assert top["fileName"] == "zoo.txt" and top["text"] == ZOO
    text = "".join(e["delta"] for e in events if e["type"] == "TEXT_MESSAGE_CONTENT")
    assert "zebra enclosure opens at noon" in text
