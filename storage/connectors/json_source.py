"""JSON data sources: inline `data` or an uploaded file, queried with JMESPath.

Config: exactly one of `data` (a JSON list or object, or a string holding one)
or `file_id` (resolved by the injected async `file_loader`, which returns the
file's bytes, text, or already-parsed JSON). The query is a JMESPath
expression (https://jmespath.org); an empty query returns the whole document.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import anyio
import jmespath
from jmespath.exceptions import JMESPathError

from engine.errors import QueryTimedOut, UpstreamFailed, ValidationFailed
from storage.connectors.base import QueryContext, QueryResult
from storage.connectors.binding import bind_jmespath
from storage.connectors.values import row_of

MAX_DOCUMENT_BYTES = 20 * 1024 * 1024


class JsonConnector:
    type_name = "json"
    secret_fields: frozenset[str] = frozenset()

    def validate(self, config: Mapping[str, Any]) -> None:
        has_data, has_file = config.get("data") is not None, bool(config.get("file_id"))
        if has_data == has_file:
            raise ValidationFailed(
                "config needs exactly one of data or file_id", field="config.data"
            )
        if has_file and not isinstance(config["file_id"], str):
            raise ValidationFailed("config.file_id must be a string", field="config.file_id")
        if has_data:
            _parse(config["data"], "config.data")

    def secret_paths(self, config: Mapping[str, Any]) -> set[str]:
        return set()

    async def test(self, config: Mapping[str, Any], ctx: QueryContext) -> str:
        document = await _document(config, ctx)
        size = len(document) if isinstance(document, list | dict) else 1
        kind = "list" if isinstance(document, list) else type(document).__name__
        return f"JSON {kind} with {size} item(s) loaded"

    async def query(self, config: Mapping[str, Any], query: str, ctx: QueryContext) -> QueryResult:
        if ctx.params is not None:
            query = bind_jmespath(query, ctx.params)
        expression = _compile(query)
        document = await _document(config, ctx)
        result = expression.search(document) if expression is not None else document
        items = result if isinstance(result, list) else ([] if result is None else [result])
        rows = [row_of(item) for item in items[: ctx.row_cap + 1]]
        return QueryResult.from_rows(rows, ctx.row_cap)


def _compile(query: str) -> Any:
    if not query.strip():
        return None
    try:
        return jmespath.compile(query)
    except JMESPathError as exc:
        raise ValidationFailed(f"the query is not valid JMESPath: {exc}", field="query") from None


async def _document(config: Mapping[str, Any], ctx: QueryContext) -> Any:
    JsonConnector().validate(config)
    if config.get("data") is not None:
        return _parse(config["data"], "config.data")
    if ctx.file_loader is None:
        raise ValidationFailed("file-backed JSON sources need a file store", field="config.file_id")
    try:
        with anyio.fail_after(ctx.timeout_s):
            content = await ctx.file_loader(config["file_id"])
    except TimeoutError:
        raise QueryTimedOut(f"loading the JSON file took over {ctx.timeout_s:g}s") from None
    if isinstance(content, bytes | bytearray | memoryview):
        if len(content) > MAX_DOCUMENT_BYTES:
            raise UpstreamFailed("the JSON file is too large")
        try:
            content = bytes(content).decode("utf-8-sig")
        except UnicodeDecodeError:
            raise UpstreamFailed("the JSON file is not UTF-8 text") from None
    return _parse(content, "config.file_id")


def _parse(value: Any, field: str) -> Any:
    if isinstance(value, str):
        if len(value) > MAX_DOCUMENT_BYTES:
            raise ValidationFailed("the JSON document is too large", field=field)
        try:
            value = json.loads(value)
        except ValueError as exc:
            raise ValidationFailed(f"{field} is not valid JSON: {exc}", field=field) from None
    if not isinstance(value, list | dict):
        raise ValidationFailed(f"{field} must be a JSON list or object", field=field)
    return value


CONNECTOR = JsonConnector()
