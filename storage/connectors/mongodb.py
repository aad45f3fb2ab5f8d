"""MongoDB data sources (pymongo's AsyncMongoClient).

The query is a JSON object, not a shell command, so only two operations exist:

    {"collection": "users", "filter": {...}, "projection": {...}, "sort": {...}, "limit": 10}
    {"collection": "users", "pipeline": [{"$match": {...}}, {"$group": {...}}]}

Both only read. `$out` and `$merge` (the stages that write) are refused at any
depth of a pipeline (inside `$facet`, `$lookup`, `$unionWith` too), as are
`$where`, `$function` and `$accumulator`, which run server-side JavaScript.

Host pinning: a plain host is resolved through the guard and the client
connects to the checked IP with `directConnection=true`, so DNS cannot move it
afterwards. With TLS the client connects by name instead, because the
certificate must match the name; a rebinding attacker cannot present a valid
certificate for their own name from an internal host, and the name was checked
too. `srv: true` (mongodb+srv://) delegates the host list to DNS SRV records
the guard cannot pin, so it is refused unless the operator allowed that host
name explicitly in AGENTLOOM_OUTBOUND_ALLOW.
"""

from __future__ import annotations

import json
import math
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import anyio
from pymongo import AsyncMongoClient
from pymongo.errors import ExecutionTimeout, OperationFailure, PyMongoError

from engine.errors import OutboundRefused, QueryTimedOut, UpstreamFailed, ValidationFailed
from storage.connectors.base import (
    QueryContext,
    QueryResult,
    optional_str,
    port_of,
    require_str,
    scrub,
)
from storage.connectors.binding import bind_mongo
from storage.connectors.values import jsonable

DEFAULT_PORT = 27017
CLIENT_GRACE_S = 1.0
FORBIDDEN_OPERATORS = frozenset({"$out", "$merge", "$where", "$function", "$accumulator"})
_MAX_TIME_CODES = frozenset({50})  # MaxTimeMSExpired


class MongoDBConnector:
    type_name = "mongodb"
    secret_fields = frozenset({"password"})

    def validate(self, config: Mapping[str, Any]) -> None:
        _settings(config)

    def secret_paths(self, config: Mapping[str, Any]) -> set[str]:
        return set(self.secret_fields)

    async def test(self, config: Mapping[str, Any], ctx: QueryContext) -> str:
        settings = _settings(config)
        async with _client(settings, ctx) as client:
            try:
                with anyio.fail_after(ctx.timeout_s + CLIENT_GRACE_S):
                    await client[settings["database"]].command("ping")
            except TimeoutError:
                raise QueryTimedOut("connecting to MongoDB timed out") from None
            except PyMongoError as exc:
                raise _map_error(exc, ctx.timeout_s, settings["password"]) from None
        return f"connected to MongoDB database {settings['database']!r}"

    async def query(self, config: Mapping[str, Any], query: str, ctx: QueryContext) -> QueryResult:
        if ctx.params is not None:
            spec = check_query(bind_mongo(query, ctx.params))
        else:
            spec = parse_query(query)
        settings = _settings(config)
        limit = ctx.row_cap + 1
        if spec.get("limit") is not None:
            limit = min(limit, spec["limit"])
        max_time_ms = max(1, math.ceil(ctx.timeout_s * 1000))
        async with _client(settings, ctx) as client:
            collection = client[settings["database"]][spec["collection"]]
            try:
                with anyio.fail_after(ctx.timeout_s + CLIENT_GRACE_S):
                    cursor: Any
                    if "pipeline" in spec:
                        pipeline = [*spec["pipeline"], {"$limit": limit}]
                        cursor = await collection.aggregate(pipeline, maxTimeMS=max_time_ms)
                    else:
                        cursor = collection.find(
                            spec.get("filter") or {},
                            spec.get("projection"),
                            sort=list(spec["sort"].items()) if spec.get("sort") else None,
                            limit=limit,
                            max_time_ms=max_time_ms,
                        )
                    docs = await cursor.to_list(limit)
            except TimeoutError:
                raise QueryTimedOut(f"MongoDB query timed out after {ctx.timeout_s:g}s") from None
            except PyMongoError as exc:
                raise _map_error(exc, ctx.timeout_s, settings["password"]) from None
        rows = [jsonable(doc) for doc in docs]
        if spec.get("limit") is not None and spec["limit"] <= ctx.row_cap:
            # The caller's own limit was honoured, so nothing was cut by the cap.
            return QueryResult(data=rows, count=len(rows), truncated=False)
        return QueryResult.from_rows(rows, ctx.row_cap)


def parse_query(query: str) -> dict[str, Any]:
    """Parse and check the JSON query; refuses writing stages and server-side JS."""
    try:
        spec = json.loads(query)
    except ValueError as exc:
        raise ValidationFailed(
            f"the MongoDB query must be a JSON object: {exc}", field="query"
        ) from None
    return check_query(spec)


