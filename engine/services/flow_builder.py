"""The AI flow builder: natural language to workflow JSON, streamed, validated, repaired once.

    chunks = await build_flow("summarize a URL", choice=..., access=...)
    async for chunk in chunks:
        ...  # FlowFragment* [FlowReset FlowFragment*] FlowMetadata

`build_flow` checks the request and resolves the provider first (bad input is
`ValidationFailed` naming the field, before anything streams), then returns
the stream:

1. `FlowFragment`s: the model's answer text exactly as it streams (round 1).
   Concatenated they are the model's whole answer, the workflow JSON.
2. The answer is read (`engine.services.model_answers`: fences and prose
   around the object are tolerated) and checked with `validate_workflow`.
3. If it is not JSON or not valid, the model is asked once to repair it, given
   the errors: a `FlowReset` marker (`{"type": "__reset", "reason", "errors"}`
   on the wire) comes first, telling the client to discard the text received
   so far; the repaired answer's fragments follow (round 2).
4. Last, one `FlowMetadata` (`{"type": "__metadata", durationMs,
   estimatedTokens, model, estimatedCost, valid, errors, warnings, repaired,
   workflow}`): `valid` says whether the final answer is a valid workflow,
   `errors` what is still wrong, `workflow` the parsed `{nodes, edges}` (null
   when the answer was not JSON), `repaired` whether a repair round ran.

Tokens and cost: see `engine.services.llm_pricing`. An LLM failure is raised
(`UpstreamFailed`) from the iterator; the transport decides how to show it.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncGenerator, Mapping, Sequence
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import Any, Literal

from engine.errors import UpstreamFailed, ValidationFailed
from engine.llm import open_client
from engine.llm_text import AnswerEnd, stream_text
from engine.ports import ProviderConfig
from engine.services.flow_prompt import repair_prompt, system_prompt, user_prompt
from engine.services.llm_pricing import TokenCount, estimate_cost, estimate_tokens
from engine.services.model_access import LlmAccess, ModelChoice, model_name, resolve_choice
from engine.services.model_answers import find_json
from engine.validation import validate_workflow

MAX_MESSAGE_CHARS = 20_000
MAX_HISTORY = 20
MAX_HISTORY_CHARS = 100_000
MAX_PAYLOAD_CHARS = 500_000
MAX_ANSWER_CHARS = 400_000
"""A longer answer is cut off: it is not a workflow anyone asked for."""


@dataclass(frozen=True, kw_only=True)
class FlowFragment:
    """A piece of the model's answer text."""

    text: str
    round: int = 1
    """1 for the first answer, 2 for the repair."""
    kind: Literal["fragment"] = "fragment"

    def wire(self) -> str:
        """What a stream sends: the text itself."""
        return self.text


@dataclass(frozen=True, kw_only=True)
class FlowReset:
    """Discard the text so far: a repaired answer follows."""

    reason: str
    errors: list[str] = field(default_factory=list)
    kind: Literal["reset"] = "reset"

    def wire(self) -> dict[str, Any]:
        return {"type": "__reset", "reason": self.reason, "errors": self.errors}


@dataclass(frozen=True, kw_only=True)
class FlowMetadata:
    """The last item: timing, tokens, cost, and whether the result is a valid workflow."""

    duration_ms: int
    estimated_tokens: int
    model: str
    estimated_cost: str
    valid: bool
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    repaired: bool = False
    workflow: dict[str, Any] | None = None
    """The final answer's `{nodes, edges}`, when it was JSON."""
    tokens_from_usage: bool = False
    kind: Literal["metadata"] = "metadata"

    def wire(self) -> dict[str, Any]:
        return {
            "type": "__metadata",
            "durationMs": self.duration_ms,
            "estimatedTokens": self.estimated_tokens,
            "model": self.model,
            "estimatedCost": self.estimated_cost,
            "valid": self.valid,
            "errors": self.errors,
            "warnings": self.warnings,
            "repaired": self.repaired,
            "workflow": self.workflow,
        }


FlowBuilderChunk = FlowFragment | FlowReset | FlowMetadata


