"""Benchmark: `sloctl backtest` over a month of the four shipped services.

Run from the repository root:

    .venv/bin/python -m bench.backtest_bench

It backfills the demo's thirty days of history (one-minute samples) into a Prometheus on
loopback and replays the shipped policy (deploy/policy.yaml) over the whole month at a
one-minute step, with the shipped definitions: wall time, HTTP requests, incidents found.
"""

from __future__ import annotations

import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sloctl.demo.history import History, demo_scenario
from sloctl.demo.local_prometheus import LocalPrometheus, backfill
from sloctl.incidents.backtest import backtest
from sloctl.loading.definitions import load_definitions
from sloctl.loading.policy_file import load_policy
from sloctl.prometheus.client import PrometheusReader

END = datetime(2026, 11, 1, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    scenario = demo_scenario(END, days=30)
    with tempfile.TemporaryDirectory(prefix="sloctl-backtest-bench-") as tmp:
        work = Path(tmp)
        History.generate(scenario).write_file(work / "history.om")
        backfill(work / "history.om", work / "data", 30 * 86400)
        slos = load_definitions(ROOT / "slo-definitions")
        policy = load_policy(ROOT / "deploy" / "policy.yaml")
        with LocalPrometheus(work / "data") as server:
            reader = PrometheusReader(server.url, timeout=300)
            started = time.perf_counter()
            found = backtest(slos, reader, policy, scenario.start, scenario.end)
            wall = time.perf_counter() - started
    print("| span | step | SLOs | wall s | HTTP requests | incidents |")
    print("|---|---|---:|---:|---:|---:|")
    print(f"| 30 days | 1m | {len(slos)} | {wall:.1f} | {reader.requests_made} | {len(found)} |")
    for replayed in found:
        incident = replayed.incident
        end = f"{replayed.end:%Y-%m-%d %H:%M}" if replayed.end else "open"
        print(
            f"- {', '.join(incident.services)} ({', '.join(c.value for c in incident.causes)}) "
            f"{replayed.peak_severity}: declared {incident.detected_at:%Y-%m-%d %H:%M} "
            f"(detected after {minutes(incident.time_to_detect)}), resolved {end}, impact "
            f"{minutes(incident.impact)}"
        )


def minutes(span: timedelta | None) -> str:
    return "-" if span is None else f"{span.total_seconds() / 60:.0f} min"


if __name__ == "__main__":
    main()
