"""Analytics over GraphQL: the usage summary, the request log, and an execution's cost.

`analytics(from, to, userId)` and `requestLogs(from, to, protocol, first,
after, userId)` call `engine.services.analytics`; a user sees their own,
`userId` of someone else needs role `admin` (`FORBIDDEN` otherwise). The
`Execution` type's `cost` and `usageByModel` fields resolve here too, from
the execution's `usage` (see `engine.usage`).
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any

import strawberry

from engine.errors import ValidationFailed
from engine.services.analytics import (
    DEFAULT_LIMIT,
    AnalyticsSummary,
    ModelCost,
    WorkflowRuns,
)
from engine.services.request_log import RequestCount, RequestRecord
from graph.context import Context
from graph.conventions import PageInfo, connection_type

if TYPE_CHECKING:
    from graph.executions import ExecutionStatus

Info = strawberry.Info[Context, None]


# -- enums ---------------------------------------------------------------------------------------


@strawberry.enum(description="The API surface a request or session came through.")
class RequestProtocol(Enum):
    GRAPHQL = strawberry.enum_value("graphql", description="`/graphql` over HTTP or WebSocket.")
    REST_V1 = strawberry.enum_value("rest-v1", description="The seed 000 REST API under `/api/v1`.")
    REST = strawberry.enum_value(
        "rest", description="The seed 003 REST API under `/api` and the other HTTP routes."
    )
    AG_UI = strawberry.enum_value("ag-ui", description="The AG-UI SSE endpoints (`/ag-ui...`).")
    WS = strawberry.enum_value(
        "ws", description="The seed 000 execution WebSocket (`/api/v1/ws/executions/{id}`)."
    )


@strawberry.enum(description="How the response travelled.")
class RequestTransport(Enum):
    HTTP = strawberry.enum_value("http", description="One HTTP response.")
    SSE = strawberry.enum_value("sse", description="A server-sent event stream.")
    WEBSOCKET = strawberry.enum_value("websocket", description="A WebSocket session.")


@strawberry.enum(description="The class of an HTTP status code.")
class StatusClass(Enum):
    INFORMATIONAL = strawberry.enum_value(
        "1xx", description="1xx: a WebSocket session that was accepted (101)."
    )
    SUCCESS = strawberry.enum_value("2xx", description="2xx: success.")
    REDIRECTION = strawberry.enum_value("3xx", description="3xx: redirection.")
    CLIENT_ERROR = strawberry.enum_value("4xx", description="4xx: the client's error.")
    SERVER_ERROR = strawberry.enum_value("5xx", description="5xx: the server's error.")
    OTHER = strawberry.enum_value("other", description="Any other code.")


def _status_class(value: str) -> StatusClass:
    try:
        return StatusClass(value)
    except ValueError:
        return StatusClass.OTHER


# -- an execution's usage ------------------------------------------------------------------------


@strawberry.type(description="Tokens and estimated cost of one provider and model in a run.")
class ModelUsage:
    provider: str = strawberry.field(description="The LLM provider (`openai`, `deepseek`...).")
    model: str = strawberry.field(description="The model name as the node asked for it.")
    prompt_tokens: int = strawberry.field(description="Input tokens, as the provider reported.")
    completion_tokens: int = strawberry.field(description="Output tokens.")
    total_tokens: int = strawberry.field(description="Input plus output tokens.")
    cost: float | None = strawberry.field(
        description="Estimated US dollars from the price table; null when the model has no "
        "known price."
    )


def _usage_of(root: Any) -> dict[str, Any]:
    usage = getattr(root, "usage", None)
    return usage if isinstance(usage, dict) else {}


def execution_cost(root: strawberry.Parent[Any]) -> float | None:
    """The `Execution.cost` resolver."""
    cost = _usage_of(root).get("cost")
    return float(cost) if isinstance(cost, int | float) else None


def execution_usage_by_model(root: strawberry.Parent[Any]) -> list[ModelUsage]:
    """The `Execution.usageByModel` resolver."""
    return [
        ModelUsage(
            provider=str(entry.get("provider", "")),
            model=str(entry.get("model", "")),
            prompt_tokens=int(entry.get("prompt_tokens") or 0),
            completion_tokens=int(entry.get("completion_tokens") or 0),
            total_tokens=int(entry.get("total_tokens") or 0),
            cost=entry.get("cost") if isinstance(entry.get("cost"), int | float) else None,
        )
        for entry in _usage_of(root).get("by_model") or ()
        if isinstance(entry, dict)
    ]


COST_DESCRIPTION = (
    "Estimated cost of the run's LLM calls in US dollars (priced models only); null "
    "until the run ends."
)
USAGE_BY_MODEL_DESCRIPTION = "The run's tokens and estimated cost per provider and model."


# -- the summary ---------------------------------------------------------------------------------


@strawberry.type(description="Requests of one API surface and status class.")
class RequestCountType:
    protocol: RequestProtocol = strawberry.field(description="The API surface.")
    status_class: StatusClass = strawberry.field(description="The status class.")
    count: int = strawberry.field(description="How many requests or sessions.")

    @classmethod
    def of(cls, c: RequestCount) -> RequestCountType:
        return cls(
            protocol=RequestProtocol(c.protocol),
            status_class=_status_class(c.status_class),
            count=c.count,
        )


@strawberry.type(description="The requests of a window.")
class RequestAnalytics:
    total: int = strawberry.field(description="Requests and sessions in the window.")
    error_rate: float = strawberry.field(description="Share answered 5xx (0 to 1).")
    client_error_rate: float = strawberry.field(description="Share answered 4xx (0 to 1).")
    by_protocol: list[RequestCountType] = strawberry.field(
        description="Counts by API surface and status class."
    )


@strawberry.type(description="Runs with one status.")
class RunStatusCount:
    # Lazy: graph.executions imports this module (for an execution's cost fields).
    status: Annotated[ExecutionStatus, strawberry.lazy("graph.executions")] = strawberry.field(
        description="The runs' status."
    )
    count: int = strawberry.field(description="How many runs.")


@strawberry.type(description="The runs created in a window.")
class RunAnalytics:
    total: int = strawberry.field(description="Runs created in the window.")
    by_status: list[RunStatusCount] = strawberry.field(description="Runs by current status.")
    failure_rate: float = strawberry.field(
        description="Failed runs over finished (completed, failed, cancelled) runs, 0 to 1."
    )
    duration_p50_ms: float | None = strawberry.field(
        description="Median duration of the finished runs, milliseconds (nearest rank)."
    )
    duration_p95_ms: float | None = strawberry.field(
        description="95th percentile duration of the finished runs, milliseconds."
    )


@strawberry.type(description="Tokens and estimated cost of one provider and model in a window.")
class ModelUsageSummary:
    provider: str = strawberry.field(description="The LLM provider.")
    model: str = strawberry.field(description="The model name.")
    prompt_tokens: int = strawberry.field(description="Input tokens.")
    completion_tokens: int = strawberry.field(description="Output tokens.")
    total_tokens: int = strawberry.field(description="Input plus output tokens.")
    cost: float = strawberry.field(description="Estimated US dollars (0 when unpriced).")
    priced: bool = strawberry.field(
        description="False when the price table does not know this model: `cost` leaves it out."
    )
    runs: int = strawberry.field(description="Runs that used it.")

    @classmethod
    def of(cls, m: ModelCost) -> ModelUsageSummary:
        return cls(
            provider=m.provider,
            model=m.model,
            prompt_tokens=m.prompt_tokens,
            completion_tokens=m.completion_tokens,
            total_tokens=m.total_tokens,
            cost=m.cost,
            priced=m.priced,
            runs=m.runs,
        )


@strawberry.type(description="LLM usage of the runs created in a window.")
class UsageAnalytics:
    prompt_tokens: int = strawberry.field(description="Input tokens.")
    completion_tokens: int = strawberry.field(description="Output tokens.")
    total_tokens: int = strawberry.field(description="Input plus output tokens.")
    cost: float = strawberry.field(description="Estimated US dollars (priced models).")
    by_model: list[ModelUsageSummary] = strawberry.field(
        description="By provider and model, most tokens first."
    )


@strawberry.type(description="Runs of one workflow in a window.")
class WorkflowAnalytics:
    workflow_id: strawberry.ID | None = strawberry.field(
        description="The workflow; null for ad-hoc runs (AG-UI graphs, goals)."
    )
    workflow_name: str = strawberry.field(description="Its name when the run started.")
    runs: int = strawberry.field(description="Runs created in the window.")
    failed: int = strawberry.field(description="Of which failed.")
    total_tokens: int = strawberry.field(description="LLM tokens of those runs.")
    cost: float = strawberry.field(description="Their estimated cost, US dollars.")

    @classmethod
    def of(cls, w: WorkflowRuns) -> WorkflowAnalytics:
        return cls(
            workflow_id=strawberry.ID(w.workflow_id) if w.workflow_id else None,
            workflow_name=w.workflow_name,
            runs=w.runs,
            failed=w.failed,
            total_tokens=w.total_tokens,
            cost=w.cost,
        )


@strawberry.type(name="AnalyticsSummary", description="Usage figures of one user over a window.")
class AnalyticsSummaryType:
    from_: datetime = strawberry.field(name="from", description="Start of the window (included).")
    to: datetime = strawberry.field(description="End of the window (excluded).")
    user_id: strawberry.ID = strawberry.field(description="Whose figures these are.")
    requests: RequestAnalytics = strawberry.field(description="Requests by surface and status.")
    runs: RunAnalytics = strawberry.field(description="Runs by status, failure rate, durations.")
    usage: UsageAnalytics = strawberry.field(description="Tokens and cost by provider and model.")
    top_workflows: list[WorkflowAnalytics] = strawberry.field(
        description="The most-run workflows (at most 5)."
    )

    @classmethod
    def of(cls, s: AnalyticsSummary) -> AnalyticsSummaryType:
        from graph.executions import ExecutionStatus  # a cycle at import time

        return cls(
            from_=s.since,
            to=s.until,
            user_id=strawberry.ID(s.user_id),
            requests=RequestAnalytics(
                total=s.total_requests,
                error_rate=s.error_rate,
                client_error_rate=s.client_error_rate,
                by_protocol=[RequestCountType.of(c) for c in s.requests],
            ),
            runs=RunAnalytics(
                total=s.total_runs,
                by_status=[
                    RunStatusCount(status=ExecutionStatus(k), count=v)
                    for k, v in s.runs_by_status.items()
                ],
                failure_rate=s.run_failure_rate,
                duration_p50_ms=s.duration_p50_ms,
                duration_p95_ms=s.duration_p95_ms,
            ),
            usage=UsageAnalytics(
                prompt_tokens=s.prompt_tokens,
                completion_tokens=s.completion_tokens,
                total_tokens=s.total_tokens,
                cost=s.cost,
                by_model=[ModelUsageSummary.of(m) for m in s.models],
            ),
            top_workflows=[WorkflowAnalytics.of(w) for w in s.top_workflows],
        )


# -- the request log -----------------------------------------------------------------------------


@strawberry.type(description="One HTTP request or WebSocket/SSE session (no bodies, no secrets).")
class RequestLogEntry:
    request_id: strawberry.ID = strawberry.field(
        description="The request id (`X-Request-ID`, kept from the client or generated)."
    )
    time: datetime = strawberry.field(description="When it started.")
    method: str = strawberry.field(description="The HTTP method, or `WS` for a WebSocket.")
    path: str = strawberry.field(
        description="The route's path template (`/api/v1/executions/{execution_id}`); "
        "`<unmatched>` when no route matched."
    )
    protocol: RequestProtocol = strawberry.field(description="The API surface.")
    transport: RequestTransport = strawberry.field(description="HTTP, SSE or WebSocket.")
    status: int = strawberry.field(
        description="The response status; 101 for an accepted WebSocket, 403 for a refused one."
    )
    duration_ms: float = strawberry.field(
        description="Milliseconds to the last byte (the whole stream or session)."
    )
    user_id: strawberry.ID | None = strawberry.field(
        description="Who was authenticated (the key's owner for an API key); null if nobody."
    )
    api_key_id: strawberry.ID | None = strawberry.field(
        description="The API key that authenticated the request, if one did."
    )

    @classmethod
    def of(cls, r: RequestRecord) -> RequestLogEntry:
        return cls(
            request_id=strawberry.ID(r.request_id),
            time=r.time,
            method=r.method,
            path=r.path,
            protocol=RequestProtocol(r.protocol),
            transport=RequestTransport(r.transport),
            status=r.status,
            duration_ms=r.duration_ms,
            user_id=strawberry.ID(r.user_id) if r.user_id else None,
            api_key_id=strawberry.ID(r.api_key_id) if r.api_key_id else None,
        )


# The schema's connection shape (graph/conventions.py); its cursors here are keyset cursors
# (a record's time and request id), so a page stays put while newer requests are logged.
RequestLogConnection = connection_type(RequestLogEntry, "RequestLog", "request log record")


def _cursor(record: RequestRecord) -> str:
    raw = f"{record.time.isoformat()}|{record.request_id}"
    return base64.urlsafe_b64encode(raw.encode()).decode()


def _after(cursor: str | None) -> tuple[datetime, str] | None:
    if cursor is None:
        return None
    try:
        moment, request_id = base64.urlsafe_b64decode(cursor.encode()).decode().split("|", 1)
        return datetime.fromisoformat(moment), request_id
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ValidationFailed("after is not a cursor of this list", field="after") from None


# -- roots ---------------------------------------------------------------------------------------

FromArgument = Annotated[
    datetime | None,
    strawberry.argument(
        name="from", description="Start of the window (default: 24 hours before `to`)."
    ),
]
ToArgument = Annotated[
    datetime | None, strawberry.argument(description="End of the window (default: now).")
]
UserArgument = Annotated[
    strawberry.ID | None,
    strawberry.argument(
        description="Whose figures (default: yours); another user's needs role admin."
    ),
]


@strawberry.type
class AnalyticsQueryRoot:
    @strawberry.field(
        description="Usage figures of a window: requests, runs, tokens and cost, top workflows."
    )
    async def analytics(
        self,
        info: Info,
        from_: FromArgument = None,
        to: ToArgument = None,
        user_id: UserArgument = None,
    ) -> AnalyticsSummaryType:
        await info.context.user_id()  # the whole account's figures: not for a scoped key
        viewer = await info.context.viewer()
        summary = await info.context.services.analytics.summary(
            viewer_id=viewer.user_id,
            viewer_role=viewer.role,
            user_id=user_id,
            since=from_,
            until=to,
        )
        return AnalyticsSummaryType.of(summary)

    @strawberry.field(description="The request log of a window, newest first.")
    async def request_logs(
        self,
        info: Info,
        from_: FromArgument = None,
        to: ToArgument = None,
        protocol: Annotated[
            RequestProtocol | None,
            strawberry.argument(description="Only this API surface."),
        ] = None,
        first: Annotated[
            int,
            strawberry.argument(
                description="Page size, 1 to 1000 (seed 003's log limit; larger than other lists)."
            ),
        ] = DEFAULT_LIMIT,
        after: Annotated[
            str | None, strawberry.argument(description="The cursor to continue after.")
        ] = None,
        user_id: UserArgument = None,
    ) -> RequestLogConnection:
        await info.context.user_id()  # the whole account's figures: not for a scoped key
        viewer = await info.context.viewer()
        page = await info.context.services.analytics.request_logs(
            viewer_id=viewer.user_id,
            viewer_role=viewer.role,
            user_id=user_id,
            since=from_,
            until=to,
            protocol=str(protocol.value) if protocol is not None else None,
            limit=first,
            before=_after(after),
            limit_field="first",
        )
        nodes = [RequestLogEntry.of(r) for r in page.records]
        cursors = [_cursor(r) for r in page.records]
        return RequestLogConnection(
            edges=[
                RequestLogConnection.Edge(cursor=c, node=n)
                for c, n in zip(cursors, nodes, strict=True)
            ],
            nodes=nodes,
            page_info=PageInfo(
                has_next_page=page.has_more,
                has_previous_page=after is not None,
                start_cursor=cursors[0] if cursors else None,
                end_cursor=cursors[-1] if cursors else None,
            ),
            total_count=page.total,
        )
