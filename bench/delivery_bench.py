"""Benchmark: delivery by a real `sloctl run` when receivers fail.

Run from the repository root:

    .venv/bin/python -m bench.delivery_bench [--outage 600] [--incidents 20] [--stops 5]

Three measurements, each against real processes on loopback (the receivers are
``tests/integration/receivers.py``):

- **outage**: Slack and PagerDuty receivers refuse connections for ``--outage`` seconds while
  incidents are declared, acknowledged and resolved (spread over the outage); then they come
  back. Reported: messages queued, delivered, lost, delivered twice, incidents out of order,
  and the seconds from the receivers' return to the last delivery. The daemon runs with the
  default ``max_delay`` (5 minutes), so that wait is what production would see.
- **SIGTERM**: with both receivers hanging (a 30 s send timeout, so the bound is not the send's
  own), the daemon is stopped ``--stops`` times mid-send; the worst exit time is reported.
- **cycle**: with both receivers hanging and a 1 s interval against a real (empty) Prometheus,
  the longest cycle and the longest gap between cycles over 20 seconds.
"""

from __future__ import annotations

import argparse
import re
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sloctl.core.durations import parse_duration
from sloctl.demo.local_prometheus import LocalPrometheus, free_port
from sloctl.store.database import open_store
from tests.integration.daemon_process import SloctlRun, cycle_gaps
from tests.integration.receivers import (
    HANG,
    PAGERDUTY_OK,
    SLACK_OK,
    FaultReceiver,
    Received,
    kinds_sent,
    lifecycle,
    pagerduty_actions,
)

SLACK_ORDER = ["declared", "update", "resolved"]
PAGERDUTY_ORDER = ["trigger", "acknowledge", "resolve"]


@dataclass(frozen=True)
class OutageResult:
    seconds: float
    queued: int
    delivered: int
    lost: int
    duplicates: int
    out_of_order: int
    recovery_seconds: float
    most_attempts: int


def _slack_incident(received: Received) -> str:
    found = re.search(r"#incident-(inc-\d+)", received.text)
    return found.group(1).upper() if found else "?"


def _pagerduty_incident(received: Received) -> str:
    found = re.search(r"(INC-\d+)$", str(received.body.get("dedup_key", "")))
    return found.group(1) if found else "?"


def _tally(received: list[Received], incidents: list[str], sink: str) -> tuple[int, int, int, int]:
    """(delivered, lost, duplicates, out of order) for one receiver."""
    delivered = lost = duplicates = disorder = 0
    for incident in incidents:
        if sink == "slack":
            mine = [r for r in received if _slack_incident(r) == incident]
            sent, order = kinds_sent(mine), SLACK_ORDER
        else:
            mine = [r for r in received if _pagerduty_incident(r) == incident]
            sent, order = pagerduty_actions(mine), PAGERDUTY_ORDER
        unique = [kind for n, kind in enumerate(sent) if kind not in sent[:n]]
        delivered += len(unique)
        lost += len(set(order) - set(unique))
        duplicates += len(sent) - len(unique)
        disorder += unique != order
    return delivered, lost, duplicates, disorder


def outage(
    workdir: Path, seconds: float, incidents: int = 6, max_delay: str = "2s"
) -> OutageResult:
    """Receivers refuse connections for ``seconds`` while ``incidents`` go from declared to
    resolved; then they come back and every message must arrive once, in order."""
    slack, pagerduty = FaultReceiver(SLACK_OK), FaultReceiver(PAGERDUTY_OK)
    run = SloctlRun(
        workdir, f"http://127.0.0.1:{free_port()}", slack.url, pagerduty.url, max_delay=max_delay
    )
    try:
        open_store(run.store).close()
        run.start()
        slack.down()
        pagerduty.down()
        down_at = time.monotonic()
        ids = []
        for number in range(incidents):
            store = open_store(run.store)
            try:
                ids.append(
                    lifecycle(
                        store, ["pagerduty", "slack"], datetime.now(UTC), service=f"svc-{number}"
                    )
                )
            finally:
                store.close()
            time.sleep(max(0.0, down_at + seconds * (number + 1) / incidents - time.monotonic()))
        time.sleep(max(0.0, down_at + seconds - time.monotonic()))
        slack.up()
        pagerduty.up()
        up_at = time.monotonic()
        queued = incidents * len(SLACK_ORDER) * 2
        limit = 60.0 + 2 * _seconds(max_delay)
        while True:
            store = open_store(run.store)
            try:
                messages = store.outbox()
            finally:
                store.close()
            if all(m.status != "pending" for m in messages):
                break
            if time.monotonic() - up_at > limit:
                break
            time.sleep(0.2)
        recovered = time.monotonic() - up_at
        time.sleep(1.0)  # anything sent twice would arrive now
        run.terminate()
        counts = [
            _tally(slack.received, ids, "slack"),
            _tally(pagerduty.received, ids, "pagerduty"),
        ]
        delivered, lost, duplicates, disorder = (sum(c[i] for c in counts) for i in range(4))
        return OutageResult(
            seconds,
            queued,
            delivered,
            lost,
            duplicates,
            disorder,
            round(recovered, 1),
            max(m.attempts for m in messages),
        )
    finally:
        run.stop()
        slack.close()
        pagerduty.close()


