"""Benchmark: samples read per report, daemon cycle and `generate`, beside today's way.

Run from the repository root:

    .venv/bin/python -m bench.scale_bench [--slos 4 1000 10000] [--fixture month wide]

Two fixtures, each backfilled into a Prometheus 2.42 on loopback (default limits):

- ``month``: thirty days of the runbook's four services at a 15 s scrape, one instance each
  (60 series), SLO windows of 30 days;
- ``wide``: two days at a 15 s scrape, every counter written by 20 pods (about 300 series per
  service, 1,200 in all), SLO windows of 2 days.

For each fixture and SLO count a fresh child process measures one of:

- ``report``: :func:`sloctl.reading.evaluation.evaluate` as ``sloctl report`` runs it;
- ``report today``: the same SLOs read the way sloctl did before, one raw
  ``increase(...[window])`` per metric family and window;
- ``cycle``: the daemon's cycle (budgets and signals, the store, the decisions), first on an
  empty store (it reads every slice once), then (what lives on frozen, as ``Daemon.run``
  freezes it after a first cycle) every 30 s; the steady cycles' median, and
  the same HTTP requests sent again with a bare ``requests`` session (the bare query time);
- ``cycle today``: the same daemon cycle reading every window whole from the raw counters,
  as before (no slice store);
- ``generate``: rules and dashboards for the SLOs, written as ``sloctl generate`` writes them
  (no Prometheus).

Samples read and peak samples come from Prometheus's own ``stats=all``; peak RSS is the
child's ``VmHWM``. Results are printed as a Markdown table.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests
import structlog

from bench.daemon_bench import BenchDaemon
from bench.report_bench import peak_rss_kib, write_definitions
from sloctl.core.window import span_for
from sloctl.daemon.loop import loaded_from
from sloctl.demo.history import History, Scenario, runbook_profiles
from sloctl.demo.local_prometheus import LocalPrometheus, backfill
from sloctl.generate.files import dashboards_output, rules_output
from sloctl.loading.config import Config
from sloctl.loading.definitions import load_definitions
from sloctl.loading.policy_file import shipped_policy
from sloctl.prometheus.client import PrometheusReader
from sloctl.promql.plan import CountRequest, SloCounts, plan, split_answer
from sloctl.reading.evaluation import BURN_WINDOWS, Slicing, evaluate, judge
from sloctl.store.database import Store

END = datetime(2026, 11, 1, tzinfo=UTC)
INTERVAL = timedelta(seconds=30)
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
FIXTURES = {"month": (30, 1), "wide": (2, 20)}
"""Fixture name: (days, pods per service)."""
STEADY_CYCLES = 5
WAYS = ("report today", "report", "cycle today", "cycle", "generate")


def scenario(days: int, pods: int) -> Scenario:
    return Scenario(
        start=END - timedelta(days=days, hours=1),
        end=END,
        step=15,
        profiles=runbook_profiles(),
        pods=pods,
    )


@dataclasses.dataclass
class StatsDaemon(BenchDaemon):
    readers: list[PrometheusReader] = dataclasses.field(default_factory=list)
    today: bool = False
    """Read every window whole from the raw counters each cycle, as sloctl did before."""

    def reader(self, config: Config, deadline: float | None = None) -> PrometheusReader:
        reader = super().reader(config, deadline)
        reader.stats = True
        self.readers.append(reader)
        return reader

    def slicing(self, store: Store, reader: PrometheusReader) -> Slicing | None:
        return None if self.today else super().slicing(store, reader)


def stats_daemon(url: str, definitions: Path, work: Path, *, today: bool = False) -> StatsDaemon:
    """A daemon over ``definitions`` asking ``url`` every 30 s, its store in ``work``, its
    logs dropped."""
    config = work / "sloctl.yaml"
    config.write_text(
        f"prometheus: {{url: '{url}', timeout: 600s}}\ninterval: 30s\n"
        f"definitions: {definitions}\nstore: {work / 'incidents.db'}\nlisten: 127.0.0.1:0\n"
    )
    logger = structlog.wrap_logger(structlog.PrintLogger(open(os.devnull, "w")))  # noqa: SIM115
    return StatsDaemon(loaded_from(config, {}, logger), {}, logger, today=today)


def todays_report(slos: Any, reader: PrometheusReader, at: datetime) -> None:
    """The report as sloctl read it before: one raw increase per family and window (the
    batches :func:`sloctl.promql.plan.plan` still writes), judged the same way."""
    requests_ = []
    for slo in slos:
        span = span_for(slo, at)
        windows = (span.measured_seconds, *(int(w.total_seconds()) for _, w in BURN_WINDOWS))
        requests_.append(CountRequest(slo, span.end, windows))
    readings: SloCounts = {}
    for batch in plan(requests_):
        samples = reader.instant(batch.expr, batch.time, slos=batch.slo_keys)
        split_answer(batch, samples, into=readings)
    judge(slos, {slo.key: span_for(slo, at) for slo in slos}, readings)


def child(kind: str, url: str, definitions: Path, work: Path) -> dict[str, Any]:
    if kind == "generate":
        started = time.perf_counter()
        slos = load_definitions(definitions)
        policy = shipped_policy()
        rules_output(slos, work / "rules", policy).write()
        dashboards_output(slos, work / "grafana", policy).write()
        return {"wall": time.perf_counter() - started, "slos": len(slos)}
    if kind in ("report", "report today"):
        slos = load_definitions(definitions)
        reader = PrometheusReader(url, timeout=600, stats=True)
        started = time.perf_counter()
        if kind == "report":
            evaluate(slos, reader, END)
        else:
            todays_report(slos, reader, END)
        return {
            "wall": time.perf_counter() - started,
            "requests": reader.requests_made,
            "samples": reader.samples_read,
            "peak": reader.peak_samples,
            "slos": len(slos),
        }
    daemon = stats_daemon(url, definitions, work, today=kind == "cycle today")
    first_at = END - INTERVAL * (STEADY_CYCLES + 1)
    first = daemon.cycle(first_at)
    daemon.freeze_long_lived()  # as Daemon.run does after a first cycle
    filled = daemon.readers[-1]
    walls, bare, samples, peak, sent = [], [], [], 0, 0
    session = requests.Session()
    for index in range(STEADY_CYCLES):
        daemon.recorded.clear()
        report = daemon.cycle(first_at + INTERVAL * (index + 1))
        reader = daemon.readers[-1]
        walls.append(report.seconds)
        samples.append(reader.samples_read)
        peak, sent = max(peak, reader.peak_samples), report.requests
        started = time.perf_counter()
        for target, data in daemon.recorded:
            session.post(target, data=data, headers=FORM, timeout=600).raise_for_status()
        bare.append(time.perf_counter() - started)
    return {
        "wall": statistics.median(walls),
        "bare": statistics.median(bare),
        "requests": sent,
        "samples": statistics.median(samples),
        "peak": peak,
        "slos": len(daemon.loaded.slos),
        "first_wall": first.seconds,
        "first_samples": filled.samples_read,
        "first_requests": first.requests,
        "first_peak": filled.peak_samples,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slos", type=int, nargs="+", default=[4, 1000, 10000])
    parser.add_argument("--fixture", nargs="+", choices=sorted(FIXTURES), default=["month", "wide"])
    parser.add_argument("--ways", nargs="+", choices=WAYS, default=list(WAYS))
    parser.add_argument("--child", nargs=4, metavar=("KIND", "URL", "DEFINITIONS", "WORK"))
    args = parser.parse_args()
    if args.child:
        kind, url, definitions, work = args.child
        row = child(kind, url, Path(definitions), Path(work))
        row["rss_mib"] = peak_rss_kib() / 1024
        print(json.dumps(row))
        return
    print(
        "| fixture | SLOs | way | wall s | bare s | HTTP requests | samples read "
        "| peak samples per query | peak RSS MiB |"
    )
    print("|---|---:|---|---:|---:|---:|---:|---:|---:|")
    for name in args.fixture:
        days, pods = FIXTURES[name]
        with tempfile.TemporaryDirectory(prefix="sloctl-scale-bench-") as tmp:
            work = Path(tmp)
            history = History.generate(scenario(days, pods))
            history.write_file(work / "history.om")
            del history
            backfill(work / "history.om", work / "data", (days + 1) * 86400)
            (work / "history.om").unlink()
            with LocalPrometheus(work / "data") as server:
                for count in args.slos:
                    definitions = work / f"defs-{count}"
                    write_definitions(definitions, count, window=f"rolling: {days}d")
                    for kind in args.ways:
                        run = work / f"run-{count}-{kind.replace(' ', '-')}"
                        run.mkdir()
                        done = subprocess.run(
                            [
                                sys.executable,
                                "-m",
                                "bench.scale_bench",
                                "--child",
                                kind,
                                server.url,
                                str(definitions),
                                str(run),
                            ],
                            capture_output=True,
                            text=True,
                            check=True,
                        )
                        print_row(name, count, kind, json.loads(done.stdout))


def print_row(fixture: str, count: int, kind: str, row: dict[str, Any]) -> None:
    def number(key: str) -> str:
        return f"{row[key]:,.0f}" if key in row else ""

    bare = f"{row['bare']:.3f}" if "bare" in row else ""
    print(
        f"| {fixture} | {row['slos']:,} | {kind} | {row['wall']:.3f} | {bare} "
        f"| {number('requests')} | {number('samples')} | {number('peak')} | {row['rss_mib']:.0f} |"
    )
    if "first_wall" in row:
        print(
            f"| {fixture} | {row['slos']:,} | {kind}, first | {row['first_wall']:.3f} | "
            f"| {row['first_requests']:,} | {row['first_samples']:,} | {row['first_peak']:,} | |"
        )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
