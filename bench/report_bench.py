"""Benchmark: `sloctl report` for one month, batched, beside the naive one-query-per-SLO way.

Run from the repository root:

    .venv/bin/python -m bench.report_bench [--slos 4 1000] [--repeat 3]

It generates October 2026 for the runbook's four services (one-minute samples), backfills it
into a Prometheus on loopback, and for each SLO count measures, in a child process each:

- sloctl: the budgets as `sloctl report --month 2026-10` computes them (batched queries);
- sloctl+coverage: the same and the coverage of each window, as `sloctl report` asks them;
- naive: one raw query per SLO, per window and per side (bad, total), as slo-generator does.

Wall time, HTTP requests and peak RSS are printed as a Markdown table, with naive / sloctl
ratios measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sloctl.core.slo import Slo
from sloctl.core.window import Month, span_for
from sloctl.demo.history import History, demo_scenario
from sloctl.demo.local_prometheus import LocalPrometheus, backfill
from sloctl.loading.definitions import load_definitions
from sloctl.prometheus.client import PrometheusReader
from sloctl.promql.build import summed_increase
from sloctl.reading.evaluation import BURN_WINDOWS, evaluate

MONTH = Month(2026, 10)
MONTH_END = datetime(2026, 11, 1, tzinfo=UTC)
SERVICES = ("api", "auth", "ai-worker", "database")
THRESHOLD = {"api": "200ms", "auth": "200ms", "ai-worker": "2.5s", "database": "200ms"}


def write_definitions(
    directory: Path, count: int, window: str = "calendar: month", objectives: int = 1
) -> None:
    """``count`` SLOs spread over the four services, half availability and half latency;
    the SLOs of one indicator have up to ``objectives`` different targets (99.9% and 95%,
    lowered 0.0001 point per step), so that the SLOs sharing counts differ in their budgets."""
    directory.mkdir(parents=True, exist_ok=True)
    per_service: dict[str, list[str]] = {s: [] for s in SERVICES}
    indicators = 2 * len(SERVICES)
    for index in range(count):
        service = SERVICES[(index // 2) % len(SERVICES)]
        selector = f'{{service="{service}"}}'
        lowered = Decimal((index // indicators) % objectives) / 10_000
        if index % 2 == 0:
            per_service[service].append(
                f"""  - name: availability-{index}
    indicator:
      ratio:
        total: http_requests_total{selector}
        bad: http_requests_total{{service="{service}",code=~"5.."}}
    objective: {{target: {Decimal("99.9") - lowered}%}}
    window: {{{window}}}
"""
            )
        else:
            per_service[service].append(
                f"""  - name: latency-{index}
    indicator:
      latency:
        histogram: http_request_duration_seconds{selector}
        threshold: {THRESHOLD[service]}
    objective: {{target: {Decimal(95) - lowered}%}}
    window: {{{window}}}
"""
            )
    for service, slos in per_service.items():
        if slos:
            text = f"service: {service}\nslos:\n{''.join(slos)}"
            (directory / f"{service}.yaml").write_text(text)


def naive(slos: tuple[Slo, ...], reader: PrometheusReader) -> None:
    """One query per SLO, window and side: what a tool without batching sends."""
    for slo in slos:
        span = span_for(slo, MONTH_END, month=MONTH)
        windows = [span.measured_seconds, *(int(w.total_seconds()) for _, w in BURN_WINDOWS)]
        indicator = slo.indicator
        sides = [indicator.total, indicator.bad if indicator.bad is not None else indicator.good]
        for seconds in windows:
            for selector in sides:
                assert selector is not None
                reader.instant(summed_increase(selector, (), seconds), span.end, slos=[slo.key])


def child_row(tree: Path, command: list[str]) -> dict[str, Any]:
    """The JSON row a benchmark's child ``command`` prints, run with ``tree``'s ``sloctl`` (as
    the benchmarks that compare another commit's tree with this one run each)."""
    done = subprocess.run(
        command,
        cwd=tree,
        env={**os.environ, "PYTHONPATH": str(tree)},
        capture_output=True,
        text=True,
        check=True,
    )
    row: dict[str, Any] = json.loads(done.stdout)
    return row


def peak_rss_kib() -> int:
    """This process's peak resident set (VmHWM).

    Not ru_maxrss: Linux carries that over exec from the parent, which here holds a month of
    generated history.
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError("no VmHWM in /proc/self/status")


def child(mode: str, url: str, definitions: Path) -> None:
    loading = time.perf_counter()
    slos = load_definitions(definitions)
    reader = PrometheusReader(url, timeout=600)
    started = time.perf_counter()
    if mode == "sloctl":
        evaluate(slos, reader, MONTH_END, month=MONTH)
    elif mode == "sloctl+coverage":  # what `sloctl report` asks: the budgets and their coverage
        evaluate(slos, reader, MONTH_END, month=MONTH, coverage=True)
    else:
        naive(slos, reader)
    wall = time.perf_counter() - started
    peak_kib = peak_rss_kib()
    result = {
        "wall": wall,
        "load": started - loading,
        "requests": reader.requests_made,
        "rss_mib": peak_kib / 1024,
    }
    print(json.dumps(result))


def measure(mode: str, url: str, definitions: Path) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, "-m", "bench.report_bench", "--child", mode, url, str(definitions)],
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, float] = json.loads(done.stdout)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slos", type=int, nargs="+", default=[8, 1000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--child", nargs=3, metavar=("MODE", "URL", "DIR"))
    args = parser.parse_args()
    if args.child:
        mode, url, directory = args.child
        child(mode, url, Path(directory))
        return
    with tempfile.TemporaryDirectory(prefix="sloctl-bench-") as tmp:
        work = Path(tmp)
        scenario = demo_scenario(MONTH_END, days=31)
        history = History.generate(scenario)
        history.write_file(work / "history.om")
        backfill(work / "history.om", work / "data", 31 * 86400)
        with LocalPrometheus(work / "data") as server:
            print("| SLOs | way | queries s (median) | loading s | HTTP requests | peak RSS MiB |")
            print("|---:|---|---:|---:|---:|---:|")
            for count in args.slos:
                definitions = work / f"defs-{count}"
                write_definitions(definitions, count)
                rows = {}
                for mode in ("sloctl", "sloctl+coverage", "naive"):
                    runs = [measure(mode, server.url, definitions) for _ in range(args.repeat)]
                    rows[mode] = {
                        "wall": statistics.median(r["wall"] for r in runs),
                        "load": statistics.median(r["load"] for r in runs),
                        "requests": runs[0]["requests"],
                        "rss_mib": max(r["rss_mib"] for r in runs),
                    }
                    row = rows[mode]
                    print(
                        f"| {count} | {mode} | {row['wall']:.3f} | {row['load']:.3f} "
                        f"| {row['requests']:.0f} | {row['rss_mib']:.0f} |"
                    )
                ratio_wall = rows["naive"]["wall"] / rows["sloctl"]["wall"]
                ratio_requests = rows["naive"]["requests"] / rows["sloctl"]["requests"]
                print(
                    f"| {count} | naive / sloctl | {ratio_wall:.1f}x | | {ratio_requests:.0f}x | |"
                )
                sys.stdout.flush()


if __name__ == "__main__":
    main()
