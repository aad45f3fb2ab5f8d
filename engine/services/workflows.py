"""Workflows: create, update (each a new version), list, import/export, rollback, templates."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from engine.clock import utcnow
from engine.errors import NotFound, ValidationFailed
from engine.graph_limits import GraphLimits, check_graph_size
from engine.graph_model import parse_graph
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
MAX_NAME = 200
MAX_DESCRIPTION = 5000


def _text(value: Any, field: str, *, required: bool, limit: int) -> str:
    if value is None:
        if required:
            raise ValidationFailed(f"{field} is required", field=field)
        return ""
    if not isinstance(value, str):
        raise ValidationFailed(f"{field} must be a string", field=field)
    text: str = value.strip()
    if required and not text:
        raise ValidationFailed(f"{field} must not be empty", field=field)
    if len(text) > limit:
        raise ValidationFailed(f"{field} must be at most {limit} characters", field=field)
    return text


def check_graph(
    nodes: Any, edges: Any, limits: GraphLimits | None = None
) -> tuple[list[JSONDict], list[JSONDict]]:
    """Size and structure only: a draft may be incomplete, but never malformed or huge."""
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
    return nodes, edges


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

    async def get(self, owner_id: str, workflow_id: str) -> Workflow:
        workflow = await self._workflows.get(owner_id, workflow_id)
        if workflow is None:
            raise NotFound(f"Workflow {workflow_id} not found")
        return workflow

    async def find(self, owner_id: str, query: WorkflowQuery) -> Page[Workflow]:
        return await self._workflows.find(owner_id, check_query(query))

    async def versions(self, owner_id: str, workflow_id: str) -> list[WorkflowVersion]:
        await self.get(owner_id, workflow_id)
        return await self._workflows.versions(owner_id, workflow_id)

    async def version(self, owner_id: str, workflow_id: str, version: int) -> WorkflowVersion:
        await self.get(owner_id, workflow_id)
        found = await self._workflows.version(owner_id, workflow_id, version)
        if found is None:
            raise NotFound(f"Version {version} of workflow {workflow_id} not found")
        return found

    def validate(self, nodes: Any, edges: Any) -> ValidationReport:
        check_graph_size(nodes, edges, self.limits)
        return validate_workflow(nodes, edges)

    async def export(self, owner_id: str, workflow_id: str) -> tuple[Workflow, datetime]:
        return await self.get(owner_id, workflow_id), utcnow()

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
        comment: str = "Created",
    ) -> Workflow:
        checked_nodes, checked_edges = check_graph(nodes, edges, self.limits)
        workflow = Workflow(
            owner_id=owner_id,
            name=_text(name, "name", required=True, limit=MAX_NAME),
            description=_text(description, "description", required=False, limit=MAX_DESCRIPTION),
            type=_text(type, "type", required=False, limit=50) or "workflow",
            nodes=checked_nodes,
            edges=checked_edges,
        )
        await self._workflows.add(workflow, self._snapshot(workflow, comment))
        return workflow

    async def update(
        self,
        owner_id: str,
        workflow_id: str,
        *,
        changes: dict[str, Any],
        comment: str = "Updated",
    ) -> Workflow:
        """Apply the given fields; absent keys keep their value. Writes a new version."""
        current = await self.get(owner_id, workflow_id)
        fields: dict[str, Any] = {}
        if "name" in changes:
            fields["name"] = _text(changes["name"], "name", required=True, limit=MAX_NAME)
        if "description" in changes:
            fields["description"] = _text(
                changes["description"], "description", required=False, limit=MAX_DESCRIPTION
            )
        if "type" in changes and changes["type"] is not None:
            fields["type"] = _text(changes["type"], "type", required=False, limit=50) or "workflow"
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
        return await self._write_version(current, fields, comment)

    async def publish(
        self, owner_id: str, workflow_id: str, *, is_published: bool, input_modes: Any
    ) -> Workflow:
        """Publishing changes metadata only, so it writes no new graph version."""
        current = await self.get(owner_id, workflow_id)
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

    async def delete(self, owner_id: str, workflow_id: str) -> None:
        if not await self._workflows.delete(owner_id, workflow_id):
            raise NotFound(f"Workflow {workflow_id} not found")

    async def rollback(
        self, owner_id: str, workflow_id: str, version: int, *, comment: str | None
    ) -> Workflow:
        target = await self.version(owner_id, workflow_id, version)
        current = await self.get(owner_id, workflow_id)
        fields = {
            "name": target.name,
            "description": target.description,
            "nodes": target.nodes,
            "edges": target.edges,
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
        if creating or "name" in fields:
            out.name = _text(fields.get("name"), "name", required=True, limit=MAX_NAME)
        for key, limit in (("description", MAX_DESCRIPTION), ("category", 100), ("icon", 100)):
            if key in fields:
                setattr(out, key, _text(fields[key], key, required=False, limit=limit))
        if "tags" in fields and fields["tags"] is not None:
            tags = fields["tags"]
            if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
                raise ValidationFailed("tags must be a list of strings", field="tags")
            out.tags = [t.strip() for t in tags if t.strip()]
        if "nodes" in fields or "edges" in fields:
            nodes = fields.get("nodes") if fields.get("nodes") is not None else out.nodes
            edges = fields.get("edges") if fields.get("edges") is not None else out.edges
            out.nodes, out.edges = check_graph(nodes, edges, self._limits)
        return out
