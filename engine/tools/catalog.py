"""The tool model: `ToolSpec` (what an agent sees + the handler) and `ToolContext`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from engine.errors import ValidationFailed
from engine.outbound import OutboundGuard

if TYPE_CHECKING:
    from engine.knowledge.ports import KnowledgeSearcher


class ToolError(ValidationFailed):
    """A tool could not do what was asked; the message goes back to the model."""


@dataclass(frozen=True, kw_only=True)
class ToolContext:
    """What a tool handler may use: the outbound guard and the injected environment."""

    guard: OutboundGuard
    environ: Mapping[str, str] = field(default_factory=dict)
    http_timeout_s: float = 20.0
    owner_id: str = ""
    """Whose run this is: tools that read owned data (knowledge bases) are scoped by it."""
    knowledge: KnowledgeSearcher | None = None
    knowledge_base_ids: tuple[str, ...] = ()
    """What `knowledge_search` searches (an agent's `data.knowledgeBases`); empty: all the
    owner's knowledge bases."""


ToolHandler = Callable[[Mapping[str, Any], ToolContext], Awaitable[Any]]


@dataclass(frozen=True, kw_only=True)
class ToolSpec:
    """One tool of the catalog."""

    id: str
    """Stable identifier, also the function name the model calls."""
    name: str
    description: str
    category: str
    icon: str
    parameters: Mapping[str, Any]
    """JSON Schema of the arguments object."""
    handler: ToolHandler

    def openai_schema(self) -> dict[str, Any]:
        """The tool in OpenAI function-calling form."""
        return {
            "type": "function",
            "function": {
                "name": self.id,
                "description": self.description,
                "parameters": dict(self.parameters),
            },
        }

    def describe(self) -> dict[str, Any]:
        """The tool as listed to clients (no handler)."""
        return {
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "category": self.category,
            "icon": self.icon,
            "parameters": dict(self.parameters),
        }


def string_arg(args: Mapping[str, Any], name: str) -> str:
    value = args.get(name)
    if not isinstance(value, str) or not value.strip():
        raise ToolError(f"argument {name!r} is required and must be a non-empty string")
    return value
