"""Seed 000 `/api/v1/workflows`: CRUD, validate, templates, import/export, versions."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from rest_compat.operations import execute
from rest_compat.shapes import (
    TEMPLATE_FIELDS,
    VERSION_FIELDS,
    WORKFLOW_FIELDS,
    v1_template,
    v1_time,
    v1_version,
    v1_workflow,
)

router = APIRouter(prefix="/api/v1/workflows", tags=["workflows (v1)"])

DELETED_MESSAGE = "工作流已删除"


class WorkflowCreate(BaseModel):
    name: str
    description: str | None = None
    type: str | None = None
    nodes: list[dict[str, Any]] = Field(default_factory=list)
    edges: list[dict[str, Any]] = Field(default_factory=list)


class WorkflowUpdate(BaseModel):
    name: str | None = None
    description: str | None = None
    type: str | None = None
    status: str | None = None
    nodes: list[dict[str, Any]] | None = None
    edges: list[dict[str, Any]] | None = None
    comment: str | None = None


class GraphBody(BaseModel):
    name: str | None = None
    nodes: list[Any] = Field(default_factory=list)
    edges: list[Any] = Field(default_factory=list)


class ImportBody(BaseModel):
    workflow: dict[str, Any]


class RollbackBody(BaseModel):
    comment: str | None = None


@router.get("")
async def list_workflows(
    request: Request,
    skip: int = Query(0),
    limit: int = Query(100),
    search: str | None = None,
    status: str | None = None,
    sort_by: str = "created_at",
    sort_order: Literal["asc", "desc"] = "desc",
) -> list[dict[str, Any]]:
    data = await execute(
        request,
        "query($skip: Int!, $limit: Int!, $search: String, $status: String, $sortBy: String!,"
        " $sortOrder: String!) { workflows(skip: $skip, limit: $limit, search: $search,"
        f" status: $status, sortBy: $sortBy, sortOrder: $sortOrder) {{ {WORKFLOW_FIELDS} }} }}",
        {
            "skip": skip,
            "limit": limit,
            "search": search,
            "status": status,
            "sortBy": sort_by,
            "sortOrder": sort_order,
        },
    )
    return [v1_workflow(w) for w in data["workflows"]]


@router.post("", status_code=201)
async def create_workflow(request: Request, body: WorkflowCreate) -> dict[str, Any]:
    data = await execute(
        request,
        f"mutation($i: WorkflowInput!) {{ createWorkflow(input: $i) {{ {WORKFLOW_FIELDS} }} }}",
        {"i": body.model_dump()},
    )
    return v1_workflow(data["createWorkflow"])


@router.post("/validate")
async def validate_workflow(request: Request, body: GraphBody) -> dict[str, Any]:
    data = await execute(
        request,
        "mutation($i: GraphInput!) { validateWorkflow(input: $i) { valid errors warnings } }",
        {"i": body.model_dump()},
    )
    return data["validateWorkflow"]


@router.get("/templates")
async def list_templates(request: Request) -> list[dict[str, Any]]:
    data = await execute(request, f"{{ templates {{ {TEMPLATE_FIELDS} }} }}")
    return [v1_template(t) for t in data["templates"]]


@router.post("/templates/{template_id}/create", status_code=201)
async def create_from_template(
    request: Request, template_id: str, name: str | None = None, description: str | None = None
) -> dict[str, Any]:
    data = await execute(
        request,
        "mutation($t: ID!, $n: String, $d: String) { createWorkflowFromTemplate("
        f"templateId: $t, name: $n, description: $d) {{ {WORKFLOW_FIELDS} }} }}",
        {"t": template_id, "n": name, "d": description},
    )
    return v1_workflow(data["createWorkflowFromTemplate"])


@router.post("/import", status_code=201)
async def import_workflow(request: Request, body: ImportBody) -> dict[str, Any]:
    data = await execute(
        request,
        f"mutation($w: JSON!) {{ importWorkflow(workflow: $w) {{ {WORKFLOW_FIELDS} }} }}",
        {"w": body.workflow},
    )
    return v1_workflow(data["importWorkflow"])


@router.get("/{workflow_id}")
async def get_workflow(request: Request, workflow_id: str) -> dict[str, Any]:
    data = await execute(
        request,
        f"query($id: ID!) {{ workflow(id: $id) {{ {WORKFLOW_FIELDS} }} }}",
        {"id": workflow_id},
    )
    return v1_workflow(data["workflow"])


@router.put("/{workflow_id}")
async def update_workflow(
    request: Request, workflow_id: str, body: WorkflowUpdate
) -> dict[str, Any]:
    changes = body.model_dump(include=body.model_fields_set)
    data = await execute(
        request,
        "mutation($id: ID!, $i: WorkflowUpdateInput!) { updateWorkflow(id: $id, input: $i) "
        f"{{ {WORKFLOW_FIELDS} }} }}",
        {"id": workflow_id, "i": changes},
    )
    return v1_workflow(data["updateWorkflow"])


@router.delete("/{workflow_id}")
async def delete_workflow(request: Request, workflow_id: str) -> dict[str, str]:
    await execute(request, "mutation($id: ID!) { deleteWorkflow(id: $id) }", {"id": workflow_id})
    return {"message": DELETED_MESSAGE}


@router.get("/{workflow_id}/export")
async def export_workflow(request: Request, workflow_id: str) -> dict[str, Any]:
    data = await execute(
        request,
        "query($id: ID!) { exportWorkflow(id: $id) { workflow exportedAt } }",
        {"id": workflow_id},
    )
    exported = data["exportWorkflow"]
    workflow = dict(exported["workflow"])
    for key in ("created_at", "updated_at"):
        workflow[key] = v1_time(workflow.get(key))
    return {"workflow": workflow, "exported_at": v1_time(exported["exportedAt"])}


@router.get("/{workflow_id}/versions")
async def list_versions(request: Request, workflow_id: str) -> list[dict[str, Any]]:
    data = await execute(
        request,
        f"query($id: ID!) {{ workflowVersions(workflowId: $id) {{ {VERSION_FIELDS} }} }}",
        {"id": workflow_id},
    )
    return [v1_version(v) for v in data["workflowVersions"]]


@router.get("/{workflow_id}/versions/{version}")
async def get_version(request: Request, workflow_id: str, version: int) -> dict[str, Any]:
    data = await execute(
        request,
        "query($id: ID!, $v: Int!) { workflowVersion(workflowId: $id, version: $v) "
        f"{{ {VERSION_FIELDS} }} }}",
        {"id": workflow_id, "v": version},
    )
    return v1_version(data["workflowVersion"])


@router.post("/{workflow_id}/versions/{version}/rollback")
async def rollback(
    request: Request, workflow_id: str, version: int, body: RollbackBody | None = None
) -> dict[str, Any]:
    data = await execute(
        request,
        "mutation($id: ID!, $v: Int!, $c: String) { rollbackWorkflow(id: $id, version: $v,"
        f" comment: $c) {{ {WORKFLOW_FIELDS} }} }}",
        {"id": workflow_id, "v": version, "c": body.comment if body else None},
    )
    return v1_workflow(data["rollbackWorkflow"])
