"""The sandbox worker process: runs one JavaScript job at a time in a fresh V8 context.

Started by `engine.sandbox.pool`, it reads job frames on stdin and answers on
stdout (see `engine.sandbox.protocol`). Before each job it lowers its own
`RLIMIT_DATA` (the kernel's cap on private writable memory) to its idle
footprint plus the job's memory budget: that bounds everything the isolate can
allocate, ArrayBuffers, typed arrays and WebAssembly memory included, which
V8's heap limit does not see. An allocation past the cap fails inside V8
(RangeError), or V8 aborts the process; either way the server is untouched.
User code cannot raise the limit back: the isolate has no host access.

Job:    {"code", "input", "context", "timeout_ms", "memory_bytes"}
Answer: {"ok", "output" (JSON text), "error", "error_kind", "console",
         "console_dropped", "elapsed_ms", "retire"}
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import threading
import time
from contextlib import ExitStack
from typing import Any

from engine.json_input import depth
from engine.output_limits import MAX_OUTPUT_DEPTH
from engine.sandbox.protocol import read_frame, write_frame

SLACK_BYTES = 32 * 1024 * 1024
"""Room above the job's budget for V8's own bookkeeping and the answer's JSON."""
RETIRE_GROWTH_BYTES = 64 * 1024 * 1024
"""A worker whose idle footprint grew this much (memory V8 kept) is replaced."""
MAX_OUTPUT_CHARS = 8 * 1024 * 1024
MAX_CONSOLE_LINES = 1000
MAX_CONSOLE_CHARS = 256 * 1024
MEMORY_MESSAGES = (
    "Array buffer allocation failed",
    "Unable to grow instance memory",
    "could not allocate memory",
    "Out of memory",
    "Invalid typed array length",
    "Invalid array buffer length",
)
"""How V8 words a failed allocation of memory outside its heap."""

# The user's code is compiled with `new Function`, so it cannot break out of the
# wrapper; console output is captured (capped) and returned with the result.
WRAPPER = """
(function (code, inputText, contextText, maxLines, maxChars) {
  const lines = [];
  let used = 0;
  let dropped = 0;
  const show = (v) => {
    if (typeof v === "string") return v;
    try { const s = JSON.stringify(v); return s === undefined ? String(v) : s; }
    catch (e) { return String(v); }
  };
  const writer = (level) => (...args) => {
    const line = args.map(show).join(" ");
    if (lines.length >= maxLines || used + line.length > maxChars) { dropped++; return; }
    used += line.length;
    lines.push([level, line]);
  };
  globalThis.console = {
    log: writer("info"), info: writer("info"), debug: writer("debug"),
    warn: writer("warn"), error: writer("error"),
  };
  let answer;
  try {
    const fn = new Function("input", "context", code);
    const value = fn(JSON.parse(inputText), JSON.parse(contextText));
    const text = JSON.stringify(value === undefined ? null : value);
    answer = { ok: true, output: text === undefined ? "null" : text };
  } catch (e) {
    const message = e && e.stack ? String(e.stack) : String(e);
    answer = { ok: false, error: message, name: e && e.name ? String(e.name) : "" };
  }
  answer.console = lines;
  answer.console_dropped = dropped;
  return JSON.stringify(answer);
})
"""


