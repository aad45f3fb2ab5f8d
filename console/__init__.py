"""The run console: a single page at `/console` that signs in, lists workflows, draws
their graphs and runs them live, written against the GraphQL API only.

The page is plain ES modules of our own (`console/static/js/*.js`, no build step) and one
stylesheet; its GraphQL WebSocket client (`graphql-transport-ws`) is ours too, so nothing
is installed from npm for it. Every file is served by this app from
`/console/static/...` (ETag, `no-cache`, gzip: `explorers.assets.asset_response`), and
the page's Content-Security-Policy lets the browser load nothing from anywhere else.
"""

from __future__ import annotations

from html import escape
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from explorers.assets import MEDIA_TYPES, Asset, asset_response

__all__ = ["CONSOLE_PATH", "CONTENT_SECURITY_POLICY", "console_assets", "install_console"]

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
CONSOLE_PATH = "/console"
STATIC_PREFIX = CONSOLE_PATH + "/static"
PAGE = STATIC / "index.html"

# Stricter than the explorers' policy: our own code needs no inline script or style
# (SVG state colours come from classes in console.css), so none is allowed.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'self'",
    )
)


def console_assets(root: Path = STATIC) -> dict[str, Asset]:
    """The files the page may load, by their path under `static/` (the HTML page itself
    is rendered, not served as a file). Listed once: a request names an entry, never a
    path on disk, so `..` cannot reach anything else."""
    found: dict[str, Asset] = {}
    for file in sorted(root.rglob("*")):
        if file.is_file() and file.suffix in MEDIA_TYPES and file != PAGE:
            name = file.relative_to(root).as_posix()
            found[name] = Asset(url=f"{STATIC_PREFIX}/{name}", file=file)
    return found


ASSETS = console_assets()


def console_page(request: Request) -> HTMLResponse:
    """The page, with this server's paths (behind a proxy: its `root_path`) filled in."""
    root = escape(str(request.scope.get("root_path", "")).rstrip("/"), quote=True)
    html = PAGE.read_text(encoding="utf-8").replace("%ROOT%", root)
    response = HTMLResponse(html, headers={"Cache-Control": "no-cache"})
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    return response


async def _page(request: Request) -> Response:
    return console_page(request)


async def _asset(request: Request) -> Response:
    asset = ASSETS.get(request.path_params["name"])
    if asset is None or not asset.file.is_file():
        return Response("not found\n", status_code=404, media_type="text/plain")
    return asset_response(request, asset)


def install_console(app: Starlette) -> None:
    """Register `GET /console` and its files on `app`."""
    app.router.routes.extend(
        [
            Route(CONSOLE_PATH, _page, methods=["GET"]),
            Route(STATIC_PREFIX + "/{name:path}", _asset, methods=["GET"]),
        ]
    )
