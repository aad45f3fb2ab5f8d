"""Background jobs that outlive the request that started them (knowledge ingests).

The server binds its long-lived task group while it runs and unbinds it when it
stops; a job started outside that window is refused before anything is stored,
rather than left waiting for a task group that never comes. Cancelling the
group at shutdown stops the jobs, each cleaning up after itself (an ingest
removes its partial chunks and marks its file failed).
"""

from __future__ import annotations

from anyio.abc import TaskGroup

from engine.errors import UpstreamFailed


class BackgroundJobs:
    """Where jobs run: the server's task group, once bound."""

    def __init__(self) -> None:
        self._group: TaskGroup | None = None

    def bind(self, group: TaskGroup | None) -> None:
        """Jobs started from now on run in `group`; None refuses new ones."""
        self._group = group

    @property
    def accepting(self) -> bool:
        return self._group is not None

    def group(self) -> TaskGroup:
        """The task group to start a job in, or `UpstreamFailed` while starting or stopping."""
        if self._group is None:
            raise UpstreamFailed("the server is starting or stopping; try again in a moment")
        return self._group
