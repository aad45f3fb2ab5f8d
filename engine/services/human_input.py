"""Human input: answering a run's waiting `human` node, from any process.

A node asks through the `HumanInputBroker` port (storage keeps the request);
an answer names the run by execution id, thread id or the client's run id,
and optionally the node. Another user's request answers like a missing one.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

import anyio

from engine.errors import NotFound, ValidationFailed
from engine.services.access import Owner, reach

NO_PENDING_INPUT = "No pending human input for this session"


@dataclass(frozen=True, kw_only=True)
class HumanAnswer:
    """One answer to one node's request."""

    execution_id: str
    node_id: str
    response: str


class HumanAnswerStore(Protocol):
    async def answer(
        self,
        owner_id: str,
        *,
        execution_id: str | None,
        thread_id: str | None,
        run_id: str | None,
        node_id: str | None,
        response: str,
        workflow_ids: frozenset[str] | None = None,
    ) -> str | None:
        """Answer the oldest matching pending request (of a run of these workflows, when
        given); returns its execution id, None when none matches."""
        ...

    async def is_answered(self, execution_id: str, node_id: str) -> bool: ...

    async def may_yet_ask(
        self,
        owner_id: str,
        *,
        execution_id: str | None,
        thread_id: str | None,
        run_id: str | None,
        workflow_ids: frozenset[str] | None = None,
    ) -> bool:
        """Whether a run of the owner that these ids name is still going: only such a run
        can store a request in the next moments (a finished, foreign or missing one never
        will)."""
        ...


Wake = Callable[[str], Awaitable[None]]
"""Told the execution id of every answer: a run waiting with no process resumes."""


class HumanInputService:
    def __init__(
        self, *, store: HumanAnswerStore, wait_s: float = 3.0, wake: Wake | None = None
    ) -> None:
        self._store = store
        self._wait_s = wait_s
        self._wake = wake

    async def submit(
        self,
        owner: Owner,
        *,
        response: str,
        execution_id: str | None = None,
        thread_id: str | None = None,
        run_id: str | None = None,
        node_id: str | None = None,
    ) -> None:
        """Answer the owner's pending request that matches; NotFound when none is waiting.

        A node stores its request before announcing it; a client that answers sooner (a
        run just started, or one resuming in another process) is still given a moment
        for the request to appear, while a run of the owner's is going.
        """
        access = reach(owner)
        if not (execution_id or thread_id or run_id):
            raise ValidationFailed("executionId, threadId or runId is required", field="runId")
        ids = {"execution_id": execution_id, "thread_id": thread_id, "run_id": run_id}
        with anyio.move_on_after(self._wait_s):
            while True:
                if answered := await self._store.answer(
                    access.user_id,
                    **ids,
                    node_id=node_id,
                    response=response,
                    workflow_ids=access.workflow_ids,
                ):
                    if self._wake is not None:
                        await self._wake(answered)
                    return
                # Worth the wait only while a run of the owner's is going: a wrong id, or
                # another user's run, is answered at once (and alike).
                if not await self._store.may_yet_ask(
                    access.user_id, **ids, workflow_ids=access.workflow_ids
                ):
                    break
                await anyio.sleep(0.1)
        raise NotFound(NO_PENDING_INPUT)

    async def is_answered(self, execution_id: str, node_id: str) -> bool:
        return await self._store.is_answered(execution_id, node_id)
