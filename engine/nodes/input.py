"""The `input` node: declares the run's inputs (`data.fields`) and checks them.

`fields` is a list of `{name, type?, required?, default?}`; `type` is one of
string, number, integer, boolean, object, array. Output: the input with
defaults filled in.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.node_context import NodeContext, NodeResult
from engine.nodes.registry import NodeSpec, register
from engine.run_errors import NodeConfigInvalid

_TYPES: Mapping[str, tuple[type, ...]] = {
    "string": (str,),
    "number": (int, float),
    "integer": (int,),
    "boolean": (bool,),
    "object": (dict,),
    "array": (list,),
}


def _check(data: Mapping[str, Any]) -> list[str]:
    fields = data.get("fields", [])
    if not isinstance(fields, list):
        return ["data.fields must be a list"]
    errors = []
    for i, spec in enumerate(fields):
        if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
            errors.append(f"data.fields[{i}] needs a name")
        elif spec.get("type", "string") not in _TYPES:
            errors.append(f"data.fields[{i}].type must be one of {', '.join(_TYPES)}")
    return errors


async def run(ctx: NodeContext) -> NodeResult:
    given = dict(ctx.run.request.input_data)
    for spec in ctx.data.get("fields", []):
        name = spec["name"]
        if name not in given:
            if "default" in spec:
                given[name] = spec["default"]
                continue
            if spec.get("required", False):
                raise NodeConfigInvalid(f"input {name!r} is required", field=f"input.{name}")
            continue
        kind = spec.get("type", "string")
        value = given[name]
        ok = isinstance(value, _TYPES[kind]) and not (
            kind in ("number", "integer") and isinstance(value, bool)
        )
        if not ok:
            raise NodeConfigInvalid(f"input {name!r} must be of type {kind}", field=f"input.{name}")
    return NodeResult(output=given)


SPEC = register(
    NodeSpec(
        type="input",
        description="Declares and validates run inputs (`data.fields`).",
        check=_check,
        run=run,
    )
)
