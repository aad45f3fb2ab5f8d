"""Seed 003 `/api/workflows` and `/api/templates`: camelCase, `workflowJson` as a string."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel

from rest_compat.operations import execute
from rest_compat.shapes import (
    TEMPLATE_FIELDS,
    WORKFLOW_FIELDS,
    api_template,
    api_workflow,
    parse_workflow_json,
)

router = APIRouter(prefix="/api", tags=["workflows & templates (AgentCraftLab)"])


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


def _graph_fields(body: WorkflowBody | TemplateBody) -> dict[str, Any]:
    fields = body.model_dump(include=body.model_fields_set, exclude={"workflowJson"})
    fields.update(parse_workflow_json(body.workflowJson))
    return fields


@router.post("/workflows", status_code=201)
async def create_workflow(request: Request, body: WorkflowBody) -> dict[str, Any]:
    fields = _graph_fields(body)
    data = await execute(
        request,
        f"mutation($i: WorkflowInput!) {{ createWorkflow(input: $i) {{ {WORKFLOW_FIELDS} }} }}",
        {"i": fields},
    )
    return api_workflow(data["createWorkflow"])


@router.get("/workflows")
async def list_workflows(request: Request) -> list[dict[str, Any]]:
    # Seed 003 lists all of the user's workflows; we page through GraphQL's 100-item pages.
    out: list[dict[str, Any]] = []
    while True:
        data = await execute(
            request,
            'query($skip: Int!) { workflows(skip: $skip, limit: 100, sortBy: "updated_at") '
            f"{{ {WORKFLOW_FIELDS} }} }}",
            {"skip": len(out)},
        )
        page = data["workflows"]
        out.extend(api_workflow(w) for w in page)
        if len(page) < 100:
            return out


@router.get("/workflows/{workflow_id}")
async def get_workflow(request: Request, workflow_id: str) -> dict[str, Any]:
    data = await execute(
        request,
        f"query($id: ID!) {{ workflow(id: $id) {{ {WORKFLOW_FIELDS} }} }}",
        {"id": workflow_id},
    )
    return api_workflow(data["workflow"])


@router.put("/workflows/{workflow_id}")
async def update_workflow(request: Request, workflow_id: str, body: WorkflowBody) -> dict[str, Any]:
    data = await execute(
        request,
        "mutation($id: ID!, $i: WorkflowUpdateInput!) { updateWorkflow(id: $id, input: $i) "
        f"{{ {WORKFLOW_FIELDS} }} }}",
        {"id": workflow_id, "i": _graph_fields(body)},
    )
    return api_workflow(data["updateWorkflow"])


@router.delete("/workflows/{workflow_id}")
async def delete_workflow(request: Request, workflow_id: str) -> dict[str, bool]:
    await execute(request, "mutation($id: ID!) { deleteWorkflow(id: $id) }", {"id": workflow_id})
    return {"success": True}


@router.patch("/workflows/{workflow_id}/publish")
async def publish_workflow(request: Request, workflow_id: str, body: PublishBody) -> dict[str, Any]:
    data = await execute(
        request,
        "mutation($id: ID!, $p: Boolean!, $m: [String!]) { publishWorkflow(id: $id,"
        f" isPublished: $p, inputModes: $m) {{ {WORKFLOW_FIELDS} }} }}",
        {"id": workflow_id, "p": body.isPublished, "m": body.inputModes},
    )
    return api_workflow(data["publishWorkflow"])


@router.get("/templates")
async def list_templates(request: Request) -> list[dict[str, Any]]:
    data = await execute(request, f"{{ templates(includeBuiltin: false) {{ {TEMPLATE_FIELDS} }} }}")
    return [api_template(t) for t in data["templates"]]


@router.post("/templates", status_code=201)
async def create_template(request: Request, body: TemplateBody) -> dict[str, Any]:
    data = await execute(
        request,
        f"mutation($i: TemplateInput!) {{ createTemplate(input: $i) {{ {TEMPLATE_FIELDS} }} }}",
        {"i": _graph_fields(body)},
    )
    return api_template(data["createTemplate"])


@router.put("/templates/{template_id}")
async def update_template(request: Request, template_id: str, body: TemplateBody) -> dict[str, Any]:
    data = await execute(
        request,
        "mutation($id: ID!, $i: TemplateInput!) { updateTemplate(id: $id, input: $i) "
        f"{{ {TEMPLATE_FIELDS} }} }}",
        {"id": template_id, "i": _graph_fields(body)},
    )
    return api_template(data["updateTemplate"])


@router.delete("/templates/{template_id}")
async def delete_template(request: Request, template_id: str) -> dict[str, bool]:
    await execute(request, "mutation($id: ID!) { deleteTemplate(id: $id) }", {"id": template_id})
    return {"success": True}
