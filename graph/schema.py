"""The root schema: each domain's roots merged, with the hardening extensions."""

from __future__ import annotations

import logging
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import (
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    ValidationCache,
)
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext

from engine.errors import AgentloomError
from graph.accounts import AccountMutation, AccountQuery
from graph.agent_runs import AgentRunMutationRoot
from graph.datasources import DataSourceMutationRoot, DataSourceQueryRoot
from graph.errors import annotate
from graph.executions import ExecutionMutationRoot, ExecutionQueryRoot, ExecutionSubscriptionRoot
from graph.human_input import HumanInputMutationRoot, HumanInputQueryRoot
from graph.secrets import SecretsMutationRoot, SecretsQueryRoot
from graph.shared_results import SharedResultExecutor
from graph.skills import SkillMutationRoot, SkillQueryRoot
from graph.traces import TraceQueryRoot
from graph.workflows import WorkflowMutationRoot, WorkflowQueryRoot

log = logging.getLogger("agentloom.graphql")

QUERY_ROOTS: tuple[type, ...] = (
    AccountQuery,
    WorkflowQueryRoot,
    ExecutionQueryRoot,
    DataSourceQueryRoot,
    SecretsQueryRoot,
    SkillQueryRoot,
    TraceQueryRoot,
    HumanInputQueryRoot,
)
MUTATION_ROOTS: tuple[type, ...] = (
    AccountMutation,
    WorkflowMutationRoot,
    ExecutionMutationRoot,
    DataSourceMutationRoot,
    SecretsMutationRoot,
    SkillMutationRoot,
    HumanInputMutationRoot,
    AgentRunMutationRoot,
)
SUBSCRIPTION_ROOTS: tuple[type, ...] = (ExecutionSubscriptionRoot,)

MAX_DEPTH = 10
MAX_ALIASES = 30
MAX_TOKENS = 4000


class AgentloomSchema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        # Every error path (parse, validation, limits, resolvers) passes here, so the codes
        # are added here; expected errors are answers, not incidents, so they are not logged.
        for error in errors:
            annotate(error)
            if not isinstance(error.original_error, AgentloomError):
                log.debug("GraphQL error: %s", error.message)


def build_schema(*, production: bool = False) -> strawberry.Schema:
    query = merge_types("Query", QUERY_ROOTS)
    mutation = merge_types("Mutation", MUTATION_ROOTS)
    subscription: Any = (
        merge_types("Subscription", SUBSCRIPTION_ROOTS) if SUBSCRIPTION_ROOTS else None
    )
    return AgentloomSchema(
        query=query,
        mutation=mutation,
        subscription=subscription,
        extensions=[
            # Factories, so each request gets fresh extension instances (the caches are shared).
            lambda: QueryDepthLimiter(max_depth=MAX_DEPTH),
            lambda: MaxAliasesLimiter(max_alias_count=MAX_ALIASES),
            lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
            lambda: ParserCache(maxsize=256),
            lambda: ValidationCache(maxsize=256),
        ],
        config=StrawberryConfig(disable_field_suggestions=production),
        execution_context_class=SharedResultExecutor,
    )
