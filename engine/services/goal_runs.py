"""Goal runs: a goal becomes start -> ReAct agent -> end, with checked tools and skills.

That is ReAct mode; Flow mode plans a workflow for the goal instead
(`engine.services.goal_flow`, `engine.services.goal_planner`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from engine.services.skills import SkillService
from engine.tools.external import agent_tool_config

DEFAULT_MAX_STEPS = 8


@dataclass(frozen=True, kw_only=True)
class GoalOptions:
    """What the goal's agent may use."""

    tools: list[str] = field(default_factory=list)
    """Tool ids from the catalog."""
    skills: list[str] = field(default_factory=list)
    """Skill ids (built-in or the owner's); each adds its tools and instructions."""
    provider: str | None = None
    model: str | None = None
    max_steps: int | None = None
    mcp_servers: list[Any] | None = None
    """`forwardedProps.mcpServers`: the agent's `data.mcpServers` (checked here)."""
    http_tools: list[Any] | None = None
    """`forwardedProps.httpTools`: the agent's `data.httpTools` (checked here)."""


async def goal_graph(
    skills: SkillService, owner_id: str, options: GoalOptions
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """start -> agent -> end for a goal.

    Unknown tools are a ValidationFailed on `tools`; an unknown (or another user's)
    skill is NotFound; a bad MCP server or HTTP tool entry a ValidationFailed naming it.
    """
    skills.check_tools(options.tools)
    external = agent_tool_config(mcp_servers=options.mcp_servers, http_tools=options.http_tools)
    tools = list(options.tools)
    resolved = await skills.resolve(owner_id, options.skills)
    for skill in resolved:
        tools += [t for t in skill.tools if t not in tools]
    system = "\n\n".join(s.instructions for s in resolved if s.instructions)
    data: dict[str, Any] = {
        "provider": options.provider or "openai",
        "prompt": "{input.input}",
        "tools": tools,
        "max_steps": options.max_steps or DEFAULT_MAX_STEPS,
    }
    if options.model:
        data["model"] = options.model
    if system:
        data["system"] = system
    data.update(external)
    nodes = [
        {"id": "start", "type": "start", "position": {"x": 0, "y": 0}, "data": {}},
        {"id": "agent", "type": "agent", "position": {"x": 200, "y": 0}, "data": data},
        {"id": "end", "type": "end", "position": {"x": 400, "y": 0}, "data": {}},
    ]
    edges = [
        {"id": "e1", "source": "start", "target": "agent"},
        {"id": "e2", "source": "agent", "target": "end"},
    ]
    return nodes, edges
