"""Log output for operators: plain text, or one JSON object per line.

`AGENTLOOM_LOG_FORMAT=json` makes every line an object a log shipper can
index without parsing:

    {"time": "2025-01-01T12:00:00.123Z", "level": "INFO", "logger": "agentloom.runs",
     "message": "run ended id=...", "request_id": "...", "execution_id": "...",
     "status": "completed", "duration_ms": 1234}

`request_id` and `execution_id` come from the contextvars of
`engine.diagnostics` (whichever is known where the line is logged); a few
well-known `extra` fields are passed through; an exception adds `exception`
(its formatted traceback). Nothing else of the record is copied: messages are
what the code chose to log, never request bodies or headers, and secret-looking
query parameters (`?token=`) are blanked in every line, text or JSON.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import threading
from datetime import UTC, datetime
from typing import Literal

from engine.diagnostics import current_execution_id, current_request

LogFormat = Literal["text", "json"]
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
EXTRA_FIELDS = ("execution_id", "workflow_id", "status", "duration_ms", "protocol", "path")
"""`extra=` attributes copied into a JSON line when a caller sets them."""


class JsonFormatter(logging.Formatter):
    """One JSON object per record (see the module doc)."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request = current_request()
        if request is not None:
            line["request_id"] = request.request_id
        execution_id = current_execution_id()
        if execution_id is not None:
            line["execution_id"] = execution_id
        for name in EXTRA_FIELDS:
            value = record.__dict__.get(name)
            if value is not None:
                line[name] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        elif record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        # default=str: a message argument that is not JSON (a path, an enum) still logs.
        return json.dumps(line, ensure_ascii=False, default=str)


SECRET_PARAMETER = re.compile(
    r"([?&](?:token|access_token|api_key|apikey|key|password|secret)=)[^&\s\"']+", re.IGNORECASE
)


class RedactSecrets(logging.Filter):
    """Blanks secret-looking query parameters (`?token=...`, which the seed WebSocket takes)
    in every line: uvicorn's access log writes request paths with their query strings."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = SECRET_PARAMETER.sub(r"\1[redacted]", message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


def configure_logging(log_format: LogFormat = "text", level: int = logging.INFO) -> None:
    """Send every logger (uvicorn's too, when it is told not to configure its own) to stderr
    in `log_format`; replaces whatever handlers the root logger had."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT)
    )
    handler.addFilter(RedactSecrets())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    _route_stray_output()


def _route_stray_output() -> None:
    """Warnings, a thread's uncaught exception and an "Exception ignored in ..." go through
    logging too: Python prints them to stderr as plain text, which would be the one line of
    a JSON log a shipper cannot parse (and would leave unredacted)."""
    logging.captureWarnings(True)
    stray = logging.getLogger("agentloom.uncaught")

    def thread_failed(args: threading.ExceptHookArgs) -> None:
        if args.exc_type is SystemExit:
            return
        name = args.thread.name if args.thread is not None else "unknown"
        stray.error("uncaught exception in thread %s", name, exc_info=args.exc_value)

    def unraisable(args: sys.UnraisableHookArgs) -> None:
        stray.error(
            "%s: %r", args.err_msg or "Exception ignored in", args.object, exc_info=args.exc_value
        )

    threading.excepthook = thread_failed
    sys.unraisablehook = unraisable
