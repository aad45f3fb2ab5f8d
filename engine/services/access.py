"""How far a caller reaches: all of a user's objects, or only some of their workflows.

A workflow-scoped API key (`scopedWorkflowIds`) authenticates as its owner but
reaches only those workflows and what belongs to them (their runs, events, logs,
traces, human input requests). The check lives here and in the few service
methods every operation on those objects goes through (`WorkflowService.get` and
`find`, `ExecutionService.get`, `find` and `start_graph`, the run lookups, the
human input store), so no resolver, route or transport can forget it.

Everything else a user owns (data sources, credentials, knowledge bases, skills,
templates, uploads, analytics, outbound tools) is not part of any workflow: the
GraphQL context hands out the bare user id those services take only to callers
that are not limited (`graph.context.Context.user_id`), so a scoped key is
refused there (403) by construction, including by fields added later.

    Owner = str | Access
        str      a user id: the user's full reach (sessions, unscoped keys, the runtime)
        Access   a user id and, for a scoped key, the workflows it reaches
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.errors import NotFound


@dataclass(frozen=True, kw_only=True)
class Access:
    """Who asks, and which of their workflows they reach."""

    user_id: str
    workflow_ids: frozenset[str] | None = None
    """None: every workflow of the user; else only these (a scoped API key)."""

    @property
    def scoped(self) -> bool:
        return self.workflow_ids is not None

    def reaches(self, workflow_id: str | None) -> bool:
        """Whether a workflow (None: an ad-hoc graph, a goal) is within reach."""
        return self.workflow_ids is None or (
            workflow_id is not None and workflow_id in self.workflow_ids
        )

    def require(self, workflow_id: str | None) -> None:
        """Out of reach answers exactly like a missing workflow."""
        if not self.reaches(workflow_id):
            raise NotFound(
                f"Workflow {workflow_id} not found" if workflow_id else "Workflow not found"
            )


Owner = str | Access
"""What the workflow-scoped services take as their caller."""


def reach(owner: Owner) -> Access:
    return owner if isinstance(owner, Access) else Access(user_id=owner)


def user_of(owner: Owner) -> str:
    return owner.user_id if isinstance(owner, Access) else owner
