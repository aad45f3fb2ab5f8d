"""The tool catalog agents call: `TOOL_CATALOG` by id, plus lookups."""

from __future__ import annotations

from engine.tools.basic import BASIC_TOOLS
from engine.tools.catalog import ToolContext, ToolError, ToolHandler, ToolSpec
from engine.tools.knowledge import KNOWLEDGE_TOOLS
from engine.tools.web import WEB_TOOLS

TOOL_CATALOG: dict[str, ToolSpec] = {
    tool.id: tool for tool in (*BASIC_TOOLS, *WEB_TOOLS, *KNOWLEDGE_TOOLS)
}
"""Every built-in tool by id."""


def list_tools() -> list[ToolSpec]:
    """The catalog in a stable order."""
    return list(TOOL_CATALOG.values())


__all__ = ["TOOL_CATALOG", "ToolContext", "ToolError", "ToolHandler", "ToolSpec", "list_tools"]
