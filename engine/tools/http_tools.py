"""HTTP tool definitions: a user-described API call, tested by hand or used as an agent tool.

A definition is `{name, url, method, headers, body, description?}` (seed 003's
`/api/http-tools/test` shape): `headers` is text of `Name: value` lines (an
object is accepted too), `body` a text template. The tool takes one string,
`input`, substituted for every `{input}`:

- in `url`, percent-encoded as one URL component (`/`, `?`, `#`, `@`, `&` and
  spaces included), so the input can never change the host, the path's shape
  or the query's other parameters;
- in `body`, JSON-escaped (the inside of a JSON string literal, without the
  quotes) when the body is JSON (a `Content-Type` header containing `json`,
  or no `Content-Type` and a body starting with `{` or `[`), so
  `{"q": "{input}"}` stays valid JSON whatever the input; raw otherwise;
- not in headers (a header value stays what the definition says).

Nothing else in braces is touched. Every request and redirect passes the
outbound guard; the answer is streamed and kept up to `max_response_bytes`
(then truncated, and said so), within `timeout_s`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

import anyio
import httpx

from engine.errors import UpstreamFailed, ValidationFailed
from engine.http_body import MIB, read_capped
from engine.outbound import OutboundGuard, guarded_http_client
from engine.tools.catalog import ToolContext, ToolError, ToolSpec
from engine.tools.http_headers import parse_header_lines

INPUT_PLACEHOLDER = "{input}"
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
NAME_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
"""What function calling accepts as a tool name."""
DEFAULT_TIMEOUT_S = 30.0
DEFAULT_MAX_RESPONSE_BYTES = MIB
MAX_TOOL_ANSWER_CHARS = 20_000
"""How much of a body an agent sees."""
MAX_HTTP_TOOLS = 20


@dataclass(frozen=True, kw_only=True)
class HttpToolDefinition:
    """A checked HTTP tool definition."""

    name: str
    url: str
    """A URL template; `{input}` is replaced percent-encoded."""
    method: str = "GET"
    headers: Mapping[str, str] = field(default_factory=dict)
    body: str = ""
    """A body template; `{input}` is replaced JSON-escaped (JSON bodies) or raw."""
    description: str = ""

    @property
    def body_is_json(self) -> bool:
        content_type = next(
            (v for k, v in self.headers.items() if k.lower() == "content-type"), None
        )
        if content_type is not None:
            return "json" in content_type.lower()
        return self.body.lstrip().startswith(("{", "["))

    def render_url(self, value: str) -> str:
        """The URL with `{input}` percent-encoded in."""
        return self.url.replace(INPUT_PLACEHOLDER, quote(value, safe=""))

    def render_body(self, value: str) -> str:
        """The body with `{input}` JSON-escaped (JSON bodies) or raw in."""
        if INPUT_PLACEHOLDER not in self.body:
            return self.body
        piece = json.dumps(value, ensure_ascii=False)[1:-1] if self.body_is_json else value
        return self.body.replace(INPUT_PLACEHOLDER, piece)

    def request_headers(self) -> dict[str, str]:
        headers = dict(self.headers)
        if self.body and not any(k.lower() == "content-type" for k in headers):
            headers["Content-Type"] = (
                "application/json" if self.body_is_json else "text/plain; charset=utf-8"
            )
        return headers


def _text(value: Any, name: str, where: str, *, required: bool = False) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise ValidationFailed(f"{where}{name} must be text", field=f"{where}{name}")
    if required and not value.strip():
        raise ValidationFailed(f"{where}{name} is required", field=f"{where}{name}")
    return value


def parse_http_tool(value: Any, *, field: str = "") -> HttpToolDefinition:
    """Check a definition; `ValidationFailed` names the field (prefixed with `field.`)."""
    where = f"{field}." if field else ""
    if not isinstance(value, Mapping):
        raise ValidationFailed(
            f"{field or 'the definition'} must be an object", field=field or None
        )
    name = _text(value.get("name"), "name", where, required=True).strip()
    if not NAME_PATTERN.match(name):
        raise ValidationFailed(
            f"{where}name must be 1-64 letters, digits, '_' or '-' (it is the tool's function name)",
            field=f"{where}name",
        )
    url = _text(value.get("url"), "url", where, required=True).strip()
    if urlsplit(url).scheme.lower() not in ("http", "https"):
        raise ValidationFailed(f"{where}url must be an http or https URL", field=f"{where}url")
    method = _text(value.get("method") or "GET", "method", where).strip().upper()
    if method not in METHODS:
        raise ValidationFailed(
            f"{where}method must be one of {', '.join(METHODS)}", field=f"{where}method"
        )
    return HttpToolDefinition(
        name=name,
        url=url,
        method=method,
        headers=parse_header_lines(value.get("headers"), field=f"{where}headers"),
        body=_text(value.get("body"), "body", where),
        description=_text(value.get("description"), "description", where).strip(),
    )


def parse_http_tools(value: Any, *, field: str = "httpTools") -> list[HttpToolDefinition]:
    """An `httpTools` list of definitions; names must be unique."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValidationFailed(f"{field} must be a list of HTTP tool definitions", field=field)
    if len(value) > MAX_HTTP_TOOLS:
        raise ValidationFailed(f"{field} allows at most {MAX_HTTP_TOOLS} tools", field=field)
    definitions = [parse_http_tool(v, field=f"{field}[{i}]") for i, v in enumerate(value)]
    seen: set[str] = set()
    for index, definition in enumerate(definitions):
        if definition.name in seen:
            raise ValidationFailed(
                f"{field}[{index}].name {definition.name!r} is used twice",
                field=f"{field}[{index}].name",
            )
        seen.add(definition.name)
    return definitions


