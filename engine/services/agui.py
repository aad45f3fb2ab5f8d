"""Chat-client services: human input answers, skills, and run traces.

HumanInputService.submit  -> NotFound when nothing is waiting
SkillService              -> built-in skills (data) + the owner's own
AgentRunService           -> AG-UI runs: start, stream again by runId, resume an interrupt
goal_graph                -> start -> agent -> end for a goal, with checked tools and skills
TracingSink               -> writes <traces_dir>/<executionId>.jsonl at a run's end
TraceReader               -> the owner's trace by run id (or execution id), or the latest one

AG-UI run ids are chosen by clients, so they live in a per-user namespace: the
same run id from two users names two runs, and trace files are named by the
server's execution id so that one user's run can never overwrite another's trace.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import anyio

from engine.errors import NotFound, ValidationFailed
from engine.events import ExecutionEvent
from engine.ports import EventSink
from engine.services.executions import ExecutionService
from engine.services.records import Execution, new_id
from engine.skills import BUILTIN_SKILLS, Skill
from engine.tools.catalog import ToolSpec

log = logging.getLogger(__name__)
TERMINAL_EVENTS = frozenset({"run_finished", "run_failed", "run_cancelled"})


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
    ) -> bool: ...

    async def is_answered(self, execution_id: str, node_id: str) -> bool: ...


class HumanInputService:
    def __init__(self, *, store: HumanAnswerStore, wait_s: float = 3.0) -> None:
        self._store = store
        self._wait_s = wait_s

    async def submit(
        self,
        owner_id: str,
        *,
        response: str,
        execution_id: str | None = None,
        thread_id: str | None = None,
        run_id: str | None = None,
        node_id: str | None = None,
    ) -> None:
        """Answer the owner's pending request that matches; NotFound when none is waiting.

        A node announces its request just before it is stored, so a client that answers
        right after the announcement is given a moment for the request to appear.
        """
        if not (execution_id or thread_id or run_id):
            raise ValidationFailed("executionId, threadId or runId is required", field="runId")
        with anyio.move_on_after(self._wait_s):
            while True:
                if await self._store.answer(
                    owner_id,
                    execution_id=execution_id,
                    thread_id=thread_id,
                    run_id=run_id,
                    node_id=node_id,
                    response=response,
                ):
                    return
                await anyio.sleep(0.1)
        raise NotFound("No pending human input for this session")

    async def is_answered(self, execution_id: str, node_id: str) -> bool:
        return await self._store.is_answered(execution_id, node_id)


class SkillStore(Protocol):
    async def find(self, owner_id: str) -> list[Skill]: ...
    async def get(self, owner_id: str, skill_id: str) -> Skill | None: ...
    async def add(self, skill: Skill) -> None: ...
    async def save(self, skill: Skill) -> None: ...
    async def delete(self, owner_id: str, skill_id: str) -> bool: ...


SKILL_FIELDS = ("name", "description", "category", "icon", "instructions", "tools")


class SkillService:
    def __init__(self, *, store: SkillStore, tools: Mapping[str, ToolSpec]) -> None:
        self._store = store
        self._tools = tools

    @property
    def tool_ids(self) -> frozenset[str]:
        return frozenset(self._tools)

    def builtin(self) -> list[Skill]:
        return list(BUILTIN_SKILLS.values())

    async def custom(self, owner_id: str) -> list[Skill]:
        return await self._store.find(owner_id)

    async def get(self, owner_id: str, skill_id: str) -> Skill:
        skill = BUILTIN_SKILLS.get(skill_id) or await self._store.get(owner_id, skill_id)
        if skill is None:
            raise NotFound(f"Skill {skill_id} not found")
        return skill

    async def resolve(self, owner_id: str, skill_ids: list[str]) -> list[Skill]:
        return [await self.get(owner_id, s) for s in skill_ids]

    def _check(self, fields: Mapping[str, Any]) -> None:
        if "name" in fields and not str(fields["name"] or "").strip():
            raise ValidationFailed("name is required", field="name")
        tools = fields.get("tools") or []
        unknown = [t for t in tools if t not in self._tools]
        if unknown:
            raise ValidationFailed(f"unknown tools: {', '.join(unknown)}", field="tools")

    async def create(self, owner_id: str, fields: Mapping[str, Any]) -> Skill:
        if "name" not in fields:
            raise ValidationFailed("name is required", field="name")
        self._check(fields)
        values = {k: fields[k] for k in SKILL_FIELDS if fields.get(k) is not None}
        values["tools"] = list(values.get("tools") or [])
        skill = Skill(id=new_id(), owner_id=owner_id, **values)
        await self._store.add(skill)
        return skill

    async def update(self, owner_id: str, skill_id: str, fields: Mapping[str, Any]) -> Skill:
        if skill_id in BUILTIN_SKILLS:
            raise NotFound(f"Skill {skill_id} not found")
        skill = await self._store.get(owner_id, skill_id)
        if skill is None:
            raise NotFound(f"Skill {skill_id} not found")
        self._check(fields)
        for key in SKILL_FIELDS:
            if fields.get(key) is not None:
                setattr(skill, key, list(fields[key]) if key == "tools" else fields[key])
        await self._store.save(skill)
        return skill

    async def delete(self, owner_id: str, skill_id: str) -> None:
        if skill_id in BUILTIN_SKILLS or not await self._store.delete(owner_id, skill_id):
            raise NotFound(f"Skill {skill_id} not found")


def parse_ids(raw: Any, field: str) -> list[str]:
    """Tool or skill ids given as a list or as one comma-separated string."""
    if raw is None or raw == "":
        return []
    if isinstance(raw, str):
        return [t.strip() for t in raw.split(",") if t.strip()]
    if isinstance(raw, list) and all(isinstance(t, str) for t in raw):
        return list(raw)
    raise ValidationFailed(f"{field} must be a comma-separated list of ids", field=field)


async def expand_agent_skills(
    skill_service: SkillService, owner_id: str, nodes: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Give every agent node with `data.skills` its skills' tools and instructions.

    Done once when a run starts, so the run's snapshot shows what the agent was given;
    an unknown (or another user's) skill is a ValidationFailed naming the node's field.
    """
    expanded = []
    for index, node in enumerate(nodes):
        data = node.get("data") if isinstance(node, dict) else None
        skills = data.get("skills") if isinstance(data, dict) else None
        if node.get("type") != "agent" or not skills:
            expanded.append(node)
            continue
        field = f"nodes[{index}].data.skills"
        if not isinstance(skills, list) or not all(isinstance(s, str) for s in skills):
            raise ValidationFailed("skills must be a list of skill ids", field=field)
        try:
            resolved = await skill_service.resolve(owner_id, skills)
        except NotFound as exc:
            raise ValidationFailed(exc.message, field=field) from exc
        tools = list(data.get("tools") or [])
        for skill in resolved:
            tools += [t for t in skill.tools if t not in tools]
        instructions = [s.instructions for s in resolved if s.instructions]
        if data.get("system"):
            instructions.append(str(data["system"]))
        new_data = {**data, "tools": tools}
        if instructions:
            new_data["system"] = "\n\n".join(instructions)
        expanded.append({**node, "data": new_data})
    return expanded


