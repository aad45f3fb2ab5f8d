import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import anyio
import pytest

from engine.outbound import OutboundGuard
from engine.tools import TOOL_CATALOG, ToolContext, ToolError
from tests.engine.helpers import chain, n, run, services

pytestmark = pytest.mark.anyio


class Honeypot:
    """A listener that records whether anything connected to it."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.sock = socket.create_server((host, 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.host = host
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self.sock.close()


@pytest.fixture
def web_server() -> Iterator[dict[str, Any]]:
    state: dict[str, Any] = {"requests": [], "fail_first": 0}

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return

        def _reply(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode() if length else ""
            state["requests"].append((self.command, self.path, dict(self.headers.items()), body))
            if self.path.startswith("/redirect"):
                self.send_response(302)
                self.send_header("Location", state["redirect_to"])
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            if self.path.startswith("/flaky") and state["fail_first"] > 0:
                state["fail_first"] -= 1
                self.send_response(503)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            data = json.dumps({"path": self.path, "method": self.command, "body": body}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = _reply

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    state["url"] = f"http://127.0.0.1:{server.server_address[1]}"
    yield state
    server.shutdown()
    server.server_close()


ALLOW_LOOPBACK = OutboundGuard.from_entries(["127.0.0.1"])


def http_graph(**data: Any) -> tuple[list, list]:
    nodes = [n("start-1", "start"), n("http-1", "http", **data), n("end-1", "end")]
    return nodes, chain(*nodes)


async def test_http_node_allowed_with_templates(web_server: dict[str, Any]) -> None:
    nodes, edges = http_graph(
        method="POST",
        url=web_server["url"] + "/items/{input.id}",
        headers={"X-Token": "{input.token}"},
        body={"name": "{input.name}"},
    )
    result, _ = await run(
        nodes,
        edges,
        {"id": 7, "token": "t", "name": "Ada"},
        services(outbound_guard=ALLOW_LOOPBACK),
    )
    assert result.status == "completed", result.error
    assert result.output["status"] == 200
    assert result.output["body"]["path"] == "/items/7"
    method, _, headers, body = web_server["requests"][0]
    assert method == "POST" and headers["X-Token"] == "t" and json.loads(body) == {"name": "Ada"}


async def test_http_node_refused_by_default_without_connecting() -> None:
    honeypot = Honeypot()
    try:
        nodes, edges = http_graph(url=f"http://127.0.0.1:{honeypot.port}/")
        result, _ = await run(nodes, edges)
        assert result.status == "failed"
        assert result.error_type == "OutboundRefused"
        await anyio.sleep(0.3)
        assert honeypot.connections == 0
    finally:
        honeypot.close()


async def test_redirect_to_loopback_is_refused(web_server: dict[str, Any]) -> None:
    honeypot = Honeypot("127.0.0.2")
    try:
        web_server["redirect_to"] = f"http://127.0.0.2:{honeypot.port}/secret"
        nodes, edges = http_graph(url=web_server["url"] + "/redirect")
        result, _ = await run(nodes, edges, svc=services(outbound_guard=ALLOW_LOOPBACK))
        assert result.status == "failed"
        assert "127.0.0.2" in (result.error or "")
        await anyio.sleep(0.3)
        assert honeypot.connections == 0
    finally:
        honeypot.close()


async def test_http_retries_on_5xx(web_server: dict[str, Any]) -> None:
    web_server["fail_first"] = 2
    nodes, edges = http_graph(url=web_server["url"] + "/flaky", retries=2)
    result, _ = await run(nodes, edges, svc=services(outbound_guard=ALLOW_LOOPBACK))
    assert result.status == "completed", result.error
    assert len(web_server["requests"]) == 3
    web_server["fail_first"] = 5
    nodes, edges = http_graph(url=web_server["url"] + "/flaky", retries=1)
    result, _ = await run(nodes, edges, svc=services(outbound_guard=ALLOW_LOOPBACK))
    assert result.status == "failed" and "503" in (result.error or "")


async def test_code_node_input_and_output() -> None:
    nodes = [
        n("start-1", "start"),
        n("code-1", "code", code="return {sum: input.a + input.b, n: context.input.a};"),
        n("end-1", "end"),
    ]
    result, _ = await run(nodes, chain(*nodes), {"a": 2, "b": 3})
    assert result.output == {"sum": 5, "n": 2}


async def test_code_node_has_no_host_access() -> None:
    nodes = [
        n("start-1", "start"),
        n("code-1", "code", code="return [typeof require, typeof process, typeof fetch];"),
        n("end-1", "end"),
    ]
    result, _ = await run(nodes, chain(*nodes))
    assert result.output == ["undefined", "undefined", "undefined"]


async def test_code_infinite_loop_is_stopped_by_its_time_limit() -> None:
    nodes = [
        n("start-1", "start"),
        n("code-1", "code", code="while (true) {}", timeout_ms=300),
        n("end-1", "end"),
    ]
    with anyio.fail_after(10):
        result, _ = await run(nodes, chain(*nodes))
    assert result.status == "failed"
    assert result.error_type == "CodeTimedOut"
    assert result.execution_time_ms < 3000


async def test_code_unbounded_allocation_is_stopped_by_its_memory_limit() -> None:
    code = "const a = []; while (true) { a.push(new Array(100000).fill(1)); }"
    nodes = [
        n("start-1", "start"),
        n("code-1", "code", code=code, timeout_ms=20000),
        n("end-1", "end"),
    ]
    with anyio.fail_after(20):
        result, _ = await run(
            nodes, chain(*nodes), svc=services(code_max_memory_bytes=32 * 1024 * 1024)
        )
    assert result.status == "failed"
    assert result.error_type == "CodeMemoryExceeded"


async def test_code_error_is_reported() -> None:
    nodes = [
        n("start-1", "start"),
        n("code-1", "code", code="throw new Error('boom')"),
        n("end-1", "end"),
    ]
    result, _ = await run(nodes, chain(*nodes))
    assert result.error_type == "CodeFailed" and "boom" in (result.error or "")


async def test_tool_catalog_basics(web_server: dict[str, Any]) -> None:
    ctx = ToolContext(guard=OutboundGuard.from_entries([]), environ={})
    assert set(TOOL_CATALOG) >= {
        "calculator",
        "datetime",
        "json_parser",
        "url_fetch",
        "http_request",
        "web_search",
        "text_stats",
        "uuid",
    }
    for tool in TOOL_CATALOG.values():
        assert tool.openai_schema()["function"]["name"] == tool.id
        assert tool.describe()["category"]
    assert (await TOOL_CATALOG["calculator"].handler({"expression": "2^10"}, ctx))["result"] == 1024
    parsed = await TOOL_CATALOG["json_parser"].handler(
        {"json": '{"a": [1, 2]}', "query": "a[1]"}, ctx
    )
    assert parsed == 2
    stats = await TOOL_CATALOG["text_stats"].handler({"text": "One two. Three!"}, ctx)
    assert stats["words"] == 3 and stats["sentences"] == 2
    assert len(await TOOL_CATALOG["uuid"].handler({"count": 3}, ctx)) == 3
    assert "iso" in await TOOL_CATALOG["datetime"].handler({}, ctx)
    with pytest.raises(ToolError, match="set AGENTLOOM_WEB_SEARCH_URL"):
        await TOOL_CATALOG["web_search"].handler({"query": "x"}, ctx)
    with pytest.raises(ToolError, match="not allowed"):
        await TOOL_CATALOG["url_fetch"].handler({"url": web_server["url"]}, ctx)
    allowed = ToolContext(guard=ALLOW_LOOPBACK, environ={})
    fetched = await TOOL_CATALOG["url_fetch"].handler({"url": web_server["url"] + "/x"}, allowed)
    assert fetched["status"] == 200 and fetched["body"]["path"] == "/x"
    posted = await TOOL_CATALOG["http_request"].handler(
        {"method": "POST", "url": web_server["url"] + "/p", "body": {"k": 1}}, allowed
    )
    assert json.loads(posted["body"]["body"]) == {"k": 1}


async def test_web_search_against_a_searxng_style_endpoint(web_server: dict[str, Any]) -> None:
    ctx = ToolContext(
        guard=ALLOW_LOOPBACK, environ={"AGENTLOOM_WEB_SEARCH_URL": web_server["url"] + "/search"}
    )
    # The fake answers with its request echo, which has no results: an empty list.
    assert await TOOL_CATALOG["web_search"].handler({"query": "anyio"}, ctx) == []
    assert web_server["requests"][0][1].startswith("/search?q=anyio")
