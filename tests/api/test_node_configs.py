"""Node configs against their kinds' JSON Schemas (`nodeTypes { configSchema }`): what the
shipped templates and the seed documents use passes; a malformed config is refused on save
naming `nodes[i].data.<key>` (GraphQL: `["input", "nodes", i, "config", key]`), on every
surface; a missing required field only makes a draft that validation reports."""

from __future__ import annotations

import json
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from engine.builtin_templates import list_templates
from engine.errors import ValidationFailed
from engine.node_schemas import NODE_CONFIG_SCHEMAS, check_node_configs, config_problems
from engine.nodes import NODE_TYPES
from engine.validation import validate_workflow
from tests.api.test_workflows_v1 import SEED_EXAMPLE
from tests.support.live import LiveServer

# Seed 000's node configuration examples ("LLM节点配置", "条件节点配置", "循环节点配置").
SEED_000_NODES: list[dict[str, Any]] = [
    {"id": "llm-1", "type": "llm", "data": {"provider": "deepseek", "model": "deepseek-chat",
     "prompt": "请回答:{input}", "temperature": 0.7, "max_tokens": 1000}},
    {"id": "condition-1", "type": "condition", "data": {"expression": "{value} > 10"}},
    {"id": "loop-1", "type": "loop", "data": {"items_path": "items", "item_variable": "item",
     "error_handling": "continue"}},
    *SEED_EXAMPLE["nodes"],
]  # fmt: skip


def test_every_kind_has_a_valid_schema() -> None:
    assert set(NODE_CONFIG_SCHEMAS) == set(NODE_TYPES)
    for kind, schema in NODE_CONFIG_SCHEMAS.items():
        Draft202012Validator.check_schema(schema)
        # The schema's required fields are the ones the kind cannot run without.
        assert schema["required"] == list(NODE_TYPES[kind].required), kind


@pytest.mark.parametrize(
    "template", list_templates(), ids=lambda t: str(t["id"])
)  # the shipped templates
def test_builtin_templates_fit_the_schemas(template: dict[str, Any]) -> None:
    for node in template["nodes"]:
        assert config_problems(node["type"], node.get("data") or {}) == [], node["id"]


def test_seed_examples_fit_the_schemas() -> None:
    for node in SEED_000_NODES:
        assert config_problems(node["type"], node["data"]) == [], node["id"]


def test_values_the_engine_accepts_in_any_case_or_shape_pass() -> None:
    # The engine upper-cases methods, lower-cases formats, reads any provider name with a
    # key setting, caps code timeouts and str()s header values: a save must not refuse them.
    accepted = [
        ("http", {"url": "https://example.org", "method": "get", "headers": {"X-N": 3}}),
        ("llm", {"prompt": "p", "provider": "groq", "temperature": 2.5}),
        ("code", {"code": "return 1", "timeout_ms": 120000}),
        ("a2a", {"url": "https://example.org", "format": "Google"}),
        ("agent", {"prompt": "p", "httpTools": [{"name": "t", "url": "https://example.org",
                   "method": "post", "headers": {"X-N": 1}}], "mcpServers": ["http://127.0.0.1:1/mcp"]}),
        ("knowledge", {"knowledgeBaseIds": ["kb"], "query": "q", "mode": "vector"}),
        ("start", {"label": "开始", "color": "#fff", "description": "front-end fields stay"}),
    ]  # fmt: skip
    for kind, data in accepted:
        assert config_problems(kind, data) == [], (kind, data)


def test_check_node_configs_names_every_malformed_field_and_lets_drafts_pass() -> None:
    nodes = [
        {"id": "s", "type": "start", "data": {}},
        {"id": "l", "type": "llm", "data": {"temperature": "hot", "max_tokens": 0}},
        {"id": "x", "type": "from-another-editor", "data": {"anything": 1}},
        {"id": "k", "type": "loop", "data": {"concurrency": 99}},
    ]
    with pytest.raises(ValidationFailed) as caught:
        check_node_configs(nodes)
    assert caught.value.field == "nodes[1].data.max_tokens"
    assert caught.value.details == {
        "problems": [
            ("nodes[1].data.max_tokens", "node 'l' (llm): data.max_tokens must be at least 1"),
            ("nodes[1].data.temperature", "node 'l' (llm): data.temperature must be a number"),
            ("nodes[3].data.concurrency", "node 'k' (loop): data.concurrency must be at most 32"),
        ]
    }
    # Missing required fields (the prompt, a loop's items_path) are an incomplete draft.
    check_node_configs([{"id": "l", "type": "llm", "data": {}}, {"id": "k", "type": "loop"}])


def test_validation_reports_schema_problems_once() -> None:
    nodes = [
        {"id": "s", "type": "start", "data": {}},
        {"id": "l", "type": "llm", "data": {"prompt": 7, "on_error": "explode", "max_tokens": 0}},
        {"id": "e", "type": "end", "data": {}},
    ]
    edges = [{"id": "a", "source": "s", "target": "l"}, {"id": "b", "source": "l", "target": "e"}]
    report = validate_workflow(nodes, edges)
    assert report.valid is False
    assert sorted(report.errors) == [
        "node 'l' (llm): data.max_tokens must be at least 1",
        # The kind's own check words on_error; the schema does not say it again.
        "node 'l' (llm): data.on_error must be one of fail, continue, error_edge",
        "node 'l' (llm): data.prompt must be a string",
    ]


BAD_LLM = {"id": "llm-1", "type": "llm", "data": {"prompt": "hi", "temperature": "hot"}}


def test_rest_v1_refuses_a_malformed_config_naming_the_field(server: LiveServer) -> None:
    user = server.register()
    nodes = [SEED_EXAMPLE["nodes"][0], BAD_LLM, SEED_EXAMPLE["nodes"][2]]
    with server.client(user["token"]) as c:
        r = c.post("/api/v1/workflows", json={"name": "bad", "nodes": nodes, "edges": []})
        assert r.status_code == 422, r.text
        body = r.json()
        assert body["error_code"] == "VALIDATION_ERROR" and body["status_code"] == 422
        assert "nodes[1].data.temperature" in body["detail"]
        assert "must be a number" in body["detail"]
        # A draft without its prompt is saved; validation says what is missing.
        draft = {**BAD_LLM, "data": {"temperature": 0.3}}
        ok = c.post("/api/v1/workflows", json={"name": "draft", "nodes": [draft], "edges": []})
        assert ok.status_code == 201, ok.text
        changed = c.put(f"/api/v1/workflows/{ok.json()['id']}", json={"nodes": nodes})
        assert changed.status_code == 422 and "nodes[1].data.temperature" in changed.text
        check = c.post("/api/v1/workflows/validate", json={"nodes": nodes, "edges": []})
        assert check.status_code == 200
        assert "node 'llm-1' (llm): data.temperature must be a number" in check.json()["errors"]


def test_seed_003_workflow_json_with_a_malformed_config_is_refused(server: LiveServer) -> None:
    user = server.register()
    document = {"nodes": [BAD_LLM], "edges": [], "viewport": {"x": 0, "y": 0, "zoom": 1}}
    with server.client(user["token"]) as c:
        r = c.post("/api/workflows", json={"name": "bad", "workflowJson": json.dumps(document)})
        assert 400 <= r.status_code < 500, r.text
        assert "nodes[0].data.temperature" in r.text
        good = {**document, "nodes": [{**BAD_LLM, "data": {"prompt": "hi", "temperature": 1}}]}
        r = c.post("/api/workflows", json={"name": "good", "workflowJson": json.dumps(good)})
        assert r.status_code == 201, r.text
