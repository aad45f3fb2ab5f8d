"""The request middleware: request ids, the request log and the HTTP metrics.

Pure ASGI (not `BaseHTTPMiddleware`, which buffers and breaks streaming and
does not see WebSockets): it wraps `send` to learn the status, and when the
request (or the SSE stream, or the WebSocket session) is over it

- queues one `RequestRecord` (`engine.services.request_log`: the writer only
  appends to a bounded buffer, nothing waits for the database),
- counts the request in the Prometheus metrics.

Request id: an incoming `X-Request-ID` is kept when it looks like an id (at
most 128 characters of `A-Za-z0-9._:-`, so nobody writes arbitrary text into
the logs through it), else one is generated; it is echoed in the response
(and in the WebSocket handshake) and set in `engine.diagnostics` for log lines.

Who asked: the GraphQL context calls `engine.diagnostics.note_caller` when it
resolves the viewer (for every surface: REST routes, the seed WebSocket and
AG-UI resolve it through the same context), which fills in the `RequestScope`
installed here; it is read when the request ends. Nothing of the request's
headers, query string or body is kept: the path is the matched route's
template.

The GraphQL WebSocket does not pass through the middleware stack (see
`agentloom.AgentloomAPI`); `RequestObserver.wrap` observes it the same way.
"""

from __future__ import annotations

import itertools
import re
import time
import uuid
from typing import Any, Protocol

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from engine.clock import utcnow
from engine.diagnostics import begin_request, end_request
from engine.services.request_log import ApiProtocol, RequestLogWriter, RequestRecord, Transport

UNMATCHED = "<unmatched>"
"""The path template of a request no route matched (its raw path is not kept)."""
QUIET_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
"""Probes and scrapes: frequent, uninteresting, neither logged nor counted."""
REQUEST_ID_HEADER = b"x-request-id"
_VALID_ID = re.compile(rb"[A-Za-z0-9._:\-]{1,128}")
CLIENT_CLOSED = 499
"""Status of an HTTP request whose client left before any response (nginx's convention)."""


class HttpMetrics(Protocol):
    def observe_request(
        self, *, protocol: str, method: str, route: str, status: int, seconds: float
    ) -> None: ...


def protocol_of(path: str, websocket: bool) -> ApiProtocol:
    """The API surface of a request path (see `engine.services.request_log.ApiProtocol`)."""
    if path == "/graphql" or path.startswith("/graphql/"):
        return "graphql"
    if websocket:
        return "ws"
    if path == "/api/v1" or path.startswith("/api/v1/"):
        return "rest-v1"
    if path == "/ag-ui" or path.startswith("/ag-ui/"):
        return "ag-ui"
    return "rest"


# A generated id is this process's random prefix and a counter: unique across processes,
# and a tenth of the cost of a uuid4 (a getrandom call) per request.
_PROCESS_PREFIX = uuid.uuid4().hex[:16]
_sequence = itertools.count(1)


def request_id_of(scope: Scope) -> str:
    for name, value in scope.get("headers") or ():
        if name == REQUEST_ID_HEADER:
            if _VALID_ID.fullmatch(value):
                return str(value.decode("ascii"))
            break
    return f"{_PROCESS_PREFIX}{next(_sequence):016x}"


def _is_event_stream(headers: Any) -> bool:
    for name, value in headers:
        if name.lower() == b"content-type":
            return bytes(value).startswith(b"text/event-stream")
    return False


class RequestObserver:
    """Observes requests for the request log (`writer`, None when disabled) and `metrics`."""

    def __init__(self, *, writer: RequestLogWriter | None, metrics: HttpMetrics | None) -> None:
        self.writer = writer
        self.metrics = metrics
        self._paths: dict[int, str] = {}
        self._routes_seen = -1

    def template_of(self, scope: Scope) -> str:
        """The matched route's path template.

        FastAPI puts its own routes in `scope["route"]`; for plain Starlette routes (GraphQL,
        the seed WebSocket, static files) it only leaves `scope["endpoint"]`, which is mapped
        back to its route's path (the map is rebuilt when the app's routes change).
        """
        route = scope.get("route")
        if route is not None:
            return str(getattr(route, "path", UNMATCHED))
        endpoint = scope.get("endpoint")
        if endpoint is None:
            return UNMATCHED
        path = self._paths.get(id(endpoint))
        if path is None:
            routes = getattr(scope.get("app"), "routes", ())
            if len(routes) != self._routes_seen:
                self._routes_seen = len(routes)
                self._paths = {
                    id(r.endpoint): str(r.path) for r in routes if hasattr(r, "endpoint")
                }
                path = self._paths.get(id(endpoint))
        return path or UNMATCHED

    def wrap(self, app: ASGIApp, *, path_template: str) -> ASGIApp:
        """`app` observed as one route (for apps mounted outside the middleware stack)."""

        async def observed(scope: Scope, receive: Receive, send: Send) -> None:
            await self.observe(app, scope, receive, send, path_template=path_template)

        return observed

    async def observe(
        self,
        app: ASGIApp,
        scope: Scope,
        receive: Receive,
        send: Send,
        *,
        path_template: str | None = None,
    ) -> None:
        websocket = scope["type"] == "websocket"
        request_id = request_id_of(scope)
        id_header = (REQUEST_ID_HEADER, request_id.encode("ascii"))
        caller, token = begin_request(request_id)
        started_at = utcnow()
        start = time.perf_counter()
        status = 0
        transport: Transport = "websocket" if websocket else "http"

        async def send_observed(message: Message) -> None:
            nonlocal status, transport
            kind = message["type"]
            if kind == "http.response.start":
                status = message["status"]
                headers = [*message.get("headers", ()), id_header]
                if _is_event_stream(headers):
                    transport = "sse"
                message = {**message, "headers": headers}
            elif kind == "websocket.accept":
                status = 101
                message = {**message, "headers": [*message.get("headers", ()), id_header]}
            elif kind == "websocket.close" and status == 0:
                status = 403  # closed before the handshake: the client sees a 403
            elif kind == "websocket.http.response.start":
                status = message["status"]
            await send(message)

        try:
            await app(scope, receive, send_observed)
        except BaseException:
            if status == 0:
                status = 500  # ServerErrorMiddleware (outside us) answers it
            raise
        finally:
            end_request(token)
            path = scope["path"]
            if path not in QUIET_PATHS:
                if status == 0:
                    status = 403 if websocket else CLIENT_CLOSED
                template = path_template or self.template_of(scope)
                protocol = protocol_of(path, websocket)
                method = "WS" if websocket else scope["method"]
                elapsed = time.perf_counter() - start
                if self.metrics is not None:
                    self.metrics.observe_request(
                        protocol=protocol,
                        method=method,
                        route=template,
                        status=status,
                        seconds=elapsed,
                    )
                if self.writer is not None:
                    self.writer.add(
                        RequestRecord(
                            time=started_at,
                            request_id=request_id,
                            method=method,
                            path=template,
                            protocol=protocol,
                            transport=transport,
                            status=status,
                            duration_ms=round(elapsed * 1000, 3),
                            user_id=caller.user_id,
                            api_key_id=caller.api_key_id,
                        )
                    )


class RequestLogMiddleware:
    """The middleware (install with `app.add_middleware(RequestLogMiddleware, observer=...)`)."""

    def __init__(self, app: ASGIApp, *, observer: RequestObserver) -> None:
        self.app = app
        self.observer = observer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            await self.observer.observe(self.app, scope, receive, send)
        else:
            await self.app(scope, receive, send)
