"""The explorers in a real headless Chromium that can reach nothing but this machine.

Each page must render from the server's own files (a CDN reference would fail to load
and leave the page empty), make no request elsewhere, and throw nothing. GraphiQL runs
a query with the Headers pane and a subscription over its WebSocket; Swagger UI's
Authorize puts the token on a "Try it out" request.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from typing import Any

import pytest

from rest_compat.openapi import is_public
from tests.support.chromium import Browser, Page, find_chromium
from tests.support.live import LiveServer

REQUIRED = os.environ.get("AGENTLOOM_REQUIRE_BROWSER") == "1"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    binary = find_chromium()
    if binary is None:
        if REQUIRED:
            pytest.fail("AGENTLOOM_REQUIRE_BROWSER=1 but no chromium: apt-get install -y chromium")
        pytest.skip("no Chromium binary (Debian: apt-get install -y chromium)")
    started = Browser(binary)
    try:
        yield started
    finally:
        started.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    with browser.page() as tab:
        yield tab


def operation_keys(server: LiveServer) -> list[tuple[str, str]]:
    with server.client() as c:
        paths = c.get("/openapi.json").json()["paths"]
    return [(method, path) for path, item in paths.items() for method in item]


# An operation with two tags is shown under both: count distinct method + path.
SWAGGER_OPERATIONS = (
    "new Set([...document.querySelectorAll('.opblock{which}')].map(b =>"
    " b.querySelector('.opblock-summary-method').textContent + ' '"
    " + b.querySelector('.opblock-summary-path').dataset.path)).size"
)


def assert_offline_and_clean(page: Page, server: LiveServer) -> None:
    assert page.off_origin(server.base_url) == [], "requests left the server"
    assert page.errors == [], "the page reported errors"


def test_the_browser_cannot_reach_anything_else(page: Page, server: LiveServer) -> None:
    # The control for the tests below: were the network open, a CDN page would pass too.
    page.goto(server.base_url + "/")
    outcome = page.evaluate(
        "Promise.all(['http://example.com/', 'https://cdn.jsdelivr.net/npm/graphiql',"
        " 'https://93.184.215.14/'].map(u => fetch(u, {mode: 'no-cors'})"
        ".then(() => 'reached', () => 'blocked')))"
    )
    assert outcome == ["blocked", "blocked", "blocked"]
    assert page.evaluate("fetch('/openapi.json').then(r => r.status)") == 200


@pytest.mark.parametrize("path", ["/graphql", "/docs", "/redoc"])
def test_the_pages_refuse_other_origins(page: Page, server: LiveServer, path: str) -> None:
    # Our Content-Security-Policy, enforced by the browser: even were the network open, a
    # vendor file that started loading from a CDN would be blocked, and reported.
    page.goto(server.base_url + path)
    violation = page.evaluate(
        """new Promise(resolve => {
          document.addEventListener('securitypolicyviolation',
            e => resolve(e.blockedURI + ' ' + e.effectiveDirective), {once: true});
          new Image().src = 'https://cdn.example.com/logo.svg';
        })"""
    )
    assert violation == "https://cdn.example.com/logo.svg img-src"
    # Refused before it was sent (the DevTools log still lists the attempt).
    page.browser.pump_until(lambda: bool(page.blocked), 10, "the blocked request's record")
    assert page.blocked == {"https://cdn.example.com/logo.svg": "csp"}


def test_home_page_renders_its_links(page: Page, server: LiveServer) -> None:
    page.goto(server.base_url + "/")
    links = page.evaluate("[...document.querySelectorAll('a')].map(a => a.href)")
    for path in ("/graphql", "/docs", "/redoc", "/openapi.json"):
        assert server.base_url + path in links
    page.follow("a[href='/redoc']")
    assert page.evaluate("location.pathname") == "/redoc"


GRAPHIQL_READY = (
    "document.querySelector('.graphiql-container .graphiql-query-editor .CodeMirror')"
    # The re-fetch button stays disabled until the introspection query has answered.
    " && !document.querySelector('[aria-label=\"Re-fetch GraphQL schema\"]').disabled"
)
HEADERS_EDITOR = (
    "[...document.querySelectorAll('.graphiql-editor:not(.hidden) > .CodeMirror')]"
    ".filter(e => !e.closest('.graphiql-query-editor'))[0].CodeMirror"
)
QUERY_EDITOR = "document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror"
RESPONSE = "document.querySelector('.result-window .CodeMirror').CodeMirror.getValue()"


def run_in_graphiql(page: Page, name: str, query: str, headers: dict[str, str]) -> None:
    """Fill the editors as a user's paste would, then press the run button."""
    page.evaluate(f"{HEADERS_EDITOR}.setValue({json.dumps(json.dumps(headers))})")
    page.evaluate(f"{QUERY_EDITOR}.setValue({json.dumps(query)})")
    # GraphiQL parses the document after a debounce; the run button sends the operation
    # name it found, so a click before that would name the previous document's operation.
    page.wait_for(f"{QUERY_EDITOR}.operationName === {json.dumps(name)}", what="parsing")
    page.click(".graphiql-execute-button")


def test_graphiql_renders_and_queries_with_the_headers_pane(page: Page, server: LiveServer) -> None:
    user = server.register()
    started = time.monotonic()
    page.goto(server.base_url + "/graphql")
    page.wait_for(GRAPHIQL_READY, what="GraphiQL's editor and the schema")
    rendered_s = time.monotonic() - started
    # The Headers pane is open: that is where the token goes.
    assert page.evaluate(
        "document.querySelector('.graphiql-editor-tools button.active').dataset.name"
    ) == ("headers")
    assert "Authorization" in page.evaluate(f"{QUERY_EDITOR}.getValue()")
    run_in_graphiql(
        page,
        "Whoami",
        "query Whoami { me { username } }",
        {"Authorization": f"Bearer {user['token']}"},
    )
    answer = page.wait_for(f"{RESPONSE}.includes('username') && {RESPONSE}", what="the answer")
    assert json.loads(answer) == {"data": {"me": {"username": user["username"]}}}
    sent = page.headers[server.base_url + "/graphql"]
    assert any(h.get("Authorization") == f"Bearer {user['token']}" for h in sent), sent
    assert_offline_and_clean(page, server)
    assert rendered_s < 10, rendered_s


