"""A warm pool of sandbox worker processes, and `run_script`, the way to use it.

    outcome = await run_script(code, input_json, timeout_s=5, memory_bytes=64 << 20)

Each worker (`engine.sandbox.worker`) runs one job at a time in a fresh V8
context with all of its memory capped by the kernel, so a script that
allocates without bound (typed arrays, WebAssembly memory, the heap) only
ever exhausts its own process. The parent enforces the time limit as well:
a worker that has not answered shortly after its deadline, or whose caller
was cancelled, is killed. A killed, crashed or retiring worker is replaced
at once, so the next job finds a warm one.

Workers are plain processes talking over non-blocking pipes, not tied to one
event loop: the pool serves every loop of the process (the server's, and
each test's). Concurrency is capped per event loop (`size` jobs at a time).
"""

from __future__ import annotations

import atexit
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import anyio
from anyio.lowlevel import RunVar

from engine.errors import UpstreamFailed
from engine.sandbox.protocol import HEADER, FrameError, decode_body, encode_frame, frame_length

ErrorKind = Literal["failed", "timeout", "memory"]

DEFAULT_POOL_SIZE = 2
GRACE_S = 1.0
"""How long after its deadline a worker may still answer before it is killed."""
START_TIMEOUT_S = 30.0
MAX_JOBS_PER_WORKER = 1000
"""Workers are recycled now and then, so nothing a long life accumulates matters."""
_ROOT = str(Path(__file__).resolve().parents[2])
_WORKER_COMMAND = (
    sys.executable,
    "-I",  # no PYTHON* variables, no user site, no current directory on the path
    "-c",
    f"import sys; sys.path.insert(0, {_ROOT!r}); from engine.sandbox.worker import main; main()",
)


class SandboxUnavailable(UpstreamFailed):
    """A worker process could not be started."""


class _WorkerLost(Exception):
    """The worker process ended without answering (killed by its memory limit)."""


@dataclass(frozen=True, kw_only=True)
class ConsoleLine:
    level: str
    """`info` (console.log and console.info), `debug`, `warn` or `error`."""
    text: str


@dataclass(frozen=True, kw_only=True)
class ScriptOutcome:
    """What one script run produced."""

    output: Any = None
    """The value the script returned (JSON-decoded); None when it failed."""
    console: tuple[ConsoleLine, ...] = ()
    """Captured console output, at most 1,000 lines / 256 KB."""
    console_dropped: int = 0
    """Console lines dropped past that cap."""
    error: str | None = None
    error_kind: ErrorKind | None = None
    """`failed` (the script threw), `timeout` or `memory`; None on success."""
    elapsed_ms: int = 0

    @property
    def ok(self) -> bool:
        return self.error_kind is None


class _Process:
    """One worker process and its two pipe ends."""

    def __init__(self) -> None:
        job_read, self._job_write = os.pipe()
        self._answer_read, answer_write = os.pipe()
        try:
            self.process = subprocess.Popen(  # noqa: S603 - a fixed argv
                _WORKER_COMMAND,
                stdin=job_read,
                stdout=answer_write,
                stderr=subprocess.DEVNULL,
                # The sandbox gets no secret from the server's environment.
                env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C.UTF-8"},
                cwd="/",
            )
        finally:
            os.close(job_read)
            os.close(answer_write)
        os.set_blocking(self._job_write, False)
        os.set_blocking(self._answer_read, False)
        self.ready = False
        self.jobs = 0

    async def _read_exactly(self, size: int) -> bytes:
        data = bytearray()
        while len(data) < size:
            try:
                chunk = os.read(self._answer_read, size - len(data))
            except BlockingIOError:
                await anyio.wait_readable(self._answer_read)
                continue
            if not chunk:
                raise _WorkerLost("the sandbox process ended")
            data.extend(chunk)
        return bytes(data)

    async def _read_frame(self) -> dict[str, Any]:
        header = await self._read_exactly(HEADER.size)
        return decode_body(await self._read_exactly(frame_length(header)))

    async def _write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            try:
                written = os.write(self._job_write, view)
            except BlockingIOError:
                await anyio.wait_writable(self._job_write)
                continue
            except BrokenPipeError as exc:
                raise _WorkerLost("the sandbox process ended") from exc
            view = view[written:]

    async def wait_ready(self) -> None:
        if self.ready:
            return
        with anyio.fail_after(START_TIMEOUT_S):
            hello = await self._read_frame()
        if not hello.get("ready"):
            raise FrameError("the worker's first frame was not its ready message")
        self.ready = True

    async def call(self, job: dict[str, Any]) -> dict[str, Any]:
        self.jobs += 1
        await self._write(encode_frame(job))
        return await self._read_frame()

    def kill(self) -> None:
        """Kill the process and close the pipes; reaping is left to `reap`."""
        if self.process.poll() is None:
            self.process.kill()
        for fd in (self._job_write, self._answer_read):
            try:
                os.close(fd)
            except OSError:
                pass

    def reap(self, timeout: float | None = 0) -> bool:
        """True once the (killed) process has exited and been waited for."""
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return False
        return True


