"""The request log: one record per HTTP request and per WebSocket/SSE session.

A record says when, what (method, the route's path *template*, the API
surface), how it went (status, duration) and for whom (user and API key ids,
when authenticated), with the request id. It never holds a body, a header,
a query string or a token: the raw path is not kept either, only the route's
template (`/api/v1/executions/{execution_id}`), so ids and anything a client
put in a URL stay out of it.

Writing never slows a request down: `RequestLogWriter.add` appends to a
bounded in-memory buffer and returns; a background task writes the buffer
in batches (`insert_many` every `interval_s`, or as soon as `batch_size`
records wait). When the buffer is full (the database is slow or gone) new
records are dropped and counted, never waited for. Records are kept
`AGENTLOOM_REQUEST_LOG_DAYS` days (a TTL index in storage).
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol, get_args

import anyio

log = logging.getLogger(__name__)

ApiProtocol = Literal["graphql", "rest-v1", "rest", "ag-ui", "ws"]
"""The API surface: `/graphql` (HTTP and WebSocket), `/api/v1`, the rest (`/api`, `/info`...),
`/ag-ui*` and the seed 000 WebSocket (`/api/v1/ws/...`)."""
API_PROTOCOLS: tuple[str, ...] = get_args(ApiProtocol)
Transport = Literal["http", "sse", "websocket"]
TRANSPORTS: tuple[str, ...] = get_args(Transport)

DEFAULT_CAPACITY = 10_000
"""Records the buffer holds (a few MB) before new ones are dropped."""
DEFAULT_BATCH = 500
DEFAULT_INTERVAL_S = 0.5


@dataclass(frozen=True, kw_only=True, slots=True)
class RequestRecord:
    """One request or session, as logged."""

    time: datetime
    """When it started (UTC)."""
    request_id: str
    method: str
    """The HTTP method, or `WS` for a WebSocket session."""
    path: str
    """The route's path template (`<unmatched>` when no route matched)."""
    protocol: ApiProtocol
    transport: Transport
    status: int
    """The response status; a WebSocket session is 101 once accepted, 403 when refused."""
    duration_ms: float
    """Until the last byte was sent (the whole stream for SSE, the session for a WebSocket)."""
    user_id: str | None = None
    api_key_id: str | None = None


@dataclass(frozen=True, kw_only=True)
class RequestLogQuery:
    """Records of one user in `[since, until)`, newest first."""

    since: datetime
    until: datetime
    user_id: str
    protocol: str | None = None
    limit: int = 100
    before: tuple[datetime, str] | None = None
    """Only records older than this `(time, request_id)` (the page after a cursor)."""


@dataclass(frozen=True, kw_only=True)
class RequestCount:
    """Requests of one surface and status class (`2xx`...) in a window."""

    protocol: str
    status_class: str
    count: int


class RequestLogStore(Protocol):
    async def append(self, records: Sequence[RequestRecord]) -> None:
        """Insert the records (one round trip)."""
        ...

    async def find(self, query: RequestLogQuery) -> list[RequestRecord]:
        """The newest first (ties by request id, descending), at most `query.limit`."""
        ...

    async def total(self, query: RequestLogQuery) -> int:
        """How many records match, ignoring `limit` and `before`."""
        ...

    async def counts(self, *, user_id: str, since: datetime, until: datetime) -> list[RequestCount]:
        """Requests by protocol and status class."""
        ...


class RequestLogWriter:
    """A bounded buffer of records and the background task that writes it (see module doc)."""

    def __init__(
        self,
        store: RequestLogStore,
        *,
        capacity: int = DEFAULT_CAPACITY,
        batch_size: int = DEFAULT_BATCH,
        interval_s: float = DEFAULT_INTERVAL_S,
    ) -> None:
        self._store = store
        self._capacity = capacity
        self._batch_size = batch_size
        self._interval_s = interval_s
        self._buffer: deque[RequestRecord] = deque()
        self._full_batch = anyio.Event()
        self.dropped = 0
        """Records lost because the buffer was full."""
        self.written = 0
        self._last_failure_logged = 0.0

    @property
    def buffered(self) -> int:
        return len(self._buffer)

    def add(self, record: RequestRecord) -> None:
        """Queue a record; never blocks (a full buffer drops it and counts the drop)."""
        if len(self._buffer) >= self._capacity:
            self.dropped += 1
            return
        self._buffer.append(record)
        if len(self._buffer) >= self._batch_size:
            self._full_batch.set()

    async def run_forever(self) -> None:
        """Write batches until cancelled; then write what is left (briefly, shielded)."""
        try:
            while True:
                with anyio.move_on_after(self._interval_s):
                    await self._full_batch.wait()
                self._full_batch = anyio.Event()
                await self.flush()
        finally:
            with anyio.move_on_after(2.0, shield=True):
                await self.flush()

    async def flush(self) -> None:
        """Write everything buffered now, a batch at a time."""
        while self._buffer:
            count = min(len(self._buffer), self._batch_size)
            batch = [self._buffer.popleft() for _ in range(count)]
            try:
                await self._store.append(batch)
            except anyio.get_cancelled_exc_class():
                self._requeue(batch)
                raise
            except Exception:  # the database is away: keep what fits, try again next tick
                self._requeue(batch)
                self._log_failure()
                return
            self.written += count

    def _requeue(self, batch: list[RequestRecord]) -> None:
        room = self._capacity - len(self._buffer)
        keep = batch[:room] if room > 0 else []
        self.dropped += len(batch) - len(keep)
        self._buffer.extendleft(reversed(keep))

    def _log_failure(self) -> None:
        # Once a minute at most: a database outage must not flood the log twice a second.
        now = time.monotonic()
        if now - self._last_failure_logged >= 60.0:
            self._last_failure_logged = now
            log.warning(
                "writing the request log failed; %d records buffered, %d dropped so far",
                len(self._buffer),
                self.dropped,
                exc_info=True,
            )
