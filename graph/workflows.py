"""Workflows over GraphQL: typed graphs, versions, import/export, templates, node kinds."""

from __future__ import annotations

import json
from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any, cast

import strawberry

from engine.errors import NotFound
from engine.services.records import (
    SortField,
    Template,
    Workflow,
    WorkflowQuery,
    WorkflowVersion,
)
from engine.services.workflow_json import parse_workflow_json
from graph.context import Context
from graph.conventions import (
    JSON,
    Node,
    OrderDirection,
    UserError,
    build_connection,
    connection_type,
    search_text,
    stored,
    window,
)
from graph.payloads import attempt
from graph.workflow_graph import (
    NodeType,
    NodeTypeInfo,
    WorkflowEdge,
    WorkflowEdgeInput,
    WorkflowNode,
    WorkflowNodeInput,
    node_types,
    stored_graph,
)

if TYPE_CHECKING:
    from graph.executions import ExecutionConnection

Info = strawberry.Info[Context, None]
First = Annotated[int | None, strawberry.argument(description="Page size from the start (<=100).")]
After = Annotated[str | None, strawberry.argument(description="Start after this cursor.")]
Last = Annotated[int | None, strawberry.argument(description="Page size from the end (<=100).")]
Before = Annotated[str | None, strawberry.argument(description="End before this cursor.")]
IdArg = Annotated[strawberry.ID, strawberry.argument(description="The object's id.")]


def workflow_json(nodes: list[Any], edges: list[Any], extra: dict[str, Any]) -> str:
    """Seed 003's `workflowJson`: the document as saved (graph and other keys), as a string."""
    return json.dumps({"nodes": nodes, "edges": edges, **extra}, ensure_ascii=False)


@strawberry.enum(description="Where a workflow is in its life.")
class WorkflowStatus(Enum):
    DRAFT = strawberry.enum_value("draft", description="Being built.")
    PUBLISHED = strawberry.enum_value("published", description="Released for use.")
    RUNNING = strawberry.enum_value("running", description="Marked as in service.")
    STOPPED = strawberry.enum_value("stopped", description="Taken out of service.")


@strawberry.enum(description="What a workflow list can be ordered by.")
class WorkflowSortField(Enum):
    NAME = strawberry.enum_value("name", description="By name (code-point order).")
    CREATED_AT = strawberry.enum_value("created_at", description="By creation time.")
    UPDATED_AT = strawberry.enum_value("updated_at", description="By last change.")


@strawberry.input(description="How to order workflows.")
class WorkflowOrder:
    field: WorkflowSortField = strawberry.field(description="The field to order by.")
    direction: OrderDirection = strawberry.field(description="Ascending or descending.")


EXTRA_DESCRIPTION = (
    "The document's top-level keys besides nodes/edges (seed 003's `viewport`, "
    "`workflowSettings`...), kept as sent; the engine reads none of them."
)
WORKFLOW_JSON_DESCRIPTION = (
    "The whole document as one JSON string (seed 003's workflowJson): nodes, edges and `extra`."
)


def _graph_view(nodes: list[Any]) -> list[WorkflowNode]:
    return [WorkflowNode.of(n) for n in nodes if isinstance(n, dict)]


def _edges_view(edges: list[Any]) -> list[WorkflowEdge]:
    return [WorkflowEdge.of(e) for e in edges if isinstance(e, dict)]


def graph_nodes(root: Any) -> list[WorkflowNode]:
    """`nodes` of a workflow, a version or a template (each keeps its raw graph)."""
    return _graph_view(root.raw_nodes)


def graph_edges(root: Any) -> list[WorkflowEdge]:
    return _edges_view(root.raw_edges)


def graph_document(root: Any) -> str:
    return workflow_json(root.raw_nodes, root.raw_edges, root.extra)


