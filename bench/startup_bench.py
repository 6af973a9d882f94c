"""Benchmark: how long sloctl takes to start, as a whole process, and what its imports cost.

Run from the repository root:

    .venv/bin/python -m bench.startup_bench [--repeat 7] [--data DIR]

In one run, each measured ``--repeat`` times in a fresh process (medians printed):

- ``python -c pass``: the interpreter alone, the floor under every other line;
- ``sloctl --help``;
- ``sloctl report`` for the shipped definitions (``slo-definitions/``) against a Prometheus on
  loopback holding October 2026 of the demo's history (the same month ``bench.report_bench``
  uses), at the month's end: the whole process, from exec to exit;
- ``python -c "import click, socket, json, decimal, dataclasses"``: what a report on
  unchanged definitions cannot do without (the command line, sockets, JSON, exact numbers and
  the domain's frozen values), imported and nothing else;
- ``python -c "import click, pydantic, yaml, requests, rich.table"``: the libraries a report
  needed before (validation, YAML, requests and rich), for comparison;
- the same report's phases, timed inside one process: its imports, loading the definitions,
  the evaluation (the queries Prometheus answers) and rendering the table;
- the import time of each top-level package (its modules' own time, summed) from
  ``python -X importtime`` for ``import sloctl.cli.main`` and for that whole report.

Every child runs with bytecode caches (written by the first run if missing), as an installed
sloctl has them, even where ``PYTHONDONTWRITEBYTECODE`` is set.

``--data DIR`` keeps the backfilled Prometheus data in DIR and reuses it on the next run (the
history and its backfill take about half a minute).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from sloctl.demo.history import History, demo_scenario
from sloctl.demo.local_prometheus import LocalPrometheus, backfill

ROOT = Path(__file__).resolve().parents[1]
DEFINITIONS = ROOT / "slo-definitions"
MONTH_END = datetime(2026, 11, 1, tzinfo=UTC)
DAYS = 31
LIBRARIES = "import click, socket, json, decimal, dataclasses"
"""What a report on unchanged definitions cannot do without."""
FORMER_LIBRARIES = "import click, pydantic, yaml, requests, rich.table"
"""What a report needed before: validation, YAML, requests and rich's table."""
SHOWN = 14
"""Packages listed by import time; the rest are summed on one line."""


def sloctl_command() -> list[str]:
    """The ``sloctl`` entry point installed beside this interpreter, as a user runs it."""
    script = Path(sys.executable).with_name("sloctl")
    return [str(script)] if script.exists() else [sys.executable, "-m", "sloctl"]


