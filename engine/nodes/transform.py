"""The `transform` node: `data.mapping` templates and/or a `data.expression` JMESPath."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.nodes.registry import NodeSpec, register


def _check(data: Mapping[str, Any]) -> list[str]:
    mapping = data.get("mapping")
    if mapping is None and not data.get("expression"):
        return ["transform needs data.mapping or data.expression"]
    if mapping is not None and not isinstance(mapping, dict):
        return ["data.mapping must be an object of key -> template"]
    return []


SPEC = register(
    NodeSpec(
        type="transform",
        description="Builds a value from `data.mapping` templates or a JMESPath `data.expression`.",
        template_fields=("mapping",),
        jmespath_fields=("expression",),
        check=_check,
    )
)
