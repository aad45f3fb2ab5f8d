"""Chat-client services: human input answers, skills, and run traces.

HumanInputService.submit  -> NotFound when nothing is waiting
SkillService              -> built-in skills (data) + the owner's own
TracingSink               -> writes <traces_dir>/<runId or executionId>.jsonl at a run's end
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

import anyio

from engine.errors import NotFound, ValidationFailed
from engine.events import ExecutionEvent
from engine.ports import EventSink
from engine.services.records import new_id
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
        run_id, events = await self._source.trace_events(execution_id)
        path = self.directory / f"{safe_trace_name(run_id or execution_id)}.jsonl"
        text = "".join(trace_line(e) + "\n" for e in events)
        await anyio.Path(self.directory).mkdir(parents=True, exist_ok=True)
        await anyio.Path(path).write_text(text, encoding="utf-8")
        return path
