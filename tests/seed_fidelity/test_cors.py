"""CORS for browser front ends on another origin (issue 12, item 2): `AGENTLOOM_CORS_ORIGINS`.

Preflights from a real HTTP client on every kind of route (`/ag-ui`, `/graphql`,
seed 003 `/api`, seed 000 `/api/v1`), answers carrying the origin (errors too, so a
page can read them), nothing for an origin not listed, and nothing at all when the
setting is empty. Then a real headless Chromium: a page on another loopback origin
drives the API without a login (local mode) and is refused when its origin is not
listed.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from tests.agui.helpers import run_input
from tests.seed_fidelity.helpers import echo_workflow
from tests.support.chromium import Browser, find_chromium
from tests.support.live import LiveServer

FRONT_END = "http://localhost:5173"
OTHER = "https://app.example.test"

ROUTES = [
    ("POST", "/ag-ui"),
    ("POST", "/ag-ui/goal"),
    ("POST", "/ag-ui/human-input"),
    ("POST", "/graphql"),
    ("GET", "/graphql"),
    ("GET", "/api/workflows"),
    ("PUT", "/api/workflows/some-id"),
    ("PATCH", "/api/workflows/some-id/publish"),
    ("DELETE", "/api/credentials/some-id"),
    ("POST", "/api/upload"),
    ("GET", "/api/v1/workflows"),
    ("POST", "/api/v1/auth/login"),
    ("GET", "/info"),
]


@pytest.fixture
def cors_server(server_factory: Callable[..., LiveServer]) -> LiveServer:
    # A trailing slash in the setting is forgiven: browsers never send one.
    return server_factory(cors_origins=f"{FRONT_END}/, {OTHER}")


def preflight(c: httpx.Client, method: str, path: str, origin: str) -> httpx.Response:
    return c.options(
        path,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": "authorization, content-type, last-event-id",
        },
    )


@pytest.mark.parametrize("origin", [FRONT_END, OTHER])
def test_preflight_is_answered_on_every_route(cors_server: LiveServer, origin: str) -> None:
    with cors_server.client() as c:
        for method, path in ROUTES:
            r = preflight(c, method, path, origin)
            assert r.status_code == 200, (method, path, r.status_code, r.text)
            assert r.headers["access-control-allow-origin"] == origin
            assert method in r.headers["access-control-allow-methods"]
            allowed = r.headers["access-control-allow-headers"].lower()
            for header in ("authorization", "content-type", "last-event-id"):
                assert header in allowed, (path, allowed)
            assert "origin" in r.headers["vary"].lower()
            assert "access-control-allow-credentials" not in r.headers


def test_answers_carry_the_origin_errors_included(cors_server: LiveServer) -> None:
    user = cors_server.register()
    with cors_server.client(user["token"]) as c:
        ok = c.get("/api/workflows", headers={"Origin": FRONT_END})
        assert ok.status_code == 200
        assert ok.headers["access-control-allow-origin"] == FRONT_END
        assert "x-request-id" in ok.headers["access-control-expose-headers"].lower()
        with c.stream(
            "POST", "/ag-ui", json=run_input(echo_workflow()), headers={"Origin": FRONT_END}
        ) as sse:
            assert sse.status_code == 200
            assert sse.headers["access-control-allow-origin"] == FRONT_END
            body = b"".join(sse.iter_bytes())
        assert b"RUN_FINISHED" in body
    with cors_server.client() as anonymous:
        denied = anonymous.get("/api/workflows", headers={"Origin": FRONT_END})
        assert denied.status_code == 401  # and the page can read why
        assert denied.headers["access-control-allow-origin"] == FRONT_END


def test_an_origin_not_listed_gets_no_cors(cors_server: LiveServer) -> None:
    with cors_server.client() as c:
        r = preflight(c, "POST", "/ag-ui", "https://evil.example")
        assert r.status_code == 400
        assert "access-control-allow-origin" not in r.headers
        plain = c.get("/info", headers={"Origin": "https://evil.example"})
        assert plain.status_code == 200
        assert "access-control-allow-origin" not in plain.headers


def test_private_network_preflight(cors_server: LiveServer) -> None:
    """Chrome asks before a page on a LAN or public address calls loopback."""
    with cors_server.client() as c:
        r = c.options(
            "/ag-ui",
            headers={
                "Origin": OTHER,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Private-Network": "true",
            },
        )
    assert r.status_code == 200
    assert r.headers["access-control-allow-private-network"] == "true"


def test_off_when_unset(server: LiveServer) -> None:
    with server.client() as c:
        r = preflight(c, "POST", "/ag-ui", FRONT_END)
        assert r.status_code == 405
        assert not [h for h in r.headers if h.startswith("access-control-")]
        plain = c.get("/info", headers={"Origin": FRONT_END})
        assert "access-control-allow-origin" not in plain.headers


# -- a real browser ------------------------------------------------------------------------

PAGE = b"<!doctype html><html><head><title>front end</title></head><body>app</body></html>"


@pytest.fixture
def page_origins() -> Iterator[tuple[str, str]]:
    """Two tiny servers on other loopback ports: the front end's origin and a stranger's."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(PAGE)))
            self.end_headers()
            self.wfile.write(PAGE)

        def log_message(self, *args: object) -> None:
            pass

    servers = [ThreadingHTTPServer(("127.0.0.1", 0), Handler) for _ in range(2)]
    for s in servers:
        threading.Thread(target=s.serve_forever, daemon=True).start()
    try:
        a, b = (f"http://127.0.0.1:{s.server_address[1]}" for s in servers)
        yield a, b
    finally:
        for s in servers:
            s.shutdown()
            s.server_close()


