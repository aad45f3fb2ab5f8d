"""Result shapes of each dialect, from GraphQL's camelCase results."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from rest_compat.errors import ApiError

WORKFLOW_FIELDS = (
    "id name description type nodes edges version status isPublished inputModes "
    "createdAt updatedAt workflowJson"
)
VERSION_FIELDS = "workflowId version name description nodes edges comment createdAt"
TEMPLATE_FIELDS = (
    "id name description category icon tags nodes edges builtin createdAt updatedAt workflowJson"
)
USER_FIELDS = "id username email role createdAt"


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


def v1_user(u: dict[str, Any], *, with_created: bool = True) -> dict[str, Any]:
    out = {"id": u["id"], "username": u["username"], "email": u["email"], "role": u["role"]}
    if with_created:
        out["created_at"] = v1_time(u["createdAt"])
    return out


def v1_workflow(w: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": w["id"],
        "name": w["name"],
        "description": w["description"],
        "type": w["type"],
        "nodes": w["nodes"],
        "edges": w["edges"],
        "version": w["version"],
        "status": w["status"],
        "is_published": w["isPublished"],
        "created_at": v1_time(w["createdAt"]),
        "updated_at": v1_time(w["updatedAt"]),
    }


def v1_version(v: dict[str, Any]) -> dict[str, Any]:
    return {
        "workflow_id": v["workflowId"],
        "version": v["version"],
        "name": v["name"],
        "description": v["description"],
        "nodes": v["nodes"],
        "edges": v["edges"],
        "comment": v["comment"],
        "created_at": v1_time(v["createdAt"]),
    }


def v1_template(t: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": t["id"],
        "name": t["name"],
        "description": t["description"],
        "category": t["category"],
        "icon": t["icon"],
        "tags": t["tags"],
        "nodes": t["nodes"],
        "edges": t["edges"],
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


def parse_workflow_json(raw: str | None) -> dict[str, Any]:
    """Decode seed 003's `workflowJson` string into `{nodes, edges}` (422 when malformed)."""
    if raw is None or raw.strip() == "":
        return {}
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ApiError(
            422, "VALIDATION_ERROR", f"workflowJson: not valid JSON ({exc.msg})"
        ) from exc
    if not isinstance(data, dict):
        raise ApiError(422, "VALIDATION_ERROR", "workflowJson: must encode a JSON object")
    return {"nodes": data.get("nodes", []), "edges": data.get("edges", [])}
