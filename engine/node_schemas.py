"""JSON Schemas of node configs (`data`), one per node kind, so a client can build a form.

The schemas describe the shape of each field (what a form needs: types, enums,
defaults, descriptions); the node kinds' own checks (`NodeSpec.check`,
templates, expressions) still run on top. `config_errors` applies a schema and
words each problem with the field's path, the way the validator words others.
Fields no schema names are allowed: seed 003 clients keep their own
front-end fields (`label`, `description`, colours) in `data`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jsonschema import Draft202012Validator

JSONSchema = dict[str, Any]


def _text(description: str, **extra: Any) -> JSONSchema:
    return {"type": "string", "description": description, **extra}


def _template(description: str) -> JSONSchema:
    return _text(description + " (a template: `{input.x}`, `{node-id.field}`, `{value}`)")


COMMON: dict[str, JSONSchema] = {
    "label": _text("The name shown on the canvas."),
    "timeout_s": {
        "type": "number",
        "exclusiveMinimum": 0,
        "description": "Per-node time limit in seconds (default: the run's node timeout).",
    },
    "on_error": {
        "enum": ["fail", "continue", "error_edge"],
        "default": "fail",
        "description": "fail the run, continue with `default_value`, or follow `error` edges.",
    },
    "default_value": {"description": "The output used with `on_error: continue`."},
}
PROVIDER = {
    "enum": ["openai", "deepseek", "azure-openai", "ollama", "custom"],
    "default": "openai",
    "description": "The LLM provider (an OpenAI-compatible endpoint).",
}
LLM_FIELDS: dict[str, JSONSchema] = {
    "provider": PROVIDER,
    "model": _text("The model name (default per provider)."),
    "prompt": _template("The user message"),
    "system": _template("The system message"),
    "temperature": {"type": "number", "minimum": 0, "maximum": 2},
    "max_tokens": {"type": "integer", "minimum": 1},
}
HTTP_TOOL = {
    "type": "object",
    "required": ["name", "url"],
    "properties": {
        "name": _text("The tool's name, as the model sees it."),
        "url": _text("The URL; `{input}` is replaced by the model's argument."),
        "method": {"enum": ["GET", "POST", "PUT", "PATCH", "DELETE"], "default": "GET"},
        "headers": _text("`Name: value` lines."),
        "body": _text("The body; `{input}` is replaced by the model's argument."),
        "description": _text("What the tool does, for the model."),
    },
}
MCP_SERVER = {
    "anyOf": [
        _text("The MCP server's URL."),
        {
            "type": "object",
            "required": ["url"],
            "properties": {
                "url": _text("The MCP server's URL (streamable HTTP, or SSE)."),
                "tools": {"type": "array", "items": {"type": "string"}},
                "headers": {"type": "object", "additionalProperties": {"type": "string"}},
                "name": _text("A short name, used to tell same-named tools apart."),
            },
        },
    ]
}


def _schema(
    description: str, properties: dict[str, JSONSchema], required: tuple[str, ...] = ()
) -> JSONSchema:
    return {
        "type": "object",
        "description": description,
        "properties": {**COMMON, **properties},
        "required": list(required),
    }


NODE_CONFIG_SCHEMAS: dict[str, JSONSchema] = {
    "start": _schema("The entry point; its output is the run input.", {}),
    "end": _schema("The run output: the merged output nodes, or the previous output.", {}),
    "input": _schema(
        "Declares and checks run inputs.",
        {
            "fields": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["name"],
                    "properties": {
                        "name": _text("The input key."),
                        "type": {
                            "enum": ["string", "number", "integer", "boolean", "object", "array"]
                        },
                        "required": {"type": "boolean", "default": False},
                        "default": {"description": "The value when the input lacks it."},
                        "description": _text("Shown to whoever fills the form."),
                    },
                },
            }
        },
    ),
    "output": _schema(
        "One named piece of the run output.",
        {"key": _text("The output key."), "value": _template("The value (default `{value}`)")},
        ("key",),
    ),
    "llm": _schema(
        "One chat completion; streams tokens.",
        {**LLM_FIELDS, "retries": {"type": "integer", "minimum": 0, "maximum": 10}},
        ("prompt",),
    ),
    "agent": _schema(
        "An LLM that calls tools until it answers.",
        {
            **LLM_FIELDS,
            "tools": {"type": "array", "items": {"type": "string"}, "description": "Tool ids."},
            "skills": {"type": "array", "items": {"type": "string"}, "description": "Skill ids."},
            "max_steps": {"type": "integer", "minimum": 1, "maximum": 50, "default": 8},
            "knowledgeBases": {"type": "array", "items": {"type": "string"}},
            "httpTools": {"type": "array", "items": HTTP_TOOL},
            "mcpServers": {"type": "array", "items": MCP_SERVER},
        },
        ("prompt",),
    ),
    "condition": _schema(
        "Follows the `true` or the `false` edges.",
        {"expression": _text("A safe expression, e.g. `{value} > 10`.")},
        ("expression",),
    ),
    "transform": _schema(
        "Builds a value from templates or a JMESPath expression.",
        {
            "mapping": {"type": "object", "description": "key -> template"},
            "expression": _text("A JMESPath expression over the run context."),
        },
    ),
    "loop": _schema(
        "Runs the `body` edges once per item, then follows `done`.",
        {
            "items_path": _text("A dotted path to a list in the run context."),
            "item_variable": _text("The item's name in the body.", default="item"),
            "error_handling": {"enum": ["stop", "continue"], "default": "stop"},
            "concurrency": {"type": "integer", "minimum": 1, "maximum": 32, "default": 1},
        },
        ("items_path",),
    ),
    "http": _schema(
        "An outbound HTTP request through the outbound guard.",
        {
            "method": {"enum": ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"], "default": "GET"},
            "url": _template("The URL"),
            "headers": {"type": "object", "additionalProperties": {"type": "string"}},
            "body": {"description": "A template string, or an object/list sent as JSON."},
            "retries": {"type": "integer", "minimum": 0, "maximum": 10},
        },
        ("url",),
    ),
    "code": _schema(
        "JavaScript in a sandbox with time and memory limits.",
        {
            "code": _text("A function body; `input` is the previous output; `return` a value."),
            "timeout_ms": {"type": "integer", "minimum": 1, "maximum": 60000, "default": 5000},
        },
        ("code",),
    ),
    "human": _schema(
        "Pauses until a person answers.",
        {"prompt": _template("What to ask")},
        ("prompt",),
    ),
    "datasource": _schema(
        "One read-only query against a saved data source.",
        {
            "data_source_id": _text("The data source's id."),
            "query": _text("The query; `{path}` placeholders are bound, never spliced."),
        },
        ("data_source_id", "query"),
    ),
    "knowledge": _schema(
        "Retrieves the best-matching chunks of knowledge bases.",
        {
            "knowledgeBaseIds": {"type": "array", "items": {"type": "string"}, "minItems": 1},
            "query": _template("The search text"),
            "topK": {"type": "integer", "minimum": 1, "maximum": 50, "default": 5},
            "minScore": {"type": "number", "minimum": 0, "maximum": 1},
        },
        ("knowledgeBaseIds", "query"),
    ),
    "a2a": _schema(
        "Sends a message to a remote A2A agent and outputs its reply.",
        {
            "url": _text("The agent's URL."),
            "message": _template("The message (default `{value}`)"),
            "format": {"enum": ["auto", "google", "microsoft"], "default": "auto"},
        },
        ("url",),
    ),
}


def config_schema(node_type: str) -> JSONSchema:
    """The schema of a kind's `data` (an open object schema for kinds with none)."""
    return NODE_CONFIG_SCHEMAS.get(node_type) or _schema("", {})


def config_errors(node_type: str, data: Mapping[str, Any], where: str) -> list[str]:
    """Problems of `data` against its kind's schema, each naming `<where>.data.<field>`."""
    validator = Draft202012Validator(config_schema(node_type))
    errors = []
    for error in sorted(validator.iter_errors(dict(data)), key=lambda e: list(e.path)):
        path = ".".join(str(p) for p in error.absolute_path)
        errors.append(f"{where}.data{'.' + path if path else ''}: {error.message}")
    return errors
