"""What the root command hands every command: typed, in place of a dict on ``ctx.obj``."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any, TypeVar

import click

from sloctl.runtime.logs import make_logger

T = TypeVar("T")


@dataclass(frozen=True)
class CliState:
    """The root group's options, for every command under it (``ctx.obj`` of the root)."""

    log_level: str

    @cached_property
    def logger(self) -> Any:
        """The structured logger at ``--log-level``, made when a command first logs."""
        return make_logger(self.log_level)


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