@dataclass(frozen=True, kw_only=True)
class WorkflowReading:
    """What the answer turned out to be."""

    workflow: dict[str, Any] | None
    errors: list[str]
    warnings: list[str] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return self.workflow is not None and not self.errors


def read_workflow(answer: str) -> WorkflowReading:
    """Find the workflow object in an answer and validate it."""
    found = find_json(answer)
    if isinstance(found, dict) and "nodes" not in found:
        inner = found.get("workflow") or found.get("workflowJson")
        if isinstance(inner, str):
            inner = find_json(inner)
        if isinstance(inner, dict):
            found = inner
    if not isinstance(found, dict):
        return WorkflowReading(
            workflow=None,
            errors=['the answer is not a JSON object {"nodes": [...], "edges": [...]}'],
        )
    workflow = {"nodes": found.get("nodes"), "edges": found.get("edges", [])}
    report = validate_workflow(workflow["nodes"], workflow["edges"])
    return WorkflowReading(workflow=workflow, errors=report.errors, warnings=report.warnings)


def _history(history: Sequence[Mapping[str, Any]] | None) -> list[dict[str, str]]:
    if history is None:
        return []
    if not isinstance(history, list | tuple):
        raise ValidationFailed("history must be a list of {role, content}", field="history")
    turns = []
    for index, turn in enumerate(history[-MAX_HISTORY:]):
        role = turn.get("role") if isinstance(turn, Mapping) else None
        content = turn.get("content") if isinstance(turn, Mapping) else None
        if role not in ("user", "assistant") or not isinstance(content, str):
            raise ValidationFailed(
                f"history[{index}] must be {{role: user|assistant, content: text}}",
                field="history",
            )
        turns.append({"role": role, "content": content})
    if sum(len(t["content"]) for t in turns) > MAX_HISTORY_CHARS:
        raise ValidationFailed(f"history exceeds {MAX_HISTORY_CHARS} characters", field="history")
    return turns


def _current(payload: str | Mapping[str, Any] | None) -> dict[str, Any] | None:
    if payload is None or (isinstance(payload, str) and not payload.strip()):
        return None
    if isinstance(payload, str):
        if len(payload) > MAX_PAYLOAD_CHARS:
            raise ValidationFailed(
                f"currentPayload exceeds {MAX_PAYLOAD_CHARS} characters", field="currentPayload"
            )
        try:
            payload = json.loads(payload)
        except ValueError as exc:
            raise ValidationFailed("currentPayload is not JSON", field="currentPayload") from exc
    if not isinstance(payload, Mapping):
        raise ValidationFailed(
            "currentPayload must be a workflow object {nodes, edges}", field="currentPayload"
        )
    current = dict(payload)
    if len(json.dumps(current, default=str)) > MAX_PAYLOAD_CHARS:
        raise ValidationFailed(
            f"currentPayload exceeds {MAX_PAYLOAD_CHARS} characters", field="currentPayload"
        )
    return current


@dataclass(kw_only=True)
class _Tally:
    """Characters and reported usage over the calls of one build."""

    prompt_chars: int = 0
    answer_chars: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    every_call_reported: bool = True

    def count(self) -> TokenCount:
        if self.every_call_reported:
            return TokenCount(
                prompt=self.prompt_tokens, completion=self.completion_tokens, from_usage=True
            )
        return TokenCount(
            prompt=estimate_tokens(self.prompt_chars),
            completion=estimate_tokens(self.answer_chars),
            from_usage=False,
        )


@dataclass(frozen=True, kw_only=True)
class _Plan:
    config: ProviderConfig
    model: str
    messages: list[dict[str, Any]]
    access: LlmAccess
    repair: bool