def start_run(server: LiveServer, token: str) -> str:
    graph: dict[str, Any] = {
        "name": "explorer run",
        "nodes": [
            {"id": "start-1", "type": "start", "data": {}},
            {"id": "t-1", "type": "transform", "data": {"mapping": {"n": "{input.n}"}}},
            {"id": "end-1", "type": "end", "data": {}},
        ],
        "edges": [
            {"id": "e1", "source": "start-1", "target": "t-1"},
            {"id": "e2", "source": "t-1", "target": "end-1"},
        ],
    }
    with server.client(token) as c:
        created = c.post("/api/v1/workflows", json=graph)
        assert created.status_code == 201, created.text
        run = c.post(
            f"/api/v1/workflows/{created.json()['id']}/execute", json={"input_data": {"n": 7}}
        )
        assert run.status_code == 201, run.text
        return str(run.json()["id"])


def test_graphiql_runs_a_subscription_over_websocket(page: Page, server: LiveServer) -> None:
    user = server.register()
    execution = start_run(server, user["token"])
    page.goto(server.base_url + "/graphql")
    page.wait_for(GRAPHIQL_READY, what="GraphiQL's editor and the schema")
    config = page.evaluate("window.agentloomGraphiQL")
    assert config["url"] == server.base_url + "/graphql"
    assert config["subscriptionUrl"] == server.ws_url + "/graphql"
    run_in_graphiql(
        page,
        "RunEvents",
        f'subscription RunEvents {{ executionEvents(executionId: "{execution}", afterSeq: 0) '
        "{ seq type nodeId } }",
        {"Authorization": f"Bearer {user['token']}"},
    )
    # The subscription replays the run's log and completes after the terminal event,
    # which GraphiQL shows last.
    # (The event type is a string or an enum value, by schema version: either case.)
    last = page.wait_for(
        f"{RESPONSE}.toLowerCase().includes('run_finished') && {RESPONSE}", what="run_finished"
    )
    event = json.loads(last)["data"]["executionEvents"]
    assert event["type"].lower() == "run_finished" and event["seq"] > 1
    assert server.ws_url + "/graphql" in page.requests, "no WebSocket was opened"
    # No HTTP request carried the subscription: it went over the socket.
    assert_offline_and_clean(page, server)


def test_swagger_ui_authorize_puts_the_token_on_requests(page: Page, server: LiveServer) -> None:
    user = server.register()
    keys = operation_keys(server)
    operations = len(keys)
    page.goto(server.base_url + "/docs")
    page.wait_for(
        f"{SWAGGER_OPERATIONS.format(which='')} === {operations}"
        " && document.querySelector('.btn.authorize')",
        what=f"{operations} operations and the Authorize button",
    )
    # A lock on every operation that needs credentials, none on the public ones.
    locked = page.evaluate(SWAGGER_OPERATIONS.format(which=":has(.authorization__btn)"))
    assert locked == sum(1 for method, path in keys if not is_public(method, path))

    page.click(".btn.authorize")
    page.wait_for("document.querySelector('#auth-bearer-value')", what="the Authorize dialog")
    page.type_into("#auth-bearer-value", user["token"])
    page.click(".auth-container button.authorize")
    page.wait_for(
        "document.querySelector('.auth-container [aria-label=\"Remove authorization\"]')",
        what="the authorized state",
    )
    page.click(".close-modal")

    me = (
        "[...document.querySelectorAll('.opblock-get')].find(b =>"
        " b.querySelector('.opblock-summary-path').dataset.path === '/api/v1/auth/me')"
    )
    page.evaluate(f"{me}.querySelector('.opblock-summary-control').click()")
    page.wait_for(f"{me}.querySelector('.try-out__btn')", what="Try it out")
    page.evaluate(f"{me}.querySelector('.try-out__btn').click()")
    page.wait_for(f"{me}.querySelector('.btn.execute')", what="Execute")
    page.evaluate(f"{me}.querySelector('.btn.execute').click()")
    status = page.wait_for(
        f"{me}.querySelector('.live-responses-table tr.response .response-col_status')"
        "?.textContent.trim()",
        what="the live response",
    )
    assert status == "200"
    body = page.evaluate(f"{me}.querySelector('.live-responses-table .microlight').textContent")
    assert json.loads(body)["username"] == user["username"]
    sent = page.headers[server.base_url + "/api/v1/auth/me"]
    assert [h.get("Authorization") for h in sent] == [f"Bearer {user['token']}"]
    assert_offline_and_clean(page, server)


def test_redoc_lists_every_operation(page: Page, server: LiveServer) -> None:
    operations = len(operation_keys(server))
    page.goto(server.base_url + "/redoc")
    page.wait_for(
        "new Set([...document.querySelectorAll('[id^=\"operation/\"]')].map(e => e.id)).size"
        f" === {operations}",
        what=f"{operations} operations",
    )
    titles = page.evaluate("[...document.querySelectorAll('h2')].map(h => h.textContent.trim())")
    assert "Login" in titles and "Execute Workflow" in " ".join(titles)
    # The security schemes are documented on the page too.
    assert page.evaluate("document.body.textContent.includes('X-Api-Key')")
    assert_offline_and_clean(page, server)
