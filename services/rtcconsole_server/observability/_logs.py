"""Logging to stderr, for people (``text``) or for a log pipeline (``json``).

``text`` is ``<time> <LEVEL> <logger>: <message>``, as always. ``json`` is one
object per line::

    {"time": "2026-05-04T09:12:03.417Z", "level": "ERROR", "logger": "rtcconsole_server.rpc",
     "message": "/rtcconsole.v1.AppService/GetApp failed; correlation id 3f…",
     "correlation_id": "3f…", "method": "/rtcconsole.v1.AppService/GetApp", "code": "INTERNAL",
     "exception": "Traceback (most recent call last): …"}

``time`` is the record's creation in UTC, ISO 8601 with milliseconds. Of a record's
``extra`` fields only :data:`EXTRA_FIELDS` are written (the interceptor's per-call
line and the INTERNAL error line set them), so nothing else a caller passes as
``extra`` reaches the output by accident; metadata and secrets are never logged.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

__all__ = ["EXTRA_FIELDS", "TEXT_FORMAT", "JsonFormatter", "configure_logging"]

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
"""The ``text`` format's line."""
EXTRA_FIELDS = ("correlation_id", "method", "code", "duration_ms")
"""``extra`` fields copied into a JSON line when a record has them: the INTERNAL error's
correlation id, the gRPC method path, the status code's name, the call's duration in ms."""


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line (see the module)."""

    def format(self, record: logging.LogRecord) -> str:
        created = datetime.fromtimestamp(record.created, UTC)
        line: dict[str, Any] = {
            "time": created.strftime("%Y-%m-%dT%H:%M:%S.") + f"{created.microsecond // 1000:03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in EXTRA_FIELDS:
            value = record.__dict__.get(name)
            if value is not None:
                line[name] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["exception"] = record.exc_text
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, default=str)


def configure_logging(level: str, log_format: str = "text") -> None:
    """Log to stderr at ``level`` (DEBUG, INFO, WARNING, ERROR) in ``log_format`` (text or json)."""
    if log_format == "json":
        handler = logging.StreamHandler()
        handler.setFormatter(JsonFormatter())
        logging.basicConfig(level=level, handlers=[handler])
    else:
        logging.basicConfig(level=level, format=TEXT_FORMAT)
