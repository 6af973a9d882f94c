"""How the command line reports sloctl's own errors: one clear line and an exit code."""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import wraps
from typing import ParamSpec, TypeVar

import click

from sloctl.errors import DefinitionError, SloctlError

P = ParamSpec("P")
R = TypeVar("R")


def friendly_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Turn sloctl's own errors into one clear line on stderr and an exit code."""

    @wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except DefinitionError as exc:
            click.echo(f"sloctl: {exc.render()}", err=True)
            sys.exit(exc.exit_code)
        except SloctlError as exc:
            click.echo(f"sloctl: {exc}", err=True)
            sys.exit(exc.exit_code)

    return wrapper
