"""Seed 003 chat-client endpoints: AG-UI SSE (`/ag-ui`, `/ag-ui/goal`, `/ag-ui/human-input`),
the tool catalog, skills, traces and `/info`.

`/ag-ui` and `/ag-ui/goal` run the `startAgentRun` / `startGoalRun` mutations as
the caller (start, find the caller's run by `runId`, or answer a `resume`), then
stream by subscribing to `executionEvents` with the same context; the run lives in the server's task group, so a client that disconnects
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
from collections.abc import AsyncIterator
from contextlib import aclosing
from typing import Any

from ag_ui.core import RunErrorEvent
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, StreamingResponse
from graphql import ExecutionResult, GraphQLError
from pydantic import BaseModel

from engine.errors import AgentloomError
from engine.services.human_input import NO_PENDING_INPUT
from graph.context import Context
from graph.view import context_for
from rest_compat.agui_human import HumanInputMode, KeepAliveStreamingResponse, human_input_mode
from rest_compat.agui_stream import AgUiMapper, Encoder, parse_interrupt_id
from rest_compat.errors import ApiError
from rest_compat.operations import USER_ERRORS, execute, operation, payload
from rest_compat.server_info import server_info

router = APIRouter(tags=["AG-UI & agent tools (AgentCraftLab)"])
VERSION = "1.0.0"


RUN_FIELDS = (
    "run { runId threadId resumeAfterSeq plannedWorkflow execution { id inputData } } "
    f"{USER_ERRORS}"
)
START_AGENT_RUN = operation(
    f"mutation($i: AgentRunInput!) {{ startAgentRun(input: $i) {{ {RUN_FIELDS} }} }}", __name__
)
START_GOAL_RUN = operation(
    f"mutation($i: GoalRunInput!) {{ startGoalRun(input: $i) {{ {RUN_FIELDS} }} }}", __name__
)
EVENTS = operation(
    "subscription($id: ID!, $after: Int!) { executionEvents(executionId: $id, afterSeq: $after) "
    "{ seq type nodeId timestamp data } }",
    __name__,
)
ANSWERED = operation(
    "query($e: ID!, $n: String!) { humanInputAnswered(executionId: $e, nodeId: $n) }", __name__
)
SUBMIT = operation(
    "mutation($i: SubmitHumanInputInput!) { submitHumanInput(input: $i) "
    f"{{ accepted {USER_ERRORS} }} }}",
    __name__,
)
TOOLS = operation("{ tools { id name description category icon } }", __name__)
SKILL_FIELDS = "id name description instructions category icon tools isBuiltin"
SKILLS = operation(f"{{ skills {{ {SKILL_FIELDS} }} }}", __name__)
CREATE_SKILL = operation(
    f"mutation($i: CreateSkillInput!) {{ createSkill(input: $i) {{ skill {{ {SKILL_FIELDS} }} "
    f"{USER_ERRORS} }} }}",
    __name__,
)
UPDATE_SKILL = operation(
    f"mutation($i: UpdateSkillInput!) {{ updateSkill(input: $i) {{ skill {{ {SKILL_FIELDS} }} "
    f"{USER_ERRORS} }} }}",
    __name__,
)
DELETE_SKILL = operation(
    f"mutation($i: IdInput!) {{ deleteSkill(input: $i) {{ deletedId {USER_ERRORS} }} }}",
    __name__,
)
TRACE_FIELDS = "runId path entries"
LATEST_TRACE = operation(f"{{ latestTrace {{ {TRACE_FIELDS} }} }}", __name__)
TRACE = operation(f"query($r: String!) {{ trace(runId: $r) {{ {TRACE_FIELDS} }} }}", __name__)


async def _authenticate(context: Context) -> None:
    try:
        await context.viewer()  # who asks; what they may reach is the services' call
    except AgentloomError as error:
        raise ApiError.from_agentloom(error) from error


async def _body(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError as error:
        raise ApiError(422, "VALIDATION_ERROR", "body: invalid JSON") from error
    if not isinstance(body, dict):
        raise ApiError(422, "VALIDATION_ERROR", "body: must be an object")
    return body


def _after_seq(request: Request, props: dict[str, Any]) -> int:
    raw = request.headers.get("last-event-id") or props.get("afterSeq") or 0
    try:
        return max(int(raw), 0)
    except (TypeError, ValueError) as error:
        raise ApiError(422, "VALIDATION_ERROR", "afterSeq: must be an integer") from error


def _text(value: Any) -> str | None:
    return str(value) if value else None


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


def resume_response(entry: dict[str, Any]) -> str:
    """The answer an AG-UI `resume` entry carries ("" when it cancels the interrupt)."""
    payload = entry.get("payload")
    if entry.get("status") == "cancelled":
        return ""
    if isinstance(payload, dict) and isinstance(payload.get("response"), str):
        return str(payload["response"])
    if isinstance(payload, str):
        return payload
    return json.dumps(payload)


def _answers(resume: Any) -> list[dict[str, Any]] | None:
    """AG-UI `resume` entries -> the `answers` of `AgentRunInput`."""
    if not resume:
        return None
    if not isinstance(resume, list):
        raise ApiError(422, "VALIDATION_ERROR", "resume: must be a list")
    answers = []
    for entry in resume:
        entry = entry if isinstance(entry, dict) else {}
        parsed = parse_interrupt_id(str(entry.get("interruptId") or ""))
        if parsed is None:
            raise ApiError(404, "NOT_FOUND", NO_PENDING_INPUT)
        execution_id, node_id = parsed
        answers.append(
            {"executionId": execution_id, "nodeId": node_id, "response": resume_response(entry)}
        )
    return answers


def _ids(raw: Any, field: str) -> list[str] | None:
    """Tool or skill ids: seed 003 sends one comma-separated string; a list works too."""
    if raw is None or raw == "":
        return None
    if isinstance(raw, str):
        return [t.strip() for t in raw.split(",") if t.strip()]
    if isinstance(raw, list) and all(isinstance(t, str) for t in raw):
        return list(raw)
    raise ApiError(422, "VALIDATION_ERROR", f"{field}: must be a comma-separated list of ids")


def _run_input(body: dict[str, Any], props: dict[str, Any], goal: bool) -> dict[str, Any]:
    """The `AgentRunInput` / `GoalRunInput` an AG-UI request body asks for."""
    messages = body.get("messages")
    fields: dict[str, Any] = {
        "runId": _text(body.get("runId")),
        "threadId": _text(body.get("threadId")),
        "messages": messages if isinstance(messages, list) else None,
        "fileId": _text(props.get("fileId")),
        "answers": _answers(body.get("resume")),
    }
    text = last_user_text(messages)
    if goal:
        try:
            max_steps = int(props.get("maxSteps") or 0) or None
        except (TypeError, ValueError) as error:
            raise ApiError(422, "VALIDATION_ERROR", "maxSteps: must be an integer") from error
        fields |= {
            "goal": text,
            "tools": _ids(props.get("tools"), "tools"),
            "skills": _ids(props.get("skills"), "skills"),
            "provider": _text(props.get("provider")),
            "model": _text(props.get("model")),
            "maxSteps": max_steps,
            "mcpServers": props.get("mcpServers"),
            "httpTools": props.get("httpTools"),
        }
    else:
        raw = props.get("workflowJson")
        fields |= {
            "input": text,
            "workflowId": _text(props.get("workflowId")),
            "workflowJson": (raw if isinstance(raw, str) else json.dumps(raw)) if raw else None,
        }
    return fields


def _error_frame(encoder: Encoder, error: GraphQLError | None) -> str:
    if error is None:
        return encoder.encode(RunErrorEvent(message="could not follow the run", code="INTERNAL"))
    code = str((error.extensions or {}).get("code") or "INTERNAL_ERROR")
    return encoder.encode(RunErrorEvent(message=error.message, code=code))


async def _stream(
    request: Request,
    context: Context,
    run: dict[str, Any],
    after: int,
    human_mode: HumanInputMode = "stream",
) -> StreamingResponse:
    schema = request.app.state.schema
    execution = run["execution"]
    execution_id = str(execution["id"])

    async def answered(execution_id: str, node_id: str) -> bool:
        result = await schema.execute(
            ANSWERED.document,
            variable_values={"e": execution_id, "n": node_id},
            context_value=context,
        )
        return bool(result.data and result.data["humanInputAnswered"])

    mapper = AgUiMapper(
        human_mode=human_mode,
        thread_id=run["threadId"],
        run_id=run["runId"],
        execution_id=execution_id,
        input_data=execution["inputData"],
        after_seq=after,
        answered=answered,
    )
    if run.get("plannedWorkflow"):  # a Flow-mode goal run: the workflow planned for it
        mapper.state["workflow"] = run["plannedWorkflow"]
    encoder = Encoder()

    async def frames() -> AsyncIterator[str]:
        for opening in mapper.start():
            yield encoder.encode(opening)
        # Subscribed inside the response's task, which iterates it. The mapper rebuilds
        # its state from the whole log, so the subscription starts at 0.
        stream = await schema.subscribe(
            EVENTS.document, variable_values={"id": execution_id, "after": 0}, context_value=context
        )
        if isinstance(stream, ExecutionResult):
            yield _error_frame(encoder, stream.errors[0] if stream.errors else None)
            return
        async with aclosing(stream) as results:
            async for result in results:
                if result.errors:
                    yield _error_frame(encoder, result.errors[0])
                    return
                event = dict(result.data["executionEvents"])
                event["type"] = event["type"].lower()  # the EventType enum's values
                outs = await mapper.map(event)
                for i, out in enumerate(outs):
                    # The id goes on the last frame an event yields: resuming from it
                    # (`Last-Event-ID`) then repeats none of that event's frames nor skips any.
                    last = i == len(outs) - 1
                    yield encoder.encode(out, event["seq"] if last else None)
                if mapper.done:
                    return

    # A waiting human node can keep the stream quiet for a long time: keep-alive comments.
    return KeepAliveStreamingResponse(
        frames(),
        keepalive_s=request.app.state.settings.sse_keepalive_seconds,
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def _start_or_stream(request: Request, goal: bool) -> StreamingResponse:
    """Run `startAgentRun`/`startGoalRun` as the caller, then stream `executionEvents`."""
    context = context_for(request.app.state.services, request)
    await _authenticate(context)
    body = await _body(request)
    props = body.get("forwardedProps") or {}
    if not isinstance(props, dict):
        raise ApiError(422, "VALIDATION_ERROR", "forwardedProps: must be an object")
    after = _after_seq(request, props)
    human_mode = human_input_mode(body, props)
    result = await request.app.state.schema.execute(
        (START_GOAL_RUN if goal else START_AGENT_RUN).document,
        variable_values={"i": _run_input(body, props, goal)},
        context_value=context,
    )
    if result.errors:
        raise ApiError.from_graphql(result.errors[0])
    run = payload(result.data, "startGoalRun" if goal else "startAgentRun")["run"]
    return await _stream(request, context, run, after or run["resumeAfterSeq"], human_mode)


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
        fields = {"threadId": body.threadId, "runId": body.runId, "response": body.response}
        payload(await execute(request, SUBMIT, {"i": fields}), "submitHumanInput")
    except ApiError as error:
        if error.code != "NOT_FOUND":
            raise
        return JSONResponse({"error": NO_PENDING_INPUT}, status_code=404)
    return {"success": True}


@router.get("/api/tools")
async def tools(request: Request) -> list[dict[str, Any]]:
    data = await execute(request, TOOLS)
    return list(data["tools"])


class SkillBody(BaseModel):
    name: str | None = None
    description: str | None = None
    category: str | None = None
    icon: str | None = None
    instructions: str | None = None
    tools: list[str] | None = None


@router.get("/api/skills")
async def list_skills(request: Request) -> dict[str, Any]:
    data = await execute(request, SKILLS)
    skills = data["skills"]
    return {
        "builtin": [s for s in skills if s["isBuiltin"]],
        "custom": [s for s in skills if not s["isBuiltin"]],
    }


@router.post("/api/skills", status_code=201)
async def create_skill(request: Request, body: SkillBody) -> dict[str, Any]:
    data = await execute(
        request, CREATE_SKILL, {"i": {"skill": body.model_dump(exclude_none=True)}}
    )
    return dict(payload(data, "createSkill")["skill"])


@router.put("/api/skills/{skill_id}")
async def update_skill(request: Request, skill_id: str, body: SkillBody) -> dict[str, Any]:
    fields = {"id": skill_id, "skill": body.model_dump(exclude_none=True)}
    data = await execute(request, UPDATE_SKILL, {"i": fields})
    return dict(payload(data, "updateSkill")["skill"])


@router.delete("/api/skills/{skill_id}")
async def delete_skill(request: Request, skill_id: str) -> dict[str, bool]:
    payload(await execute(request, DELETE_SKILL, {"i": {"id": skill_id}}), "deleteSkill")
    return {"success": True}


@router.get("/api/traces/latest")
async def latest_trace(request: Request) -> dict[str, Any]:
    data = await execute(request, LATEST_TRACE)
    if data["latestTrace"] is None:
        raise ApiError(404, "NOT_FOUND", "No trace yet")
    return dict(data["latestTrace"])


@router.get("/api/traces/{run_id}")
async def trace(request: Request, run_id: str) -> dict[str, Any]:
    data = await execute(request, TRACE, {"r": run_id})
    if data["trace"] is None:
        raise ApiError(404, "NOT_FOUND", f"Trace {run_id} not found")
    return dict(data["trace"])


@router.get("/info")
async def info(request: Request) -> dict[str, Any]:
    return await server_info(request, version=VERSION)
