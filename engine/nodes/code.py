"""The `code` node: JavaScript in a fresh V8 isolate, with time and memory limits.

`data.code` is a function body: it receives `input` (the previous node's
output; `context` has the whole run context as JSON) and `return`s a
JSON-serializable value, which becomes the output. The isolate has no host
access (no require, fs, network). It runs in a worker thread; V8 enforces
`data.timeout_ms` (default: the service's code timeout) and the memory
limit itself, so a runaway script is stopped inside V8, not abandoned.
"""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any

import anyio
import anyio.to_thread
from py_mini_racer import (
    JSEvalException,
    JSOOMException,
    JSTimeoutException,
    mini_racer,
)

from engine.node_context import NodeContext, NodeResult
from engine.nodes.registry import NodeSpec, register
from engine.run_errors import CodeFailed, CodeMemoryExceeded, CodeTimedOut

MAX_TIMEOUT_MS = 60_000


_loop_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None


def _v8_callback_loop() -> asyncio.AbstractEventLoop:
    """One long-lived loop for mini-racer's callbacks from V8.

    By default mini-racer starts a loop per isolate and closes it before the isolate
    is freed, so a callback V8 still delivers after a timeout (its terminate task)
    lands on a closed loop and raises inside a ctypes callback. A loop that never
    closes takes those late callbacks harmlessly.
    """
    global _loop
    with _loop_lock:
        if _loop is None:
            loop = asyncio.new_event_loop()
            threading.Thread(target=loop.run_forever, name="v8-callbacks", daemon=True).start()
            _loop = loop
        return _loop


def _execute(source: str, input_json: str, context_json: str, timeout_ms: int, memory: int) -> Any:
    with mini_racer(event_loop=_v8_callback_loop()) as runtime:
        runtime.set_hard_memory_limit(memory)
        # The user code is a function body; input arrives as JSON text so no
        # host object crosses into the isolate.
        program = (
            f"(function(input, context) {{\n{source}\n}})"
            f"(JSON.parse({json.dumps(input_json)}), JSON.parse({json.dumps(context_json)}))"
        )
        wrapped = f"JSON.stringify(({program}) ?? null)"
        try:
            text = runtime.eval(wrapped, timeout=timeout_ms, max_memory=memory)
        except JSOOMException as exc:
            raise CodeMemoryExceeded(
                f"JavaScript exceeded its memory limit of {memory} bytes"
            ) from exc
        except JSTimeoutException as exc:
            raise CodeTimedOut(f"JavaScript exceeded its time limit of {timeout_ms} ms") from exc
        except JSEvalException as exc:
            if runtime.was_hard_memory_limit_reached():
                raise CodeMemoryExceeded(
                    f"JavaScript exceeded its memory limit of {memory} bytes"
                ) from exc
            raise CodeFailed(f"JavaScript error: {str(exc).strip()[:2000]}") from exc
        return None if text is None else json.loads(str(text))


async def run(ctx: NodeContext) -> NodeResult:
    source = ctx.require_str("code")
    default_ms = int(ctx.services.code_timeout_s * 1000)
    timeout_ms = ctx.data.get("timeout_ms", default_ms)
    if isinstance(timeout_ms, bool) or not isinstance(timeout_ms, int) or timeout_ms <= 0:
        timeout_ms = default_ms
    timeout_ms = min(timeout_ms, MAX_TIMEOUT_MS)
    input_json = json.dumps(ctx.scope.get("value"), default=str)
    context_json = json.dumps({k: v for k, v in ctx.scope.items() if k != "value"}, default=str)
    output = await anyio.to_thread.run_sync(
        _execute,
        source,
        input_json,
        context_json,
        timeout_ms,
        ctx.services.code_max_memory_bytes,
    )
    return NodeResult(output=output)


SPEC = register(
    NodeSpec(
        type="code",
        description="JavaScript in a V8 isolate with time and memory limits.",
        required=("code",),
        run=run,
    )
)
