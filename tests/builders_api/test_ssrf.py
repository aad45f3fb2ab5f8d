"""Every user-supplied URL of the discovery, test and builder routes passes the outbound guard:
on a server without an allowlist, loopback in any spelling is refused before any connection
(a honeypot records none), and a redirect to a forbidden address is refused too."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.live import LiveServer
from tests.tools_external.servers import http_server

SPELLINGS = [
    "http://127.0.0.1:{port}/",
    "http://2130706433:{port}/",  # 127.0.0.1 in decimal
    "http://0x7f000001:{port}/",  # ... in hex
    "http://0177.0.0.1:{port}/",  # ... in octal
    "http://[::ffff:127.0.0.1]:{port}/",  # IPv4-mapped IPv6
    "http://trusted.example@127.0.0.1:{port}/",  # userinfo before the real host
    "http://localhost:{port}/",
]


def requests_for(url: str) -> list[tuple[str, dict[str, Any], str]]:
    """(path, body, the field the refusal must name) for each route taking a URL."""
    return [
        ("/api/mcp/discover", {"url": url}, "url"),
        ("/api/a2a/discover", {"url": url, "format": "google"}, "url"),
        ("/api/a2a/test", {"url": url, "message": "hi"}, "url"),
        ("/api/http-tools/test", {"name": "probe", "url": url + "{input}", "input": "x"}, "url"),
        (
            "/api/script-generator",
            {"prompt": "sum", "apiKey": "sk-user", "endpoint": url + "v1"},
            "endpoint",
        ),
        (
            "/api/flow-builder",
            {"message": "a flow", "apiKey": "sk-user", "endpoint": url + "v1"},
            "endpoint",
        ),
    ]


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_loopback_spellings_are_refused_without_a_connection(
    guarded_server: LiveServer, spelling: str
) -> None:
    user = guarded_server.register()
    with guarded_server.client(user["token"]) as c, http_server() as honeypot:
        url = spelling.format(port=honeypot.url.rsplit(":", 1)[1])
        for path, body, field in requests_for(url):
            r = c.post(path, json=body)
            assert r.status_code == 422, (path, r.text)
            answer = r.json()
            assert answer["code"] == "OUTBOUND_REFUSED", (path, answer)
            assert answer["message"].startswith(field), (path, answer)
        assert honeypot.connections == 0 and honeypot.requests == []


def test_a_redirect_to_a_forbidden_address_is_refused(loopback_server: LiveServer) -> None:
    """Allowed: 127.0.0.1 only. The redirector is there; it points at 127.0.0.2."""
    user = loopback_server.register()
    with (
        loopback_server.client(user["token"]) as c,
        http_server("127.0.0.2") as honeypot,
        http_server(redirect_to=honeypot.url + "/secret") as redirector,
    ):
        tool = c.post("/api/http-tools/test", json={"name": "go", "url": redirector.url + "/go"})
        card = c.post("/api/a2a/discover", json={"url": redirector.url + "/card.json"})
        mcp = c.post("/api/mcp/discover", json={"url": redirector.url + "/mcp"})
        assert len(redirector.requests) >= 3
    assert tool.status_code == 422 and tool.json()["code"] == "OUTBOUND_REFUSED"
    # The A2A card's redirect is followed through the guard, which refuses it; the MCP SDK
    # follows no redirect, so that server is just unhealthy.
    assert card.status_code == 422 and card.json()["code"] == "OUTBOUND_REFUSED", card.text
    assert "127.0.0.2" in card.json()["message"]
    assert mcp.status_code == 200 and mcp.json()["healthy"] is False, mcp.text
    assert honeypot.connections == 0 and honeypot.requests == []
