"""Tools that reach the network, always through the outbound guard:
url_fetch, http_request, web_search.

Responses are streamed: url_fetch and http_request keep the first MB of a
body (and say `truncated`), web_search refuses an answer over 1 MB.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import anyio
import httpx

from engine.errors import OutboundRefused
from engine.http_body import MIB, ResponseTooLarge, read_capped
from engine.outbound import guarded_http_client
from engine.tools.catalog import ToolContext, ToolError, ToolSpec, string_arg

MAX_BODY_CHARS = 20_000
MAX_READ_BYTES = MIB
"""Bytes read of a body at most (JSON is parsed only when it is complete)."""
SEARCH_URL_ENV = "AGENTLOOM_WEB_SEARCH_URL"
HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD")


@dataclass(frozen=True, kw_only=True)
class _Fetched:
    status: int
    url: str
    content_type: str
    text: str
    truncated: bool


def _shape(response: _Fetched) -> dict[str, Any]:
    text = response.text
    body: Any = text[:MAX_BODY_CHARS]
    if "json" in response.content_type and not response.truncated:
        try:
            body = json.loads(text)
        except ValueError:
            pass
    return {
        "status": response.status,
        "url": response.url,
        "body": body,
        "truncated": response.truncated or len(text) > MAX_BODY_CHARS,
    }


async def _request(
    ctx: ToolContext, method: str, url: str, *, truncate: bool = True, **kwargs: Any
) -> _Fetched:
    try:
        await ctx.guard.check_url(url, field="url")
        async with guarded_http_client(ctx.guard, timeout=ctx.http_timeout_s) as client:
            with anyio.fail_after(ctx.http_timeout_s):
                async with client.stream(method, url, **kwargs) as response:
                    body = await read_capped(
                        response, MAX_READ_BYTES, truncate=truncate, what=f"the answer of {url}"
                    )
    except (OutboundRefused, ResponseTooLarge) as exc:
        raise ToolError(exc.message) from exc
    except (httpx.HTTPError, TimeoutError) as exc:
        raise ToolError(f"request to {url} failed: {type(exc).__name__}: {exc}") from exc
    return _Fetched(
        status=response.status_code,
        url=str(response.url),
        content_type=response.headers.get("content-type", ""),
        text=body.text,
        truncated=body.truncated,
    )


async def _url_fetch(args: Mapping[str, Any], ctx: ToolContext) -> Any:
    url = string_arg(args, "url")
    return _shape(await _request(ctx, "GET", url))


async def _http_request(args: Mapping[str, Any], ctx: ToolContext) -> Any:
    url = string_arg(args, "url")
    method = str(args.get("method") or "GET").upper()
    if method not in HTTP_METHODS:
        raise ToolError(f"method must be one of {', '.join(HTTP_METHODS)}")
    headers = args.get("headers") or {}
    if not isinstance(headers, dict):
        raise ToolError("headers must be an object")
    body = args.get("body")
    kwargs: dict[str, Any] = {"headers": {str(k): str(v) for k, v in headers.items()}}
    if isinstance(body, dict | list):
        kwargs["json"] = body
    elif body is not None:
        kwargs["content"] = str(body)
    return _shape(await _request(ctx, method, url, **kwargs))


async def _web_search(args: Mapping[str, Any], ctx: ToolContext) -> Any:
    query = string_arg(args, "query")
    endpoint = ctx.environ.get(SEARCH_URL_ENV, "").strip()
    if not endpoint:
        raise ToolError(f"web_search is not configured: set {SEARCH_URL_ENV}")
    limit = args.get("max_results", 5)
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 20:
        limit = 5
    response = await _request(
        ctx, "GET", endpoint, truncate=False, params={"q": query, "format": "json"}
    )
    if response.status >= 400:
        raise ToolError(f"search endpoint answered HTTP {response.status}")
    try:
        results = json.loads(response.text).get("results", [])
    except (ValueError, AttributeError) as exc:
        raise ToolError("search endpoint did not answer SearxNG-style JSON") from exc
    return [
        {"title": r.get("title"), "url": r.get("url"), "snippet": r.get("content")}
        for r in results[:limit]
        if isinstance(r, dict)
    ]


WEB_TOOLS = (
    ToolSpec(
        id="url_fetch",
        name="Fetch URL",
        description="GET a public URL and return its status and body (JSON parsed).",
        category="web",
        icon="download",
        parameters={
            "type": "object",
            "properties": {"url": {"type": "string"}},
            "required": ["url"],
        },
        handler=_url_fetch,
    ),
    ToolSpec(
        id="http_request",
        name="HTTP request",
        description="Send an HTTP request (method, url, headers, body) to a public URL.",
        category="web",
        icon="globe",
        parameters={
            "type": "object",
            "properties": {
                "method": {"type": "string", "enum": list(HTTP_METHODS)},
                "url": {"type": "string"},
                "headers": {"type": "object"},
                "body": {},
            },
            "required": ["url"],
        },
        handler=_http_request,
    ),
    ToolSpec(
        id="web_search",
        name="Web search",
        description="Search the web; returns titles, URLs and snippets.",
        category="web",
        icon="search",
        parameters={
            "type": "object",
            "properties": {
                "query": {"type": "string"},
                "max_results": {"type": "integer", "minimum": 1, "maximum": 20},
            },
            "required": ["query"],
        },
        handler=_web_search,
    ),
)
