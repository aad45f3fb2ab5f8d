"""Turn driver values (datetime, Decimal, bytes, UUID, ObjectId...) into JSON-safe ones."""

from __future__ import annotations

import base64
import datetime as dt
import math
import uuid
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

_MAX_DEPTH = 64


def jsonable(value: Any, _depth: int = 0) -> Any:
    """A JSON-serializable copy of `value`; unknown types become their `str()`."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if _depth > _MAX_DEPTH:
        return str(value)
    if isinstance(value, float):
        # NaN and infinities are not JSON.
        return value if math.isfinite(value) else str(value)
    if isinstance(value, Decimal):
        return _decimal(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): jsonable(v, _depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v, _depth + 1) for v in value]
    to_decimal = getattr(value, "to_decimal", None)  # bson Decimal128
    if callable(to_decimal):
        return _decimal(to_decimal())
    return str(value)


def _decimal(value: Decimal) -> float | str:
    # A float when it carries the same number; otherwise the exact text, so
    # money and big integers are not silently rounded.
    if value.is_finite():
        as_float = float(value)
        if math.isfinite(as_float) and Decimal(repr(as_float)) == value:
            return as_float
    return str(value)


def row_of(value: Any) -> dict[str, Any]:
    """One result row: mappings stay rows, anything else becomes `{"value": ...}`."""
    if isinstance(value, Mapping):
        return {str(k): jsonable(v, 1) for k, v in value.items()}
    return {"value": jsonable(value)}
