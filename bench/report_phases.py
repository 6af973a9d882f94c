"""One ``sloctl report``'s phases, timed inside a fresh process (for ``bench.startup_bench``).

    .venv/bin/python -m bench.report_phases DEFINITIONS PROMETHEUS_URL AT

Prints, as JSON, the seconds of: the imports (the command line and what a report runs), loading
the definitions (as the command does: read back from the cache of validated definitions when
they did not change), the evaluation (the queries Prometheus answers, as many at once as the
command sends) and rendering the table. The
imports are inside :func:`main`, so that they are what is timed.
"""

# ruff: noqa: PLC0415

from __future__ import annotations

import io
import json
import sys
import time
from datetime import datetime
from pathlib import Path


def main() -> None:
    definitions, url, at = sys.argv[1:]
    started = time.perf_counter()
    import sloctl.cli.main  # noqa: F401 - the command line, as `sloctl` starts
    from sloctl.cli.options import load_slos
    from sloctl.cli.report import DEFAULT_PARALLEL
    from sloctl.cli.state import DeferredLogger
    from sloctl.prometheus.client import PrometheusReader
    from sloctl.reading.evaluation import evaluate
    from sloctl.report.formats import OutputFormat
    from sloctl.report.render import render

    imported = time.perf_counter()
    slos = load_slos(Path(definitions))  # validated, or read back as the command does
    loaded = time.perf_counter()
    reader = PrometheusReader(url, logger=DeferredLogger("warning"))  # the command's default
    moment = datetime.fromisoformat(at)
    evaluation = evaluate(slos, reader, moment, coverage=True, parallel=DEFAULT_PARALLEL)
    evaluated = time.perf_counter()
    render(evaluation, OutputFormat.TABLE, io.StringIO())
    rendered = time.perf_counter()
    spans = {
        "imports": imported - started,
        "loading the definitions": loaded - imported,
        "evaluation (Prometheus's answers)": evaluated - loaded,
        "rendering the table": rendered - evaluated,
    }
    print(json.dumps(spans))


if __name__ == "__main__":
    main()
