"""Binding a datasource node's `{path}` placeholders into a query, never splicing them.

A workflow's `datasource` node sends its query template plus the values of
its placeholders (`params`, path -> value). Run input is attacker-controlled
text, so no value is ever pasted into the query text:

- SQL: every placeholder in value position becomes one bind parameter
  (`$1`, `$2`... for asyncpg; `%s` with the value in the argument tuple for
  aiomysql). A placeholder inside a plain string literal (`'%{input.q}%'`,
  MySQL also `"..."`, PostgreSQL also `$$...$$`) makes the *whole literal*
  one parameter: its text with the placeholders rendered in. A placeholder
  in a quoted identifier, a comment, an `E'...'` string or a prefixed literal
  (`N'...'`, `_utf8mb4'...'`) is refused: identifiers cannot be bound, and
  those literals have their own escape rules. The lexer is the read-only
  screen's (`sqlguard.regions`), so binding and screening agree on where
  every string starts and ends.
- MongoDB: the query is parsed as JSON with the placeholders standing in as
  values; a placeholder is a whole JSON value (`{"age": {input.n}}`, typed) or
  part of a string (`"{input.name}"`). It may never be a key, and a bound
  object with a `$` key (`{"$ne": null}`) is refused at any depth, so a value
  never becomes an operator. In aggregation expressions (a pipeline outside
  `$match`, or anything under `$expr`) a bound string starting with `$` is
  refused too, because there it would read a field (`"$password"`).
- REST API: each value is percent-encoded as one path segment / query value.
- JSON (JMESPath): each value becomes a JSON literal (`` `"ada"` ``); inside a
  quoted JMESPath string or identifier a placeholder is refused.

`{{` and `}}` are ordinary text in a query (JSON closes objects with `}}`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from engine.errors import ValidationFailed
from engine.templates import Placeholder, TemplateError, parse_template, to_text
from storage.connectors.sqlguard import Dialect, regions, tokenize

FIELD = "query"
_OPEN, _CLOSE = "\ue000", "\ue001"
# A placeholder stands in the query text as a private-use marker pair around its
# index: no SQL, JSON or JMESPath lexer treats those characters as delimiters.
_MARK_RE = re.compile(f"{_OPEN}(\\d+){_CLOSE}")
_WHOLE_MARK_RE = re.compile(f"^{_OPEN}(\\d+){_CLOSE}$")


@dataclass(frozen=True, kw_only=True)
class Marked:
    """A query template with each placeholder replaced by a marker."""

    text: str
    paths: tuple[str, ...]
    """Placeholder i's path (as written, e.g. `input.id`)."""
    values: tuple[Any, ...]
    """Placeholder i's value."""

    def label(self, index: int) -> str:
        return "{" + self.paths[index] + "}"


@dataclass(frozen=True, kw_only=True)
class BoundSql:
    """SQL with dialect bind markers, and one argument per marker."""

    text: str
    args: tuple[Any, ...]
    labels: tuple[str, ...]
    """What each argument came from (`{input.id}`), for error messages."""
    segments: tuple[str, ...] = ()
    """The text around the markers (`len(args) + 1` pieces), for a connector that
    expands one argument into several markers (MySQL `IN` lists)."""


def _refuse(message: str) -> ValidationFailed:
    return ValidationFailed(message, field=FIELD)


def mark(template: str, params: Mapping[str, Any]) -> Marked:
    """Replace each placeholder by a marker; the values come from `params` by path."""
    if _OPEN in template or _CLOSE in template:
        raise _refuse("the query contains the reserved characters U+E000/U+E001")
    try:
        parts = parse_template(template, brace_escapes=False)
    except TemplateError as exc:
        raise _refuse(exc.message) from None
    text: list[str] = []
    paths: list[str] = []
    values: list[Any] = []
    for part in parts:
        if isinstance(part, Placeholder):
            if part.path not in params:
                raise _refuse(f"no value was given for {{{part.path}}}")
            text.append(f"{_OPEN}{len(paths)}{_CLOSE}")
            paths.append(part.path)
            values.append(params[part.path])
        else:
            text.append(part.text)
    return Marked(text="".join(text), paths=tuple(paths), values=tuple(values))


def _labels_in(marked: Marked, text: str) -> str:
    return ", ".join(marked.label(int(m.group(1))) for m in _MARK_RE.finditer(text))


# -- SQL ------------------------------------------------------------------------------------

