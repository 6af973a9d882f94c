"""Everything a few daemon cycles judged, printed, so that two trees can be compared byte for byte.

Run from the repository root (of each tree, with ``PYTHONPATH`` set to it), then ``cmp`` the two:

    .venv/bin/python -m bench.cycle_outputs [--slos 400] [--objectives N] [--url URL] > OUT

The fixture of :mod:`bench.cycle_bench` (two days of the runbook's four services at a 15 s
scrape; a Prometheus of its own unless ``--url`` names one already serving it), its SLOs, and
six more of every kind it lacks: a calendar month, a good-events ratio over one day, event and
latency timeslices, a latency threshold without its bucket, and series that do not exist
(``--objectives``: as in :mod:`bench.cycle_bench`, SLOs sharing counts with other targets).
Five cycles at times spread over the two days (the slice store starts empty; the long-lived
objects are frozen after the second, as ``Daemon.run`` does after a first cycle) print every
result, every SLI, the stale SLOs and the exporter's lines (but the cycle durations).
"""

from __future__ import annotations

import argparse
import tempfile
from datetime import datetime, timedelta
from pathlib import Path

from bench.cycle_bench import DAYS
from bench.report_bench import write_definitions
from bench.scale_bench import END, INTERVAL, scenario, stats_daemon
from sloctl.daemon.exporter import exposition
from sloctl.demo.history import History
from sloctl.demo.local_prometheus import LocalPrometheus, backfill

CYCLES = 5
EXTRA = """\
service: api-extra
slos:
  - name: calendar
    indicator:
      ratio:
        total: http_requests_total{service="api"}
        bad: http_requests_total{service="api",code=~"5.."}
    objective: {target: 99.9%}
    window: {calendar: month}
  - name: good
    indicator:
      ratio:
        total: http_requests_total{service="auth"}
        good: http_requests_total{service="auth",code!~"5.."}
    objective: {target: 99.5%}
    window: {rolling: 1d}
  - name: slices
    indicator:
      ratio:
        total: http_requests_total{service="api"}
        bad: http_requests_total{service="api",code=~"5.."}
    objective: {target: 99%}
    window: {rolling: 2d}
    budgetingMethod: Timeslices
    timeSliceTarget: 99%
    timeSliceWindow: 1m
  - name: latency-slices
    indicator:
      latency:
        histogram: http_request_duration_seconds{service="api"}
        threshold: 0.3s
    objective: {target: 95%}
    window: {rolling: 2d}
    budgetingMethod: Timeslices
    timeSliceTarget: 90%
    timeSliceWindow: 5m
  - name: latency-no-bucket
    indicator:
      latency:
        histogram: http_request_duration_seconds{service="api"}
        threshold: 0.123s
    objective: {target: 95%}
    window: {rolling: 2d}
  - name: missing
    indicator:
      ratio:
        total: http_requests_total{service="nowhere"}
        bad: http_requests_total{service="nowhere",code=~"5.."}
    objective: {target: 99.95%}
    window: {rolling: 2d}
"""


def cycle_times() -> list[datetime]:
    """Five cycle times, 37 intervals and five hours apart, moving forward."""
    return [
        END - INTERVAL * (200 - step * 37) - timedelta(hours=(CYCLES - 1 - step) * 5)
        for step in range(CYCLES)
    ]


def outputs(url: str, count: int, work: Path, objectives: int = 1) -> list[str]:
    definitions = work / "defs"
    write_definitions(definitions, count, window=f"rolling: {DAYS}d", objectives=objectives)
    (definitions / "extra.yaml").write_text(EXTRA)
    daemon = stats_daemon(url, definitions, work)
    lines: list[str] = []
    for index, at in enumerate(cycle_times()):
        daemon.cycle(at)
        if index == 1 and hasattr(daemon, "freeze_long_lived"):  # a tree before it has not
            daemon.freeze_long_lived()
        snapshot = daemon.snapshot
        lines.append(f"cycle at {at.isoformat()}")
        lines += [repr(result).replace(str(work), "WORK") for result in snapshot.results]
        lines += [f"sli {key} {sli!r}" for key, sli in sorted(snapshot.slis.items())]
        lines.append(f"stale {sorted(snapshot.stale)}")
        lines += [
            line
            for line in exposition(lambda: daemon.snapshot).decode().splitlines()
            if "cycle" not in line and "duration" not in line
        ]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slos", type=int, default=400)
    parser.add_argument("--objectives", type=int, default=1)
    parser.add_argument("--url")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sloctl-cycle-outputs-") as tmp:
        work = Path(tmp)
        if args.url:
            print("\n".join(outputs(args.url, args.slos, work, args.objectives)))
            return
        History.generate(scenario(DAYS, 1)).write_file(work / "history.om")
        backfill(work / "history.om", work / "data", (DAYS + 1) * 86400)
        with LocalPrometheus(work / "data") as server:
            print("\n".join(outputs(server.url, args.slos, work, args.objectives)))


if __name__ == "__main__":
    main()
