"""The `datasource` node: runs `data.query` against a saved data source.

Calls the `DataSourceQuerier` port with the run owner's id, so a workflow can
only reach its owner's data sources. The query is never rendered into text:
its `{path}` placeholders are resolved to values here and travel next to the
query as `params`, and the connector binds them (SQL bind parameters, MongoDB
values that can never become operators; see docs/datasources.md). Output:
what the querier returns (`{"data": [...], "count": n}`).
"""

from __future__ import annotations

from engine.errors import UpstreamFailed
from engine.node_context import NodeContext, NodeResult
from engine.nodes.registry import NodeSpec, register
from engine.templates import placeholder_values


async def run(ctx: NodeContext) -> NodeResult:
    querier = ctx.services.data_sources
    if querier is None:
        raise UpstreamFailed("data sources are not available in this deployment")
    query = ctx.require_str("query")
    result = await querier.query(
        owner_id=ctx.run.owner_id,
        data_source_id=ctx.require_str("data_source_id"),
        query=query,
        # `{{`/`}}` are not escapes in a query: JSON (MongoDB) closes objects with `}}`.
        params=placeholder_values(query, ctx.scope, brace_escapes=False),
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
