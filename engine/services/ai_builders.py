"""The AI builders as one service: script generator and test bench, flow builder, goal planner.

Behind `generateScript`, `testScript`, the `buildFlow` subscription and
Flow-mode goal runs (seed 003 sections 12 and 14). The work is in
`engine.services.scripts`, `engine.services.flow_builder` and
`engine.services.goal_planner`; this holds what the server decides for all of
them: which credentials, environment and outbound guard an LLM call may use
(`LlmAccess`, built per caller so a stored credential is the caller's own),
the LLM time bound, and the sandbox limits a script test shares with `code`
nodes.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from engine.outbound import OutboundGuard
from engine.ports import CredentialResolver
from engine.services.flow_builder import FlowBuilderChunk, build_flow
from engine.services.goal_planner import GoalPlan, plan_goal_workflow
from engine.services.model_access import LlmAccess, ModelChoice
from engine.services.scripts import (
    DEFAULT_MEMORY_BYTES,
    DEFAULT_TIMEOUT_S,
    GeneratedScript,
    ScriptTestResult,
    generate_script,
    test_script,
)


@dataclass(frozen=True, kw_only=True)
class AiBuilderService:
    """Request-level AI features, bounded and guarded the way the server is configured."""

    guard: OutboundGuard
    credentials: CredentialResolver | None = None
    environ: Mapping[str, str] = field(default_factory=dict)
    """Where `<PROVIDER>_API_KEY` / `<PROVIDER>_BASE_URL` come from (the server's)."""
    llm_timeout_s: float = 120.0
    script_timeout_s: float = DEFAULT_TIMEOUT_S
    """A code node's default time limit: a script test gets no more and no less."""
    script_memory_bytes: int = DEFAULT_MEMORY_BYTES

    def access(self, owner_id: str) -> LlmAccess:
        """What an LLM call made for `owner_id` may use."""
        return LlmAccess(
            owner_id=owner_id,
            guard=self.guard,
            credentials=self.credentials,
            environ=self.environ,
            timeout_s=self.llm_timeout_s,
        )

    async def generate_script(
        self, owner_id: str, prompt: str, *, choice: ModelChoice, language: str | None
    ) -> GeneratedScript:
        """A sandbox script for `prompt`, with sample input."""
        return await generate_script(
            prompt, choice=choice, access=self.access(owner_id), language=language
        )

    async def test_script(
        self, code: str, input: str = "", language: str | None = "javascript"
    ) -> ScriptTestResult:
        """Run `code` in the code node's sandbox, with its limits."""
        return await test_script(
            code,
            input,
            language,
            timeout_s=self.script_timeout_s,
            memory_bytes=self.script_memory_bytes,
        )

    async def build_flow(
        self,
        owner_id: str,
        message: str,
        *,
        choice: ModelChoice,
        history: Sequence[Mapping[str, Any]] | None = None,
        current_payload: str | Mapping[str, Any] | None = None,
        repair: bool = True,
    ) -> AsyncGenerator[FlowBuilderChunk, None]:
        """The flow builder's stream (checked and resolved before it is returned)."""
        return await build_flow(
            message,
            choice=choice,
            access=self.access(owner_id),
            history=history,
            current_payload=current_payload,
            repair=repair,
        )

    async def plan_goal(
        self,
        owner_id: str,
        goal: str,
        *,
        choice: ModelChoice,
        tools: Sequence[str] = (),
        mcp_servers: list[Any] | None = None,
    ) -> GoalPlan:
        """A validated workflow for `goal` (one repair round), or `UpstreamFailed`."""
        return await plan_goal_workflow(
            goal,
            choice=choice,
            access=self.access(owner_id),
            tools=tools,
            mcp_servers=mcp_servers,
        )
