"""The `loop` node: runs its `body` subgraph once per item, then continues by `done`.

`items_path` is a dotted context path to a list; each iteration sees the item
as `item_variable` (default `item`) and its index as `<item_variable>_index`.
`concurrency` (default 1) iterations may run at once; results keep item order.
With `error_handling: continue` a failed iteration yields `{"error": ...}`;
with `stop` (default) the loop fails. Output: the list of body results.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import anyio

from engine.errors import AgentloomError
from engine.node_context import NodeContext, NodeResult
from engine.nodes.registry import NodeSpec, register
from engine.run_errors import NodeConfigInvalid, NodeFailed
from engine.templates import resolve_path

MAX_CONCURRENCY = 32
MAX_ITEMS = 10_000


def _check(data: Mapping[str, Any]) -> list[str]:
    errors = []
    variable = data.get("item_variable", "item")
    if not isinstance(variable, str) or not variable.isidentifier():
        errors.append("data.item_variable must be an identifier")
    if data.get("error_handling", "stop") not in ("continue", "stop"):
        errors.append("data.error_handling must be continue or stop")
    concurrency = data.get("concurrency", 1)
    if (
        isinstance(concurrency, bool)
        or not isinstance(concurrency, int)
        or not (1 <= concurrency <= MAX_CONCURRENCY)
    ):
        errors.append(f"data.concurrency must be an integer from 1 to {MAX_CONCURRENCY}")
    return errors


async def run(ctx: NodeContext) -> NodeResult:
    path = ctx.require_str("items_path").strip().strip("{}")
    items = resolve_path(ctx.scope, path)
    if not isinstance(items, list):
        raise NodeConfigInvalid(
            f"items_path {path!r} is not a list", field=f"{ctx.node_id}.items_path"
        )
    if len(items) > MAX_ITEMS:
        raise NodeConfigInvalid(f"loop over {len(items)} items exceeds {MAX_ITEMS}")
    variable = ctx.data.get("item_variable", "item")
    stop_on_error = ctx.data.get("error_handling", "stop") != "continue"
    limiter = anyio.Semaphore(int(ctx.data.get("concurrency", 1)))
    results: list[Any] = [None] * len(items)
    assert ctx.run_body is not None

    async def one(index: int, item: Any) -> None:
        async with limiter:
            try:
                results[index] = await ctx.run_body(  # type: ignore[misc]
                    {variable: item, f"{variable}_index": index}, item, index
                )
            except NodeFailed as exc:
                if stop_on_error:
                    raise
                results[index] = {"error": exc.message}
                await ctx.log("warn", f"iteration {index} failed: {exc.message}")

    try:
        async with anyio.create_task_group() as tg:
            for index, item in enumerate(items):
                tg.start_soon(one, index, item)
    except BaseExceptionGroup as group:
        # Surface the first iteration failure as this node's error, not a group.
        first = group.exceptions[0]
        while isinstance(first, BaseExceptionGroup):
            first = first.exceptions[0]
        if isinstance(first, AgentloomError):
            raise first from group
        raise
    return NodeResult(output=results, handles=frozenset({"done"}))


SPEC = register(
    NodeSpec(
        type="loop",
        description="Runs the `body` subgraph once per item of `data.items_path`.",
        required=("items_path",),
        output_handles=("body", "done"),
        applies_node_timeout=False,
        check=_check,
        run=run,
    )
)
