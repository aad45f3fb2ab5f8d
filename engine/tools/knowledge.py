"""`knowledge_search`: an agent searches knowledge bases (hybrid: vectors + keywords).

Which knowledge bases: the agent node's `data.knowledgeBases`, or all of the
run owner's when it names none. Another user's knowledge base answers like a
missing one (`NotFound`, whose message the model sees as the tool's error).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.tools.catalog import ToolContext, ToolError, ToolSpec, string_arg

MAX_RESULTS = 20


async def _knowledge_search(args: Mapping[str, Any], ctx: ToolContext) -> Any:
    query = string_arg(args, "query")
    top_k = args.get("top_k", 5)
    if isinstance(top_k, bool) or not isinstance(top_k, int) or not 1 <= top_k <= MAX_RESULTS:
        raise ToolError(f"top_k must be an integer between 1 and {MAX_RESULTS}")
    if ctx.knowledge is None or not ctx.owner_id:
        raise ToolError("knowledge bases are not available in this deployment")
    hits = await ctx.knowledge.search(
        ctx.owner_id, list(ctx.knowledge_base_ids) or None, query, top_k=top_k
    )
    return {"results": [hit.output() for hit in hits]}


KNOWLEDGE_TOOLS = (
    ToolSpec(
        id="knowledge_search",
        name="Knowledge search",
        description=(
            "Search the user's knowledge bases (uploaded documents) for passages relevant "
            "to a query; returns the best chunks with their file names and scores."
        ),
        category="knowledge",
        icon="book-open",
        parameters={
            "type": "object",
            "properties": {
                "query": {"type": "string", "description": "What to look for."},
                "top_k": {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": MAX_RESULTS,
                    "description": "How many passages (default 5).",
                },
            },
            "required": ["query"],
        },
        handler=_knowledge_search,
    ),
)
