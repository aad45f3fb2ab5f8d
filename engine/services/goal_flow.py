"""Which graph a goal runs as: ReAct mode or Flow mode, chosen at start-up.

Seed 003: `/ag-ui/goal` "runs ReAct or Flow mode by start-up setting"
(`AGENTLOOM_GOAL_MODE`, default `react`).

- `react`: start -> ReAct agent -> end (`engine.services.goal_runs.goal_graph`).
- `flow`: the flow builder plans a workflow for the goal, validated with one
  repair round (`engine.services.goal_planner`); its llm and agent nodes get
  the goal's provider and model where the plan left them out, its agent nodes
  the goal's tools, skills, MCP servers and HTTP tools. The goal's options are
  checked first (unknown tools, bad MCP entries: `ValidationFailed`), so a bad
  request costs no LLM call. No valid plan is `UpstreamFailed` with the
  validation errors; nothing has started then.

A Flow-mode run is stored with kind `goal-flow`, so its planned workflow can
be shown again when the run is streamed again (`GoalGraphs.planned_workflow`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from engine.goal_modes import GoalMode
from engine.services.ai_builders import AiBuilderService
from engine.services.goal_runs import GoalOptions, goal_graph
from engine.services.model_access import ModelChoice
from engine.services.records import Execution
from engine.services.skills import SkillService
from engine.tools.external import agent_tool_config

REACT_KIND = "goal"
FLOW_KIND = "goal-flow"


@dataclass(frozen=True, kw_only=True)
class GoalGraph:
    """The graph a goal runs as."""

    nodes: list[dict[str, Any]]
    edges: list[dict[str, Any]]
    kind: str
    """The execution kind: `goal` (ReAct) or `goal-flow` (a planned workflow)."""


class RunGraphs(Protocol):
    """Where a run's graph snapshot is kept (the execution store)."""

    async def graph(self, execution_id: str) -> tuple[list[Any], list[Any]]:
        """The graph the execution runs (nodes, edges)."""
        ...


def _give_agents(nodes: list[dict[str, Any]], options: GoalOptions) -> None:
    """The goal's skills and HTTP tools on agent nodes the plan gave none (the planner
    already handles provider, model, tools and MCP servers)."""
    for node in nodes:
        data = node.get("data")
        if node.get("type") != "agent" or not isinstance(data, dict):
            continue
        if options.skills and not data.get("skills"):
            data["skills"] = list(options.skills)
        if options.http_tools and not data.get("httpTools"):
            data["httpTools"] = list(options.http_tools)


class GoalGraphs:
    """Turns a goal into the graph to run, in the mode the server was started with."""

    def __init__(
        self,
        *,
        mode: GoalMode,
        skills: SkillService,
        builders: AiBuilderService,
        graphs: RunGraphs | None = None,
    ) -> None:
        self.mode: GoalMode = mode
        self._skills = skills
        self._builders = builders
        self._graphs = graphs

    async def planned_workflow(self, execution: Execution) -> dict[str, Any] | None:
        """The workflow a Flow-mode goal run was planned as (`{nodes, edges}`); None for
        other runs. A run read back from the store carries no graph: it is read then."""
        if execution.kind != FLOW_KIND:
            return None
        nodes, edges = execution.nodes, execution.edges
        if not nodes and self._graphs is not None:
            nodes, edges = await self._graphs.graph(execution.id)
        return {"nodes": nodes, "edges": edges}

    async def graph(self, owner_id: str, goal: str, options: GoalOptions) -> GoalGraph:
        """The goal's graph (see the module doc for the modes and their errors)."""
        if self.mode == "react":
            nodes, edges = await goal_graph(self._skills, owner_id, options)
            return GoalGraph(nodes=nodes, edges=edges, kind=REACT_KIND)
        self._skills.check_tools(options.tools)
        agent_tool_config(mcp_servers=options.mcp_servers, http_tools=options.http_tools)
        tools = list(options.tools)
        for skill in await self._skills.resolve(owner_id, options.skills):
            tools += [t for t in skill.tools if t not in tools]
        plan = await self._builders.plan_goal(
            owner_id,
            goal,
            choice=ModelChoice(provider=options.provider or "openai", model=options.model),
            tools=tools,
            mcp_servers=options.mcp_servers,
        )
        _give_agents(plan.nodes, options)
        return GoalGraph(nodes=plan.nodes, edges=plan.edges, kind=FLOW_KIND)
