"""How a run is stopped without finishing, and when it may leave its process.

A run stops in one of three ways, each with its own ending:

    cancel    a user's cancel: `run_cancelled`, status `cancelled`
    suspend   the run leaves this process without ending (a shutdown, or every
              running node waits for a person): `run_suspended`; another process
              resumes it from its log
    abandon   another process owns the run now (its lease was taken over): the
              runner stops and writes nothing more

`RunControl` also knows what the run's nodes are doing: how many run
(`active`, loops not counted: they only wait on their bodies) and how many of
those are parked (a human node waiting for its answer, or a node held at the
gate while the process drains). When every running node is parked, the run
has nothing to do here: `watch()` suspends it, at once while draining, after
`release_waits_after_s` when it waits for people (so an answer given within
that moment continues the run without a round trip through the database).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Literal

import anyio

StopMode = Literal["cancel", "suspend", "abandon"]
Wait = tuple[str, str]
"""One human node execution's wait: its node id and its loop iteration path (`key`)."""
_PRECEDENCE: dict[StopMode, int] = {"suspend": 0, "cancel": 1, "abandon": 2}
SHUTDOWN = "shutdown"
WAITING_FOR_INPUT = "waiting_for_input"


class RunControl:
    def __init__(self, *, release_waits_after_s: float | None = None) -> None:
        self.scope = anyio.CancelScope()
        self.mode: StopMode | None = None
        self.reason = ""
        self.draining = False
        self.release_waits_after_s = release_waits_after_s
        """None: a run waiting for people stays here (the engine's default)."""
        self.active = 0
        self.parked = 0
        self.waiting: Counter[Wait] = Counter()
        """Human node executions waiting for their answer (how many of each wait)."""
        self.waited: list[str] = []
        """The human nodes that were waiting when the run was stopped."""
        self.cut_waits: tuple[Wait, ...] = ()
        """The waits the stop cut, with their keys. A cut wait may already have taken its
        answer (the node read it just before the stop): the host must not leave the run
        waiting for an answer that was given."""
        self._changed = anyio.Event()

    def stop(self, mode: StopMode, reason: str = "") -> None:
        """End the run's work now; a stronger mode overrides a weaker one (abandon > cancel >
        suspend): a user's cancel during a shutdown still ends the run `cancelled`."""
        if self.mode is None or _PRECEDENCE[mode] > _PRECEDENCE[self.mode]:
            self.mode, self.reason = mode, reason
            # As it is now: the waits end (and leave `waiting`) as the scope cancels them.
            self.cut_waits = tuple(sorted(self.waiting))
            self.waited = sorted({node_id for node_id, _ in self.cut_waits})
        self.scope.cancel()

    def drain(self) -> None:
        """Start no more nodes; the run suspends once its running nodes are done or parked."""
        self.draining = True
        self._notify()

    def _notify(self) -> None:
        self._changed.set()
        self._changed = anyio.Event()

    @contextmanager
    def running(self) -> Iterator[None]:
        """Around one node execution (not a loop's, which only waits on its body)."""
        self.active += 1
        self._notify()
        try:
            yield
        finally:
            self.active -= 1
            self._notify()

    @asynccontextmanager
    async def waiting_for_input(self, node_id: str, key: str = "") -> AsyncIterator[None]:
        """Around a human node's wait (`key`: its loop iteration path): the run may leave
        the process meanwhile."""
        wait = (node_id, key)
        self.parked += 1
        self.waiting[wait] += 1
        self._notify()
        try:
            yield
        finally:
            self.parked -= 1
            self.waiting[wait] -= 1
            if not self.waiting[wait]:
                del self.waiting[wait]
            self._notify()

    async def hold(self) -> None:
        """A node about to start while the process drains: wait here until the run suspends.
        (Counted as a running node that is parked, loops included.)"""
        self.active += 1
        self.parked += 1
        self._notify()
        try:
            await anyio.sleep_forever()
        finally:
            self.active -= 1
            self.parked -= 1

    def idle_reason(self) -> str | None:
        """Why the run could leave now (every running node is parked), or None."""
        if self.parked == 0 or self.parked < self.active:
            return None
        return SHUTDOWN if self.draining else WAITING_FOR_INPUT

    async def watch(self) -> None:
        """Suspend the run once it has nothing to do here (see the module doc)."""
        while True:
            changed = self._changed
            reason = self.idle_reason()
            delay = 0.0 if reason == SHUTDOWN else self.release_waits_after_s
            if reason is None or delay is None:
                await changed.wait()
                continue
            with anyio.move_on_after(delay):
                await changed.wait()
            if changed.is_set():
                continue
            self.stop("suspend", reason)
            return
