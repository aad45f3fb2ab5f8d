"""The workflow runner: schedules nodes over anyio and publishes the run's events.

A run validates the graph, then executes the top-level nodes (everything not
inside a loop body) as a dataflow: a node starts once every incoming edge is
settled and at least one of them is active; when all of them are inactive it
is skipped, and the skip spreads downstream. Independent branches run
concurrently in one task group. A loop node runs its body with the same
scheduler, once per item.

The runner is the only writer of a run's events: it numbers them 1, 2, 3...
under a lock and awaits the sink before going on, so the log has no gaps and
a subscriber never sees an event out of order.

Durable runs (`RunRequest.resume`): a resumed run numbers on from the log's
last seq and schedules the graph again, but a node execution whose outcome
the log holds is not run: its recorded output (and condition handles, and
usage) stands in, silently, and skips and progress already logged are not
logged twice. The node that was in flight runs again with `attempt` 2, 3...
A retried run (`RunRequest.reuse`) starts a new log the same way from
another run's outcomes, logging each reused one as `node_finished` with
`reused_from`. `RunControl` stops a run as a cancel, a suspension (the run
leaves the process, `run_suspended`) or an abandonment (nothing more is
written: another process owns it).
"""

from __future__ import annotations

import time
from collections import ChainMap, deque
from collections.abc import Mapping
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any

import anyio

from engine.clock import utcnow
from engine.errors import AgentloomError
from engine.events import (
    NodeFailed as NodeFailedEvent,
)
from engine.events import (
    NodeFinished,
    NodeSkipped,
    NodeStarted,
    Progress,
    RunCancelled,
    RunEvent,
    RunFailed,
    RunFinished,
    RunResumed,
    RunStarted,
    RunSuspended,
    to_execution_event,
)
from engine.graph_model import Edge, parse_graph
from engine.node_context import NodeContext, NodeResult, RunState
from engine.nodes import NODE_TYPES
from engine.output_limits import check_output
from engine.run_control import SHUTDOWN, RunControl, StopMode
from engine.run_errors import NodeFailed, NodeTimedOut, RunTimedOut, WorkflowInvalid
from engine.run_history import NodeOutcome, ScopeKey
from engine.run_types import RunRequest, RunResult, RunServices
from engine.topology import ERROR_HANDLE, is_back_edge, loop_bodies
from engine.validation import validate_graph

__all__ = ["RunRequest", "RunResult", "RunServices", "WorkflowRunner"]


def _ms_since(start: float) -> int:
    return int((time.perf_counter() - start) * 1000)


def _first_leaf(exc: BaseException) -> BaseException:
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc


@dataclass(kw_only=True)
class _Scope:
    """One execution of a set of nodes: the top level, or one loop iteration."""

    members: set[str]
    layers: list[Mapping[str, Any]]
    """Context layers below the node's own `value`, highest priority first."""
    outputs: dict[str, Any]
    """Outputs of nodes finished in this scope (the first layer)."""
    entry_value: Any
    iteration: int | None = None
    path: tuple[int, ...] = ()
    """The iteration of every enclosing loop, outermost first."""
    top_level: bool = False
    finished: list[tuple[str, str, Any]] = field(default_factory=list)
    failure: NodeFailed | None = None


