"""``sloctl backtest``: the severity policy replayed over past data."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click

from sloctl.cli.options import (
    config_option,
    definitions_option,
    duration,
    past_time,
    policy_option,
    prometheus_reader,
    prometheus_url_option,
)
from sloctl.cli.state import cli_state


@click.command()
@prometheus_url_option
@config_option
@definitions_option
@policy_option
@click.option("--from", "start_text", required=True, metavar="TIME", help="RFC 3339 start.")
@click.option("--to", "end_text", metavar="TIME", help="RFC 3339 end (not with --explain).")
@click.option("--step", default="1m", show_default=True, callback=duration, help="Evaluation step.")
@click.option("--output", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option(
    "--explain",
    "explain_service",
    metavar="SERVICE",
    help="Print SERVICE's signals and the verdict at --at (replayed from --from).",
)
@click.option("--at", "at_text", metavar="TIME", help="RFC 3339 instant for --explain.")
@click.option(
    "--maintenance",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Maintenance windows: incidents declared in one are suppressed (nothing paged).",
)
@click.pass_context
def backtest(
    ctx: click.Context,
    prometheus_url: str,
    config_path: Path | None,
    definitions: Path,
    policy_path: Path | None,
    start_text: str,
    end_text: str | None,
    step: timedelta,
    output: str,
    explain_service: str | None,
    at_text: str | None,
    maintenance: Path | None,
) -> None:
    """Replay the severity policy over past data: the incidents it would have declared, with
    their timelines and times (detect, restore, impact), or one instant explained."""
    from sloctl.cli.incidents import backtest_command

    now = datetime.now(UTC)
    start = past_time(start_text, now, "--from")
    end = past_time(end_text, now, "--to") if end_text else None
    at = past_time(at_text, now, "--at") if at_text else None
    reader = prometheus_reader(
        ctx, config_path, prometheus_url, env=os.environ, logger=cli_state(ctx).logger
    )
    backtest_command(
        reader, definitions, policy_path, start, end, step, output, explain_service, at, maintenance
    )
