"""The AI builders over GraphQL: script generator and test bench, flow builder, goal mode.

- `generateScript` / `testScript`: seed 003 section 14. Scripts are JavaScript
  run in the `code` node's V8 sandbox with its limits; C# has no runtime here,
  so `language: CSHARP` is a `userError` on `language` that says so.
- `buildFlow` (subscription): seed 003 section 12's flow builder. It streams
  the model's answer as `FlowFragment`s; when the answer is not a valid
  workflow, one `FlowReset` (discard what you have, a repair follows) and the
  repaired answer's fragments; last one `FlowMetadata` with the tokens, cost,
  whether the result is valid and the parsed workflow. A bad input is an
  error before the first item (code VALIDATION_ERROR, `extensions.field`).
- `goalMode`: how this server runs goals (`AGENTLOOM_GOAL_MODE`).

The LLM is the caller's stored credential for the provider, else the input's
`apiKey`/`endpoint` (the endpoint passes the outbound guard), else the
server's environment (engine/services/model_access.py).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import aclosing
from enum import Enum
from typing import Annotated, cast

import strawberry
from strawberry.scalars import JSON

from engine.services.flow_builder import FlowBuilderChunk
from engine.services.flow_builder import FlowFragment as FragmentChunk
from engine.services.flow_builder import FlowReset as ResetChunk
from engine.services.model_access import ModelChoice
from engine.services.scripts import GeneratedScript as GeneratedScriptRecord
from engine.services.scripts import ScriptTestResult as ScriptOutcome
from graph.context import Context
from graph.conventions import UserError
from graph.discovery import unscoped_user_id
from graph.payloads import attempt

Info = strawberry.Info[Context, None]


@strawberry.enum(description="The language of a sandbox script.")
class ScriptLanguage(Enum):
    JAVASCRIPT = strawberry.enum_value(
        "javascript", description="JavaScript, run in the code node's V8 sandbox."
    )
    CSHARP = strawberry.enum_value(
        "csharp",
        description="C# (seed 003): refused with a userError on `language`; this server has "
        "no C# runtime.",
    )


@strawberry.enum(description="Why a script test did not succeed.")
class ScriptErrorKind(Enum):
    FAILED = strawberry.enum_value("failed", description="The script threw.")
    TIMEOUT = strawberry.enum_value("timeout", description="It ran past the time limit.")
    MEMORY = strawberry.enum_value("memory", description="It used more than the memory limit.")


@strawberry.enum(description="How a goal becomes a run on this server (AGENTLOOM_GOAL_MODE).")
class GoalMode(Enum):
    REACT = strawberry.enum_value(
        "react", description="A ReAct agent with the goal's tools works on the goal."
    )
    FLOW = strawberry.enum_value(
        "flow",
        description="The flow builder plans a workflow for the goal (validated, one repair "
        "round), which then runs.",
    )


@strawberry.enum(description="Which flow builder to use.")
class FlowBuilderMode(Enum):
    PLANNER = strawberry.enum_value(
        "planner",
        description="The default: the answer is validated and, when invalid, repaired once.",
    )
    LEGACY = strawberry.enum_value(
        "legacy", description="One answer, validated but never repaired (seed 003's legacy)."
    )


@strawberry.enum(description="Who said a turn of a conversation.")
class ChatRole(Enum):
    USER = strawberry.enum_value("user", description="The person.")
    ASSISTANT = strawberry.enum_value("assistant", description="The model.")


# -- scripts --------------------------------------------------------------------------------


@strawberry.input(description="What script to write, and with which model.")
class GenerateScriptInput:
    prompt: str = strawberry.field(description="What the script should do.")
    provider: str | None = strawberry.field(
        default=None, description="The LLM provider (default openai)."
    )
    model: str | None = strawberry.field(
        default=None, description="The model (default: the provider's)."
    )
    api_key: str | None = strawberry.field(
        default=None, description="A key to use when no credential is stored for the provider."
    )
    endpoint: str | None = strawberry.field(
        default=None, description="An endpoint to use when no credential is stored."
    )
    language: ScriptLanguage = strawberry.field(
        default=ScriptLanguage.JAVASCRIPT, description="The script's language."
    )


@strawberry.type(description="A script the model wrote for the sandbox.")
class GeneratedScript:
    code: str = strawberry.field(description="The script: a function body reading `input`.")
    test_input: str = strawberry.field(description="A sample input to test it with.")
    model: str = strawberry.field(description="The model that wrote it.")

    @classmethod
    def of(cls, s: GeneratedScriptRecord) -> GeneratedScript:
        return cls(code=s.code, test_input=s.test_input, model=s.model)


@strawberry.type(description="What `generateScript` answers.")
class GenerateScriptPayload:
    script: GeneratedScript | None = strawberry.field(description="The script.")
    user_errors: list[UserError] = strawberry.field(description="What to fix in the input.")


@strawberry.input(description="A script to run once in the sandbox.")
class TestScriptInput:
    code: str = strawberry.field(description="The script: a function body; `return` the output.")
    input: str | None = strawberry.field(
        default=None, description="The `input` variable's value (a string)."
    )
    language: ScriptLanguage = strawberry.field(
        default=ScriptLanguage.JAVASCRIPT, description="The script's language."
    )


@strawberry.type(description="What a test run of a script produced.")
class ScriptTestResult:
    success: bool = strawberry.field(description="It returned within the limits.")
    output: str | None = strawberry.field(
        description="The returned value: a string as is, anything else as JSON text."
    )
    value: JSON | None = strawberry.field(description="The returned value as JSON.")
    error: str | None = strawberry.field(description="Why not successful.")
    error_kind: ScriptErrorKind | None = strawberry.field(description="What kind of failure.")
    console_output: str = strawberry.field(
        description="The `console.*` lines; warn, error and debug lines carry their level."
    )
    elapsed_ms: float = strawberry.field(description="How long it ran, in milliseconds.")

    @classmethod
    def of(cls, r: ScriptOutcome) -> ScriptTestResult:
        return cls(
            success=r.success,
            output=r.output,
            value=r.value if r.success else None,
            error=r.error,
            error_kind=ScriptErrorKind(r.error_kind) if r.error_kind else None,
            console_output=r.console_output,
            elapsed_ms=r.elapsed_ms,
        )


@strawberry.type(description="What `testScript` answers.")
class TestScriptPayload:
    result: ScriptTestResult | None = strawberry.field(description="The outcome.")
    user_errors: list[UserError] = strawberry.field(description="What to fix in the input.")


# -- flow builder ---------------------------------------------------------------------------


@strawberry.input(description="One earlier turn of the conversation with the flow builder.")
class ChatTurnInput:
    role: ChatRole = strawberry.field(description="Who said it.")
    content: str = strawberry.field(description="What was said.")


@strawberry.input(description="What workflow to build (or how to change the current one).")
class BuildFlowInput:
    message: str = strawberry.field(description="The request, in natural language.")
    provider: str | None = strawberry.field(
        default=None, description="The LLM provider (default openai)."
    )
    model: str | None = strawberry.field(
        default=None, description="The model (default: the provider's)."
    )
    api_key: str | None = strawberry.field(
        default=None, description="A key to use when no credential is stored for the provider."
    )
    endpoint: str | None = strawberry.field(
        default=None, description="An endpoint to use when no credential is stored."
    )
    current_payload: str | None = strawberry.field(
        default=None, description="The workflow being edited (JSON text `{nodes, edges}`)."
    )
    history: list[ChatTurnInput] | None = strawberry.field(
        default=None, description="Earlier turns, oldest first (the last 20 are used)."
    )
    mode: FlowBuilderMode = strawberry.field(
        default=FlowBuilderMode.PLANNER, description="Which flow builder."
    )


@strawberry.type(description="A piece of the model's answer: the workflow JSON as it streams.")
class FlowFragment:
    text: str = strawberry.field(description="The text; concatenated, the answer.")
    round: int = strawberry.field(description="1: the first answer; 2: the repair.")


@strawberry.type(description="Discard the text received so far: a repaired answer follows.")
class FlowReset:
    reason: str = strawberry.field(description="`not JSON` or `invalid workflow`.")
    errors: list[str] = strawberry.field(description="What was wrong with the first answer.")


@strawberry.type(description="The last item of a build: cost, and whether the result is valid.")
class FlowMetadata:
    duration_ms: int = strawberry.field(description="How long the build took.")
    estimated_tokens: int = strawberry.field(
        description="Tokens of every call (the provider's count, else characters / 4)."
    )
    model: str = strawberry.field(description="The model used.")
    estimated_cost: str = strawberry.field(
        description='USD, e.g. "$0.0012"; "$0.00" for local models, "unknown" when unpriced.'
    )
    valid: bool = strawberry.field(description="The final answer is a valid workflow.")
    errors: list[str] = strawberry.field(description="What is still wrong with it.")
    warnings: list[str] = strawberry.field(description="The validator's warnings.")
    repaired: bool = strawberry.field(description="A repair round ran.")
    workflow: JSON | None = strawberry.field(
        description="The final answer's `{nodes, edges}` (null when it was not JSON)."
    )


FlowBuilderEvent = Annotated[
    FlowFragment | FlowReset | FlowMetadata,
    strawberry.union(
        "FlowBuilderEvent",
        description="One item of a flow build: fragments, maybe a reset and more fragments, "
        "then the metadata.",
    ),
]


def _event(chunk: FlowBuilderChunk) -> FlowFragment | FlowReset | FlowMetadata:
    if isinstance(chunk, FragmentChunk):
        return FlowFragment(text=chunk.text, round=chunk.round)
    if isinstance(chunk, ResetChunk):
        return FlowReset(reason=chunk.reason, errors=chunk.errors)
    return FlowMetadata(
        duration_ms=chunk.duration_ms,
        estimated_tokens=chunk.estimated_tokens,
        model=chunk.model,
        estimated_cost=chunk.estimated_cost,
        valid=chunk.valid,
        errors=chunk.errors,
        warnings=chunk.warnings,
        repaired=chunk.repaired,
        workflow=cast(JSON, chunk.workflow),
    )


def _choice(
    provider: str | None, model: str | None, key: str | None, url: str | None
) -> ModelChoice:
    return ModelChoice(provider=provider or "openai", model=model, api_key=key, endpoint=url)


@strawberry.type
class BuilderQueryRoot:
    @strawberry.field(
        description="How this server runs goals (AGENTLOOM_GOAL_MODE); public, like `/info`."
    )
    def goal_mode(self, info: Info) -> GoalMode:
        return GoalMode(info.context.services.agent_runs.goal_mode)


@strawberry.type
class BuilderMutationRoot:
    @strawberry.mutation(
        description="Have the model write a sandbox script for a prompt, with sample input."
    )
    async def generate_script(
        self, info: Info, input: GenerateScriptInput
    ) -> GenerateScriptPayload:
        owner = await unscoped_user_id(info)
        service = info.context.services.ai_builders
        choice = _choice(input.provider, input.model, input.api_key, input.endpoint)
        script, errors = await attempt(
            lambda: service.generate_script(
                owner, input.prompt, choice=choice, language=str(input.language.value)
            )
        )
        return GenerateScriptPayload(
            script=GeneratedScript.of(script) if script else None, user_errors=errors
        )

    @strawberry.mutation(
        description="Run a script once in the code node's sandbox (same time and memory "
        "limits) and show its output, console and errors."
    )
    async def test_script(self, info: Info, input: TestScriptInput) -> TestScriptPayload:
        await unscoped_user_id(info)
        service = info.context.services.ai_builders
        result, errors = await attempt(
            lambda: service.test_script(input.code, input.input or "", str(input.language.value))
        )
        return TestScriptPayload(
            result=ScriptTestResult.of(result) if result else None, user_errors=errors
        )


@strawberry.type
class BuilderSubscriptionRoot:
    @strawberry.subscription(
        description="The AI flow builder: the workflow JSON as the model writes it, a reset "
        "and a repaired answer when it was not valid, then the metadata; completes after it."
    )
    async def build_flow(
        self,
        info: Info,
        input: Annotated[
            BuildFlowInput, strawberry.argument(description="What to build (see its fields).")
        ],
    ) -> AsyncGenerator[FlowBuilderEvent, None]:
        owner = await unscoped_user_id(info)
        chunks = await info.context.services.ai_builders.build_flow(
            owner,
            input.message,
            choice=_choice(input.provider, input.model, input.api_key, input.endpoint),
            history=[{"role": t.role.value, "content": t.content} for t in input.history or ()],
            current_payload=input.current_payload,
            repair=input.mode == FlowBuilderMode.PLANNER,
        )
        # Closed here when the subscriber stops early: the model's stream is closed at once.
        async with aclosing(chunks) as items:
            async for chunk in items:
                yield _event(chunk)
