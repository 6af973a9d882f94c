"""The ``sloctl`` command line."""

from __future__ import annotations

import math
import os
import signal
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path

import click

from sloctl.cli.changes import changes
from sloctl.cli.error_reporting import friendly_errors
from sloctl.cli.incidents import backtest_command, incidents
from sloctl.cli.options import (
    DEFAULT_DEFINITIONS,
    config_option,
    definitions_option,
    past_time,
    policy_option,
    prometheus_reader,
    prometheus_url_option,
)
from sloctl.cli.policy_view import in_force
from sloctl.cli.policy_view import render_json as render_policy_json
from sloctl.cli.policy_view import render_table as render_policy_table
from sloctl.core.durations import parse_duration
from sloctl.core.window import Month, WindowKind
from sloctl.daemon.loop import Daemon
from sloctl.demo.live import run_live_demo
from sloctl.demo.offline import prepare_live_workdir, run_demo
from sloctl.demo.service import DemoService, serve
from sloctl.generate.files import Output, dashboards_output, rules_output
from sloctl.loading.config import load_config
from sloctl.loading.definitions import load_definitions
from sloctl.loading.maintenance_file import load_maintenance, maintenance_in_force
from sloctl.loading.policy_file import policy_in_force
from sloctl.promql.slices import DEFAULT_MAX_SAMPLES, QueryBudget
from sloctl.reading.evaluation import evaluate
from sloctl.report.render import OutputFormat, render
from sloctl.runtime.logs import LEVELS, make_logger


def check_timeout(ctx: click.Context, param: click.Parameter, value: float) -> float:
    if not math.isfinite(value) or not 0 < value <= 3600:
        raise click.BadParameter("must be a number of seconds above 0 and at most 3600")
    return value


@click.group()
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
    ctx.obj = {"logger": make_logger(log_level)}


@main.command()
@click.argument("directory", type=click.Path(path_type=Path), default=DEFAULT_DEFINITIONS)
@friendly_errors
def validate(directory: Path) -> None:
    """Check the SLO definitions in DIRECTORY; list every problem and exit non-zero if any."""
    slos = load_definitions(directory)
    services = len({slo.service for slo in slos})
    click.echo(f"{len(slos)} SLOs for {services} services are valid")


@main.command()
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
@click.option(
    "--output",
    "output",
    type=click.Choice([f.value for f in OutputFormat]),
    default="table",
    show_default=True,
)
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
    "--maintenance",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Maintenance windows: the events of those marked correction are excluded "
    "(with --config: its maintenance file unless given).",
)
@click.pass_context
@friendly_errors
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
    maintenance: Path | None,
) -> None:
    """Error budgets of every SLO: budget, consumed, remaining, burn rates and status."""
    at = past_time(at_text, datetime.now(UTC), "--at")
    month = Month.parse(month_text) if month_text else None
    if month is not None and window == WindowKind.ROLLING.value:
        raise click.UsageError("--month reports a calendar month; it cannot be --window rolling")
    slos = load_definitions(definitions)
    reader = prometheus_reader(
        ctx, config_path, prometheus_url, env=os.environ, logger=ctx.obj["logger"], timeout=timeout
    )
    if config_path is not None and (
        ctx.get_parameter_source("max_samples") is not click.core.ParameterSource.COMMANDLINE
    ):
        max_samples = load_config(config_path).spec.query_max_samples
    services = sorted({slo.service for slo in slos})
    if maintenance is not None:
        windows = load_maintenance(maintenance, services)
    elif config_path is not None:
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
    )
    ctx.obj["logger"].info(
        "report_evaluated",
        slos=len(slos),
        queries=evaluation.queries,
        http_requests=reader.requests_made,
    )
    render(evaluation, OutputFormat(output), sys.stdout)


@main.group(invoke_without_command=True)
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
@friendly_errors
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
    ctx.obj.update(definitions=definitions, check=check, policy_path=policy_path)
    if ctx.invoked_subcommand is None:
        slos = load_definitions(definitions)
        policy = policy_in_force(policy_path)
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
@friendly_errors
def generate_rules(ctx: click.Context, out: Path) -> None:
    """Recording and alerting rules, one file per service, and their promtool tests."""
    slos = load_definitions(ctx.obj["definitions"])
    policy = policy_in_force(ctx.obj["policy_path"])
    _apply([rules_output(slos, out, policy)], ctx.obj["check"])


@generate.command("dashboards")
@click.option("--out", type=click.Path(path_type=Path), default=Path("grafana"), show_default=True)
@click.pass_context
@friendly_errors
def generate_dashboards(ctx: click.Context, out: Path) -> None:
    """An overview dashboard and one dashboard per service."""
    slos = load_definitions(ctx.obj["definitions"])
    policy = policy_in_force(ctx.obj["policy_path"])
    _apply([dashboards_output(slos, out, policy)], ctx.obj["check"])


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


