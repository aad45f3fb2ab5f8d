"""The explorers' browser files, found on disk and served from `/static/...`.

Where each comes from (installed from the package registries; a browser loads nothing
from a CDN):

- Swagger UI and ReDoc: the `fastapi-offline` Python package ships their bundles, so
  `pip install` is enough for `/docs` and `/redoc`.
- GraphiQL 3.9 (its UMD build runs without a bundler; GraphiQL 5 is ESM-only) and the
  React 18 UMD builds it needs: npm packages pinned in `explorers/web/package-lock.json`,
  put in place by `make install` (`npm ci` in `explorers/web`). No Python package ships a
  maintained GraphiQL; when these files are missing `/graphql` says how to install them.
- Ours: the GraphiQL start-up script and the favicon, in `explorers/static/`.

Only the files listed here are served (not whole package folders), each with an ETag
and `Cache-Control: no-cache` so a browser revalidates after an upgrade, and gzip when
the browser accepts it (the bundles are 1-1.5 MB and compress about fourfold).
"""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import fastapi_offline
from starlette.requests import Request
from starlette.responses import Response

HERE = Path(__file__).resolve().parent
OWN = HERE / "static"
NODE_MODULES = HERE / "web" / "node_modules"
OFFLINE_DOCS = Path(fastapi_offline.__file__).resolve().parent / "static"

STATIC_PREFIX = "/static"
MEDIA_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".map": "application/json",
}


@dataclass(frozen=True, kw_only=True)
class Asset:
    url: str
    """Path under the app's root, e.g. `/static/graphiql/graphiql.min.js`."""
    file: Path
    rewrites: tuple[tuple[bytes, bytes], ...] = ()
    """Exact byte strings replaced when served (a vendor file's remote reference)."""

    @property
    def media_type(self) -> str:
        return MEDIA_TYPES.get(self.file.suffix, "application/octet-stream")


def _table(
    entries: dict[str, Path], rewrites: dict[str, tuple[tuple[bytes, bytes], ...]] | None = None
) -> dict[str, Asset]:
    return {
        name: Asset(
            url=f"{STATIC_PREFIX}/{name}", file=file, rewrites=(rewrites or {}).get(name, ())
        )
        for name, file in entries.items()
    }


GRAPHIQL = _table(
    {
        "graphiql/react.production.min.js": NODE_MODULES / "react/umd/react.production.min.js",
        "graphiql/react-dom.production.min.js": (
            NODE_MODULES / "react-dom/umd/react-dom.production.min.js"
        ),
        "graphiql/graphiql.min.js": NODE_MODULES / "graphiql/graphiql.min.js",
        "graphiql/graphiql.min.js.map": NODE_MODULES / "graphiql/graphiql.min.js.map",
        "graphiql/graphiql.min.css": NODE_MODULES / "graphiql/graphiql.min.css",
    }
)
DOCS = _table(
    {
        "swagger-ui/swagger-ui-bundle.js": OFFLINE_DOCS / "swagger-ui-bundle.js",
        "swagger-ui/swagger-ui.css": OFFLINE_DOCS / "swagger-ui.css",
        "redoc/redoc.standalone.js": OFFLINE_DOCS / "redoc.standalone.js",
    },
    {
        # ReDoc's sidebar always shows Redocly's logo from their CDN (an <img> that hides
        # itself when it fails). `data:,` fails at once and fetches nothing.
        "redoc/redoc.standalone.js": (
            (b'"https://cdn.redoc.ly/redoc/logo-mini.svg"', b'"data:,"'),
        ),
    },
)
OURS = _table(
    {
        "agentloom/graphiql.js": OWN / "graphiql.js",
        "agentloom/favicon.svg": OWN / "favicon.svg",
    }
)
ASSETS: dict[str, Asset] = {**GRAPHIQL, **DOCS, **OURS}


def missing(table: dict[str, Asset]) -> list[Path]:
    """Files of `table` not on disk (source maps are optional)."""
    return [a.file for a in table.values() if a.file.suffix != ".map" and not a.file.is_file()]


def graphiql_installed() -> bool:
    return not missing(GRAPHIQL)


@cache
def _encoded(
    file: Path, mtime_ns: int, rewrites: tuple[tuple[bytes, bytes], ...]
) -> tuple[str, bytes, bytes]:
    # Keyed by mtime so a reinstall (npm ci, pip upgrade) is picked up without a restart.
    raw = file.read_bytes()
    for old, new in rewrites:
        raw = raw.replace(old, new)
    etag = '"' + hashlib.sha256(raw).hexdigest()[:32] + '"'
    return etag, raw, gzip.compress(raw, compresslevel=6, mtime=0)


def _accepts_gzip(request: Request) -> bool:
    return any(
        part.split(";")[0].strip() == "gzip"
        for part in request.headers.get("accept-encoding", "").split(",")
    )


async def serve_asset(request: Request) -> Response:
    asset = ASSETS.get(request.path_params["name"])
    if asset is None or not asset.file.is_file():
        hint = " (GraphiQL's files: run `make install`)" if asset in GRAPHIQL.values() else ""
        return Response(f"not found{hint}\n", status_code=404, media_type="text/plain")
    return asset_response(request, asset)


def asset_response(request: Request, asset: Asset) -> Response:
    """One asset's bytes with an ETag, `no-cache` and gzip when accepted (the console
    serves its own files through this too)."""
    etag, raw, packed = _encoded(asset.file, asset.file.stat().st_mtime_ns, asset.rewrites)
    headers = {"ETag": etag, "Cache-Control": "no-cache", "Vary": "Accept-Encoding"}
    if etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    if _accepts_gzip(request):
        headers["Content-Encoding"] = "gzip"
        return Response(packed, media_type=asset.media_type, headers=headers)
    return Response(raw, media_type=asset.media_type, headers=headers)
