"""Seed 000 `/api/v1/data-sources`: CRUD with masked secrets, connection test, query."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel

from rest_compat.errors import ApiError
from rest_compat.operations import USER_ERRORS, execute, operation, payload
from rest_compat.shapes import MAX_PAGE, Limit, Skip, enum_in, enum_out, page_args, v1_time

router = APIRouter(prefix="/api/v1/data-sources", tags=["data sources (v1)"])

DELETED_MESSAGE = "数据源已删除"
FIELDS = "id name type description config status createdAt updatedAt"
TYPES = ("mysql", "postgresql", "api", "json", "mongodb")
STATUSES = ("active", "inactive")

LIST = operation(
    "query($first: Int, $after: String, $t: DataSourceKind, $st: DataSourceStatus) {"
    f" dataSources(first: $first, after: $after, type: $t, status: $st) {{ nodes {{ {FIELDS} }} }} }}",
    __name__,
)
GET = operation(f"query($id: ID!) {{ dataSource(id: $id) {{ {FIELDS} }} }}", __name__)
CREATE = operation(
    "mutation($i: CreateDataSourceInput!) { createDataSource(input: $i) "
    f"{{ dataSource {{ {FIELDS} }} {USER_ERRORS} }} }}",
    __name__,
)
UPDATE = operation(
    "mutation($i: UpdateDataSourceInput!) { updateDataSource(input: $i) "
    f"{{ dataSource {{ {FIELDS} }} {USER_ERRORS} }} }}",
    __name__,
)
DELETE = operation(
    "mutation($i: DataSourceIdInput!) { deleteDataSource(input: $i) "
    f"{{ deletedDataSourceId {USER_ERRORS} }} }}",
    __name__,
)
TEST = operation(
    "mutation($i: DataSourceIdInput!) { testDataSource(input: $i) { result { status message } } }",
    __name__,
)
QUERY = operation(
    "mutation($i: QueryDataSourceInput!) { queryDataSource(input: $i) "
    f"{{ result {{ data count truncated }} {USER_ERRORS} }} }}",
    __name__,
)


class DataSourceCreate(BaseModel):
    name: Any = None
    type: Any = None
    description: Any = None
    config: Any = None
    status: Any = None


class DataSourceUpdate(BaseModel):
    name: str | None = None
    type: str | None = None
    description: str | None = None
    config: dict[str, Any] | None = None
    status: str | None = None


class QueryBody(BaseModel):
    query: str


def v1_data_source(d: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": d["id"],
        "name": d["name"],
        "type": enum_out(d["type"]),
        "description": d["description"],
        "config": d["config"],
        "status": enum_out(d["status"]),
        "created_at": v1_time(d["createdAt"]),
        "updated_at": v1_time(d["updatedAt"]),
    }


def _text_field(value: Any, name: str) -> str:
    if value is None:
        raise ApiError(422, "VALIDATION_ERROR", f"{name}: {name} is required")
    if not isinstance(value, str):
        raise ApiError(422, "VALIDATION_ERROR", f"{name}: {name} must be a string")
    return value


@router.get("")
async def list_data_sources(
    request: Request,
    skip: Skip = 0,
    limit: Limit = MAX_PAGE,
    type: str | None = None,
    status: str | None = None,
) -> list[dict[str, Any]]:
    variables = {
        **page_args(skip, limit),
        "t": enum_in(type, "type", TYPES),
        "st": enum_in(status, "status", STATUSES),
    }
    data = await execute(request, LIST, variables)
    return [v1_data_source(d) for d in data["dataSources"]["nodes"]]


@router.post("", status_code=201)
async def create_data_source(request: Request, body: DataSourceCreate) -> dict[str, Any]:
    values = {
        "name": _text_field(body.name, "name"),
        "type": enum_in(_text_field(body.type, "type"), "type", TYPES),
        "description": body.description if isinstance(body.description, str) else None,
        "config": {} if body.config is None else body.config,
        "status": enum_in(body.status, "status", STATUSES) if body.status is not None else None,
    }
    if not isinstance(values["config"], dict):
        raise ApiError(422, "VALIDATION_ERROR", "config: config must be an object")
    data = await execute(request, CREATE, {"i": values})
    return v1_data_source(payload(data, "createDataSource")["dataSource"])


@router.get("/{data_source_id}")
async def get_data_source(request: Request, data_source_id: str) -> dict[str, Any]:
    found = (await execute(request, GET, {"id": data_source_id}))["dataSource"]
    if found is None:
        raise ApiError(404, "NOT_FOUND", f"Data source {data_source_id} not found")
    return v1_data_source(found)


@router.put("/{data_source_id}")
async def update_data_source(
    request: Request, data_source_id: str, body: DataSourceUpdate
) -> dict[str, Any]:
    changes: dict[str, Any] = body.model_dump(exclude_unset=True)
    if "type" in changes:
        changes["type"] = enum_in(changes["type"], "type", TYPES)
    if "status" in changes:
        changes["status"] = enum_in(changes["status"], "status", STATUSES)
    data = await execute(request, UPDATE, {"i": {"id": data_source_id, **changes}})
    return v1_data_source(payload(data, "updateDataSource")["dataSource"])


@router.delete("/{data_source_id}")
async def delete_data_source(request: Request, data_source_id: str) -> dict[str, Any]:
    payload(await execute(request, DELETE, {"i": {"id": data_source_id}}), "deleteDataSource")
    return {"message": DELETED_MESSAGE}


@router.post("/{data_source_id}/test")
async def test_data_source(request: Request, data_source_id: str) -> dict[str, Any]:
    result = (await execute(request, TEST, {"i": {"id": data_source_id}}))["testDataSource"]
    outcome = result["result"]
    return {"status": enum_out(outcome["status"]), "message": outcome["message"]}


@router.post("/{data_source_id}/query")
async def query_data_source(
    request: Request, data_source_id: str, body: QueryBody
) -> dict[str, Any]:
    data = await execute(request, QUERY, {"i": {"id": data_source_id, "query": body.query}})
    return dict(payload(data, "queryDataSource")["result"])
