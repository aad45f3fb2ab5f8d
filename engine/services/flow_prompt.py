"""The flow builder's prompts: our workflow JSON format and every node kind's config.

The node list is built from the registry (`engine.nodes.NODE_TYPES`: kind,
description, required fields, output handles) plus a line of config hints per
known kind, so a new kind appears in the prompt as soon as it registers; the
tool ids come from the catalog.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from engine.nodes import NODE_TYPES
from engine.tools import TOOL_CATALOG

CONFIG_HINTS: Mapping[str, str] = {
    "start": "no config; its output is the run input (`{input}`, `{input.<field>}`).",
    "input": "fields: [{name, type?: string|number|integer|boolean|object|array, required?, default?}]",
    "output": 'key (required), value (template, default "{value}"); the end node merges outputs by key.',
    "end": "no config; the run's result.",
    "llm": "provider (openai|deepseek|azure-openai|ollama|custom), model, prompt (template, "
    "required), system, temperature, max_tokens. Output: the reply text.",
    "agent": "like llm plus tools (catalog tool ids), max_steps (1-50), httpTools "
    "([{name, url, method, headers, body}], `{input}` in url/body), mcpServers ([{url, tools?}]). "
    "Output: {text, steps, tool_calls}.",
    "condition": 'expression (required, e.g. "{value.score} > 10"); leave it by edges with '
    'sourceHandle "true" and "false".',
    "transform": "mapping ({key: template}) and/or expression (JMESPath over the context; quote "
    'hyphenated ids: "llm-1").',
    "loop": 'items_path (required, dotted path to a list, e.g. "input.items"), item_variable '
    '(default item), concurrency; body edges have sourceHandle "body", the edge to continue '
    'after the loop has sourceHandle "done".',
    "http": "method, url (template, required), headers (object of templates), body (template "
    "or object). Output: {status, headers, body}.",
    "code": "code (required): a JavaScript function body; `input` is the previous output, "
    "`return` gives the output; no require/fetch/fs.",
    "human": "prompt (template, required); waits for a person's answer. Output: {response}.",
    "datasource": "data_source_id and query (template), both required.",
    "knowledge": "knowledgeBaseIds (list), query (template), topK. Output: {chunks, context}.",
    "a2a": "url (required), message (template, default {value}), format (auto|google|microsoft). "
    "Output: {text, parts, state, agent}.",
}

FORMAT = """\
A workflow is one JSON object:
{"nodes": [{"id": "llm-1", "type": "llm", "position": {"x": 200, "y": 0}, "data": {...}}],
 "edges": [{"id": "e1", "source": "start-1", "target": "llm-1", "sourceHandle": "true"?}]}
Rules:
- Exactly one "start" node and at least one "end" node; every node reachable from start.
- Node ids are unique, short and hyphenated by kind ("llm-1", "condition-1"); edge ids unique.
- Edges go from source to target node ids; only condition ("true"/"false") and loop
  ("body"/"done") edges carry a sourceHandle. No cycles except a loop body leading back.
- position: lay nodes out left to right, x += 250 per step, branches at different y.
- Templates in data fields: {input} (run input), {input.field}, {value} (previous node's
  output), {node-id} or {node-id.field} (any finished node's output)."""


def node_catalog() -> str:
    """One line per registered node kind: its required fields, handles and config hints."""
    lines = []
    for kind, spec in sorted(NODE_TYPES.items()):
        facts = [spec.description.rstrip(".")]
        if spec.required:
            facts.append("required: " + ", ".join(f"data.{name}" for name in spec.required))
        if spec.output_handles:
            facts.append("handles: " + "/".join(spec.output_handles))
        hint = CONFIG_HINTS.get(kind)
        lines.append(f"- {kind}: {'; '.join(facts)}." + (f" Config: {hint}" if hint else ""))
    return "\n".join(lines)


def system_prompt(*, provider: str, model: str, extra: str | None = None) -> str:
    """The flow builder's system prompt."""
    tools = ", ".join(sorted(TOOL_CATALOG))
    parts = [
        "You design workflows for a low-code AI workflow engine. Turn the user's request "
        "into a workflow, or change the current workflow as asked.",
        FORMAT,
        "Node kinds:\n" + node_catalog(),
        f"Agent tool ids: {tools}.",
        f'Unless the user says otherwise, llm and agent nodes use "provider": "{provider}" '
        f'and "model": "{model}".',
        "When a current workflow is given, keep its node ids, positions and settings "
        "except what the request changes, and answer with the complete updated workflow.",
        "Answer with the workflow JSON object only: no prose, no Markdown fences.",
    ]
    if extra:
        parts.append(extra)
    return "\n\n".join(parts)


def user_prompt(message: str, current: Mapping[str, Any] | None) -> str:
    """The request, with the current workflow to edit when there is one."""
    if current is None:
        return message
    return (
        "Current workflow:\n"
        + json.dumps(current, ensure_ascii=False, separators=(",", ":"))
        + "\n\nChange it as follows:\n"
        + message
    )


def repair_prompt(errors: Sequence[str]) -> str:
    """The follow-up asking the model to fix what validation found."""
    listed = "\n".join(f"- {error}" for error in errors[:30])
    return (
        "That workflow is not valid:\n"
        + listed
        + "\n\nAnswer with the corrected complete workflow JSON object only."
    )
