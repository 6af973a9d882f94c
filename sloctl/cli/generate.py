"""``sloctl generate``: Prometheus rules and Grafana dashboards from the definitions."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import click

from sloctl.cli.options import definitions_option, load_slos, policy_option
from sloctl.cli.state import find

if TYPE_CHECKING:
    from sloctl.core.slo import Slo
    from sloctl.generate.files import Output
    from sloctl.incidents.policy import Policy


@dataclass(frozen=True)
class Generation:
    """The ``generate`` group's options, for its ``rules`` and ``dashboards`` subcommands."""

    definitions: Path
    policy_path: Path | None
    check: bool

    def inputs(self) -> tuple[tuple[Slo, ...], Policy]:
        """The definitions and the severity policy in force, loaded."""
        from sloctl.loading.policy_file import policy_in_force

        return load_slos(self.definitions), policy_in_force(self.policy_path)


@click.group(invoke_without_command=True)
@definitions_option
@policy_option
@click.option(
    "--rules-dir", type=click.Path(path_type=Path), default=Path("alert-rules"), show_default=True
)
@click.option(
    "--dashboards-dir",
    type=click.Path(path_type=Path),
    default=Path("grafana"),
    show_default=True,
)
@click.option("--check", is_flag=True, help="Write nothing; exit 1 if the files are not current.")
@click.pass_context
def generate(
    ctx: click.Context,
    definitions: Path,
    policy_path: Path | None,
    rules_dir: Path,
    dashboards_dir: Path,
    check: bool,
) -> None:
    """Prometheus rules (with promtool tests) and Grafana dashboards from the definitions and
    the severity policy in force."""
    generation = Generation(definitions, policy_path, check)
    ctx.obj = generation
    if ctx.invoked_subcommand is None:
        from sloctl.generate.files import dashboards_output, rules_output

        slos, policy = generation.inputs()
        _apply(
            [
                rules_output(slos, rules_dir, policy),
                dashboards_output(slos, dashboards_dir, policy),
            ],
            check,
        )


@generate.command("rules")
@click.option(
    "--out", type=click.Path(path_type=Path), default=Path("alert-rules"), show_default=True
)
@click.pass_context
def generate_rules(ctx: click.Context, out: Path) -> None:
    """Recording and alerting rules, one file per service, and their promtool tests."""
    from sloctl.generate.files import rules_output

    generation = find(ctx, Generation)
    slos, policy = generation.inputs()
    _apply([rules_output(slos, out, policy)], generation.check)


@generate.command("dashboards")
@click.option("--out", type=click.Path(path_type=Path), default=Path("grafana"), show_default=True)
@click.pass_context
def generate_dashboards(ctx: click.Context, out: Path) -> None:
    """An overview dashboard and one dashboard per service."""
    from sloctl.generate.files import dashboards_output

    generation = find(ctx, Generation)
    slos, policy = generation.inputs()
    _apply([dashboards_output(slos, out, policy)], generation.check)


def _apply(outputs: list[Output], check: bool) -> None:
    for output in outputs:
        for warning in output.warnings:
            click.echo(f"sloctl: warning: {warning}", err=True)
    if check:
        drift = [line for output in outputs for line in output.drift()]
        if drift:
            click.echo("sloctl: generated files are out of date (run `sloctl generate`):", err=True)
            for line in drift:
                click.echo(f"  {line}", err=True)
            sys.exit(1)
        click.echo("generated files are up to date")
        return
    for output in outputs:
        changed = output.write()
        click.echo(f"{output.directory}: {len(output.files)} files, {len(changed)} changed")
