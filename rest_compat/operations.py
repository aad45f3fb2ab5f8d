"""Runs a GraphQL operation for a REST route: the same resolvers, the same rules."""

from __future__ import annotations

from typing import Any

from fastapi import Request

from graph.view import context_for
from rest_compat.errors import ApiError


async def execute(request: Request, document: str, variables: dict[str, Any] | None = None) -> Any:
    """Execute `document` as the caller; GraphQL errors become `ApiError`."""
    state = request.app.state
    context = context_for(state.services, request)
    result = await state.schema.execute(document, variable_values=variables, context_value=context)
    if result.errors:
        raise ApiError.from_graphql(result.errors[0])
    return result.data
