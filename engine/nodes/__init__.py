"""Node kinds, one module each, registered in `engine.nodes.registry`.

Importing this package imports every built-in kind so `NODE_TYPES` is full.
"""

from engine.nodes import (  # noqa: F401  (imported for their registration)
    a2a,
    agent,
    code,
    condition,
    datasource,
    end,
    http,
    human,
    input,
    knowledge,
    llm,
    loop,
    output,
    start,
    transform,
)
from engine.nodes.registry import NODE_TYPES, NodeSpec, get_spec, register

__all__ = ["NODE_TYPES", "NodeSpec", "get_spec", "register"]
