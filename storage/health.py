"""Is the database there? A `ping` under a short deadline, for `/readyz`."""

from __future__ import annotations

from typing import Any

import anyio
from pymongo import AsyncMongoClient

PING_TIMEOUT_S = 1.0


async def database_reachable(
    client: AsyncMongoClient[dict[str, Any]] | None, *, timeout_s: float = PING_TIMEOUT_S
) -> bool:
    """True when the server answers `ping` within `timeout_s` (the driver alone would wait
    its 30 s server-selection timeout before admitting a dead database)."""
    if client is None:
        return False
    try:
        with anyio.fail_after(timeout_s):
            await client.admin.command("ping")
    except anyio.get_cancelled_exc_class():
        raise
    except Exception:  # timeouts and every driver error mean the same thing here: not ready
        return False
    return True
