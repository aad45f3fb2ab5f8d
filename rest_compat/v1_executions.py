"""Seed 000 executions: start (two ways), list, detail, status, cancel, and execution logs."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel

from rest_compat.errors import ApiError
from rest_compat.operations import USER_ERRORS, execute, operation, payload
from rest_compat.shapes import MAX_PAGE, Limit, Skip, enum_in, enum_out, page_args, v1_time

router = APIRouter(tags=["executions (v1)"])

EXECUTION_FIELDS = (
    "id workflowId status inputData outputData error progress currentNode taskId "
    "executionTime usage createdAt startedAt finishedAt"
)
LOG_FIELDS = "id nodeId nodeType level message timestamp durationMs"
STATUSES = ("pending", "running", "completed", "failed", "cancelled")
LEVELS = ("info", "warn", "error", "debug")

START = operation(
    "mutation($i: ExecuteWorkflowInput!) { executeWorkflow(input: $i) "
    f"{{ execution {{ {EXECUTION_FIELDS} }} {USER_ERRORS} }} }}",
    __name__,
)
LIST = operation(
    "query($first: Int, $after: String, $w: ID, $st: ExecutionStatus, $q: String) "
    "{ executions(first: $first, after: $after, workflowId: $w, status: $st, search: $q) "
    f"{{ nodes {{ {EXECUTION_FIELDS} }} }} }}",
    __name__,
)
GET = operation(f"query($id: ID!) {{ execution(id: $id) {{ {EXECUTION_FIELDS} }} }}", __name__)
STATUS = operation(
    "query($id: ID!) { execution(id: $id) { status progress currentNode } }", __name__
)
CANCEL = operation(
    "mutation($i: CancelExecutionInput!) { cancelExecution(input: $i) "
    f"{{ execution {{ {EXECUTION_FIELDS} }} {USER_ERRORS} }} }}",
    __name__,
)
RETRY = operation(
    "mutation($i: RetryExecutionInput!) { retryExecution(input: $i) "
    f"{{ execution {{ {EXECUTION_FIELDS} retryOf }} {USER_ERRORS} }} }}",
    __name__,
)
LOGS = operation(
    "query($id: ID!, $lv: LogLevel, $n: String, $first: Int, $after: String) { execution(id: $id)"
    " { logs(first: $first, after: $after, level: $lv, nodeId: $n) "
    f"{{ totalCount nodes {{ {LOG_FIELDS} }} }} }} }}",
    __name__,
)
SUMMARY = operation(
    "query($id: ID!) { execution(id: $id) { logSummary { totalLogs levelStats "
    "nodeStats { nodeId nodeType logCount totalDurationMs } "
    f"errorLogs {{ {LOG_FIELDS} }} }} }} }}",
    __name__,
)


class ExecuteBody(BaseModel):
    input_data: dict[str, Any] | None = None


class RetryBody(BaseModel):
    from_node_id: str
    """Run this node and everything downstream again; the others keep their outputs."""


class CreateExecutionBody(BaseModel):
    workflow_id: str
    input_data: dict[str, Any] | None = None


def v1_output(value: Any) -> Any:
    """Seed 000 shows `output_data` as an object: a run whose end value is not one gives
    `{"result": <value>}` (GraphQL's `outputData` keeps the raw value)."""
    if value is None or isinstance(value, dict):
        return value
    return {"result": value}


def v1_execution(e: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": e["id"],
        "workflow_id": e["workflowId"],
        "status": enum_out(e["status"]),
        "input_data": e["inputData"],
        "output_data": v1_output(e["outputData"]),
        "error": e["error"],
        "progress": e["progress"],
        "current_node": e["currentNode"],
        "task_id": e["taskId"],
        "execution_time": e["executionTime"],
        "usage": e["usage"],
        "created_at": v1_time(e["createdAt"]),
        "started_at": v1_time(e["startedAt"]),
        "finished_at": v1_time(e["finishedAt"]),
    }


def v1_started(e: dict[str, Any]) -> dict[str, Any]:
    """The 201 body seed 000 shows for a new run."""
    return {
        "id": e["id"],
        "workflow_id": e["workflowId"],
        "status": enum_out(e["status"]),
        "task_id": e["taskId"],
    }


def v1_log(entry: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": entry["id"],
        "node_id": entry["nodeId"],
        "node_type": entry["nodeType"],
        "level": enum_out(entry["level"]),
        "message": entry["message"],
        "timestamp": v1_time(entry["timestamp"]),
        "duration_ms": entry["durationMs"],
    }


def _missing(execution_id: str) -> ApiError:
    return ApiError(404, "NOT_FOUND", f"Execution {execution_id} not found")


async def _start(
    request: Request, workflow_id: str, input_data: dict[str, Any] | None
) -> dict[str, Any]:
    variables = {"i": {"workflowId": workflow_id, "inputData": input_data}}
    data = await execute(request, START, variables)
    return v1_started(payload(data, "executeWorkflow")["execution"])


@router.post("/api/v1/workflows/{workflow_id}/execute", status_code=201)
async def execute_workflow(
    request: Request, workflow_id: str, body: ExecuteBody | None = None
) -> dict[str, Any]:
    return await _start(request, workflow_id, body.input_data if body else None)


@router.post("/api/v1/executions", status_code=201)
async def create_execution(request: Request, body: CreateExecutionBody) -> dict[str, Any]:
    return await _start(request, body.workflow_id, body.input_data)


@router.get("/api/v1/executions")
async def list_executions(
    request: Request,
    skip: Skip = 0,
    limit: Limit = MAX_PAGE,
    workflow_id: str | None = None,
    status: str | None = None,
    search: str | None = None,
) -> list[dict[str, Any]]:
    variables = {
        **page_args(skip, limit),
        "w": workflow_id,
        "st": enum_in(status, "status", STATUSES),
        "q": search,
    }
    data = await execute(request, LIST, variables)
    return [v1_execution(e) for e in data["executions"]["nodes"]]


async def _execution(request: Request, op: Any, execution_id: str) -> dict[str, Any]:
    found = (await execute(request, op, {"id": execution_id}))["execution"]
    if found is None:
        raise _missing(execution_id)
    return dict(found)


@router.get("/api/v1/executions/{execution_id}")
async def get_execution(request: Request, execution_id: str) -> dict[str, Any]:
    return v1_execution(await _execution(request, GET, execution_id))


@router.get("/api/v1/executions/{execution_id}/status")
async def get_status(request: Request, execution_id: str) -> dict[str, Any]:
    s = await _execution(request, STATUS, execution_id)
    return {
        "status": enum_out(s["status"]),
        "progress": s["progress"],
        "current_node": s["currentNode"],
    }


@router.post("/api/v1/executions/{execution_id}/cancel")
async def cancel_execution(request: Request, execution_id: str) -> dict[str, Any]:
    data = await execute(request, CANCEL, {"i": {"id": execution_id}})
    return v1_execution(payload(data, "cancelExecution")["execution"])


@router.post("/api/v1/executions/{execution_id}/retry", status_code=201)
async def retry_execution(request: Request, execution_id: str, body: RetryBody) -> dict[str, Any]:
    """A new run of the same workflow version and input that reuses the recorded outputs
    of every node not downstream of `from_node_id` (issue 16; not in seed 000). Answers
    like starting a run, plus `retry_of`."""
    variables = {"i": {"id": execution_id, "fromNodeId": body.from_node_id}}
    data = await execute(request, RETRY, variables)
    execution = payload(data, "retryExecution")["execution"]
    return {**v1_started(execution), "retry_of": execution["retryOf"]}


@router.get("/api/v1/execution-logs/executions/{execution_id}", tags=["execution logs (v1)"])
async def execution_logs(
    request: Request,
    execution_id: str,
    level: str | None = None,
    node_id: str | None = None,
    skip: Skip = 0,
    limit: int = Query(100, ge=1, le=1000, description="At most this many (1 to 1000)."),
) -> dict[str, Any]:
    if not 1 <= limit <= 1000:
        raise ApiError(422, "VALIDATION_ERROR", "limit: must be between 1 and 1000")
    logs: list[dict[str, Any]] = []
    total = 0
    # A connection page is at most 100 lines; seed 000 allows 1,000: read pages in turn.
    while True:
        page_size = min(100, limit - len(logs))
        offset = skip + len(logs)
        variables = {
            "id": execution_id,
            "lv": enum_in(level, "level", LEVELS),
            "n": node_id,
            **page_args(offset, page_size),
        }
        found = (await execute(request, LOGS, variables))["execution"]
        if found is None:
            raise _missing(execution_id)
        total = found["logs"]["totalCount"]
        lines = found["logs"]["nodes"]
        logs += [v1_log(e) for e in lines]
        if len(lines) < page_size or len(logs) >= limit:
            break
    return {"logs": logs, "total": total, "skip": skip, "limit": limit}


@router.get(
    "/api/v1/execution-logs/executions/{execution_id}/summary", tags=["execution logs (v1)"]
)
async def execution_log_summary(request: Request, execution_id: str) -> dict[str, Any]:
    s = (await _execution(request, SUMMARY, execution_id))["logSummary"]
    return {
        "total_logs": s["totalLogs"],
        "level_stats": s["levelStats"],
        "node_stats": [
            {
                "node_id": n["nodeId"],
                "node_type": n["nodeType"],
                "log_count": n["logCount"],
                "total_duration_ms": n["totalDurationMs"],
            }
            for n in s["nodeStats"]
        ],
        "error_logs": [v1_log(e) for e in s["errorLogs"]],
    }
