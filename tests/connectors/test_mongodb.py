"""The `mongodb` type against an embedded SecantusDB server."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from pymongo import AsyncMongoClient
from secantus import SecantusDBServer

from engine.errors import OutboundRefused, ValidationFailed
from engine.outbound import OutboundGuard
from storage.connectors import mask_config, run_query, test_connection

from .conftest import Honeypot

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def mongo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecantusDBServer]:
    # One server per module: stopping one takes seconds.
    server = SecantusDBServer(port=0, storage_path=str(tmp_path_factory.mktemp("mongo")))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def mongo(mongo_server: SecantusDBServer) -> AsyncIterator[dict[str, Any]]:
    database = f"shop_{uuid.uuid4().hex[:8]}"
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_server.uri)
    try:
        await client[database]["items"].insert_many(
            [{"sku": f"s{i}", "qty": i, "tags": ["a"] if i % 2 else []} for i in range(1, 7)]
        )
        port = int(mongo_server.uri.rstrip("/").rsplit(":", 1)[1])
        yield {"host": "127.0.0.1", "port": port, "database": database}
        await client.drop_database(database)
    finally:
        await client.close()


def q(**spec: Any) -> str:
    return json.dumps(spec)


async def test_find_with_filter_projection_sort(
    mongo: dict[str, Any], loopback_guard: OutboundGuard
) -> None:
    query = q(
        collection="items",
        filter={"qty": {"$gte": 3}},
        projection={"_id": 0, "sku": 1},
        sort={"qty": -1},
    )
    result = await run_query("mongodb", mongo, query, guard=loopback_guard)
    assert result.data == [{"sku": "s6"}, {"sku": "s5"}, {"sku": "s4"}, {"sku": "s3"}]


async def test_object_ids_are_strings_and_row_cap(
    mongo: dict[str, Any], loopback_guard: OutboundGuard
) -> None:
    result = await run_query(
        "mongodb", mongo, q(collection="items"), guard=loopback_guard, row_cap=4
    )
    assert result.count == 4 and result.truncated
    assert all(isinstance(r["_id"], str) and len(r["_id"]) == 24 for r in result.data)
    limited = await run_query(
        "mongodb", mongo, q(collection="items", limit=2), guard=loopback_guard, row_cap=4
    )
    assert limited.count == 2 and not limited.truncated


async def test_aggregate(mongo: dict[str, Any], loopback_guard: OutboundGuard) -> None:
    pipeline = [
        {"$match": {"qty": {"$gt": 1}}},
        {"$group": {"_id": None, "total": {"$sum": "$qty"}}},
        {"$project": {"_id": 0, "total": 1}},
    ]
    result = await run_query(
        "mongodb", mongo, q(collection="items", pipeline=pipeline), guard=loopback_guard
    )
    assert result.data == [{"total": 20}]


@pytest.mark.parametrize(
    "spec",
    [
        {"collection": "items", "pipeline": [{"$match": {}}, {"$out": "stolen"}]},
        {"collection": "items", "pipeline": [{"$merge": {"into": "stolen"}}]},
        {"collection": "items", "pipeline": [{"$facet": {"x": [{"$out": "stolen"}]}}]},
        {"collection": "items", "filter": {"$where": "sleep(10000) || true"}},
        {"collection": "items", "pipeline": [{"$match": {"$expr": {"$function": {}}}}]},
        {"collection": "items", "update": {"$set": {"qty": 0}}},
        {"collection": "system.users"},
        {"filter": {}},
        {"collection": "items", "limit": 0},
        {"collection": "items", "pipeline": {"$match": {}}},
    ],
)
async def test_writes_and_bad_queries_refused(
    mongo: dict[str, Any], loopback_guard: OutboundGuard, spec: dict[str, Any]
) -> None:
    with pytest.raises(ValidationFailed):
        await run_query("mongodb", mongo, json.dumps(spec), guard=loopback_guard)
    check = await run_query("mongodb", mongo, q(collection="items"), guard=loopback_guard)
    assert check.count == 6
    listing = await run_query("mongodb", mongo, q(collection="stolen"), guard=loopback_guard)
    assert listing.count == 0


async def test_not_json_is_refused(mongo: dict[str, Any], loopback_guard: OutboundGuard) -> None:
    with pytest.raises(ValidationFailed) as info:
        await run_query("mongodb", mongo, "db.items.drop()", guard=loopback_guard)
    assert info.value.field == "query"


async def test_test_connection_and_masking(
    mongo: dict[str, Any], loopback_guard: OutboundGuard
) -> None:
    check = await test_connection("mongodb", mongo, guard=loopback_guard)
    assert check.ok, check.message
    masked = mask_config("mongodb", {**mongo, "username": "u", "password": "pw-secret"})
    assert masked["password"] == "********" and masked["username"] == "u"


async def test_guard_refuses_loopback(honeypot: Honeypot) -> None:
    config = {"host": "127.0.0.1", "port": honeypot.port, "database": "x"}
    with pytest.raises(OutboundRefused):
        await run_query("mongodb", config, q(collection="c"), guard=OutboundGuard())
    with pytest.raises(OutboundRefused):
        await test_connection("mongodb", config, guard=OutboundGuard())
    assert honeypot.connections == []


async def test_srv_needs_an_explicitly_allowed_host() -> None:
    config = {"host": "cluster0.example.net", "database": "x", "srv": True}
    guard = OutboundGuard.from_entries(["0.0.0.0/0"])  # even "all networks" is not enough
    with pytest.raises(OutboundRefused) as info:
        await run_query("mongodb", config, q(collection="c"), guard=guard)
    assert info.value.field == "config.host"