def data_bytes() -> int:
    """This process's private writable memory (VmData), what RLIMIT_DATA counts."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmData:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("VmData not found in /proc/self/status")


def _set_data_limit(limit: int) -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_DATA)
    resource.setrlimit(resource.RLIMIT_DATA, (limit, hard))


class Worker:
    def __init__(self) -> None:
        # One loop for mini-racer's callbacks for the whole process: a late callback
        # from V8 (after a timeout) must never land on a closed loop.
        self._loop = asyncio.new_event_loop()
        threading.Thread(target=self._loop.run_forever, daemon=True).start()
        self._contexts = ExitStack()
        self._racer: Any = None
        self.prepare()
        self.baseline = data_bytes()

    def prepare(self) -> None:
        """Open the fresh context the next job will run in (while no one waits)."""
        from py_mini_racer import mini_racer

        self._contexts = ExitStack()
        self._racer = self._contexts.enter_context(mini_racer(event_loop=self._loop))

    def run(self, job: dict[str, Any]) -> dict[str, Any]:
        """Run one job in the prepared context, then free that context."""
        from py_mini_racer import JSEvalException, JSOOMException, JSTimeoutException

        memory = int(job["memory_bytes"])
        timeout_ms = int(job["timeout_ms"])
        racer = self._racer
        program = (
            f"{WRAPPER}({json.dumps(job['code'])}, {json.dumps(job['input'])}, "
            f"{json.dumps(job['context'])}, {MAX_CONSOLE_LINES}, {MAX_CONSOLE_CHARS})"
        )
        racer.set_hard_memory_limit(memory)
        started = time.perf_counter()
        _set_data_limit(self.baseline + memory + SLACK_BYTES)
        try:
            text = racer.eval(program, timeout_sec=timeout_ms / 1000)
            answer: dict[str, Any] = json.loads(str(text))
        except JSOOMException:
            answer = _failure("memory", f"JavaScript exceeded its memory limit of {memory} bytes")
        except JSTimeoutException:
            answer = _failure("timeout", f"JavaScript exceeded its time limit of {timeout_ms} ms")
        except JSEvalException as exc:
            if racer.was_hard_memory_limit_reached():
                answer = _failure(
                    "memory", f"JavaScript exceeded its memory limit of {memory} bytes"
                )
            else:
                answer = _failure("failed", f"JavaScript error: {str(exc).strip()[:2000]}")
        except MemoryError:
            answer = _failure("memory", f"JavaScript exceeded its memory limit of {memory} bytes")
        finally:
            _set_data_limit(resource.RLIM_INFINITY)
        answer["elapsed_ms"] = int((time.perf_counter() - started) * 1000)
        _classify(answer, memory)
        self._contexts.close()
        self._racer = None
        answer["retire"] = data_bytes() > self.baseline + RETIRE_GROWTH_BYTES
        return answer


def _failure(kind: str, message: str) -> dict[str, Any]:
    return {"ok": False, "error_kind": kind, "error": message, "console": []}


def _classify(answer: dict[str, Any], memory: int) -> None:
    if answer.get("ok"):
        output = answer.get("output")
        if isinstance(output, str) and len(output) > MAX_OUTPUT_CHARS:
            answer.update(
                ok=False,
                output=None,
                error_kind="failed",
                error=f"the code's output exceeds {MAX_OUTPUT_CHARS // (1024 * 1024)} MB of JSON",
            )
        elif isinstance(output, str) and depth(output.encode()) > MAX_OUTPUT_DEPTH:
            # Refused before anyone decodes it: the JSON decoder recurses per level.
            answer.update(
                ok=False,
                output=None,
                error_kind="failed",
                error=f"the code's output is nested deeper than {MAX_OUTPUT_DEPTH} levels",
            )
        return
    if answer.get("error_kind"):
        return
    error = str(answer.get("error") or "")
    if answer.get("name") == "RangeError" and any(m in error for m in MEMORY_MESSAGES):
        answer["error_kind"] = "memory"
        answer["error"] = (
            f"JavaScript exceeded its memory limit of {memory} bytes: {error.splitlines()[0]}"
        )
    else:
        answer["error_kind"] = "failed"
        answer["error"] = f"JavaScript error: {error.strip()[:2000]}"


def main() -> None:
    # Frames go out on a private copy of stdout; fd 1 then points at stderr so that
    # anything native code prints cannot corrupt the protocol.
    out = os.dup(1)
    os.dup2(2, 1)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    worker = Worker()
    write_frame(out, {"ready": True, "pid": os.getpid(), "baseline_bytes": worker.baseline})
    while True:
        job = read_frame(0)
        if job is None:
            return  # the server closed the pipe (or died): nothing left to do
        answer = worker.run(job)
        write_frame(out, answer)
        if answer["retire"]:
            return
        worker.prepare()


if __name__ == "__main__":
    main()
