"""The integration scenarios: three days of 30-second samples with known trouble in them, and
a month of one-minute samples with injected incidents and the incidents they must become."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sloctl.core.budget import Counts
from sloctl.core.severity import Severity
from sloctl.demo.history import SLOW_API, Injection, Scenario, runbook_profiles
from sloctl.incidents.policy import Cause

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


# --- The incident month ------------------------------------------------------------------------
# Thirty days of one-minute samples with injected events and their truth: what an SRE expects
# sloctl to declare (once each), and nothing else, through noise, low-traffic hours, a counter
# reset, a scrape gap and a service without traffic.

MONTH_START = datetime(2026, 10, 1, tzinfo=UTC)
MONTH_END = datetime(2026, 10, 31, tzinfo=UTC)
MONTH_STEP = 60
MONTH_TRAFFIC = 10
"""Ten times the demo's traffic: ai-worker's normal 0.2 % errors then stay well under its
0.5 % verification threshold over a 5-minute window, as a busy service's would."""
SLUGGISH_DB = (0.70, 0.80, 0.84, 0.86, 0.99, 1.0, 1.0, 1.0, 1.0)
"""A database answering p95 in about 450 ms: above its 200 ms SLO, below the runbook's 500 ms."""
DECLARE_WITHIN = {
    Severity.P1: timedelta(minutes=5),
    Severity.P2: timedelta(minutes=10),
    Severity.P3: timedelta(minutes=15),
}
"""How soon after an event starts it must be declared, by the severity it is declared at."""
RESOLVED_WITHIN = timedelta(minutes=30)
"""Signal window (5 min) + verification (15 min) + margin, after an event ends."""


@dataclass(frozen=True)
class Expected:
    """One injected event and the incident the runbook makes of it."""

    name: str
    services: tuple[str, ...]
    """Affected services, the one that declares first."""
    causes: frozenset[Cause]
    severity: Severity
    """The runbook's severity for the event, reached within ``severity_by`` of its start."""
    start: datetime
    end: datetime
    declared_by: timedelta
    severity_by: timedelta


def _event(
    name: str,
    services: tuple[str, ...],
    causes: set[Cause],
    severity: Severity,
    start: datetime,
    minutes: int,
    severity_by: timedelta | None = None,
) -> Expected:
    deadline = DECLARE_WITHIN[severity]
    return Expected(
        name,
        services,
        frozenset(causes),
        severity,
        start,
        start + timedelta(minutes=minutes),
        deadline,
        severity_by or deadline,
    )


def _on(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 10, day, hour, minute, tzinfo=UTC)


ERRORS, LATENCY = Cause.ERRORS, Cause.LATENCY
MONTH_EVENTS = (
    _event("api outage", ("api",), {ERRORS}, Severity.P1, _on(3, 10), 20),
    _event("auth slow", ("auth",), {LATENCY}, Severity.P2, _on(6, 6), 60),
    # Runbook 7.1: "major feature down, >10 % of users, >30 min" is P2 once it lasted 30
    # minutes; before that it is a P3 (a paging burn), declared within the P3 deadline.
    dataclasses.replace(
        _event(
            "ai-worker major errors",
            ("ai-worker",),
            {ERRORS},
            Severity.P2,
            _on(9, 4),
            45,
            severity_by=timedelta(minutes=30) + DECLARE_WITHIN[Severity.P2],
        ),
        declared_by=DECLARE_WITHIN[Severity.P3],
    ),
    _event("api errors and latency", ("api",), {ERRORS, LATENCY}, Severity.P2, _on(12, 14), 30),
    _event("database down", ("database", "api", "auth"), {ERRORS}, Severity.P1, _on(15, 8), 15),
    _event("api slow burn", ("api",), {ERRORS}, Severity.P3, _on(20, 13), 120),
    _event("database sluggish", ("database",), {LATENCY}, Severity.P3, _on(24, 20), 40),
)
SLOW_BURN = MONTH_EVENTS[5]
MONTH_RESET = ("api", _on(18, 3))
MONTH_GAP = ("ai-worker", _on(22, 12), _on(22, 12, 30))
MONTH_QUIET_NIGHT = ("auth", _on(25, 0), _on(25, 6))
MONTH_NO_TRAFFIC = ("database", _on(27, 2), _on(27, 4))


def month() -> Scenario:
    """The incident month: ``MONTH_EVENTS`` injected as a real outage would show them."""
    outage, slow, major, both, database, burn, sluggish = MONTH_EVENTS
    dependents = (
        Injection("api", database.start + timedelta(minutes=1), database.end, error_ratio=0.8),
        Injection("auth", database.start + timedelta(minutes=2), database.end, error_ratio=0.7),
    )
    return Scenario(
        start=MONTH_START,
        end=MONTH_END,
        step=MONTH_STEP,
        profiles=tuple(
            dataclasses.replace(p, requests_per_second=p.requests_per_second * MONTH_TRAFFIC)
            for p in runbook_profiles()
        ),
        injections=(
            Injection("api", outage.start, outage.end, error_ratio=0.6),
            Injection("auth", slow.start, slow.end, latency=SLOW_API),
            Injection("ai-worker", major.start, major.end, error_ratio=0.35),
            Injection("api", both.start, both.end, error_ratio=0.3, latency=SLOW_API),
            Injection("database", database.start, database.end, error_ratio=1.0),
            *dependents,
            Injection("api", burn.start, burn.end, error_ratio=0.02),
            Injection("database", sluggish.start, sluggish.end, latency=SLUGGISH_DB),
            Injection("auth", *MONTH_QUIET_NIGHT[1:], traffic=0.05),
            Injection("database", *MONTH_NO_TRAFFIC[1:], traffic=0.0),
        ),
        resets=(MONTH_RESET,),
        gaps=(MONTH_GAP,),
    )


def truth_without(
    truth: Callable[[datetime, datetime], Counts],
    start: datetime,
    end: datetime,
    excluded: Sequence[tuple[datetime, datetime]],
) -> Counts:
    """``truth`` over (start, end] with the spans ``excluded`` (budget corrections) taken out:
    the exact counts a corrected report must give."""
    kept: list[tuple[datetime, datetime]] = []
    edge = start
    for a, b in sorted(excluded):
        if a > edge:
            kept.append((edge, min(a, end)))
        edge = max(edge, b)
    if edge < end:
        kept.append((edge, end))
    parts = [truth(a, b) for a, b in kept if b > a]
    return Counts(total=sum(p.total for p in parts), bad=sum(p.bad for p in parts))