async def goal_graph(
    skill_service: SkillService,
    owner_id: str,
    *,
    tools: list[str],
    skills: list[str],
    provider: str | None = None,
    model: str | None = None,
    max_steps: int | None = None,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """start -> agent -> end: the ReAct agent for a goal, with the chosen tools and skills.

    Unknown tools are a ValidationFailed on `tools`; an unknown (or another user's)
    skill is NotFound. A skill adds its tools and its instructions to the agent.
    """
    tools = list(tools)
    unknown = [t for t in tools if t not in skill_service.tool_ids]
    if unknown:
        raise ValidationFailed(f"unknown tools: {', '.join(unknown)}", field="tools")
    resolved = await skill_service.resolve(owner_id, skills)
    for skill in resolved:
        tools += [t for t in skill.tools if t not in tools]
    system = "\n\n".join(s.instructions for s in resolved if s.instructions)
    data: dict[str, Any] = {
        "provider": provider or "openai",
        "prompt": "{input.input}",
        "tools": tools,
        "max_steps": max_steps or 8,
    }
    if model:
        data["model"] = model
    if system:
        data["system"] = system
    nodes = [
        {"id": "start", "type": "start", "position": {"x": 0, "y": 0}, "data": {}},
        {"id": "agent", "type": "agent", "position": {"x": 200, "y": 0}, "data": data},
        {"id": "end", "type": "end", "position": {"x": 400, "y": 0}, "data": {}},
    ]
    edges = [
        {"id": "e1", "source": "start", "target": "agent"},
        {"id": "e2", "source": "agent", "target": "end"},
    ]
    return nodes, edges


class TraceSource(Protocol):
    async def trace_events(self, execution_id: str) -> tuple[str | None, list[ExecutionEvent]]:
        """The execution's run id and its whole persisted event log."""
        ...


def trace_line(event: ExecutionEvent) -> str:
    return json.dumps(
        {
            "seq": event.seq,
            "type": event.type,
            "nodeId": event.node_id,
            "timestamp": event.timestamp.isoformat(),
            "executionId": event.execution_id,
            "data": event.data,
        },
        default=str,
        ensure_ascii=False,
    )


def safe_trace_name(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)[:200] or "run"


def trace_path(directory: Path, execution_id: str) -> Path:
    return directory / f"{safe_trace_name(execution_id)}.jsonl"


class TracingSink:
    """Wraps the run's sink: on the terminal event, writes the run's JSONL trace file."""

    def __init__(self, inner: EventSink, *, source: TraceSource, directory: Path) -> None:
        self._inner = inner
        self._source = source
        self.directory = directory

    async def publish(self, event: ExecutionEvent) -> None:
        await self._inner.publish(event)
        if event.type in TERMINAL_EVENTS:
            try:
                await self.write(event.execution_id)
            except Exception:  # a trace is a diagnostic: never fail the run for it
                log.exception("could not write the trace of %s", event.execution_id)

    async def write(self, execution_id: str) -> Path:
        _, events = await self._source.trace_events(execution_id)
        path = trace_path(self.directory, execution_id)
        text = "".join(trace_line(e) + "\n" for e in events)
        await anyio.Path(self.directory).mkdir(parents=True, exist_ok=True)
        await anyio.Path(path).write_text(text, encoding="utf-8")
        return path


@dataclass(kw_only=True)
class Trace:
    run_id: str
    """The run id the client chose, or the execution id when it chose none."""
    path: str
    entries: list[str] = field(default_factory=list)
    """The JSONL lines, one execution event each."""


class RunLookup(Protocol):
    async def by_run_id(self, owner_id: str, run_id: str) -> str | None: ...
    async def latest_run(self, owner_id: str) -> tuple[str, str | None] | None: ...


class TraceReader:
    """Reads the owner's trace files; another user's run answers like a missing one."""

    def __init__(self, *, lookup: RunLookup, executions: ExecutionService, directory: Path) -> None:
        self._lookup = lookup
        self._executions = executions
        self._directory = directory

    def _read(self, execution_id: str, run_id: str | None) -> Trace | None:
        path = trace_path(self._directory, execution_id)
        if not path.exists():
            return None
        lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line]
        return Trace(run_id=run_id or execution_id, path=str(path), entries=lines)

    async def for_run(self, owner_id: str, run_id: str) -> Trace:
        """By AG-UI run id, else by execution id; NotFound until the run has ended."""
        execution_id = await self._lookup.by_run_id(owner_id, run_id)
        found_run_id: str | None = run_id
        if execution_id is None:
            try:
                execution = await self._executions.get(owner_id, run_id)
            except NotFound as error:
                raise NotFound(f"Trace {run_id} not found") from error
            execution_id, found_run_id = execution.id, execution.run_id
        trace = self._read(execution_id, found_run_id)
        if trace is None:
            raise NotFound(f"Trace {run_id} not found")
        return trace

    async def latest(self, owner_id: str) -> Trace | None:
        """The trace of the owner's most recently ended run."""
        found = await self._lookup.latest_run(owner_id)
        return self._read(*found) if found else None


