"""Seed 003 `/api/workflows` and `/api/templates`: camelCase, `workflowJson` as a string."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel

from rest_compat.errors import ApiError
from rest_compat.operations import USER_ERRORS, execute, operation, payload
from rest_compat.shapes import TEMPLATE_FIELDS, WORKFLOW_FIELDS, api_template, api_workflow

router = APIRouter(prefix="/api", tags=["workflows & templates (AgentCraftLab)"])


def _wf(name: str) -> str:
    return f"{name}(input: $i) {{ workflow {{ {WORKFLOW_FIELDS} }} {USER_ERRORS} }}"


def _tpl(name: str) -> str:
    return f"{name}(input: $i) {{ template {{ {TEMPLATE_FIELDS} }} {USER_ERRORS} }}"


LIST = operation(
    "query($after: String) { workflows(first: 100, after: $after, orderBy: "
    f"{{field: UPDATED_AT, direction: DESC}}) {{ nodes {{ {WORKFLOW_FIELDS} }} "
    "pageInfo { hasNextPage endCursor } } }",
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
PUBLISH = operation(f"mutation($i: PublishWorkflowInput!) {{ {_wf('publishWorkflow')} }}", __name__)
TEMPLATES = operation(
    "query($after: String) { templates(first: 100, after: $after, includeBuiltin: false) "
    f"{{ nodes {{ {TEMPLATE_FIELDS} }} pageInfo {{ hasNextPage endCursor }} }} }}",
    __name__,
)
CREATE_TEMPLATE = operation(
    f"mutation($i: CreateTemplateInput!) {{ {_tpl('createTemplate')} }}", __name__
)
UPDATE_TEMPLATE = operation(
    f"mutation($i: UpdateTemplateInput!) {{ {_tpl('updateTemplate')} }}", __name__
)
DELETE_TEMPLATE = operation(
    "mutation($i: DeleteTemplateInput!) { deleteTemplate(input: $i) "
    f"{{ deletedTemplateId {USER_ERRORS} }} }}",
    __name__,
)


class WorkflowBody(BaseModel):
    name: str
    description: str | None = None
    type: str | None = None
    workflowJson: str | None = None


class PublishBody(BaseModel):
    isPublished: bool
    inputModes: list[str] | None = None


class TemplateBody(BaseModel):
    name: str
    description: str | None = None
    category: str | None = None
    icon: str | None = None
    tags: list[str] | None = None
    workflowJson: str | None = None


def _fields(body: BaseModel) -> dict[str, Any]:
    given = body.model_dump(include=body.model_fields_set)
    # An empty workflowJson is "no graph given", as the seed's editor sends it.
    if not (given.get("workflowJson") or "").strip():
        given.pop("workflowJson", None)
    return given


def _missing(what: str, object_id: str) -> ApiError:
    return ApiError(404, "NOT_FOUND", f"{what} {object_id} not found")


@router.post("/workflows", status_code=201)
async def create_workflow(request: Request, body: WorkflowBody) -> dict[str, Any]:
    data = await execute(request, CREATE, {"i": _fields(body)})
    return api_workflow(payload(data, "createWorkflow")["workflow"])


@router.get("/workflows")
async def list_workflows(request: Request) -> list[dict[str, Any]]:
    # Seed 003 lists all of the user's workflows: every page of the connection.
    out: list[dict[str, Any]] = []
    after = None
    while True:
        page = (await execute(request, LIST, {"after": after}))["workflows"]
        out += [api_workflow(w) for w in page["nodes"]]
        if not page["pageInfo"]["hasNextPage"]:
            return out
        after = page["pageInfo"]["endCursor"]


@router.get("/workflows/{workflow_id}")
async def get_workflow(request: Request, workflow_id: str) -> dict[str, Any]:
    found = (await execute(request, GET, {"id": workflow_id}))["workflow"]
    if found is None:
        raise _missing("Workflow", workflow_id)
    return api_workflow(found)


@router.put("/workflows/{workflow_id}")
async def update_workflow(request: Request, workflow_id: str, body: WorkflowBody) -> dict[str, Any]:
    data = await execute(request, UPDATE, {"i": {"id": workflow_id, **_fields(body)}})
    return api_workflow(payload(data, "updateWorkflow")["workflow"])


@router.delete("/workflows/{workflow_id}")
async def delete_workflow(request: Request, workflow_id: str) -> dict[str, bool]:
    payload(await execute(request, DELETE, {"i": {"id": workflow_id}}), "deleteWorkflow")
    return {"success": True}


@router.patch("/workflows/{workflow_id}/publish")
async def publish_workflow(request: Request, workflow_id: str, body: PublishBody) -> dict[str, Any]:
    fields = {"id": workflow_id, "isPublished": body.isPublished, "inputModes": body.inputModes}
    data = await execute(request, PUBLISH, {"i": fields})
    return api_workflow(payload(data, "publishWorkflow")["workflow"])


@router.get("/templates")
async def list_templates(request: Request) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    after = None
    while True:
        page = (await execute(request, TEMPLATES, {"after": after}))["templates"]
        out += [api_template(t) for t in page["nodes"]]
        if not page["pageInfo"]["hasNextPage"]:
            return out
        after = page["pageInfo"]["endCursor"]


@router.post("/templates", status_code=201)
async def create_template(request: Request, body: TemplateBody) -> dict[str, Any]:
    data = await execute(request, CREATE_TEMPLATE, {"i": {"template": _fields(body)}})
    return api_template(payload(data, "createTemplate")["template"])


@router.put("/templates/{template_id}")
async def update_template(request: Request, template_id: str, body: TemplateBody) -> dict[str, Any]:
    variables = {"i": {"id": template_id, "template": _fields(body)}}
    data = await execute(request, UPDATE_TEMPLATE, variables)
    return api_template(payload(data, "updateTemplate")["template"])


@router.delete("/templates/{template_id}")
async def delete_template(request: Request, template_id: str) -> dict[str, bool]:
    data = await execute(request, DELETE_TEMPLATE, {"i": {"id": template_id}})
    payload(data, "deleteTemplate")
    return {"success": True}
