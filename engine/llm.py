"""LLM providers through the `openai` SDK: OpenAI, DeepSeek, Azure OpenAI, Ollama, custom.

Which endpoint and key a call uses: the owner's stored credential (from the
`CredentialResolver` port) wins; otherwise the injected environment's
`<PROVIDER>_API_KEY` / `<PROVIDER>_BASE_URL` (provider upper-cased, hyphens
to underscores: `AZURE_OPENAI_API_KEY`). Operator-set base URLs are trusted;
a base URL from a user's credential, and a built-in default on this machine
(Ollama's 127.0.0.1:11434), pass the outbound guard like any other
user-supplied URL. Either way an answer stops at `LLM_MAX_RESPONSE_BYTES`
(32 MiB): a trusted provider can still misbehave, and the SDK keeps whatever
it is sent in memory.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import anyio
import httpx2

from engine.errors import UpstreamFailed
from engine.guarded_httpx2 import ceiling_client, ceiling_exceeded_in, guarded_client
from engine.http_body import ResponseTooLarge
from engine.lazy_import import import_off_loop
from engine.outbound import OutboundGuard
from engine.ports import CredentialResolver, ProviderConfig
from engine.run_errors import ProviderNotConfigured

if TYPE_CHECKING:
    import openai

DEFAULT_BASE_URLS: Mapping[str, str] = {
    "deepseek": "https://api.deepseek.com/v1",
    "ollama": "http://127.0.0.1:11434/v1",
}
GUARDED_DEFAULTS = frozenset({"ollama"})
"""Providers whose built-in default endpoint is this machine: nobody chose it, so unless
the operator sets `<PROVIDER>_BASE_URL` it is guarded like a user's URL (a user's
`ollama` node must not reach 127.0.0.1 unless `AGENTLOOM_OUTBOUND_ALLOW` says so)."""
KEYLESS_PROVIDERS = frozenset({"ollama"})
NEEDS_BASE_URL = frozenset({"azure-openai", "custom"})
DEFAULT_AZURE_API_VERSION = "2024-10-21"

TokenCallback = Callable[[str], Awaitable[None]]


def env_prefix(provider: str) -> str:
    """`azure-openai` -> `AZURE_OPENAI`."""
    return provider.strip().upper().replace("-", "_")


async def resolve_provider(
    provider: str,
    *,
    owner_id: str,
    environ: Mapping[str, str],
    credentials: CredentialResolver | None,
) -> ProviderConfig:
    """The endpoint and key for `provider`; `ProviderNotConfigured` names what to set."""
    provider = (provider or "openai").strip().lower()
    if credentials is not None:
        stored = await credentials.resolve(owner_id=owner_id, provider=provider)
        if stored is not None and (stored.api_key or provider in KEYLESS_PROVIDERS):
            return ProviderConfig(
                provider=provider,
                api_key=stored.api_key,
                base_url=stored.base_url,
                api_version=stored.api_version,
                user_supplied=True,
            )
    prefix = env_prefix(provider)
    api_key = environ.get(f"{prefix}_API_KEY") or None
    operator_url = environ.get(f"{prefix}_BASE_URL") or None
    base_url = operator_url or DEFAULT_BASE_URLS.get(provider)
    if api_key is None and provider not in KEYLESS_PROVIDERS:
        raise ProviderNotConfigured(
            f"LLM provider {provider!r} has no API key: set {prefix}_API_KEY "
            "or store a credential for it",
            field="provider",
        )
    if base_url is None and provider in NEEDS_BASE_URL:
        raise ProviderNotConfigured(
            f"LLM provider {provider!r} has no endpoint: set {prefix}_BASE_URL",
            field="provider",
        )
    return ProviderConfig(
        provider=provider,
        api_key=api_key,
        base_url=base_url,
        api_version=environ.get(f"{prefix}_API_VERSION") or None,
        user_supplied=operator_url is None and provider in GUARDED_DEFAULTS,
    )


@asynccontextmanager
async def open_client(
    config: ProviderConfig, *, guard: OutboundGuard, timeout_s: float
) -> AsyncIterator[openai.AsyncOpenAI]:
    """An SDK client for the provider; its HTTP connections close on exit (even on cancel)."""
    await import_off_loop("openai")  # the first call's import, off the event loop
    import openai

    # The openai SDK speaks httpx2: its clients, guarded for a user's own endpoint, and
    # with the same response ceiling for the operator's (no guard: the operator chose it).
    http: httpx2.AsyncClient
    if config.user_supplied and config.base_url:
        await guard.check_url(config.base_url, field="base_url")
        http = guarded_client(guard, field="base_url", timeout=timeout_s)
    else:
        http = ceiling_client(timeout=timeout_s)
    client: openai.AsyncOpenAI
    try:
        if config.provider == "azure-openai":
            client = openai.AsyncAzureOpenAI(
                api_key=config.api_key,
                azure_endpoint=config.base_url or "",
                api_version=config.api_version or DEFAULT_AZURE_API_VERSION,
                http_client=http,
                max_retries=0,
            )
        else:
            client = openai.AsyncOpenAI(
                api_key=config.api_key or "not-needed",
                base_url=config.base_url,
                http_client=http,
                max_retries=0,
            )
        yield client
    finally:
        # Shielded: a cancelled run must still close its sockets.
        with anyio.CancelScope(shield=True):
            await http.aclose()


@dataclass(kw_only=True)
class ChatResult:
    """One completed chat call."""

    text: str
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    """`{"id", "name", "arguments"}`; `arguments` is the raw JSON text."""
    usage: dict[str, int] = field(default_factory=dict)
    finish_reason: str | None = None


async def stream_chat(
    client: openai.AsyncOpenAI,
    *,
    model: str,
    messages: list[dict[str, Any]],
    timeout_s: float,
    temperature: float | None = None,
    max_tokens: int | None = None,
    tools: list[dict[str, Any]] | None = None,
    on_token: TokenCallback | None = None,
) -> ChatResult:
    """A streamed chat completion: text deltas go to `on_token`; usage from the last chunk."""
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
    if tools:
        kwargs["tools"] = tools
    text: list[str] = []
    calls: dict[int, dict[str, Any]] = {}
    usage: dict[str, int] = {}
    finish: str | None = None
    try:
        with anyio.fail_after(timeout_s):
            stream = await client.chat.completions.create(**kwargs)
            try:
                async for chunk in stream:
                    if chunk.usage is not None:
                        usage = {
                            "prompt_tokens": chunk.usage.prompt_tokens or 0,
                            "completion_tokens": chunk.usage.completion_tokens or 0,
                            "total_tokens": chunk.usage.total_tokens or 0,
                        }
                    for choice in chunk.choices:
                        delta = choice.delta
                        if choice.finish_reason:
                            finish = choice.finish_reason
                        if delta is None:
                            continue
                        if delta.content:
                            text.append(delta.content)
                            if on_token is not None:
                                await on_token(delta.content)
                        for call in delta.tool_calls or ():
                            slot = calls.setdefault(
                                call.index, {"id": "", "name": "", "arguments": ""}
                            )
                            if call.id:
                                slot["id"] = call.id
                            if call.function is not None:
                                slot["name"] += call.function.name or ""
                                slot["arguments"] += call.function.arguments or ""
            finally:
                with anyio.CancelScope(shield=True):
                    await stream.close()
    except (openai.OpenAIError, httpx2.HTTPError) as exc:
        # A body read mid-stream raises httpx2's own errors, unwrapped by the SDK.
        ceiling = ceiling_exceeded_in(exc)
        if ceiling is not None:
            raise ResponseTooLarge(f"LLM call failed: {ceiling}") from exc
        raise UpstreamFailed(f"LLM call failed: {type(exc).__name__}: {exc}") from exc
    except TimeoutError as exc:
        raise UpstreamFailed(f"LLM call timed out after {timeout_s}s") from exc
    if finish is None:
        # The connection closed mid-answer: what arrived is a fragment, not a reply.
        raise UpstreamFailed("LLM stream ended before the model finished (no finish_reason)")
    return ChatResult(
        text="".join(text),
        tool_calls=[calls[i] for i in sorted(calls)],
        usage=usage,
        finish_reason=finish,
    )


def parse_arguments(raw: str) -> dict[str, Any]:
    """Tool-call arguments as a dict (models sometimes send nothing or junk)."""
    if not raw.strip():
        return {}
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        return {"_raw": raw}
    return value if isinstance(value, dict) else {"value": value}