@strawberry.type(name="Workflow", description="A workflow: a graph of nodes a run executes.")
class WorkflowType(Node):
    id: strawberry.ID = strawberry.field(description="The workflow's id.")
    name: str = strawberry.field(description="Its name.")
    description: str = strawberry.field(description="What it is for.")
    type: str = strawberry.field(description="A free-form kind (default `workflow`).")
    version: int = strawberry.field(description="The current version (1, 2, ...).")
    status: WorkflowStatus = strawberry.field(description="Where it is in its life.")
    is_published: bool = strawberry.field(description="Seed 003's publish flag (= PUBLISHED).")
    input_modes: list[str] = strawberry.field(description="Seed 003's input modes.")
    created_at: datetime = strawberry.field(description="When it was created.")
    updated_at: datetime = strawberry.field(description="When it last changed.")
    extra: JSON = strawberry.field(description=EXTRA_DESCRIPTION)
    raw_nodes: strawberry.Private[list[Any]]
    raw_edges: strawberry.Private[list[Any]]

    nodes: list[WorkflowNode] = strawberry.field(
        resolver=graph_nodes, description="The graph's nodes."
    )
    edges: list[WorkflowEdge] = strawberry.field(
        resolver=graph_edges, description="The graph's edges."
    )
    workflow_json: str = strawberry.field(
        resolver=graph_document, description=WORKFLOW_JSON_DESCRIPTION
    )

    @strawberry.field(description="Its saved versions, newest first.")
    async def versions(
        self, info: Info, first: First = None, after: After = None
    ) -> WorkflowVersionConnection:
        owner = await info.context.access()
        found = await info.context.services.workflows.versions(owner, str(self.id))
        page = window(first=first, after=after, last=None, before=None)
        items = [WorkflowVersionType.of(v) for v in found[page.offset : page.offset + page.limit]]
        return build_connection(
            WorkflowVersionConnection, items, offset=page.offset, total=len(found)
        )

    @strawberry.field(description="One saved version, or null.")
    async def saved_version(
        self,
        info: Info,
        number: Annotated[int, strawberry.argument(description="The version number.")],
    ) -> WorkflowVersionType | None:
        owner = await info.context.access()
        try:
            found = await info.context.services.workflows.version(owner, str(self.id), number)
        except NotFound:
            return None
        return WorkflowVersionType.of(found)

    @strawberry.field(description="Its runs, newest first.")
    async def executions(
        self, info: Info, first: First = None, after: After = None
    ) -> Annotated[ExecutionConnection, strawberry.lazy("graph.executions")]:
        from graph.executions import execution_page

        return await execution_page(info, first=first, after=after, workflow_id=str(self.id))

    @classmethod
    def of(cls, wf: Workflow) -> WorkflowType:
        return cls(
            id=strawberry.ID(wf.id),
            name=wf.name,
            description=wf.description,
            type=wf.type,
            version=wf.version,
            status=WorkflowStatus(wf.status),
            is_published=wf.is_published,
            input_modes=list(wf.input_modes),
            created_at=wf.created_at,
            updated_at=wf.updated_at,
            extra=wf.extra,
            raw_nodes=wf.nodes,
            raw_edges=wf.edges,
        )


@strawberry.type(name="WorkflowVersion", description="A saved state of a workflow.")
class WorkflowVersionType:
    workflow_id: strawberry.ID = strawberry.field(description="The workflow's id.")
    version: int = strawberry.field(description="The version number.")
    name: str = strawberry.field(description="Its name then.")
    description: str = strawberry.field(description="Its description then.")
    comment: str = strawberry.field(description="Why it was saved.")
    created_at: datetime = strawberry.field(description="When it was saved.")
    extra: JSON = strawberry.field(description=EXTRA_DESCRIPTION)
    raw_nodes: strawberry.Private[list[Any]]
    raw_edges: strawberry.Private[list[Any]]

    nodes: list[WorkflowNode] = strawberry.field(
        resolver=graph_nodes, description="The graph's nodes then."
    )
    edges: list[WorkflowEdge] = strawberry.field(
        resolver=graph_edges, description="The graph's edges then."
    )
    workflow_json: str = strawberry.field(
        resolver=graph_document,
        description="The document then, as one JSON string (seed 003's workflowJson).",
    )

    @classmethod
    def of(cls, v: WorkflowVersion) -> WorkflowVersionType:
        return cls(
            workflow_id=strawberry.ID(v.workflow_id),
            version=v.version,
            name=v.name,
            description=v.description,
            comment=v.comment,
            created_at=v.created_at,
            extra=v.extra,
            raw_nodes=v.nodes,
            raw_edges=v.edges,
        )


