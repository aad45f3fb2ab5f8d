"""The `transform` node: `data.mapping` templates and/or a `data.expression` JMESPath.

With `expression`, the JMESPath runs over the context (node outputs by id,
`input`, `value`, loop variables). With `mapping`, each key gets its rendered
template. With both, the mapping sees the JMESPath result as `result`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jmespath
import jmespath.exceptions

from engine.node_context import NodeContext, NodeResult
from engine.nodes.registry import NodeSpec, register
from engine.run_errors import NodeConfigInvalid
from engine.templates import render_value


def _check(data: Mapping[str, Any]) -> list[str]:
    mapping = data.get("mapping")
    if mapping is None and not data.get("expression"):
        return ["transform needs data.mapping or data.expression"]
    if mapping is not None and not isinstance(mapping, dict):
        return ["data.mapping must be an object of key -> template"]
    return []


async def run(ctx: NodeContext) -> NodeResult:
    expression = ctx.data.get("expression")
    mapping = ctx.data.get("mapping")
    result: Any = None
    if isinstance(expression, str) and expression.strip():
        try:
            result = jmespath.search(expression, dict(ctx.scope))
        except jmespath.exceptions.JMESPathError as exc:
            raise NodeConfigInvalid(f"JMESPath {expression!r} failed: {exc}") from exc
        if mapping is None:
            return NodeResult(output=result)
    if isinstance(mapping, dict):
        scope = {**ctx.scope, "result": result} if expression else ctx.scope
        return NodeResult(output={key: render_value(t, scope) for key, t in mapping.items()})
    return NodeResult(output=result)


SPEC = register(
    NodeSpec(
        type="transform",
        description="Builds a value from `data.mapping` templates or a JMESPath `data.expression`.",
        template_fields=("mapping",),
        jmespath_fields=("expression",),
        check=_check,
        run=run,
    )
)
