"""``sloctl demo``: a local Prometheus with thirty days of synthetic history, and its report."""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from sloctl.demo.history import History, demo_scenario
from sloctl.demo.local_prometheus import LocalPrometheus, backfill
from sloctl.errors import InvalidRequestError
from sloctl.loading.definitions import load_definitions
from sloctl.prometheus.client import PrometheusReader
from sloctl.reading.evaluation import evaluate
from sloctl.report.formats import OutputFormat
from sloctl.report.render import render
from sloctl.runtime.logs import Logger

MARKER = ".sloctl-demo"


def prepare_workdir(workdir: Path) -> None:
    """Empty ``workdir`` for a new history, but only if the demo made it: never a user's files."""
    if workdir.exists():
        if not (workdir / MARKER).is_file():
            if any(workdir.iterdir()):
                raise InvalidRequestError(
                    f"--workdir {workdir} exists and was not made by sloctl demo; "
                    "pick a new or empty directory"
                )
        else:
            shutil.rmtree(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / MARKER).write_text("made by sloctl demo; removed and rebuilt on each run\n")


def prepare_live_workdir(workdir: Path) -> Path:
    """``workdir/live``, emptied; ``workdir`` must be the demo's own or new."""
    if workdir.exists() and any(workdir.iterdir()) and not (workdir / MARKER).is_file():
        raise InvalidRequestError(
            f"--workdir {workdir} exists and was not made by sloctl demo; "
            "pick a new or empty directory"
        )
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / MARKER).write_text("made by sloctl demo; removed and rebuilt on each run\n")
    prepare_workdir(workdir / "live")
    return workdir / "live"


def run_demo(
    *,
    workdir: Path,
    definitions: Path,
    days: int,
    keep_running: bool,
    output: OutputFormat,
    out: TextIO,
    logger: Logger,
    environ: Mapping[str, str],
) -> None:
    """Generate history ending now, backfill it, serve it and print the report at its end."""
    slos = load_definitions(definitions)
    now = datetime.now(UTC)
    scenario = demo_scenario(now, days=days)
    prepare_workdir(workdir)
    openmetrics = workdir / "history.om"
    logger.info("demo_generating", days=days, end=scenario.end.isoformat())
    History.generate(scenario).write_file(openmetrics)
    data_dir = workdir / "data"
    backfill(openmetrics, data_dir, int((scenario.end - scenario.start).total_seconds()))
    openmetrics.unlink()
    port = int(environ.get("SLOCTL_DEMO_PORT", "0"))
    server = LocalPrometheus(data_dir, port=port).start()
    try:
        reader = PrometheusReader(server.url, logger=logger)
        evaluation = evaluate(slos, reader, scenario.end, coverage=True)  # as `sloctl report`
        render(evaluation, output, out)
        out.write(
            f"\nPrometheus with the demo history: {server.url} "
            f"({reader.requests_made} queries answered this report)\n"
        )
        if keep_running:
            pid = server.process.pid if server.process else "?"
            at = f"{scenario.end:%Y-%m-%dT%H:%M:%SZ}"
            out.write(
                f"It keeps running (pid {pid}); try:\n"
                f"  sloctl report --prometheus-url {server.url} --at {at}\n"
            )
            server.process = None  # leave it running
    finally:
        server.stop()
