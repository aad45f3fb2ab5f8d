"""The `agentloom` command.

    agentloom serve [--host H] [--port P] [--data-dir D]
    agentloom worker [--data-dir D]
    agentloom export-schema

It parses its arguments and checks the settings and the data directory before it
imports the server (about 2.5 s of imports), so `--help`, `--version` and a bad
setting answer at once.
"""

from __future__ import annotations

import argparse
import gc
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
from pydantic import ValidationError

from agentloom import VERSION
from agentloom.settings import Settings
from engine.log_format import configure_logging
from storage.data_dir import DataDirError, check_writable, hold_server_lock

if TYPE_CHECKING:
    import uvicorn

log = logging.getLogger("agentloom")
DESCRIPTION = "GraphQL-first server for low-code AI agent workflows."


def tune_gc() -> None:
    """Fewer, later cyclic-garbage passes for a long-lived server process.

    With a thousand subscribers the default thresholds (700 allocations) ran the
    collector thousands of times per second over a large heap: p99 delivery latency
    halved with these (make bench). Objects alive at start-up are frozen out of it.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)


def server_config(app: Any, settings: Settings, *, host: str, port: int) -> uvicorn.Config:
    """uvicorn's configuration of `agentloom serve` (also what `bench/request_log.py` runs)."""
    import uvicorn

    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="info",
        proxy_headers=False,
        # A log line per request costs more than a small request itself: off unless asked.
        access_log=settings.access_log,
        # Our handlers (text or JSON, engine/log_format.py) format uvicorn's lines too.
        log_config=None,
        # Subscription messages are small JSON sent to many sockets: compressing each one
        # per subscriber cost more CPU than the bandwidth it saved (make bench).
        ws_per_message_deflate=False,
        # Streams still open after the runs' grace are closed: the process must go.
        timeout_graceful_shutdown=int(settings.shutdown_grace_seconds) + 5,
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="agentloom", description=DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"agentloom {VERSION}")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the API server")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (%(default)s)")
    serve.add_argument("--port", type=int, default=8037, help="port to listen on (%(default)s)")
    data_dir_help = "embedded database files and generated secrets (AGENTLOOM_DATA_DIR, ./data)"
    serve.add_argument("--data-dir", type=Path, default=None, help=data_dir_help)
    worker = commands.add_parser("worker", help="run pending executions from a shared MongoDB")
    worker.add_argument("--data-dir", type=Path, default=None, help=data_dir_help)
    commands.add_parser("export-schema", help="print the GraphQL SDL")
    args = parser.parse_args(argv)

    if args.command == "export-schema":
        from agentloom.app import export_schema

        sys.stdout.write(export_schema())
        return
    overrides: dict[str, Any] = {}
    if getattr(args, "data_dir", None) is not None:
        overrides["data_dir"] = args.data_dir
    try:
        settings = Settings(**overrides)
    except ValidationError as exc:  # a bad AGENTLOOM_* value: one line naming it
        first = exc.errors()[0]
        name = "AGENTLOOM_" + "_".join(map(str, first["loc"])).upper()
        raise SystemExit(f"agentloom: {name}: {first['msg']}") from None
    configure_logging(settings.log_format)
    try:  # one clear line, not a traceback, for a data directory that cannot be used
        check_writable(settings.data_dir)
        if args.command == "serve" and not settings.mongodb_uri:
            server_lock = hold_server_lock(settings.data_dir)  # noqa: F841 - held while we run
    except DataDirError as exc:
        raise SystemExit(f"agentloom: {exc}") from None
    # The server itself, imported only now that the command line and settings are good;
    # a worker imports the services without the web layer.
    if args.command == "worker":
        from agentloom.runtime import run_worker

        tune_gc()  # after the imports: what they built is frozen out of the collector's passes
        anyio.run(run_worker, settings)
        return
    from agentloom.app import create_app

    tune_gc()
    import uvicorn

    from explorers import log_urls

    log_urls(log, args.host, args.port)
    # X-Forwarded-For is judged by the app against AGENTLOOM_TRUSTED_PROXIES, not by uvicorn
    # (which would believe it from any loopback peer).
    app = create_app(settings)

    class Server(uvicorn.Server):
        def handle_exit(self, sig: int, frame: Any) -> None:
            app.state.on_exit_signal()  # runs start draining now (issue 16)
            super().handle_exit(sig, frame)

    config = server_config(app, settings, host=args.host, port=args.port)
    Server(config).run()
