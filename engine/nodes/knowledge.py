"""The `knowledge` node: retrieves the chunks of knowledge bases that best match a query.

Config: `knowledgeBaseIds` (ids of the run owner's knowledge bases), `query`
(a template), `topK` (1..50, default 5), `minScore` (0..1, default 0),
`mode` (`hybrid`, the default, or `vector`). Output:
`{"chunks": [{"text", "score", "fileName", "chunkIndex", ...}], "context"}`,
where `context` is the chunks' text, numbered and separated, ready to put in
a following LLM node's prompt (`{knowledge-1.context}`). A knowledge base
that is not the owner's fails the node exactly like a missing one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from engine.errors import UpstreamFailed
from engine.knowledge.records import SEARCH_MODES, SearchHit
from engine.node_context import NodeContext, NodeResult
from engine.nodes.registry import NodeSpec, register
from engine.run_errors import NodeConfigInvalid

MAX_TOP_K = 50


def _check(data: Mapping[str, Any]) -> list[str]:
    errors = []
    ids = data.get("knowledgeBaseIds")
    if not isinstance(ids, list) or not all(isinstance(i, str) and i for i in ids):
        errors.append("data.knowledgeBaseIds must be a list of knowledge base ids")
    top_k = data.get("topK", 5)
    if isinstance(top_k, bool) or not isinstance(top_k, int) or not 1 <= top_k <= MAX_TOP_K:
        errors.append(f"data.topK must be an integer from 1 to {MAX_TOP_K}")
    min_score = data.get("minScore", 0)
    if (
        isinstance(min_score, bool)
        or not isinstance(min_score, int | float)
        or not 0 <= min_score <= 1
    ):
        errors.append("data.minScore must be a number from 0 to 1")
    if data.get("mode", "hybrid") not in SEARCH_MODES:
        errors.append(f"data.mode must be one of {', '.join(SEARCH_MODES)}")
    return errors


def context_text(hits: Sequence[SearchHit]) -> str:
    """The chunks as one text for a prompt: `[1] file.pdf` then the passage, blank-line apart."""
    return "\n\n".join(
        f"[{number}] {hit.file_name}\n{hit.text}" for number, hit in enumerate(hits, start=1)
    )


async def run(ctx: NodeContext) -> NodeResult:
    problems = _check(ctx.data)
    if problems:
        raise NodeConfigInvalid(f"node {ctx.node_id!r}: {problems[0]}", field=ctx.node_id)
    searcher = ctx.services.knowledge
    if searcher is None:
        raise UpstreamFailed("knowledge bases are not available in this deployment")
    hits = await searcher.search(
        ctx.run.owner_id,
        list(ctx.data["knowledgeBaseIds"]),
        ctx.render(ctx.require_str("query")),
        top_k=int(ctx.data.get("topK", 5)),
        min_score=float(ctx.data.get("minScore", 0)),
        mode=ctx.data.get("mode", "hybrid"),
    )
    await ctx.log("info", f"retrieved {len(hits)} chunks")
    return NodeResult(
        output={"chunks": [hit.output() for hit in hits], "context": context_text(hits)}
    )


SPEC = register(
    NodeSpec(
        type="knowledge",
        description="Retrieves the chunks of knowledge bases that best match `data.query`.",
        required=("knowledgeBaseIds", "query"),
        template_fields=("query",),
        check=_check,
        run=run,
    )
)
