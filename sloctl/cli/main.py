"""The ``sloctl`` command line: the root group and where each of its commands lives.

A command's module is imported when that command runs or its help is shown, and imports what
the command needs only when it runs: ``sloctl --help`` loads click and these declarations,
not the daemon, pydantic, requests or the Grafana SDK (``bench/startup_bench.py``).
"""

from __future__ import annotations

import click

from sloctl.cli.group import LazyCommand, SloctlGroup
from sloctl.cli.state import CliState
from sloctl.runtime.logs import LEVELS

COMMANDS = {
    "backtest": LazyCommand(
        "sloctl.cli.backtest:backtest", "Replay the severity policy over past data."
    ),
    "changes": LazyCommand(
        "sloctl.cli.changes:changes", "Record and list deployments and other changes."
    ),
    "demo": LazyCommand(
        "sloctl.cli.demo:demo", "A local Prometheus with synthetic history, reported."
    ),
    "demo-service": LazyCommand(
        "sloctl.cli.demo:demo_service", "Simulated, instrumented services for the demo."
    ),
    "generate": LazyCommand(
        "sloctl.cli.generate:generate", "Prometheus rules, their tests and Grafana dashboards."
    ),
    "incidents": LazyCommand(
        "sloctl.cli.incidents:incidents", "Declare, follow and close incidents; post-mortems."
    ),
    "policy": LazyCommand(
        "sloctl.cli.policy:policy_group", "The severity thresholds in force per service."
    ),
    "report": LazyCommand(
        "sloctl.cli.report:report", "Error budgets, burn rates and status of every SLO."
    ),
    "run": LazyCommand(
        "sloctl.cli.run:run", "The daemon: evaluate, follow incidents, notify, serve."
    ),
    "validate": LazyCommand(
        "sloctl.cli.validate:validate", "Check the SLO definitions; list every problem."
    ),
}
"""Every command of ``sloctl``: its name, where it is defined and its one-line summary."""


@click.group(cls=SloctlGroup, lazy_commands=COMMANDS)
@click.version_option(package_name="sloctl")
@click.option(
    "--log-level",
    type=click.Choice(LEVELS),
    default="warning",
    show_default=True,
    help="Structured (JSON) log events at this level and above go to stderr.",
)
@click.pass_context
def main(ctx: click.Context, log_level: str) -> None:
    """SLOs and error budgets from Prometheus, the way the incident runbook reads them."""
    ctx.obj = CliState(log_level)
