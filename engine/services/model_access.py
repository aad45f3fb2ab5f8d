"""Which LLM a request-level AI feature (script generator, flow builder, goal planner) uses.

Unlike a workflow node, these requests may carry their own `apiKey` and
`endpoint` (seed 003 section 12 and 14). Resolution order:

1. the owner's stored credential for the provider (it always wins);
2. the request's `apiKey` / `endpoint`, only when no credential is stored; a
   request `endpoint` is user-supplied, so it passes the outbound guard like
   any other user URL (the key alone goes to the operator's configured or the
   provider's default endpoint);
3. the server's environment (`<PROVIDER>_API_KEY`, `<PROVIDER>_BASE_URL`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from engine.errors import ValidationFailed
from engine.llm import (
    DEFAULT_BASE_URLS,
    KEYLESS_PROVIDERS,
    NEEDS_BASE_URL,
    env_prefix,
    resolve_provider,
)
from engine.nodes._llm_common import DEFAULT_MODELS
from engine.outbound import OutboundGuard
from engine.ports import CredentialResolver, ProviderConfig
from engine.run_errors import ProviderNotConfigured


@dataclass(frozen=True, kw_only=True)
class ModelChoice:
    """The model a request asks for, with the request's own key and endpoint if any."""

    provider: str = "openai"
    model: str | None = None
    """None: the provider's default model (`gpt-4o-mini`, `deepseek-chat`...)."""
    api_key: str | None = None
    endpoint: str | None = None


@dataclass(frozen=True, kw_only=True)
class LlmAccess:
    """What a request-level LLM call may use: the caller's identity and the server's ports."""

    owner_id: str
    guard: OutboundGuard
    credentials: CredentialResolver | None = None
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    timeout_s: float = 120.0
    """Upper bound of one LLM call."""


def model_name(choice: ModelChoice, provider: str) -> str:
    """The model to ask for; `ProviderNotConfigured` (on `model`) when there is no default."""
    model = (choice.model or "").strip() or DEFAULT_MODELS.get(provider)
    if not model:
        raise ProviderNotConfigured(f"a model is required for provider {provider!r}", field="model")
    return model


def _header_safe(api_key: str | None) -> str | None:
    """A key travels in an HTTP header: printable ASCII only (else the HTTP client fails
    deep inside the request, after the stream began)."""
    if api_key is not None and not (api_key.isascii() and api_key.isprintable()):
        raise ValidationFailed("apiKey must be printable ASCII characters", field="apiKey")
    return api_key


async def resolve_choice(choice: ModelChoice, access: LlmAccess) -> ProviderConfig:
    """The endpoint and key for `choice` (see the module doc for the order)."""
    provider = (choice.provider or "openai").strip().lower()
    api_key = _header_safe((choice.api_key or "").strip() or None)
    endpoint = (choice.endpoint or "").strip() or None
    if api_key is None and endpoint is None:
        return await resolve_provider(
            provider,
            owner_id=access.owner_id,
            environ=access.environ,
            credentials=access.credentials,
        )
    if access.credentials is not None:
        stored = await access.credentials.resolve(owner_id=access.owner_id, provider=provider)
        if stored is not None and (stored.api_key or provider in KEYLESS_PROVIDERS):
            return await resolve_provider(
                provider,
                owner_id=access.owner_id,
                environ=access.environ,
                credentials=access.credentials,
            )
    prefix = env_prefix(provider)
    if endpoint is not None:
        await access.guard.check_url(endpoint, field="endpoint")
    base_url = (
        endpoint or access.environ.get(f"{prefix}_BASE_URL") or DEFAULT_BASE_URLS.get(provider)
    )
    if base_url is None and provider in NEEDS_BASE_URL:
        raise ProviderNotConfigured(
            f"LLM provider {provider!r} needs an endpoint: pass endpoint or set {prefix}_BASE_URL",
            field="endpoint",
        )
    if api_key is None:
        api_key = access.environ.get(f"{prefix}_API_KEY") or None
        if api_key is None and provider not in KEYLESS_PROVIDERS:
            raise ProviderNotConfigured(
                f"LLM provider {provider!r} has no API key: pass apiKey, store a credential "
                f"or set {prefix}_API_KEY",
                field="apiKey",
            )
    return ProviderConfig(
        provider=provider,
        api_key=api_key,
        base_url=base_url,
        api_version=access.environ.get(f"{prefix}_API_VERSION") or None,
        user_supplied=endpoint is not None,
    )
