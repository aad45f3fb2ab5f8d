"""The API explorers, offline: GraphiQL at `/graphql`, Swagger UI at `/docs`, ReDoc at
`/redoc`, and a home page at `/` linking them, every asset served by this app.

`create_app` builds its GraphQL app from `ExplorerGraphQLApp`, creates the FastAPI app
with `docs_url=None, redoc_url=None` (FastAPI's own pages load from a CDN), and calls
`install_explorers(app)`. Where the files come from: see `explorers.assets`.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from explorers.assets import GRAPHIQL, STATIC_PREFIX, missing, serve_asset
from explorers.pages import EXPLORERS, graphiql_page, home_page, redoc_page, swagger_page
from graph.view import GraphQLApp

__all__ = ["ExplorerGraphQLApp", "install_explorers", "log_urls", "public_base_url"]


class ExplorerGraphQLApp(GraphQLApp):
    """The GraphQL app whose browser page is GraphiQL on local files (strawberry's
    own page loads React and GraphiQL from unpkg)."""

    async def render_graphql_ide(self, request: Request) -> Response:
        return graphiql_page(request)


def install_explorers(app: FastAPI) -> None:
    if app.docs_url is not None or app.redoc_url is not None:
        # FastAPI's routes would answer first, with pages that load from a CDN.
        raise ValueError("create the FastAPI app with docs_url=None, redoc_url=None")

    async def home(request: Request) -> HTMLResponse:
        return home_page(app, request)

    async def docs(request: Request) -> HTMLResponse:
        return swagger_page(app, request)

    async def redoc(request: Request) -> HTMLResponse:
        return redoc_page(app, request)

    app.router.routes.extend(
        [
            Route("/", home, methods=["GET"]),
            Route("/docs", docs, methods=["GET"]),
            Route("/redoc", redoc, methods=["GET"]),
            Route(STATIC_PREFIX + "/{name:path}", serve_asset, methods=["GET"]),
        ]
    )


def public_base_url(host: str, port: int) -> str:
    """The address to open in a browser for a server bound to `host`."""
    # A wildcard bind is reachable on loopback; a browser cannot open 0.0.0.0 everywhere.
    wildcard = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}  # noqa: S104 - matched, not bound
    shown = wildcard.get(host, host)
    if ":" in shown:
        shown = f"[{shown}]"
    return f"http://{shown}:{port}"


def log_urls(log: logging.Logger, host: str, port: int) -> None:
    """One start-up line per explorer, plus a warning when GraphiQL's files are absent."""
    base = public_base_url(host, port)
    log.info("%-10s %s/", "Home", base)
    for label, path, _ in EXPLORERS:
        log.info("%-10s %s%s", label, base, path)
    if missing(GRAPHIQL):
        log.warning(
            "GraphiQL's files are not installed (run `make install`, or `npm ci` in "
            "explorers/web): %s/graphql shows how; the GraphQL API itself works",
            base,
        )
