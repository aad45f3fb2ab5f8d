"""Reading outbound HTTP response bodies without trusting their size.

Every outbound fetch streams its response (`client.stream(...)`) and reads
the body with `read_capped`, which stops at a byte cap: either it raises
`ResponseTooLarge` (the http node, the API data source, web search) or it
keeps the first bytes and says the body was truncated (the agent's
url_fetch / http_request tools, whose contract is a truncated body). A
declared `Content-Length` above the cap is refused before any byte is read.

Under every `guarded_http_client` sits `with_ceiling`: it inflates gzip and
deflate itself, in steps of at most 64 KB, and stops the body past a coarser
ceiling (`BodyCeilingExceeded`, an httpx error, so clients that read whole
bodies report it). A compression bomb therefore never expands in memory: a
64 KB gzip chunk of zeros would otherwise inflate to 64 MB at once. Other
encodings (br, zstd) are neither asked for nor accepted. The httpx2 clients
(the openai and mcp SDKs, `engine.guarded_httpx2`) use the same `Inflater`.
"""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterator
from dataclasses import dataclass

import httpx

from engine.errors import UpstreamFailed

MIB = 1024 * 1024
DEFAULT_MAX_RESPONSE_BYTES = 32 * MIB
"""The ceiling under every guarded client; callers read with lower caps."""
INFLATABLE = ("gzip", "deflate")
"""The content encodings the ceiling inflates (and the only ones requested)."""
_STEP = 64 * 1024


class BodyCeilingExceeded(httpx.ReadError):
    """A response went past its client's ceiling."""


class UnsupportedEncoding(httpx.DecodingError):
    """The server answered with a content encoding that was not asked for."""


class ResponseTooLarge(UpstreamFailed):
    """A response body exceeded the cap of the component that fetched it."""


def describe_size(limit: int) -> str:
    """`5 MB` for whole mebibytes, else a byte count."""
    return f"{limit // MIB} MB" if limit % MIB == 0 else f"{limit} bytes"


@dataclass(frozen=True, kw_only=True)
class CappedBody:
    """A response body read up to a cap."""

    content: bytes
    truncated: bool
    """True when the body went on past the cap (only with `truncate=True`)."""
    encoding: str = "utf-8"

    @property
    def text(self) -> str:
        # A truncated body may end inside a multi-byte character.
        return self.content.decode(self.encoding, errors="replace")


def _declared_length(response: httpx.Response) -> int | None:
    raw = response.headers.get("content-length")
    if raw is None or response.headers.get("content-encoding"):
        return None  # a compressed body's decoded size is unknown up front
    try:
        return int(raw)
    except ValueError:
        return None


async def read_capped(
    response: httpx.Response,
    limit: int,
    *,
    truncate: bool = False,
    what: str = "the response",
) -> CappedBody:
    """Read a streamed response's body, at most `limit` bytes.

    Past the cap: with `truncate`, returns the first `limit` bytes and
    `truncated=True`; otherwise raises `ResponseTooLarge` naming `what` and
    the cap. The caller's `async with client.stream(...)` closes the
    connection, so the rest of the body is never read.
    """
    declared = _declared_length(response)
    if declared is not None and declared > limit and not truncate:
        raise ResponseTooLarge(f"{what} exceeds {describe_size(limit)} ({declared} bytes declared)")
    body = bytearray()
    truncated = False
    async for chunk in response.aiter_bytes():
        room = limit - len(body)
        if len(chunk) > room:
            if not truncate:
                raise ResponseTooLarge(f"{what} exceeds {describe_size(limit)}")
            body.extend(chunk[:room])
            truncated = True
            break
        body.extend(chunk)
    return CappedBody(
        content=bytes(body), truncated=truncated, encoding=response.encoding or "utf-8"
    )


class Inflater:
    """Bounded-step decompression of one gzip (possibly multi-member) or deflate body."""

    def __init__(self, encoding: str) -> None:
        self._encoding = encoding
        self._raw_deflate = False
        self._inflater = self._new()

    def _new(self) -> zlib._Decompress:
        if self._encoding == "gzip":
            return zlib.decompressobj(16 + zlib.MAX_WBITS)
        # "deflate" is zlib-wrapped by the standard, raw deflate by some servers.
        return zlib.decompressobj(-zlib.MAX_WBITS if self._raw_deflate else zlib.MAX_WBITS)

    def feed(self, data: bytes) -> Iterator[bytes]:
        """Pieces of at most `_STEP` bytes, made one at a time as the caller takes them."""
        pending = data
        produced = False
        while pending:
            try:
                piece = self._inflater.decompress(pending, _STEP)
            except zlib.error:
                if self._encoding == "deflate" and not self._raw_deflate and not produced:
                    self._raw_deflate = True
                    self._inflater = self._new()
                    continue
                raise
            if piece:
                produced = True
                yield piece
            if self._inflater.eof:
                # A finished member leaves the rest in unused_data (and, stale, in
                # unconsumed_tail too): whatever follows is the next gzip member.
                pending = self._inflater.unused_data if self._encoding == "gzip" else b""
                if pending:
                    self._inflater = self._new()
            else:
                pending = self._inflater.unconsumed_tail


async def within_ceiling(
    chunks: AsyncIterable[bytes],
    limit: int,
    inflater: Inflater | None,
    *,
    undecodable: Callable[[str], Exception],
    too_large: Callable[[str], Exception],
) -> AsyncIterator[bytes]:
    """The body's bytes, inflated when `inflater` is given, until `limit` bytes have come
    out: then `too_large(<the limit in words>)` is raised. Both HTTP libraries' streams use
    it, each with its own exception types."""
    seen = 0
    async for chunk in chunks:
        pieces = inflater.feed(chunk) if inflater else iter((chunk,))
        while True:
            # Pieces are taken one at a time, so a bomb never inflates past the count.
            try:
                piece = next(pieces, None)
            except zlib.error as exc:
                raise undecodable(f"the response body does not decompress: {exc}") from exc
            if piece is None:
                break
            seen += len(piece)
            if seen > limit:
                raise too_large(describe_size(limit))
            yield piece


class _CeilingStream(httpx.AsyncByteStream):
    def __init__(
        self,
        inner: httpx.AsyncByteStream,
        *,
        limit: int,
        request: httpx.Request,
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
            undecodable=lambda why: httpx.DecodingError(why, request=request),
            too_large=lambda limit: BodyCeilingExceeded(
                f"the response exceeds {limit}", request=request
            ),
        ):
            yield piece

    async def aclose(self) -> None:
        await self._inner.aclose()


async def with_ceiling(
    response: httpx.Response, request: httpx.Request, limit: int
) -> httpx.Response:
    """Make a transport's response inflate in bounded steps and stop past `limit` bytes.

    Counted as read, not refused on a declared length: a caller that keeps only
    the first bytes of a huge body (a truncating tool) must still get them.
    """
    encoding = response.headers.get("content-encoding", "identity").strip().lower()
    inflater: Inflater | None = None
    if encoding in INFLATABLE:
        inflater = Inflater(encoding)
        # httpx must not decode again, and the declared length was the compressed one.
        del response.headers["content-encoding"]
        if "content-length" in response.headers:
            del response.headers["content-length"]
    elif encoding not in ("", "identity"):
        await response.aclose()
        raise UnsupportedEncoding(
            f"the response uses the content encoding {encoding!r}, which was not requested",
            request=request,
        )
    assert isinstance(response.stream, httpx.AsyncByteStream)
    response.stream = _CeilingStream(
        response.stream, limit=limit, request=request, inflater=inflater
    )
    return response
