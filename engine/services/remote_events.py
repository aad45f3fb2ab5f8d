"""Live events of runs recorded by other processes (workers), relayed to local subscribers.

A MongoDB change stream on the event log, opened only while somebody here
follows a run this process is not recording, and filtered by the database to
other writers' events (our own are published by our recorder as they are
stored). After an error the stream is reopened with backoff, resuming after
the last token it delivered, so nothing is re-read and nothing is skipped;
meanwhile subscribers re-read the log every poll interval, so they never lose
an event, only some latency.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import anyio

from engine.services.broadcast import Broadcaster
from engine.services.stores import EventStore

log = logging.getLogger(__name__)


class RemoteEventRelay:
    def __init__(
        self,
        *,
        events: EventStore,
        broadcaster: Broadcaster,
        is_local: Callable[[str], bool],
        check_s: float = 0.5,
        idle_close_s: float = 30.0,
        max_backoff_s: float = 30.0,
    ) -> None:
        self._events = events
        self._broadcaster = broadcaster
        self._is_local = is_local
        self._check_s = check_s
        self._idle_close_s = idle_close_s
        self._max_backoff_s = max_backoff_s
        self._resume: Any = None
        self._interest = anyio.Event()
        self.failures = 0
        """Change-stream errors seen so far (each one logged, then retried)."""

    def notice(self, execution_id: str) -> None:
        """A subscriber here follows `execution_id`, which this process is not recording."""
        self._interest.set()

    def _wanted(self) -> bool:
        return any(not self._is_local(e) for e in self._broadcaster.watched())

    async def run_forever(self) -> None:
        first_backoff = min(0.5, self._max_backoff_s)
        backoff = first_backoff
        while True:
            self._interest = anyio.Event()  # replaced before the check: no notice is lost
            if not self._wanted():
                await self._interest.wait()
            try:
                await self._relay()
                backoff = first_backoff
            except anyio.get_cancelled_exc_class():
                raise
            except Exception:
                self.failures += 1
                log.warning(
                    "change stream on the event log failed; reopening in %.1fs "
                    "(subscribers re-read the log meanwhile)",
                    backoff,
                    exc_info=True,
                )
                await anyio.sleep(backoff)
                backoff = min(backoff * 2, self._max_backoff_s)

    async def _relay(self) -> None:
        """Relay until nobody has wanted remote events for `idle_close_s`."""
        idle_since: float | None = None
        stream = await self._events.watch(resume_after=self._resume, max_wait_s=self._check_s)
        try:
            while True:
                # Kept before waiting too: a stream that fails before its first event
                # reopens where it opened, not at "now".
                self._resume = stream.resume_token
                change = await stream.next_event()
                self._resume = stream.resume_token
                if change is not None:
                    event, _ = change
                    if not self._is_local(event.execution_id):
                        self._broadcaster.publish(event.execution_id, (event,))
                    continue
                if self._wanted():
                    idle_since = None
                    continue
                now = anyio.current_time()
                idle_since = now if idle_since is None else idle_since
                if now - idle_since > self._idle_close_s:
                    return
        finally:
            with anyio.CancelScope(shield=True):
                await stream.close()
