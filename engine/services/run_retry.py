"""Retrying a run from one of its nodes.

`retry(owner, execution_id, from_node_id)` starts a new execution of the same
graph snapshot (so the same workflow version) with the same input, linked to
the old one (`retry_of`). When it runs, every node execution the old run
finished that is not downstream of `from_node_id` keeps its recorded output
(logged as `node_finished` with `reused_from`, never run again); the node and
everything after it run. Useful after a failed LLM or HTTP call: the calls
that worked are not paid for twice.
"""

from __future__ import annotations

from typing import Any, Protocol

from engine.errors import Conflict, ValidationFailed
from engine.services.records import TERMINAL_STATUSES, Execution, JSONDict


class OwnedExecutions(Protocol):
    """`ExecutionService.get`: the caller's execution or NotFound."""

    async def get(self, owner: Any, execution_id: str) -> Execution: ...


class RetryStore(Protocol):
    async def graph(self, execution_id: str) -> tuple[list[JSONDict], list[JSONDict]]:
        """The graph snapshot an execution runs."""
        ...

    async def add(self, execution: Execution) -> None: ...


class Submit(Protocol):
    def __call__(self, execution_id: str) -> None: ...


class RunRetries:
    def __init__(self, *, executions: OwnedExecutions, store: RetryStore, submit: Submit) -> None:
        self._executions = executions
        self._store = store
        self._submit = submit

    async def retry(self, owner: Any, execution_id: str, from_node_id: str) -> Execution:
        """A new pending execution that redoes `from_node_id` and what follows it."""
        source = await self._executions.get(owner, execution_id)
        if source.status not in TERMINAL_STATUSES:
            raise Conflict(
                f"execution {execution_id} is {source.status}: retry it once it has ended",
                field="id",
            )
        nodes, edges = await self._store.graph(source.id)
        if not any(isinstance(n, dict) and n.get("id") == from_node_id for n in nodes):
            raise ValidationFailed(
                f"the run's workflow has no node {from_node_id!r}", field="fromNodeId"
            )
        retried = Execution(
            owner_id=source.owner_id,
            workflow_id=source.workflow_id,
            workflow_name=source.workflow_name,
            nodes=nodes,
            edges=edges,
            input_data=source.input_data,
            kind=source.kind,
            thread_id=source.thread_id,
            retry_of=source.id,
            retry_from_node=from_node_id,
        )
        await self._store.add(retried)
        self._submit(retried.id)
        return retried