@strawberry.type(name="Template", description="A reusable workflow: built in, or the caller's.")
class TemplateType(Node):
    id: strawberry.ID = strawberry.field(description="The template's id.")
    name: str = strawberry.field(description="Its name.")
    description: str = strawberry.field(description="What it does.")
    category: str = strawberry.field(description="A free-form category.")
    icon: str = strawberry.field(description="An icon name.")
    tags: list[str] = strawberry.field(description="Free-form tags.")
    builtin: bool = strawberry.field(description="Shipped with the server (read-only).")
    created_at: datetime = strawberry.field(description="When it was created.")
    updated_at: datetime = strawberry.field(description="When it last changed.")
    extra: JSON = strawberry.field(description=EXTRA_DESCRIPTION)
    raw_nodes: strawberry.Private[list[Any]]
    raw_edges: strawberry.Private[list[Any]]

    nodes: list[WorkflowNode] = strawberry.field(
        resolver=graph_nodes, description="The graph's nodes."
    )
    edges: list[WorkflowEdge] = strawberry.field(
        resolver=graph_edges, description="The graph's edges."
    )
    workflow_json: str = strawberry.field(
        resolver=graph_document, description=WORKFLOW_JSON_DESCRIPTION
    )

    @classmethod
    def of(cls, t: Template) -> TemplateType:
        return cls(
            id=strawberry.ID(t.id),
            name=t.name,
            description=t.description,
            category=t.category,
            icon=t.icon,
            tags=list(t.tags),
            builtin=t.builtin,
            created_at=t.created_at,
            updated_at=t.updated_at,
            extra=t.extra,
            raw_nodes=t.nodes,
            raw_edges=t.edges,
        )


WorkflowConnection = connection_type(WorkflowType, "Workflow", "workflow")
WorkflowVersionConnection = connection_type(WorkflowVersionType, "WorkflowVersion", "version")
TemplateConnection = connection_type(TemplateType, "Template", "template")


@strawberry.type(description="A workflow as a portable document.")
class WorkflowExport:
    workflow: JSON = strawberry.field(description="The document `importWorkflow` takes.")
    exported_at: datetime = strawberry.field(description="When it was exported.")


def export_document(wf: Workflow) -> dict[str, Any]:
    return {
        "id": wf.id,
        "name": wf.name,
        "description": wf.description,
        "type": wf.type,
        "nodes": wf.nodes,
        "edges": wf.edges,
        "extra": wf.extra,
        "version": wf.version,
        "status": wf.status,
        "created_at": wf.created_at.isoformat(),
        "updated_at": wf.updated_at.isoformat(),
    }


# -- inputs and payloads -------------------------------------------------------------------


def _graph_args(
    nodes: list[WorkflowNodeInput] | None,
    edges: list[WorkflowEdgeInput] | None,
    raw: str | None,
    raw_nodes: Any = None,
    raw_edges: Any = None,
) -> dict[str, Any]:
    """`nodes`/`edges` (and `extra`) for the service: typed input, stored JSON, or seed 003's
    workflowJson string, whose other top-level keys replace `extra` whole."""
    stored_nodes, stored_edges = stored_graph(nodes, edges)
    if raw_nodes is not None:
        stored_nodes = raw_nodes
    if raw_edges is not None:
        stored_edges = raw_edges
    out: dict[str, Any] = {}
    if raw is not None:
        document = parse_workflow_json(raw, defaults=False)
        stored_nodes, stored_edges = document.get("nodes"), document.get("edges")
        out["extra"] = {k: v for k, v in document.items() if k not in ("nodes", "edges")}
    if stored_nodes is not None:
        out["nodes"] = stored_nodes
    if stored_edges is not None:
        out["edges"] = stored_edges
    return out


@strawberry.input(description="A new workflow.")
class CreateWorkflowInput:
    name: str = strawberry.field(description="Its name (required, at most 200 characters).")
    description: str | None = strawberry.field(default=None, description="What it is for.")
    type: str | None = strawberry.field(default=None, description="A free-form kind.")
    nodes: list[WorkflowNodeInput] | None = strawberry.field(
        default=None, description="The graph's nodes."
    )
    edges: list[WorkflowEdgeInput] | None = strawberry.field(
        default=None, description="The graph's edges."
    )
    workflow_json: str | None = strawberry.field(
        default=None,
        description="Instead of nodes/edges: seed 003's whole document as a JSON string "
        "(its keys besides nodes/edges are kept as `extra`).",
    )


