"""The ``sloctl`` command line: the root group and where each of its commands lives.

A command's module is imported when that command runs or its help is shown, and imports what
the command needs only when it runs: ``sloctl --help`` loads click and these declarations,
not the daemon, pydantic, requests or the Grafana SDK (``bench/startup_bench.py``).
"""

from __future__ import annotations

import click

from sloctl.cli.group import SloctlGroup
from sloctl.cli.state import CliState
from sloctl.runtime.logs import LEVELS

COMMANDS = {
    "backtest": "sloctl.cli.backtest:backtest",
    "demo": "sloctl.cli.demo:demo",
    "changes": "sloctl.cli.changes:changes",
    "demo-service": "sloctl.cli.demo:demo_service",
    "generate": "sloctl.cli.generate:generate",
    "incidents": "sloctl.cli.incidents:incidents",
    "policy": "sloctl.cli.policy:policy_group",
    "report": "sloctl.cli.report:report",
    "run": "sloctl.cli.run:run",
    "validate": "sloctl.cli.validate:validate",
}
"""Every command of ``sloctl``: its name and the ``module:attribute`` that defines it."""


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
