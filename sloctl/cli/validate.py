"""``sloctl validate``: check the SLO definitions."""

from __future__ import annotations

from pathlib import Path

import click

from sloctl.cli.options import DEFAULT_DEFINITIONS


@click.command()
@click.argument("directory", type=click.Path(path_type=Path), default=DEFAULT_DEFINITIONS)
def validate(directory: Path) -> None:
    """Check the SLO definitions in DIRECTORY; list every problem and exit non-zero if any."""
    from sloctl.loading.definitions import load_definitions

    slos = load_definitions(directory)
    services = len({slo.service for slo in slos})
    click.echo(f"{len(slos)} SLOs for {services} services are valid")