@strawberry.input(description="Changes to a workflow; absent fields keep their value.")
class UpdateWorkflowInput:
    id: strawberry.ID = strawberry.field(description="The workflow to change.")
    name: str | None = strawberry.field(default=None, description="A new name.")
    description: str | None = strawberry.field(default=None, description="A new description.")
    type: str | None = strawberry.field(default=None, description="A new kind.")
    status: WorkflowStatus | None = strawberry.field(default=None, description="A new status.")
    nodes: list[WorkflowNodeInput] | None = strawberry.field(
        default=None, description="New nodes (edges kept unless given)."
    )
    edges: list[WorkflowEdgeInput] | None = strawberry.field(
        default=None, description="New edges (nodes kept unless given)."
    )
    workflow_json: str | None = strawberry.field(
        default=None,
        description="Instead of nodes/edges: seed 003's whole document as a JSON string "
        "(its keys besides nodes/edges replace `extra`).",
    )
    raw_nodes: JSON | None = strawberry.field(
        default=None,
        description="New nodes as stored JSON, every field kept (seed 000's shape); "
        "`extra` is kept.",
    )
    raw_edges: JSON | None = strawberry.field(
        default=None,
        description="New edges as stored JSON, every field kept; `extra` is kept.",
    )
    comment: str | None = strawberry.field(default=None, description="Why (kept on the version).")


@strawberry.input(description="The workflow to delete.")
class DeleteWorkflowInput:
    id: strawberry.ID = strawberry.field(description="Its id.")


@strawberry.input(description="A graph to check without saving it.")
class ValidateWorkflowInput:
    nodes: list[WorkflowNodeInput] | None = strawberry.field(default=None, description="Nodes.")
    edges: list[WorkflowEdgeInput] | None = strawberry.field(default=None, description="Edges.")
    workflow_json: str | None = strawberry.field(
        default=None, description="Instead of nodes/edges: seed 003's JSON string."
    )


@strawberry.input(description="A document from `workflowExport` to add as a new workflow.")
class ImportWorkflowInput:
    workflow: JSON = strawberry.field(description="The exported document.")


@strawberry.input(description="Restore an earlier version (as a new version).")
class RollbackWorkflowInput:
    id: strawberry.ID = strawberry.field(description="The workflow.")
    version: int = strawberry.field(description="The version to restore.")
    comment: str | None = strawberry.field(default=None, description="Why.")


@strawberry.input(description="Seed 003's publish switch.")
class PublishWorkflowInput:
    id: strawberry.ID = strawberry.field(description="The workflow.")
    is_published: bool = strawberry.field(description="Published (true) or draft (false).")
    input_modes: list[str] | None = strawberry.field(
        default=None, description="Input modes (kept when absent)."
    )


@strawberry.input(description="A new workflow made from a template.")
class CreateWorkflowFromTemplateInput:
    template_id: strawberry.ID = strawberry.field(description="The template.")
    name: str | None = strawberry.field(default=None, description="Its name (the template's).")
    description: str | None = strawberry.field(default=None, description="Its description.")


@strawberry.input(description="A template's fields; on update, absent fields keep their value.")
class TemplateFieldsInput:
    name: str | None = strawberry.field(default=None, description="Its name.")
    description: str | None = strawberry.field(default=None, description="What it does.")
    category: str | None = strawberry.field(default=None, description="A category.")
    icon: str | None = strawberry.field(default=None, description="An icon name.")
    tags: list[str] | None = strawberry.field(default=None, description="Tags.")
    nodes: list[WorkflowNodeInput] | None = strawberry.field(default=None, description="Nodes.")
    edges: list[WorkflowEdgeInput] | None = strawberry.field(default=None, description="Edges.")
    workflow_json: str | None = strawberry.field(
        default=None,
        description="Instead of nodes/edges: seed 003's whole document as a JSON string "
        "(its keys besides nodes/edges replace `extra`).",
    )

    def fields(self) -> dict[str, Any]:
        out = {
            key: getattr(self, key)
            for key in ("name", "description", "category", "icon", "tags")
            if getattr(self, key) is not None
        }
        return {**out, **_graph_args(self.nodes, self.edges, self.workflow_json)}


@strawberry.input(description="A new template.")
class CreateTemplateInput:
    template: TemplateFieldsInput = strawberry.field(description="Its fields (name required).")


