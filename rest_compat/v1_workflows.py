"""Seed 000 `/api/v1/workflows`: CRUD, validate, templates, import/export, versions."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from rest_compat.errors import ApiError
from rest_compat.operations import USER_ERRORS, execute, operation, payload
from rest_compat.shapes import (
    MAX_PAGE,
    TEMPLATE_FIELDS,
    VERSION_FIELDS,
    WORKFLOW_FIELDS,
    Limit,
    Skip,
    VersionNumber,
    enum_in,
    graph_json,
    page_args,
    v1_template,
    v1_time,
    v1_version,
    v1_workflow,
)

router = APIRouter(prefix="/api/v1/workflows", tags=["workflows (v1)"])

DELETED_MESSAGE = "工作流已删除"
STATUSES = ("draft", "published", "running", "stopped")
SORT_FIELDS = ("name", "created_at", "updated_at")


def _wf(name: str) -> str:
    return f"{name}(input: $i) {{ workflow {{ {WORKFLOW_FIELDS} }} {USER_ERRORS} }}"


LIST = operation(
    "query($first: Int, $after: String, $search: String, $status: WorkflowStatus, "
    "$order: WorkflowOrder) { workflows(first: $first, after: $after, search: $search, "
    f"status: $status, orderBy: $order) {{ nodes {{ {WORKFLOW_FIELDS} }} }} }}",
    __name__,
)
GET = operation(f"query($id: ID!) {{ workflow(id: $id) {{ {WORKFLOW_FIELDS} }} }}", __name__)
CREATE = operation(f"mutation($i: CreateWorkflowInput!) {{ {_wf('createWorkflow')} }}", __name__)
UPDATE = operation(f"mutation($i: UpdateWorkflowInput!) {{ {_wf('updateWorkflow')} }}", __name__)
DELETE = operation(
    "mutation($i: DeleteWorkflowInput!) { deleteWorkflow(input: $i) "
    f"{{ deletedWorkflowId {USER_ERRORS} }} }}",
    __name__,
)
VALIDATE = operation(
    "mutation($i: ValidateWorkflowInput!) { validateWorkflow(input: $i) "
    f"{{ valid errors warnings {USER_ERRORS} }} }}",
    __name__,
)
TEMPLATES = operation(
    f"query($after: String) {{ templates(first: 100, after: $after) "
    f"{{ nodes {{ {TEMPLATE_FIELDS} }} pageInfo {{ hasNextPage endCursor }} }} }}",
    __name__,
)
FROM_TEMPLATE = operation(
    f"mutation($i: CreateWorkflowFromTemplateInput!) {{ {_wf('createWorkflowFromTemplate')} }}",
    __name__,
)
IMPORT = operation(f"mutation($i: ImportWorkflowInput!) {{ {_wf('importWorkflow')} }}", __name__)
EXPORT = operation("query($id: ID!) { workflowExport(id: $id) { workflow exportedAt } }", __name__)
VERSIONS = operation(
    "query($id: ID!, $after: String) { workflow(id: $id) { versions(first: 100, after: $after)"
    f" {{ nodes {{ {VERSION_FIELDS} }} pageInfo {{ hasNextPage endCursor }} }} }} }}",
    __name__,
)
VERSION = operation(
    "query($id: ID!, $v: Int!) { workflow(id: $id) { savedVersion(number: $v) "
    f"{{ {VERSION_FIELDS} }} }} }}",
    __name__,
)
ROLLBACK = operation(
    f"mutation($i: RollbackWorkflowInput!) {{ {_wf('rollbackWorkflow')} }}", __name__
)


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


def _missing(what: str, workflow_id: str) -> ApiError:
    return ApiError(404, "NOT_FOUND", f"{what} {workflow_id} not found")


@router.get("")
async def list_workflows(
    request: Request,
    skip: Skip = 0,
    limit: Limit = MAX_PAGE,
    search: str | None = None,
    status: str | None = None,
    sort_by: str = "created_at",
    sort_order: Literal["asc", "desc"] = "desc",
) -> list[dict[str, Any]]:
    if sort_by not in SORT_FIELDS:
        raise ApiError(422, "VALIDATION_ERROR", f"sort_by: must be one of {', '.join(SORT_FIELDS)}")
    variables = {
        **page_args(skip, limit),
        "search": search,
        "status": enum_in(status, "status", STATUSES),
        "order": {"field": sort_by.upper(), "direction": sort_order.upper()},
    }
    data = await execute(request, LIST, variables)
    return [v1_workflow(w) for w in data["workflows"]["nodes"]]


@router.post("", status_code=201)
async def create_workflow(request: Request, body: WorkflowCreate) -> dict[str, Any]:
    fields = {
        "name": body.name,
        "description": body.description,
        "type": body.type,
        "workflowJson": graph_json(body.nodes, body.edges),
    }
    data = await execute(request, CREATE, {"i": fields})
    return v1_workflow(payload(data, "createWorkflow")["workflow"])


@router.post("/validate")
async def validate_workflow(request: Request, body: GraphBody) -> dict[str, Any]:
    data = await execute(
        request, VALIDATE, {"i": {"workflowJson": graph_json(body.nodes, body.edges)}}
    )
    report = payload(data, "validateWorkflow")
    return {"valid": report["valid"], "errors": report["errors"], "warnings": report["warnings"]}


@router.get("/templates")
async def list_templates(request: Request) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    after = None
    while True:
        page = (await execute(request, TEMPLATES, {"after": after}))["templates"]
        out += [v1_template(t) for t in page["nodes"]]
        if not page["pageInfo"]["hasNextPage"]:
            return out
        after = page["pageInfo"]["endCursor"]


@router.post("/templates/{template_id}/create", status_code=201)
async def create_from_template(
    request: Request, template_id: str, name: str | None = None, description: str | None = None
) -> dict[str, Any]:
    fields = {"templateId": template_id, "name": name, "description": description}
    data = await execute(request, FROM_TEMPLATE, {"i": fields})
    return v1_workflow(payload(data, "createWorkflowFromTemplate")["workflow"])


@router.post("/import", status_code=201)
async def import_workflow(request: Request, body: ImportBody) -> dict[str, Any]:
    data = await execute(request, IMPORT, {"i": {"workflow": body.workflow}})
    return v1_workflow(payload(data, "importWorkflow")["workflow"])


@router.get("/{workflow_id}")
async def get_workflow(request: Request, workflow_id: str) -> dict[str, Any]:
    found = (await execute(request, GET, {"id": workflow_id}))["workflow"]
    if found is None:
        raise _missing("Workflow", workflow_id)
    return v1_workflow(found)


@router.put("/{workflow_id}")
async def update_workflow(
    request: Request, workflow_id: str, body: WorkflowUpdate
) -> dict[str, Any]:
    given = body.model_fields_set
    fields: dict[str, Any] = {"id": workflow_id}
    for key in ("name", "description", "type", "comment"):
        if key in given:
            fields[key] = getattr(body, key)
    if "status" in given:
        fields["status"] = enum_in(body.status, "status", STATUSES)
    # Raw JSON, not workflowJson: seed 000 changes the graph only, so the document's other
    # keys (seed 003's `extra`) stay as they were saved.
    if "nodes" in given:
        fields["rawNodes"] = body.nodes
    if "edges" in given:
        fields["rawEdges"] = body.edges
    data = await execute(request, UPDATE, {"i": fields})
    return v1_workflow(payload(data, "updateWorkflow")["workflow"])


@router.delete("/{workflow_id}")
async def delete_workflow(request: Request, workflow_id: str) -> dict[str, str]:
    payload(await execute(request, DELETE, {"i": {"id": workflow_id}}), "deleteWorkflow")
    return {"message": DELETED_MESSAGE}


@router.get("/{workflow_id}/export")
async def export_workflow(request: Request, workflow_id: str) -> dict[str, Any]:
    exported = (await execute(request, EXPORT, {"id": workflow_id}))["workflowExport"]
    if exported is None:
        raise _missing("Workflow", workflow_id)
    workflow = dict(exported["workflow"])
    for key in ("created_at", "updated_at"):
        workflow[key] = v1_time(workflow.get(key))
    return {"workflow": workflow, "exported_at": v1_time(exported["exportedAt"])}


@router.get("/{workflow_id}/versions")
async def list_versions(request: Request, workflow_id: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    after = None
    while True:
        found = (await execute(request, VERSIONS, {"id": workflow_id, "after": after}))["workflow"]
        if found is None:
            raise _missing("Workflow", workflow_id)
        page = found["versions"]
        out += [v1_version(v) for v in page["nodes"]]
        if not page["pageInfo"]["hasNextPage"]:
            return out
        after = page["pageInfo"]["endCursor"]


@router.get("/{workflow_id}/versions/{version}")
async def get_version(request: Request, workflow_id: str, version: VersionNumber) -> dict[str, Any]:
    found = (await execute(request, VERSION, {"id": workflow_id, "v": version}))["workflow"]
    if found is None:
        raise _missing("Workflow", workflow_id)
    if found["savedVersion"] is None:
        raise ApiError(404, "NOT_FOUND", f"Version {version} of workflow {workflow_id} not found")
    return v1_version(found["savedVersion"])


@router.post("/{workflow_id}/versions/{version}/rollback")
async def rollback(
    request: Request, workflow_id: str, version: VersionNumber, body: RollbackBody | None = None
) -> dict[str, Any]:
    fields = {"id": workflow_id, "version": version, "comment": body.comment if body else None}
    data = await execute(request, ROLLBACK, {"i": fields})
    return v1_workflow(payload(data, "rollbackWorkflow")["workflow"])