def http_tool_errors(value: Any, *, field: str = "data.httpTools") -> list[str]:
    """The problems of an `httpTools` value, as validator messages."""
    try:
        parse_http_tools(value, field=field)
    except ValidationFailed as exc:
        return [exc.message]
    return []


@dataclass(frozen=True, kw_only=True)
class HttpToolResponse:
    """What the API answered."""

    status: int
    text: str
    content_type: str
    truncated: bool


async def call_http_tool(
    definition: HttpToolDefinition,
    value: str,
    *,
    guard: OutboundGuard,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
    field: str = "url",
) -> HttpToolResponse:
    """Send the request with `value` as `{input}`.

    `OutboundRefused` (naming `field`) when the URL, or a redirect, points where
    the guard forbids; `UpstreamFailed` when the request fails or times out.
    """
    url = definition.render_url(value)
    await guard.check_url(url, field=field)
    body = definition.render_body(value)
    try:
        async with guarded_http_client(guard, field=field, timeout=timeout_s) as client:
            with anyio.fail_after(timeout_s):
                async with client.stream(
                    definition.method,
                    url,
                    headers=definition.request_headers(),
                    content=body.encode() if body else None,
                ) as response:
                    received = await read_capped(response, max_response_bytes, truncate=True)
    except TimeoutError as exc:
        raise UpstreamFailed(
            f"{definition.method} {url} gave no answer within {timeout_s:g}s"
        ) from exc
    except httpx.HTTPError as exc:
        raise UpstreamFailed(
            f"{definition.method} {url} failed: {type(exc).__name__}: {exc}"
        ) from exc
    return HttpToolResponse(
        status=response.status_code,
        text=received.text,
        content_type=response.headers.get("content-type", ""),
        truncated=received.truncated,
    )


@dataclass(frozen=True, kw_only=True)
class HttpToolTestResult:
    """The outcome of testing a definition."""

    success: bool
    """True when the API answered with a 2xx status."""
    response: str
    """The answer's body (the first `max_response_bytes`)."""
    status: int | None = None
    error: str | None = None
    truncated: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "success": self.success,
            "response": self.response,
            "status": self.status,
            "error": self.error,
        }


async def test_http_tool(
    definition: Mapping[str, Any] | HttpToolDefinition,
    value: str = "",
    *,
    guard: OutboundGuard,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
) -> HttpToolTestResult:
    """Call a definition once with `value` as `{input}` and report what happened.

    A malformed definition is `ValidationFailed` naming the field, a URL the
    guard refuses `OutboundRefused` on `url`: the caller's to fix. What the
    remote side does (errors, timeouts, 4xx/5xx) is `success: False` with the
    error, never an exception.
    """
    if not isinstance(definition, HttpToolDefinition):
        definition = parse_http_tool(definition)
    try:
        answer = await call_http_tool(
            definition,
            value,
            guard=guard,
            timeout_s=timeout_s,
            max_response_bytes=max_response_bytes,
        )
    except UpstreamFailed as exc:
        return HttpToolTestResult(success=False, response="", error=exc.message)
    ok = 200 <= answer.status < 300
    return HttpToolTestResult(
        success=ok,
        response=answer.text,
        status=answer.status,
        error=None if ok else f"HTTP {answer.status}",
        truncated=answer.truncated,
    )


test_http_tool.__test__ = False  # type: ignore[attr-defined]  # not a pytest test


def http_tool_spec(
    definition: HttpToolDefinition,
    *,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
) -> ToolSpec:
    """The definition as an agent tool taking one string argument, `input`."""
    target = urlsplit(definition.url)

    async def handler(arguments: Mapping[str, Any], ctx: ToolContext) -> Any:
        raw = arguments.get("input", "")
        value = raw if isinstance(raw, str) else json.dumps(raw)
        try:
            answer = await call_http_tool(
                definition,
                value,
                guard=ctx.guard,
                timeout_s=timeout_s,
                max_response_bytes=max_response_bytes,
            )
        except (UpstreamFailed, ValidationFailed) as exc:
            raise ToolError(exc.message) from exc
        if answer.status >= 400:
            raise ToolError(f"{definition.name} answered HTTP {answer.status}: {answer.text[:500]}")
        body: Any = answer.text[:MAX_TOOL_ANSWER_CHARS]
        if "json" in answer.content_type and not answer.truncated:
            try:
                body = json.loads(answer.text)
            except ValueError:
                pass
        return {
            "status": answer.status,
            "body": body,
            "truncated": answer.truncated or len(answer.text) > MAX_TOOL_ANSWER_CHARS,
        }

    return ToolSpec(
        id=definition.name,
        name=definition.name,
        description=definition.description
        # The host only: userinfo in the URL must not reach the model.
        or f"Calls {definition.method} {target.scheme}://{target.hostname}{target.path} "
        "with the given input.",
        category="http",
        icon="globe",
        parameters={
            "type": "object",
            "properties": {
                "input": {"type": "string", "description": "The value sent as {input}."}
            },
            "required": ["input"],
        },
        handler=handler,
    )
