"""Benchmark: what one Prometheus query costs the reader, this tree against another.

Run from the repository root:

    .venv/bin/python -m bench.reader_bench [--queries 300] [--rounds 3] [--before DIR]

A Prometheus 2.42 on loopback with an empty store answers ``vector(1)``: its own work is
as small as a query's can be, so what is timed is the reader's. For each round a fresh child
process per tree (``--before DIR``: another commit's ``sloctl`` beside this tree's ``bench``,
as for :mod:`bench.cycle_bench`; the trees alternated) sends 20 queries to warm up, then
``--queries`` instant queries one after another through one reader, then the same number
from four threads at once (only for a reader that is safe to share, i.e. that has
``transport``), and prints milliseconds per query. Printed: a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.report_bench import child_row
from sloctl.demo.local_prometheus import LocalPrometheus
from sloctl.prometheus.client import PrometheusReader

AT = datetime(2026, 11, 1, tzinfo=UTC)
THREADS = 4


def child(url: str, queries: int) -> dict[str, Any]:
    reader = PrometheusReader(url)
    for _ in range(20):
        reader.instant("vector(1)", AT)
    started = time.perf_counter()
    for _ in range(queries):
        reader.instant("vector(1)", AT)
    serial = (time.perf_counter() - started) / queries
    shared = None
    if hasattr(reader, "transport"):

        def work() -> None:
            for _ in range(queries // THREADS):
                reader.instant("vector(1)", AT)

        threads = [threading.Thread(target=work) for _ in range(THREADS)]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        shared = (time.perf_counter() - started) / (queries // THREADS * THREADS)
    return {"serial_ms": serial * 1000, "shared_ms": None if shared is None else shared * 1000}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--before", type=Path)
    parser.add_argument("--child", metavar="URL")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.queries)))
        return
    trees = [("before", args.before.resolve())] if args.before else []
    trees.append(("this tree", Path.cwd()))
    print(f"| tree | round | ms per query, one thread | ms per query, {THREADS} threads |")
    print("|---|---:|---:|---:|")
    with (
        tempfile.TemporaryDirectory(prefix="sloctl-reader-bench-") as tmp,
        LocalPrometheus(Path(tmp) / "data") as server,
    ):
        for round_ in range(1, args.rounds + 1):
            for name, tree in trees:
                command = [sys.executable, "-m", "bench.reader_bench"]
                command += ["--queries", str(args.queries), "--child", server.url]
                row = child_row(tree, command)
                shared = "-" if row["shared_ms"] is None else f"{row['shared_ms']:.2f}"
                print(f"| {name} | {round_} | {row['serial_ms']:.2f} | {shared} |")
                sys.stdout.flush()


if __name__ == "__main__":
    main()