class SandboxPool:
    """Pre-started worker processes; at most `size` jobs at a time per event loop."""

    def __init__(self, *, size: int = DEFAULT_POOL_SIZE) -> None:
        if size < 1:
            raise ValueError("a sandbox pool needs at least one worker")
        self.size = size
        self._lock = threading.Lock()
        self._idle: list[_Process] = []
        self._dying: list[_Process] = []
        self._slots: RunVar[anyio.Semaphore] = RunVar(f"sandbox-slots-{id(self)}")
        self._closed = False

    def warm(self) -> None:
        """Start workers until `size` are idle (they finish starting in the background)."""
        with self._lock:
            self._reap_locked()
            while not self._closed and len(self._idle) < self.size:
                self._idle.append(_Process())

    async def run(
        self,
        code: str,
        input_json: str,
        *,
        context_json: str = "{}",
        timeout_s: float,
        memory_bytes: int,
    ) -> ScriptOutcome:
        """Run `code` (a function body of `input` and `context`) in a worker."""
        timeout_ms = max(1, int(timeout_s * 1000))
        job = {
            "code": code,
            "input": input_json,
            "context": context_json,
            "timeout_ms": timeout_ms,
            "memory_bytes": int(memory_bytes),
        }
        async with self._slot():
            worker = await self._take()
            keep = False
            started = time.perf_counter()
            try:
                with anyio.move_on_after(timeout_ms / 1000 + GRACE_S):
                    answer = await worker.call(job)
                    keep = not answer.get("retire") and worker.jobs < MAX_JOBS_PER_WORKER
                    return _outcome(answer)
                return ScriptOutcome(
                    error=f"JavaScript exceeded its time limit of {timeout_ms} ms",
                    error_kind="timeout",
                    elapsed_ms=_ms_since(started),
                )
            except (_WorkerLost, FrameError):
                return ScriptOutcome(
                    error=f"JavaScript exceeded its memory limit of {memory_bytes} bytes "
                    "(its sandbox process was stopped)",
                    error_kind="memory",
                    elapsed_ms=_ms_since(started),
                )
            finally:
                # Also on cancellation: a worker in the middle of a job is killed, never reused.
                self._release(worker, keep=keep)

    @asynccontextmanager
    async def _slot(self) -> AsyncIterator[None]:
        try:
            slots = self._slots.get()
        except LookupError:
            slots = anyio.Semaphore(self.size)
            self._slots.set(slots)
        async with slots:
            yield

    async def _take(self) -> _Process:
        with self._lock:
            if self._closed:
                raise SandboxUnavailable("the sandbox pool is closed")
            self._reap_locked()
            worker = self._idle.pop(0) if self._idle else _Process()
        try:
            await worker.wait_ready()
        except BaseException as exc:
            self._release(worker, keep=False)
            if isinstance(exc, _WorkerLost | FrameError | TimeoutError):
                raise SandboxUnavailable("the JavaScript sandbox failed to start") from exc
            raise
        return worker

    def _release(self, worker: _Process, *, keep: bool) -> None:
        with self._lock:
            if keep and not self._closed and len(self._idle) < self.size:
                self._idle.append(worker)
                return
            worker.kill()
            self._dying.append(worker)
            # Replace it now, so the next job finds a warm worker.
            if not self._closed and len(self._idle) < self.size:
                self._idle.append(_Process())

    def _reap_locked(self) -> None:
        self._dying = [w for w in self._dying if not w.reap()]

    def close(self) -> None:
        """Stop every worker (at exit)."""
        with self._lock:
            self._closed = True
            workers, self._idle = self._idle, []
            for worker in workers:
                worker.kill()
            self._dying.extend(workers)
            for worker in self._dying:
                worker.reap(timeout=5)
            self._dying = []


def _ms_since(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)


def _outcome(answer: dict[str, Any]) -> ScriptOutcome:
    console = tuple(
        ConsoleLine(level=str(level), text=str(text)) for level, text in answer.get("console") or ()
    )
    common: dict[str, Any] = {
        "console": console,
        "console_dropped": int(answer.get("console_dropped") or 0),
        "elapsed_ms": int(answer.get("elapsed_ms") or 0),
    }
    if answer.get("ok"):
        return ScriptOutcome(output=json.loads(answer.get("output") or "null"), **common)
    kind = answer.get("error_kind")
    return ScriptOutcome(
        error=str(answer.get("error") or "JavaScript failed"),
        error_kind=kind if kind in ("timeout", "memory") else "failed",
        **common,
    )


_default_pool: SandboxPool | None = None
_default_lock = threading.Lock()


def default_pool() -> SandboxPool:
    """The process-wide pool (started on first use, stopped at exit)."""
    global _default_pool
    with _default_lock:
        if _default_pool is None:
            _default_pool = SandboxPool()
            _default_pool.warm()
            atexit.register(_default_pool.close)
        return _default_pool


async def run_script(
    code: str,
    input_json: str,
    *,
    timeout_s: float,
    memory_bytes: int,
    context_json: str = "{}",
) -> ScriptOutcome:
    """Run JavaScript `code` (a function body over `input`, `context`) in the sandbox.

    `input_json` and `context_json` are JSON texts; the script's return value
    comes back decoded in `ScriptOutcome.output`, with its console output, the
    error (`failed`, `timeout`, `memory`) and the elapsed time.
    """
    return await default_pool().run(
        code,
        input_json,
        context_json=context_json,
        timeout_s=timeout_s,
        memory_bytes=memory_bytes,
    )
