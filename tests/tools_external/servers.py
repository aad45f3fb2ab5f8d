"""Real servers on loopback for the external-tool tests: an MCP server built with the
`mcp` SDK's own `MCPServer`, A2A agents built with `a2a-sdk`'s server, and plain HTTP
servers (an echo that records what arrives, a redirector, a honeypot)."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import uvicorn
from a2a.helpers import new_task_from_user_message, new_text_message, new_text_part
from a2a.server.agent_execution import AgentExecutor, RequestContext
from a2a.server.events.event_queue_v2 import EventQueue
from a2a.server.request_handlers import DefaultRequestHandlerV2
from a2a.server.routes import create_agent_card_routes, create_jsonrpc_routes
from a2a.server.tasks.inmemory_task_store import InMemoryTaskStore
from a2a.server.tasks.task_updater import TaskUpdater
from a2a.types.a2a_pb2 import AgentCapabilities, AgentCard, AgentInterface, AgentSkill
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

ASGIApp = Callable[[Any, Any, Any], Awaitable[None]]


# -- running ASGI apps -----------------------------------------------------------------------


def bound_socket(host: str = "127.0.0.1") -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, 0))
    return sock


@contextmanager
def serve_asgi(app: ASGIApp, sock: socket.socket | None = None) -> Iterator[int]:
    """Serve `app` with uvicorn in a thread (its own event loop); yields the port."""
    sock = sock or bound_socket()
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("test server failed to start")
        time.sleep(0.02)
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(timeout=10)


class HeaderRecorder:
    """ASGI middleware keeping the headers of every HTTP request it passes on."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.headers: list[dict[str, str]] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            self.headers.append({k.decode(): v.decode() for k, v in scope["headers"]})
        await self.app(scope, receive, send)


# -- MCP ------------------------------------------------------------------------------------


def build_mcp_server() -> MCPServer:
    """Two tools: `add` and `shout` (which reports an error for empty text)."""
    server = MCPServer("loopback-tools")

    @server.tool()
    def add(a: int, b: int) -> int:
        """Add two integers."""
        return a + b

    @server.tool()
    def shout(text: str) -> str:
        """Upper-case a text."""
        if not text:
            raise ToolError("nothing to shout")
        return text.upper()

    return server


@dataclass
class McpServers:
    streamable_url: str
    sse_url: str
    recorder: HeaderRecorder


@contextmanager
def mcp_servers() -> Iterator[McpServers]:
    """The same MCP server over streamable HTTP (`/mcp`) and over the SSE transport (`/sse`)."""
    server = build_mcp_server()
    recorder = HeaderRecorder(server.streamable_http_app())
    with serve_asgi(recorder) as port, serve_asgi(server.sse_app()) as sse_port:
        yield McpServers(
            streamable_url=f"http://127.0.0.1:{port}/mcp",
            sse_url=f"http://127.0.0.1:{sse_port}/sse",
            recorder=recorder,
        )


# -- A2A ------------------------------------------------------------------------------------

ECHO_CHUNKS = ("Echo", ": ")


class StreamingEcho(AgentExecutor):
    """Answers with a task whose one artifact streams in chunks: `Echo: <message>`."""

    async def execute(self, context: RequestContext, event_queue: EventQueue) -> None:
        assert context.message is not None
        text = context.get_user_input()
        task = context.current_task or new_task_from_user_message(context.message)
        await event_queue.enqueue_event(task)
        updater = TaskUpdater(event_queue, task.id, task.context_id)
        await updater.start_work()
        chunks = [*ECHO_CHUNKS, text]
        for index, chunk in enumerate(chunks):
            await updater.add_artifact(
                [new_text_part(chunk)],
                artifact_id="answer",
                append=index > 0,
                last_chunk=index == len(chunks) - 1,
            )
        if text == "please fail":
            await updater.failed(new_text_message("cannot do that", task_id=task.id))
            return
        await updater.complete()

    async def cancel(self, context: RequestContext, event_queue: EventQueue) -> None:
        return


class MessageEcho(AgentExecutor):
    """Answers with one direct message: `Reversed: <message reversed>`."""

    async def execute(self, context: RequestContext, event_queue: EventQueue) -> None:
        text = context.get_user_input()
        await event_queue.enqueue_event(new_text_message(f"Reversed: {text[::-1]}"))

    async def cancel(self, context: RequestContext, event_queue: EventQueue) -> None:
        return


