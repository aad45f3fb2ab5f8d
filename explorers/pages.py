"""The HTML pages: the home page, GraphiQL, Swagger UI and ReDoc, all on local assets.

Every URL a page references is a path on this server, prefixed with the ASGI
`root_path` so the pages also work behind a reverse proxy that mounts the app
under a prefix.
"""

from __future__ import annotations

from html import escape

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from starlette.requests import Request
from starlette.responses import HTMLResponse

from explorers.assets import ASSETS, GRAPHIQL, Asset, missing

GRAPHQL_PATH = "/graphql"
EXPLORERS: tuple[tuple[str, str, str], ...] = (
    ("Console", "/console", "sign in, see a workflow's graph, run it and watch it live"),
    ("GraphiQL", GRAPHQL_PATH, "GraphQL IDE: queries, mutations, subscriptions over WebSocket"),
    ("Swagger UI", "/docs", "the REST dialects, with Authorize (Bearer token or X-Api-Key)"),
    ("ReDoc", "/redoc", "the REST dialects as reference documentation"),
    ("OpenAPI", "/openapi.json", "the OpenAPI 3.1 document of the REST dialects"),
)
SURFACES: tuple[tuple[str, str], ...] = (
    (
        "GraphQL <code>/graphql</code>",
        "POST (queries, mutations), GET (queries), WebSocket (<code>graphql-transport-ws</code>"
        " and the legacy <code>graphql-ws</code>), GraphQL over SSE, multipart subscriptions."
        " Errors carry <code>extensions.code</code>.",
    ),
    (
        "Seed 000 REST <code>/api/v1</code>",
        "auth, workflows, executions, execution logs, data sources; the WebSocket"
        " <code>/api/v1/ws/executions/{id}?token=</code>. Errors"
        ' <code>{"detail", "error_code", "status_code"}</code>.',
    ),
    (
        "Seed 003 REST <code>/api</code>",
        "workflows, templates, tools, skills, keys, credentials, upload, traces, and"
        ' <code>GET /info</code>. Errors <code>{"code", "message"}</code>.',
    ),
    (
        "AG-UI SSE",
        "<code>POST /ag-ui</code> (a workflow), <code>POST /ag-ui/goal</code> (a ReAct agent),"
        " <code>POST /ag-ui/human-input</code>.",
    ),
    (
        "Authentication",
        "<code>Authorization: Bearer &lt;JWT or acl_ API key&gt;</code> or"
        " <code>X-Api-Key</code>; GraphQL WebSockets take"
        ' <code>{"Authorization": "Bearer ..."}</code> in the <code>connection_init</code>'
        " payload; the seed WebSocket takes <code>?token=</code>.",
    ),
)


# The browser itself refuses anything but this server: a vendor file that starts loading
# from a CDN after an upgrade is blocked (and reported) rather than quietly used.
# Inline script and style: FastAPI's Swagger page and the libraries' own styles use them.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self' 'unsafe-inline'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "worker-src 'self' blob:",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'self'",
    )
)


def _local_only(response: HTMLResponse) -> HTMLResponse:
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    return response


def _root(request: Request) -> str:
    return str(request.scope.get("root_path", "")).rstrip("/")


def _asset(request: Request, name: str) -> str:
    return _root(request) + ASSETS[name].url


def graphiql_page(request: Request, files: dict[str, Asset] = GRAPHIQL) -> HTMLResponse:
    """GraphiQL on the local `files`, or a page saying how to install them."""
    root = _root(request)
    favicon = _asset(request, "agentloom/favicon.svg")
    absent = missing(files)
    if absent:
        items = "".join(f"<li><code>{escape(str(path))}</code></li>" for path in absent)
        return _local_only(
            HTMLResponse(
                f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>GraphiQL is not installed</title>
<link rel="icon" href="{favicon}"></head>
<body><h1>GraphiQL's files are not installed</h1>
<p>The GraphQL endpoint works (POST <code>{root}{GRAPHQL_PATH}</code>, WebSocket, SSE);
only the in-browser IDE is missing. Install its files from the project's own lockfile
(npm, no CDN) and reload this page:</p>
<pre>make install        # or: cd explorers/web &amp;&amp; npm ci</pre>
<p>Missing:</p><ul>{items}</ul>
<p><a href="{root}/">Home</a></p></body></html>""",
                status_code=503,
            )
        )
    css = _asset(request, "graphiql/graphiql.min.css")
    scripts = "\n".join(
        f'<script src="{_asset(request, name)}"></script>'
        for name in (
            "graphiql/react.production.min.js",
            "graphiql/react-dom.production.min.js",
            "graphiql/graphiql.min.js",
            "agentloom/graphiql.js",
        )
    )
    return _local_only(
        HTMLResponse(
            f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>agentloom GraphiQL</title>
<link rel="icon" href="{favicon}">
<link rel="stylesheet" href="{css}">
<style>body {{ margin: 0; }} #graphiql {{ height: 100vh; }}</style>
</head>
<body>
<div id="graphiql" data-endpoint="{root}{GRAPHQL_PATH}">Loading GraphiQL…</div>
{scripts}
</body>
</html>"""
        )
    )


def swagger_page(app: FastAPI, request: Request) -> HTMLResponse:
    parameters = dict(app.swagger_ui_parameters or {})
    # Swagger UI's default validator badge is an image from validator.swagger.io.
    parameters.setdefault("validatorUrl", None)
    return _local_only(
        get_swagger_ui_html(
            openapi_url=_root(request) + str(app.openapi_url),
            title=f"{app.title} - Swagger UI",
            swagger_js_url=_asset(request, "swagger-ui/swagger-ui-bundle.js"),
            swagger_css_url=_asset(request, "swagger-ui/swagger-ui.css"),
            swagger_favicon_url=_asset(request, "agentloom/favicon.svg"),
            oauth2_redirect_url=None,
            swagger_ui_parameters=parameters,
        )
    )


def redoc_page(app: FastAPI, request: Request) -> HTMLResponse:
    return _local_only(
        get_redoc_html(
            openapi_url=_root(request) + str(app.openapi_url),
            title=f"{app.title} - ReDoc",
            redoc_js_url=_asset(request, "redoc/redoc.standalone.js"),
            redoc_favicon_url=_asset(request, "agentloom/favicon.svg"),
            with_google_fonts=False,
        )
    )


def home_page(app: FastAPI, request: Request) -> HTMLResponse:
    root = _root(request)
    explorers = "".join(
        f'<li><a href="{root}{path}">{label}</a> <code>{path}</code>: {escape(what)}</li>'
        for label, path, what in EXPLORERS
    )
    surfaces = "".join(f"<dt>{name}</dt><dd>{what}</dd>" for name, what in SURFACES)
    title = escape(app.title)
    return _local_only(
        HTMLResponse(
            f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="icon" href="{_asset(request, "agentloom/favicon.svg")}">
<style>
body {{ font: 16px/1.5 system-ui, sans-serif; max-width: 52rem; margin: 2rem auto;
       padding: 0 1rem; color: #1d1f3a; }}
code {{ background: #f1f2f8; padding: 0 .25em; border-radius: 3px; }}
dt {{ font-weight: 600; margin-top: .75rem; }}
</style>
</head>
<body>
<h1>{title} <small>{escape(app.version)}</small></h1>
<p>{escape(app.description)}</p>
<h2>Explorers</h2>
<ul>{explorers}</ul>
<h2>API surfaces</h2>
<dl>{surfaces}</dl>
</body>
</html>"""
        )
    )
