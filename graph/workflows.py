"""Workflows over GraphQL: CRUD, validation, versions, import/export, templates."""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry.scalars import JSON

from engine.services.records import (
    ExecutionQuery,
    Template,
    Workflow,
    WorkflowQuery,
    WorkflowVersion,
)
from graph.context import Context

if TYPE_CHECKING:
    from graph.executions import ExecutionType

Info = strawberry.Info[Context, None]


def workflow_json(nodes: list[Any], edges: list[Any]) -> str:
    """Seed 003's `workflowJson`: the graph as a JSON string."""
    return json.dumps({"nodes": nodes, "edges": edges}, ensure_ascii=False)


@strawberry.type(name="Workflow")
class WorkflowType:
    id: strawberry.ID
    name: str
    description: str
    type: str
    nodes: JSON
    edges: JSON
    version: int
    status: str
    is_published: bool
    input_modes: list[str]
    created_at: datetime
    updated_at: datetime

    @strawberry.field(description="The graph as a JSON string (seed 003's workflowJson).")
    def workflow_json(self) -> str:
        return workflow_json(self.nodes, self.edges)  # type: ignore[arg-type]

    @strawberry.field(description="This workflow's executions, newest first.")
    async def executions(
        self, info: strawberry.Info[Context, None], limit: int = 20
    ) -> list[Annotated[ExecutionType, strawberry.lazy("graph.executions")]]:
        from graph.executions import ExecutionType

        owner = await info.context.user_id()
        query = ExecutionQuery(workflow_id=self.id, limit=limit)
        found = await info.context.services.executions.find(owner, query)
        return [ExecutionType.of(e) for e in found]

    @classmethod
    def of(cls, wf: Workflow) -> WorkflowType:
        return cls(
            id=strawberry.ID(wf.id),
            name=wf.name,
            description=wf.description,
            type=wf.type,
            nodes=wf.nodes,
            edges=wf.edges,
            version=wf.version,
            status=wf.status,
            is_published=wf.is_published,
            input_modes=wf.input_modes,
            created_at=wf.created_at,
            updated_at=wf.updated_at,
        )


@strawberry.type(name="WorkflowVersion")
class WorkflowVersionType:
    workflow_id: strawberry.ID
    version: int
    name: str
    description: str
    nodes: JSON
    edges: JSON
    comment: str
    created_at: datetime

    @classmethod
    def of(cls, v: WorkflowVersion) -> WorkflowVersionType:
        return cls(
            workflow_id=strawberry.ID(v.workflow_id),
            version=v.version,
            name=v.name,
            description=v.description,
            nodes=v.nodes,
            edges=v.edges,
            comment=v.comment,
            created_at=v.created_at,
        )


@strawberry.type(name="Template")
class TemplateType:
    id: strawberry.ID
    name: str
    description: str
    category: str
    icon: str
    tags: list[str]
    nodes: JSON
    edges: JSON
    builtin: bool
    created_at: datetime
    updated_at: datetime

    @strawberry.field(description="The graph as a JSON string (seed 003's workflowJson).")
    def workflow_json(self) -> str:
        return workflow_json(self.nodes, self.edges)  # type: ignore[arg-type]

    @classmethod
    def of(cls, t: Template) -> TemplateType:
        return cls(
            id=strawberry.ID(t.id),
            name=t.name,
            description=t.description,
            category=t.category,
            icon=t.icon,
            tags=t.tags,
            nodes=t.nodes,
            edges=t.edges,
            builtin=t.builtin,
            created_at=t.created_at,
            updated_at=t.updated_at,
        )


@strawberry.type
class ValidationReport:
    valid: bool
    errors: list[str]
    warnings: list[str]


@strawberry.type
class WorkflowExport:
    workflow: JSON
    exported_at: datetime


@strawberry.input
class WorkflowInput:
    name: str
    description: str | None = None
    type: str | None = None
    nodes: JSON | None = None
    edges: JSON | None = None


