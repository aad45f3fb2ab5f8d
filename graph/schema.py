"""The root schema: each domain's roots merged, with the hardening extensions."""

from __future__ import annotations

import logging
from functools import cache
from typing import Any

import strawberry
from graphql import GraphQLError
from graphql.validation import ASTValidationRule
from strawberry.extensions import (
    AddValidationRules,
    MaxTokensLimiter,
    ParserCache,
    ValidationCache,
)
from strawberry.extensions.max_aliases import create_validator as alias_validator
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext

from engine.errors import AgentloomError
from graph.accounts import AccountMutation, AccountQuery, UserType
from graph.agent_runs import AgentRunMutationRoot
from graph.analytics import AnalyticsQueryRoot
from graph.builders import BuilderMutationRoot, BuilderQueryRoot, BuilderSubscriptionRoot
from graph.context import Context
from graph.credential_watch import guarded, recheck_seconds
from graph.datasources import DataSourceMutationRoot, DataSourceQueryRoot, DataSourceType
from graph.depth_limit import depth_rule
from graph.discovery import DiscoveryMutationRoot
from graph.errors import annotate
from graph.executions import (
    ExecutionMutationRoot,
    ExecutionQueryRoot,
    ExecutionSubscriptionRoot,
    ExecutionType,
)
from graph.human_input import HumanInputMutationRoot, HumanInputQueryRoot
from graph.knowledge import (
    KnowledgeMutationRoot,
    KnowledgeQueryRoot,
    KnowledgeSubscriptionRoot,
)
from graph.nodes import NodeQueryRoot
from graph.secrets import SecretsMutationRoot, SecretsQueryRoot
from graph.shared_results import SharedResultExecutor
from graph.skills import SkillMutationRoot, SkillQueryRoot
from graph.traces import TraceQueryRoot
from graph.uploads import UploadMutationRoot
from graph.workflows import TemplateType, WorkflowMutationRoot, WorkflowQueryRoot, WorkflowType

log = logging.getLogger("agentloom.graphql")

QUERY_ROOTS: tuple[type, ...] = (
    AccountQuery,
    NodeQueryRoot,
    WorkflowQueryRoot,
    ExecutionQueryRoot,
    DataSourceQueryRoot,
    KnowledgeQueryRoot,
    SecretsQueryRoot,
    SkillQueryRoot,
    TraceQueryRoot,
    HumanInputQueryRoot,
    AnalyticsQueryRoot,
    BuilderQueryRoot,
)
MUTATION_ROOTS: tuple[type, ...] = (
    AccountMutation,
    WorkflowMutationRoot,
    ExecutionMutationRoot,
    DataSourceMutationRoot,
    KnowledgeMutationRoot,
    SecretsMutationRoot,
    SkillMutationRoot,
    HumanInputMutationRoot,
    AgentRunMutationRoot,
    UploadMutationRoot,
    DiscoveryMutationRoot,
    BuilderMutationRoot,
)
SUBSCRIPTION_ROOTS: tuple[type, ...] = (
    ExecutionSubscriptionRoot,
    BuilderSubscriptionRoot,
    KnowledgeSubscriptionRoot,
)

MAX_DEPTH = 10
MAX_ALIASES = 30
MAX_TOKENS = 4000

# The limit rules are built once: strawberry's limiter extensions build a new rule class
# per instance (so per request), which made every request miss the validation cache.
LIMIT_RULES: list[type[ASTValidationRule]] = [
    depth_rule(MAX_DEPTH),  # introspection fields count too (graph/depth_limit.py)
    alias_validator(MAX_ALIASES),
]


class RequestLimits(AddValidationRules):
    """Depth and alias limits, with rule classes shared so validation results are cached."""

    def __init__(self) -> None:
        super().__init__(LIMIT_RULES)


class AgentloomSchema(strawberry.Schema):
    async def stream(self, *args: Any, **kwargs: Any) -> Any:
        # Every subscription stream (SSE routes, the seed WebSocket, GraphQL over SSE and
        # multipart) ends when its credential fails a periodic re-check; the GraphQL
        # WebSockets re-check per connection instead (graph/credential_watch.py).
        results = await super().stream(*args, **kwargs)
        context = kwargs.get("context_value")
        if isinstance(context, Context) and not context.watched and context.has_credential():
            return guarded(results, context, recheck_seconds(context))
        return results

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        # Every error path (parse, validation, limits, resolvers) passes here, so the codes
        # are added here; expected errors are answers, not incidents, so they are not logged.
        for error in errors:
            annotate(error)
            if not isinstance(error.original_error, AgentloomError):
                log.debug("GraphQL error: %s", error.message)


@cache
def build_schema(*, production: bool = False) -> strawberry.Schema:
    """The schema, built once per process and flavour: it holds no per-app state (each
    request gets its own extension instances and its context from the app), and building
    it (30-50 ms of CPU) was 4.8% of the test suite's samples, every app paying again."""
    query = merge_types("Query", QUERY_ROOTS)
    mutation = merge_types("Mutation", MUTATION_ROOTS)
    subscription: Any = (
        merge_types("Subscription", SUBSCRIPTION_ROOTS) if SUBSCRIPTION_ROOTS else None
    )
    schema = AgentloomSchema(
        types=[WorkflowType, ExecutionType, TemplateType, DataSourceType, UserType],
        query=query,
        mutation=mutation,
        subscription=subscription,
        extensions=[
            # Factories, so each request gets fresh extension instances (the caches are shared).
            RequestLimits,
            lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
            lambda: ParserCache(maxsize=256),
            lambda: ValidationCache(maxsize=256),
        ],
        config=StrawberryConfig(disable_field_suggestions=production),
        execution_context_class=SharedResultExecutor,
    )
    _describe_roots(schema)
    return schema


def _describe_roots(schema: strawberry.Schema) -> None:
    """Descriptions for what strawberry builds itself: the roots, and `input` arguments."""
    core = schema._schema
    assert core.query_type is not None
    core.query_type.description = "Read the caller's objects; lookups by id are null when missing."
    if core.mutation_type is not None:
        core.mutation_type.description = (
            "Change things; each takes one `input` and answers a payload with `userErrors`."
        )
        for field in core.mutation_type.fields.values():
            argument = field.args.get("input")
            if argument is not None and not argument.description:
                argument.description = "What to do (see the input type's fields)."
    if core.subscription_type is not None:
        core.subscription_type.description = (
            "Follow runs live (every event once, in order), and streamed builds."
        )
