"""Seed 003 sections 4, 12 and 14: discovery and tests of outside tools, the AI flow builder
(SSE), the script generator and the script sandbox test, onto their GraphQL operations.

Shapes are the seed's; fields the seed does not show are added only where they say
why something failed (`error` when not healthy or not successful). The flow builder
streams `data: <JSON string>` frames (the model's text, fragment by fragment), a
`data: {"type": "__reset", ...}` frame if a repair round follows, one
`data: {"type": "__metadata", ...}` frame and `data: [DONE]`. Its input is checked
and its first fragment awaited before the response starts, so a bad request or an
unreachable model is a plain 4xx/5xx `{code, message}`; a failure after that is a
`{"type": "__error", code, message}` frame before `[DONE]`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from contextlib import aclosing
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from graphql import ExecutionResult, GraphQLError
from pydantic import BaseModel

from engine.services.scripts import CSHARP_NAMES, JAVASCRIPT_NAMES
from engine.tools.http_tools import METHODS
from graph.view import context_for
from rest_compat.errors import ApiError
from rest_compat.operations import USER_ERRORS, execute, operation, payload
from rest_compat.shapes import enum_in

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api", tags=["tools discovery and AI builders (AgentCraftLab)"])

A2A_FORMATS = ("auto", "google", "microsoft")
FLOW_MODES = ("planner", "legacy")
ROLES = ("user", "assistant")

DISCOVER_MCP = operation(
    "mutation($i: DiscoverMcpServerInput!) { discoverMcpServer(input: $i) "
    f"{{ discovery {{ healthy error tools {{ name description inputSchema }} }} {USER_ERRORS} }} }}",
    __name__,
)
DISCOVER_A2A = operation(
    "mutation($i: DiscoverA2aAgentInput!) { discoverA2aAgent(input: $i) "
    f"{{ discovery {{ healthy agent error }} {USER_ERRORS} }} }}",
    __name__,
)
TEST_A2A = operation(
    "mutation($i: TestA2aAgentInput!) { testA2aAgent(input: $i) "
    f"{{ result {{ success response error }} {USER_ERRORS} }} }}",
    __name__,
)
TEST_HTTP_TOOL = operation(
    "mutation($i: TestHttpToolInput!) { testHttpTool(input: $i) "
    f"{{ result {{ success response status error }} {USER_ERRORS} }} }}",
    __name__,
)
GENERATE_SCRIPT = operation(
    "mutation($i: GenerateScriptInput!) { generateScript(input: $i) "
    f"{{ script {{ code testInput }} {USER_ERRORS} }} }}",
    __name__,
)
TEST_SCRIPT = operation(
    "mutation($i: TestScriptInput!) { testScript(input: $i) "
    f"{{ result {{ success output error consoleOutput elapsedMs }} {USER_ERRORS} }} }}",
    __name__,
)
BUILD_FLOW = operation(
    "subscription($i: BuildFlowInput!) { buildFlow(input: $i) { __typename "
    "... on FlowFragment { text } ... on FlowReset { reason errors } "
    "... on FlowMetadata { durationMs estimatedTokens model estimatedCost valid errors "
    "warnings repaired workflow } } }",
    __name__,
)


class McpDiscoverBody(BaseModel):
    url: str = ""
    headers: dict[str, str] | None = None


class A2aDiscoverBody(BaseModel):
    url: str = ""
    format: str | None = None


class A2aTestBody(BaseModel):
    url: str = ""
    message: str = ""
    format: str | None = None


class HttpToolTestBody(BaseModel):
    name: str = ""
    url: str = ""
    method: str | None = None
    headers: str | dict[str, str] | None = None
    body: str | None = None
    input: str | None = None
    description: str | None = None


class ScriptGeneratorBody(BaseModel):
    prompt: str = ""
    provider: str | None = None
    model: str | None = None
    apiKey: str | None = None
    endpoint: str | None = None
    language: str | None = None


class ScriptTestBody(BaseModel):
    code: str = ""
    input: str | None = None
    language: str | None = None


class ChatTurn(BaseModel):
    role: str
    content: str


class FlowBuilderBody(BaseModel):
    message: str = ""
    provider: str | None = None
    model: str | None = None
    apiKey: str | None = None
    endpoint: str | None = None
    currentPayload: str | dict[str, Any] | None = None
    history: list[ChatTurn] | None = None
    mode: str | None = None


def _a2a_format(value: str | None) -> str:
    return enum_in((value or "auto").strip().lower(), "format", A2A_FORMATS) or "AUTO"


def _language(value: str | None) -> str:
    """Seed 003's `javascript | csharp` (and the usual short names) as the GraphQL enum."""
    name = (value or "javascript").strip().lower()
    if name in JAVASCRIPT_NAMES:
        return "JAVASCRIPT"
    if name in CSHARP_NAMES:
        return "CSHARP"  # refused by testScript/generateScript, which say why
    raise ApiError(
        422,
        "VALIDATION_ERROR",
        f"language: unknown script language {value!r}: only javascript is supported",
    )


def _with_error(answer: dict[str, Any], ok: str) -> dict[str, Any]:
    """The seed's fields, plus `error` when the outcome was not `ok`."""
    if answer.get(ok) or answer.get("error") is None:
        answer.pop("error", None)
    return answer


@router.post("/mcp/discover")
async def discover_mcp(request: Request, body: McpDiscoverBody) -> dict[str, Any]:
    fields = {"url": body.url, "headers": body.headers}
    data = await execute(request, DISCOVER_MCP, {"i": fields})
    return _with_error(dict(payload(data, "discoverMcpServer")["discovery"]), "healthy")


