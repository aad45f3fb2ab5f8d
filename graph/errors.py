"""Puts each error's stable code (and offending field) into `extensions`.

Our typed errors (engine.errors) carry their own code; GraphQL's own
validation (including the depth, alias and token limits) becomes
GRAPHQL_VALIDATION_FAILED, bad variables BAD_USER_INPUT, and anything
unexpected INTERNAL_SERVER_ERROR with its message masked.
"""

from __future__ import annotations

import logging

from graphql import GraphQLError

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
    elif original is None or isinstance(original, GraphQLError):
        # graphql-core wraps a scalar's refusal of a variable (`Int cannot represent...`)
        # in the variable's error: bad input, not a failure of ours.
        is_variable_error = error.message.startswith("Variable '$")
        extensions["code"] = "BAD_USER_INPUT" if is_variable_error else "GRAPHQL_VALIDATION_FAILED"
    else:
        log.error("unexpected error in a resolver", exc_info=original)
        extensions["code"] = INTERNAL
        error.message = "Internal server error"
    error.extensions = extensions
    return error
