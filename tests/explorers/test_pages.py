"""The explorer pages over HTTP: only local URLs, assets served, the start-up log."""

from __future__ import annotations

import gzip
import os
import re
import selectors
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
from starlette.requests import Request

from explorers.assets import ASSETS, Asset, missing
from explorers.pages import graphiql_page
from tests.support.live import LiveServer, free_port

PAGES = ("/", "/graphql", "/docs", "/redoc")


class References(HTMLParser):
    """Every URL an HTML page makes the browser load or offers as a link."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("src", "href", "spec-url", "action", "poster", "data") and value:
                self.urls.append((tag, value))


def references(html: str) -> list[tuple[str, str]]:
    parser = References()
    parser.feed(html)
    return parser.urls


def page(server: LiveServer, path: str) -> str:
    with server.client() as c:
        r = c.get(path, headers={"Accept": "text/html"})
    assert r.status_code == 200, (path, r.status_code, r.text[:300])
    assert r.headers["content-type"].startswith("text/html")
    policy = r.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "connect-src 'self'" in policy, path
    return r.text


@pytest.mark.parametrize("path", PAGES)
def test_pages_reference_only_this_server(server: LiveServer, path: str) -> None:
    html = page(server, path)
    found = references(html)
    assert found, f"{path} references nothing: the parser saw no script/link"
    origin = urlsplit(server.base_url)
    for tag, url in found:
        parts = urlsplit(urljoin(server.base_url + path, url))
        assert (parts.scheme, parts.netloc) == (origin.scheme, origin.netloc), (path, tag, url)
    # Inline script and text too: no absolute URL to anywhere (a CDN, fonts, a validator).
    assert not re.findall(r"(?:https?:)?//[\w.-]+\.[a-z]{2,}", html), path
    # Everything loaded by the page is served by us (links to other pages are checked there).
    with server.client() as c:
        for tag, url in found:
            if tag in ("script", "link"):
                r = c.get(urljoin(server.base_url + path, url))
                assert r.status_code == 200, (path, url, r.status_code)


def test_pages_load_scripts_and_styles(server: LiveServer) -> None:
    loaded = {
        path: {url for tag, url in references(page(server, path)) if tag in ("script", "link")}
        for path in PAGES
    }
    assert {
        "/static/graphiql/graphiql.min.js",
        "/static/graphiql/graphiql.min.css",
        "/static/graphiql/react.production.min.js",
        "/static/graphiql/react-dom.production.min.js",
        "/static/agentloom/graphiql.js",
    } <= loaded["/graphql"]
    assert {"/static/swagger-ui/swagger-ui-bundle.js", "/static/swagger-ui/swagger-ui.css"} <= (
        loaded["/docs"]
    )
    assert "/static/redoc/redoc.standalone.js" in loaded["/redoc"]
    # Our GraphiQL start-up script uses no outside URL either.
    with server.client() as c:
        script = c.get("/static/agentloom/graphiql.js").text
        # ReDoc's hard-coded logo from its CDN is replaced when served.
        redoc = c.get("/static/redoc/redoc.standalone.js").text
    assert "cdn.redoc.ly" not in redoc and "Redoc" in redoc
    assert "createFetcher" in script and "subscriptionUrl" in script
    assert not re.findall(r"https?://", script)


def test_home_page_links_the_explorers_and_surfaces(server: LiveServer) -> None:
    html = page(server, "/")
    links = {url for tag, url in references(html) if tag == "a"}
    assert {"/graphql", "/docs", "/redoc", "/openapi.json"} <= links
    for surface in ("/api/v1", "/api/v1/ws/executions/{id}", "/ag-ui", "/info", "X-Api-Key"):
        assert surface in html, surface
    with server.client() as c:
        assert c.get("/openapi.json").json()["openapi"].startswith("3.")


def test_graphql_for_programs_is_still_graphql(server: LiveServer) -> None:
    # Only a browser's GET gets the page; a GET with a query is executed.
    with server.client() as c:
        r = c.get("/graphql", params={"query": "{ __typename }"})
    assert r.status_code == 200 and r.json() == {"data": {"__typename": "Query"}}


def test_assets_revalidate_and_compress(server: LiveServer) -> None:
    asset = ASSETS["graphiql/graphiql.min.js"]
    raw = asset.file.read_bytes()
    with server.client() as c:
        plain = c.get(asset.url, headers={"Accept-Encoding": "identity"})
        assert plain.status_code == 200 and plain.content == raw
        assert plain.headers["content-type"].startswith("text/javascript")
        assert "content-encoding" not in plain.headers
        packed = c.get(asset.url, headers={"Accept-Encoding": "gzip, br"})
        assert packed.headers["content-encoding"] == "gzip"
        # httpx inflates for us; the wire size is what gzip bought.
        assert packed.content == raw
        assert len(gzip.compress(raw)) < len(raw) / 3
        assert plain.headers["cache-control"] == "no-cache"
        again = c.get(asset.url, headers={"If-None-Match": plain.headers["etag"]})
        assert again.status_code == 304 and again.content == b""
        assert c.get("/static/graphiql/package.json").status_code == 404
        assert c.get("/static/../pyproject.toml").status_code == 404
        assert c.get("/static/%2e%2e/pyproject.toml").status_code == 404


def test_graphiql_page_says_how_to_install_when_files_are_missing(tmp_path: Path) -> None:
    absent = {"graphiql/graphiql.min.js": Asset(url="/x.js", file=tmp_path / "graphiql.min.js")}
    assert missing(absent) == [tmp_path / "graphiql.min.js"]
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/graphql",
        "root_path": "",
        "headers": [],
        "query_string": b"",
    }
    response = graphiql_page(Request(scope), absent)
    body = bytes(response.body).decode()
    assert response.status_code == 503
    assert "make install" in body and "npm ci" in body and str(tmp_path) in body
    assert "<script" not in body


def test_paths_follow_the_root_path_of_a_proxy() -> None:
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/graphql",
        "root_path": "/agentloom",
        "headers": [],
        "query_string": b"",
    }
    body = bytes(graphiql_page(Request(scope)).body).decode()
    urls = [url for _, url in references(body)]
    assert urls and all(url.startswith("/agentloom/") for url in urls), urls
    assert 'data-endpoint="/agentloom/graphql"' in body


def test_serve_logs_the_explorer_urls(mongo_uri: str, tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "AGENTLOOM_MONGODB_URI": mongo_uri, "AGENTLOOM_DATABASE": "t_log"}
    agentloom = Path(sys.executable).with_name("agentloom")
    process = subprocess.Popen(
        [str(agentloom), "serve", "--port", str(port), "--data-dir", str(tmp_path)],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        env=env,
        text=True,
    )
    lines: list[str] = []
    try:
        assert process.stderr is not None
        with selectors.DefaultSelector() as selector:
            selector.register(process.stderr, selectors.EVENT_READ)
            deadline = time.monotonic() + 40
            while not any("Application startup complete" in line for line in lines):
                assert time.monotonic() < deadline, lines
                if selector.select(timeout=1):
                    line = process.stderr.readline()
                    assert line, f"agentloom serve exited: {lines}"
                    lines.append(line)
    finally:
        process.terminate()
        process.wait(timeout=20)
    base = f"http://127.0.0.1:{port}"
    logged = "".join(lines)
    for label, url in (
        ("Home", f"{base}/"),
        ("GraphiQL", f"{base}/graphql"),
        ("Swagger UI", f"{base}/docs"),
        ("ReDoc", f"{base}/redoc"),
        ("OpenAPI", f"{base}/openapi.json"),
    ):
        assert re.search(rf"INFO agentloom {re.escape(label)} +{re.escape(url)}\n", logged), label
    assert "not installed" not in logged