NO_PENDING_INPUT = "No pending human input for this session"


def last_user_text(messages: Any) -> str:
    """The text of the last user message in an AG-UI `messages` list ("" when none)."""
    if not isinstance(messages, list):
        return ""
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, str):
                return content
            if isinstance(content, list):
                return "".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return ""


def agent_input_data(messages: Any, file_id: str | None) -> dict[str, Any]:
    """A run's input: the last user message as `input`, all messages, and the file if any."""
    data: dict[str, Any] = {"input": last_user_text(messages), "messages": messages or []}
    if file_id:
        data["fileId"] = str(file_id)
    return data


def parse_interrupt_id(value: str) -> tuple[str, str] | None:
    """`<executionId>:<nodeId>` -> (executionId, nodeId); None when malformed."""
    execution_id, sep, node_id = value.partition(":")
    return (execution_id, node_id) if sep and execution_id and node_id else None


def resume_response(entry: Mapping[str, Any]) -> str:
    """The answer an AG-UI `resume` entry carries ("" when it cancels the interrupt)."""
    payload = entry.get("payload")
    if entry.get("status") == "cancelled":
        return ""
    if isinstance(payload, dict) and isinstance(payload.get("response"), str):
        return str(payload["response"])
    if isinstance(payload, str):
        return payload
    return json.dumps(payload)


