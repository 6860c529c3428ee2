"""JSON logs: one object per line, with the request ID when there is one."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

from resolvers.log_context import log_fields

STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in STANDARD and not key.startswith("_"):
                entry[key] = (
                    value
                    if isinstance(value, (str, int, float, bool, type(None), list, tuple, dict))
                    else str(value)
                )
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class RequestContextFilter(logging.Filter):
    """Adds the current request's request_id, tenant_id and user_id to every record.

    Fields a record already carries (passed with extra=) win.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in log_fields().items():
            if getattr(record, key, None) is None:
                setattr(record, key, value)
        return True


def configure_logging(level: str = "INFO") -> None:
    """Route every logger (ours, uvicorn's) through one JSON handler on stderr."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestContextFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
