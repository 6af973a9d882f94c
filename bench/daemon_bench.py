"""Benchmark: one `sloctl run` cycle at 4, 100 and 1,000 SLOs, beside its bare queries.

Run from the repository root:

    .venv/bin/python -m bench.daemon_bench [--slos 4 100 1000] [--cycles 5]

It generates 31 days of the runbook's four services (one-minute samples), backfills them into
a Prometheus on loopback and, in a fresh child process per SLO count, runs the daemon's cycle
(budgets, signals, incident decisions, store, snapshot) at pinned times at the end of the
data, exactly as `sloctl run` does every interval. The same child then sends the very same
HTTP requests the cycle sent, recorded on the wire, with a bare `requests` session: that is
the bare query time, the floor no evaluator can go under. Wall time per cycle (median), HTTP
requests per cycle and peak RSS are printed as a Markdown table with the cycle / bare ratio.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests
import structlog

from bench.report_bench import peak_rss_kib, write_definitions
from sloctl.daemon.loop import Daemon, loaded_from
from sloctl.demo.history import History, demo_scenario
from sloctl.demo.local_prometheus import LocalPrometheus, backfill
from sloctl.loading.config import Config
from sloctl.prometheus.client import PrometheusReader

END = datetime(2026, 11, 1, tzinfo=UTC)
INTERVAL = timedelta(seconds=30)
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@dataclass
class BenchDaemon(Daemon):
    """The daemon, keeping every request its readers send on the wire, to replay them bare."""

    recorded: list[tuple[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__post_init__()
        shared = getattr(self, "transport", None)  # a tree before it made one per cycle
        if shared is not None:
            self.transport = recording(shared, self.recorded)

    def reader(self, config: Config, deadline: float | None = None) -> PrometheusReader:
        reader = super().reader(config, deadline)
        if getattr(self, "transport", None) is None:
            record(reader, self.recorded)
        return reader


def recording(transport: Any, into: list[tuple[str, Any]]) -> Any:
    """A transport like ``transport`` that also keeps the URL and form of every request it
    sends in ``into``."""
    from sloctl.prometheus.transport import Deadline, Response, Transport  # noqa: PLC0415

    class Recording(Transport):
        def post(
            self,
            url: str,
            form: bytes,
            headers: Mapping[str, str],
            *,
            deadline: Deadline,
            ca_file: str | None = None,
        ) -> Response:
            into.append((url, form))
            return super().post(url, form, headers, deadline=deadline, ca_file=ca_file)

    return Recording(transport.proxies, transport.ca_bundle)


def record(reader: PrometheusReader, into: list[tuple[str, Any]]) -> None:
    """Keep the URL and form of every request ``reader`` sends in ``into``, for a tree whose
    daemon has no transport of its own (``--before`` of bench.cycle_bench): its reader sent
    through a requests session, or through a transport of its own."""
    session = getattr(reader, "session", None)
    if session is not None:

        def keep(response: requests.Response, *args: Any, **kwargs: Any) -> None:
            into.append((str(response.request.url), response.request.body))

        session.hooks["response"].append(keep)
        return
    reader.transport = recording(reader.transport, into)


def child(url: str, definitions: Path, work: Path, cycles: int) -> None:
    config = work / "sloctl.yaml"
    config.write_text(
        f"prometheus: {{url: '{url}', timeout: 600s}}\n"
        f"interval: {int(INTERVAL.total_seconds())}s\n"
        f"definitions: {definitions}\n"
        f"store: {work / 'incidents.db'}\n"
        "listen: 127.0.0.1:0\n"
    )
    logger = structlog.wrap_logger(structlog.PrintLogger(open("/dev/null", "w")))  # noqa: SIM115
    daemon = BenchDaemon(loaded_from(config, {}, logger), {}, logger)
    walls, requests_per_cycle, bare = [], [], []
    session = requests.Session()
    for index in range(cycles):
        at = END - INTERVAL * (cycles - index)
        daemon.recorded.clear()
        report = daemon.cycle(at)
        walls.append(report.seconds)
        requests_per_cycle.append(report.requests)
        started = time.perf_counter()
        for target, data in daemon.recorded:
            session.post(target, data=data, headers=FORM, timeout=600).raise_for_status()
        bare.append(time.perf_counter() - started)
    print(
        json.dumps(
            {
                "cycle": statistics.median(walls),
                "bare": statistics.median(bare),
                "requests": max(requests_per_cycle),
                "rss_mib": peak_rss_kib() / 1024,
                "slos": len(daemon.loaded.slos),
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slos", type=int, nargs="+", default=[4, 100, 1000])
    parser.add_argument("--cycles", type=int, default=5)
    parser.add_argument("--child", nargs=3, metavar=("URL", "DEFINITIONS", "WORK"))
    args = parser.parse_args()
    if args.child:
        url, definitions, work = args.child
        child(url, Path(definitions), Path(work), args.cycles)
        return
    with tempfile.TemporaryDirectory(prefix="sloctl-bench-") as tmp:
        work = Path(tmp)
        history = History.generate(demo_scenario(END, days=31))
        history.write_file(work / "history.om")
        backfill(work / "history.om", work / "data", 31 * 86400)
        with LocalPrometheus(work / "data") as server:
            print(
                "| SLOs | cycle s (median) | bare queries s (median) | cycle / bare "
                "| HTTP requests per cycle | peak RSS MiB |"
            )
            print("|---:|---:|---:|---:|---:|---:|")
            for count in args.slos:
                definitions = work / f"defs-{count}"
                write_definitions(definitions, count, window="rolling: 30d")
                run = work / f"run-{count}"
                run.mkdir()
                done = subprocess.run(
                    [
                        sys.executable,
                        "-m",
                        "bench.daemon_bench",
                        "--cycles",
                        str(args.cycles),
                        "--child",
                        server.url,
                        str(definitions),
                        str(run),
                    ],
                    capture_output=True,
                    text=True,
                    check=True,
                )
                row = json.loads(done.stdout)
                print(
                    f"| {row['slos']} | {row['cycle']:.3f} | {row['bare']:.3f} "
                    f"| {row['cycle'] / row['bare']:.2f}x | {row['requests']} "
                    f"| {row['rss_mib']:.0f} |"
                )
                sys.stdout.flush()


if __name__ == "__main__":
    main()
