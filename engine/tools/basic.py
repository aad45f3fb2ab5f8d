"""Tools that need nothing outside the process: calculator, datetime, json_parser,
text_stats, uuid."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import jmespath
import jmespath.exceptions

from engine.expressions import ExpressionError, evaluate_arithmetic
from engine.tools.catalog import ToolContext, ToolError, ToolSpec, string_arg


async def _calculator(args: Mapping[str, Any], ctx: ToolContext) -> Any:
    expression = string_arg(args, "expression")
    try:
        result = evaluate_arithmetic(expression)
    except ExpressionError as exc:
        raise ToolError(exc.message) from exc
    if isinstance(result, float) and result.is_integer() and abs(result) < 2**53:
        result = int(result)
    return {"expression": expression, "result": result}


async def _datetime(args: Mapping[str, Any], ctx: ToolContext) -> Any:
    offset = args.get("utc_offset_hours", 0)
    if isinstance(offset, bool) or not isinstance(offset, int | float) or abs(offset) > 14:
        raise ToolError("utc_offset_hours must be a number between -14 and 14")
    now = datetime.now(UTC) + timedelta(hours=offset)
    fmt = args.get("format")
    return {
        "iso": now.isoformat(),
        "date": now.date().isoformat(),
        "time": now.strftime("%H:%M:%S"),
        "weekday": now.strftime("%A"),
        "unix": int(now.timestamp()),
        **({"formatted": now.strftime(fmt)} if isinstance(fmt, str) and fmt else {}),
    }


async def _json_parser(args: Mapping[str, Any], ctx: ToolContext) -> Any:
    text = string_arg(args, "json")
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ToolError(f"invalid JSON: {exc}") from exc
    query = args.get("query")
    if isinstance(query, str) and query.strip():
        try:
            return jmespath.search(query, document)
        except jmespath.exceptions.JMESPathError as exc:
            raise ToolError(f"invalid JMESPath query: {exc}") from exc
    return document


async def _text_stats(args: Mapping[str, Any], ctx: ToolContext) -> Any:
    text = args.get("text")
    if not isinstance(text, str):
        raise ToolError("argument 'text' must be a string")
    words = re.findall(r"\w+", text)
    sentences = [s for s in re.split(r"[.!?。！？]+", text) if s.strip()]
    return {
        "characters": len(text),
        "characters_no_spaces": len(re.sub(r"\s", "", text)),
        "words": len(words),
        "sentences": len(sentences),
        "lines": text.count("\n") + 1 if text else 0,
    }


async def _uuid(args: Mapping[str, Any], ctx: ToolContext) -> Any:
    count = args.get("count", 1)
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= 100:
        raise ToolError("count must be an integer between 1 and 100")
    return [str(uuid.uuid4()) for _ in range(count)]


BASIC_TOOLS = (
    ToolSpec(
        id="calculator",
        name="Calculator",
        description="Evaluate an arithmetic expression, e.g. '12*7' or 'sqrt(2)^2 + 1'.",
        category="utility",
        icon="calculator",
        parameters={
            "type": "object",
            "properties": {"expression": {"type": "string", "description": "The expression."}},
            "required": ["expression"],
        },
        handler=_calculator,
    ),
    ToolSpec(
        id="datetime",
        name="Date and time",
        description="The current date and time (UTC, or with an offset in hours).",
        category="utility",
        icon="clock",
        parameters={
            "type": "object",
            "properties": {
                "utc_offset_hours": {"type": "number"},
                "format": {"type": "string", "description": "strftime format"},
            },
        },
        handler=_datetime,
    ),
    ToolSpec(
        id="json_parser",
        name="JSON parser",
        description="Parse a JSON string, optionally selecting data with a JMESPath query.",
        category="data",
        icon="braces",
        parameters={
            "type": "object",
            "properties": {"json": {"type": "string"}, "query": {"type": "string"}},
            "required": ["json"],
        },
        handler=_json_parser,
    ),
    ToolSpec(
        id="text_stats",
        name="Text statistics",
        description="Count characters, words, sentences and lines of a text.",
        category="text",
        icon="bar-chart",
        parameters={
            "type": "object",
            "properties": {"text": {"type": "string"}},
            "required": ["text"],
        },
        handler=_text_stats,
    ),
    ToolSpec(
        id="uuid",
        name="UUID generator",
        description="Generate one or more random UUIDs (v4).",
        category="utility",
        icon="hash",
        parameters={
            "type": "object",
            "properties": {"count": {"type": "integer", "minimum": 1, "maximum": 100}},
        },
        handler=_uuid,
    ),
)
