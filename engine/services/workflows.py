"""Workflows: create, update (each a new version), list, import/export, rollback, templates."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from engine.clock import utcnow
from engine.errors import NotFound, PayloadTooLarge, ValidationFailed
from engine.graph_limits import GraphLimits, check_graph_size, json_size
from engine.graph_model import parse_graph
from engine.node_schemas import check_node_configs
from engine.services.access import Owner, reach, user_of
from engine.services.inputs import TemplateFields, WorkflowFields
from engine.services.pages import Page
from engine.services.records import (
    WORKFLOW_STATUSES,
    JSONDict,
    Template,
    Workflow,
    WorkflowQuery,
    WorkflowVersion,
)
from engine.services.stores import TemplateStore, WorkflowStore
from engine.validation import ValidationReport, validate_workflow

MAX_LIMIT = 100
PUBLISHED = "published"
DRAFT = "draft"
SORT_FIELDS = ("name", "created_at", "updated_at")


def check_graph(
    nodes: Any, edges: Any, limits: GraphLimits | None = None
) -> tuple[list[JSONDict], list[JSONDict]]:
    """Size, structure and config shapes: a draft may be incomplete (a required field
    empty), but never malformed (a config value of the wrong type) or huge."""
    check_graph_size(nodes, edges, limits)
    if nodes is None:
        nodes = []
    if edges is None:
        edges = []
    if not isinstance(nodes, list):
        raise ValidationFailed("nodes must be a list", field="nodes")
    if not isinstance(edges, list):
        raise ValidationFailed("edges must be a list", field="edges")
    parse_graph(nodes, edges)
    check_node_configs(nodes)
    return nodes, edges


def check_extra(extra: Any, limits: GraphLimits | None = None) -> JSONDict:
    """A workflow document's keys besides nodes/edges: any JSON object, kept as it is.

    It counts against the same byte cap as the graph (`AGENTLOOM_MAX_WORKFLOW_BYTES`).
    """
    if extra is None:
        return {}
    if not isinstance(extra, dict):
        raise ValidationFailed("extra must be a JSON object", field="extra")
    if "nodes" in extra or "edges" in extra:
        raise ValidationFailed("extra must not hold nodes or edges", field="extra")
    cap = (limits or GraphLimits()).max_bytes
    if json_size([extra], cap) > cap:
        raise PayloadTooLarge(
            f"a workflow's other top-level keys may take at most {cap} bytes of JSON",
            field="extra",
        )
    return extra


def check_query(query: WorkflowQuery) -> WorkflowQuery:
    if query.skip < 0:
        raise ValidationFailed("skip must be >= 0", field="skip")
    if not 1 <= query.limit <= MAX_LIMIT:
        raise ValidationFailed(f"limit must be between 1 and {MAX_LIMIT}", field="limit")
    if query.status is not None and query.status not in WORKFLOW_STATUSES:
        raise ValidationFailed(
            f"status must be one of {', '.join(WORKFLOW_STATUSES)}", field="status"
        )
    if query.sort_by not in SORT_FIELDS:
        raise ValidationFailed(f"sort_by must be one of {', '.join(SORT_FIELDS)}", field="sort_by")
    if query.sort_order not in ("asc", "desc"):
        raise ValidationFailed("sort_order must be asc or desc", field="sort_order")
    return query


class WorkflowService:
    def __init__(
        self,
        *,
        workflows: WorkflowStore,
        templates: TemplateStore,
        limits: GraphLimits | None = None,
    ) -> None:
        self._workflows = workflows
        self._templates = templates
        self.limits = limits or GraphLimits()
        """Size caps for every graph that is stored or validated."""

    # -- reading -------------------------------------------------------------------------

    async def get(self, owner: Owner, workflow_id: str) -> Workflow:
        """Every read or change of one workflow passes here: out of the caller's reach
        (a scoped API key) answers like a missing one."""
        access = reach(owner)
        access.require(workflow_id)
        workflow = await self._workflows.get(access.user_id, workflow_id)
        if workflow is None:
            raise NotFound(f"Workflow {workflow_id} not found")
        return workflow

    async def find(self, owner: Owner, query: WorkflowQuery) -> Page[Workflow]:
        access = reach(owner)
        if access.workflow_ids is not None:
            allowed = access.workflow_ids
            if query.only_ids is not None:
                allowed = allowed & query.only_ids
            query = replace(query, only_ids=allowed)
        return await self._workflows.find(access.user_id, check_query(query))

    async def versions(self, owner: Owner, workflow_id: str) -> list[WorkflowVersion]:
        await self.get(owner, workflow_id)
        return await self._workflows.versions(user_of(owner), workflow_id)

    async def version(self, owner: Owner, workflow_id: str, version: int) -> WorkflowVersion:
        await self.get(owner, workflow_id)
        found = await self._workflows.version(user_of(owner), workflow_id, version)
        if found is None:
            raise NotFound(f"Version {version} of workflow {workflow_id} not found")
        return found

    def validate(self, nodes: Any, edges: Any) -> ValidationReport:
        check_graph_size(nodes, edges, self.limits)
        return validate_workflow(nodes, edges)

    async def export(self, owner: Owner, workflow_id: str) -> tuple[Workflow, datetime]:
        return await self.get(owner, workflow_id), utcnow()

    # -- writing -------------------------------------------------------------------------

    async def create(
        self,
        owner_id: str,
        *,
        name: Any,
        description: Any = None,
        nodes: Any = None,
        edges: Any = None,
        type: Any = None,
        extra: Any = None,
        comment: str = "Created",
    ) -> Workflow:
        checked_nodes, checked_edges = check_graph(nodes, edges, self.limits)
        fields = WorkflowFields.parse(name=name, description=description, type=type)
        workflow = Workflow(
            owner_id=owner_id,
            name=fields.name,
            description=fields.description,
            type=fields.type or "workflow",
            nodes=checked_nodes,
            edges=checked_edges,
            extra=check_extra(extra, self.limits),
        )
        await self._workflows.add(workflow, self._snapshot(workflow, comment))
        return workflow

    async def update(
        self,
        owner: Owner,
        workflow_id: str,
        *,
        changes: dict[str, Any],
        comment: str = "Updated",
    ) -> Workflow:
        """Apply the given fields; absent keys keep their value. Writes a new version."""
        current = await self.get(owner, workflow_id)
        given: dict[str, Any] = {k: changes[k] for k in ("name", "description") if k in changes}
        if changes.get("type") is not None:
            given["type"] = changes["type"]
        fields: dict[str, Any] = WorkflowFields.changes(given)
        if "type" in fields:
            fields["type"] = fields["type"] or "workflow"
        if "status" in changes and changes["status"] is not None:
            if changes["status"] not in WORKFLOW_STATUSES:
                raise ValidationFailed(
                    f"status must be one of {', '.join(WORKFLOW_STATUSES)}", field="status"
                )
            fields["status"] = changes["status"]
            # One notion of publishing: seed 000 says it with `status`, seed 003 with
            # `isPublished` (`publish()`); each keeps the other in step.
            fields["is_published"] = changes["status"] == PUBLISHED
        if "nodes" in changes or "edges" in changes:
            nodes = changes["nodes"] if changes.get("nodes") is not None else current.nodes
            edges = changes["edges"] if changes.get("edges") is not None else current.edges
            fields["nodes"], fields["edges"] = check_graph(nodes, edges, self.limits)
        if "extra" in changes:  # replaced whole: a document's keys are as its last save sent them
            fields["extra"] = check_extra(changes["extra"], self.limits)
        return await self._write_version(current, fields, comment)

    async def publish(
        self, owner: Owner, workflow_id: str, *, is_published: bool, input_modes: Any
    ) -> Workflow:
        """Publishing changes metadata only, so it writes no new graph version."""
        current = await self.get(owner, workflow_id)
        if input_modes is None:
            modes = current.input_modes
        elif isinstance(input_modes, list) and all(isinstance(m, str) for m in input_modes):
            modes = list(input_modes)
        else:
            raise ValidationFailed("inputModes must be a list of strings", field="inputModes")
        updated = replace(
            current,
            is_published=is_published,
            input_modes=modes,
            status=PUBLISHED if is_published else DRAFT,
            updated_at=utcnow(),
        )
        await self._workflows.save(updated, None, expected=current.version)
        return updated

    async def delete(self, owner: Owner, workflow_id: str) -> None:
        reach(owner).require(workflow_id)
        if not await self._workflows.delete(user_of(owner), workflow_id):
            raise NotFound(f"Workflow {workflow_id} not found")

    async def rollback(
        self, owner: Owner, workflow_id: str, version: int, *, comment: str | None
    ) -> Workflow:
        target = await self.version(owner, workflow_id, version)
        current = await self.get(owner, workflow_id)
        fields = {
            "name": target.name,
            "description": target.description,
            "nodes": target.nodes,
            "edges": target.edges,
            "extra": target.extra,
        }
        note = (comment or "").strip() or f"Rolled back to version {version}"
        return await self._write_version(current, fields, note)

    async def import_(self, owner_id: str, payload: Any) -> Workflow:
        """Import an exported workflow: a new id, the importer as owner, version 1."""
        if not isinstance(payload, dict):
            raise ValidationFailed("workflow must be an object", field="workflow")
        try:
            return await self.create(
                owner_id,
                name=payload.get("name"),
                description=payload.get("description"),
                nodes=payload.get("nodes"),
                edges=payload.get("edges"),
                type=payload.get("type"),
                extra=payload.get("extra"),
                comment="Imported",
            )
        except ValidationFailed as exc:
            raise ValidationFailed(
                f"workflow.{exc.field}: {exc.message}" if exc.field else exc.message,
                field=f"workflow.{exc.field}" if exc.field else "workflow",
            ) from exc

    async def create_from_template(
        self, owner_id: str, template_id: str, *, name: str | None, description: str | None
    ) -> Workflow:
        template = await self._templates.get(owner_id, template_id)
        if template is None:
            raise NotFound(f"Template {template_id} not found")
        return await self.create(
            owner_id,
            name=name or template.name,
            description=description if description is not None else template.description,
            nodes=template.nodes,
            edges=template.edges,
            extra=template.extra,
            comment=f"Created from template {template.id}",
        )

    async def _write_version(
        self, current: Workflow, fields: dict[str, Any], comment: str
    ) -> Workflow:
        updated = replace(current, **fields, version=current.version + 1, updated_at=utcnow())
        await self._workflows.save(
            updated, self._snapshot(updated, comment), expected=current.version
        )
        return updated

    @staticmethod
    def _snapshot(workflow: Workflow, comment: str) -> WorkflowVersion:
        return WorkflowVersion(
            workflow_id=workflow.id,
            owner_id=workflow.owner_id,
            version=workflow.version,
            name=workflow.name,
            description=workflow.description,
            nodes=workflow.nodes,
            edges=workflow.edges,
            extra=workflow.extra,
            comment=comment,
            created_at=workflow.updated_at,
        )


class TemplateService:
    def __init__(self, *, templates: TemplateStore, limits: GraphLimits | None = None) -> None:
        self._templates = templates
        self._limits = limits or GraphLimits()

    async def find(self, owner_id: str, *, include_builtin: bool) -> list[Template]:
        return await self._templates.find(owner_id, include_builtin=include_builtin)

    async def get(self, owner_id: str, template_id: str) -> Template:
        template = await self._templates.get(owner_id, template_id)
        if template is None:
            raise NotFound(f"Template {template_id} not found")
        return template

    async def create(self, owner_id: str, fields: dict[str, Any]) -> Template:
        template = Template(owner_id=owner_id, name="")
        template = self._apply(template, fields, creating=True)
        await self._templates.add(template)
        return template

    async def update(self, owner_id: str, template_id: str, fields: dict[str, Any]) -> Template:
        current = await self._templates.get(owner_id, template_id)
        if current is None or current.owner_id != owner_id:
            # Built-in templates are read-only; to a user they answer like a missing one.
            raise NotFound(f"Template {template_id} not found")
        template = self._apply(current, fields, creating=False)
        await self._templates.save(template)
        return template

    async def delete(self, owner_id: str, template_id: str) -> None:
        if not await self._templates.delete(owner_id, template_id):
            raise NotFound(f"Template {template_id} not found")

    def _apply(self, template: Template, fields: dict[str, Any], *, creating: bool) -> Template:
        out = replace(template, updated_at=utcnow())
        if creating and fields.get("name") is None:
            TemplateFields.parse(**fields)  # reports the missing name
        for key, value in TemplateFields.changes(fields).items():
            setattr(out, key, value)
        if "tags" in fields and fields["tags"] is not None:
            tags = fields["tags"]
            if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
                raise ValidationFailed("tags must be a list of strings", field="tags")
            out.tags = [t.strip() for t in tags if t.strip()]
        if "nodes" in fields or "edges" in fields:
            nodes = fields.get("nodes") if fields.get("nodes") is not None else out.nodes
            edges = fields.get("edges") if fields.get("edges") is not None else out.edges
            out.nodes, out.edges = check_graph(nodes, edges, self._limits)
        if "extra" in fields:
            out.extra = check_extra(fields["extra"], self._limits)
        return out
