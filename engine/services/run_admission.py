"""Claiming pending runs, with a per-user limit on runs in progress.

With `AGENTLOOM_MAX_RUNNING_PER_USER` set, a user has that many slots. A run
takes a slot when a process claims it and gives it back when it ends; until
then it stays `pending`, and a user's pending runs start in the order they
were created (each claim takes the user's oldest pending run, whichever run
the caller named). Its place in that line is `queue_position`.

A slot is taken after the claim, by the claimer alone, and a claimer that
finds the user at the limit puts the run back to pending: two processes
claiming at once can never give one slot twice or free another's. Slots of
runs that ended without giving theirs back (their process died) are found
when the user is at the limit and freed then. A run waiting for a person is
still in progress: it keeps its slot.

Without a limit, claims go straight to the store.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from engine.services.records import Execution
from engine.services.stores import ExecutionStore

CLAIM_TRIES = 3
"""Attempts to claim a user's oldest pending run when other processes take them first."""


class RunSlots(Protocol):
    """Each user's runs in progress, as a set of execution ids."""

    async def acquire(self, owner_id: str, execution_id: str, limit: int) -> bool:
        """Add the run to the owner's set unless the set holds `limit` runs already."""
        ...

    async def release(self, owner_id: str, execution_id: str) -> None: ...

    async def holders(self, owner_id: str) -> list[str]: ...

    async def drop(self, owner_id: str, execution_ids: Sequence[str]) -> None: ...


class RunAdmission:
    def __init__(self, *, executions: ExecutionStore, slots: RunSlots, limit: int = 0) -> None:
        self._executions = executions
        self._slots = slots
        self.limit = limit
        """Runs in progress per user; 0: no limit."""

    async def claim(self, execution_id: str, *, worker: str, lease_s: float) -> Execution | None:
        """Claim that pending run (or, under a limit, the owner's oldest pending one)."""
        if not self.limit:
            return await self._executions.claim(execution_id, worker=worker, lease_s=lease_s)
        found = await self._executions.get_any(execution_id)
        if found is None or found.status != "pending":
            return None
        return await self.claim_for(found.owner_id, worker=worker, lease_s=lease_s)

    async def claim_next(
        self, *, worker: str, lease_s: float, older_than: datetime | None = None
    ) -> Execution | None:
        """Claim the oldest pending run of some user with a free slot (created before
        `older_than`, when given: runs another process should have claimed by now)."""
        for head in await self._executions.pending_heads(older_than=older_than):
            if self.limit:
                claimed = await self.claim_for(head.owner_id, worker=worker, lease_s=lease_s)
            else:
                claimed = await self._executions.claim(head.id, worker=worker, lease_s=lease_s)
            if claimed is not None:
                return claimed
        return None

    async def claim_for(self, owner_id: str, *, worker: str, lease_s: float) -> Execution | None:
        """Claim the owner's oldest pending run if the owner has a free slot."""
        if not await self._room(owner_id):
            return None  # (checked first: a claim put back would touch the run for nothing)
        for _ in range(CLAIM_TRIES):
            execution_id = await self._executions.oldest_pending(owner_id)
            if execution_id is None:
                return None
            claimed = await self._executions.claim(execution_id, worker=worker, lease_s=lease_s)
            if claimed is None:
                continue  # another process claimed it first: try the next one
            if await self._admit(owner_id, execution_id):
                return claimed
            await self._executions.unclaim(execution_id, worker=worker)
            return None
        return None

    async def _room(self, owner_id: str) -> bool:
        """Whether the owner has a free slot, freeing those of runs that ended without
        giving theirs back."""
        holders = await self._slots.holders(owner_id)
        if len(holders) < self.limit:
            return True
        alive = await self._executions.running_ids(holders)
        stale = [h for h in holders if h not in alive]
        if stale:
            await self._slots.drop(owner_id, stale)
        return len(holders) - len(stale) < self.limit

    async def _admit(self, owner_id: str, execution_id: str) -> bool:
        if await self._slots.acquire(owner_id, execution_id, self.limit):
            return True
        # Full after all (another claim took the last slot): once more, after freeing stale.
        return await self._room(owner_id) and await self._slots.acquire(
            owner_id, execution_id, self.limit
        )

    async def finished(self, owner_id: str, execution_id: str) -> None:
        """A run ended: its slot is free."""
        if self.limit:
            await self._slots.release(owner_id, execution_id)

    async def queue_position(self, execution: Execution) -> int | None:
        """1 for the owner's next pending run to start, 2 for the one after...; None when
        the run is not pending."""
        if execution.status != "pending":
            return None
        return 1 + await self._executions.pending_before(execution.owner_id, execution)


class MemoryRunSlots:
    """`RunSlots` in memory (one process; for tests and embedding)."""

    def __init__(self) -> None:
        self.sets: dict[str, list[str]] = {}

    async def acquire(self, owner_id: str, execution_id: str, limit: int) -> bool:
        held = self.sets.setdefault(owner_id, [])
        if execution_id in held:
            return True
        if len(held) >= limit:
            return False
        held.append(execution_id)
        return True

    async def release(self, owner_id: str, execution_id: str) -> None:
        held = self.sets.get(owner_id, [])
        if execution_id in held:
            held.remove(execution_id)

    async def holders(self, owner_id: str) -> list[str]:
        return list(self.sets.get(owner_id, []))

    async def drop(self, owner_id: str, execution_ids: Sequence[str]) -> None:
        for execution_id in execution_ids:
            await self.release(owner_id, execution_id)
