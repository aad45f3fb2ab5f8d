"""The `http` node: an outbound HTTP request through the outbound guard.

Config: `method` (default GET), `url`, `headers` (object of templates),
`body` (template string, or an object/list of templates sent as JSON),
`retries` (on connection errors and 5xx, with backoff), `timeout_s`.
Output: `{"status", "headers", "body"}` (body parsed when JSON). A 4xx/5xx
answer fails the node after retries. The response is streamed and a body
over 5 MB fails the node (`ResponseTooLarge`) as soon as the sixth MB
arrives: a truncated body would be silently wrong data for the next node.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import anyio
import httpx

from engine.errors import UpstreamFailed
from engine.http_body import ResponseTooLarge, read_capped
from engine.node_context import NodeContext, NodeResult
from engine.nodes._llm_common import retries_of
from engine.nodes.registry import NodeSpec, register
from engine.outbound import guarded_http_client
from engine.retry import with_retries

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
MAX_BODY_BYTES = 5 * 1024 * 1024


class HttpStatusFailed(UpstreamFailed):
    """The server answered with an error status."""


@dataclass(frozen=True, kw_only=True)
class _Answer:
    status: int
    headers: dict[str, str]
    content_type: str
    text: str


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

    async def call() -> _Answer:
        try:
            async with guarded_http_client(
                services.outbound_guard, field=field, timeout=timeout
            ) as client:
                with anyio.fail_after(timeout):
                    async with client.stream(method, url, **kwargs) as response:
                        if response.status_code >= 500:
                            raise HttpStatusFailed(
                                f"{method} {url} answered HTTP {response.status_code}"
                            )
                        received = await read_capped(
                            response, MAX_BODY_BYTES, what=f"the response of {method} {url}"
                        )
        except (httpx.HTTPError, TimeoutError) as exc:
            raise UpstreamFailed(f"{method} {url} failed: {type(exc).__name__}: {exc}") from exc
        return _Answer(
            status=response.status_code,
            headers=dict(response.headers),
            content_type=response.headers.get("content-type", ""),
            text=received.text,
        )

    async def on_retry(attempt: int, exc: BaseException) -> None:
        await ctx.log("warn", f"HTTP request failed, retry {attempt}: {exc}")

    response = await with_retries(
        call,
        retries=retries_of(ctx),
        give_up_on=(ResponseTooLarge,),
        base_delay_s=services.retry_base_delay_s,
        on_retry=on_retry,
    )
    if response.status >= 400:
        raise HttpStatusFailed(f"{method} {url} answered HTTP {response.status}")
    content: Any = response.text
    if "json" in response.content_type:
        try:
            content = json.loads(response.text)
        except ValueError:
            pass
    return NodeResult(
        output={"status": response.status, "headers": response.headers, "body": content}
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
