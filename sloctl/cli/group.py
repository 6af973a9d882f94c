"""The root command group: each command loaded when it is needed, every error reported alike."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import click

from sloctl.cli.error_reporting import report
from sloctl.errors import SloctlError


@dataclass(frozen=True)
class LazyCommand:
    """A command of the group, imported only when it is run or its own help is shown."""

    target: str
    """``module:attribute`` of the click command."""
    summary: str
    """Its line in ``sloctl --help``: listing the commands imports none of them."""


class SloctlGroup(click.Group):
    """A group whose commands are named in ``lazy_commands`` and imported only when one of
    them is run or its help shown (click's lazy-loading pattern), so that ``sloctl --help``
    loads no command's module, let alone its dependencies.

    It is also the one place where sloctl's own errors become a message and an exit code: a
    :class:`~sloctl.errors.SloctlError` raised by any command below it, or by its own
    callback, becomes one message on stderr and the error's exit code
    (:func:`sloctl.cli.error_reporting.report`).
    """

    def __init__(self, *args: Any, lazy_commands: Mapping[str, LazyCommand], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy_commands = dict(lazy_commands)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy_commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy_commands and cmd_name not in self.commands:
            self.add_command(self._load(cmd_name), cmd_name)
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The commands and their summaries, as click lists them, from the declarations."""
        rows = []
        for name in self.list_commands(ctx):
            lazy = self.lazy_commands.get(name)
            if lazy is not None and name not in self.commands:
                rows.append((name, lazy.summary))
                continue
            command = self.get_command(ctx, name)
            if command is not None and not command.hidden:
                rows.append((name, command.get_short_help_str(formatter.width)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def _load(self, name: str) -> click.Command:
        target = self.lazy_commands[name].target
        module_name, _, attribute = target.partition(":")
        command = getattr(importlib.import_module(module_name), attribute)
        if not isinstance(command, click.Command):
            raise TypeError(f"{target} is not a click command")
        command.short_help = self.lazy_commands[name].summary
        return command

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except SloctlError as exc:
            report(ctx, exc)
