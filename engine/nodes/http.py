"""The `http` node: an outbound HTTP request through the outbound guard.

Config: `method` (default GET), `url`, `headers` (object of templates),
`body` (template string, or an object/list of templates sent as JSON),
`retries` (on connection errors and 5xx, with backoff), `timeout_s`.
Output: `{"status", "headers", "body"}` (body parsed when JSON). A 4xx/5xx
answer fails the node after retries.
"""

from __future__ import annotations

from typing import Any

import anyio
import httpx

from engine.errors import UpstreamFailed
from engine.node_context import NodeContext, NodeResult
from engine.nodes._llm_common import retries_of
from engine.nodes.registry import NodeSpec, register
from engine.outbound import guarded_http_client
from engine.retry import with_retries

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
MAX_BODY_BYTES = 5 * 1024 * 1024


class HttpStatusFailed(UpstreamFailed):
    """The server answered with an error status."""


def _check(data: Any) -> list[str]:
    method = str(data.get("method", "GET")).upper()
    return [] if method in METHODS else [f"data.method must be one of {', '.join(METHODS)}"]


async def run(ctx: NodeContext) -> NodeResult:
    services = ctx.services
    url = ctx.render(ctx.require_str("url"))
    method = str(ctx.data.get("method", "GET")).upper()
    headers = {str(k): str(v) for k, v in (ctx.render_value(ctx.data.get("headers")) or {}).items()}
    kwargs: dict[str, Any] = {"headers": headers}
    body = ctx.data.get("body")
    if isinstance(body, dict | list):
        kwargs["json"] = ctx.render_value(body)
    elif isinstance(body, str) and body:
        kwargs["content"] = ctx.render(body).encode()
    field = f"{ctx.node_id}.url"
    timeout = float(ctx.data.get("timeout_s") or 30.0)
    await services.outbound_guard.check_url(url, field=field)

    async def call() -> httpx.Response:
        try:
            async with guarded_http_client(
                services.outbound_guard, field=field, timeout=timeout
            ) as client:
                with anyio.fail_after(timeout):
                    response = await client.request(method, url, **kwargs)
        except (httpx.HTTPError, TimeoutError) as exc:
            raise UpstreamFailed(f"{method} {url} failed: {type(exc).__name__}: {exc}") from exc
        if response.status_code >= 500:
            raise HttpStatusFailed(f"{method} {url} answered HTTP {response.status_code}")
        return response

    async def on_retry(attempt: int, exc: BaseException) -> None:
        await ctx.log("warn", f"HTTP request failed, retry {attempt}: {exc}")

    response = await with_retries(
        call,
        retries=retries_of(ctx),
        base_delay_s=services.retry_base_delay_s,
        on_retry=on_retry,
    )
    if response.status_code >= 400:
        raise HttpStatusFailed(f"{method} {url} answered HTTP {response.status_code}")
    content: Any = response.text if len(response.content) <= MAX_BODY_BYTES else None
    if "json" in response.headers.get("content-type", ""):
        try:
            content = response.json()
        except ValueError:
            pass
    return NodeResult(
        output={"status": response.status_code, "headers": dict(response.headers), "body": content}
    )


SPEC = register(
    NodeSpec(
        type="http",
        description="An outbound HTTP request through the outbound guard.",
        required=("url",),
        template_fields=("url", "headers", "body"),
        check=_check,
        run=run,
    )
)
