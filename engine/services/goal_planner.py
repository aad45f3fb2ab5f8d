"""Goal runs in Flow mode: the flow builder turns a goal into a validated workflow to run.

ReAct mode runs a goal as start -> agent -> end (`engine.services.goal_runs`);
Flow mode first plans a workflow for the goal with the flow builder (one
repair round, like the builder's), then runs that. The run's input is
`{"input": <goal>}`, as in ReAct mode, so the plan reads the goal as
`{input.input}`. llm and agent nodes the model left without a provider or
model get the goal's; agent nodes without `tools` / `mcpServers` get the
goal's tools and MCP servers.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from engine.errors import UpstreamFailed, ValidationFailed
from engine.services.flow_builder import FlowMetadata, build_flow, collect_flow
from engine.services.model_access import LlmAccess, ModelChoice
from engine.validation import validate_workflow

PLANNER_INSTRUCTIONS = """\
This workflow is planned for one goal and run once, unattended. The goal text is the run
input: refer to it as {input.input}. Prefer few nodes: llm nodes for writing and reasoning,
agent nodes where tools are needed, code or transform nodes for shaping data. Do not use
human nodes. The end node's output must answer the goal."""


@dataclass(frozen=True, kw_only=True)
class GoalPlan:
    """A validated workflow for a goal."""

    nodes: list[dict[str, Any]]
    edges: list[dict[str, Any]]
    metadata: FlowMetadata


def _fill_defaults(
    nodes: list[dict[str, Any]],
    *,
    provider: str,
    model: str,
    tools: Sequence[str],
    mcp_servers: list[Any] | None,
) -> None:
    for node in nodes:
        if node.get("type") not in ("llm", "agent") or not isinstance(node.get("data"), dict):
            continue
        data = node["data"]
        data.setdefault("provider", provider)
        data.setdefault("model", model)
        if node["type"] == "agent":
            if tools and not data.get("tools"):
                data["tools"] = list(tools)
            if mcp_servers and not data.get("mcpServers"):
                data["mcpServers"] = copy.deepcopy(mcp_servers)


async def plan_goal_workflow(
    goal: str,
    *,
    choice: ModelChoice,
    access: LlmAccess,
    tools: Sequence[str] = (),
    mcp_servers: list[Any] | None = None,
) -> GoalPlan:
    """Plan a workflow for `goal`; `UpstreamFailed` (errors in `details`) if none is valid.

    `tools` are catalog tool ids the plan's agents may use (named in the
    prompt); `mcp_servers` an `mcpServers` list given to agents.
    """
    if not isinstance(goal, str) or not goal.strip():
        raise ValidationFailed("the goal is required", field="goal")
    extra = PLANNER_INSTRUCTIONS
    if tools:
        extra += f"\nAgent nodes may use these tools: {', '.join(tools)}."
    chunks = await build_flow(goal, choice=choice, access=access, instructions=extra)
    metadata = await collect_flow(chunks)
    if not metadata.valid or metadata.workflow is None:
        raise UpstreamFailed(
            "could not plan a valid workflow for the goal: " + "; ".join(metadata.errors[:5]),
            details={"errors": metadata.errors, "workflow": metadata.workflow},
        )
    nodes: list[dict[str, Any]] = copy.deepcopy(metadata.workflow["nodes"])
    edges: list[dict[str, Any]] = copy.deepcopy(metadata.workflow["edges"])
    _fill_defaults(
        nodes,
        provider=(choice.provider or "openai").strip().lower(),
        model=metadata.model,
        tools=tools,
        mcp_servers=mcp_servers,
    )
    report = validate_workflow(nodes, edges)
    if not report.valid:
        raise UpstreamFailed(
            "the planned workflow is not valid with the goal's settings: "
            + "; ".join(report.errors[:5]),
            details={"errors": report.errors},
        )
    return GoalPlan(nodes=nodes, edges=edges, metadata=metadata)
