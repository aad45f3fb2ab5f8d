"""Errors of the knowledge slice, on top of `engine.errors`.

AgentloomError (engine.errors)
├── ValidationFailed
│   ├── UnsupportedDocumentType     no parser for this file type (HTTP 415)
│   ├── DocumentUnreadable          a supported type, but the bytes do not parse (422)
│   └── ProviderNotConfigured (engine.run_errors)
│       └── EmbeddingProviderNotConfigured   no OpenAI / Azure OpenAI key anywhere
└── UpstreamFailed
    └── EmbeddingFailed             the embeddings endpoint refused or timed out
"""

from __future__ import annotations

from typing import ClassVar

from engine.errors import UpstreamFailed, ValidationFailed
from engine.run_errors import ProviderNotConfigured


class UnsupportedDocumentType(ValidationFailed):
    """The file's type has no parser; the message names the type."""

    code: ClassVar[str] = "UNSUPPORTED_MEDIA_TYPE"


class DocumentUnreadable(ValidationFailed):
    """The file claims a supported type but its bytes cannot be parsed."""

    code: ClassVar[str] = "UNPROCESSABLE_DOCUMENT"


class EmbeddingProviderNotConfigured(ProviderNotConfigured):
    """Neither the owner nor the environment has an OpenAI / Azure OpenAI key."""


class EmbeddingFailed(UpstreamFailed):
    """The embeddings endpoint failed (HTTP error, timeout, malformed answer)."""
