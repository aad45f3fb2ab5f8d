"""A chat completion streamed as an async iterator of text pieces, safe to `yield` from.

`engine.llm.stream_chat` reports tokens through a callback; a feature that
itself streams to its client (the flow builder) needs the pieces as an
iterator instead. Each chunk is received under the call's remaining time and
the scope is left before the piece is yielded: a deadline never spans the
consumer's own work (see PROTOCOLS.md, anyio and async generators).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import anyio

from engine.errors import UpstreamFailed
from engine.lazy_import import import_off_loop

if TYPE_CHECKING:
    import openai


@dataclass(frozen=True, kw_only=True)
class TextPiece:
    """A fragment of the answer, as the provider streamed it."""

    text: str


@dataclass(frozen=True, kw_only=True)
class AnswerEnd:
    """The answer is complete."""

    finish_reason: str
    usage: dict[str, int] = field(default_factory=dict)
    """`prompt_tokens`, `completion_tokens`, `total_tokens` when the provider reported them."""


async def stream_text(
    client: openai.AsyncOpenAI,
    *,
    model: str,
    messages: list[dict[str, Any]],
    timeout_s: float,
    temperature: float | None = None,
    max_tokens: int | None = None,
) -> AsyncGenerator[TextPiece | AnswerEnd, None]:
    """The answer's text pieces, then one `AnswerEnd`; `UpstreamFailed` on errors and timeout."""
    await import_off_loop("openai")  # the first call's import, off the event loop
    import openai

    kwargs: dict[str, Any] = {
        "model": model,
        "messages": messages,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    if temperature is not None:
        kwargs["temperature"] = temperature
    if max_tokens is not None:
        kwargs["max_tokens"] = max_tokens
    deadline = anyio.current_time() + timeout_s
    try:
        with anyio.fail_after(timeout_s):
            stream = await client.chat.completions.create(**kwargs)
    except openai.OpenAIError as exc:
        raise UpstreamFailed(f"LLM call failed: {type(exc).__name__}: {exc}") from exc
    except TimeoutError as exc:
        raise UpstreamFailed(f"LLM call timed out after {timeout_s:g}s") from exc
    usage: dict[str, int] = {}
    finish: str | None = None
    chunks = stream.__aiter__()
    try:
        while True:
            try:
                with anyio.fail_after(max(0.0, deadline - anyio.current_time())):
                    chunk = await chunks.__anext__()
            except StopAsyncIteration:
                break
            except openai.OpenAIError as exc:
                raise UpstreamFailed(f"LLM call failed: {type(exc).__name__}: {exc}") from exc
            except TimeoutError as exc:
                raise UpstreamFailed(f"LLM call timed out after {timeout_s:g}s") from exc
            if chunk.usage is not None:
                usage = {
                    "prompt_tokens": chunk.usage.prompt_tokens or 0,
                    "completion_tokens": chunk.usage.completion_tokens or 0,
                    "total_tokens": chunk.usage.total_tokens or 0,
                }
            for choice in chunk.choices:
                if choice.finish_reason:
                    finish = choice.finish_reason
                if choice.delta is not None and choice.delta.content:
                    yield TextPiece(text=choice.delta.content)
    finally:
        with anyio.CancelScope(shield=True):
            await stream.close()
    if finish is None:
        raise UpstreamFailed("LLM stream ended before the model finished (no finish_reason)")
    yield AnswerEnd(finish_reason=finish, usage=usage)
