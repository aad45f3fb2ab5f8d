"""The JavaScript sandbox: V8 in pre-started worker processes, memory and time bounded.

    pool.py      `run_script` / `SandboxPool` / `ScriptOutcome`: the API
    worker.py    the worker process (one job at a time, RLIMIT_DATA per job)
    protocol.py  length-prefixed JSON frames over pipes

This package file imports nothing, so the worker process starts light.
"""