async def _answer(
    plan: _Plan, messages: list[dict[str, Any]], tally: _Tally, parts: list[str], round: int
) -> AsyncGenerator[FlowFragment, None]:
    """Stream one answer's fragments, collecting its text into `parts`."""
    tally.prompt_chars += sum(len(str(m.get("content") or "")) for m in messages)
    size = 0
    async with (
        open_client(
            plan.config, guard=plan.access.guard, timeout_s=plan.access.timeout_s
        ) as client,
        aclosing(
            stream_text(
                client, model=plan.model, messages=messages, timeout_s=plan.access.timeout_s
            )
        ) as items,
    ):
        async for item in items:
            if isinstance(item, AnswerEnd):
                if item.usage:
                    tally.prompt_tokens += item.usage.get("prompt_tokens", 0)
                    tally.completion_tokens += item.usage.get("completion_tokens", 0)
                else:
                    tally.every_call_reported = False
                continue
            size += len(item.text)
            if size > MAX_ANSWER_CHARS:
                raise UpstreamFailed(f"the model's answer exceeds {MAX_ANSWER_CHARS} characters")
            tally.answer_chars += len(item.text)
            parts.append(item.text)
            yield FlowFragment(text=item.text, round=round)


async def _stream(plan: _Plan) -> AsyncGenerator[FlowBuilderChunk, None]:
    started = time.perf_counter()
    tally = _Tally()
    first: list[str] = []
    # aclosing: a consumer that stops early closes the LLM stream at once, not at GC.
    async with aclosing(_answer(plan, plan.messages, tally, first, 1)) as fragments:
        async for fragment in fragments:
            yield fragment
    reading = read_workflow("".join(first))
    repaired = False
    if not reading.valid and plan.repair:
        repaired = True
        yield FlowReset(
            reason="not JSON" if reading.workflow is None else "invalid workflow",
            errors=reading.errors,
        )
        messages = [
            *plan.messages,
            {"role": "assistant", "content": "".join(first)},
            {"role": "user", "content": repair_prompt(reading.errors)},
        ]
        second: list[str] = []
        async with aclosing(_answer(plan, messages, tally, second, 2)) as fragments:
            async for fragment in fragments:
                yield fragment
        reading = read_workflow("".join(second))
    tokens = tally.count()
    yield FlowMetadata(
        duration_ms=int((time.perf_counter() - started) * 1000),
        estimated_tokens=tokens.total,
        model=plan.model,
        estimated_cost=estimate_cost(tokens, model=plan.model, provider=plan.config.provider),
        valid=reading.valid,
        errors=reading.errors,
        warnings=reading.warnings,
        repaired=repaired,
        workflow=reading.workflow,
        tokens_from_usage=tokens.from_usage,
    )


async def build_flow(
    message: str,
    *,
    choice: ModelChoice,
    access: LlmAccess,
    history: Sequence[Mapping[str, Any]] | None = None,
    current_payload: str | Mapping[str, Any] | None = None,
    repair: bool = True,
    instructions: str | None = None,
) -> AsyncGenerator[FlowBuilderChunk, None]:
    """Check the request, resolve the provider, and return the stream (see the module doc).

    `history` is earlier turns (`{role: user|assistant, content}`), sent before
    `message`; `current_payload` the workflow being edited (JSON text or object);
    `instructions` extra system prompt text (the goal planner's). Consume the
    stream to its end, or close it (`contextlib.aclosing`) when stopping early.
    """
    if not isinstance(message, str) or not message.strip():
        raise ValidationFailed("message is required", field="message")
    if len(message) > MAX_MESSAGE_CHARS:
        raise ValidationFailed(f"message exceeds {MAX_MESSAGE_CHARS} characters", field="message")
    turns = _history(history)
    current = _current(current_payload)
    config = await resolve_choice(choice, access)
    model = model_name(choice, config.provider)
    messages: list[dict[str, Any]] = [
        {
            "role": "system",
            "content": system_prompt(provider=config.provider, model=model, extra=instructions),
        },
        *turns,
        {"role": "user", "content": user_prompt(message.strip(), current)},
    ]
    return _stream(
        _Plan(config=config, model=model, messages=messages, access=access, repair=repair)
    )


async def collect_flow(chunks: AsyncGenerator[FlowBuilderChunk, None]) -> FlowMetadata:
    """Consume a build's stream and return its metadata (for non-streaming callers)."""
    metadata: FlowMetadata | None = None
    async with aclosing(chunks) as items:
        async for chunk in items:
            if isinstance(chunk, FlowMetadata):
                metadata = chunk
    if metadata is None:
        raise UpstreamFailed("the flow builder ended without a result")
    return metadata
