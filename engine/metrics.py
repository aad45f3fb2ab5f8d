"""The engine's metrics port: what the run machinery reports, and a no-op default.

The engine counts nothing itself and imports no metrics library: the
recorder hands each batch of events it has just stored to `RunMetrics`, and
an implementation outside the engine (`storage.metrics`, over
prometheus_client) turns them into counters. Everything else it needs (runs
started and finished, durations, tokens) is in the events themselves, so one
hook after each write is enough.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from engine.events import ExecutionEvent


class RunMetrics(Protocol):
    def events_stored(self, batch: Sequence[ExecutionEvent]) -> None:
        """`batch` (one run's events, in seq order) is now in the event log.

        Called in the run's task right after the write: it must be quick and must not raise.
        """
        ...


class NoMetrics:
    """Counts nothing (tests of the engine, processes without a metrics endpoint)."""

    def events_stored(self, batch: Sequence[ExecutionEvent]) -> None:
        return None


NO_METRICS: RunMetrics = NoMetrics()
