"""The tool-calling agent loop, shared by the `agent` node and the AG-UI goal endpoint.

messages -> chat completion with tools -> run each tool call -> append the
results -> repeat, until the model answers without tool calls or `max_steps`
completions have been made. Text deltas are reported as `LlmToken`, calls as
`ToolCall` and results as `ToolResult`, through the `emit` callback.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from engine.errors import AgentloomError
from engine.events import LlmToken, RunEvent, ToolCall, ToolResult
from engine.llm import parse_arguments, stream_chat
from engine.node_context import USAGE_KEYS
from engine.tools.catalog import ToolContext, ToolSpec

if TYPE_CHECKING:
    import openai

Emit = Callable[[RunEvent], Awaitable[None]]


@dataclass(kw_only=True)
class AgentResult:
    """How an agent loop ended."""

    text: str
    steps: int
    """Chat completions made."""
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    """Every call made: id, name, arguments, result, is_error."""
    usage: dict[str, int] = field(default_factory=lambda: dict.fromkeys(USAGE_KEYS, 0))
    stopped_by_step_limit: bool = False


async def run_agent(
    client: openai.AsyncOpenAI,
    *,
    model: str,
    messages: list[dict[str, Any]],
    tools: Mapping[str, ToolSpec],
    tool_context: ToolContext,
    emit: Emit,
    node_id: str | None = None,
    max_steps: int = 8,
    temperature: float | None = None,
    max_tokens: int | None = None,
    timeout_s: float = 120.0,
) -> AgentResult:
    """Run the loop; `messages` is extended in place with the conversation."""
    schemas = [tool.openai_schema() for tool in tools.values()]
    result = AgentResult(text="", steps=0)

    async def on_token(delta: str) -> None:
        await emit(LlmToken(node_id=node_id, delta=delta))

    while result.steps < max_steps:
        chat = await stream_chat(
            client,
            model=model,
            messages=messages,
            timeout_s=timeout_s,
            temperature=temperature,
            max_tokens=max_tokens,
            tools=schemas or None,
            on_token=on_token,
        )
        result.steps += 1
        for key in USAGE_KEYS:
            result.usage[key] += chat.usage.get(key, 0)
        if not chat.tool_calls:
            result.text = chat.text
            messages.append({"role": "assistant", "content": chat.text})
            return result
        messages.append(
            {
                "role": "assistant",
                "content": chat.text or None,
                "tool_calls": [
                    {
                        "id": call["id"],
                        "type": "function",
                        "function": {"name": call["name"], "arguments": call["arguments"]},
                    }
                    for call in chat.tool_calls
                ],
            }
        )
        for call in chat.tool_calls:
            arguments = parse_arguments(call["arguments"])
            await emit(
                ToolCall(node_id=node_id, id=call["id"], name=call["name"], arguments=arguments)
            )
            tool = tools.get(call["name"])
            is_error = False
            try:
                if tool is None:
                    raise AgentloomError(f"unknown tool {call['name']!r}")
                output = await tool.handler(arguments, tool_context)
            except AgentloomError as exc:
                # The model sees the error and may recover; the run goes on.
                output = {"error": exc.message}
                is_error = True
            await emit(
                ToolResult(
                    node_id=node_id,
                    id=call["id"],
                    name=call["name"],
                    result=output,
                    is_error=is_error,
                )
            )
            result.tool_calls.append(
                {
                    "id": call["id"],
                    "name": call["name"],
                    "arguments": arguments,
                    "result": output,
                    "is_error": is_error,
                }
            )
            messages.append(
                {
                    "role": "tool",
                    "tool_call_id": call["id"],
                    "content": output
                    if isinstance(output, str)
                    else json.dumps(output, default=str),
                }
            )
    result.stopped_by_step_limit = True
    result.text = next(
        (m["content"] for m in reversed(messages) if m["role"] == "assistant" and m.get("content")),
        "",
    )
    return result