@main.command()
@click.option(
    "--workdir",
    type=click.Path(path_type=Path),
    default=Path(".sloctl-demo"),
    show_default=True,
    help="Where the demo keeps its Prometheus data.",
)
@definitions_option
@click.option("--days", type=int, default=30, show_default=True, help="Days of history.")
@click.option("--keep-running", is_flag=True, help="Leave Prometheus running after the report.")
@click.option(
    "--live",
    is_flag=True,
    help="Instead, run a live outage and slowdown: the demo service, a Prometheus scraping it "
    "every second and `sloctl run`, narrated as incidents are declared and resolved.",
)
@click.option(
    "--output",
    "output",
    type=click.Choice([f.value for f in OutputFormat]),
    default="table",
    show_default=True,
)
@click.pass_context
@friendly_errors
def demo(
    ctx: click.Context,
    workdir: Path,
    definitions: Path,
    days: int,
    keep_running: bool,
    live: bool,
    output: str,
) -> None:
    """Start a local Prometheus with synthetic history for the runbook's services and report."""
    if live:
        run_live_demo(prepare_live_workdir(workdir), sys.stdout)
        return
    run_demo(
        workdir=workdir,
        definitions=definitions,
        days=days,
        keep_running=keep_running,
        output=OutputFormat(output),
        out=sys.stdout,
        logger=ctx.obj["logger"],
        environ=dict(os.environ),
    )


main.add_command(incidents)
main.add_command(changes)


@main.group("policy")
def policy_group() -> None:
    """The severity policy: which thresholds are in force for each service."""


@policy_group.command("show")
@definitions_option
@policy_option
@click.option("--service", "service", default=None, help="Only this service.")
@click.option("--output", type=click.Choice(["table", "json"]), default="table", show_default=True)
@friendly_errors
def policy_show(
    definitions: Path, policy_path: Path | None, service: str | None, output: str
) -> None:
    """Print every condition in force per service and SLO: severity, measure, window,
    threshold and duration, as the daemon judges them and the generated alerts fire."""
    services = in_force(load_definitions(definitions), policy_in_force(policy_path))
    if service is not None:
        services = [entry for entry in services if entry.service == service]
        if not services:
            raise click.BadParameter(
                f"no SLO of service {service!r} in {definitions}", param_hint="--service"
            )
    if output == "json":
        render_policy_json(services, sys.stdout)
    else:
        render_policy_table(services, sys.stdout)


@main.command()
@prometheus_url_option
@config_option
@definitions_option
@policy_option
@click.option("--from", "start_text", required=True, metavar="TIME", help="RFC 3339 start.")
@click.option("--to", "end_text", metavar="TIME", help="RFC 3339 end (not with --explain).")
@click.option("--step", default="1m", show_default=True, help="Evaluation step.")
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
@friendly_errors
def backtest(
    ctx: click.Context,
    prometheus_url: str,
    config_path: Path | None,
    definitions: Path,
    policy_path: Path | None,
    start_text: str,
    end_text: str | None,
    step: str,
    output: str,
    explain_service: str | None,
    at_text: str | None,
    maintenance: Path | None,
) -> None:
    """Replay the severity policy over past data: the incidents it would have declared, with
    their timelines and times (detect, restore, impact), or one instant explained."""
    try:
        step_seconds = parse_duration(step)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--step") from exc
    now = datetime.now(UTC)
    start = past_time(start_text, now, "--from")
    end = past_time(end_text, now, "--to") if end_text else None
    at = past_time(at_text, now, "--at") if at_text else None
    reader = prometheus_reader(
        ctx, config_path, prometheus_url, env=os.environ, logger=ctx.obj["logger"]
    )
    backtest_command(
        reader,
        definitions,
        policy_path,
        start,
        end,
        f"{step_seconds}s",
        output,
        explain_service,
        at,
        maintenance,
    )


@main.command("demo-service")
@click.option("--listen", default="127.0.0.1:9100", show_default=True, help="HOST:PORT to serve.")
@click.option(
    "--service",
    "services",
    multiple=True,
    default=("api", "auth", "ai-worker", "database"),
    show_default=True,
    help="Service names to simulate (repeat the option).",
)
@click.option(
    "--rate",
    type=click.FloatRange(0.1, 10000),
    default=20.0,
    show_default=True,
    help="Requests per second per service.",
)
@friendly_errors
def demo_service(listen: str, services: tuple[str, ...], rate: float) -> None:
    """Simulated, instrumented services; POST /control injects errors and latency."""
    host, _, port = listen.rpartition(":")
    if not host or not port.isdigit() or int(port) > 65535:
        raise click.BadParameter(
            "expected HOST:PORT, such as 127.0.0.1:9100", param_hint="--listen"
        )
    stop = threading.Event()
    server = serve(DemoService(services, rate), host, int(port), stop)
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    click.echo(f"demo service on http://{host}:{server.server_address[1]}/metrics", err=True)
    stop.wait()
    server.shutdown()


@main.command()
@click.option("--config", "config_path", type=click.Path(path_type=Path), required=True)
@click.option(
    "--check", is_flag=True, help="Validate the configuration (and what it names), then exit."
)
@click.pass_context
@friendly_errors
def run(ctx: click.Context, config_path: Path, check: bool) -> None:
    """The daemon: evaluate every interval, follow incidents, serve /metrics, /healthz, /readyz."""
    daemon = Daemon(config_path, dict(os.environ), ctx.obj["logger"])
    if check:
        daemon.load()
        daemon.check_store(create=False)
        click.echo(f"{config_path} is valid")
        return
    daemon.run()
