"""JSON from clients, refused before anything parses it deeper than it should.

Python's JSON parser, graphql-core, pydantic and the BSON encoder all recurse per
level of nesting, each with its own share of the interpreter's stack: a body nested
a few hundred levels deep parsed fine and then failed somewhere past the parser with
a RecursionError (an HTTP 500). So every JSON body (REST and `/graphql`), every
GraphQL WebSocket message and every JSON document sent inside a string
(`workflowJson`) is held to `MAX_DEPTH` levels, and to what the parser can read:
UTF-8, integers of at most `MAX_DIGITS` digits (Python's own conversion limit) and
no unpaired UTF-16 surrogate (`"\\ud800"`, which no database or encoder can store).

`problem(raw)` names what is wrong, or says nothing; the common case costs a few
`bytes.count` calls and one `bytes.decode`, all in C. Deeper checks run only when a
cheap test says they might fail.
"""

from __future__ import annotations

import json
import re
from typing import Any

MAX_DEPTH = 64
"""Levels of nested arrays and objects in one JSON document (a workflow needs about 10)."""
MAX_DIGITS = 4300
"""Digits in one JSON number: Python's limit for converting text to int."""

_ESCAPE = re.compile(rb"\\.", re.DOTALL)
_STRING = re.compile(rb'"[^"]*"')
_PAIR = re.compile(rb"\[\]|\{\}")
_KEEP = bytes(range(256)).translate(None, b'[]{}"')
_LONG_NUMBER = re.compile(rb"\d{%d}" % (MAX_DIGITS + 1))
_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F]")


TOO_DEEP = f"JSON nested deeper than {MAX_DEPTH} levels"
SURROGATE = "a string holds an unpaired UTF-16 surrogate (such as \\ud800)"


class JsonInputError(json.JSONDecodeError):
    """JSON a client sent that is refused; `reason` says why. A `JSONDecodeError`, so
    every parser's caller treats it as the invalid JSON it is."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason, "", 0)
        self.reason = reason


def depth(raw: bytes) -> int:
    """How deeply arrays and objects nest in `raw` (strings skipped); when that is at most
    `MAX_DEPTH`, possibly an upper bound instead (the count of opening brackets)."""
    opened = raw.count(b"[") + raw.count(b"{")
    if opened <= MAX_DEPTH:
        return opened
    structure = _STRING.sub(b"", _ESCAPE.sub(b"", raw).translate(None, _KEEP))
    # Each pass removes the innermost pairs: the deepest path loses one level per pass.
    passes = 0
    while structure and passes <= MAX_DEPTH:
        shorter = _PAIR.sub(b"", structure)
        if shorter == structure:
            break
        structure, passes = shorter, passes + 1
    if not structure or passes > MAX_DEPTH:
        return passes
    # Malformed: unmatched brackets (and quotes) are left; they nest this much more.
    current = deepest = 0
    for byte in structure:
        if byte in b"[{":
            current += 1
            deepest = max(deepest, current)
        elif byte in b"]}":
            current = max(current - 1, 0)
    return passes + deepest


def problem(raw: bytes | str) -> str | None:
    """Why `raw` is refused as a JSON document, or None (then parse it as usual: a
    syntax error is still the parser's to report)."""
    if isinstance(raw, str):
        try:
            data = raw.encode("utf-8")
        except UnicodeEncodeError:
            return SURROGATE
    else:
        data = raw
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as error:
            return f"not valid UTF-8 (byte 0x{raw[error.start]:02x} at offset {error.start})"
    if depth(data) > MAX_DEPTH:
        return TOO_DEEP
    if _LONG_NUMBER.search(data) or _SURROGATE.search(data):
        try:
            value = json.loads(data)
        except RecursionError:
            return TOO_DEEP
        except json.JSONDecodeError:
            return None  # the caller's parser reports it, as for any syntax error
        except ValueError:
            return f"a number has more than {MAX_DIGITS} digits"
        if _unpaired_surrogate(value):
            return SURROGATE
    return None


def _unpaired_surrogate(value: Any) -> bool:
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def loads(raw: bytes | str) -> Any:
    """`json.loads` held to the rules above (`JsonInputError` otherwise); a plain syntax
    error is `json.JSONDecodeError` as usual."""
    reason = problem(raw)
    if reason is not None:
        raise JsonInputError(reason)
    return json.loads(raw)
