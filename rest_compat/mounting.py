"""Routers mounted once per process and shared by every app built in it.

FastAPI derives an included route's final form (its path, the dependencies it inherits,
the pydantic models that validate its parameters and body) on the first request that
reaches the mount, and keeps it on the mount: 53 ms of CPU for this app's 82 routes. A
process that builds several apps (the test suite builds hundreds, one per test server)
would derive them again for each; mounts shared between apps derive them once.

Sharing is sound because nothing in a mount belongs to an app: the routers and their
endpoints are module-level, and an endpoint reaches its app's services through
`request.app`. The one per-app thing FastAPI would give a mount, the app as the provider
of `dependency_overrides`, is unused here (the tests run real servers, not overrides).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

from fastapi import APIRouter, FastAPI
from fastapi.params import Depends
from starlette.routing import BaseRoute


def include_shared(
    app: FastAPI, routers: Sequence[APIRouter], *, dependencies: Sequence[Depends] = ()
) -> None:
    """`app.include_router` for each router, with mounts this process already built."""
    # Routers and dependencies are not hashable; the mounts hold them, so no id is reused.
    key = (*map(id, routers), None, *map(id, dependencies))
    with _building:
        mounts = _mounted.get(key)
        if mounts is None:
            holder = APIRouter()
            for router in routers:
                holder.include_router(router, dependencies=list(dependencies))
            mounts = _mounted[key] = list(holder.routes)
    app.router.routes.extend(mounts)


_mounted: dict[tuple[int | None, ...], list[BaseRoute]] = {}
_building = threading.Lock()