def check_query(spec: Any) -> dict[str, Any]:
    """Check a parsed query (also one whose placeholders were bound)."""
    if not isinstance(spec, dict):
        raise ValidationFailed("the MongoDB query must be a JSON object", field="query")
    unknown = set(spec) - {"collection", "filter", "projection", "sort", "limit", "pipeline"}
    if unknown:
        raise ValidationFailed(f"unknown query keys: {', '.join(sorted(unknown))}", field="query")
    collection = spec.get("collection")
    if not isinstance(collection, str) or not collection or collection.startswith("system."):
        raise ValidationFailed("query.collection must name a collection", field="query.collection")
    for key in ("filter", "projection", "sort"):
        if spec.get(key) is not None and not isinstance(spec[key], dict):
            raise ValidationFailed(f"query.{key} must be an object", field=f"query.{key}")
    limit = spec.get("limit")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise ValidationFailed("query.limit must be a positive integer", field="query.limit")
    if "pipeline" in spec:
        pipeline = spec["pipeline"]
        if not isinstance(pipeline, list) or not all(isinstance(s, dict) for s in pipeline):
            raise ValidationFailed(
                "query.pipeline must be a list of stages", field="query.pipeline"
            )
        if spec.get("filter") or spec.get("projection") or spec.get("sort"):
            raise ValidationFailed(
                "use either pipeline or filter/projection/sort, not both", field="query.pipeline"
            )
    _refuse_operators(spec)
    return spec


def _refuse_operators(value: Any) -> None:
    if isinstance(value, dict):
        for key, inner in value.items():
            if key in FORBIDDEN_OPERATORS:
                raise ValidationFailed(f"{key} is not allowed in a read-only query", field="query")
            _refuse_operators(inner)
    elif isinstance(value, list):
        for inner in value:
            _refuse_operators(inner)


def _settings(config: Mapping[str, Any]) -> dict[str, Any]:
    host = require_str(config, "host").strip()
    if any(ch.isspace() or ch in "/?#@," for ch in host):
        raise ValidationFailed("config.host must be one host name or IP", field="config.host")
    srv, tls = config.get("srv", False), config.get("tls", False)
    for name, flag in (("srv", srv), ("tls", tls)):
        if not isinstance(flag, bool):
            raise ValidationFailed(f"config.{name} must be true or false", field=f"config.{name}")
    username = config.get("username") or config.get("user") or ""
    if not isinstance(username, str):
        raise ValidationFailed("config.username must be a string", field="config.username")
    return {
        "host": host,
        "port": port_of(config, DEFAULT_PORT),
        "database": require_str(config, "database").strip(),
        "username": username,
        "password": optional_str(config, "password"),
        "auth_source": optional_str(config, "auth_source") or None,
        "srv": srv,
        "tls": tls,
    }


@asynccontextmanager
async def _client(
    s: dict[str, Any], ctx: QueryContext
) -> AsyncIterator[AsyncMongoClient[dict[str, Any]]]:
    """A guarded, short-lived client that is always closed."""
    timeout_ms = max(1, math.ceil(ctx.timeout_s * 1000))
    options: dict[str, Any] = {
        "serverSelectionTimeoutMS": timeout_ms,
        "connectTimeoutMS": timeout_ms,
        "socketTimeoutMS": timeout_ms + int(CLIENT_GRACE_S * 1000),
        "appname": "agentloom",
        "tls": s["tls"],
        "retryReads": False,
    }
    if s["username"]:
        options.update(username=s["username"], password=s["password"])
        if s["auth_source"]:
            options["authSource"] = s["auth_source"]
    if s["srv"]:
        if s["host"].lower().rstrip(".") not in ctx.guard.allowed_hosts:
            raise OutboundRefused(
                "mongodb+srv hosts are only allowed when the operator lists the host "
                "name in AGENTLOOM_OUTBOUND_ALLOW",
                field="config.host",
            )
        uri = f"mongodb+srv://{s['host']}/"
    else:
        address = await ctx.guard.resolve(s["host"], s["port"], field="config.host")
        target = s["host"] if s["tls"] else address
        if ":" in target:
            target = f"[{target}]"
        uri = f"mongodb://{target}:{s['port']}/"
        options["directConnection"] = True
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(uri, **options)
    try:
        yield client
    finally:
        with anyio.CancelScope(shield=True), anyio.move_on_after(5):
            await client.close()


def _map_error(exc: PyMongoError, timeout_s: float, password: str) -> Exception:
    detail = scrub(str(exc), password)
    code = getattr(exc, "code", None)
    if isinstance(exc, ExecutionTimeout) or (
        isinstance(exc, OperationFailure) and code in _MAX_TIME_CODES
    ):
        return QueryTimedOut(f"MongoDB query timed out after {timeout_s:g}s: {detail}")
    return UpstreamFailed(f"MongoDB error: {detail}")


CONNECTOR = MongoDBConnector()
