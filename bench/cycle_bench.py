"""Benchmark: steady daemon cycles beside their bare query time, this tree against another.

Run from the repository root:

    .venv/bin/python -m bench.cycle_bench [--slos 1000 10000] [--rounds 3] [--before DIR]
        [--profile OUT] [--objectives N]

Two days of the runbook's four services at a 15 s scrape (one instance each) are backfilled
into a Prometheus 2.42 on loopback; the SLOs have 2-day windows. For each SLO count and
round, a fresh child process runs the daemon's cycle once on an empty store, freezes what
lives on (``Daemon.freeze_long_lived``, as ``Daemon.run`` does after a first cycle), then
runs six steady cycles 30 s apart, and sends the same HTTP requests again with a bare
``requests`` session (as :mod:`bench.scale_bench` does). With ``--before DIR`` (another
commit's ``sloctl`` beside this tree's ``bench``: ``git archive COMMIT sloctl | tar -x -C DIR
&& cp -r bench DIR``) every round runs that tree's child first, then this one's, so that the
two are measured alternately on a shared machine. ``--profile OUT`` writes each child's
cProfile figures of its steady cycles into the directory ``OUT`` (``run-SLOS-ROUND-TREE.prof``).
The SLOs count eight indicators (two per service); with ``--objectives N`` the SLOs of one
indicator have up to N different targets, so that SLOs sharing counts differ in their budgets
(``--objectives 1250``: every one of 10,000 SLOs has a budget of its own).
Printed: the medians per child, as a Markdown table.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import requests

from bench.report_bench import child_row, peak_rss_kib, write_definitions
from bench.scale_bench import END, FORM, INTERVAL, scenario, stats_daemon
from sloctl.demo.history import History
from sloctl.demo.local_prometheus import LocalPrometheus, backfill

DAYS = 2
STEADY = 6


def child(url: str, count: int, work: Path, profile: bool, objectives: int) -> dict[str, Any]:
    definitions = work / "defs"
    write_definitions(definitions, count, window=f"rolling: {DAYS}d", objectives=objectives)
    daemon = stats_daemon(url, definitions, work)
    first_at = END - INTERVAL * (STEADY + 1)
    daemon.cycle(first_at)
    if hasattr(daemon, "freeze_long_lived"):  # as Daemon.run does (a tree before it has not)
        daemon.freeze_long_lived()
    profiler = cProfile.Profile()
    walls, bare = [], []
    session = requests.Session()
    for index in range(STEADY):
        daemon.recorded.clear()
        if profile:
            profiler.enable()
        report = daemon.cycle(first_at + INTERVAL * (index + 1))
        if profile:
            profiler.disable()
        walls.append(report.seconds)
        started = time.perf_counter()
        for target, data in daemon.recorded:
            session.post(target, data=data, headers=FORM, timeout=600).raise_for_status()
        bare.append(time.perf_counter() - started)
    if profile:
        profiler.dump_stats(str(work / "cycle.prof"))
    return {
        "wall": statistics.median(walls),
        "bare": statistics.median(bare),
        "rss_mib": peak_rss_kib() / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slos", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--before", type=Path)
    parser.add_argument("--profile", type=Path, metavar="OUT")
    parser.add_argument("--objectives", type=int, default=1, metavar="N")
    parser.add_argument("--child", nargs=3, metavar=("URL", "SLOS", "WORK"))
    parser.add_argument("--child-profile", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        url, count, work = args.child
        print(json.dumps(child(url, int(count), Path(work), args.child_profile, args.objectives)))
        return
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
    trees = [("before", args.before.resolve())] if args.before else []
    trees.append(("this tree", Path.cwd()))
    print("| SLOs | tree | round | cycle s (median) | bare s (median) | cycle / bare | RSS MiB |")
    print("|---:|---|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory(prefix="sloctl-cycle-bench-") as tmp:
        work = Path(tmp)
        History.generate(scenario(DAYS, 1)).write_file(work / "history.om")
        backfill(work / "history.om", work / "data", (DAYS + 1) * 86400)
        with LocalPrometheus(work / "data") as server:
            for count in args.slos:
                for round_ in range(1, args.rounds + 1):
                    for name, tree in trees:
                        run = work / f"run-{count}-{round_}-{name.replace(' ', '-')}"
                        run.mkdir()
                        command = [sys.executable, "-m", "bench.cycle_bench"]
                        command += ["--child-profile"] if args.profile else []
                        command += ["--objectives", str(args.objectives)]
                        command += ["--child", server.url, str(count), str(run)]
                        row = child_row(tree, command)
                        if args.profile:
                            shutil.copy(run / "cycle.prof", args.profile / f"{run.name}.prof")
                        print(
                            f"| {count:,} | {name} | {round_} | {row['wall']:.3f} "
                            f"| {row['bare']:.3f} | {row['wall'] / row['bare']:.2f}x "
                            f"| {row['rss_mib']:.0f} |"
                        )
                        sys.stdout.flush()


if __name__ == "__main__":
    main()
