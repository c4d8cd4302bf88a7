"""Log output of ``xseqd devnet``: the human format (one short line per event, anvil-like)
or ``--log-format json`` (one JSON object per line, for log collectors), and the levels of
chatty third-party loggers.

A JSON line always has ``ts`` (UTC, ISO 8601 with milliseconds), ``level``, ``logger`` and
``msg`` (the formatted message); the structured fields a call site passes with
``extra={...}`` follow as they are (the slot line has ``slot``, ``timestamp``, ``txs``,
``items`` and ``rollups``), and ``exc`` holds a traceback if there is one.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

FORMATS = ("text", "json")

# Attributes every LogRecord has; anything else on a record came from ``extra=``.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "taskName",
}


class JsonFormatter(logging.Formatter):
    """One JSON object per record: ts, level, logger, msg, then the record's extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and key not in line:
                line[key] = value
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        elif record.stack_info:
            line["exc"] = self.formatStack(record.stack_info)
        return json.dumps(line, default=str, separators=(",", ":"))


def configure(level: str, fmt: str = "text", stream: TextIO | None = None) -> None:
    """Route every log record to ``stream`` (stderr) in ``fmt``; L1 HTTP chatter (httpx, a
    line per request) and py-evm only at warning and above."""
    if fmt not in FORMATS:
        raise ValueError(f"--log-format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    handler = logging.StreamHandler(stream or sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(message)s", "%H:%M:%S"))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    logging.getLogger("eth").setLevel(logging.WARNING)
    logging.getLogger("httpx").setLevel(logging.WARNING)
