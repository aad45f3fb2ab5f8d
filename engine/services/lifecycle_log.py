"""One INFO line when a run starts and one when it ends, for operators.

    run started  id=... workflow=... (name)
    run ended    id=... workflow=... status=completed duration_ms=1234

The fields also travel as `extra` attributes (`execution_id`, `workflow_id`,
`status`, `duration_ms`), so the JSON log format (`engine.log_format`)
carries them as keys. Inputs, outputs and errors' payloads are never logged.
"""

from __future__ import annotations

import logging

from engine.diagnostics import bind_execution
from engine.run_types import RunResult
from engine.services.records import Execution

log = logging.getLogger("agentloom.runs")


def run_started(execution: Execution) -> None:
    """Bind the current task to the run (log lines carry its id) and say it started."""
    bind_execution(execution.id)
    log.info(
        "run started id=%s workflow=%s (%s)",
        execution.id,
        execution.workflow_id or "-",
        execution.workflow_name or "ad hoc",
        extra={"execution_id": execution.id, "workflow_id": execution.workflow_id},
    )


def run_ended(execution: Execution, result: RunResult) -> None:
    log.info(
        "run ended id=%s workflow=%s status=%s duration_ms=%d",
        execution.id,
        execution.workflow_id or "-",
        result.status,
        result.execution_time_ms,
        extra={
            "execution_id": execution.id,
            "workflow_id": execution.workflow_id,
            "status": result.status,
            "duration_ms": result.execution_time_ms,
        },
    )