@strawberry.input(description="Changes to one of the caller's templates.")
class UpdateTemplateInput:
    id: strawberry.ID = strawberry.field(description="The template.")
    template: TemplateFieldsInput = strawberry.field(description="The fields to change.")


@strawberry.input(description="The template to delete.")
class DeleteTemplateInput:
    id: strawberry.ID = strawberry.field(description="Its id.")


def _payload(name: str, field: str, kind: type[Any], what: str) -> type[Any]:
    namespace: dict[str, Any] = {
        "__annotations__": {field: kind | None, "user_errors": list[UserError]},
        field: strawberry.field(description=f"The {what}, unless userErrors say why not."),
        "user_errors": strawberry.field(description="What to fix in the input, if anything."),
    }
    mutation = name[0].lower() + name[1 : -len("Payload")]
    return strawberry.type(
        type(name, (), namespace), name=name, description=f"What `{mutation}` answers."
    )


CreateWorkflowPayload = _payload("CreateWorkflowPayload", "workflow", WorkflowType, "new workflow")
UpdateWorkflowPayload = _payload("UpdateWorkflowPayload", "workflow", WorkflowType, "workflow")
ImportWorkflowPayload = _payload("ImportWorkflowPayload", "workflow", WorkflowType, "new workflow")
RollbackWorkflowPayload = _payload("RollbackWorkflowPayload", "workflow", WorkflowType, "workflow")
PublishWorkflowPayload = _payload("PublishWorkflowPayload", "workflow", WorkflowType, "workflow")
CreateWorkflowFromTemplatePayload = _payload(
    "CreateWorkflowFromTemplatePayload", "workflow", WorkflowType, "new workflow"
)
DeleteWorkflowPayload = _payload(
    "DeleteWorkflowPayload", "deleted_workflow_id", strawberry.ID, "deleted workflow's id"
)
CreateTemplatePayload = _payload("CreateTemplatePayload", "template", TemplateType, "template")
UpdateTemplatePayload = _payload("UpdateTemplatePayload", "template", TemplateType, "template")
DeleteTemplatePayload = _payload(
    "DeleteTemplatePayload", "deleted_template_id", strawberry.ID, "deleted template's id"
)


@strawberry.type(description="The outcome of checking a graph.")
class ValidateWorkflowPayload:
    valid: bool = strawberry.field(description="Whether it can run.")
    errors: list[str] = strawberry.field(description="What prevents a run.")
    warnings: list[str] = strawberry.field(description="What looks wrong but does not block.")
    user_errors: list[UserError] = strawberry.field(
        description="Input that could not be checked at all (malformed, too large)."
    )


# -- roots ---------------------------------------------------------------------------------


async def workflow_or_none(info: Info, workflow_id: str) -> Workflow | None:
    owner = await info.context.access()
    try:
        return await info.context.services.workflows.get(owner, workflow_id)
    except NotFound:
        return None


