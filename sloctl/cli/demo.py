"""``sloctl demo`` and ``sloctl demo-service``: the runbook's services, simulated locally."""

from __future__ import annotations

import os
import signal
import sys
import threading
from pathlib import Path

import click

from sloctl.cli.options import definitions_option, report_output_option
from sloctl.cli.state import cli_state
from sloctl.report.formats import OutputFormat


@click.command()
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
@report_output_option
@click.pass_context
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
    from sloctl.demo.offline import prepare_live_workdir, run_demo

    if live:
        from sloctl.demo.live import run_live_demo

        run_live_demo(prepare_live_workdir(workdir), sys.stdout)
        return
    run_demo(
        workdir=workdir,
        definitions=definitions,
        days=days,
        keep_running=keep_running,
        output=OutputFormat(output),
        out=sys.stdout,
        logger=cli_state(ctx).logger,
        environ=dict(os.environ),
    )


@click.command("demo-service")
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
def demo_service(listen: str, services: tuple[str, ...], rate: float) -> None:
    """Simulated, instrumented services; POST /control injects errors and latency."""
    from sloctl.demo.service import DemoService, serve

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
