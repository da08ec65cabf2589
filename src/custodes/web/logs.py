"""Structured logs: one JSON object per line on stderr, at the level CUSTODES_LOG_LEVEL sets.

`configure_logging` is called once per server process (`serve`, each worker). Records carry
`fields` (a dict given as `extra={"fields": …}`) merged into the line; messages and fields are
written by our code only, never request bodies or raw paths, so nothing PII-shaped gets in.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any

_CONFIGURED = "_custodes_json_handler"


class JsonLines(logging.Formatter):
    """`{"time", "level", "logger", "msg", …fields}`; exceptions as their type only."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            line.update(fields)
        if record.exc_info and record.exc_info[0] is not None:
            # The type, not the message or traceback text: those can carry the values a
            # database or library choked on.
            line["exception"] = record.exc_info[0].__name__
        return json.dumps(line, ensure_ascii=False, default=str)


def configure_logging(level: str = "info", stream: Any = None) -> logging.Handler:
    """Route every logger (ours, uvicorn's) to one JSON-lines handler at `level`."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, _CONFIGURED, False):
            root.removeHandler(handler)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonLines())
    setattr(handler, _CONFIGURED, True)
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error"):
        # uvicorn's own handlers would print a second, plain-text copy.
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    logging.getLogger("uvicorn.access").disabled = True  # our access log replaces it
    for name in ("httpx", "httpcore"):
        # They log every URL they fetch at info; URLs are not ours to vouch for.
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
    return handler
