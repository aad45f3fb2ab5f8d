"""JSON Schemas of node configs (`data`), one per node kind, so a client can build a form.

The schemas describe the shape of each field (what a form needs: types, enums,
defaults, descriptions); the node kinds' own checks (`NodeSpec.check`,
templates, expressions) still run on top. Fields no schema names are allowed:
seed 003 clients keep their own front-end fields (`label`, `description`,
colours) in `data`.

Two uses: `check_node_configs` refuses a saved graph whose configs are malformed
(a wrong type, a value outside its enum or range), naming `nodes[i].data.<key>`;
a missing required field is not malformed, since a draft may be incomplete, so
only `validate_workflow` reports it (through `config_errors`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError as SchemaError

from engine.errors import ValidationFailed
from engine.knowledge.records import SEARCH_MODES

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
# Names the engine reads in any case (it lower- or upper-cases them) are strings with
# `examples`, not enums: a form can offer the examples, and a save never refuses a value
# a run would accept.
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
PROVIDER = {
    "type": "string",
    "examples": ["openai", "deepseek", "azure-openai", "ollama", "custom"],
    "default": "openai",
    "description": "The LLM provider (an OpenAI-compatible endpoint): one of the examples, or "
    "any name with a `<NAME>_API_KEY` setting or a saved credential.",
}
HEADER_VALUE: JSONSchema = {"type": ["string", "number"]}
LLM_FIELDS: dict[str, JSONSchema] = {
    "provider": PROVIDER,
    "model": _text("The model name (default per provider)."),
    "prompt": _template("The user message"),
    "system": _template("The system message"),
    "temperature": {
        "type": "number",
        "minimum": 0,
        "description": "Sampling temperature (OpenAI and DeepSeek take 0 to 2).",
    },
    "max_tokens": {"type": "integer", "minimum": 1},
}
HTTP_TOOL = {
    "type": "object",
    "required": ["name", "url"],
    "properties": {
        "name": _text("The tool's name, as the model sees it."),
        "url": _text("The URL; `{input}` is replaced by the model's argument."),
        "method": _text("The HTTP method, any case.", examples=METHODS, default="GET"),
        "headers": {
            "anyOf": [
                _text("`Name: value` lines."),
                {"type": "object", "additionalProperties": HEADER_VALUE},
            ]
        },
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
                "headers": {"type": "object", "additionalProperties": HEADER_VALUE},
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
            "method": _text(
                "The HTTP method, any case.",
                examples=[*METHODS, "HEAD", "OPTIONS"],
                default="GET",
            ),
            "url": _template("The URL"),
            "headers": {
                "type": "object",
                "additionalProperties": {"type": ["string", "number", "boolean"]},
                "description": "Header name -> value (a template).",
            },
            "body": {"description": "A template string, or an object/list sent as JSON."},
            "retries": {"type": "integer", "minimum": 0, "maximum": 10},
        },
        ("url",),
    ),
    "code": _schema(
        "JavaScript in a sandbox with time and memory limits.",
        {
            "code": _text("A function body; `input` is the previous output; `return` a value."),
            "timeout_ms": {
                "type": "number",
                "exclusiveMinimum": 0,
                "default": 5000,
                "description": "Time limit in milliseconds (longer ones are cut to 60000).",
            },
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
            "mode": {
                "enum": list(SEARCH_MODES),
                "default": "hybrid",
                "description": "hybrid (vectors and keywords) or vector only.",
            },
        },
        ("knowledgeBaseIds", "query"),
    ),
    "a2a": _schema(
        "Sends a message to a remote A2A agent and outputs its reply.",
        {
            "url": _text("The agent's URL."),
            "message": _template("The message (default `{value}`)"),
            "format": _text(
                "The agent card's dialect, any case.",
                examples=["auto", "google", "microsoft"],
                default="auto",
            ),
        },
        ("url",),
    ),
}


def config_schema(node_type: str) -> JSONSchema:
    """The schema of a kind's `data` (an open object schema for kinds with none)."""
    return NODE_CONFIG_SCHEMAS.get(node_type) or _schema("", {})