@strawberry.input
class WorkflowUpdateInput:
    """Only the fields given change; each update writes a new version."""

    name: str | None = strawberry.UNSET
    description: str | None = strawberry.UNSET
    type: str | None = strawberry.UNSET
    status: str | None = strawberry.UNSET
    nodes: JSON | None = strawberry.UNSET
    edges: JSON | None = strawberry.UNSET
    comment: str | None = None


@strawberry.input
class GraphInput:
    nodes: JSON | None = None
    edges: JSON | None = None
    name: str | None = None


@strawberry.input
class TemplateInput:
    name: str | None = strawberry.UNSET
    description: str | None = strawberry.UNSET
    category: str | None = strawberry.UNSET
    icon: str | None = strawberry.UNSET
    tags: list[str] | None = strawberry.UNSET
    nodes: JSON | None = strawberry.UNSET
    edges: JSON | None = strawberry.UNSET


def given(obj: object, names: tuple[str, ...]) -> dict[str, Any]:
    """The input fields the client actually sent (UNSET ones are left out)."""
    return {n: getattr(obj, n) for n in names if getattr(obj, n) is not strawberry.UNSET}


def export_document(wf: Workflow) -> dict[str, Any]:
    return {
        "id": wf.id,
        "name": wf.name,
        "description": wf.description,
        "type": wf.type,
        "nodes": wf.nodes,
        "edges": wf.edges,
        "version": wf.version,
        "status": wf.status,
        "created_at": wf.created_at.isoformat(),
        "updated_at": wf.updated_at.isoformat(),
    }


@strawberry.type
class WorkflowQueryRoot:
    @strawberry.field
    async def workflow(self, info: Info, id: strawberry.ID) -> WorkflowType:
        owner = await info.context.user_id()
        await info.context.check_workflow_scope(id)
        return WorkflowType.of(await info.context.services.workflows.get(owner, id))

    @strawberry.field(
        description="The caller's workflows; limit 1-100, search on name/description."
    )
    async def workflows(
        self,
        info: Info,
        skip: int = 0,
        limit: int = 100,
        search: str | None = None,
        status: str | None = None,
        sort_by: str = "created_at",
        sort_order: str = "desc",
    ) -> list[WorkflowType]:
        owner = await info.context.user_id()
        viewer = await info.context.viewer()
        query = WorkflowQuery(
            only_ids=viewer.scoped_workflow_ids,
            skip=skip,
            limit=limit,
            search=search or None,
            status=status or None,
            sort_by=sort_by,  # type: ignore[arg-type]
            sort_order=sort_order,  # type: ignore[arg-type]
        )
        found = await info.context.services.workflows.list(owner, query)
        return [WorkflowType.of(w) for w in found]

    @strawberry.field
    async def workflow_versions(
        self, info: Info, workflow_id: strawberry.ID
    ) -> list[WorkflowVersionType]:
        owner = await info.context.user_id()
        await info.context.check_workflow_scope(workflow_id)
        versions = await info.context.services.workflows.versions(owner, workflow_id)
        return [WorkflowVersionType.of(v) for v in versions]

    @strawberry.field
    async def workflow_version(
        self, info: Info, workflow_id: strawberry.ID, version: int
    ) -> WorkflowVersionType:
        owner = await info.context.user_id()
        await info.context.check_workflow_scope(workflow_id)
        found = await info.context.services.workflows.version(owner, workflow_id, version)
        return WorkflowVersionType.of(found)

    @strawberry.field
    async def export_workflow(self, info: Info, id: strawberry.ID) -> WorkflowExport:
        owner = await info.context.user_id()
        await info.context.check_workflow_scope(id)
        wf, at = await info.context.services.workflows.export(owner, id)
        return WorkflowExport(workflow=export_document(wf), exported_at=at)

    @strawberry.field(description="Templates: built-in ones and the caller's own.")
    async def templates(self, info: Info, include_builtin: bool = True) -> list[TemplateType]:
        owner = await info.context.user_id()
        found = await info.context.services.templates.list(owner, include_builtin=include_builtin)
        return [TemplateType.of(t) for t in found]

    @strawberry.field
    async def template(self, info: Info, id: strawberry.ID) -> TemplateType:
        owner = await info.context.user_id()
        return TemplateType.of(await info.context.services.templates.get(owner, id))