@strawberry.type
class WorkflowQueryRoot:
    @strawberry.field(description="One of the caller's workflows, or null.")
    async def workflow(self, info: Info, id: IdArg) -> WorkflowType | None:
        found = await workflow_or_none(info, str(id))
        return WorkflowType.of(found) if found else None

    @strawberry.field(description="The caller's workflows.")
    async def workflows(
        self,
        info: Info,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
        search: Annotated[
            str | None,
            strawberry.argument(description="Text in the name or description (any case)."),
        ] = None,
        status: Annotated[
            WorkflowStatus | None, strawberry.argument(description="Only this status.")
        ] = None,
        order_by: Annotated[
            WorkflowOrder | None,
            strawberry.argument(description="The order (default: newest first)."),
        ] = None,
    ) -> WorkflowConnection:
        owner = await info.context.access()
        order = order_by or WorkflowOrder(
            field=WorkflowSortField.CREATED_AT, direction=OrderDirection.DESC
        )
        base = WorkflowQuery(
            search=search_text(search),
            status=stored(status) if status else None,
            sort_by=cast(SortField, stored(order.field)),
            sort_order="asc" if order.direction is OrderDirection.ASC else "desc",
        )
        total = None
        if last is not None and before is None:
            # `last` from the end needs the count first.
            probe = await info.context.services.workflows.find(owner, _query(base, 0, 1))
            total = probe.total
        page = window(first=first, after=after, last=last, before=before, total=total)
        if page.limit == 0:
            probe = await info.context.services.workflows.find(owner, _query(base, 0, 1))
            return build_connection(WorkflowConnection, [], offset=page.offset, total=probe.total)
        found = await info.context.services.workflows.find(
            owner, _query(base, page.offset, page.limit)
        )
        items = [WorkflowType.of(w) for w in found.items]
        return build_connection(WorkflowConnection, items, offset=page.offset, total=found.total)

    @strawberry.field(description="A workflow as a portable document, or null.")
    async def workflow_export(self, info: Info, id: IdArg) -> WorkflowExport | None:
        found = await workflow_or_none(info, str(id))
        if found is None:
            return None
        owner = await info.context.access()
        _, at = await info.context.services.workflows.export(owner, found.id)
        return WorkflowExport(workflow=export_document(found), exported_at=at)

    @strawberry.field(description="Templates: built-in ones first, then the caller's.")
    async def templates(
        self,
        info: Info,
        first: First = None,
        after: After = None,
        include_builtin: Annotated[
            bool, strawberry.argument(description="Include the built-in templates.")
        ] = True,
    ) -> TemplateConnection:
        owner = await info.context.user_id()
        found = await info.context.services.templates.find(owner, include_builtin=include_builtin)
        page = window(first=first, after=after, last=None, before=None)
        items = [TemplateType.of(t) for t in found[page.offset : page.offset + page.limit]]
        return build_connection(TemplateConnection, items, offset=page.offset, total=len(found))

    @strawberry.field(description="A built-in template or one of the caller's, or null.")
    async def template(self, info: Info, id: IdArg) -> TemplateType | None:
        owner = await info.context.user_id()
        try:
            return TemplateType.of(await info.context.services.templates.get(owner, str(id)))
        except NotFound:
            return None

    @strawberry.field(description="The kinds of node, with what their config takes.")
    def node_types(
        self,
        type: Annotated[
            NodeType | None, strawberry.argument(description="Only this kind (all when absent).")
        ] = None,
    ) -> list[NodeTypeInfo]:
        return [t for t in node_types() if type is None or t.type == type]


def _query(base: WorkflowQuery, skip: int, limit: int) -> WorkflowQuery:
    from dataclasses import replace

    return replace(base, skip=skip, limit=max(limit, 1))


