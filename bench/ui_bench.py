"""Benchmark: the SRE UI's SLO list (``GET /slos``) for 1,000 SLOs, rendered on the server.

Run from the repository root:

    .venv/bin/python -m bench.ui_bench [--slos 1000] [--repeat 15]

It writes ``--slos`` definitions spread over 40 services (half availability, half latency),
loads them with the daemon's own loader, and builds a snapshot of real ``SloResult`` values
judged by the evaluator's budget code from synthetic counts (every status occurs; a few SLOs
are stale, one service is in maintenance). The UI is the real site (``sre_ui``) served on
loopback by the daemon's HTTP server; each view is a ``GET`` through a socket. Printed: the
median and the slowest of ``--repeat`` runs (after two warm-up views) of

- the whole list, default order, the first view after a new snapshot (the rows are made from
  the snapshot once per snapshot) and later views;
- the list sorted by budget remaining, descending;
- the list filtered to one status and searched for a word;
- the page function alone (request in, response out, no socket), for the whole list of a new
  snapshot;

with the size of the page. The list reads the snapshot only: no view queries Prometheus (the
configuration points at a closed port; a query would show as an error in the page).
"""

from __future__ import annotations

import argparse
import dataclasses
import re
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from io import StringIO
from pathlib import Path

import requests

from sloctl.core.window import span_for
from sloctl.daemon.exporter import Snapshot
from sloctl.daemon.loop import Daemon, loaded_from
from sloctl.demo.local_prometheus import free_port
from sloctl.promql.plan import BAD, GOOD, TOTAL, SloCounts
from sloctl.reading.evaluation import BURN_SECONDS, judge
from sloctl.runtime.http_server import QuietHandler, start_server
from sloctl.runtime.logs import make_logger
from sloctl.web import slo_pages
from sloctl.web.request import Request
from sloctl.web.ui import SreUi, sre_ui

AT = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
SERVICES = 40
SHARES = (0.0, 0.0002, 0.0005, 0.0009, 0.002, 0.01, 0.05)
"""Bad shares handed out in turn: ok, at risk and exhausted budgets for both kinds."""


def write_definitions(directory: Path, count: int) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    per_service: dict[int, list[str]] = {}
    for index in range(count):
        service = index % SERVICES
        selector = f'{{service="svc-{service:02d}"}}'
        if index % 2 == 0:
            text = f"""  - name: availability-{index}
    description: Requests of svc-{service:02d} answered without a 5xx.
    indicator:
      ratio:
        total: http_requests_total{selector}
        bad: http_requests_total{{service="svc-{service:02d}",code=~"5.."}}
    objective: {{target: 99.9%}}
"""
        else:
            text = f"""  - name: latency-{index}
    description: Requests of svc-{service:02d} answered within 200 ms.
    indicator:
      latency:
        histogram: http_request_duration_seconds{selector}
        threshold: 200ms
    objective: {{target: 99%}}
"""
        per_service.setdefault(service, []).append(text)
    for service, slos in per_service.items():
        (directory / f"svc-{service:02d}.yaml").write_text(
            f"service: svc-{service:02d}\nslos:\n" + "".join(slos), encoding="utf-8"
        )


def daemon_for(work: Path, count: int) -> Daemon:
    write_definitions(work / "definitions", count)
    config = work / "sloctl.yaml"
    config.write_text(
        f"prometheus: {{url: 'http://127.0.0.1:{free_port()}'}}\n"
        "definitions: definitions\n"
        f"store: {work / 'incidents.db'}\n"
        "listen: 127.0.0.1:0\n",
        encoding="utf-8",
    )
    logger = make_logger("warning", stream=StringIO())
    daemon = Daemon(loaded_from(config, {}, logger), {}, logger)
    daemon.snapshot = snapshot_of(daemon)
    return daemon


def snapshot_of(daemon: Daemon) -> Snapshot:
    """Real judgements of synthetic counts: 10 million events per window, 100,000 per burn
    window, the bad share handed out in turn (every 50th SLO without traffic)."""
    slos = daemon.loaded.slos
    spans = {slo.key: span_for(slo, AT) for slo in slos}
    readings: SloCounts = {}
    for index, slo in enumerate(slos):
        if index % 50 == 49:
            continue
        share = SHARES[index % len(SHARES)]
        windows = [(spans[slo.key].measured_seconds, 1e7)]
        windows += [(seconds, 1e5) for _, seconds in BURN_SECONDS]
        for seconds, total in windows:
            side = BAD if slo.indicator.bad is not None else GOOD
            value = total * share if side == BAD else total * (1 - share)
            readings[(slo.key, seconds)] = {TOTAL: total, side: value}
    return Snapshot(
        results=judge(list(slos), spans, readings),
        stale=frozenset(slo.key for slo in slos[::97]),
        slos=slos,
        last_success=AT,
        maintenance={slo.service: slo.service == "svc-07" for slo in slos},
    )


def timed(view: Callable[[], int], repeat: int) -> tuple[float, float, int]:
    """Median and slowest milliseconds of ``repeat`` views (two warm-up views first), and
    the bytes of the last."""
    for _ in range(2):
        view()
    times, size = [], 0
    for _ in range(repeat):
        started = time.perf_counter()
        size = view()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), max(times), size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slos", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sloctl-ui-bench-") as work:
        daemon = daemon_for(Path(work), args.slos)
        site = sre_ui(daemon)

        class Handler(QuietHandler):
            def do_GET(self) -> None:
                if not site.answer(self):
                    self.reply(404, b"not found\n")

        server = start_server(("127.0.0.1", 0), Handler)
        base = f"http://127.0.0.1:{server.server_port}"
        session = requests.Session()

        def get(path: str, fresh: bool = False) -> Callable[[], int]:
            def view() -> int:
                if fresh:  # a new cycle's snapshot: the rows are made again
                    daemon.snapshot = dataclasses.replace(daemon.snapshot)
                answer = session.get(base + path, timeout=30)
                if answer.status_code != 200 or "history unavailable" in answer.text:
                    raise SystemExit(f"GET {path} answered {answer.status_code}")
                return len(answer.content)

            return view

        ui = SreUi(daemon)
        page = slo_pages.routes(ui)[0].page
        pattern = re.compile("/slos")

        def direct() -> int:
            daemon.snapshot = dataclasses.replace(daemon.snapshot)
            return len(page(Request("GET", "/slos"), pattern.fullmatch("/slos")).body)  # type: ignore[arg-type]

        rows = [
            ("GET /slos, first view of a new snapshot", get("/slos", fresh=True)),
            ("GET /slos", get("/slos")),
            ("GET /slos?sort=budget&dir=desc", get("/slos?sort=budget&dir=desc")),
            ("GET /slos?status=at-risk&q=availability", get("/slos?status=at-risk&q=availability")),
            ("page function, new snapshot, no socket", direct),
        ]
        try:
            print(f"{args.slos} SLOs, {args.repeat} runs each\n")
            print("| view | median ms | slowest ms | page KiB |")
            print("|---|---:|---:|---:|")
            for name, view in rows:
                median, slowest, size = timed(view, args.repeat)
                print(f"| {name} | {median:.1f} | {slowest:.1f} | {size / 1024:.0f} |")
        finally:
            server.shutdown()
            server.server_close()


if __name__ == "__main__":
    main()