def _seconds(duration: str) -> float:
    return float(parse_duration(duration))


def sigterm_exit(workdir: Path) -> float:
    """Seconds from SIGTERM to exit while both receivers hang mid-send."""
    slack, pagerduty = FaultReceiver(HANG), FaultReceiver(HANG)
    run = SloctlRun(
        workdir, f"http://127.0.0.1:{free_port()}", slack.url, pagerduty.url, timeout="30s"
    )
    try:
        store = open_store(run.store)
        try:
            for service in ("api", "auth", "web"):
                lifecycle(store, ["pagerduty", "slack"], datetime.now(UTC), service=service)
        finally:
            store.close()
        run.start()
        slack.wait_for("a hung send", lambda r: len(r) >= 1, timeout=60)
        pagerduty.wait_for("a hung send", lambda r: len(r) >= 1, timeout=60)
        time.sleep(0.5)
        _, seconds = run.terminate()
        return seconds
    finally:
        run.stop()
        slack.close()
        pagerduty.close()


def cycle_times(workdir: Path, watch: float = 20.0) -> tuple[float, float, int]:
    """(longest cycle, longest gap between cycles, cycles) with both receivers hanging."""
    slack, pagerduty = FaultReceiver(HANG), FaultReceiver(HANG)
    with LocalPrometheus(workdir / "prometheus") as prometheus:
        run = SloctlRun(workdir / "sloctl", prometheus.url, slack.url, pagerduty.url)
        try:
            store = open_store(run.store)
            try:
                for service in ("api", "auth", "web", "search"):
                    lifecycle(store, ["pagerduty", "slack"], datetime.now(UTC), service=service)
            finally:
                store.close()
            run.start()
            slack.wait_for("a hung send", lambda r: len(r) >= 1, timeout=60)
            time.sleep(watch)
            run.terminate()
            cycles = run.events("cycle")
            return max(c["seconds"] for c in cycles), max(cycle_gaps(cycles)), len(cycles)
        finally:
            run.stop()
            slack.close()
            pagerduty.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--outage", type=float, default=600.0, help="seconds of refusal")
    parser.add_argument("--incidents", type=int, default=20)
    parser.add_argument("--stops", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        root = Path(work)
        result = outage(root / "outage", args.outage, args.incidents, max_delay="5m")
        print(
            "| outage s | queued | delivered | lost | twice | out of order | "
            "recovery s | most attempts |"
        )
        print("|---:|---:|---:|---:|---:|---:|---:|---:|")
        print(
            f"| {result.seconds:g} | {result.queued} | {result.delivered} | {result.lost} | "
            f"{result.duplicates} | {result.out_of_order} | {result.recovery_seconds} | "
            f"{result.most_attempts} |"
        )
        stops = [sigterm_exit(root / f"stop-{n}") for n in range(args.stops)]
        print(
            f"\nSIGTERM with hung receivers, {args.stops} stops: worst {max(stops):.2f} s, "
            f"all {', '.join(f'{s:.2f}' for s in stops)}"
        )
        longest, gap, count = cycle_times(root / "cycle")
        print(
            f"\nHung receivers, 1 s interval: {count} cycles, longest cycle {longest:.3f} s, "
            f"longest gap between cycles {gap:.3f} s"
        )


if __name__ == "__main__":
    main()