_MYSQL_ESCAPES = {
    "0": "\0",
    "b": "\b",
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "Z": "\x1a",
    # LIKE's escaped wildcards keep their backslash (MySQL does the same).
    "%": "\\%",
    "_": "\\_",
}


def _literal_text(body: str, quote_char: str, *, backslash: bool) -> str:
    """The value of a string literal's body: doubled quotes (and MySQL escapes) undone."""
    out: list[str] = []
    i = 0
    while i < len(body):
        ch = body[i]
        if backslash and ch == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            out.append(_MYSQL_ESCAPES.get(nxt, nxt))
            i += 2
        elif ch == quote_char and body[i + 1 : i + 2] == quote_char:
            out.append(quote_char)
            i += 2
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def bind_sql(template: str, params: Mapping[str, Any], dialect: Dialect) -> BoundSql:
    """SQL text with `$n` (PostgreSQL) or `%s` (MySQL) markers and the arguments."""
    marked = mark(template, params)
    mysql = dialect == "mysql"
    text = marked.text
    if not mysql and any(t.kind == "param" for t in tokenize(text, dialect)):
        raise _refuse(
            "write {placeholders} in a workflow query, not $1-style parameters of your own"
        )
    segments: list[str] = []
    current: list[str] = []
    args: list[Any] = []
    labels: list[str] = []

    def plain(chunk: str) -> None:
        # aiomysql formats the query with `%`: a literal percent sign must be `%%`.
        current.append(chunk.replace("%", "%%") if mysql else chunk)

    def parameter(value: Any, label: str) -> None:
        segments.append("".join(current))
        current.clear()
        args.append(value)
        labels.append(label)

    for region in regions(text, dialect):
        chunk = text[region.start : region.end]
        if not _MARK_RE.search(chunk):
            plain(chunk)
            continue
        where = _labels_in(marked, chunk)
        if region.kind == "code":
            pos = 0
            for m in _MARK_RE.finditer(chunk):
                index = int(m.group(1))
                plain(chunk[pos : m.start()])
                parameter(marked.values[index], marked.label(index))
                pos = m.end()
            plain(chunk[pos:])
        elif region.kind in ("string", "dollar"):
            before = text[region.start - 1] if region.start else ""
            if before.isalnum() or before in ("_", "&"):
                raise _refuse(
                    f"{where} is inside a prefixed string literal; write the placeholder "
                    "outside quotes (it is bound as a value)"
                )
            if region.kind == "dollar":
                tag = _dollar_tag(chunk)
                if _MARK_RE.search(tag):
                    raise _refuse(f"{where} is inside a dollar-quote tag")
                body = chunk[len(tag) : -len(tag)]
            else:
                body = _literal_text(chunk[1:-1], chunk[0], backslash=mysql)
            rendered = _MARK_RE.sub(lambda m: to_text(marked.values[int(m.group(1))]), body)
            parameter(rendered, f"the string literal holding {where}")
        elif region.kind == "ident":
            raise _refuse(
                f"{where} is inside a quoted identifier: table and column names cannot "
                "come from the run, only values are bound"
            )
        elif region.kind == "escape_string":
            raise _refuse(
                f"{where} is inside an E'...' string; use a plain '...' string or write "
                "the placeholder outside quotes (it is bound as a value)"
            )
        else:
            raise _refuse(f"{where} is inside a comment")
    segments.append("".join(current))
    markers = ["%s" if mysql else f"${n}" for n in range(1, len(args) + 1)]
    joined = [piece for pair in zip(segments, [*markers, ""], strict=True) for piece in pair]
    return BoundSql(
        text="".join(joined), args=tuple(args), labels=tuple(labels), segments=tuple(segments)
    )


def _dollar_tag(chunk: str) -> str:
    return chunk[: chunk.index("$", 1) + 1]


# -- MongoDB --------------------------------------------------------------------------------


def bind_mongo(template: str, params: Mapping[str, Any]) -> Any:
    """The parsed JSON query with every placeholder replaced by its (checked) value."""
    marked = mark(template, params)
    text = marked.text
    quoted: list[str] = []
    in_string = False
    i = 0
    while i < len(text):
        ch = text[i]
        if in_string:
            quoted.append(ch)
            if ch == "\\" and i + 1 < len(text):
                quoted.append(text[i + 1])
                i += 1
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
            quoted.append(ch)
        elif m := _MARK_RE.match(text, i):
            # A bare placeholder is a whole JSON value: quote its marker so the text
            # parses, then put the real value (with its type) in its place.
            quoted.append(f'"{m.group(0)}"')
            i = m.end()
            continue
        else:
            quoted.append(ch)
        i += 1
    try:
        spec = json.loads("".join(quoted))
    except ValueError as exc:
        raise _refuse(f"the MongoDB query must be a JSON object: {exc}") from None
    return _mongo_values(spec, marked, expression=False, stage=False)


