"""What the root command hands every command: typed, in place of a dict on ``ctx.obj``."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import cached_property
from typing import Any, TypeVar

import click

from sloctl.runtime.logs import LEVELS, Logger, make_logger

T = TypeVar("T")


class DeferredLogger:
    """The logger :func:`~sloctl.runtime.logs.make_logger` makes at ``level``, made at the
    first event at or above that level: a command that has nothing to log (a report at the
    default level, say) never imports structlog, a tenth of its start-up."""

    def __init__(self, level: str) -> None:
        self.level = level
        self._threshold = LEVELS.index(level)
        self._lock = threading.Lock()
        self._made: Logger | None = None

    def _emit(self, level: str, event: str, fields: dict[str, Any]) -> None:
        if LEVELS.index(level) < self._threshold:
            return
        with self._lock:  # the daemon logs from several threads
            if self._made is None:
                self._made = make_logger(self.level)
        getattr(self._made, level)(event, **fields)

    def debug(self, event: str, **fields: Any) -> None:
        self._emit("debug", event, fields)

    def info(self, event: str, **fields: Any) -> None:
        self._emit("info", event, fields)

    def warning(self, event: str, **fields: Any) -> None:
        self._emit("warning", event, fields)

    def error(self, event: str, **fields: Any) -> None:
        self._emit("error", event, fields)


@dataclass(frozen=True)
class CliState:
    """The root group's options, for every command under it (``ctx.obj`` of the root)."""

    log_level: str

    @cached_property
    def logger(self) -> DeferredLogger:
        """The structured logger at ``--log-level``, for every command to pass along."""
        return DeferredLogger(self.log_level)


def find(ctx: click.Context, kind: type[T]) -> T:
    """The nearest object of ``kind`` a group above ``ctx`` (or ``ctx`` itself) holds.

    Every command runs under the groups that make these objects; one run without them (a
    command invoked on its own, outside ``sloctl``) is a programming error.
    """
    found = ctx.find_object(kind)
    if found is None:
        raise RuntimeError(f"{ctx.command_path} runs without a {kind.__name__}")
    return found


def cli_state(ctx: click.Context) -> CliState:
    return find(ctx, CliState)
