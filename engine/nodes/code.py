"""The `code` node: JavaScript in the sandbox, with time and memory limits.

`data.code` is a function body: it receives `input` (the previous node's
output; `context` has the whole run context as JSON) and `return`s a
JSON-serializable value, which becomes the output. The isolate has no host
access (no require, fs, network). It runs in a sandbox worker process
(`engine.sandbox`) whose whole memory is capped by the kernel, not only V8's
heap, so typed arrays, ArrayBuffers and WebAssembly memory are bounded too.

Time limit: the shorter of `data.timeout_ms` and `data.timeout_s` (default:
the service's code timeout), at most `MAX_TIMEOUT_MS`. Console output is
logged as the node's log lines.
"""

from __future__ import annotations

import json
from typing import Any

from engine.node_context import NodeContext, NodeResult
from engine.nodes.registry import NodeSpec, register
from engine.run_errors import CodeFailed, CodeMemoryExceeded, CodeTimedOut
from engine.sandbox.pool import ScriptOutcome, run_script

MAX_TIMEOUT_MS = 60_000
MAX_LOGGED_CONSOLE_LINES = 50
NODE_TIMEOUT_MARGIN_MS = 100
"""With `timeout_s`, the script stops this much before the runner's own node
timeout, so the node reports CodeTimedOut instead of being cancelled."""
_LEVELS = {"debug": "debug", "info": "info", "warn": "warn", "error": "error"}


def _positive(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        return None
    return float(value)


def time_limit_ms(data: Any, default_ms: int) -> int:
    """The script's time limit from `data.timeout_ms` / `data.timeout_s`."""
    limits = []
    timeout_ms = _positive(data.get("timeout_ms"))
    if timeout_ms is not None:
        limits.append(timeout_ms)
    timeout_s = _positive(data.get("timeout_s"))
    if timeout_s is not None:
        limits.append(max(10.0, timeout_s * 1000 - NODE_TIMEOUT_MARGIN_MS))
    limit = min(limits) if limits else default_ms
    return int(min(limit, MAX_TIMEOUT_MS))


def _check(data: Any) -> list[str]:
    # `timeout_s` is every node's and checked by the validator itself.
    if data.get("timeout_ms") is not None and _positive(data.get("timeout_ms")) is None:
        return ["data.timeout_ms must be a positive number"]
    return []


async def _log_console(ctx: NodeContext, outcome: ScriptOutcome) -> None:
    for line in outcome.console[:MAX_LOGGED_CONSOLE_LINES]:
        await ctx.log(_LEVELS.get(line.level, "info"), line.text[:2000])  # type: ignore[arg-type]
    hidden = len(outcome.console) - MAX_LOGGED_CONSOLE_LINES + outcome.console_dropped
    if hidden > 0:
        await ctx.log("warn", f"{hidden} more console lines were not logged")


async def run(ctx: NodeContext) -> NodeResult:
    source = ctx.require_str("code")
    timeout_ms = time_limit_ms(ctx.data, int(ctx.services.code_timeout_s * 1000))
    input_json = json.dumps(ctx.scope.get("value"), default=str)
    context_json = json.dumps({k: v for k, v in ctx.scope.items() if k != "value"}, default=str)
    outcome = await run_script(
        source,
        input_json,
        context_json=context_json,
        timeout_s=timeout_ms / 1000,
        memory_bytes=ctx.services.code_max_memory_bytes,
    )
    await _log_console(ctx, outcome)
    if outcome.error_kind == "memory":
        raise CodeMemoryExceeded(outcome.error or "JavaScript exceeded its memory limit")
    if outcome.error_kind == "timeout":
        raise CodeTimedOut(
            outcome.error or f"JavaScript exceeded its time limit of {timeout_ms} ms"
        )
    if outcome.error_kind is not None:
        raise CodeFailed(outcome.error or "JavaScript failed")
    return NodeResult(output=outcome.output)


SPEC = register(
    NodeSpec(
        type="code",
        description="JavaScript in a sandboxed V8 isolate with time and memory limits.",
        required=("code",),
        check=_check,
        run=run,
    )
)