def _mongo_values(node: Any, marked: Marked, *, expression: bool, stage: bool) -> Any:
    """Put the values in; `expression`: aggregation expression context; `stage`: a stage."""
    if isinstance(node, dict):
        out: dict[str, Any] = {}
        for key, value in node.items():
            if _MARK_RE.search(key):
                raise _refuse(
                    f"{_labels_in(marked, key)} is used as a key; a value from the run may "
                    "not name a field or an operator"
                )
            if key == "pipeline" and isinstance(value, list):
                # The query's own pipeline, or a `$lookup` sub-pipeline: a list of stages.
                out[key] = [_mongo_values(s, marked, expression=True, stage=True) for s in value]
                continue
            inner = expression
            if stage:
                # `$match` filters by value like `find`; every other stage evaluates.
                inner = key != "$match"
            if key == "$expr":
                inner = True
            out[key] = _mongo_values(value, marked, expression=inner, stage=False)
        return out
    if isinstance(node, list):
        return [_mongo_values(item, marked, expression=expression, stage=False) for item in node]
    if isinstance(node, str) and _MARK_RE.search(node):
        whole = _WHOLE_MARK_RE.match(node)
        if whole:
            index = int(whole.group(1))
            _check_mongo_value(marked.values[index], marked.label(index), expression)
            return marked.values[index]
        rendered = _MARK_RE.sub(lambda m: to_text(marked.values[int(m.group(1))]), node)
        if expression and rendered.startswith("$") and not node.startswith("$"):
            raise _refuse(
                f"{_labels_in(marked, node)} would start an aggregation field path ('$...')"
            )
        return rendered
    return node


def _check_mongo_value(value: Any, label: str, expression: bool) -> None:
    if isinstance(value, dict):
        for key, inner in value.items():
            if str(key).startswith("$"):
                raise _refuse(
                    f"{label} is an object with the key {key!r}: a value from the run may "
                    "not become a MongoDB operator"
                )
            _check_mongo_value(inner, label, expression)
    elif isinstance(value, list):
        for inner in value:
            _check_mongo_value(inner, label, expression)
    elif expression and isinstance(value, str) and value.startswith("$"):
        raise _refuse(
            f"{label} starts with '$', which an aggregation expression reads as a field "
            "path or variable; a value from the run may not do that"
        )


# -- REST API and JSON (JMESPath) -----------------------------------------------------------


def bind_url(template: str, params: Mapping[str, Any]) -> str:
    """The path/query with each value percent-encoded (it cannot add `/`, `?`, `&`, `#`)."""
    marked = mark(template, params)
    return _MARK_RE.sub(
        lambda m: quote(to_text(marked.values[int(m.group(1))]), safe=""), marked.text
    )


def _jmespath_literal(value: Any) -> str:
    # ASCII-only JSON with backticks spelled \\u0060: nothing in it can end the literal.
    return "`" + json.dumps(value, ensure_ascii=True).replace("`", "\\u0060") + "`"


def bind_jmespath(template: str, params: Mapping[str, Any]) -> str:
    """The expression with each value as a JSON literal; placeholders in quotes are refused."""
    marked = mark(template, params)
    text = marked.text
    out: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch in "'\"`":
            end = _jmespath_quoted_end(text, i)
            chunk = text[i:end]
            if _MARK_RE.search(chunk):
                raise _refuse(
                    f"{_labels_in(marked, chunk)} is inside a quoted JMESPath string or "
                    "identifier; write it unquoted (it becomes a JSON literal)"
                )
            out.append(chunk)
            i = end
        elif m := _MARK_RE.match(text, i):
            out.append(_jmespath_literal(marked.values[int(m.group(1))]))
            i = m.end()
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def _jmespath_quoted_end(text: str, start: int) -> int:
    quote_char = text[start]
    i = start + 1
    while i < len(text):
        if text[i] == "\\":
            i += 2
        elif text[i] == quote_char:
            return i + 1
        else:
            i += 1
    return len(text)  # unterminated: JMESPath itself reports it
