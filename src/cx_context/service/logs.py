"""Logging set-up: one JSON object per line on standard error.

Log records carry ids, counts and entity types, never customer text; the
formatter does not add anything a call site did not pass.
"""

import json
import logging
import sys
from datetime import UTC, datetime

_STANDARD = set(vars(logging.makeLogRecord({})))


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(
            {
                k: v
                for k, v in vars(record).items()
                if k not in _STANDARD and k != "message"
            }
        )
        if record.exc_info and record.exc_info[0] is not None:
            entry["error"] = record.exc_info[0].__name__
        return json.dumps(entry, default=str)


# Libraries that log request bodies or document text at debug level.
_NOISY = (
    "chromadb",
    "httpx",
    "httpcore",
    "urllib3",
    "presidio-analyzer",
    "presidio-anonymizer",
)


# uvicorn's access log writes each request's raw path and query string, which
# may carry identifiers (`/v1/customers/<email>`, `?intent=<name>`); the
# service writes its own line per request, with the route template instead.
_ACCESS_LOG = "uvicorn.access"

_handler: logging.Handler | None = None


def configure_logging(level: str = "WARNING") -> None:
    """Send log records to stderr as JSON; a second call replaces only our handler."""
    global _handler  # noqa: PLW0603 (one handler per process)
    root = logging.getLogger()
    if _handler is not None:
        root.removeHandler(_handler)
    _handler = logging.StreamHandler(sys.stderr)
    _handler.setFormatter(JsonFormatter())
    # The level is the handler's too: loggers opened wider for metrics
    # (service.metrics) must not widen what is written out.
    _handler.setLevel(level)
    root.addHandler(_handler)
    root.setLevel(level)
    for name in _NOISY:
        logging.getLogger(name).setLevel(
            max(logging.WARNING, logging.getLevelName(level))
        )
    # Its lines are INFO; whatever the level, none of them is written.
    logging.getLogger(_ACCESS_LOG).setLevel(logging.WARNING)
