"""Retention: finished executions older than `AGENTLOOM_RETENTION_DAYS` are purged.

A background task looks every `every_s` for executions that ended (completed,
failed, cancelled) before the cutoff and deletes them in batches with
everything that is theirs: the event log (and so their logs and traces, which
are views of it), the graph snapshot, human-input requests and the entries of
the owners' execution lists. Runs in progress are never purged, however old.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

import anyio

from engine.clock import utcnow

log = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class Expired:
    execution_id: str
    owner_id: str


class RetentionStore(Protocol):
    async def expired(self, *, finished_before: datetime, limit: int) -> list[Expired]:
        """Ended executions that finished before the cutoff, oldest first."""
        ...

    async def purge(self, batch: list[Expired]) -> None:
        """Delete these executions and everything that belongs to them."""
        ...


class RunRetention:
    def __init__(
        self, *, store: RetentionStore, days: float, batch: int = 200, every_s: float = 3600.0
    ) -> None:
        self._store = store
        self.days = days
        """0: keep everything."""
        self._batch = batch
        self._every_s = every_s

    async def purge_once(self) -> int:
        """Purge everything past retention now, batch by batch; how many executions."""
        if self.days <= 0:
            return 0
        cutoff = utcnow() - timedelta(days=self.days)
        purged = 0
        while True:
            batch = await self._store.expired(finished_before=cutoff, limit=self._batch)
            if not batch:
                return purged
            await self._store.purge(batch)
            purged += len(batch)

    async def run_forever(self) -> None:
        while self.days > 0:
            try:
                purged = await self.purge_once()
                if purged:
                    log.info(
                        "retention: purged %d executions older than %s days", purged, self.days
                    )
            except anyio.get_cancelled_exc_class():
                raise
            except Exception:  # the next round retries; a purge must not stop the server
                log.exception("purging old executions failed")
            await anyio.sleep(self._every_s)
