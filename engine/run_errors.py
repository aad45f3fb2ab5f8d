"""Errors raised while a workflow runs, on top of `engine.errors`.

AgentloomError (engine.errors)
├── ValidationFailed
│   ├── WorkflowInvalid        the graph failed validation; `details` = errors
│   ├── NodeConfigInvalid      a node's config cannot be used as given
│   └── ProviderNotConfigured  an LLM provider has no key / base URL
└── UpstreamFailed
    ├── NodeFailed             a node failed; wraps the cause, names the node
    ├── NodeTimedOut           a node exceeded its time limit
    ├── RunTimedOut            the whole run exceeded its time limit
    ├── CodeFailed             a code node's JavaScript threw
    │   ├── CodeTimedOut       ... or ran past its time limit
    │   └── CodeMemoryExceeded ... or past its memory limit
    └── HumanInputUnavailable  a human node ran without a broker
"""

from __future__ import annotations

from engine.errors import UpstreamFailed, ValidationFailed


class WorkflowInvalid(ValidationFailed):
    """The workflow did not pass validation."""


class NodeConfigInvalid(ValidationFailed):
    """A node's configuration is unusable at run time."""


class ProviderNotConfigured(ValidationFailed):
    """An LLM provider has no API key or base URL configured."""


class NodeFailed(UpstreamFailed):
    """A node failed; the message names the node, `__cause__` is the original error."""

    def __init__(self, message: str, *, node_id: str, error_type: str) -> None:
        super().__init__(message, field=node_id)
        self.node_id = node_id
        self.error_type = error_type


class NodeTimedOut(UpstreamFailed):
    """A node ran longer than its timeout."""


class RunTimedOut(UpstreamFailed):
    """The run ran longer than its timeout."""


class CodeFailed(UpstreamFailed):
    """JavaScript in a code node raised an error."""


class CodeTimedOut(CodeFailed):
    """JavaScript in a code node exceeded its time limit."""


class CodeMemoryExceeded(CodeFailed):
    """JavaScript in a code node exceeded its memory limit."""


class HumanInputUnavailable(UpstreamFailed):
    """No human input broker is configured for this run."""