@strawberry.type
class WorkflowMutationRoot:
    @strawberry.mutation(description="Create a workflow (version 1).")
    async def create_workflow(
        self, info: Info, input: CreateWorkflowInput
    ) -> CreateWorkflowPayload:
        owner = await info.context.user_id()
        workflows = info.context.services.workflows

        async def create() -> Workflow:
            graph = _graph_args(input.nodes, input.edges, input.workflow_json)
            return await workflows.create(
                owner, name=input.name, description=input.description, type=input.type, **graph
            )

        wf, errors = await attempt(create)
        return CreateWorkflowPayload(
            workflow=WorkflowType.of(wf) if wf else None, user_errors=errors
        )

    @strawberry.mutation(description="Change a workflow; every change writes a new version.")
    async def update_workflow(
        self, info: Info, input: UpdateWorkflowInput
    ) -> UpdateWorkflowPayload:
        owner = await info.context.access()
        workflows = info.context.services.workflows

        async def update() -> Workflow:
            changes: dict[str, Any] = {
                key: getattr(input, key)
                for key in ("name", "description", "type")
                if getattr(input, key) is not None
            }
            if input.status is not None:
                changes["status"] = input.status.value
            changes.update(
                _graph_args(
                    input.nodes, input.edges, input.workflow_json, input.raw_nodes, input.raw_edges
                )
            )
            return await workflows.update(
                owner, str(input.id), changes=changes, comment=input.comment or "Updated"
            )

        wf, errors = await attempt(update)
        return UpdateWorkflowPayload(
            workflow=WorkflowType.of(wf) if wf else None, user_errors=errors
        )

    @strawberry.mutation(description="Delete a workflow and its versions.")
    async def delete_workflow(
        self, info: Info, input: DeleteWorkflowInput
    ) -> DeleteWorkflowPayload:
        owner = await info.context.access()
        await info.context.services.workflows.delete(owner, str(input.id))
        return DeleteWorkflowPayload(deleted_workflow_id=input.id, user_errors=[])

    @strawberry.mutation(description="Check a graph without saving it.")
    async def validate_workflow(
        self, info: Info, input: ValidateWorkflowInput
    ) -> ValidateWorkflowPayload:
        await info.context.user_id()
        workflows = info.context.services.workflows

        async def check() -> Any:
            graph = _graph_args(input.nodes, input.edges, input.workflow_json)
            return workflows.validate(graph.get("nodes", []), graph.get("edges", []))

        report, errors = await attempt(check)
        if report is None:
            return ValidateWorkflowPayload(valid=False, errors=[], warnings=[], user_errors=errors)
        return ValidateWorkflowPayload(
            valid=report.valid,
            errors=list(report.errors),
            warnings=list(report.warnings),
            user_errors=[],
        )

    @strawberry.mutation(description="Add an exported workflow as a new one of the caller's.")
    async def import_workflow(
        self, info: Info, input: ImportWorkflowInput
    ) -> ImportWorkflowPayload:
        owner = await info.context.user_id()
        workflows = info.context.services.workflows
        wf, errors = await attempt(lambda: workflows.import_(owner, input.workflow))
        return ImportWorkflowPayload(
            workflow=WorkflowType.of(wf) if wf else None, user_errors=errors
        )

    @strawberry.mutation(description="Write a new version that restores an earlier one.")
    async def rollback_workflow(
        self, info: Info, input: RollbackWorkflowInput
    ) -> RollbackWorkflowPayload:
        owner = await info.context.access()
        workflows = info.context.services.workflows
        wf, errors = await attempt(
            lambda: workflows.rollback(owner, str(input.id), input.version, comment=input.comment)
        )
        return RollbackWorkflowPayload(
            workflow=WorkflowType.of(wf) if wf else None, user_errors=errors
        )

    @strawberry.mutation(description="Publish or unpublish (sets status and isPublished).")
    async def publish_workflow(
        self, info: Info, input: PublishWorkflowInput
    ) -> PublishWorkflowPayload:
        owner = await info.context.access()
        workflows = info.context.services.workflows
        wf, errors = await attempt(
            lambda: workflows.publish(
                owner, str(input.id), is_published=input.is_published, input_modes=input.input_modes
            )
        )
        return PublishWorkflowPayload(
            workflow=WorkflowType.of(wf) if wf else None, user_errors=errors
        )

    @strawberry.mutation(description="Create a workflow from a template.")
    async def create_workflow_from_template(
        self, info: Info, input: CreateWorkflowFromTemplateInput
    ) -> CreateWorkflowFromTemplatePayload:
        owner = await info.context.user_id()
        workflows = info.context.services.workflows
        wf, errors = await attempt(
            lambda: workflows.create_from_template(
                owner, str(input.template_id), name=input.name, description=input.description
            )
        )
        return CreateWorkflowFromTemplatePayload(
            workflow=WorkflowType.of(wf) if wf else None, user_errors=errors
        )

    @strawberry.mutation(description="Create a template of the caller's.")
    async def create_template(
        self, info: Info, input: CreateTemplateInput
    ) -> CreateTemplatePayload:
        owner = await info.context.user_id()
        templates = info.context.services.templates

        async def create() -> Template:
            return await templates.create(owner, input.template.fields())

        found, errors = await attempt(create)
        return CreateTemplatePayload(
            template=TemplateType.of(found) if found else None, user_errors=errors
        )

    @strawberry.mutation(description="Change a template of the caller's (built-ins are read-only).")
    async def update_template(
        self, info: Info, input: UpdateTemplateInput
    ) -> UpdateTemplatePayload:
        owner = await info.context.user_id()
        templates = info.context.services.templates

        async def update() -> Template:
            return await templates.update(owner, str(input.id), input.template.fields())

        found, errors = await attempt(update)
        return UpdateTemplatePayload(
            template=TemplateType.of(found) if found else None, user_errors=errors
        )

    @strawberry.mutation(description="Delete a template of the caller's.")
    async def delete_template(
        self, info: Info, input: DeleteTemplateInput
    ) -> DeleteTemplatePayload:
        owner = await info.context.user_id()
        await info.context.services.templates.delete(owner, str(input.id))
        return DeleteTemplatePayload(deleted_template_id=input.id, user_errors=[])