@dataclass(kw_only=True)
class GoalOptions:
    tools: Any = None
    """Tool ids: a list or one comma-separated string."""
    skills: Any = None
    provider: str | None = None
    model: str | None = None
    max_steps: int | None = None


@dataclass(kw_only=True)
class AgentRunRequest:
    run_id: str | None = None
    thread_id: str | None = None
    messages: Any = None
    workflow_json: str | None = None
    workflow_id: str | None = None
    file_id: str | None = None
    resume: Any = None
    """AG-UI `resume` entries: `{interruptId, status?, payload?}` each."""
    goal: GoalOptions | None = None
    """Set for a goal run (start -> ReAct agent -> end) instead of a workflow."""


@dataclass(kw_only=True)
class AgentRun:
    execution: Execution
    run_id: str
    """The client's run id, or the execution id when it chose none."""
    thread_id: str
    resume_after_seq: int = 0
    """For a resume with a run id: the seq of the interrupt it answers (a stream picks up there)."""


class RunEventSource(RunLookup, TraceSource, Protocol):
    pass


class AgentRunService:
    """AG-UI runs: start one, stream an existing one again (same owner + runId), or resume it.

    Run ids live in a per-user namespace: another user's run with the same id is
    invisible, so posting it starts the caller's own run.
    """

    def __init__(
        self,
        *,
        executions: ExecutionService,
        skills: SkillService,
        human: HumanInputService,
        lookup: RunEventSource,
    ) -> None:
        self._executions = executions
        self._skills = skills
        self._human = human
        self._lookup = lookup

    async def run(
        self,
        owner_id: str,
        request: AgentRunRequest,
        *,
        may_start: Callable[[str | None], Awaitable[None]] | None = None,
    ) -> AgentRun:
        """`may_start(workflow_id)` is awaited before anything starts (None: an ad-hoc graph)."""
        thread_id = request.thread_id or f"thread-{uuid.uuid4().hex}"
        try:
            execution_id = None
            if request.resume:
                execution_id = await self._resume(owner_id, request.resume)
            if execution_id is None and request.run_id:
                execution_id = await self._lookup.by_run_id(owner_id, request.run_id)
            if execution_id is None:
                execution = await self._start(owner_id, request, thread_id, may_start)
            else:
                execution = await self._executions.get(owner_id, execution_id)
            resume_seq = 0
            if request.resume and request.run_id:
                resume_seq = await self._interrupt_seq(execution.id, request.resume)
        except NotFound as error:
            if request.resume:
                raise NotFound(NO_PENDING_INPUT) from error
            raise
        return AgentRun(
            execution=execution,
            run_id=request.run_id or execution.id,
            thread_id=thread_id,
            resume_after_seq=resume_seq,
        )

    async def _resume(self, owner_id: str, entries: Any) -> str | None:
        """Answer the interrupts a `resume` list carries; the execution they belong to."""
        if not isinstance(entries, list):
            raise ValidationFailed("must be a list", field="resume")
        execution_id = None
        for entry in entries:
            entry = entry if isinstance(entry, dict) else {}
            parsed = parse_interrupt_id(str(entry.get("interruptId") or ""))
            if parsed is None:
                raise NotFound(NO_PENDING_INPUT)
            execution_id, node_id = parsed
            await self._human.submit(
                owner_id,
                response=resume_response(entry),
                execution_id=execution_id,
                node_id=node_id,
            )
        return execution_id

    async def _interrupt_seq(self, execution_id: str, entries: Any) -> int:
        """Where a resumed stream picks up: at the interrupt it answers."""
        nodes = {
            p[1]
            for e in entries
            if isinstance(e, dict) and (p := parse_interrupt_id(str(e.get("interruptId"))))
        }
        _, events = await self._lookup.trace_events(execution_id)
        seq = 0
        for event in events:
            if event.type == "human_input_requested" and event.node_id in nodes:
                seq = event.seq
        return seq

    async def _start(
        self,
        owner_id: str,
        request: AgentRunRequest,
        thread_id: str,
        may_start: Callable[[str | None], Awaitable[None]] | None,
    ) -> Execution:
        # Checked before anything starts: a scoped API key may only run its saved workflows.
        if may_start is not None:
            await may_start(request.workflow_id or None)
        input_data = agent_input_data(request.messages, request.file_id)
        run_id = request.run_id or None
        goal = request.goal
        if goal is not None:
            nodes, edges = await goal_graph(
                self._skills,
                owner_id,
                tools=parse_ids(goal.tools, "tools"),
                skills=parse_ids(goal.skills, "skills"),
                provider=goal.provider,
                model=goal.model,
                max_steps=goal.max_steps,
            )
            return await self._executions.start_graph(
                owner_id, nodes=nodes, edges=edges, input_data=input_data, kind="goal",
                workflow_name="goal", run_id=run_id, thread_id=thread_id,
            )  # fmt: skip
        if request.workflow_id:
            return await self._executions.start(
                owner_id, request.workflow_id, input_data, run_id=run_id, thread_id=thread_id
            )
        raw = request.workflow_json
        if not raw:
            raise ValidationFailed(
                "forwardedProps.workflowJson or forwardedProps.workflowId is required",
                field="forwardedProps",
            )
        try:
            graph = json.loads(raw)
        except ValueError as error:
            raise ValidationFailed(
                "workflowJson is not valid JSON", field="workflowJson"
            ) from error
        if not isinstance(graph, dict):
            raise ValidationFailed("workflowJson must be an object", field="workflowJson")
        return await self._executions.start_graph(
            owner_id, nodes=graph.get("nodes") or [], edges=graph.get("edges") or [],
            input_data=input_data, kind="ag-ui", run_id=run_id, thread_id=thread_id,
        )  # fmt: skip
