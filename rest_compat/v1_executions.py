"""Seed 000 executions: start (two ways), list, detail, status, cancel, and execution logs."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel

from rest_compat.operations import execute
from rest_compat.shapes import v1_time

router = APIRouter(tags=["executions (v1)"])

EXECUTION_FIELDS = (
    "id workflowId status inputData outputData error progress currentNode taskId "
    "executionTime usage createdAt startedAt finishedAt"
)
LOG_FIELDS = "id nodeId nodeType level message timestamp durationMs"


class ExecuteBody(BaseModel):
    input_data: dict[str, Any] | None = None


class CreateExecutionBody(BaseModel):
    workflow_id: str
    input_data: dict[str, Any] | None = None


def v1_execution(e: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": e["id"],
        "workflow_id": e["workflowId"],
        "status": e["status"],
        "input_data": e["inputData"],
        "output_data": e["outputData"],
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
        "status": e["status"],
        "task_id": e["taskId"],
    }


def v1_log(entry: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": entry["id"],
        "node_id": entry["nodeId"],
        "node_type": entry["nodeType"],
        "level": entry["level"],
        "message": entry["message"],
        "timestamp": v1_time(entry["timestamp"]),
        "duration_ms": entry["durationMs"],
    }


async def _start(
    request: Request, workflow_id: str, input_data: dict[str, Any] | None
) -> dict[str, Any]:
    data = await execute(
        request,
        "mutation($w: ID!, $i: JSON) { executeWorkflow(workflowId: $w, inputData: $i) "
        f"{{ {EXECUTION_FIELDS} }} }}",
        {"w": workflow_id, "i": input_data},
    )
    return v1_started(data["executeWorkflow"])


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
    skip: int = Query(0),
    limit: int = Query(100),
    workflow_id: str | None = None,
    status: str | None = None,
    search: str | None = None,
) -> list[dict[str, Any]]:
    data = await execute(
        request,
        "query($s: Int!, $l: Int!, $w: ID, $st: String, $q: String) { executions(skip: $s,"
        f" limit: $l, workflowId: $w, status: $st, search: $q) {{ {EXECUTION_FIELDS} }} }}",
        {"s": skip, "l": limit, "w": workflow_id, "st": status, "q": search},
    )
    return [v1_execution(e) for e in data["executions"]]


@router.get("/api/v1/executions/{execution_id}")
async def get_execution(request: Request, execution_id: str) -> dict[str, Any]:
    data = await execute(
        request,
        f"query($id: ID!) {{ execution(id: $id) {{ {EXECUTION_FIELDS} }} }}",
        {"id": execution_id},
    )
    return v1_execution(data["execution"])


@router.get("/api/v1/executions/{execution_id}/status")
async def get_status(request: Request, execution_id: str) -> dict[str, Any]:
    data = await execute(
        request,
        "query($id: ID!) { executionStatus(id: $id) { status progress currentNode } }",
        {"id": execution_id},
    )
    s = data["executionStatus"]
    return {"status": s["status"], "progress": s["progress"], "current_node": s["currentNode"]}


@router.post("/api/v1/executions/{execution_id}/cancel")
async def cancel_execution(request: Request, execution_id: str) -> dict[str, Any]:
    data = await execute(
        request,
        f"mutation($id: ID!) {{ cancelExecution(id: $id) {{ {EXECUTION_FIELDS} }} }}",
        {"id": execution_id},
    )
    return v1_execution(data["cancelExecution"])


@router.get("/api/v1/execution-logs/executions/{execution_id}", tags=["execution logs (v1)"])
async def execution_logs(
    request: Request,
    execution_id: str,
    level: str | None = None,
    node_id: str | None = None,
    skip: int = Query(0),
    limit: int = Query(100),
) -> dict[str, Any]:
    data = await execute(
        request,
        "query($id: ID!, $lv: String, $n: String, $s: Int!, $l: Int!) { executionLogs("
        "executionId: $id, level: $lv, nodeId: $n, skip: $s, limit: $l) "
        f"{{ total skip limit logs {{ {LOG_FIELDS} }} }} }}",
        {"id": execution_id, "lv": level, "n": node_id, "s": skip, "l": limit},
    )
    page = data["executionLogs"]
    return {
        "logs": [v1_log(e) for e in page["logs"]],
        "total": page["total"],
        "skip": page["skip"],
        "limit": page["limit"],
    }


@router.get(
    "/api/v1/execution-logs/executions/{execution_id}/summary", tags=["execution logs (v1)"]
)
async def execution_log_summary(request: Request, execution_id: str) -> dict[str, Any]:
    data = await execute(
        request,
        "query($id: ID!) { executionLogSummary(executionId: $id) { totalLogs levelStats "
        "nodeStats { nodeId nodeType logCount totalDurationMs } "
        f"errorLogs {{ {LOG_FIELDS} }} }} }}",
        {"id": execution_id},
    )
    s = data["executionLogSummary"]
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
