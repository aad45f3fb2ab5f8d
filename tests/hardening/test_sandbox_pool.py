"""`run_script`, the sandbox API a code node (or a script test endpoint) uses."""

from __future__ import annotations

import json
import time

import anyio
import pytest

from engine.sandbox.pool import SandboxPool, run_script

pytestmark = pytest.mark.anyio

MIB = 1024 * 1024


async def test_output_console_and_elapsed_time() -> None:
    outcome = await run_script(
        "console.log('got', input.n, {a: 1}); console.warn('careful'); return {twice: input.n * 2};",
        json.dumps({"n": 21}),
        timeout_s=5,
        memory_bytes=64 * MIB,
    )
    assert outcome.ok and outcome.error is None
    assert outcome.output == {"twice": 42}
    assert [(line.level, line.text) for line in outcome.console] == [
        ("info", 'got 21 {"a":1}'),
        ("warn", "careful"),
    ]
    assert 0 <= outcome.elapsed_ms < 5000


async def test_console_is_kept_when_the_script_throws() -> None:
    outcome = await run_script(
        "console.error('about to fail'); throw new TypeError('bad input');",
        "null",
        timeout_s=5,
        memory_bytes=64 * MIB,
    )
    assert outcome.error_kind == "failed"
    assert "TypeError: bad input" in (outcome.error or "")
    assert [line.text for line in outcome.console] == ["about to fail"]


async def test_console_output_is_capped() -> None:
    outcome = await run_script(
        "for (let i = 0; i < 5000; i++) console.log('line ' + i); return 1;",
        "null",
        timeout_s=5,
        memory_bytes=64 * MIB,
    )
    assert outcome.output == 1
    assert len(outcome.console) == 1000
    assert outcome.console_dropped == 4000


async def test_a_syntax_error_is_a_failure_not_a_crash() -> None:
    outcome = await run_script("return (;", "null", timeout_s=5, memory_bytes=64 * MIB)
    assert outcome.error_kind == "failed" and "SyntaxError" in (outcome.error or "")


async def test_the_code_cannot_escape_its_function() -> None:
    # The body is compiled with `new Function`: closing the wrapper's braces is a syntax error.
    outcome = await run_script(
        "}); globalThis.leak = 1; (function () {", "null", timeout_s=5, memory_bytes=64 * MIB
    )
    assert outcome.error_kind == "failed"


async def test_no_state_survives_between_runs() -> None:
    pool = SandboxPool(size=1)
    try:
        first = await pool.run(
            "globalThis.secret = 'x'; return 1;", "null", timeout_s=5, memory_bytes=64 * MIB
        )
        second = await pool.run(
            "return typeof globalThis.secret;", "null", timeout_s=5, memory_bytes=64 * MIB
        )
    finally:
        pool.close()
    assert first.output == 1
    assert second.output == "undefined"


async def test_concurrent_runs_all_answer_correctly() -> None:
    results: dict[int, object] = {}

    async def one(i: int) -> None:
        outcome = await run_script(
            "let s = 0; for (let k = 0; k < 100000; k++) s += k; return [input, s];",
            json.dumps(i),
            timeout_s=10,
            memory_bytes=64 * MIB,
        )
        results[i] = outcome.output

    with anyio.fail_after(30):
        async with anyio.create_task_group() as tg:
            for i in range(8):
                tg.start_soon(one, i)
    assert results == {i: [i, 4999950000] for i in range(8)}


async def test_a_killed_worker_is_replaced() -> None:
    pool = SandboxPool(size=1)
    try:
        stuck = await pool.run("while (true) {}", "null", timeout_s=0.3, memory_bytes=64 * MIB)
        assert stuck.error_kind == "timeout"
        crashed = await pool.run(
            "const a = []; while (true) a.push(new Array(100000).fill(1));",
            "null",
            timeout_s=10,
            memory_bytes=32 * MIB,
        )
        assert crashed.error_kind == "memory"
        started = time.monotonic()
        fine = await pool.run("return 'ok';", "null", timeout_s=5, memory_bytes=64 * MIB)
        assert fine.output == "ok"
        assert time.monotonic() - started < 5
    finally:
        pool.close()
