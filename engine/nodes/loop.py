"""The `loop` node: runs its `body` subgraph once per item, then continues by `done`."""

from __future__ import annotations

from engine.nodes.registry import NodeSpec, register

SPEC = register(
    NodeSpec(
        type="loop",
        description="Runs the `body` subgraph once per item of `data.items_path`.",
        required=("items_path",),
        output_handles=("body", "done"),
    )
)
