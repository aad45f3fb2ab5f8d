"""The console over HTTP: the page, its policy, its files, and its GraphQL documents
checked against the schema (the console is a client of the schema like any other)."""

from __future__ import annotations

import re
from pathlib import Path

import graphql
from starlette.requests import Request

from console import ASSETS, CONTENT_SECURITY_POLICY, STATIC, console_page
from tests.explorers.test_pages import references
from tests.support.live import LiveServer

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = sorted((STATIC / "js").glob("*.js"))
IMPORT = re.compile(r"""^import\s[^;]*?from\s+"(\./[\w-]+\.js)";""", re.M | re.S)
DOCUMENT = re.compile(r"`\s*((?:query|mutation|subscription) Console\w+.*?)`", re.S)
CONSTANT = re.compile(r"const (\w+) = `(.*?)`;", re.S)


def get_page(server: LiveServer) -> tuple[str, dict[str, str]]:
    with server.client() as c:
        r = c.get("/console")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    return r.text, dict(r.headers)


def test_the_page_allows_only_this_server_and_no_inline_code(server: LiveServer) -> None:
    html, headers = get_page(server)
    policy = headers["content-security-policy"]
    assert policy == CONTENT_SECURITY_POLICY
    assert "'unsafe-inline'" not in policy and "'unsafe-eval'" not in policy
    assert "script-src 'self'" in policy and "connect-src 'self'" in policy
    # Nothing the policy would refuse is in the page itself.
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "an inline script"
    assert " style=" not in html and "<style" not in html
    assert 'data-graphql="/graphql"' in html


def test_everything_the_page_loads_is_served_here(server: LiveServer) -> None:
    html, _ = get_page(server)
    loaded = [url for tag, url in references(html) if tag in ("script", "link")]
    assert "/console/static/js/app.js" in loaded and "/console/static/console.css" in loaded
    # The modules app.js imports, and theirs, all the way down.
    wanted = {"js/app.js"}
    seen: set[str] = set()
    while wanted:
        name = wanted.pop()
        seen.add(name)
        for relative in IMPORT.findall((STATIC / name).read_text()):
            target = "js/" + relative.removeprefix("./")
            assert target in ASSETS, f"{name} imports {relative}, which is not served"
            if target not in seen:
                wanted.add(target)
    assert {f"js/{p.name}" for p in SCRIPTS} == seen, "a module nothing imports"
    with server.client() as c:
        for url in loaded + [f"/console/static/{name}" for name in sorted(seen)]:
            r = c.get(url)
            assert r.status_code == 200, url
            assert r.headers["cache-control"] == "no-cache" and r.headers["etag"], url
            if url.endswith(".js"):
                # Browsers refuse an ES module served as anything but JavaScript.
                assert r.headers["content-type"].startswith("text/javascript"), url
        assert c.get("/console/static/index.html").status_code == 404
        assert c.get("/console/static/js/missing.js").status_code == 404
        assert c.get("/console/static/../__init__.py").status_code == 404
        assert c.get("/console/static/%2e%2e/__init__.py").status_code == 404
        packed = c.get("/console/static/js/run.js", headers={"Accept-Encoding": "gzip"})
        assert packed.headers["content-encoding"] == "gzip"


def test_the_code_names_no_other_host() -> None:
    for file in STATIC.rglob("*"):
        if file.is_file():
            text = file.read_text()
            hosts = set(re.findall(r"\b(?:https?|wss?)://[^\s\"'`)]+", text))
            # The SVG namespace is a name, never fetched.
            assert hosts <= {"http://www.w3.org/2000/svg"}, (file, hosts)
            assert ".innerHTML" not in text, f"{file}: text goes in as textContent"


def test_every_graphql_document_of_the_console_is_valid_against_the_schema() -> None:
    schema = graphql.build_schema((ROOT / "schema.graphql").read_text())
    documents: list[str] = []
    for file in SCRIPTS:
        source = file.read_text()
        constants = dict(CONSTANT.findall(source))
        for document in DOCUMENT.findall(source):
            documents.append(re.sub(r"\$\{(\w+)\}", lambda m, c=constants: c[m.group(1)], document))
    names = {re.match(r"\w+ (\w+)", d).group(1) for d in documents}  # type: ignore[union-attr]
    assert {"ConsoleLogin", "ConsoleWorkflows", "ConsoleExecute", "ConsoleRunEvents"} <= names
    assert {"ConsoleRunUpdated", "ConsoleAnswer", "ConsoleCancel", "ConsoleRetry"} <= names
    for document in documents:
        errors = graphql.validate(schema, graphql.parse(document))
        assert errors == [], (document, errors)


def test_paths_follow_the_root_path_of_a_proxy() -> None:
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/console",
        "root_path": "/agentloom",
        "headers": [],
        "query_string": b"",
    }
    body = bytes(console_page(Request(scope)).body).decode()
    urls = [url for tag, url in references(body) if tag in ("script", "link")]
    assert urls and all(url.startswith("/agentloom/") for url in urls), urls
    assert 'data-graphql="/agentloom/graphql"' in body


def test_the_home_page_links_the_console(server: LiveServer) -> None:
    with server.client() as c:
        html = c.get("/").text
    assert "/console" in {url for tag, url in references(html) if tag == "a"}
