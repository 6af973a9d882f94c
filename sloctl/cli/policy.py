"""``sloctl policy``: the severity policy in force."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from sloctl.cli.options import definitions_option, load_slos, policy_option


@click.group("policy")
def policy_group() -> None:
    """The severity policy: which thresholds are in force for each service."""


@policy_group.command("show")
@definitions_option
@policy_option
@click.option("--service", "service", default=None, help="Only this service.")
@click.option("--output", type=click.Choice(["table", "json"]), default="table", show_default=True)
def policy_show(
    definitions: Path, policy_path: Path | None, service: str | None, output: str
) -> None:
    """Print every condition in force per service and SLO: severity, measure, window,
    threshold and duration, as the daemon judges them and the generated alerts fire."""
    from sloctl.cli.policy_view import in_force, render_json, render_table
    from sloctl.loading.policy_file import policy_in_force

    services = in_force(load_slos(definitions), policy_in_force(policy_path))
    if service is not None:
        services = [entry for entry in services if entry.service == service]
        if not services:
            raise click.BadParameter(
                f"no SLO of service {service!r} in {definitions}", param_hint="--service"
            )
    if output == "json":
        render_json(services, sys.stdout)
    else:
        render_table(services, sys.stdout)
