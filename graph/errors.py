"""Puts each error's stable code (and offending field) into `extensions`.

Our typed errors (engine.errors) carry their own code; GraphQL's own
validation (including the depth, alias and token limits) becomes
GRAPHQL_VALIDATION_FAILED, bad variables BAD_USER_INPUT, and anything
unexpected INTERNAL_SERVER_ERROR with its message masked.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from engine.errors import AgentloomError

log = logging.getLogger(__name__)

INTERNAL = "INTERNAL_SERVER_ERROR"


def annotate(error: GraphQLError) -> GraphQLError:
    original = error.original_error
    extensions = dict(error.extensions or {})
    if "code" in extensions:
        return error
    if isinstance(original, AgentloomError):
        extensions["code"] = original.code
        if original.field:
            extensions["field"] = original.field
    elif original is None:
        is_variable_error = error.message.startswith("Variable '$")
        extensions["code"] = "BAD_USER_INPUT" if is_variable_error else "GRAPHQL_VALIDATION_FAILED"
    else:
        log.error("unexpected error in a resolver", exc_info=original)
        extensions["code"] = INTERNAL
        error.message = "Internal server error"
    error.extensions = extensions
    return error


class ErrorCodes(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        if result is not None and result.errors:
            for error in result.errors:
                annotate(error)
        for error in self.execution_context.pre_execution_errors or []:
            annotate(error)
