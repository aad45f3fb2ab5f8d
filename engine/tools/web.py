"""Tools that reach the network, always through the outbound guard:
url_fetch, http_request, web_search."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import anyio
import httpx

from engine.errors import OutboundRefused
from engine.outbound import guarded_http_client
from engine.tools.catalog import ToolContext, ToolError, ToolSpec, string_arg

MAX_BODY_CHARS = 20_000
SEARCH_URL_ENV = "AGENTLOOM_WEB_SEARCH_URL"
HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD")


def _shape(response: httpx.Response) -> dict[str, Any]:
    text = response.text
    body: Any = text[:MAX_BODY_CHARS]
    if "json" in response.headers.get("content-type", ""):
        try:
            body = response.json()
        except ValueError:
            pass
    return {
        "status": response.status_code,
        "url": str(response.url),
        "body": body,
        "truncated": len(text) > MAX_BODY_CHARS,
    }


async def _request(ctx: ToolContext, method: str, url: str, **kwargs: Any) -> httpx.Response:
    try:
        await ctx.guard.check_url(url, field="url")
        async with guarded_http_client(ctx.guard, timeout=ctx.http_timeout_s) as client:
            with anyio.fail_after(ctx.http_timeout_s):
                return await client.request(method, url, **kwargs)
    except OutboundRefused as exc:
        raise ToolError(exc.message) from exc
    except (httpx.HTTPError, TimeoutError) as exc:
        raise ToolError(f"request to {url} failed: {type(exc).__name__}: {exc}") from exc


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
    response = await _request(ctx, "GET", endpoint, params={"q": query, "format": "json"})
    if response.status_code >= 400:
        raise ToolError(f"search endpoint answered HTTP {response.status_code}")
    try:
        results = response.json().get("results", [])
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
