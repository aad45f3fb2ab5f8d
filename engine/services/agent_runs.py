"""Chat-client runs: start one, find it again by the client's run id, or answer it.

A chat client (AG-UI over SSE, or GraphQL) names its runs itself, so run ids
live in a per-user namespace: the same run id from two users names two runs,
and another user's run with that id is invisible (posting it starts the
caller's own run). A request that carries answers to a run's waiting human
nodes continues that run; `resume_after_seq` then says where its stream picks
up (at the request it answered).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from engine.errors import NotFound, ValidationFailed
from engine.services.access import Owner, reach, user_of
from engine.services.executions import ExecutionService
from engine.services.goal_flow import REACT_KIND, GoalGraph, GoalGraphs
from engine.services.goal_runs import GoalOptions, goal_graph
from engine.services.human_input import NO_PENDING_INPUT, HumanAnswer, HumanInputService
from engine.services.records import Execution
from engine.services.skills import SkillService
from engine.services.traces import RunLookup


class RunFiles(Protocol):
    """Uploads as a run sees them (`UploadService`)."""

    async def file_for_run(self, owner_id: str, upload_id: str) -> dict[str, Any]:
        """`{fileId, fileName, contentType, size, text}`; `NotFound` for a missing id."""
        ...


@dataclass(frozen=True, kw_only=True)
class AgentRunRequest:
    run_id: str | None = None
    thread_id: str | None = None
    input_text: str = ""
    """The user's message: the run's `{input.input}`."""
    messages: list[Any] = field(default_factory=list)
    """The conversation so far, kept in the run's input as `{input.messages}`."""
    workflow_id: str | None = None
    workflow: Mapping[str, Any] | None = None
    """An ad-hoc graph `{nodes, edges}` to run instead of a saved workflow."""
    file_id: str | None = None
    answers: list[HumanAnswer] = field(default_factory=list)
    """Answers to waiting human nodes: the request continues their run."""
    goal: GoalOptions | None = None
    """Set for a goal run (start -> ReAct agent -> end) instead of a workflow."""


@dataclass(kw_only=True)
class AgentRun:
    execution: Execution
    run_id: str
    """The client's run id, or the execution id when it chose none."""
    thread_id: str
    resume_after_seq: int = 0
    """After answering with a run id: the seq of the request answered (stream from there)."""
    planned_workflow: dict[str, Any] | None = None
    """A Flow-mode goal run's planned workflow `{nodes, edges}`; None for other runs."""


class AgentRunService:
    def __init__(
        self,
        *,
        executions: ExecutionService,
        skills: SkillService,
        human: HumanInputService,
        lookup: RunLookup,
        files: RunFiles | None = None,
        goals: GoalGraphs | None = None,
    ) -> None:
        """`goals` decides a goal's graph (ReAct or Flow mode); None: always ReAct."""
        self._executions = executions
        self._goals = goals
        self._skills = skills
        self._human = human
        self._lookup = lookup
        self._files = files

    async def run(self, owner: Owner, request: AgentRunRequest) -> AgentRun:
        """A scoped API key runs only its saved workflows: ad-hoc graphs and goals answer
        like a missing workflow, before anything is planned or started."""
        thread_id = request.thread_id or f"thread-{uuid.uuid4().hex}"
        try:
            execution_id = None
            if request.answers:
                execution_id = await self._answer(owner, request.answers)
            if execution_id is None and request.run_id:
                execution_id = await self._lookup.by_run_id(user_of(owner), request.run_id)
            if execution_id is None:
                execution = await self._start(owner, request, thread_id)
            else:
                execution = await self._executions.get(owner, execution_id)
            resume_seq = 0
            if request.answers and request.run_id:
                resume_seq = await self._request_seq(owner, execution.id, request.answers)
        except NotFound as error:
            if request.answers:
                raise NotFound(NO_PENDING_INPUT) from error
            raise
        return AgentRun(
            execution=execution,
            run_id=request.run_id or execution.id,
            thread_id=thread_id,
            resume_after_seq=resume_seq,
            planned_workflow=await self._planned_workflow(execution),
        )

    @property
    def goal_mode(self) -> str:
        """`react` or `flow`: how goals run on this server."""
        return self._goals.mode if self._goals is not None else "react"

    async def _planned_workflow(self, execution: Execution) -> dict[str, Any] | None:
        return await self._goals.planned_workflow(execution) if self._goals else None

    async def goal_graph(self, owner: Owner, goal: str, options: GoalOptions) -> GoalGraph:
        """The graph a goal runs as, in the server's goal mode. A goal is no saved
        workflow: a scoped API key is refused (like a missing workflow) before planning."""
        access = reach(owner)
        access.require(None)
        owner_id = access.user_id
        if self._goals is not None:
            return await self._goals.graph(owner_id, goal, options)
        nodes, edges = await goal_graph(self._skills, owner_id, options)
        return GoalGraph(nodes=nodes, edges=edges, kind=REACT_KIND)

    async def _answer(self, owner: Owner, answers: list[HumanAnswer]) -> str:
        for answer in answers:
            await self._human.submit(
                owner,
                response=answer.response,
                execution_id=answer.execution_id,
                node_id=answer.node_id,
            )
        return answers[-1].execution_id

    async def _request_seq(
        self, owner: Owner, execution_id: str, answers: list[HumanAnswer]
    ) -> int:
        """The seq of the latest request among the nodes answered."""
        nodes = {a.node_id for a in answers if a.execution_id == execution_id}
        seq = 0
        for event in await self._executions.all_events(owner, execution_id):
            if event.type == "human_input_requested" and event.node_id in nodes:
                seq = event.seq
        return seq

    async def _start(self, owner: Owner, request: AgentRunRequest, thread_id: str) -> Execution:
        access = reach(owner)
        access.require(request.workflow_id or None)
        owner_id = access.user_id
        input_data: dict[str, Any] = {"input": request.input_text, "messages": request.messages}
        if request.file_id:
            input_data["fileId"] = request.file_id
            # Seed 003: "the AG-UI run injects the file automatically". Resolved here,
            # before anything is persisted, so an unknown or expired id is a 404 and
            # no execution exists for it.
            if self._files is None or access.scoped:  # uploads are not a scoped key's
                raise NotFound(f"Upload {request.file_id} not found")
            input_data["file"] = await self._files.file_for_run(owner_id, request.file_id)
        run_id = request.run_id or None
        if request.goal is not None:
            graph = await self.goal_graph(owner, request.input_text, request.goal)
            return await self._executions.start_graph(
                owner_id, nodes=graph.nodes, edges=graph.edges, input_data=input_data,
                kind=graph.kind, workflow_name="goal", run_id=run_id, thread_id=thread_id,
            )  # fmt: skip
        if request.workflow_id:
            return await self._executions.start(
                owner, request.workflow_id, input_data, run_id=run_id, thread_id=thread_id
            )
        if request.workflow is None:
            raise ValidationFailed("workflowJson or workflowId is required", field="workflowId")
        return await self._executions.start_graph(
            owner_id, nodes=request.workflow.get("nodes") or [],
            edges=request.workflow.get("edges") or [], input_data=input_data, kind="ag-ui",
            run_id=run_id, thread_id=thread_id,
        )  # fmt: skip
