"""Config shared by the `llm` and `agent` nodes: provider, model, sampling, retries, messages.

A run whose input carries an uploaded `file` (AG-UI `forwardedProps.fileId`)
offers it to every llm/agent node as an attachment: the file's text goes after
the rendered prompt between delimiter lines, unless the node's prompt or
system already places it (`{input.file...}`, `{file...}` or the whole
`{input}`), so a prompt never gets it twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeGuard

from engine.node_context import NodeContext
from engine.run_errors import NodeConfigInvalid
from engine.templates import TemplateError, template_paths

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
    prompt = ctx.require_str("prompt")
    if isinstance(system, str) and system.strip():
        messages.append({"role": "system", "content": ctx.render(system)})
    content = ctx.render(prompt)
    file = ctx.run.request.input_data.get("file")
    if _is_run_file(file) and not _mentions_file(prompt, system):
        content += _attachment(file)
    messages.append({"role": "user", "content": content})
    return messages


def _is_run_file(value: Any) -> TypeGuard[Mapping[str, Any]]:
    """The shape `UploadService.file_for_run` gives a run's `file` input."""
    return isinstance(value, Mapping) and isinstance(value.get("text"), str) and "fileName" in value


def _mentions_file(prompt: str, system: Any) -> bool:
    """Whether the node already places the file itself: `{input.file...}`, `{file...}`,
    or the whole `{input}` (which holds it)."""
    texts = [prompt, system] if isinstance(system, str) else [prompt]
    for text in texts:
        try:
            paths = template_paths(text)
        except TemplateError:
            continue  # rendering reports it
        for path in paths:
            segments = path.split(".")
            if segments[0] == "file" or segments[:2] == ["input", "file"] or path == "input":
                return True
    return False


def _attachment(file: Mapping[str, Any]) -> str:
    """The file as an attachment after the prompt, between delimiter lines naming it."""
    name = str(file.get("fileName") or "file")
    about = f"{name} ({file.get('contentType') or 'unknown type'}, {file.get('size', '?')} bytes)"
    text = str(file["text"])
    if not text:
        return f"\n\n--- Attached file: {about}; no text could be extracted from it ---"
    return f"\n\n--- Attached file: {about} ---\n{text}\n--- End of attached file {name} ---"


def retries_of(ctx: NodeContext) -> int:
    retries = ctx.data.get("retries", 0)
    return retries if isinstance(retries, int) and not isinstance(retries, bool) else 0
