"""How the command line reports sloctl's own errors: one clear message and an exit code.

:class:`sloctl.cli.group.SloctlGroup` hands every :class:`~sloctl.errors.SloctlError` a
command raises to :func:`report`: one place for every command. Anything else is a bug and
keeps its traceback. The messages are the errors' own, which never carry a secret (they are
worded, and secrets masked, where they are raised).
"""

from __future__ import annotations

from typing import NoReturn

import click

from sloctl.errors import DefinitionError, SloctlError


def message(error: SloctlError) -> str:
    """What the user reads: every problem of a file, each on a line of its own; else one line."""
    return error.render() if isinstance(error, DefinitionError) else str(error)


def report(ctx: click.Context, error: SloctlError) -> NoReturn:
    """``sloctl: <message>`` on stderr, then exit with the error's code (closing the store and
    whatever else the commands opened first)."""
    click.echo(f"sloctl: {message(error)}", err=True)
    ctx.exit(error.exit_code)
