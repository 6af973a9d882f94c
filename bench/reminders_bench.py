"""The reminder check each daemon cycle makes (missed updates, post-mortems coming due), on a
store holding many incidents resolved in the last 30 days.

    .venv/bin/python -m bench.reminders_bench --incidents 100 1000 --repeat 5
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sloctl.core.severity import Severity
from sloctl.daemon.incident_pass import remind_overdue
from sloctl.incidents.lifecycle import State, declare, move
from sloctl.incidents.policy import Cause, Finding
from sloctl.notify.slack import SlackSink
from sloctl.store.database import Store, open_store

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
SEVERITIES = (Severity.P1, Severity.P2, Severity.P3, Severity.P4)


def fill(store: Store, count: int) -> None:
    """``count`` incidents resolved over the last 29 days (a quarter of each severity), every
    P1/P2 one's post-mortem reminded already, and five open incidents."""
    with store.transaction() as connection:
        for number in range(1, count + 1):
            at = NOW - timedelta(days=29) + timedelta(days=29) * number / count
            finding = Finding(Cause.ERRORS, SEVERITIES[number % 4], "errors")
            incident = declare(f"INC-{number:04d}", f"svc-{number % 40}", finding, at)
            incident = move(incident, State.ACKNOWLEDGED, at, actor="@a", note="on it")
            incident = move(incident, State.RESOLVED, at + timedelta(minutes=40), actor="@a")
            store.save(incident, connection=connection, now=at)
            due = incident.postmortem_due
            if due is not None:
                store.claim_reminder(incident.id, "postmortem", due, connection=connection, now=at)
        for extra in range(5):
            finding = Finding(Cause.ERRORS, Severity.P2, "errors")
            opened = declare(f"INC-{count + extra + 1:04d}", f"open-{extra}", finding, NOW)
            store.save(opened, connection=connection, now=NOW)


def measure(count: int, repeat: int) -> float:
    with tempfile.TemporaryDirectory() as work:
        store = open_store(Path(work) / "store.db")
        fill(store, count)
        sinks = {"slack": SlackSink("http://127.0.0.1:9/hook")}
        remind_overdue(store, sinks, NOW)  # the first run reminds what is due
        times = []
        for _ in range(repeat):
            started = time.perf_counter()
            assert remind_overdue(store, sinks, NOW) == []
            times.append(time.perf_counter() - started)
        store.close()
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--incidents", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print("| incidents resolved in 30 days | reminder check s (median) |")
    print("|---:|---:|")
    for count in args.incidents:
        print(f"| {count} | {measure(count, args.repeat):.4f} |")


if __name__ == "__main__":
    main()
