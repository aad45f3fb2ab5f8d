"""A slow SDK's first import does not stall the event loop, and nobody uses it half-made."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import anyio
import pytest

from engine.lazy_import import import_off_loop

pytestmark = pytest.mark.anyio


async def test_a_slow_import_runs_beside_the_loop_and_every_caller_gets_it_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "slow_sdk_for_test.py").write_text(
        textwrap.dedent(
            """
            import time
            time.sleep(0.4)  # an SDK that takes a while to import
            READY = True
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "slow_sdk_for_test", raising=False)
    ticks = 0
    whole: list[bool] = []

    async def tick() -> None:
        nonlocal ticks
        while True:
            await anyio.sleep(0.01)
            ticks += 1

    async def use() -> None:
        await import_off_loop("slow_sdk_for_test")
        import slow_sdk_for_test  # type: ignore[import-not-found]

        whole.append(slow_sdk_for_test.READY)

    async with anyio.create_task_group() as tg:
        tg.start_soon(tick)
        async with anyio.create_task_group() as users:
            for _ in range(3):  # the second and third find it in `sys.modules`, half-made
                users.start_soon(use)
                await anyio.sleep(0.05)
        tg.cancel_scope.cancel()
    assert whole == [True, True, True]
    assert ticks >= 20  # the loop went on while the module imported (0.4 s)
    sys.modules.pop("slow_sdk_for_test", None)
