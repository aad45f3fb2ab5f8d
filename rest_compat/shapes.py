"""Result shapes of each dialect, from GraphQL's camelCase results."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Path, Query

from graph.conventions import MAX_OFFSET, encode_cursor
from rest_compat.errors import ApiError

# The graph travels as seed 003's workflowJson string: every field a client stored
# comes back as it was sent (the typed `nodes`/`edges` are GraphQL's own view).
WORKFLOW_FIELDS = (
    "id name description type version status isPublished inputModes createdAt updatedAt "
    "workflowJson"
)
VERSION_FIELDS = "workflowId version name description comment createdAt workflowJson"
TEMPLATE_FIELDS = "id name description category icon tags builtin createdAt updatedAt workflowJson"
USER_FIELDS = "id username email role createdAt"
MAX_PAGE = 100


def v1_time(value: str | None) -> str | None:
    """Seed 000 shows `2024-01-01T00:00:00`: UTC, seconds, no offset."""
    if value is None:
        return None
    moment = datetime.fromisoformat(value).astimezone(UTC)
    return moment.replace(tzinfo=None).isoformat(timespec="seconds")


def api_time(value: str | None) -> str | None:
    """Seed 003 shows `2026-12-31T00:00:00Z`: UTC with a Z."""
    if value is None:
        return None
    moment = datetime.fromisoformat(value).astimezone(UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def enum_out(value: str | None) -> str | None:
    """GraphQL enum names (`DRAFT`) as the documents spell them (`draft`)."""
    return value.lower() if isinstance(value, str) else value


def enum_in(value: str | None, field: str, allowed: tuple[str, ...]) -> str | None:
    """A document's value as a GraphQL enum name, checked here to name the field."""
    if value is None:
        return None
    if value not in allowed:
        raise ApiError(422, "VALIDATION_ERROR", f"{field}: must be one of {', '.join(allowed)}")
    return value.upper()


Skip = Annotated[
    int, Query(ge=0, le=MAX_OFFSET, description="How many items to skip (0 to 2147483647).")
]
"""Seed 000's `skip`, its bounds in the OpenAPI document too."""
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE, description="At most this many (1 to 100).")]
VersionNumber = Annotated[
    int, Path(ge=1, le=MAX_OFFSET, description="A version number (1, 2, ...).")
]


def page_args(skip: int, limit: int) -> dict[str, Any]:
    """Seed 000's skip/limit as a connection's first/after (422 naming the field)."""
    if not 0 <= skip <= MAX_OFFSET:
        raise ApiError(422, "VALIDATION_ERROR", f"skip: must be between 0 and {MAX_OFFSET}")
    if not 1 <= limit <= MAX_PAGE:
        raise ApiError(422, "VALIDATION_ERROR", f"limit: must be between 1 and {MAX_PAGE}")
    return {"first": limit, "after": encode_cursor(skip - 1) if skip else None}


def graph_of(workflow_json: str) -> dict[str, Any]:
    document = json.loads(workflow_json)
    return document if isinstance(document, dict) else {}


def graph_json(nodes: Any, edges: Any) -> str | None:
    """Seed 000's nodes/edges as the workflowJson GraphQL takes (None: neither given)."""
    document = {}
    if nodes is not None:
        document["nodes"] = nodes
    if edges is not None:
        document["edges"] = edges
    return json.dumps(document) if document else None


def v1_user(u: dict[str, Any], *, with_created: bool = True) -> dict[str, Any]:
    out = {
        "id": u["id"],
        "username": u["username"],
        "email": u["email"],
        "role": enum_out(u["role"]),
    }
    if with_created:
        out["created_at"] = v1_time(u["createdAt"])
    return out


def v1_workflow(w: dict[str, Any]) -> dict[str, Any]:
    graph = graph_of(w["workflowJson"])
    return {
        "id": w["id"],
        "name": w["name"],
        "description": w["description"],
        "type": w["type"],
        "nodes": graph.get("nodes", []),
        "edges": graph.get("edges", []),
        "version": w["version"],
        "status": enum_out(w["status"]),
        "is_published": w["isPublished"],
        "created_at": v1_time(w["createdAt"]),
        "updated_at": v1_time(w["updatedAt"]),
    }


def v1_version(v: dict[str, Any]) -> dict[str, Any]:
    graph = graph_of(v["workflowJson"])
    return {
        "workflow_id": v["workflowId"],
        "version": v["version"],
        "name": v["name"],
        "description": v["description"],
        "nodes": graph.get("nodes", []),
        "edges": graph.get("edges", []),
        "comment": v["comment"],
        "created_at": v1_time(v["createdAt"]),
    }


def v1_template(t: dict[str, Any]) -> dict[str, Any]:
    graph = graph_of(t["workflowJson"])
    return {
        "id": t["id"],
        "name": t["name"],
        "description": t["description"],
        "category": t["category"],
        "icon": t["icon"],
        "tags": t["tags"],
        "nodes": graph.get("nodes", []),
        "edges": graph.get("edges", []),
        "builtin": t["builtin"],
        "created_at": v1_time(t["createdAt"]),
    }


def api_workflow(w: dict[str, Any]) -> dict[str, Any]:
    """Seed 003's WorkflowDocument."""
    return {
        "id": w["id"],
        "name": w["name"],
        "description": w["description"],
        "type": w["type"],
        "workflowJson": w["workflowJson"],
        "isPublished": w["isPublished"],
        "inputModes": w["inputModes"],
        "createdAt": api_time(w["createdAt"]),
        "updatedAt": api_time(w["updatedAt"]),
    }


def api_template(t: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": t["id"],
        "name": t["name"],
        "description": t["description"],
        "category": t["category"],
        "icon": t["icon"],
        "tags": t["tags"],
        "workflowJson": t["workflowJson"],
        "createdAt": api_time(t["createdAt"]),
        "updatedAt": api_time(t["updatedAt"]),
    }