class WorkflowRunner:
    """Runs workflows against a set of services; one instance serves many runs."""

    def __init__(self, services: RunServices) -> None:
        self.services = services
        self._active: dict[str, RunControl] = {}

    def is_running(self, execution_id: str) -> bool:
        """Whether this runner (so this process) is running that execution now."""
        return execution_id in self._active

    def running(self) -> list[str]:
        """The executions this runner runs now."""
        return list(self._active)

    def cancel(self, execution_id: str) -> bool:
        """Cancel a run of this runner; it ends with `run_cancelled`. False if unknown."""
        return self.stop(execution_id, "cancel", "cancelled")

    def stop(self, execution_id: str, mode: StopMode, reason: str = "") -> bool:
        """Stop a run of this runner (see `engine.run_control`); False if unknown."""
        control = self._active.get(execution_id)
        if control is None:
            return False
        control.stop(mode, reason)
        return True

    def drain(self) -> None:
        """Every run here starts no more nodes and suspends once its running ones are done."""
        for control in self._active.values():
            control.drain()

    async def run(self, request: RunRequest) -> RunResult:
        """Run one workflow to its end (or until it is stopped) and return the summary.

        Failures of the workflow (invalid graph, a failing node, timeouts)
        end in `run_failed` and status "failed". `cancel()` ends it with
        `run_cancelled` and status "cancelled"; a suspension with
        `run_suspended` and status "suspended"; an abandonment writes nothing
        more ("abandoned"). If the *caller* cancels (its process is shutting
        down), the run publishes `run_suspended` (shielded) and the
        cancellation propagates: only a user's cancel ends a run cancelled.
        """
        resume = request.resume
        history = resume.history if resume else None
        lock = anyio.Lock()
        seq = history.last_seq if history else 0

        async def emit(event: RunEvent) -> None:
            nonlocal seq
            async with lock:
                seq += 1
                await self.services.event_sink.publish(
                    to_execution_event(request.execution_id, seq, event)
                )

        start = time.perf_counter()
        if history is not None and history.started_at is not None:
            # A resumed run's execution time counts from its first start.
            start -= max(0.0, (utcnow() - history.started_at).total_seconds())
        control = RunControl(release_waits_after_s=request.release_waits_after_s)
        self._active[request.execution_id] = control
        state: RunState | None = None
        started: list[RunState] = []  # the state even when the run fails: its usage counts
        try:
            if resume is None or resume.history.last_seq == 0:
                await emit(RunStarted(input=request.input_data, node_count=len(request.nodes)))
            if resume is not None:
                await emit(
                    RunResumed(
                        previous_owner=resume.previous_owner,
                        last_seq=resume.history.last_seq,
                        takeovers=resume.takeovers,
                        reason=resume.reason,
                    )
                )
            with control.scope:
                async with anyio.create_task_group() as watchers:
                    watchers.start_soon(control.watch)
                    with anyio.move_on_after(request.run_timeout_s) as timeout_scope:
                        state, output = await self._execute(request, emit, started, control)
                    watchers.cancel_scope.cancel()
                if timeout_scope.cancelled_caught:
                    raise RunTimedOut(
                        f"the run exceeded its time limit of {request.run_timeout_s}s"
                    )
            if control.scope.cancelled_caught:
                elapsed = _ms_since(start)
                if control.mode == "abandon":
                    return RunResult(status="abandoned", execution_time_ms=elapsed)
                if control.mode == "suspend":
                    waiting = control.waited or None
                    await emit(RunSuspended(reason=control.reason, waiting=waiting))
                    return RunResult(
                        status="suspended",
                        error=control.reason,
                        execution_time_ms=elapsed,
                        cut_waits=control.cut_waits,
                    )
                await emit(RunCancelled(reason="cancelled", execution_time_ms=elapsed))
                return RunResult(status="cancelled", execution_time_ms=elapsed)
            assert state is not None
            elapsed = _ms_since(start)
            usage = state.usage_report()
            await emit(RunFinished(output=output, usage=usage, execution_time_ms=elapsed))
            return RunResult(
                status="completed",
                output=output,
                usage=usage,
                node_usage=state.node_usage_reports(),
                execution_time_ms=elapsed,
            )
        except anyio.get_cancelled_exc_class():
            if control.mode != "abandon":
                with anyio.CancelScope(shield=True):
                    await emit(RunSuspended(reason=SHUTDOWN))
            raise
        except Exception as group:  # the run boundary: record the type, fail the run
            exc = _first_leaf(group)
            error_type = exc.error_type if isinstance(exc, NodeFailed) else type(exc).__name__
            message = exc.message if isinstance(exc, AgentloomError) else str(exc) or error_type
            elapsed = _ms_since(start)
            state = state or (started[0] if started else None)
            spent = state.usage_report() if state and state.tally else None
            await emit(
                RunFailed(
                    error=message,
                    error_type=error_type,
                    execution_time_ms=elapsed,
                    node_id=exc.node_id if isinstance(exc, NodeFailed) else None,
                    usage=spent,
                )
            )
            return RunResult(
                status="failed",
                error=message,
                error_type=error_type,
                usage=spent or {},
                node_usage=state.node_usage_reports() if state else {},
                execution_time_ms=elapsed,
            )
        finally:
            self._active.pop(request.execution_id, None)

    async def _execute(
        self, request: RunRequest, emit: Any, started: list[RunState], control: RunControl
    ) -> tuple[RunState, Any]:
        graph = parse_graph(request.nodes, request.edges)
        report = validate_graph(graph)
        if not report.valid:
            raise WorkflowInvalid(
                "the workflow is invalid: " + "; ".join(report.errors), details=report.errors
            )
        bodies = loop_bodies(graph)
        state = RunState(
            request=request,
            services=self.services,
            graph=graph,
            bodies=bodies,
            emit=emit,
            control=control,
        )
        started.append(state)
        in_body = set().union(*bodies.values()) if bodies else set()
        members = {node.id for node in graph.nodes} - in_body
        input_layer = {**request.input_data, "input": request.input_data}
        outputs: dict[str, Any] = {}
        scope = _Scope(
            members=members,
            layers=[outputs, input_layer],
            outputs=outputs,
            entry_value=request.input_data,
            top_level=True,
        )
        await self._run_scope(state, scope)
        ends = [out for node_id, kind, out in scope.finished if kind == "end"]
        return state, ends[-1] if ends else None

    async def _run_scope(self, state: RunState, scope: _Scope) -> None:
        """Run every member node of a scope as a dataflow; raise its first failure."""
        graph = state.graph
        incoming: dict[str, list[Edge]] = {}
        outgoing: dict[str, list[Edge]] = {}
        for node_id in scope.members:
            incoming[node_id] = [
                e
                for e in graph.incoming(node_id)
                if e.source in scope.members and not is_back_edge(e, state.bodies)
            ]
            outgoing[node_id] = [
                e
                for e in graph.outgoing(node_id)
                if e.target in scope.members and not is_back_edge(e, state.bodies)
            ]
        waiting = {node_id: len(edges) for node_id, edges in incoming.items()}
        active: dict[str, bool] = {}
        total = len(scope.members)
        settled = 0

        async def progress(node_id: str) -> None:
            nonlocal settled
            settled += 1
            if scope.top_level and not state.logged_progress(node_id):
                await state.emit(
                    Progress(
                        progress=int(settled * 100 / total) if total else 100,
                        current_node=node_id,
                        completed=settled,
                        total=total,
                    )
                )

        def edge_active(e: Edge, handles: frozenset[str] | None, errored: bool) -> bool:
            if errored:
                return e.source_handle == ERROR_HANDLE
            if e.source_handle is None:
                return True
            if e.source_handle == ERROR_HANDLE:
                return False
            return handles is None or e.source_handle in handles

        async def settle(
            node_id: str, handles: frozenset[str] | None, *, errored: bool, skipped: bool
        ) -> None:
            # Mark the node's outgoing edges, then start or skip whatever became ready.
            # A worklist, not recursion: a skip can spread down a 1,000-node chain.
            await progress(node_id)
            work = deque([(node_id, handles, errored, skipped)])
            while work:
                source, source_handles, source_errored, source_skipped = work.popleft()
                ready: list[str] = []
                for e in outgoing[source]:
                    active[e.id] = not source_skipped and edge_active(
                        e, source_handles, source_errored
                    )
                    waiting[e.target] -= 1
                    if waiting[e.target] == 0:
                        ready.append(e.target)
                for target in ready:
                    live = [e for e in incoming[target] if active[e.id]]
                    if live:
                        tg.start_soon(run_node, target, scope.outputs.get(live[0].source))
                        continue
                    if not state.logged_skip((target, scope.path)):
                        await state.emit(
                            NodeSkipped(
                                node_id=target,
                                node_type=graph.node(target).type,
                                reason="no active incoming edge",
                                iteration=scope.iteration,
                                loop_path=_loop_path(scope),
                            )
                        )
                    await progress(target)
                    work.append((target, None, False, True))

        async def run_node(node_id: str, value: Any) -> None:
            result, errored = await self._run_node(state, scope, node_id, value)
            if scope.failure is not None:
                tg.cancel_scope.cancel()
                return
            await settle(
                node_id,
                None if result is None else result.handles,
                errored=errored,
                skipped=False,
            )

        # Snapshot the entries first: settling while we iterate would make more nodes
        # look like entries and start them twice.
        entries = sorted(node_id for node_id in scope.members if waiting[node_id] == 0)
        async with anyio.create_task_group() as tg:
            for node_id in entries:
                node = graph.node(node_id)
                if scope.top_level and node.type != "start":
                    # Not connected to the start: never runs (the validator warned).
                    if not state.logged_skip((node_id, ())):
                        await state.emit(
                            NodeSkipped(node_id=node_id, node_type=node.type, reason="unreachable")
                        )
                    await settle(node_id, None, errored=False, skipped=True)
                    continue
                tg.start_soon(run_node, node_id, scope.entry_value)
        if scope.failure is not None:
            raise scope.failure

    async def _run_node(
        self, state: RunState, scope: _Scope, node_id: str, value: Any
    ) -> tuple[NodeResult | None, bool]:
        """Run one node under its timeout and error policy (or take its recorded outcome).

        Returns `(result, errored)`; `errored` means the `error` edges follow.
        A failure under policy "fail" is stored in `scope.failure`.
        """
        node = state.graph.node(node_id)
        key: ScopeKey = (node_id, scope.path)
        recorded = state.recorded(key)
        if recorded is not None:
            return self._replay(state, scope, node_id, recorded)
        reused = state.reused(key)
        if reused is not None:
            return await self._reuse(state, scope, node_id, reused)
        control = state.control
        if control.draining:
            await control.hold()  # the process is stopping: this node runs elsewhere
        is_loop = node.type == "loop"
        with nullcontext() if is_loop else control.running():
            return await self._execute_node(state, scope, node_id, value, key)

    async def _execute_node(
        self, state: RunState, scope: _Scope, node_id: str, value: Any, key: ScopeKey
    ) -> tuple[NodeResult | None, bool]:
        node = state.graph.node(node_id)
        spec = NODE_TYPES[node.type]
        data = node.data
        history = state.history
        attempt = history.attempts.get(key, 0) + 1 if history else 1
        asked = history is not None and key in history.asked
        if asked:
            attempt -= 1  # a human node waiting for its answer goes on waiting: same attempt
        context = NodeContext(
            node=node,
            run=state,
            scope=ChainMap({"value": value}, *scope.layers),  # type: ignore[arg-type]
            finished=scope.finished,
            iteration=scope.iteration,
            run_body=self._body_runner(state, scope, node_id) if node.type == "loop" else None,
            path=scope.path,
            attempt=attempt,
            asked=asked,
        )
        timeout = data.get("timeout_s")
        if timeout is None and spec.applies_node_timeout:
            timeout = state.request.node_timeout_s
        loop_path = _loop_path(scope)
        shown_attempt = attempt if attempt > 1 else None
        if not asked:
            await state.emit(
                NodeStarted(
                    node_id=node_id,
                    node_type=node.type,
                    iteration=scope.iteration,
                    loop_path=loop_path,
                    attempt=shown_attempt,
                )
            )
        start = time.perf_counter()
        try:
            assert spec.run is not None, f"node type {node.type} has no executor"
            try:
                with anyio.fail_after(timeout) if timeout else nullcontext():
                    result = await spec.run(context)
                # Before it is stored or passed on: too big or deep fails the node.
                check_output(result.output, state.services.output_limits, node_id=node_id)
            except TimeoutError as exc:
                raise NodeTimedOut(
                    f"node {node_id!r} timed out after {timeout}s", field=node_id
                ) from exc
        except AgentloomError as exc:
            error_type = exc.error_type if isinstance(exc, NodeFailed) else type(exc).__name__
            duration = _ms_since(start)
            await state.emit(
                NodeFailedEvent(
                    node_id=node_id,
                    node_type=node.type,
                    error=exc.message,
                    error_type=error_type,
                    duration_ms=duration,
                    iteration=scope.iteration,
                    loop_path=loop_path,
                    attempt=shown_attempt,
                )
            )
            return self._after_failure(state, scope, node_id, exc.message, error_type, exc)
        duration = _ms_since(start)
        scope.outputs[node_id] = result.output
        scope.finished.append((node_id, node.type, result.output))
        await state.emit(
            NodeFinished(
                node_id=node_id,
                node_type=node.type,
                output=result.output,
                duration_ms=duration,
                iteration=scope.iteration,
                usage=context.tally.report(state.services.prices) if context.tally else None,
                loop_path=loop_path,
                attempt=shown_attempt,
                handles=sorted(result.handles) if result.handles is not None else None,
            )
        )
        return result, False

    def _after_failure(
        self,
        state: RunState,
        scope: _Scope,
        node_id: str,
        message: str,
        error_type: str,
        cause: BaseException | None,
    ) -> tuple[NodeResult | None, bool]:
        """What a node's failure leads to under its `on_error` policy."""
        node = state.graph.node(node_id)
        data = node.data
        policy = data.get("on_error", "fail")
        if policy == "continue":
            output = data.get("default_value")
            scope.outputs[node_id] = output
            scope.finished.append((node_id, node.type, output))
            return NodeResult(output=output), False
        if policy == "error_edge":
            output = {"error": message, "error_type": error_type}
            scope.outputs[node_id] = output
            return NodeResult(output=output), True
        if scope.failure is None:
            failure = NodeFailed(
                f"node {node_id!r} ({node.type}) failed: {message}",
                node_id=node_id,
                error_type=error_type,
            )
            failure.__cause__ = cause
            scope.failure = failure
        return None, False

    def _replay(
        self, state: RunState, scope: _Scope, node_id: str, outcome: NodeOutcome
    ) -> tuple[NodeResult | None, bool]:
        """A node the log says has run: its recorded outcome, nothing logged again."""
        state.restore_usage(node_id, outcome.usage)
        if outcome.failed:
            return self._after_failure(
                state, scope, node_id, outcome.error or "", outcome.error_type or "", None
            )
        scope.outputs[node_id] = outcome.output
        scope.finished.append((node_id, outcome.node_type, outcome.output))
        return NodeResult(output=outcome.output, handles=outcome.handles), False

    async def _reuse(
        self, state: RunState, scope: _Scope, node_id: str, outcome: NodeOutcome
    ) -> tuple[NodeResult | None, bool]:
        """A retried run: another run's recorded output, logged as this node's."""
        result, errored = self._replay(state, scope, node_id, outcome)
        assert result is not None and state.request.reuse is not None
        await state.emit(
            NodeFinished(
                node_id=node_id,
                node_type=outcome.node_type,
                output=outcome.output,
                duration_ms=0,
                iteration=scope.iteration,
                usage=outcome.usage,
                loop_path=_loop_path(scope),
                handles=sorted(outcome.handles) if outcome.handles is not None else None,
                reused_from=state.request.reuse.source_execution_id,
            )
        )
        return result, errored

    def _body_runner(self, state: RunState, parent: _Scope, loop_id: str) -> Any:
        body = state.bodies.get(loop_id, set())
        nested = {
            node_id
            for inner_id, inner in state.bodies.items()
            if inner_id in body
            for node_id in inner
        }
        members = body - nested

        async def run_body(variables: Mapping[str, Any], entry: Any, iteration: int) -> Any:
            outputs: dict[str, Any] = {}
            scope = _Scope(
                members=members,
                layers=[outputs, dict(variables), *parent.layers],
                outputs=outputs,
                entry_value=entry,
                iteration=iteration,
                path=(*parent.path, iteration),
            )
            await self._run_scope(state, scope)
            graph = state.graph
            sinks = [
                node_id
                for node_id, _kind, _out in scope.finished
                if not any(
                    e.target in members and not is_back_edge(e, state.bodies)
                    for e in graph.outgoing(node_id)
                )
            ]
            if not sinks:
                return None
            if len(sinks) == 1:
                return outputs[sinks[0]]
            return {node_id: outputs[node_id] for node_id in sinks}

        return run_body


def _loop_path(scope: _Scope) -> list[int] | None:
    """`loop_path` for events: only inside nested loops (one level says `iteration`)."""
    return list(scope.path) if len(scope.path) > 1 else None
