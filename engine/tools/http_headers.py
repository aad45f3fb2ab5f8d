"""User-supplied HTTP headers: `Name: value` lines or an object, checked before any request.

A header name must be an RFC 9110 token; a value may not hold control
characters (CR and LF above all: no header injection). Hop-by-hop and framing
headers the client sets itself (`Host`, `Content-Length`, `Transfer-Encoding`,
`Connection`) are refused, so a definition cannot smuggle a second request or
point the Host header elsewhere.
"""

from __future__ import annotations

import re
from typing import Any

from engine.errors import ValidationFailed

TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
RESERVED = frozenset({"host", "content-length", "transfer-encoding", "connection", "upgrade"})
MAX_HEADERS = 50
MAX_VALUE_CHARS = 8192


def _check(name: str, value: str, field: str) -> None:
    if not TOKEN.match(name):
        raise ValidationFailed(f"{field}: {name!r} is not a valid header name", field=field)
    if name.lower() in RESERVED:
        raise ValidationFailed(f"{field}: the {name} header is set by the server", field=field)
    if CONTROL.search(value) or len(value) > MAX_VALUE_CHARS:
        raise ValidationFailed(
            f"{field}: the value of {name} has control characters or is too long", field=field
        )


def parse_header_lines(text: Any, *, field: str = "headers") -> dict[str, str]:
    """`Name: value` lines (blank lines ignored) as a dict; the last of a repeated name wins."""
    if text is None or text == "":
        return {}
    if isinstance(text, dict):
        return check_headers(text, field=field)
    if not isinstance(text, str):
        raise ValidationFailed(f"{field} must be text of 'Name: value' lines", field=field)
    headers: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        name, colon, value = line.partition(":")
        if not colon:
            raise ValidationFailed(
                f"{field}: line {number} is not 'Name: value': {line[:80]!r}", field=field
            )
        name, value = name.strip(), value.strip()
        _check(name, value, field)
        headers[name] = value
    if len(headers) > MAX_HEADERS:
        raise ValidationFailed(f"{field}: at most {MAX_HEADERS} headers", field=field)
    return headers


def check_headers(value: Any, *, field: str = "headers") -> dict[str, str]:
    """An object of header names to string values, checked."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValidationFailed(f"{field} must be an object of header names to values", field=field)
    if len(value) > MAX_HEADERS:
        raise ValidationFailed(f"{field}: at most {MAX_HEADERS} headers", field=field)
    headers: dict[str, str] = {}
    for name, raw in value.items():
        if not isinstance(name, str) or not isinstance(raw, str | int | float):
            raise ValidationFailed(f"{field}: header values must be strings", field=field)
        _check(name.strip(), str(raw), field)
        headers[name.strip()] = str(raw)
    return headers