@pytest.fixture
def browser() -> Iterator[Browser]:
    binary = find_chromium()
    if binary is None:
        if os.environ.get("AGENTLOOM_REQUIRE_BROWSER") == "1":
            pytest.fail("AGENTLOOM_REQUIRE_BROWSER=1 but no chromium: apt-get install -y chromium")
        pytest.skip("no Chromium binary (Debian: apt-get install -y chromium)")
    started = Browser(binary)
    try:
        yield started
    finally:
        started.close()


FRONT_END_SCRIPT = """(async () => {
  const api = %(api)s;
  const json = {"Content-Type": "application/json"};
  const created = await fetch(api + "/api/workflows", {method: "POST", headers: json,
      body: JSON.stringify({name: "From the browser", workflowJson: %(workflow)s})});
  const me = await fetch(api + "/graphql", {method: "POST", headers: json,
      body: JSON.stringify({query: "{ me { username } }"})});
  const run = await fetch(api + "/ag-ui", {method: "POST",
      headers: {...json, "Accept": "text/event-stream"}, body: JSON.stringify(%(run)s)});
  return {created: created.status, workflow: await created.json(), me: await me.json(),
          run: run.status, stream: await run.text()};
})()"""


def test_a_front_end_on_another_origin_works_in_a_browser(
    server_factory: Callable[..., LiveServer],
    browser: Browser,
    page_origins: tuple[str, str],
) -> None:
    front_end, stranger = page_origins
    api = server_factory(local_user="desk_user", cors_origins=front_end)
    script = FRONT_END_SCRIPT % {
        "api": json.dumps(api.base_url),
        "workflow": json.dumps(echo_workflow()),
        "run": json.dumps(run_input(echo_workflow(), "from a page")),
    }
    with browser.page() as page:
        page.goto(front_end + "/")
        seen = page.evaluate(script, timeout=30)
    assert seen["created"] == 201 and seen["workflow"]["name"] == "From the browser"
    assert seen["me"] == {"data": {"me": {"username": "desk_user"}}}
    assert seen["run"] == 200
    events = [json.loads(line[6:]) for line in seen["stream"].split("\n") if line[:6] == "data: "]
    assert events[-1]["type"] == "RUN_FINISHED"
    assert "You said from a page" in json.dumps(events[-1]["result"])
    # The same page from an origin that is not listed: the browser refuses to send it.
    with browser.page() as page:
        page.goto(stranger + "/")
        outcome = page.evaluate(
            f"fetch({json.dumps(api.base_url)} + '/api/workflows', {{method: 'POST',"
            " headers: {'Content-Type': 'application/json'}, body: '{\"name\": \"x\"}'})"
            ".then(r => 'answered ' + r.status, e => 'refused: ' + e.message)"
        )
    assert outcome.startswith("refused"), outcome
    with api.client() as c:  # and nothing was created behind the refusal
        assert [w["name"] for w in c.get("/api/workflows").json()] == ["From the browser"]
