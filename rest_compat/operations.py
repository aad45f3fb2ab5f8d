"""Runs a GraphQL operation for a REST route: the same resolvers, the same rules.

Every document a route runs is declared with `operation()` at import time and
checked against the schema when the app is built (`check_operations`), so a
typo fails the start, not a request. A mutation's `userErrors` become the
dialect's 4xx error the same way a top-level error does.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import Any

from fastapi import Depends, Request
from graphql import GraphQLSchema, parse, validate

from engine.errors import AgentloomError
from graph.conventions import field_text
from graph.view import context_for
from rest_compat.errors import STATUS_BY_CODE, ApiError
from rest_compat.openapi import is_public


@dataclass(frozen=True, kw_only=True)
class Operation:
    """One GraphQL document a REST route runs."""

    document: str
    origin: str
    """The module that declared it (named when it does not validate)."""


OPERATIONS: list[Operation] = []


def operation(document: str, origin: str = "rest_compat") -> Operation:
    declared = Operation(document=document, origin=origin)
    OPERATIONS.append(declared)
    return declared


def check_operations(schema: GraphQLSchema) -> None:
    """Parse and validate every declared document; raise naming all that fail."""
    problems = []
    for declared in OPERATIONS:
        try:
            errors = validate(schema, parse(declared.document))
        except Exception as exc:  # a syntax error is a problem to report, like the rest
            errors = [exc]  # type: ignore[list-item]
        problems += [f"{declared.origin}: {e} in {declared.document[:80]!r}" for e in errors]
    if problems:
        raise RuntimeError("REST operations do not match the schema:\n" + "\n".join(problems))


_checked: set[tuple[Hashable, tuple[str, ...]]] = set()


def check_operations_once(schema: GraphQLSchema, built_as: Hashable) -> None:
    """`check_operations`, skipped when the same documents already passed against a schema
    built the same way (`built_as`: the build's options; the build is deterministic).

    Validating the eighty-odd documents costs about 0.7 s of CPU: once per process, not
    once per app (the test suite builds hundreds)."""
    key = (built_as, tuple(declared.document for declared in OPERATIONS))
    if key in _checked:
        return
    check_operations(schema)
    _checked.add(key)


async def authenticated(request: Request) -> None:
    """A dependency of every REST route: the caller is authenticated before FastAPI
    validates the route's body and parameters, so a request without valid credentials
    gets 401 whatever it sends (public routes excepted). What the caller may reach is
    still the services' call; the context is kept for the route's operations."""
    route = request.scope.get("route")
    path = getattr(route, "path", request.url.path)
    if is_public(request.method, path):
        return
    context = context_for(request.app.state.services, request)
    try:
        await context.viewer()
    except AgentloomError as error:
        raise ApiError(STATUS_BY_CODE.get(error.code, 401), error.code, error.message) from error
    request.state.context = context


AUTHENTICATED = [Depends(authenticated)]
"""`dependencies=` for a router whose routes need a caller."""


async def execute(
    request: Request, op: Operation | str, variables: Mapping[str, Any] | None = None
) -> Any:
    """Execute `op` as the caller; GraphQL errors become `ApiError`. (A plain string is
    accepted, but only declared operations are checked at start-up.)"""
    state = request.app.state
    context = getattr(request.state, "context", None) or context_for(state.services, request)
    document = op.document if isinstance(op, Operation) else op
    result = await state.schema.execute(
        document, variable_values=dict(variables or {}), context_value=context
    )
    if result.errors:
        raise ApiError.from_graphql(result.errors[0])
    return result.data


def payload(data: Mapping[str, Any], key: str) -> Any:
    """A mutation's payload; its first user error as the dialect's 4xx."""
    answer = data[key]
    errors = answer.get("userErrors") or []
    if errors:
        first = errors[0]
        code = str(first["code"])
        field = field_text(first.get("field"))
        message = str(first["message"])
        if field and field not in message:
            message = f"{field}: {message}"
        raise ApiError(STATUS_BY_CODE.get(code, 422), code, message)
    return answer


USER_ERRORS = "userErrors { field code message }"
