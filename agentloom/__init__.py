"""agentloom: a GraphQL-first server for low-code AI agent workflows.

- `agentloom.cli`: the `agentloom` command (serve, worker, export-schema);
- `agentloom.settings`: every `AGENTLOOM_*` setting;
- `agentloom.runtime`: storage, services and the run host wired together (what a worker runs);
- `agentloom.app`: the composition root of the server (the runtime, the schema, the ASGI app).

The composition is imported on first use of one of its names here, not with the
package: the command answers `--help` or a bad setting without loading the server.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from agentloom.settings import Settings

VERSION = "0.1.0"

if TYPE_CHECKING:
    from agentloom.app import create_app, export_schema
    from agentloom.cli import main
    from agentloom.runtime import build_runtime, run_worker, vector_store

_LAZY = {
    "build_runtime": "agentloom.runtime",
    "create_app": "agentloom.app",
    "export_schema": "agentloom.app",
    "run_worker": "agentloom.runtime",
    "vector_store": "agentloom.runtime",
    "main": "agentloom.cli",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'agentloom' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)


__all__ = [
    "VERSION",
    "Settings",
    "build_runtime",
    "create_app",
    "export_schema",
    "main",
    "run_worker",
    "vector_store",
]
