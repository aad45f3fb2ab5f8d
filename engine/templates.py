"""Prompt and value templates: `{input}`, `{value}`, `{llm-1.output}`, `{item.name}`.

A placeholder is `{` + a dotted path + `}`. The first segment names an entry
of the run context (the run input under `input`, each top-level input key,
every finished node's output by node id, loop variables, `value` = the output
of the node before); later segments walk into dicts (by key) and lists (by
index). Segments may contain hyphens because node ids do (`llm-1`).

`value` is an alias, and it has one rule of its own: when the previous
node's output is an object with its own `value` key, `{value}` (and
`{value.x}`) read that key. This is what makes seed 000's condition example,
`{value} > 10` on the run input `{"value": 15}`, mean what it says, and a
node after a condition (`{result, value}`) reads the value the condition
tested. The unwrapping happens once, only for the head segment, and never for
`{input...}` or `{node-id...}`, which always mean exactly what they name.

Braces that do not hold a path (JSON in a prompt: `{"a": 1}`) stay literal,
and `{{` / `}}` write a literal brace. A missing path is an error naming the
path: a prompt silently rendered with a hole is worse than a failed node.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from engine.errors import ValidationFailed

_SEGMENT = r"[A-Za-z_][\w\-]*|\d+"
_PATH_RE = re.compile(rf"^(?:{_SEGMENT})(?:\.(?:{_SEGMENT}))*$")
# What a placeholder candidate looks like: braces around identifier-ish text.
# Anything with quotes, spaces, colons or commas inside is literal text (JSON).
_CANDIDATE_RE = re.compile(r"\{([\w\-.]*)\}")
_UNCLOSED_RE = re.compile(r"\{[A-Za-z_][\w\-.]*$")


PREVIOUS_OUTPUT = "value"
"""The context entry that holds the previous node's output (see the module docstring)."""


class TemplateError(ValidationFailed):
    """A template is malformed (bad placeholder syntax)."""


class MissingTemplatePath(TemplateError):
    """A placeholder names a path the run context does not have."""


@dataclass(frozen=True, kw_only=True)
class Literal:
    text: str


@dataclass(frozen=True, kw_only=True)
class Placeholder:
    path: str
    segments: tuple[str, ...]


Part = Literal | Placeholder


def parse_template(template: str, *, brace_escapes: bool = True) -> list[Part]:
    """Split a template into literal text and placeholders.

    Raises `TemplateError` for a brace pair that looks like a placeholder but
    is not a valid path (`{llm-1..x}`, `{.a}`) or for an unclosed `{name`.
    With `brace_escapes=False` (data source queries), `{{` and `}}` are
    ordinary text: a MongoDB query closes nested objects with `}}`.
    """
    parts: list[Part] = []
    buf: list[str] = []
    i = 0
    n = len(template)
    while i < n:
        ch = template[i]
        if brace_escapes and ch == "{" and template.startswith("{{", i):
            buf.append("{")
            i += 2
            continue
        if brace_escapes and ch == "}" and template.startswith("}}", i):
            buf.append("}")
            i += 2
            continue
        if ch == "{":
            match = _CANDIDATE_RE.match(template, i)
            if match is None:
                if _UNCLOSED_RE.match(template, i):
                    raise TemplateError(
                        f"unclosed placeholder at position {i}: {template[i : i + 30]!r}"
                    )
                buf.append(ch)
                i += 1
                continue
            path = match.group(1)
            if not path:
                buf.append(match.group(0))
            elif not _PATH_RE.match(path):
                raise TemplateError(f"invalid placeholder {{{path}}}: expected a dotted path")
            else:
                if buf:
                    parts.append(Literal(text="".join(buf)))
                    buf = []
                parts.append(Placeholder(path=path, segments=tuple(path.split("."))))
            i = match.end()
            continue
        buf.append(ch)
        i += 1
    if buf:
        parts.append(Literal(text="".join(buf)))
    return parts


def template_paths(template: str) -> list[str]:
    """The paths a template refers to (raises `TemplateError` if malformed)."""
    return [part.path for part in parse_template(template) if isinstance(part, Placeholder)]


def placeholder_values(
    template: str, context: Mapping[str, Any], *, brace_escapes: bool = True
) -> dict[str, Any]:
    """Each placeholder path of a template -> its value, for binding instead of rendering.

    A data source query is never rendered into text: its placeholders travel as
    these values and the connector binds them (SQL parameters, MongoDB values).
    """
    return {
        part.path: resolve_path(context, part.path)
        for part in parse_template(template, brace_escapes=brace_escapes)
        if isinstance(part, Placeholder)
    }


def resolve_path(context: Mapping[str, Any], path: str) -> Any:
    """Walk a dotted path through the context; `MissingTemplatePath` if absent."""
    segments = path.split(".")
    current: Any = context
    for depth, segment in enumerate(segments):
        if isinstance(current, Mapping) and segment in current:
            current = current[segment]
            if (
                depth == 0
                and segment == PREVIOUS_OUTPUT
                and isinstance(current, Mapping)
                and PREVIOUS_OUTPUT in current
            ):
                current = current[PREVIOUS_OUTPUT]
        elif (
            isinstance(current, list | tuple) and segment.isdigit() and int(segment) < len(current)
        ):
            current = current[int(segment)]
        else:
            walked = ".".join(segments[:depth]) or "(context)"
            raise MissingTemplatePath(
                f"template path {{{path}}} not found: {walked} has no {segment!r}",
                field=path,
            )
    return current


def to_text(value: Any) -> str:
    """Render a value into text: strings as is, everything else as JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=str)


def render(template: str, context: Mapping[str, Any]) -> str:
    """Render a template to text."""
    out: list[str] = []
    for part in parse_template(template):
        if isinstance(part, Literal):
            out.append(part.text)
        else:
            out.append(to_text(resolve_path(context, part.path)))
    return "".join(out)


def render_value(template: Any, context: Mapping[str, Any]) -> Any:
    """Render a template, keeping the value's type when it is one placeholder.

    `"{llm-1.usage}"` gives the dict itself, `"n={x}"` gives text. Non-string
    templates (numbers, lists, dicts from the editor) render recursively.
    """
    if isinstance(template, str):
        parts = parse_template(template)
        if len(parts) == 1 and isinstance(parts[0], Placeholder):
            return resolve_path(context, parts[0].path)
        return render(template, context)
    if isinstance(template, dict):
        return {key: render_value(value, context) for key, value in template.items()}
    if isinstance(template, list):
        return [render_value(value, context) for value in template]
    return template
