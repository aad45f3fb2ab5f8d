"""CORS for browser front ends served from another origin (`AGENTLOOM_CORS_ORIGINS`).

Starlette's `CORSMiddleware`, outermost, so a preflight is answered on every
route (`/ag-ui`, `/graphql`, `/api/...`) before authentication or the request
log see it. Off when the setting is empty. No cookies carry identity here
(tokens travel in `Authorization`, API keys in `X-Api-Key`), so credentialed
CORS stays off and the listed origins get any request header.
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
EXPOSED = ("X-Request-ID", "Content-Disposition")
"""Response headers a page may read besides the CORS-safelisted ones."""


def install_cors(app: FastAPI, origins: tuple[str, ...]) -> None:
    if not origins:
        return
    app.add_middleware(
        CORSMiddleware,
        allow_origins=list(origins),
        allow_methods=list(METHODS),
        allow_headers=["*"],
        expose_headers=list(EXPOSED),
        # Chrome asks before a page on a LAN or public address calls loopback; the
        # answer goes only to the origins listed above.
        allow_private_network=True,
        max_age=600,
    )
