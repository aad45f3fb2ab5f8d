"""Embeddings through the `openai` SDK (OpenAI or Azure OpenAI, as seed 003 requires).

Which provider: the owner's stored OpenAI credential, else their Azure OpenAI
credential, else the environment's `OPENAI_API_KEY` (+ `OPENAI_BASE_URL`),
else `AZURE_OPENAI_API_KEY` + `AZURE_OPENAI_BASE_URL`. A stored credential
always wins over the environment, as for chat models (`engine.llm`). For
Azure the knowledge base's `embeddingModel` is the deployment name.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING

import anyio

from engine.guarded_httpx2 import ceiling_exceeded_in
from engine.knowledge.errors import EmbeddingFailed, EmbeddingProviderNotConfigured
from engine.knowledge.ports import Embedder
from engine.lazy_import import import_off_loop
from engine.llm import open_client, resolve_provider
from engine.outbound import OutboundGuard
from engine.ports import CredentialResolver, ProviderConfig
from engine.retry import with_retries
from engine.run_errors import ProviderNotConfigured

if TYPE_CHECKING:
    import openai

EMBEDDING_PROVIDERS = ("openai", "azure-openai")
NOT_CONFIGURED = (
    "no embedding provider configured: store an OpenAI or Azure OpenAI credential, "
    "or set OPENAI_API_KEY (and OPENAI_BASE_URL for a compatible endpoint), "
    "or AZURE_OPENAI_API_KEY and AZURE_OPENAI_BASE_URL"
)


class TransientEmbeddingFailure(EmbeddingFailed):
    """A failure worth retrying: 429, 5xx, a timeout, a dropped connection."""


async def resolve_embedding_provider(
    *, owner_id: str, environ: Mapping[str, str], credentials: CredentialResolver | None
) -> ProviderConfig:
    """The provider embeddings use for `owner_id`, or `EmbeddingProviderNotConfigured`."""
    if credentials is not None:
        for provider in EMBEDDING_PROVIDERS:
            stored = await credentials.resolve(owner_id=owner_id, provider=provider)
            if stored is not None and stored.api_key:
                return ProviderConfig(
                    provider=provider,
                    api_key=stored.api_key,
                    base_url=stored.base_url,
                    api_version=stored.api_version,
                    user_supplied=True,
                )
    for provider in EMBEDDING_PROVIDERS:
        try:
            return await resolve_provider(
                provider, owner_id=owner_id, environ=environ, credentials=None
            )
        except ProviderNotConfigured:
            continue
    raise EmbeddingProviderNotConfigured(NOT_CONFIGURED, field="provider")


@dataclass(kw_only=True)
class OpenAIEmbedder:
    """One open SDK client and a model; each `embed` call is one request per batch."""

    client: openai.AsyncOpenAI
    model: str
    batch_size: int = 64
    timeout_s: float = 60.0
    retries: int = 2
    retry_base_delay_s: float = 0.5

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        vectors: list[list[float]] = []
        for first in range(0, len(texts), self.batch_size):
            batch = list(texts[first : first + self.batch_size])
            vectors.extend(
                await with_retries(
                    partial(self._request, batch),
                    retries=self.retries,
                    base_delay_s=self.retry_base_delay_s,
                    retry_on=(TransientEmbeddingFailure,),
                )
            )
        return vectors

    async def _request(self, batch: list[str]) -> list[list[float]]:
        await import_off_loop("openai")  # the first call's import, off the event loop
        import openai

        try:
            with anyio.fail_after(self.timeout_s):
                response = await self.client.embeddings.create(model=self.model, input=batch)
        except TimeoutError as exc:
            raise TransientEmbeddingFailure(
                f"embedding call timed out after {self.timeout_s}s"
            ) from exc
        except (
            openai.APIConnectionError,
            openai.RateLimitError,
            openai.InternalServerError,
        ) as exc:
            ceiling = ceiling_exceeded_in(exc)
            if ceiling is not None:
                # The SDK calls it a connection error; asking again would not shrink the answer.
                raise EmbeddingFailed(f"embedding call failed: {ceiling}") from exc
            raise TransientEmbeddingFailure(f"embedding call failed: {exc}") from exc
        except openai.OpenAIError as exc:
            raise EmbeddingFailed(f"embedding call failed: {type(exc).__name__}: {exc}") from exc
        items = sorted(response.data, key=lambda item: item.index)
        if len(items) != len(batch):
            raise EmbeddingFailed(
                f"the embeddings endpoint returned {len(items)} vectors for {len(batch)} texts"
            )
        return [list(item.embedding) for item in items]


@dataclass(kw_only=True)
class OpenAIEmbeddingClients:
    """`EmbeddingClients` over the SDK; the composition root builds one."""

    credentials: CredentialResolver | None = None
    environ: Mapping[str, str] = field(default_factory=dict)
    guard: OutboundGuard = field(default_factory=lambda: OutboundGuard.from_entries([]))
    """A base URL from a user's credential passes it, like any user-supplied URL."""
    batch_size: int = 64
    timeout_s: float = 60.0
    retries: int = 2
    retry_base_delay_s: float = 0.5

    @asynccontextmanager
    async def open(self, *, owner_id: str, model: str) -> AsyncIterator[Embedder]:
        config = await resolve_embedding_provider(
            owner_id=owner_id, environ=self.environ, credentials=self.credentials
        )
        async with open_client(config, guard=self.guard, timeout_s=self.timeout_s) as client:
            yield OpenAIEmbedder(
                client=client,
                model=model,
                batch_size=self.batch_size,
                timeout_s=self.timeout_s,
                retries=self.retries,
                retry_base_delay_s=self.retry_base_delay_s,
            )
