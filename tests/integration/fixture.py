"""The integration scenario: three days of 30-second samples with known trouble in them."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

from sloctl.history import SLOW_API, Injection, Scenario, runbook_profiles

START = datetime(2026, 10, 30, tzinfo=UTC)
END = datetime(2026, 11, 2, tzinfo=UTC)
STEP = 30
TRAFFIC_SCALE = 50
"""Fifty times the demo's traffic: tens of thousands of bad events per SLO, as a month of a
real service has, so that statistics of the recording rules are not judged on a few hundred."""

API_OUTAGE = (
    datetime(2026, 10, 31, 10, 0, tzinfo=UTC),
    datetime(2026, 10, 31, 10, 20, tzinfo=UTC),
)
API_RESET = datetime(2026, 10, 31, 15, 0, tzinfo=UTC)
AUTH_SLOW = (datetime(2026, 11, 1, 6, 0, tzinfo=UTC), datetime(2026, 11, 1, 7, 0, tzinfo=UTC))
AI_WORKER_GAP = (
    datetime(2026, 11, 1, 12, 0, tzinfo=UTC),
    datetime(2026, 11, 1, 12, 30, tzinfo=UTC),
)
AI_WORKER_MAJOR = (
    datetime(2026, 10, 31, 4, 0, tzinfo=UTC),
    datetime(2026, 10, 31, 4, 45, tzinfo=UTC),
)
DATABASE_QUIET = (END - timedelta(hours=2), END + timedelta(minutes=1))


def scenario() -> Scenario:
    """api: a 20-minute 50% error burst and a counter reset; auth: an hour of slow answers;
    ai-worker: a 30-minute scrape gap; database: no 5xx series ever, and no traffic at all in
    the last two hours."""
    return Scenario(
        start=START,
        end=END,
        step=STEP,
        profiles=tuple(
            dataclasses.replace(p, requests_per_second=p.requests_per_second * TRAFFIC_SCALE)
            for p in runbook_profiles()
        ),
        injections=(
            Injection("api", *API_OUTAGE, error_ratio=0.6),
            Injection("ai-worker", *AI_WORKER_MAJOR, error_ratio=0.2),
            Injection("auth", *AUTH_SLOW, latency=SLOW_API),
            Injection("database", *DATABASE_QUIET, traffic=0.0),
        ),
        resets=(("api", API_RESET),),
        gaps=(("ai-worker", *AI_WORKER_GAP),),
    )
