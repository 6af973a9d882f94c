"""The status page: one reading of the store, each answer rendered, and a burst of requests.

    .venv/bin/python -m bench.status_page_bench --incidents 100 1000 --requests 500

For each count, a store holding that many resolved P2 incidents spread over the last 90 days
(the runbook's four services) is read once (:func:`sloctl.web.status_site.read_view`), each
answer is rendered from it, and then ``--requests`` GETs of ``/`` go through a real socket
(one client) while the daemon's snapshot is replaced every second, as its cycles do: the
store is read at most once a second however many requests arrive.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from datetime import UTC, datetime, timedelta
from io import StringIO
from pathlib import Path

import requests

from sloctl.core.severity import Severity
from sloctl.daemon.exporter import Snapshot
from sloctl.daemon.loop import Daemon, loaded_from
from sloctl.incidents.lifecycle import State, declare, move
from sloctl.incidents.policy import Cause, Finding
from sloctl.runtime.logs import make_logger
from sloctl.store.database import open_store
from sloctl.web.site import WebSite, route
from sloctl.web.status_site import StatusPages, read_view, status_document, summary_document

ROOT = Path(__file__).resolve().parents[1]
SERVICES = ("api", "auth", "database", "ai-worker")


def daemon_with(work: Path, incidents: int, now: datetime) -> Daemon:
    shutil.copytree(ROOT / "slo-definitions", work / "definitions")
    config = work / "sloctl.yaml"
    config.write_text(
        "prometheus: {url: 'http://127.0.0.1:9'}\ndefinitions: definitions\n"
        f"store: {work / 'incidents.db'}\nlisten: 127.0.0.1:0\nstatus_page: {{}}\n"
    )
    logger = make_logger("warning", stream=StringIO())
    daemon = Daemon(loaded_from(config, {}, logger), {}, logger)
    store = open_store(work / "incidents.db")
    try:
        store.note_watching(now - timedelta(days=100))
        step = timedelta(days=89) / incidents
        with store.transaction() as connection:
            for n in range(incidents):
                start = now - timedelta(days=89) + n * step
                found = declare(
                    f"INC-{n + 1:04d}",
                    SERVICES[n % len(SERVICES)],
                    Finding(Cause.ERRORS, Severity.P2, "bench"),
                    start,
                    impact_started_at=start,
                )
                found = move(found, State.MONITORING, start + timedelta(minutes=20), actor="b")
                found = move(found, State.RESOLVED, start + timedelta(minutes=35), actor="b")
                store.save(found, connection=connection, now=now)
    finally:
        store.close()
    return daemon


def measure(incidents: int, requests_made: int) -> str:
    now = datetime.now(UTC).replace(microsecond=0)
    with tempfile.TemporaryDirectory(prefix="sloctl-status-bench-") as folder:
        daemon = daemon_with(Path(folder), incidents, now)
        pages = StatusPages(daemon, clock=lambda: now)
        pages.templates.render("status_page.html", view=read_view(daemon, now))  # compile once
        started = time.perf_counter()
        view = read_view(daemon, now)
        reading = time.perf_counter() - started
        started = time.perf_counter()
        page = pages.templates.render("status_page.html", view=view)
        rendering = time.perf_counter() - started
        started = time.perf_counter()
        summary_document(view), status_document(view)
        pages.templates.render("status_feed.xml", view=view)
        others = time.perf_counter() - started
        site = WebSite((route("GET", r"/", pages.home),), pages.assets, daemon.logger)
        from tests.web_site import serving  # noqa: PLC0415 (the tests' loopback server)

        with serving(site) as url, requests.Session() as session:
            started = last_cycle = time.perf_counter()
            for _ in range(requests_made):
                if time.perf_counter() - last_cycle >= 1.0:
                    daemon.snapshot, last_cycle = Snapshot(), time.perf_counter()
                session.get(url, timeout=10).raise_for_status()
            burst = time.perf_counter() - started
    return (
        f"| {incidents:,} | {reading * 1000:.0f} | {rendering * 1000:.0f} | "
        f"{others * 1000:.0f} | {len(page) // 1024} | {requests_made / burst:.0f} | "
        f"{pages.readings} in {burst:.1f} s |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--incidents", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--requests", type=int, default=500)
    options = parser.parse_args()
    print(
        "| incidents (90 days) | reading ms | page ms | JSON + feed ms | page KiB "
        "| requests/s | store readings |"
    )
    print("|---:|---:|---:|---:|---:|---:|---|")
    for count in options.incidents:
        print(measure(count, options.requests), flush=True)


if __name__ == "__main__":
    main()