@router.post("/a2a/discover")
async def discover_a2a(request: Request, body: A2aDiscoverBody) -> dict[str, Any]:
    fields = {"url": body.url, "format": _a2a_format(body.format)}
    data = await execute(request, DISCOVER_A2A, {"i": fields})
    return _with_error(dict(payload(data, "discoverA2aAgent")["discovery"]), "healthy")


@router.post("/a2a/test")
async def test_a2a(request: Request, body: A2aTestBody) -> dict[str, Any]:
    fields = {"url": body.url, "message": body.message, "format": _a2a_format(body.format)}
    data = await execute(request, TEST_A2A, {"i": fields})
    return _with_error(dict(payload(data, "testA2aAgent")["result"]), "success")


def _header_lines(value: str | Mapping[str, str] | None) -> str | None:
    if isinstance(value, Mapping):
        return "\n".join(f"{name}: {text}" for name, text in value.items())
    return value


@router.post("/http-tools/test")
async def test_http_tool(request: Request, body: HttpToolTestBody) -> dict[str, Any]:
    method = (body.method or "GET").strip().upper()
    fields = {
        "name": body.name,
        "url": body.url,
        "method": enum_in(method, "method", METHODS),
        "headers": _header_lines(body.headers),
        "body": body.body,
        "input": body.input,
        "description": body.description,
    }
    data = await execute(request, TEST_HTTP_TOOL, {"i": fields})
    return _with_error(dict(payload(data, "testHttpTool")["result"]), "success")


@router.post("/script-generator")
async def script_generator(request: Request, body: ScriptGeneratorBody) -> dict[str, Any]:
    fields = {
        "prompt": body.prompt,
        "provider": body.provider,
        "model": body.model,
        "apiKey": body.apiKey,
        "endpoint": body.endpoint,
        "language": _language(body.language),
    }
    data = await execute(request, GENERATE_SCRIPT, {"i": fields})
    return dict(payload(data, "generateScript")["script"])


@router.post("/script-test")
async def script_test(request: Request, body: ScriptTestBody) -> dict[str, Any]:
    fields = {"code": body.code, "input": body.input, "language": _language(body.language)}
    data = await execute(request, TEST_SCRIPT, {"i": fields})
    return dict(payload(data, "testScript")["result"])


# -- flow builder (SSE) ---------------------------------------------------------------------


def _flow_input(body: FlowBuilderBody) -> dict[str, Any]:
    current = body.currentPayload
    history = []
    for index, turn in enumerate(body.history or ()):
        history.append(
            {
                "role": enum_in(turn.role, f"history[{index}].role", ROLES),
                "content": turn.content,
            }
        )
    return {
        "message": body.message,
        "provider": body.provider,
        "model": body.model,
        "apiKey": body.apiKey,
        "endpoint": body.endpoint,
        "currentPayload": json.dumps(current) if isinstance(current, dict) else current,
        "history": history,
        "mode": enum_in((body.mode or "planner").strip().lower(), "mode", FLOW_MODES),
    }


DONE_FRAME = "data: [DONE]\n\n"


def _frame(data: Any) -> str:
    # One line per frame: json.dumps escapes every newline inside the data.
    return f"data: {json.dumps(data, ensure_ascii=False)}\n\n"


def _wire(item: Mapping[str, Any]) -> tuple[Any, bool]:
    """A `buildFlow` item as the seed's frame data; True for the last (the metadata)."""
    kind = item["__typename"]
    if kind == "FlowFragment":
        return item["text"], False  # a JSON string: the fragment's text
    if kind == "FlowReset":
        return {"type": "__reset", "reason": item["reason"], "errors": item["errors"]}, False
    fields = {k: v for k, v in item.items() if k != "__typename"}
    return {"type": "__metadata", **fields}, True


def _error_data(error: GraphQLError | BaseException) -> dict[str, Any]:
    if isinstance(error, GraphQLError):
        api = ApiError.from_graphql(error)
        return {"type": "__error", "code": api.code, "message": api.message}
    return {"type": "__error", "code": "INTERNAL_ERROR", "message": "the flow builder failed"}


async def _first(results: AsyncGenerator[ExecutionResult, None]) -> ExecutionResult | None:
    try:
        return await anext(results)
    except StopAsyncIteration:
        return None


@router.post("/flow-builder", response_model=None)
async def flow_builder(request: Request, body: FlowBuilderBody) -> StreamingResponse:
    context = context_for(request.app.state.services, request)
    stream = await request.app.state.schema.subscribe(
        BUILD_FLOW.document, variable_values={"i": _flow_input(body)}, context_value=context
    )
    if isinstance(stream, ExecutionResult):
        if stream.errors:
            raise ApiError.from_graphql(stream.errors[0])
        raise ApiError(500, "INTERNAL_ERROR", "the flow builder did not start")
    # Before the response starts: a bad input, a missing credential or an unreachable
    # model is a status code, not a stream that fails.
    first = await _first(stream)
    if first is None or first.errors:
        await stream.aclose()
        if first is not None and first.errors:
            raise ApiError.from_graphql(first.errors[0])
        raise ApiError(502, "UPSTREAM_FAILED", "the flow builder ended without a result")

    async def frames() -> AsyncIterator[str]:
        async with aclosing(stream) as results:
            result: ExecutionResult | None = first
            while result is not None:
                if result.errors:
                    yield _frame(_error_data(result.errors[0]))
                    break
                data, last = _wire((result.data or {})["buildFlow"])
                yield _frame(data)
                if last:
                    break
                try:
                    result = await anext(results)
                except StopAsyncIteration:
                    result = None
                except Exception as exc:  # the stream's boundary: said to the client, then [DONE]
                    log.exception("the flow builder stream failed")
                    yield _frame(_error_data(exc))
                    break
        yield DONE_FRAME

    return StreamingResponse(
        frames(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
