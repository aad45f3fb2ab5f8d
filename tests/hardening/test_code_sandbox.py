"""The code node's JavaScript is bounded in memory (all of it, not just V8's heap) and time."""

from __future__ import annotations

import time

import anyio
import pytest

from tests.engine.helpers import chain, n, run, services
from tests.hardening.memory import PeakRss

pytestmark = pytest.mark.anyio

LIMIT = 64 * 1024 * 1024
SERVER_RSS_BOUND_MIB = 40
"""How much the server (this test process) may grow while a script attacks its limit."""

# Each attack is bounded (1 GiB at most) so that, without a sandbox, it completes
# instead of exhausting the machine: the test then fails on the result and the RSS.
ATTACKS = {
    "one 2 GiB ArrayBuffer": "const a = new ArrayBuffer(2 ** 31); return a.byteLength;",
    "growing typed arrays": (
        "const kept = [];"
        "for (let i = 0; i < 16; i++) { const u = new Uint8Array(64 * 1024 * 1024);"
        " u.fill(1); kept.push(u); }"
        "return kept.length;"
    ),
    "growing WebAssembly memory": (
        "const m = new WebAssembly.Memory({initial: 1, maximum: 65536});"
        "for (let i = 1; i < 16384; i++) { m.grow(1); new Uint8Array(m.buffer).fill(1, i * 65536); }"
        "return m.buffer.byteLength;"
    ),
}


def code_graph(code: str, **data: object) -> tuple[list, list]:
    nodes = [n("start-1", "start"), n("code-1", "code", code=code, **data), n("end-1", "end")]
    return nodes, chain(*nodes)


@pytest.mark.parametrize("attack", list(ATTACKS))
async def test_memory_outside_the_v8_heap_is_bounded(attack: str) -> None:
    nodes, edges = code_graph(ATTACKS[attack], timeout_ms=20_000)
    with PeakRss() as rss:
        with anyio.fail_after(30):
            result, _ = await run(nodes, edges, svc=services(code_max_memory_bytes=LIMIT))
    assert result.status == "failed", result.output
    assert result.error_type == "CodeMemoryExceeded", result.error
    assert "memory limit" in (result.error or "")
    assert rss.growth_mib < SERVER_RSS_BOUND_MIB, f"server RSS grew {rss.growth_mib:.0f} MiB"


async def test_the_sandbox_still_works_after_a_memory_kill() -> None:
    nodes, edges = code_graph(ATTACKS["growing typed arrays"])
    result, _ = await run(nodes, edges, svc=services(code_max_memory_bytes=LIMIT))
    assert result.error_type == "CodeMemoryExceeded"
    nodes, edges = code_graph("return input.x * 2;")
    result, _ = await run(nodes, edges, {"x": 21})
    assert result.status == "completed" and result.output == 42


async def test_allocations_below_the_limit_succeed() -> None:
    code = "const u = new Uint8Array(16 * 1024 * 1024); u.fill(7); return u[12345];"
    nodes, edges = code_graph(code)
    result, _ = await run(nodes, edges, svc=services(code_max_memory_bytes=LIMIT))
    assert result.status == "completed", result.error
    assert result.output == 7


async def test_timeout_s_limits_the_code_node() -> None:
    nodes, edges = code_graph("while (true) {}", timeout_s=1)
    started = time.monotonic()
    with anyio.fail_after(20):
        result, _ = await run(nodes, edges, svc=services(code_timeout_s=30))
    elapsed = time.monotonic() - started
    assert result.status == "failed"
    assert result.error_type == "CodeTimedOut", result.error
    assert elapsed < 3, f"stopped after {elapsed:.1f}s"


async def test_the_shorter_of_timeout_s_and_timeout_ms_wins() -> None:
    nodes, edges = code_graph("while (true) {}", timeout_s=1, timeout_ms=30_000)
    started = time.monotonic()
    with anyio.fail_after(20):
        result, _ = await run(nodes, edges)
    assert result.error_type == "CodeTimedOut", result.error
    assert time.monotonic() - started < 3
    nodes, edges = code_graph("while (true) {}", timeout_s=30, timeout_ms=500)
    started = time.monotonic()
    result, _ = await run(nodes, edges)
    assert result.error_type == "CodeTimedOut", result.error
    assert time.monotonic() - started < 3


async def test_a_run_timeout_stops_running_javascript_at_once() -> None:
    # The code's own limit is long; the run's limit ends it, and the script must not
    # keep running (a thread cannot be cancelled, a sandbox process can be killed).
    nodes, edges = code_graph("while (true) {}", timeout_ms=30_000)
    started = time.monotonic()
    with anyio.fail_after(20):
        result, _ = await run(nodes, edges, run_timeout_s=1)
    assert result.status == "failed"
    assert time.monotonic() - started < 3