def _card(name: str, url: str, *, streaming: bool) -> AgentCard:
    return AgentCard(
        name=name,
        description=f"{name}, a loopback test agent",
        version="1.0.0",
        supported_interfaces=[
            AgentInterface(url=url, protocol_binding="JSONRPC", protocol_version="1.0")
        ],
        capabilities=AgentCapabilities(streaming=streaming),
        default_input_modes=["text/plain"],
        default_output_modes=["text/plain"],
        skills=[AgentSkill(id="echo", name="echo", description="echoes", tags=["echo"])],
    )


@dataclass
class A2aAgents:
    google_url: str
    """Card at the host root's well-known path, JSON-RPC at `/`; streams."""
    microsoft_url: str
    """Mounted under `/agents/reverse`: card relative to that path; answers with a message."""
    legacy_url: str
    """An A2A 0.3 agent under `/legacy`: its 0.3 card (`url`, `protocolVersion`) at
    `/legacy/.well-known/agent.json`, the 0.3 JSON-RPC methods at `/legacy`."""
    recorder: HeaderRecorder = field(repr=False)


@contextmanager
def a2a_agents() -> Iterator[A2aAgents]:
    sock = bound_socket()
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    echo_card = _card("Streaming Echo", f"{base}/", streaming=True)
    reverse_card = _card("Reverser", f"{base}/agents/reverse", streaming=False)
    echo = DefaultRequestHandlerV2(
        agent_executor=StreamingEcho(), task_store=InMemoryTaskStore(), agent_card=echo_card
    )
    reverse = DefaultRequestHandlerV2(
        agent_executor=MessageEcho(), task_store=InMemoryTaskStore(), agent_card=reverse_card
    )
    legacy = DefaultRequestHandlerV2(
        agent_executor=MessageEcho(),
        task_store=InMemoryTaskStore(),
        agent_card=_card("Legacy", f"{base}/legacy", streaming=False),
    )
    legacy_card = {
        "name": "Legacy",
        "description": "An A2A 0.3 agent",
        "url": f"{base}/legacy",
        "protocolVersion": "0.3.0",
        "preferredTransport": "JSONRPC",
        "version": "0.3",
        "capabilities": {"streaming": False},
        "defaultInputModes": ["text/plain"],
        "defaultOutputModes": ["text/plain"],
        "skills": [],
    }

    async def legacy_card_route(request: Any) -> JSONResponse:
        return JSONResponse(legacy_card)

    app = Starlette(
        routes=[
            Route("/legacy/.well-known/agent.json", legacy_card_route),
            *create_jsonrpc_routes(legacy, "/legacy", enable_v0_3_compat=True),
            *create_agent_card_routes(echo_card),
            *create_jsonrpc_routes(echo, "/"),
            *create_agent_card_routes(
                reverse_card, card_url="/agents/reverse/.well-known/agent-card.json"
            ),
            *create_jsonrpc_routes(reverse, "/agents/reverse"),
        ]
    )
    recorder = HeaderRecorder(app)
    with serve_asgi(recorder, sock):
        yield A2aAgents(
            google_url=f"{base}/",
            microsoft_url=f"{base}/agents/reverse",
            legacy_url=f"{base}/legacy",
            recorder=recorder,
        )


# -- plain HTTP -----------------------------------------------------------------------------


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class HttpServer:
    url: str
    requests: list[Recorded] = field(default_factory=list)
    connections: int = 0


@contextmanager
def http_server(host: str = "127.0.0.1", *, redirect_to: str | None = None) -> Iterator[HttpServer]:
    """Records every request and connection; answers JSON describing the request, or
    (with `redirect_to`) a 302 to that URL."""
    state = HttpServer(url="")

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            return

        def setup(self) -> None:
            state.connections += 1
            super().setup()

        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            state.requests.append(
                Recorded(
                    method=self.command,
                    path=self.path,
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=body,
                )
            )
            if redirect_to is not None:
                self.send_response(302)
                self.send_header("Location", redirect_to)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            status = 404 if self.path.startswith("/missing") else 200
            payload = json.dumps(
                {"method": self.command, "path": self.path, "body": body.decode()}
            ).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _answer

    server = ThreadingHTTPServer((host, 0), Handler)
    server.daemon_threads = True
    state.url = f"http://{host}:{server.server_address[1]}"
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@contextmanager
def silent_server() -> Iterator[str]:
    """Accepts connections and never answers: a URL that hangs."""
    sock = bound_socket()
    sock.listen(16)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        sock.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            accepted.append(conn)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/mcp"
    finally:
        stop.set()
        thread.join(timeout=5)
        for conn in accepted:
            conn.close()
        sock.close()


def closed_port_url(path: str = "/mcp") -> str:
    """A loopback URL nothing listens on."""
    sock = bound_socket()
    port = sock.getsockname()[1]
    sock.close()
    return f"http://127.0.0.1:{port}{path}"
