"""PostgreSQL bind arguments: run input converted to the types the statement expects.

asyncpg encodes each argument by the parameter type PostgreSQL inferred when
it prepared the statement, and it wants the matching Python type (`int` for
`int4`, `datetime` for `timestamptz`). Run input is mostly JSON text, so a
workflow that writes `WHERE id = {input.id}` and is run with `{"id": "2"}`
would fail; this converts what can be converted exactly and refuses the rest
with a message naming the placeholder (`{input.id} must be an integer ...`),
which is also what `2 OR 1=1` gets.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from decimal import Decimal
from typing import Any

from engine.errors import ValidationFailed
from engine.templates import to_text

FIELD = "query"
_TEXT = frozenset({"text", "varchar", "bpchar", "char", "name", "citext", "unknown"})
_INTEGER = frozenset({"int2", "int4", "int8", "oid"})
_FLOAT = frozenset({"float4", "float8"})
_TRUE = frozenset({"true", "t", "yes", "y", "on", "1"})
_FALSE = frozenset({"false", "f", "no", "n", "off", "0"})
_WHAT = {
    **dict.fromkeys(_INTEGER, "an integer"),
    **dict.fromkeys(_FLOAT, "a number"),
    "numeric": "a number",
    "bool": "true or false",
    "uuid": "a UUID",
    "date": "an ISO 8601 date",
    "timestamp": "an ISO 8601 date-time",
    "timestamptz": "an ISO 8601 date-time",
    "time": "an ISO 8601 time",
}
_ARGUMENT_RE = re.compile(r"query argument \$(\d+)")


def coerce_args(
    args: tuple[Any, ...], types: tuple[Any, ...], labels: tuple[str, ...]
) -> list[Any]:
    """Each argument converted for its parameter type (`asyncpg` `Type`: name, kind)."""
    return [
        _coerce(value, str(pg_type.name), str(pg_type.kind), label)
        for value, pg_type, label in zip(args, types, labels, strict=True)
    ]


def argument_error(message: str, labels: tuple[str, ...]) -> ValidationFailed | None:
    """asyncpg's "invalid input for query argument $n" as an error naming the placeholder."""
    found = _ARGUMENT_RE.search(message)
    if found is None or not 1 <= int(found.group(1)) <= len(labels):
        return None
    label = labels[int(found.group(1)) - 1]
    return ValidationFailed(f"{label} does not fit this query: {message}", field=FIELD)


def _coerce(value: Any, name: str, kind: str, label: str) -> Any:
    if value is None:
        return None
    if kind == "array":
        if not isinstance(value, list | tuple):
            raise ValidationFailed(f"{label} must be a list for this query", field=FIELD)
        element = name.removesuffix("[]")
        return [_coerce(item, element, "scalar", label) for item in value]
    try:
        return _scalar(value, name)
    except (ValueError, TypeError, ArithmeticError):
        what = _WHAT.get(name, name)
        shown = to_text(value)
        shown = shown if len(shown) <= 60 else shown[:57] + "..."
        raise ValidationFailed(
            f"{label} must be {what} for this query, got {shown!r}", field=FIELD
        ) from None


def _scalar(value: Any, name: str) -> Any:
    if name in _TEXT:
        return value if isinstance(value, str) else to_text(value)
    if name in _INTEGER:
        if isinstance(value, bool):
            raise TypeError("a boolean is not an integer")
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str):
            return int(value.strip())
        raise TypeError(type(value).__name__)
    if name in _FLOAT or name == "numeric":
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise TypeError(type(value).__name__)
        if name in _FLOAT:
            return float(value)
        return Decimal(repr(value) if isinstance(value, float) else str(value).strip())
    if name == "bool":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in _TRUE or text in _FALSE:
            return text in _TRUE
        raise ValueError(text)
    if isinstance(value, str):
        return _from_text(value.strip(), name)
    return value


def _from_text(text: str, name: str) -> Any:
    if name == "uuid":
        return uuid.UUID(text)
    if name == "date":
        return dt.date.fromisoformat(text)
    if name == "time":
        return dt.time.fromisoformat(text)
    if name in ("timestamp", "timestamptz"):
        moment = dt.datetime.fromisoformat(text)
        if name == "timestamp" and moment.tzinfo is not None:
            # A `timestamp` column has no zone: store the UTC wall time.
            moment = moment.astimezone(dt.UTC).replace(tzinfo=None)
        return moment
    # json/jsonb (the connection's codec encodes any JSON value) and the types asyncpg
    # takes as text (enums, inet, ...): asyncpg's own encoder decides.
    return text
