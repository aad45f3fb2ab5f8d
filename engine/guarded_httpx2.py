"""httpx2 clients behind the outbound guard, for the SDKs that speak httpx2.

The `mcp` SDK and the `openai` SDK (3.x) use httpx2, not httpx, so
`engine.outbound.guarded_http_client` cannot be handed to them. This is the
same policy for httpx2: every request (so every redirect hop an SDK follows,
and every endpoint an SSE server names) passes `OutboundGuard.check_url` and
is sent to the address that was checked; responses are asked for
uncompressed and stop past a byte ceiling, so a hostile server can neither
reach an internal address through us nor fill our memory.
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Mapping
from functools import cache

import httpx2

from engine.outbound import OutboundGuard

DEFAULT_MAX_RESPONSE_BYTES = 8 * 1024 * 1024
"""No MCP response body (a JSON answer, or one SSE stream) may exceed this."""
LLM_MAX_RESPONSE_BYTES = 32 * 1024 * 1024
"""An LLM answer (one streamed completion) may be longer."""


@cache
def tls_context() -> ssl.SSLContext:
    """The system's trust store, loaded once per process (building one per client cost
    20-30 ms a call)."""
    return ssl.create_default_context()


class ResponseCeilingExceeded(httpx2.ReadError):
    """A server sent more than the ceiling."""


class _CeilingStream(httpx2.AsyncByteStream):
    def __init__(self, inner: httpx2.AsyncByteStream, limit: int, request: httpx2.Request) -> None:
        self._inner = inner
        self._limit = limit
        self._request = request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        seen = 0
        async for chunk in self._inner:
            seen += len(chunk)
            if seen > self._limit:
                raise ResponseCeilingExceeded(
                    f"the server's response exceeds {self._limit} bytes",
                    request=self._request,
                )
            yield chunk

    async def aclose(self) -> None:
        await self._inner.aclose()


class GuardedTransport(httpx2.AsyncBaseTransport):
    """Checks every request with the guard, connects to the checked address, caps bodies."""

    def __init__(self, guard: OutboundGuard, *, field: str, max_response_bytes: int) -> None:
        self._guard = guard
        self._field = field
        self._max_response_bytes = max_response_bytes
        self._inner = httpx2.AsyncHTTPTransport(trust_env=False, verify=tls_context())

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        host = request.url.host
        address = await self._guard.check_url(str(request.url), field=self._field)
        if address != host:
            # The Host header was set from the name already; TLS still verifies the name.
            request.url = request.url.copy_with(host=address)
            if request.url.scheme == "https":
                request.extensions = {**request.extensions, "sni_hostname": host}
        # Compressed bodies would be inflated by httpx2 without a bound: ask for none.
        request.headers["accept-encoding"] = "identity"
        response = await self._inner.handle_async_request(request)
        encoding = response.headers.get("content-encoding", "identity").strip().lower()
        if encoding not in ("", "identity"):
            await response.aclose()
            raise httpx2.DecodingError(
                f"the server answered with content encoding {encoding!r}, "
                "which was not requested",
                request=request,
            )
        assert isinstance(response.stream, httpx2.AsyncByteStream)
        response.stream = _CeilingStream(response.stream, self._max_response_bytes, request)
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()


def guarded_mcp_client(
    guard: OutboundGuard,
    *,
    headers: Mapping[str, str] | None = None,
    timeout: httpx2.Timeout | float = 30.0,
    field: str = "url",
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
) -> httpx2.AsyncClient:
    """An httpx2 client for the MCP SDK whose every request passes `guard`.

    Redirects are left to the SDK, which follows only same-origin ones; each
    hop still comes through this transport and is checked again.
    """
    return httpx2.AsyncClient(
        transport=GuardedTransport(guard, field=field, max_response_bytes=max_response_bytes),
        headers=dict(headers or {}),
        timeout=timeout,
        trust_env=False,
    )


def guarded_client(
    guard: OutboundGuard,
    *,
    field: str,
    timeout: httpx2.Timeout | float,
    max_response_bytes: int = LLM_MAX_RESPONSE_BYTES,
) -> httpx2.AsyncClient:
    """A plain guarded httpx2 client (for a user-supplied LLM endpoint)."""
    return httpx2.AsyncClient(
        transport=GuardedTransport(guard, field=field, max_response_bytes=max_response_bytes),
        timeout=timeout,
        trust_env=False,
    )