@strawberry.type
class WorkflowMutationRoot:
    @strawberry.mutation
    async def create_workflow(self, info: Info, input: WorkflowInput) -> WorkflowType:
        owner = await info.context.user_id()
        wf = await info.context.services.workflows.create(
            owner,
            name=input.name,
            description=input.description,
            nodes=input.nodes,
            edges=input.edges,
            type=input.type,
        )
        return WorkflowType.of(wf)

    @strawberry.mutation(description="Change a workflow; every update writes a new version.")
    async def update_workflow(
        self, info: Info, id: strawberry.ID, input: WorkflowUpdateInput
    ) -> WorkflowType:
        owner = await info.context.user_id()
        await info.context.check_workflow_scope(id)
        changes = given(input, ("name", "description", "type", "status", "nodes", "edges"))
        wf = await info.context.services.workflows.update(
            owner, id, changes=changes, comment=input.comment or "Updated"
        )
        return WorkflowType.of(wf)

    @strawberry.mutation
    async def delete_workflow(self, info: Info, id: strawberry.ID) -> bool:
        owner = await info.context.user_id()
        await info.context.check_workflow_scope(id)
        await info.context.services.workflows.delete(owner, id)
        return True

    @strawberry.mutation(description="Check a graph without saving it.")
    async def validate_workflow(self, info: Info, input: GraphInput) -> ValidationReport:
        await info.context.user_id()
        report = info.context.services.workflows.validate(input.nodes, input.edges)
        return ValidationReport(
            valid=report.valid, errors=list(report.errors), warnings=list(report.warnings)
        )

    @strawberry.mutation(
        description="Import an exported workflow as a new one owned by the caller."
    )
    async def import_workflow(self, info: Info, workflow: JSON) -> WorkflowType:
        owner = await info.context.user_id()
        return WorkflowType.of(await info.context.services.workflows.import_(owner, workflow))

    @strawberry.mutation(description="Write a new version that restores an earlier one.")
    async def rollback_workflow(
        self, info: Info, id: strawberry.ID, version: int, comment: str | None = None
    ) -> WorkflowType:
        owner = await info.context.user_id()
        await info.context.check_workflow_scope(id)
        wf = await info.context.services.workflows.rollback(owner, id, version, comment=comment)
        return WorkflowType.of(wf)

    @strawberry.mutation
    async def publish_workflow(
        self,
        info: Info,
        id: strawberry.ID,
        is_published: bool,
        input_modes: list[str] | None = None,
    ) -> WorkflowType:
        owner = await info.context.user_id()
        await info.context.check_workflow_scope(id)
        wf = await info.context.services.workflows.publish(
            owner, id, is_published=is_published, input_modes=input_modes
        )
        return WorkflowType.of(wf)

    @strawberry.mutation
    async def create_workflow_from_template(
        self,
        info: Info,
        template_id: strawberry.ID,
        name: str | None = None,
        description: str | None = None,
    ) -> WorkflowType:
        owner = await info.context.user_id()
        wf = await info.context.services.workflows.create_from_template(
            owner, template_id, name=name, description=description
        )
        return WorkflowType.of(wf)

    @strawberry.mutation
    async def create_template(self, info: Info, input: TemplateInput) -> TemplateType:
        owner = await info.context.user_id()
        fields = given(input, TEMPLATE_FIELDS)
        return TemplateType.of(await info.context.services.templates.create(owner, fields))

    @strawberry.mutation
    async def update_template(
        self, info: Info, id: strawberry.ID, input: TemplateInput
    ) -> TemplateType:
        owner = await info.context.user_id()
        fields = given(input, TEMPLATE_FIELDS)
        return TemplateType.of(await info.context.services.templates.update(owner, id, fields))

    @strawberry.mutation
    async def delete_template(self, info: Info, id: strawberry.ID) -> bool:
        owner = await info.context.user_id()
        await info.context.services.templates.delete(owner, id)
        return True


TEMPLATE_FIELDS = ("name", "description", "category", "icon", "tags", "nodes", "edges")
