"""The `datasource` node: runs `data.query` (a template) against a saved data source.

Calls the `DataSourceQuerier` port with the run owner's id, so a workflow can
only reach its owner's data sources. Output: what the querier returns
(`{"data": [...], "count": n}`).
"""

from __future__ import annotations

from engine.errors import UpstreamFailed
from engine.node_context import NodeContext, NodeResult
from engine.nodes.registry import NodeSpec, register


async def run(ctx: NodeContext) -> NodeResult:
    querier = ctx.services.data_sources
    if querier is None:
        raise UpstreamFailed("data sources are not available in this deployment")
    result = await querier.query(
        owner_id=ctx.run.owner_id,
        data_source_id=ctx.require_str("data_source_id"),
        query=ctx.render(ctx.require_str("query")),
    )
    return NodeResult(output=result)


SPEC = register(
    NodeSpec(
        type="datasource",
        description="Runs `data.query` against a saved data source.",
        required=("data_source_id", "query"),
        template_fields=("query",),
        run=run,
    )
)
