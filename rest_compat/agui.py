"""Seed 003 chat-client endpoints: AG-UI SSE (`/ag-ui`, `/ag-ui/goal`, `/ag-ui/human-input`),
the tool catalog, skills, traces and `/info`.

The stream is a view of the execution's event log (`ExecutionService.events`);
the run lives in the server's task group, so a client that disconnects
leaves it running, and posting the same `runId` again streams it again.

Run ids are chosen by clients, so each user has their own namespace of them:
a `runId` names the caller's run with that id, and another user's run with the
same id is invisible (it answers like a missing one, as every other id does).
Posting a runId another user has used therefore starts the caller's own run,
never streams or resumes theirs; resuming another user's interrupt is a 404
`{code, message}`. Traces are filed by execution id, so they cannot collide.

Frames that come from a persisted execution event carry `id: <seq>` (on the last
frame of that event); reconnecting with `Last-Event-ID` (or
`forwardedProps.afterSeq`) streams the run again from just after it.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from contextlib import aclosing
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel

from engine.errors import AgentloomError, NotFound, ValidationFailed
from engine.services.agui import goal_graph, parse_ids
from graph.view import context_for
from rest_compat.agui_stream import AgUiMapper, Encoder, parse_interrupt_id
from rest_compat.errors import STATUS_BY_CODE, ApiError
from rest_compat.operations import execute

router = APIRouter(tags=["AG-UI & agent tools (AgentCraftLab)"])
VERSION = "1.0.0"
ENDPOINTS = [
    "POST /ag-ui",
    "POST /ag-ui/goal",
    "POST /ag-ui/human-input",
    "GET /api/tools",
    "GET /api/skills",
    "POST /api/skills",
    "PUT /api/skills/{id}",
    "DELETE /api/skills/{id}",
    "GET /api/traces/latest",
    "GET /api/traces/{runId}",
    "GET /info",
    "POST /graphql",
]


def _api_error(error: AgentloomError) -> ApiError:
    message = str(error)
    if error.field and error.field not in message:
        message = f"{error.field}: {message}"
    return ApiError(STATUS_BY_CODE.get(error.code, 500), error.code, message)


async def _owner(request: Request) -> str:
    try:
        return await context_for(request.app.state.services, request).user_id()
    except AgentloomError as error:
        raise _api_error(error) from error


def _svc(request: Request, name: str) -> Any:
    return request.app.state.services.extra[name]


async def _body(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError as error:
        raise ApiError(422, "VALIDATION_ERROR", "body: invalid JSON") from error
    if not isinstance(body, dict):
        raise ApiError(422, "VALIDATION_ERROR", "body: must be an object")
    return body


def _last_user_text(messages: Any) -> str:
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


def _after_seq(request: Request, props: dict[str, Any]) -> int:
    raw = request.headers.get("last-event-id") or props.get("afterSeq") or 0
    try:
        return max(int(raw), 0)
    except (TypeError, ValueError) as error:
        raise ApiError(422, "VALIDATION_ERROR", "afterSeq: must be an integer") from error


async def _stream(
    request: Request, owner_id: str, execution_id: str, thread_id: str, run_id: str, after: int
) -> StreamingResponse:
    services = request.app.state.services
    execution = await services.executions.get(owner_id, execution_id)
    human = _svc(request, "human_input")
    mapper = AgUiMapper(
        thread_id=thread_id,
        run_id=run_id,
        execution_id=execution_id,
        input_data=execution.input_data,
        after_seq=after,
        answered=human.is_answered,
    )
    encoder = Encoder()

    async def frames() -> AsyncIterator[str]:
        for event in mapper.start():
            yield encoder.encode(event)
        async with aclosing(services.executions.events(owner_id, execution_id, 0)) as events:
            async for event in events:
                outs = await mapper.map(event)
                for i, out in enumerate(outs):
                    # The id goes on the last frame an event yields: resuming from it
                    # (`Last-Event-ID`) then repeats none of that event's frames nor skips any.
                    last = i == len(outs) - 1
                    yield encoder.encode(out, event.seq if last else None)
                if mapper.done:
                    return

    return StreamingResponse(
        frames(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def _resume(request: Request, owner_id: str, entries: Any, run_id: str | None) -> str | None:
    """Answer the interrupts a `resume` list carries; the execution they belong to."""
    if not isinstance(entries, list):
        raise ApiError(422, "VALIDATION_ERROR", "resume: must be a list")
    execution_id = None
    for entry in entries:
        parsed = parse_interrupt_id(str((entry or {}).get("interruptId") or ""))
        if parsed is None:
            raise ApiError(404, "NOT_FOUND", "No pending human input for this session")
        execution_id, node_id = parsed
        payload = entry.get("payload")
        if entry.get("status") == "cancelled":
            response = ""
        elif isinstance(payload, dict) and isinstance(payload.get("response"), str):
            response = payload["response"]
        elif isinstance(payload, str):
            response = payload
        else:
            response = json.dumps(payload)
        await execute(
            request,
            "mutation($e: ID!, $n: String!, $a: String!) "
            "{ submitHumanInput(executionId: $e, nodeId: $n, response: $a) }",
            {"e": execution_id, "n": node_id, "a": response},
        )
    return execution_id


async def _run_for(request: Request, owner_id: str, run_id: str) -> str | None:
    return await _svc(request, "run_lookup").by_run_id(owner_id, run_id)


async def _start_or_stream(request: Request, goal: bool) -> StreamingResponse:
    owner_id = await _owner(request)
    body = await _body(request)
    thread_id = str(body.get("threadId") or "") or f"thread-{uuid.uuid4().hex}"
    run_id = str(body.get("runId") or "") or None
    props = body.get("forwardedProps") or {}
    if not isinstance(props, dict):
        raise ApiError(422, "VALIDATION_ERROR", "forwardedProps: must be an object")
    after = _after_seq(request, props)
    try:
        execution_id = None
        if body.get("resume"):
            execution_id = await _resume(request, owner_id, body["resume"], run_id)
        if execution_id is None and run_id:
            execution_id = await _run_for(request, owner_id, run_id)
        if execution_id is None:
            execution = await _start(request, owner_id, body, props, thread_id, run_id, goal)
            execution_id = execution.id
        if run_id is None:
            run_id = execution_id
        elif body.get("resume") and after == 0:
            after = await _interrupt_seq(request, owner_id, execution_id, body["resume"])
        return await _stream(request, owner_id, execution_id, thread_id, run_id, after)
    except AgentloomError as error:
        if isinstance(error, NotFound) and body.get("resume"):
            raise ApiError(404, "NOT_FOUND", "No pending human input for this session") from error
        raise _api_error(error) from error


async def _interrupt_seq(request: Request, owner_id: str, execution_id: str, entries: Any) -> int:
    """Where a resumed stream picks up: at the interrupt it answers."""
    nodes = {p[1] for e in entries if (p := parse_interrupt_id(str(e.get("interruptId"))))}
    _, events = await _svc(request, "run_lookup").trace_events(execution_id)
    seq = 0
    for event in events:
        if event.type == "human_input_requested" and event.node_id in nodes:
            seq = event.seq
    return seq


async def _start(
    request: Request,
    owner_id: str,
    body: dict[str, Any],
    props: dict[str, Any],
    thread_id: str,
    run_id: str | None,
    goal: bool,
) -> Any:
    executions = request.app.state.services.executions
    text = _last_user_text(body.get("messages"))
    input_data: dict[str, Any] = {"input": text, "messages": body.get("messages") or []}
    if props.get("fileId"):
        input_data["fileId"] = str(props["fileId"])
    if goal:
        nodes, edges = await goal_graph(
            _svc(request, "skills"),
            owner_id,
            tools=parse_ids(props.get("tools"), "tools"),
            skills=parse_ids(props.get("skills"), "skills"),
            provider=str(props["provider"]) if props.get("provider") else None,
            model=str(props["model"]) if props.get("model") else None,
            max_steps=int(props.get("maxSteps") or 0) or None,
        )
        return await executions.start_graph(
            owner_id, nodes=nodes, edges=edges, input_data=input_data, kind="goal",
            workflow_name="goal", run_id=run_id, thread_id=thread_id,
        )  # fmt: skip
    if props.get("workflowId"):
        return await executions.start(
            owner_id, str(props["workflowId"]), input_data, run_id=run_id, thread_id=thread_id
        )
    raw = props.get("workflowJson")
    if not raw:
        raise ValidationFailed(
            "forwardedProps.workflowJson or forwardedProps.workflowId is required",
            field="forwardedProps",
        )
    try:
        graph = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError as error:
        raise ValidationFailed("workflowJson is not valid JSON", field="workflowJson") from error
    if not isinstance(graph, dict):
        raise ValidationFailed("workflowJson must be an object", field="workflowJson")
    return await executions.start_graph(
        owner_id, nodes=graph.get("nodes") or [], edges=graph.get("edges") or [],
        input_data=input_data, kind="ag-ui", run_id=run_id, thread_id=thread_id,
    )  # fmt: skip


@router.post("/ag-ui")
async def ag_ui(request: Request) -> StreamingResponse:
    return await _start_or_stream(request, goal=False)


@router.post("/ag-ui/goal")
async def ag_ui_goal(request: Request) -> StreamingResponse:
    return await _start_or_stream(request, goal=True)


class HumanInputBody(BaseModel):
    threadId: str | None = None
    runId: str | None = None
    response: str


@router.post("/ag-ui/human-input", response_model=None)
async def human_input(request: Request, body: HumanInputBody) -> Any:
    try:
        await execute(
            request,
            "mutation($t: String, $r: String, $a: String!) "
            "{ submitHumanInput(threadId: $t, runId: $r, response: $a) }",
            {"t": body.threadId, "r": body.runId, "a": body.response},
        )
    except ApiError as error:
        if error.code != "NOT_FOUND":
            raise
        return JSONResponse({"error": "No pending human input for this session"}, status_code=404)
    return {"success": True}


@router.get("/api/tools")
async def tools(request: Request) -> list[dict[str, Any]]:
    data = await execute(request, "{ tools { id name description category icon } }")
    return list(data["tools"])


class SkillBody(BaseModel):
    name: str | None = None
    description: str | None = None
    category: str | None = None
    icon: str | None = None
    instructions: str | None = None
    tools: list[str] | None = None


SKILL_FIELDS = "id name description instructions category icon tools isBuiltin"


@router.get("/api/skills")
async def list_skills(request: Request) -> dict[str, Any]:
    data = await execute(request, f"{{ skills {{ {SKILL_FIELDS} }} }}")
    skills = data["skills"]
    return {
        "builtin": [s for s in skills if s["isBuiltin"]],
        "custom": [s for s in skills if not s["isBuiltin"]],
    }


@router.post("/api/skills", status_code=201)
async def create_skill(request: Request, body: SkillBody) -> dict[str, Any]:
    data = await execute(
        request,
        f"mutation($i: SkillInput!) {{ createSkill(input: $i) {{ {SKILL_FIELDS} }} }}",
        {"i": body.model_dump(exclude_none=True)},
    )
    return dict(data["createSkill"])


@router.put("/api/skills/{skill_id}")
async def update_skill(request: Request, skill_id: str, body: SkillBody) -> dict[str, Any]:
    data = await execute(
        request,
        "mutation($id: ID!, $i: SkillInput!) { updateSkill(id: $id, input: $i) "
        f"{{ {SKILL_FIELDS} }} }}",
        {"id": skill_id, "i": body.model_dump(exclude_none=True)},
    )
    return dict(data["updateSkill"])


@router.delete("/api/skills/{skill_id}", status_code=204)
async def delete_skill(request: Request, skill_id: str) -> None:
    await execute(request, "mutation($id: ID!) { deleteSkill(id: $id) }", {"id": skill_id})


TRACE_FIELDS = "runId path entries"


@router.get("/api/traces/latest")
async def latest_trace(request: Request) -> dict[str, Any]:
    data = await execute(request, f"{{ latestTrace {{ {TRACE_FIELDS} }} }}")
    if data["latestTrace"] is None:
        raise ApiError(404, "NOT_FOUND", "No trace yet")
    return dict(data["latestTrace"])


@router.get("/api/traces/{run_id}")
async def trace(request: Request, run_id: str) -> dict[str, Any]:
    data = await execute(
        request, f"query($r: String!) {{ trace(runId: $r) {{ {TRACE_FIELDS} }} }}", {"r": run_id}
    )
    return dict(data["trace"])


@router.get("/info")
async def info() -> dict[str, Any]:
    return {
        "name": "agentloom",
        "protocol": "AG-UI",
        "version": VERSION,
        "mode": "react",
        "endpoints": ENDPOINTS,
    }
