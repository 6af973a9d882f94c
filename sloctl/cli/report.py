"""``sloctl report``: every SLO's error budget, read from Prometheus."""

from __future__ import annotations

import math
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

import click
from click.core import ParameterSource

from sloctl.cli.options import (
    config_option,
    definitions_option,
    load_slos,
    past_time,
    prometheus_reader,
    prometheus_url_option,
    report_output_option,
)
from sloctl.cli.state import cli_state
from sloctl.core.window import Month, WindowKind
from sloctl.promql.slices import DEFAULT_MAX_SAMPLES, QueryBudget
from sloctl.report.formats import OutputFormat

DEFAULT_PARALLEL = 4
"""Queries a report sends at once: well under Prometheus's own ``--query.max-concurrency``
(20 by default), and as many as a report of the runbook's services has families of."""
MAX_PARALLEL = 16


def check_timeout(ctx: click.Context, param: click.Parameter, value: float) -> float:
    if not math.isfinite(value) or not 0 < value <= 3600:
        raise click.BadParameter("must be a number of seconds above 0 and at most 3600")
    return value


@click.command()
@prometheus_url_option
@config_option
@definitions_option
@click.option("--at", "at_text", metavar="TIME", help="RFC 3339 evaluation time (default: now).")
@click.option("--month", "month_text", metavar="YYYY-MM", help="Report on that calendar month.")
@click.option(
    "--window",
    "window",
    type=click.Choice([k.value for k in WindowKind]),
    default=None,
    help="Override the definitions' windows: rolling (their length, else 30d) or calendar month.",
)
@report_output_option
@click.option(
    "--timeout",
    type=float,
    default=30.0,
    show_default=True,
    callback=check_timeout,
    help="Seconds each request may take, from connecting to the last byte (with --config: "
    "its prometheus.timeout unless given).",
)
@click.option(
    "--max-samples",
    type=click.IntRange(min=10_000),
    default=DEFAULT_MAX_SAMPLES,
    show_default=True,
    help="Most samples one query may load at its peak; longer windows are read in pieces "
    "(with --config: its query_max_samples unless given).",
)
@click.option(
    "--parallel",
    type=click.IntRange(min=1, max=MAX_PARALLEL),
    default=DEFAULT_PARALLEL,
    show_default=True,
    help="Queries sent to Prometheus at once (each metric family's counts and each "
    "coverage query is independent of the others).",
)
@click.option(
    "--maintenance",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Maintenance windows: the events of those marked correction are excluded "
    "(with --config: its maintenance file unless given).",
)
@click.pass_context
def report(
    ctx: click.Context,
    prometheus_url: str,
    config_path: Path | None,
    definitions: Path,
    at_text: str | None,
    month_text: str | None,
    window: str | None,
    output: str,
    timeout: float,
    max_samples: int,
    parallel: int,
    maintenance: Path | None,
) -> None:
    """Error budgets of every SLO: budget, consumed, remaining, burn rates and status."""
    from sloctl.reading.evaluation import evaluate
    from sloctl.report.render import render

    logger = cli_state(ctx).logger
    at = past_time(at_text, datetime.now(UTC), "--at")
    month = Month.parse(month_text) if month_text else None
    if month is not None and window == WindowKind.ROLLING.value:
        raise click.UsageError("--month reports a calendar month; it cannot be --window rolling")
    slos = load_slos(definitions)
    reader = prometheus_reader(
        ctx, config_path, prometheus_url, env=os.environ, logger=logger, timeout=timeout
    )
    if (
        config_path is not None
        and ctx.get_parameter_source("max_samples") is not ParameterSource.COMMANDLINE
    ):
        from sloctl.loading.config import load_config

        max_samples = load_config(config_path).spec.query_max_samples
    services = sorted({slo.service for slo in slos})
    if maintenance is not None:
        from sloctl.loading.maintenance_file import load_maintenance

        windows = load_maintenance(maintenance, services)
    elif config_path is not None:
        from sloctl.loading.config import load_config
        from sloctl.loading.maintenance_file import maintenance_in_force

        windows = maintenance_in_force(load_config(config_path), slos)
    else:
        windows = ()
    evaluation = evaluate(
        slos,
        reader,
        at,
        kind=WindowKind(window) if window else None,
        month=month,
        budget=QueryBudget(max_samples),
        coverage=True,
        corrections=windows,
        parallel=parallel,
    )
    logger.info(
        "report_evaluated",
        slos=len(slos),
        queries=evaluation.queries,
        http_requests=reader.requests_made,
    )
    render(evaluation, OutputFormat(output), sys.stdout, os.environ)
