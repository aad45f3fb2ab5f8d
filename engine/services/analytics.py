"""Usage analytics (seed 003 section 11): a summary of a window, and the request log.

Who may see what: a user sees their own figures and requests. Asking for
another user's (`user_id`) needs role `admin`; anyone else gets `Forbidden`
(the caller asked about someone else on purpose, so "missing" would mislead).

The summary of `[since, until)` (default: the last 24 hours) holds:
- requests by API surface and status class, and the error rates (5xx share,
  4xx share) from the request log;
- runs by status (by creation time), the failed share of finished runs, and
  the p50/p95 duration of finished runs (nearest-rank percentiles);
- tokens and estimated cost by provider and model, summed from the runs'
  `usage` (see `engine.usage`);
- the most-run workflows.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol

from engine.clock import utcnow
from engine.errors import Forbidden, ValidationFailed
from engine.services.request_log import (
    API_PROTOCOLS,
    RequestCount,
    RequestLogQuery,
    RequestLogStore,
    RequestRecord,
)

DEFAULT_WINDOW = timedelta(hours=24)
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
TOP_WORKFLOWS = 5
FINISHED_STATUSES = ("completed", "failed", "cancelled")


@dataclass(frozen=True, kw_only=True)
class ModelCost:
    """Tokens and estimated cost of one provider and model over a window's runs."""

    provider: str
    model: str
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    cost: float
    """US dollars; 0 when the model has no known price."""
    priced: bool
    """False when some of these tokens had no known price (the cost leaves them out)."""
    runs: int


@dataclass(frozen=True, kw_only=True)
class WorkflowRuns:
    """Runs of one workflow in a window."""

    workflow_id: str | None
    """None for ad-hoc runs (AG-UI graphs, goals)."""
    workflow_name: str
    runs: int
    failed: int
    total_tokens: int
    cost: float


@dataclass(frozen=True, kw_only=True)
class RunStats:
    """What the executions of a window add up to (a storage aggregate)."""

    by_status: dict[str, int]
    models: list[ModelCost]
    top_workflows: list[WorkflowRuns]
    durations_ms: list[int]
    """Durations of the finished runs (any order)."""


class RunStatsStore(Protocol):
    async def run_stats(
        self, *, owner_id: str, since: datetime, until: datetime, top: int
    ) -> RunStats:
        """Aggregate the owner's executions created in `[since, until)`."""
        ...


@dataclass(frozen=True, kw_only=True)
class AnalyticsSummary:
    since: datetime
    until: datetime
    user_id: str
    requests: list[RequestCount]
    total_requests: int
    error_rate: float
    """Share of requests answered 5xx (0 when there were none)."""
    client_error_rate: float
    """Share of requests answered 4xx."""
    runs_by_status: dict[str, int]
    total_runs: int
    run_failure_rate: float
    """Failed runs over finished runs (0 when none finished)."""
    duration_p50_ms: float | None
    duration_p95_ms: float | None
    models: list[ModelCost] = field(default_factory=list)
    top_workflows: list[WorkflowRuns] = field(default_factory=list)

    @property
    def prompt_tokens(self) -> int:
        return sum(m.prompt_tokens for m in self.models)

    @property
    def completion_tokens(self) -> int:
        return sum(m.completion_tokens for m in self.models)

    @property
    def total_tokens(self) -> int:
        return sum(m.total_tokens for m in self.models)

    @property
    def cost(self) -> float:
        return round(sum(m.cost for m in self.models), 10)


@dataclass(frozen=True, kw_only=True)
class RequestLogPage:
    records: list[RequestRecord]
    total: int
    has_more: bool


def percentile(values: Sequence[int], p: float) -> float | None:
    """Nearest-rank percentile (`p` in 0..100) of `values`; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return float(ordered[rank - 1])


class AnalyticsService:
    def __init__(
        self,
        *,
        requests: RequestLogStore,
        runs: RunStatsStore,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._requests = requests
        self._runs = runs
        self._clock = clock

    def subject(self, *, viewer_id: str, viewer_role: str, user_id: str | None) -> str:
        """Whose figures the viewer asks for; `Forbidden` for someone else unless admin."""
        if not user_id or user_id == viewer_id:
            return viewer_id
        if viewer_role != "admin":
            raise Forbidden("only an admin may see another user's analytics", field="userId")
        return user_id

    def window(
        self, since: datetime | None, until: datetime | None, *, since_field: str = "from"
    ) -> tuple[datetime, datetime]:
        """`[since, until)`, defaulting to the 24 hours up to now; naive times are UTC."""
        end = _utc(until) if until is not None else self._clock()
        start = _utc(since) if since is not None else end - DEFAULT_WINDOW
        if start >= end:
            raise ValidationFailed(f"{since_field} must be before to", field=since_field)
        return start, end

    async def summary(
        self,
        *,
        viewer_id: str,
        viewer_role: str,
        user_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> AnalyticsSummary:
        subject = self.subject(viewer_id=viewer_id, viewer_role=viewer_role, user_id=user_id)
        start, end = self.window(since, until)
        counts = await self._requests.counts(user_id=subject, since=start, until=end)
        stats = await self._runs.run_stats(
            owner_id=subject, since=start, until=end, top=TOP_WORKFLOWS
        )
        total = sum(c.count for c in counts)
        server_errors = sum(c.count for c in counts if c.status_class == "5xx")
        client_errors = sum(c.count for c in counts if c.status_class == "4xx")
        finished = sum(stats.by_status.get(s, 0) for s in FINISHED_STATUSES)
        return AnalyticsSummary(
            since=start,
            until=end,
            user_id=subject,
            requests=sorted(counts, key=lambda c: (c.protocol, c.status_class)),
            total_requests=total,
            error_rate=server_errors / total if total else 0.0,
            client_error_rate=client_errors / total if total else 0.0,
            runs_by_status=dict(sorted(stats.by_status.items())),
            total_runs=sum(stats.by_status.values()),
            run_failure_rate=stats.by_status.get("failed", 0) / finished if finished else 0.0,
            duration_p50_ms=percentile(stats.durations_ms, 50),
            duration_p95_ms=percentile(stats.durations_ms, 95),
            models=stats.models,
            top_workflows=stats.top_workflows,
        )

    async def request_logs(
        self,
        *,
        viewer_id: str,
        viewer_role: str,
        user_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        protocol: str | None = None,
        limit: int = DEFAULT_LIMIT,
        before: tuple[datetime, str] | None = None,
        limit_field: str = "limit",
    ) -> RequestLogPage:
        """The request log of the viewer (or, for an admin, of `user_id`), newest first."""
        subject = self.subject(viewer_id=viewer_id, viewer_role=viewer_role, user_id=user_id)
        if not 1 <= limit <= MAX_LIMIT:
            raise ValidationFailed(
                f"{limit_field} must be between 1 and {MAX_LIMIT}", field=limit_field
            )
        if protocol is not None and protocol not in API_PROTOCOLS:
            raise ValidationFailed(
                f"protocol must be one of {', '.join(API_PROTOCOLS)}", field="protocol"
            )
        start, end = self.window(since, until)
        query = RequestLogQuery(
            since=start,
            until=end,
            user_id=subject,
            protocol=protocol,
            limit=limit + 1,  # one more than asked: tells whether a next page exists
            before=before,
        )
        records = await self._requests.find(query)
        total = await self._requests.total(query)
        return RequestLogPage(records=records[:limit], total=total, has_more=len(records) > limit)


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
