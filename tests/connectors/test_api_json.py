"""The `api` type against a real loopback HTTP server, and the `json` type."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from engine.errors import OutboundRefused, UpstreamFailed, ValidationFailed
from engine.outbound import OutboundGuard
from storage.connectors import mask_config, run_query, split_secrets, test_connection

from .conftest import Honeypot

pytestmark = pytest.mark.anyio

USERS = [{"id": i, "name": f"user{i}", "active": i % 2} for i in range(1, 8)]


class _Handler(BaseHTTPRequestHandler):
    seen: list[dict[str, Any]]

    def do_GET(self) -> None:
        self.seen.append({"path": self.path, "headers": dict(self.headers), "method": "GET"})
        if self.path.startswith("/users"):
            body: Any = USERS
            if "active=1" in self.path:
                body = [u for u in USERS if u["active"]]
            self._json(body)
        elif self.path == "/wrapped":
            self._json({"data": {"items": USERS[:2]}, "total": 2})
        elif self.path == "/one":
            self._json({"id": 1})
        elif self.path == "/redirect-out":
            self.send_response(302)
            self.send_header("Location", "http://127.0.0.2:1/steal")
            self.end_headers()
        elif self.path == "/redirect-in":
            self.send_response(302)
            self.send_header("Location", "/one")
            self.end_headers()
        elif self.path == "/html":
            self._send(200, b"<html></html>", "text/html")
        else:
            self._send(404, b"{}", "application/json")

    def do_POST(self) -> None:  # only here to record that it never happens
        self.seen.append({"path": self.path, "method": "POST"})
        self._send(405, b"{}", "application/json")

    def _json(self, body: Any) -> None:
        self._send(200, json.dumps(body).encode(), "application/json")

    def _send(self, status: int, body: bytes, kind: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def http_server() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    seen: list[dict[str, Any]] = []
    handler = type("Handler", (_Handler,), {"seen": seen})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()
        thread.join(2)


async def test_api_get_rows_with_bearer(http_server: Any, loopback_guard: OutboundGuard) -> None:
    base, seen = http_server
    config = {
        "base_url": base + "/",
        "auth": {"type": "bearer", "token": "tok-123456"},
        "headers": {"X-Trace": "t1", "X-Api-Key": "k-abcdef"},
    }
    result = await run_query("api", config, "/users?active=1", guard=loopback_guard)
    assert [r["id"] for r in result.data] == [1, 3, 5, 7]
    assert result.count == 4 and not result.truncated
    request = seen[-1]
    assert request["method"] == "GET"
    assert request["path"] == "/users?active=1"
    assert request["headers"]["Authorization"] == "Bearer tok-123456"
    assert request["headers"]["X-Api-Key"] == "k-abcdef"
    assert request["headers"]["X-Trace"] == "t1"
    masked = mask_config("api", config)
    assert masked["auth"]["token"] == "********"
    assert masked["headers"] == {"X-Trace": "t1", "X-Api-Key": "********"}
    assert "tok-123456" not in json.dumps(masked) and "k-abcdef" not in json.dumps(masked)
    assert config["auth"]["token"] == "tok-123456"  # masking copies


async def test_api_basic_and_api_key_auth(http_server: Any, loopback_guard: OutboundGuard) -> None:
    base, seen = http_server
    basic = {"base_url": base, "auth": {"type": "basic", "username": "u", "password": "p-secret"}}
    await run_query("api", basic, "/one", guard=loopback_guard)
    expected = "Basic " + base64.b64encode(b"u:p-secret").decode()
    assert seen[-1]["headers"]["Authorization"] == expected
    assert mask_config("api", basic)["auth"] == {
        "type": "basic",
        "username": "u",
        "password": "********",
    }
    key = {"base_url": base, "auth": {"type": "api_key", "header": "X-Key", "key": "kk-999"}}
    result = await run_query("api", key, "/one", guard=loopback_guard)
    assert result.data == [{"id": 1}]
    assert seen[-1]["headers"]["X-Key"] == "kk-999"
    assert mask_config("api", key)["auth"]["key"] == "********"


async def test_api_header_secrets_are_masked_by_name() -> None:
    config = {
        "base_url": "https://api.example.com",
        "headers": {
            "Authorization": "Bearer a",
            "X-Api-Key": "b",
            "X-Auth-Token": "c",
            "Client-Secret": "d",
            "Accept": "application/json",
        },
    }
    masked = mask_config("api", config)["headers"]
    assert masked == {
        "Authorization": "********",
        "X-Api-Key": "********",
        "X-Auth-Token": "********",
        "Client-Secret": "********",
        "Accept": "application/json",
    }
    public, secrets = split_secrets("api", config)
    assert public["headers"] == {"Accept": "application/json"}
    assert secrets["headers.Authorization"] == "Bearer a"


async def test_api_records_path_row_cap_and_object(
    http_server: Any, loopback_guard: OutboundGuard
) -> None:
    base, _ = http_server
    wrapped = await run_query(
        "api", {"base_url": base, "records_path": "data.items"}, "/wrapped", guard=loopback_guard
    )
    assert [r["id"] for r in wrapped.data] == [1, 2]
    capped = await run_query("api", {"base_url": base}, "/users", guard=loopback_guard, row_cap=3)
    assert capped.count == 3 and capped.truncated
    one = await run_query("api", {"base_url": base}, "/one", guard=loopback_guard)
    assert one.data == [{"id": 1}] and not one.truncated


async def test_api_redirects_stay_on_origin(
    http_server: Any, loopback_guard: OutboundGuard
) -> None:
    base, _ = http_server
    inside = await run_query("api", {"base_url": base}, "/redirect-in", guard=loopback_guard)
    assert inside.data == [{"id": 1}]
    with pytest.raises(UpstreamFailed, match="another host"):
        await run_query("api", {"base_url": base}, "/redirect-out", guard=loopback_guard)


async def test_api_errors(http_server: Any, loopback_guard: OutboundGuard) -> None:
    base, seen = http_server
    with pytest.raises(UpstreamFailed, match="404"):
        await run_query("api", {"base_url": base}, "/missing", guard=loopback_guard)
    with pytest.raises(UpstreamFailed, match="JSON"):
        await run_query("api", {"base_url": base}, "/html", guard=loopback_guard)
    for query in ("http://evil.example/x", "@evil.example/x", "users"):
        with pytest.raises(ValidationFailed) as info:
            await run_query("api", {"base_url": base}, query, guard=loopback_guard)
        assert info.value.field == "query"
    assert all(r["method"] == "GET" for r in seen)


async def test_api_test_connection(http_server: Any, loopback_guard: OutboundGuard) -> None:
    base, _ = http_server
    check = await test_connection("api", {"base_url": base + "/one"}, guard=loopback_guard)
    assert check.ok and "200" in check.message
    bad = await test_connection("api", {"base_url": base + "/nope"}, guard=loopback_guard)
    assert not bad.ok and "404" in bad.message


async def test_api_guard_refuses_loopback(honeypot: Honeypot) -> None:
    config = {"base_url": f"http://127.0.0.1:{honeypot.port}", "auth": {"type": "none"}}
    with pytest.raises(OutboundRefused):
        await run_query("api", config, "/x", guard=OutboundGuard())
    with pytest.raises(OutboundRefused):
        await test_connection("api", config, guard=OutboundGuard())
    assert honeypot.connections == []


DOC = {"people": [{"name": "ada", "age": 36}, {"name": "alan", "age": 41}], "meta": {"v": 1}}


async def test_json_inline_with_jmespath(loopback_guard: OutboundGuard) -> None:
    config = {"data": DOC}
    result = await run_query("json", config, "people[?age > `40`]", guard=loopback_guard)
    assert result.data == [{"name": "alan", "age": 41}]
    names = await run_query("json", config, "people[].name", guard=loopback_guard)
    assert names.data == [{"value": "ada"}, {"value": "alan"}]
    whole = await run_query("json", {"data": json.dumps(DOC)}, "", guard=loopback_guard)
    assert whole.data == [DOC]
    capped = await run_query("json", config, "people", guard=loopback_guard, row_cap=1)
    assert capped.count == 1 and capped.truncated
    with pytest.raises(ValidationFailed) as info:
        await run_query("json", config, "people[?", guard=loopback_guard)
    assert info.value.field == "query"


async def test_json_file_loader(loopback_guard: OutboundGuard) -> None:
    asked: list[str] = []

    async def loader(file_id: str) -> bytes:
        asked.append(file_id)
        return json.dumps(DOC["people"]).encode()

    config = {"file_id": "f-1"}
    result = await run_query("json", config, "[].age", guard=loopback_guard, file_loader=loader)
    assert result.data == [{"value": 36}, {"value": 41}]
    assert asked == ["f-1"]
    check = await test_connection("json", config, guard=loopback_guard, file_loader=loader)
    assert check.ok
    with pytest.raises(ValidationFailed):
        await run_query("json", config, "[]", guard=loopback_guard)  # no loader


async def test_api_template_values_are_percent_encoded(
    http_server: tuple[str, list[dict[str, Any]]], loopback_guard: OutboundGuard
) -> None:
    base, seen = http_server
    result = await run_query(
        "api",
        {"base_url": base},
        "/users?name={input.q}",
        guard=loopback_guard,
        params={"input.q": "x&active=1#/../one"},
    )
    # The value stayed one query value: no extra parameter, no fragment, no new path.
    assert seen[-1]["path"] == "/users?name=x%26active%3D1%23%2F..%2Fone"
    assert result.count == len(USERS)


async def test_json_template_values_are_literals(loopback_guard: OutboundGuard) -> None:
    config = {"data": [{"name": "ada", "age": 36}, {"name": "grace", "age": 85}]}
    result = await run_query(
        "json",
        config,
        "[?age > {input.min}].name",
        guard=loopback_guard,
        params={"input.min": 40},
    )
    assert result.data == [{"value": "grace"}]
    result = await run_query(
        "json",
        config,
        "[?name == {input.n}].age",
        guard=loopback_guard,
        params={"input.n": "ada` || `true"},
    )
    assert result.data == []
