"""The `agent` node: an LLM that calls tools from the catalog until it answers.

Config: like `llm`, plus `tools` (tool ids from the catalog), `max_steps`
(chat completions allowed, default 8) and `knowledgeBases` (knowledge base
ids: the agent gets `knowledge_search`, limited to them), `httpTools` (HTTP
tool definitions, see `engine.tools.http_tools`) and `mcpServers` (`[{url,
tools?, headers?, name?}]`: the servers' tools, see `engine.tools.external`
for naming). Every call and result is an event.
Output: `{"text", "steps", "tool_calls"}`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.agent import run_agent
from engine.llm import open_client, resolve_provider
from engine.node_context import NodeContext, NodeResult
from engine.nodes._llm_common import messages_of, model_of, sampling
from engine.nodes.registry import NodeSpec, register
from engine.run_errors import NodeConfigInvalid
from engine.tools.catalog import ToolContext
from engine.tools.external import external_tool_errors, open_external_tools


def _check(data: Mapping[str, Any]) -> list[str]:
    tools = data.get("tools", [])
    errors = []
    if not isinstance(tools, list) or not all(isinstance(t, str) for t in tools):
        errors.append("data.tools must be a list of tool ids")
    bases = data.get("knowledgeBases", [])
    if not isinstance(bases, list) or not all(isinstance(b, str) for b in bases):
        errors.append("data.knowledgeBases must be a list of knowledge base ids")
    steps = data.get("max_steps", 8)
    if isinstance(steps, bool) or not isinstance(steps, int) or not 1 <= steps <= 50:
        errors.append("data.max_steps must be an integer from 1 to 50")
    errors.extend(external_tool_errors(data))
    return errors


async def run(ctx: NodeContext) -> NodeResult:
    services = ctx.services
    wanted = list(ctx.data.get("tools", []))
    # Attached knowledge bases come with the tool that searches them.
    bases = tuple(ctx.data.get("knowledgeBases") or ())
    if bases and "knowledge_search" not in wanted:
        wanted.append("knowledge_search")
    unknown = [t for t in wanted if t not in services.tools]
    if unknown:
        raise NodeConfigInvalid(
            f"unknown tools: {', '.join(unknown)}", field=f"{ctx.node_id}.tools"
        )
    config = await resolve_provider(
        str(ctx.data.get("provider") or "openai"),
        owner_id=ctx.run.owner_id,
        environ=services.environ,
        credentials=services.credentials,
    )
    async with (
        open_external_tools(
            builtin={t: services.tools[t] for t in wanted},
            http_tools=ctx.data.get("httpTools"),
            mcp_servers=ctx.data.get("mcpServers"),
            guard=services.outbound_guard,
            field=ctx.node_id,
        ) as tools,
        open_client(
            config, guard=services.outbound_guard, timeout_s=services.llm_timeout_s
        ) as client,
    ):
        model = model_of(ctx, config.provider)
        result = await run_agent(
            client,
            model=model,
            messages=messages_of(ctx),
            tools=tools,
            tool_context=ToolContext(
                guard=services.outbound_guard,
                environ=services.environ,
                owner_id=ctx.run.owner_id,
                knowledge=services.knowledge,
                knowledge_base_ids=bases,
            ),
            emit=ctx.emit,
            node_id=ctx.node_id,
            max_steps=int(ctx.data.get("max_steps", 8)),
            timeout_s=services.llm_timeout_s,
            **sampling(ctx),
        )
    ctx.add_usage(result.usage, provider=config.provider, model=model)
    if result.stopped_by_step_limit:
        await ctx.log("warn", f"agent stopped at its step limit ({result.steps})")
    return NodeResult(
        output={"text": result.text, "steps": result.steps, "tool_calls": result.tool_calls}
    )


SPEC = register(
    NodeSpec(
        type="agent",
        description="An LLM that calls tools from the catalog until it answers.",
        required=("prompt",),
        template_fields=("prompt", "system"),
        check=_check,
        run=run,
    )
)
