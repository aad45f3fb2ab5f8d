"""HTTP tool definitions: tested by hand and used by agents, against loopback servers;
SSRF spellings refused before any connection."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from engine.errors import OutboundRefused, ValidationFailed
from engine.outbound import OutboundGuard
from engine.tools import http_tools
from engine.tools.http_tools import parse_http_tool
from tests.engine.helpers import chain, n, run, services
from tests.support.openai_server import FakeOpenAIServer, Reply, ToolCallReply
from tests.tools_external.conftest import LOOPBACK
from tests.tools_external.servers import http_server

pytestmark = pytest.mark.anyio
NOTHING_ALLOWED = OutboundGuard.from_entries([])


def definition(url: str, **fields: Any) -> dict[str, Any]:
    return {"name": "lookup", "url": url, "method": "GET", "headers": "", "body": "", **fields}


async def test_headers_and_input_arrive_as_sent() -> None:
    with http_server() as api:
        tested = await http_tools.test_http_tool(
            definition(
                api.url + "/search/{input}?q={input}&lang=en",
                method="POST",
                headers="Authorization: Bearer xxx\n\nX-Trace:  a b c  \n",
                body='{"query": "{input}", "raw": {input}}',
            ),
            'say "hi" /../?x=1&y#z',
            guard=LOOPBACK,
        )
    assert tested.success, tested.error
    assert tested.status == 200
    (request,) = api.requests
    assert request.method == "POST"
    encoded = "say%20%22hi%22%20%2F..%2F%3Fx%3D1%26y%23z"
    assert request.path == f"/search/{encoded}?q={encoded}&lang=en"
    assert request.headers["authorization"] == "Bearer xxx"
    assert request.headers["x-trace"] == "a b c"
    assert request.headers["content-type"] == "application/json"
    # JSON-escaped into the body: the string stays one JSON string.
    sent = request.body.decode()
    assert sent == '{"query": "say \\"hi\\" /../?x=1&y#z", "raw": say \\"hi\\" /../?x=1&y#z}'
    assert json.loads(sent.split(', "raw"')[0] + "}") == {"query": 'say "hi" /../?x=1&y#z'}
    assert json.loads(tested.response)["path"] == request.path
    assert tested.to_dict()["error"] is None


async def test_a_text_body_gets_the_input_raw() -> None:
    with http_server() as api:
        tested = await http_tools.test_http_tool(
            definition(
                api.url + "/t",
                method="PUT",
                headers="Content-Type: text/plain",
                body="line: {input} {other}",
            ),
            'a"b',
            guard=LOOPBACK,
        )
    assert tested.success
    assert api.requests[0].body == b'line: a"b {other}'


async def test_an_error_status_is_not_a_success() -> None:
    with http_server() as api:
        tested = await http_tools.test_http_tool(
            definition(api.url + "/missing"), "", guard=LOOPBACK
        )
    assert not tested.success
    assert tested.status == 404
    assert tested.error == "HTTP 404"
    assert "/missing" in tested.response


async def test_a_dead_server_is_an_answer_not_an_exception() -> None:
    from tests.tools_external.servers import closed_port_url

    tested = await http_tools.test_http_tool(
        definition(closed_port_url("/x")), "", guard=LOOPBACK, timeout_s=5
    )
    assert not tested.success and tested.status is None
    assert "ConnectError" in (tested.error or "")


async def test_the_answer_is_capped_and_a_silent_server_times_out() -> None:
    with http_server() as api:
        capped = await http_tools.test_http_tool(
            definition(api.url + "/long"), "", guard=LOOPBACK, max_response_bytes=10
        )
    assert capped.success and capped.truncated
    assert capped.response == '{"method":'
    from tests.tools_external.servers import silent_server

    with silent_server() as url:
        started = time.monotonic()
        slow = await http_tools.test_http_tool(definition(url), "", guard=LOOPBACK, timeout_s=1)
    assert not slow.success
    assert "no answer within 1s" in (slow.error or "")
    assert time.monotonic() - started < 4


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"url": ""}, "url"),
        ({"url": "ftp://example.com/x"}, "url"),
        ({"method": "BREW"}, "method"),
        ({"headers": "no colon here"}, "headers"),
        ({"headers": "Host: evil.example"}, "headers"),
        ({"headers": "Bad Name: 1"}, "headers"),
        ({"name": "has space"}, "name"),
        ({"body": 3}, "body"),
    ],
)
def test_malformed_definitions_name_the_field(fields: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationFailed) as error:
        parse_http_tool({**definition("http://example.com/"), **fields})
    assert error.value.field == field


SSRF_URLS = [
    "http://{host}:{port}/",
    "http://2130706433:{port}/",  # 127.0.0.1 in decimal
    "http://0x7f000001:{port}/",  # ... in hex
    "http://0177.0.0.1:{port}/",  # ... in octal
    "http://[::ffff:127.0.0.1]:{port}/",  # IPv4-mapped IPv6
    "http://evil.example@{host}:{port}/",  # userinfo before the real host
    "http://localhost:{port}/",
]


@pytest.mark.parametrize("template", SSRF_URLS)
async def test_loopback_spellings_are_refused_without_a_connection(template: str) -> None:
    with http_server() as honeypot:
        port = honeypot.url.rsplit(":", 1)[1]
        url = template.format(host="127.0.0.1", port=port) + "{input}"
        with pytest.raises(OutboundRefused) as refused:
            await http_tools.test_http_tool(definition(url), "x", guard=NOTHING_ALLOWED)
    assert refused.value.field == "url"
    assert honeypot.connections == 0 and honeypot.requests == []


async def test_input_cannot_move_the_request_to_another_host() -> None:
    with http_server() as api, http_server("127.0.0.2") as honeypot:
        tested = await http_tools.test_http_tool(
            definition(api.url + "/{input}"),
            f"@{honeypot.url.removeprefix('http://')}/",
            guard=LOOPBACK,
        )
    assert tested.success
    assert honeypot.connections == 0
    assert api.requests[0].path.startswith("/%40127.0.0.2")


async def test_a_redirect_to_a_forbidden_address_is_refused() -> None:
    with http_server("127.0.0.2") as honeypot:
        with http_server(redirect_to=honeypot.url + "/secret") as redirector:
            with pytest.raises(OutboundRefused):
                await http_tools.test_http_tool(
                    definition(redirector.url + "/go"), "", guard=LOOPBACK
                )
        assert len(redirector.requests) == 1
    assert honeypot.connections == 0


def tool_then_answer(request: dict[str, Any]) -> Reply:
    results = [m["content"] for m in request["messages"] if m["role"] == "tool"]
    if not results:
        return [ToolCallReply(name="lookup", arguments={"input": "blue whale"})]
    return f"Found: {results[-1]}"


async def test_agents_use_http_tools(openai_server: FakeOpenAIServer) -> None:
    openai_server.set_rule(tool_then_answer)
    with http_server() as api:
        nodes = [
            n("start-1", "start"),
            n(
                "agent-1",
                "agent",
                model="m",
                prompt="Look it up",
                httpTools=[
                    definition(
                        api.url + "/animals?name={input}",
                        headers="X-Key: k1",
                        description="Looks up an animal",
                    )
                ],
            ),
            n("end-1", "end"),
        ]
        env = {"OPENAI_API_KEY": "sk", "OPENAI_BASE_URL": openai_server.base_url}
        result, sink = await run(
            nodes, chain(*nodes), svc=services(environ=env, outbound_guard=LOOPBACK)
        )
    assert result.status == "completed", result.error
    (tool,) = openai_server.requests[0]["tools"]
    assert tool["function"]["name"] == "lookup"
    assert tool["function"]["description"] == "Looks up an animal"
    assert tool["function"]["parameters"]["required"] == ["input"]
    (request,) = api.requests
    assert request.path == "/animals?name=blue%20whale"
    assert request.headers["x-key"] == "k1"
    (answer,) = sink.of_type("tool_result")
    assert answer.data["result"]["status"] == 200
    assert answer.data["result"]["body"]["path"] == "/animals?name=blue%20whale"
    assert result.output["text"].startswith("Found: ")


async def test_an_http_tool_may_not_shadow_a_catalog_tool(openai_server: FakeOpenAIServer) -> None:
    nodes = [
        n("start-1", "start"),
        n(
            "agent-1",
            "agent",
            model="m",
            prompt="x",
            tools=["calculator"],
            httpTools=[definition("http://127.0.0.1:1/", name="calculator")],
        ),
        n("end-1", "end"),
    ]
    env = {"OPENAI_API_KEY": "sk", "OPENAI_BASE_URL": openai_server.base_url}
    result, _ = await run(nodes, chain(*nodes), svc=services(environ=env, outbound_guard=LOOPBACK))
    assert result.status == "failed"
    assert "'calculator' is already a tool" in (result.error or "")
    assert openai_server.requests == []
