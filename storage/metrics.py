"""Prometheus metrics (prometheus_client), one registry per app, served at `/metrics`.

Implements the engine's `RunMetrics` port and the HTTP side the request
middleware reports to. Names (counters get `_total` in the exposition):

| metric | labels | what |
|---|---|---|
| `agentloom_http_requests_total` | protocol, method, route, status | requests and WebSocket sessions (`method="WS"`), by route *template* |
| `agentloom_http_request_duration_seconds` | protocol, method, route | histogram; a stream or session counts until it ends |
| `agentloom_runs_started_total` | | runs that published `run_started` in this process |
| `agentloom_runs_finished_total` | status | completed / failed / cancelled |
| `agentloom_run_duration_seconds` | status | histogram of finished runs |
| `agentloom_events_persisted_total` | | run events written to the event log |
| `agentloom_llm_tokens_total` | provider, model, kind | `kind` = prompt / completion, from finished runs' usage |
| `agentloom_llm_cost_usd_total` | provider, model | estimated cost of those tokens (priced models) |
| `agentloom_live_subscribers` | | live event subscribers in this process |
| `agentloom_executions` | status | pending and running executions in the database (read at scrape) |
| `agentloom_request_log_buffered` | | request log records waiting to be written |
| `agentloom_request_log_dropped_total` | | records dropped because the buffer was full |

A separate registry per app (not the process-global default) keeps several
apps in one process (the tests) from sharing or clashing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import anyio
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from engine.events import ExecutionEvent
from engine.services.request_log import RequestLogWriter
from storage.documents import ExecutionDocument

log = logging.getLogger(__name__)

CONTENT_TYPE = CONTENT_TYPE_LATEST
HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)
RUN_BUCKETS = (0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0)
TERMINAL_STATUS = {
    "run_finished": "completed",
    "run_failed": "failed",
    "run_cancelled": "cancelled",
}
LIVE_STATUSES = ("pending", "running")


class _Callbacks(Collector):
    """Values read when scraped (cheaper than keeping a gauge up to date on every change)."""

    def __init__(self) -> None:
        self.gauges: list[tuple[str, str, Callable[[], float]]] = []
        self.counters: list[tuple[str, str, Callable[[], float]]] = []

    def collect(self) -> Iterable[Metric]:
        for name, doc, read in self.gauges:
            yield GaugeMetricFamily(name, doc, value=read())
        for name, doc, read in self.counters:
            yield CounterMetricFamily(name, doc, value=read())


class PrometheusMetrics:
    """The app's metrics (see the module doc)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        registry = self.registry
        self.http_requests = Counter(
            "agentloom_http_requests",
            "HTTP requests and WebSocket sessions, by API surface, method, route template "
            "and status.",
            ["protocol", "method", "route", "status"],
            registry=registry,
        )
        self.http_duration = Histogram(
            "agentloom_http_request_duration_seconds",
            "Time to the last byte of the response (the whole session for streams and sockets).",
            ["protocol", "method", "route"],
            buckets=HTTP_BUCKETS,
            registry=registry,
        )
        self.runs_started = Counter(
            "agentloom_runs_started", "Runs started in this process.", registry=registry
        )
        self.runs_finished = Counter(
            "agentloom_runs_finished",
            "Runs ended in this process, by final status.",
            ["status"],
            registry=registry,
        )
        self.run_duration = Histogram(
            "agentloom_run_duration_seconds",
            "Duration of finished runs.",
            ["status"],
            buckets=RUN_BUCKETS,
            registry=registry,
        )
        self.events_persisted = Counter(
            "agentloom_events_persisted", "Run events written to the event log.", registry=registry
        )
        self.llm_tokens = Counter(
            "agentloom_llm_tokens",
            "LLM tokens used by runs that ended, by provider, model and kind (prompt, completion).",
            ["provider", "model", "kind"],
            registry=registry,
        )
        self.llm_cost = Counter(
            "agentloom_llm_cost_usd",
            "Estimated cost in US dollars of those tokens (models with a known price).",
            ["provider", "model"],
            registry=registry,
        )
        self.executions = Gauge(
            "agentloom_executions",
            "Pending and running executions in the database (read when scraped).",
            ["status"],
            registry=registry,
        )
        self._callbacks = _Callbacks()
        registry.register(self._callbacks)
        self._http_children: dict[tuple[str, str, str, int], tuple[Any, Any]] = {}

    # -- what is read at scrape time ----------------------------------------------------------

    def gauge(self, name: str, doc: str, read: Callable[[], float]) -> None:
        """Expose `read()` as a gauge."""
        self._callbacks.gauges.append((name, doc, read))

    def counter(self, name: str, doc: str, read: Callable[[], float]) -> None:
        """Expose `read()` (a number that only grows) as a counter."""
        self._callbacks.counters.append((name, doc, read))

    async def refresh(self, *, timeout_s: float = 1.0) -> None:
        """Read the database-backed gauges; a slow or absent database keeps the last values."""
        try:
            with anyio.fail_after(timeout_s):
                collection = ExecutionDocument.get_pymongo_collection()
                for status in LIVE_STATUSES:
                    count = await collection.count_documents({"status": status})
                    self.executions.labels(status).set(count)
        except anyio.get_cancelled_exc_class():
            raise
        except Exception:  # a scrape must answer even when the database does not
            log.debug("could not count executions for /metrics", exc_info=True)

    def watch(
        self, *, subscribers: Callable[[], int], request_log: RequestLogWriter | None
    ) -> None:
        """Expose the live subscriber count and the request log buffer's state."""
        self.gauge(
            "agentloom_live_subscribers",
            "Live event subscribers in this process.",
            lambda: float(subscribers()),
        )
        if request_log is not None:
            self.gauge(
                "agentloom_request_log_buffered",
                "Request log records waiting to be written.",
                lambda: float(request_log.buffered),
            )
            self.counter(
                "agentloom_request_log_dropped",
                "Request log records dropped because the buffer was full.",
                lambda: float(request_log.dropped),
            )

    def exposition(self) -> bytes:
        return generate_latest(self.registry)

    async def scrape(self) -> bytes:
        """Refresh the database-backed gauges, then the whole exposition."""
        await self.refresh()
        return self.exposition()

    # -- the request middleware's side --------------------------------------------------------

    def observe_request(
        self, *, protocol: str, method: str, route: str, status: int, seconds: float
    ) -> None:
        key = (protocol, method, route, status)
        children = self._http_children.get(key)
        if children is None:
            # `.labels()` costs microseconds per call; the label sets are few (route
            # templates, not paths), so each pair of children is looked up once.
            children = self._http_children[key] = (
                self.http_requests.labels(protocol, method, route, str(status)),
                self.http_duration.labels(protocol, method, route),
            )
        children[0].inc()
        children[1].observe(seconds)

    # -- the engine's RunMetrics port ---------------------------------------------------------

    def events_stored(self, batch: Sequence[ExecutionEvent]) -> None:
        self.events_persisted.inc(len(batch))
        for event in batch:
            if event.type == "run_started":
                self.runs_started.inc()
            elif event.type in TERMINAL_STATUS:
                self._run_ended(TERMINAL_STATUS[event.type], event.data)

    def _run_ended(self, status: str, data: dict[str, Any]) -> None:
        self.runs_finished.labels(status).inc()
        elapsed = data.get("execution_time_ms")
        if isinstance(elapsed, int | float):
            self.run_duration.labels(status).observe(elapsed / 1000)
        usage = data.get("usage")
        if not isinstance(usage, dict):
            return
        for entry in usage.get("by_model") or ():
            provider, model = str(entry.get("provider")), str(entry.get("model"))
            self.llm_tokens.labels(provider, model, "prompt").inc(entry.get("prompt_tokens") or 0)
            self.llm_tokens.labels(provider, model, "completion").inc(
                entry.get("completion_tokens") or 0
            )
            if isinstance(entry.get("cost"), int | float):
                self.llm_cost.labels(provider, model).inc(entry["cost"])
