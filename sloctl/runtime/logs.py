"""Structured logging: a structlog logger built per process and passed to whoever logs."""

from __future__ import annotations

import sys
from collections.abc import MutableMapping
from typing import Any, Protocol, TextIO

LEVELS = ("debug", "info", "warning", "error")
SECRET_KEYS = frozenset({"password", "token", "authorization", "routing_key", "webhook_url"})


class Logger(Protocol):
    """What every part of sloctl that logs is given: structlog's level-filtering logger (from
    :func:`make_logger`), or anything else that logs an event with its fields by level."""

    def debug(self, event: str, **fields: Any) -> Any: ...

    def info(self, event: str, **fields: Any) -> Any: ...

    def warning(self, event: str, **fields: Any) -> Any: ...

    def error(self, event: str, **fields: Any) -> Any: ...


def _redact(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key in SECRET_KEYS & event.keys():
        event[key] = "[redacted]"
    return event


def make_logger(
    level: str = "warning", *, json: bool = True, stream: TextIO | None = None
) -> Logger:
    """A logger writing one JSON object per event to ``stream`` (stderr by default).

    Nothing global is configured: the logger is returned and passed along. structlog is
    (and the standard library's logging, for its level numbers) are imported here, not with
    this module, so a command line that only offers :data:`LEVELS` loads neither.
    """
    import logging

    import structlog

    renderer: Any = (
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    )
    logger: Logger = structlog.wrap_logger(
        structlog.PrintLogger(file=stream or sys.stderr),
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            _redact,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping()[level.upper()]
        ),
    )
    return logger
