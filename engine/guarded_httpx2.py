"""httpx2 clients with a response ceiling, behind the outbound guard where the URL is a user's.

The `mcp` SDK and the `openai` SDK (3.x) use httpx2, not httpx, so
`engine.outbound.guarded_http_client` cannot be handed to them. This is the
same policy for httpx2: every request (so every redirect hop an SDK follows,
and every endpoint an SSE server names) passes `OutboundGuard.pin` (its `check_url`) and
is sent to the address that was checked, so a hostile server cannot reach an
internal address through us.

Every client here, guarded or not (an operator-configured LLM endpoint is
trusted for the guard, but a misbehaving or compromised provider must still
not fill our memory), caps response bodies: a declared `Content-Length` over
the ceiling is refused before any byte is read, gzip and deflate are inflated
here in steps of at most 64 KB (`engine.http_body.Inflater`; httpx2 would
inflate without counting), and the body stops with `ResponseCeilingExceeded`
once the inflated bytes pass the ceiling. Other encodings are neither asked
for nor accepted.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping

import httpx2

from engine.http_body import INFLATABLE, Inflater, describe_size, within_ceiling
from engine.outbound import OutboundGuard
from engine.tls import tls_context

DEFAULT_MAX_RESPONSE_BYTES = 8 * 1024 * 1024
"""No MCP response body (a JSON answer, or one SSE stream) may exceed this."""
LLM_MAX_RESPONSE_BYTES = 32 * 1024 * 1024
"""An LLM answer (one streamed completion, one embeddings batch) may be longer."""


class ResponseCeilingExceeded(httpx2.ReadError):
    """A server sent, or declared, more than the ceiling."""


def ceiling_exceeded_in(exc: BaseException) -> ResponseCeilingExceeded | None:
    """The `ResponseCeilingExceeded` behind `exc`, if any.

    SDKs wrap transport errors (openai: `APIConnectionError("Connection error.")`,
    which alone would hide that the server sent too much), keeping ours as the cause.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, ResponseCeilingExceeded):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def _declared_length(response: httpx2.Response) -> int | None:
    raw = response.headers.get("content-length")
    try:
        return int(raw) if raw is not None else None
    except ValueError:
        return None


class _CeilingStream(httpx2.AsyncByteStream):
    def __init__(
        self,
        inner: httpx2.AsyncByteStream,
        *,
        limit: int,
        request: httpx2.Request,
        inflater: Inflater | None,
    ) -> None:
        self._inner = inner
        self._limit = limit
        self._request = request
        self._inflater = inflater

    async def __aiter__(self) -> AsyncIterator[bytes]:
        request = self._request
        async for piece in within_ceiling(
            self._inner,
            self._limit,
            self._inflater,
            undecodable=lambda why: httpx2.DecodingError(why, request=request),
            too_large=lambda limit: ResponseCeilingExceeded(
                f"the server's response exceeds the {limit} cap", request=request
            ),
        ):
            yield piece

    async def aclose(self) -> None:
        await self._inner.aclose()


class CeilingTransport(httpx2.AsyncBaseTransport):
    """Sends requests as they are and caps every response body at `max_response_bytes`."""

    def __init__(self, *, max_response_bytes: int) -> None:
        self._max_response_bytes = max_response_bytes
        self._inner = httpx2.AsyncHTTPTransport(trust_env=False, verify=tls_context())

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        # Only what we can inflate in bounded steps (httpx2 would add br and zstd).
        request.headers["accept-encoding"] = ", ".join(INFLATABLE)
        response = await self._inner.handle_async_request(request)
        limit = self._max_response_bytes
        encoding = response.headers.get("content-encoding", "identity").strip().lower()
        inflater: Inflater | None = None
        if encoding in INFLATABLE:
            inflater = Inflater(encoding)
            # httpx2 must not inflate again, and the declared length was the compressed one.
            del response.headers["content-encoding"]
            if "content-length" in response.headers:
                del response.headers["content-length"]
        elif encoding not in ("", "identity"):
            await response.aclose()
            raise httpx2.DecodingError(
                f"the server answered with content encoding {encoding!r}, which was not requested",
                request=request,
            )
        else:
            declared = _declared_length(response)
            if declared is not None and declared > limit:
                # Every caller here reads whole bodies (or streams to the end): refuse now.
                await response.aclose()
                raise ResponseCeilingExceeded(
                    f"the server's response declares {declared} bytes, "
                    f"over the {describe_size(limit)} cap",
                    request=request,
                )
        assert isinstance(response.stream, httpx2.AsyncByteStream)
        response.stream = _CeilingStream(
            response.stream, limit=limit, request=request, inflater=inflater
        )
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()


class GuardedTransport(CeilingTransport):
    """Checks every request with the guard, connects to the checked address, caps bodies."""

    def __init__(self, guard: OutboundGuard, *, field: str, max_response_bytes: int) -> None:
        super().__init__(max_response_bytes=max_response_bytes)
        self._guard = guard
        self._field = field

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        await self._guard.pin(request, field=self._field)
        return await super().handle_async_request(request)


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


def ceiling_client(
    *,
    timeout: httpx2.Timeout | float,
    max_response_bytes: int = LLM_MAX_RESPONSE_BYTES,
) -> httpx2.AsyncClient:
    """An unguarded httpx2 client with the same ceiling (for an operator-configured endpoint:
    trusted to be reached, not to answer sensibly)."""
    return httpx2.AsyncClient(
        transport=CeilingTransport(max_response_bytes=max_response_bytes),
        timeout=timeout,
        trust_env=False,
    )