def child_environment() -> dict[str, str]:
    """This environment, but with bytecode caches written and read, as an installed sloctl
    has them (``PYTHONDONTWRITEBYTECODE`` would compile every sloctl module at every start)."""
    return {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def wall(command: Sequence[str]) -> float:
    """Seconds from starting ``command`` to its exit; it must succeed."""
    started = time.perf_counter()
    subprocess.run(
        command,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        check=True,
        env=child_environment(),
    )
    return time.perf_counter() - started


def median_wall(command: Sequence[str], repeat: int) -> float:
    wall(command)  # warm the page cache and the bytecode caches first
    return statistics.median(wall(command) for _ in range(repeat))


def import_times(command: Sequence[str]) -> dict[str, float]:
    """Seconds spent importing each top-level package (the self time of all its modules)."""
    done = subprocess.run(
        [command[0], "-X", "importtime", *command[1:]],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        check=True,
        env=child_environment(),
    )
    spent: dict[str, float] = defaultdict(float)
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, _, name = line.removeprefix("import time:").split("|")
        spent[name.strip().split(".")[0]] += int(self_us) / 1e6
    return spent


def median_imports(command: Sequence[str], repeat: int) -> dict[str, float]:
    runs = [import_times(command) for _ in range(repeat)]
    names = {name for run in runs for name in run}
    return {name: statistics.median(run.get(name, 0.0) for run in runs) for name in names}


def python_command(*args: str) -> list[str]:
    return [sys.executable, *args]


def report_args(url: str) -> list[str]:
    return [
        "report",
        "--definitions",
        str(DEFINITIONS),
        "--prometheus-url",
        url,
        "--at",
        f"{MONTH_END:%Y-%m-%dT%H:%M:%SZ}",
    ]


def prepare(data: Path) -> None:
    """October 2026 of the demo's history, backfilled into ``data`` (unless already there)."""
    if (data / ".complete").exists():
        return
    shutil.rmtree(data, ignore_errors=True)
    data.mkdir(parents=True)
    history = data.parent / f"{data.name}.om"
    History.generate(demo_scenario(MONTH_END, days=DAYS)).write_file(history)
    backfill(history, data, DAYS * 86400)
    history.unlink()
    (data / ".complete").write_text("backfilled by bench.startup_bench\n")


def median_phases(url: str, repeat: int) -> dict[str, float]:
    runs = []
    for _ in range(repeat):
        done = subprocess.run(
            python_command(
                "-m", "bench.report_phases", str(DEFINITIONS), url, MONTH_END.isoformat()
            ),
            capture_output=True,
            text=True,
            check=True,
            env=child_environment(),
        )
        runs.append(json.loads(done.stdout))
    return {name: statistics.median(run[name] for run in runs) for name in runs[0]}


def print_imports(title: str, spent: dict[str, float]) -> None:
    print(f"\n{title} (median self time per top-level package, ms):\n")
    print("| package | ms |")
    print("|---|---:|")
    ranked = sorted(spent.items(), key=lambda item: -item[1])
    for name, seconds in ranked[:SHOWN]:
        print(f"| {name} | {seconds * 1000:.1f} |")
    rest = sum(seconds for _, seconds in ranked[SHOWN:])
    print(f"| {len(ranked) - SHOWN} others | {rest * 1000:.1f} |")
    print(f"| **all imports** | **{sum(spent.values()) * 1000:.1f}** |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--data", type=Path, help="Keep (and reuse) the Prometheus data here.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sloctl-startup-") as tmp:
        data = args.data or Path(tmp) / "data"
        prepare(data)
        sloctl = sloctl_command()
        with LocalPrometheus(data) as server:
            report = [*sloctl, *report_args(server.url)]
            wall(report)  # Prometheus's first answers read its blocks from disk
            rows = [
                ("`python -c pass`", median_wall(python_command("-c", "pass"), args.repeat)),
                ("`sloctl --help`", median_wall([*sloctl, "--help"], args.repeat)),
                ("`sloctl report` (shipped definitions)", median_wall(report, args.repeat)),
                (
                    f"`python -c '{LIBRARIES}'`",
                    median_wall(python_command("-c", LIBRARIES), args.repeat),
                ),
                (
                    f"`python -c '{FORMER_LIBRARIES}'`",
                    median_wall(python_command("-c", FORMER_LIBRARIES), args.repeat),
                ),
            ]
            report_phases = median_phases(server.url, args.repeat)
            report_imports = median_imports(
                python_command("-m", "sloctl", *report_args(server.url)), args.repeat
            )
        main_imports = median_imports(python_command("-c", "import sloctl.cli.main"), args.repeat)
    print(f"Whole process, median of {args.repeat} runs ({sloctl[-1]}):\n")
    print("| command | s |")
    print("|---|---:|")
    for name, seconds in rows:
        print(f"| {name} | {seconds:.3f} |")
    print(f"\n`sloctl report`'s phases inside the process, median of {args.repeat} runs:\n")
    print("| phase | s |")
    print("|---|---:|")
    for name, seconds in report_phases.items():
        print(f"| {name} | {seconds:.3f} |")
    print_imports("`import sloctl.cli.main`", main_imports)
    print_imports("`sloctl report`", report_imports)


if __name__ == "__main__":
    main()