# One compiled validator per kind: the schemas are constants.
_VALIDATORS: dict[str, Draft202012Validator] = {}


def _validator(node_type: str) -> Draft202012Validator:
    found = _VALIDATORS.get(node_type)
    if found is None:
        found = _VALIDATORS[node_type] = Draft202012Validator(config_schema(node_type))
    return found


@dataclass(frozen=True, kw_only=True)
class ConfigProblem:
    """One way a node's `data` does not fit its kind's schema."""

    path: tuple[str | int, ...]
    """Where, inside `data` (`("httpTools", 0, "url")`)."""
    message: str
    """What is wrong, without the place (`must be a number`)."""
    missing: bool = False
    """A required field is absent: incomplete, not malformed."""

    def dotted(self) -> str:
        """`httpTools[0].url`, the way field names are written elsewhere."""
        out = ""
        for part in self.path:
            out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
        return out


_TYPE_WORDS = {
    "string": "a string",
    "number": "a number",
    "integer": "an integer",
    "boolean": "true or false",
    "object": "an object",
    "array": "a list",
    "null": "null",
}


def _wording(error: SchemaError) -> str:
    """jsonschema's messages repeat the value (`'hot' is not of type 'number'`); say the rule."""
    rule, limit = error.validator, error.validator_value
    if rule == "type":
        kinds = limit if isinstance(limit, list) else [limit]
        return "must be " + " or ".join(_TYPE_WORDS.get(str(k), str(k)) for k in kinds)
    if rule == "enum":
        return "must be one of " + ", ".join(json.dumps(v) for v in limit)
    if rule == "minimum":
        return f"must be at least {limit}"
    if rule == "maximum":
        return f"must be at most {limit}"
    if rule == "exclusiveMinimum":
        return f"must be greater than {limit}"
    if rule == "minItems":
        return f"must have at least {limit} item{'s' if limit != 1 else ''}"
    if rule == "anyOf":
        return "does not match any of the shapes it may take"
    return str(error.message)


def config_problems(node_type: str, data: Mapping[str, Any]) -> list[ConfigProblem]:
    """Every problem of `data` against its kind's schema, in path order."""
    problems: list[ConfigProblem] = []
    for error in _validator(node_type).iter_errors(dict(data)):
        path = tuple(error.absolute_path)
        if error.validator == "required" and isinstance(error.instance, Mapping):
            # One problem per absent field, placed at the field itself.
            for name in error.validator_value:
                if name not in error.instance:
                    problems.append(
                        ConfigProblem(path=(*path, name), message="is required", missing=True)
                    )
            continue
        problems.append(ConfigProblem(path=path, message=_wording(error)))
    unique = {(p.path, p.message): p for p in problems}
    return sorted(unique.values(), key=lambda p: [str(part) for part in p.path])


def config_errors(node_type: str, data: Mapping[str, Any], where: str) -> list[str]:
    """Problems of `data` against its kind's schema, each naming `<where>.data.<field>`."""
    return [
        f"{where}.data{'.' + p.dotted() if p.path else ''} {p.message}"
        for p in config_problems(node_type, data)
    ]


def check_node_configs(nodes: Sequence[Any]) -> None:
    """Refuse malformed configs of known kinds (every problem in `details`, the first as
    the error), naming `nodes[i].data.<field>`. Missing required fields pass: a draft may
    be incomplete; validation reports them."""
    found: list[tuple[str, str]] = []
    for i, node in enumerate(nodes):
        if not isinstance(node, Mapping) or node.get("type") not in NODE_CONFIG_SCHEMAS:
            continue
        data = node.get("data")
        if not isinstance(data, Mapping):
            continue
        for problem in config_problems(str(node["type"]), data):
            if problem.missing:
                continue
            field = f"nodes[{i}].data" + ("." + problem.dotted() if problem.path else "")
            where = f"node {node.get('id')!r} ({node['type']})"
            found.append((field, f"{where}: data.{problem.dotted()} {problem.message}"))
    if found:
        field, message = found[0]
        raise ValidationFailed(message, field=field, details={"problems": found})
