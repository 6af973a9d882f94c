"""Benchmark: the incident engine alone over a month of one-minute steps.

Run from the repository root:

    .venv/bin/python -m bench.engine_bench

Feeds thirty days of normal signals for the runbook's four services (api, auth and ai-worker
depending on the database), one minute apart, to :func:`sloctl.incidents.engine.decide`, the
decision code the daemon runs every cycle and the backtest runs at every step: the Python share of
``sloctl backtest`` over a month, without Prometheus.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sloctl.incidents.engine import Tracked, decide
from sloctl.incidents.policy import Policy, ServiceSignals

START = datetime(2026, 10, 1, tzinfo=UTC)
STEPS = 30 * 1440
SERVICES = ("api", "auth", "ai-worker", "database")
DEPENDS = {"api": ("database",), "auth": ("database",), "ai-worker": ("database",)}


def main() -> None:
    policy = Policy()
    tracked: dict[str, Tracked] = {}
    threshold = Decimal("0.2")
    started = time.perf_counter()
    for step in range(STEPS):
        at = START + timedelta(minutes=step)
        signals = {
            service: ServiceSignals(
                at, error_ratio=0.0003, p95_seconds=0.1, latency_threshold=threshold
            )
            for service in SERVICES
        }
        outcome = decide(policy, signals, tracked, [], lambda: "unused", DEPENDS)
        tracked.update(outcome.tracked)
    wall = time.perf_counter() - started
    print("| steps | services | service-steps | wall s | µs per service-step |")
    print("|---:|---:|---:|---:|---:|")
    count = STEPS * len(SERVICES)
    print(f"| {STEPS} | {len(SERVICES)} | {count} | {wall:.2f} | {wall / count * 1e6:.1f} |")


if __name__ == "__main__":
    main()
