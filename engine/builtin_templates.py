"""Built-in workflow templates, as plain data the template gallery serves.

Every template passes `validate_workflow` cleanly (a test holds that), and
its `id` is a stable slug clients may bookmark.
"""

from __future__ import annotations

import copy
from typing import Any

_X_STEP = 220


def _node(node_id: str, node_type: str, column: int, row: int = 0, **data: Any) -> dict[str, Any]:
    return {
        "id": node_id,
        "type": node_type,
        "position": {"x": column * _X_STEP, "y": row * 120},
        "data": data,
    }


def _edge(source: str, target: str, handle: str | None = None) -> dict[str, Any]:
    edge: dict[str, Any] = {"id": f"e-{source}-{target}", "source": source, "target": target}
    if handle is not None:
        edge["sourceHandle"] = handle
    return edge


BUILTIN_TEMPLATES: tuple[dict[str, Any], ...] = (
    {
        "id": "tpl-text-summarization",
        "name": "Text summarization",
        "description": "Summarize a piece of text with one LLM call.",
        "category": "text",
        "icon": "file-text",
        "tags": ["llm", "summarization", "starter"],
        "nodes": [
            _node("start-1", "start", 0, label="Start"),
            _node(
                "input-1",
                "input",
                1,
                label="Text",
                fields=[{"name": "text", "type": "string", "required": True}],
            ),
            _node(
                "llm-1",
                "llm",
                2,
                label="Summarize",
                provider="openai",
                model="gpt-4o-mini",
                system="You write faithful, concise summaries.",
                prompt="Summarize the following text in at most three sentences:\n\n{input.text}",
                temperature=0.3,
                max_tokens=400,
            ),
            _node("end-1", "end", 3, label="End"),
        ],
        "edges": [
            _edge("start-1", "input-1"),
            _edge("input-1", "llm-1"),
            _edge("llm-1", "end-1"),
        ],
    },
    {
        "id": "tpl-sentiment-classification",
        "name": "Sentiment classification",
        "description": "Classify text as positive or negative and branch on the answer.",
        "category": "classification",
        "icon": "git-branch",
        "tags": ["llm", "condition", "classification"],
        "nodes": [
            _node("start-1", "start", 0, label="Start"),
            _node(
                "llm-1",
                "llm",
                1,
                label="Classify",
                provider="openai",
                model="gpt-4o-mini",
                prompt=(
                    "Classify the sentiment of this text. Answer with exactly one word, "
                    "positive or negative.\n\n{input.text}"
                ),
                temperature=0,
                max_tokens=5,
            ),
            _node(
                "condition-1",
                "condition",
                2,
                label="Positive?",
                expression='"positive" in lower({llm-1})',
            ),
            _node("output-1", "output", 3, -1, label="Positive", key="label", value="positive"),
            _node("output-2", "output", 3, 1, label="Negative", key="label", value="negative"),
            _node("end-1", "end", 4, label="End"),
        ],
        "edges": [
            _edge("start-1", "llm-1"),
            _edge("llm-1", "condition-1"),
            _edge("condition-1", "output-1", "true"),
            _edge("condition-1", "output-2", "false"),
            _edge("output-1", "end-1"),
            _edge("output-2", "end-1"),
        ],
    },
    {
        "id": "tpl-loop-over-items",
        "name": "Loop over items",
        "description": "Reshape every item of a list with a transform inside a loop.",
        "category": "data",
        "icon": "repeat",
        "tags": ["loop", "transform", "data"],
        "nodes": [
            _node("start-1", "start", 0, label="Start"),
            _node(
                "loop-1",
                "loop",
                1,
                label="For each item",
                items_path="input.items",
                item_variable="item",
                error_handling="continue",
            ),
            _node(
                "transform-1",
                "transform",
                2,
                1,
                label="Greet",
                mapping={"name": "{item.name}", "greeting": "Hello, {item.name}!"},
            ),
            _node("output-1", "output", 2, label="Results", key="results", value="{loop-1}"),
            _node("end-1", "end", 3, label="End"),
        ],
        "edges": [
            _edge("start-1", "loop-1"),
            _edge("loop-1", "transform-1", "body"),
            _edge("loop-1", "output-1", "done"),
            _edge("output-1", "end-1"),
        ],
    },
    {
        "id": "tpl-agent-with-tools",
        "name": "Agent with tools",
        "description": "An agent that answers questions using the calculator and clock tools.",
        "category": "agent",
        "icon": "bot",
        "tags": ["agent", "tools", "calculator"],
        "nodes": [
            _node("start-1", "start", 0, label="Start"),
            _node(
                "agent-1",
                "agent",
                1,
                label="Agent",
                provider="openai",
                model="gpt-4o-mini",
                system="You are a careful assistant. Use tools for any arithmetic.",
                prompt="{input.question}",
                tools=["calculator", "datetime"],
                max_steps=5,
            ),
            _node("end-1", "end", 2, label="End"),
        ],
        "edges": [_edge("start-1", "agent-1"), _edge("agent-1", "end-1")],
    },
    {
        "id": "tpl-human-approval",
        "name": "Human approval",
        "description": "Draft a reply with an LLM, have a person approve it, branch on the answer.",
        "category": "human-in-the-loop",
        "icon": "user-check",
        "tags": ["human", "approval", "condition", "llm"],
        "nodes": [
            _node("start-1", "start", 0, label="Start"),
            _node(
                "llm-1",
                "llm",
                1,
                label="Draft",
                provider="openai",
                model="gpt-4o-mini",
                prompt="Draft a short, polite reply to this message:\n\n{input.message}",
            ),
            _node(
                "human-1",
                "human",
                2,
                label="Approve",
                prompt="Approve this draft? Answer yes or no.\n\n{llm-1}",
            ),
            _node(
                "condition-1",
                "condition",
                3,
                label="Approved?",
                expression='lower({human-1.response}) in ["yes", "y", "approve", "approved"]',
            ),
            _node("output-1", "output", 4, -1, label="Approved", key="reply", value="{llm-1}"),
            _node("output-2", "output", 4, 1, label="Rejected", key="status", value="rejected"),
            _node("end-1", "end", 5, label="End"),
        ],
        "edges": [
            _edge("start-1", "llm-1"),
            _edge("llm-1", "human-1"),
            _edge("human-1", "condition-1"),
            _edge("condition-1", "output-1", "true"),
            _edge("condition-1", "output-2", "false"),
            _edge("output-1", "end-1"),
            _edge("output-2", "end-1"),
        ],
    },
    {
        "id": "tpl-http-fetch-transform",
        "name": "HTTP fetch and transform",
        "description": "Fetch JSON from a URL and keep the fields you need.",
        "category": "integration",
        "icon": "globe",
        "tags": ["http", "transform", "jmespath"],
        "nodes": [
            _node("start-1", "start", 0, label="Start"),
            _node(
                "http-1",
                "http",
                1,
                label="Fetch",
                method="GET",
                url="{input.url}",
                headers={"Accept": "application/json"},
                retries=2,
            ),
            _node(
                "transform-1",
                "transform",
                2,
                label="Pick fields",
                expression="{status: value.status, data: value.body}",
            ),
            _node("end-1", "end", 3, label="End"),
        ],
        "edges": [
            _edge("start-1", "http-1"),
            _edge("http-1", "transform-1"),
            _edge("transform-1", "end-1"),
        ],
    },
)


def list_templates() -> list[dict[str, Any]]:
    """Deep copies of every built-in template (callers may mutate them)."""
    return copy.deepcopy(list(BUILTIN_TEMPLATES))


def get_template(template_id: str) -> dict[str, Any] | None:
    """One built-in template by id, deep-copied; `None` if unknown."""
    for template in BUILTIN_TEMPLATES:
        if template["id"] == template_id:
            return copy.deepcopy(template)
    return None
