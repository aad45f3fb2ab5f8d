"""The `a2a` node: sends one message to a remote A2A agent and outputs its reply.

Config: `url` (template, required: the agent's URL), `message` (template,
default `{value}`: the previous node's output), `format` (`auto` default,
`google`, `microsoft`: where the agent card is looked for, see
`engine.a2a.cards`), `timeout_s`.
Output: `{"text", "parts", "state", "agent"}`: the reply text, every part as
A2A JSON, the task's last state, the agent's name.

A streaming agent's reply is published as it arrives: text pieces as
`llm_token` events (a remote agent's answer reads like a model's, so every
client that shows tokens shows it), task state changes as `log` lines. A task
that ends failed, rejected or canceled fails the node.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.a2a.cards import FORMATS, check_format
from engine.events import LlmToken
from engine.lazy_import import import_off_loop
from engine.node_context import NodeContext, NodeResult
from engine.nodes.registry import NodeSpec, register


def _check(data: Mapping[str, Any]) -> list[str]:
    fmt = data.get("format")
    if fmt is not None and (not isinstance(fmt, str) or fmt.strip().lower() not in FORMATS):
        return [f"data.format must be one of {', '.join(FORMATS)}"]
    return []


DEFAULT_TIMEOUT_S = 120.0


async def run(ctx: NodeContext) -> NodeResult:
    await import_off_loop("engine.a2a.client")  # the A2A SDK: first use, off the loop
    from engine.a2a.client import send_message

    url = ctx.render(ctx.require_str("url")).strip()
    template = ctx.data.get("message")
    message = (
        ctx.render(template) if isinstance(template, str) and template else ctx.render("{value}")
    )
    fmt = check_format(ctx.data.get("format"), field=f"{ctx.node_id}.format")
    timeout = ctx.data.get("timeout_s")
    timeout_s = (
        float(timeout) if isinstance(timeout, int | float) and timeout > 0 else DEFAULT_TIMEOUT_S
    )

    async def on_text(delta: str) -> None:
        await ctx.emit(LlmToken(node_id=ctx.node_id, delta=delta))

    async def on_status(state: str, text: str) -> None:
        await ctx.log("info", f"A2A task {state}" + (f": {text[:500]}" if text else ""))

    reply = await send_message(
        url,
        message,
        fmt,
        guard=ctx.services.outbound_guard,
        timeout_s=timeout_s,
        on_text=on_text,
        on_status=on_status,
        field=f"{ctx.node_id}.url",
    )
    return NodeResult(
        output={
            "text": reply.text,
            "parts": reply.parts,
            "state": reply.state,
            "agent": reply.agent_name,
        }
    )


SPEC = register(
    NodeSpec(
        type="a2a",
        description="Sends a message to a remote A2A agent and outputs its reply.",
        required=("url",),
        template_fields=("url", "message"),
        check=_check,
        run=run,
    )
)
