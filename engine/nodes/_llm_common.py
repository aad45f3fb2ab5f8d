"""Config shared by the `llm` and `agent` nodes: provider, model, sampling, retries."""

from __future__ import annotations

from typing import Any

from engine.node_context import NodeContext
from engine.run_errors import NodeConfigInvalid

DEFAULT_MODELS = {
    "openai": "gpt-4o-mini",
    "deepseek": "deepseek-chat",
    "ollama": "llama3.1",
}


def model_of(ctx: NodeContext, provider: str) -> str:
    model = ctx.data.get("model") or DEFAULT_MODELS.get(provider)
    if not isinstance(model, str) or not model:
        raise NodeConfigInvalid(f"node {ctx.node_id!r}: data.model is required for {provider}")
    return model


def sampling(ctx: NodeContext) -> dict[str, Any]:
    temperature = ctx.data.get("temperature")
    max_tokens = ctx.data.get("max_tokens")
    return {
        "temperature": float(temperature) if isinstance(temperature, int | float) else None,
        "max_tokens": int(max_tokens) if isinstance(max_tokens, int) else None,
    }


def messages_of(ctx: NodeContext) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    system = ctx.data.get("system")
    if isinstance(system, str) and system.strip():
        messages.append({"role": "system", "content": ctx.render(system)})
    messages.append({"role": "user", "content": ctx.render(ctx.require_str("prompt"))})
    return messages


def retries_of(ctx: NodeContext) -> int:
    retries = ctx.data.get("retries", 0)
    return retries if isinstance(retries, int) and not isinstance(retries, bool) else 0
