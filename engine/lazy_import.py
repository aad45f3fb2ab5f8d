"""Importing the slow SDKs off the event loop.

The LLM, MCP and A2A SDKs are imported by their first use, not with the server
(about 1.2 s saved at start). An `import` statement in a coroutine runs on the
event loop, so the first LLM call of a fresh process would stall every other
request, every lease renewal and every subscriber for the import's duration
(0.4 s for `openai`, seconds on a loaded machine). `import_off_loop` imports in
a worker thread instead; the `import` statement that follows it is then a
dictionary lookup.
"""

from __future__ import annotations

import importlib
import sys

import anyio


async def import_off_loop(name: str) -> None:
    """Make sure module `name` is imported, importing it in a worker thread if not."""
    module = sys.modules.get(name)
    # A module another thread is still importing is in `sys.modules` already: its spec
    # says so, and `import_module` waits for that import to finish.
    if module is None or getattr(getattr(module, "__spec__", None), "_initializing", False):
        await anyio.to_thread.run_sync(importlib.import_module, name)
