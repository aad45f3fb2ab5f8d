"""Seed 000 `/api/v1/data-sources`: CRUD with masked secrets, connection test, query."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel

from rest_compat.operations import execute
from rest_compat.shapes import v1_time

router = APIRouter(prefix="/api/v1/data-sources", tags=["data sources (v1)"])

DELETED_MESSAGE = "数据源已删除"
FIELDS = "id name type description config status createdAt updatedAt"


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
        "type": d["type"],
        "description": d["description"],
        "config": d["config"],
        "status": d["status"],
        "created_at": v1_time(d["createdAt"]),
        "updated_at": v1_time(d["updatedAt"]),
    }


@router.get("")
async def list_data_sources(
    request: Request,
    skip: int = Query(0),
    limit: int = Query(100),
    type: str | None = None,
    status: str | None = None,
) -> list[dict[str, Any]]:
    data = await execute(
        request,
        "query($s: Int!, $l: Int!, $t: String, $st: String) {"
        f" dataSources(skip: $s, limit: $l, type: $t, status: $st) {{ {FIELDS} }} }}",
        {"s": skip, "l": limit, "t": type, "st": status},
    )
    return [v1_data_source(d) for d in data["dataSources"]]


@router.post("", status_code=201)
async def create_data_source(request: Request, body: DataSourceCreate) -> dict[str, Any]:
    # Loose body: the service words every missing or wrong field the same way GraphQL does.
    values = body.model_dump()
    for name in ("name", "type"):
        if not isinstance(values[name], str):
            values[name] = "" if values[name] is None else str(values[name])
    if values["config"] is None:
        values["config"] = {}
    data = await execute(
        request,
        f"mutation($i: DataSourceInput!) {{ createDataSource(input: $i) {{ {FIELDS} }} }}",
        {"i": values},
    )
    return v1_data_source(data["createDataSource"])


@router.get("/{data_source_id}")
async def get_data_source(request: Request, data_source_id: str) -> dict[str, Any]:
    data = await execute(
        request, f"query($id: ID!) {{ dataSource(id: $id) {{ {FIELDS} }} }}", {"id": data_source_id}
    )
    return v1_data_source(data["dataSource"])


@router.put("/{data_source_id}")
async def update_data_source(
    request: Request, data_source_id: str, body: DataSourceUpdate
) -> dict[str, Any]:
    data = await execute(
        request,
        "mutation($id: ID!, $i: DataSourceUpdateInput!) { updateDataSource(id: $id, input: $i)"
        f" {{ {FIELDS} }} }}",
        {"id": data_source_id, "i": body.model_dump(exclude_unset=True)},
    )
    return v1_data_source(data["updateDataSource"])


@router.delete("/{data_source_id}")
async def delete_data_source(request: Request, data_source_id: str) -> dict[str, Any]:
    await execute(
        request, "mutation($id: ID!) { deleteDataSource(id: $id) }", {"id": data_source_id}
    )
    return {"message": DELETED_MESSAGE}


@router.post("/{data_source_id}/test")
async def test_data_source(request: Request, data_source_id: str) -> dict[str, Any]:
    data = await execute(
        request,
        "mutation($id: ID!) { testDataSource(id: $id) { status message } }",
        {"id": data_source_id},
    )
    return data["testDataSource"]


@router.post("/{data_source_id}/query")
async def query_data_source(
    request: Request, data_source_id: str, body: QueryBody
) -> dict[str, Any]:
    data = await execute(
        request,
        "mutation($id: ID!, $q: String!) { queryDataSource(id: $id, query: $q)"
        " { data count truncated } }",
        {"id": data_source_id, "q": body.query},
    )
    return data["queryDataSource"]
