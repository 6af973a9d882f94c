"""The severity policy against every row of the runbook's matrix (7.1) and checklist (2.2)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from sloctl.core.severity import Severity
from sloctl.incidents.conditions import holding as conditions
from sloctl.incidents.conditions import severity_findings, track
from sloctl.incidents.policy import (
    Cause,
    Condition,
    Held,
    Policy,
    ServiceSignals,
    Thresholds,
    healthy,
)

T0 = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
RUNBOOK = Thresholds()
WEB = Decimal("0.2")
INFERENCE = Decimal("2.5")


def run(steps: list[tuple[timedelta, ServiceSignals]], limits: Thresholds = RUNBOOK) -> Held:
    held: Held = {}
    for _, signals in steps:
        held = track(held, signals, limits)
    return held


def steady(minutes: int, **measured: object) -> list[tuple[timedelta, ServiceSignals]]:
    """The same signals every minute for ``minutes`` minutes, starting at T0."""
    return [
        (timedelta(minutes=m), ServiceSignals(at=T0 + timedelta(minutes=m), **measured))  # type: ignore[arg-type]
        for m in range(minutes + 1)
    ]


def severity_after(minutes: int, **measured: object) -> dict[Cause, Severity]:
    held = run(steady(minutes, **measured))
    findings = severity_findings(held, T0 + timedelta(minutes=minutes), RUNBOOK)
    return {cause: finding.severity for cause, finding in findings.items()}


@pytest.mark.parametrize(
    ("minutes", "measured", "expected"),
    [
        # 7.1 "Total outage | All | Any": every request fails.
        pytest.param(0, {"error_ratio": 1.0}, {Cause.ERRORS: Severity.P1}, id="total-outage"),
        # 7.1 "Partial outage | >50%" and 2.2 "complete service outage (>50% error rate)".
        pytest.param(0, {"error_ratio": 0.6}, {Cause.ERRORS: Severity.P1}, id="partial-outage"),
        pytest.param(0, {"error_ratio": 0.5}, {}, id="exactly-50-percent-is-not-p1"),
        # 7.1 "Major feature down | >10% | >30 min".
        pytest.param(31, {"error_ratio": 0.2}, {Cause.ERRORS: Severity.P2}, id="major-30-min"),
        pytest.param(29, {"error_ratio": 0.2}, {}, id="major-not-yet-30-min"),
        # 2.2 "Significant performance degradation (>500ms p95)".
        pytest.param(
            5,
            {"p95_seconds": 0.8, "latency_threshold": WEB},
            {Cause.LATENCY: Severity.P2},
            id="p95-above-500ms",
        ),
        # 7.1 "Performance issue | Any | >1 hour".
        pytest.param(
            61,
            {"p95_seconds": 0.3, "latency_threshold": WEB},
            {Cause.LATENCY: Severity.P2},
            id="performance-issue-over-an-hour",
        ),
        pytest.param(
            30,
            {"p95_seconds": 0.3, "latency_threshold": WEB},
            {Cause.LATENCY: Severity.P3},
            id="minor-latency-degradation",
        ),
        # 7.1 "Minor feature issue | <10%": budget burning at a paging rate.
        pytest.param(
            0,
            {"error_ratio": 0.05, "burning": True},
            {Cause.ERRORS: Severity.P3},
            id="minor-errors-burning-budget",
        ),
        pytest.param(0, {"error_ratio": 0.05}, {}, id="minor-errors-not-burning"),
        # ai-worker: normal p95 about 1 s, threshold 2.5 s.
        pytest.param(
            120,
            {"p95_seconds": 1.0, "latency_threshold": INFERENCE},
            {},
            id="inference-normal-is-not-500ms-breach",
        ),
        pytest.param(
            5,
            {"p95_seconds": 3.0, "latency_threshold": INFERENCE},
            {Cause.LATENCY: Severity.P2},
            id="inference-above-its-own-threshold",
        ),
        # Quiet, and nothing measured: no incident either way.
        pytest.param(
            60,
            {"error_ratio": 0.0001, "p95_seconds": 0.1, "latency_threshold": WEB},
            {},
            id="healthy",
        ),
        pytest.param(60, {}, {}, id="no-data-is-not-an-incident"),
        # Errors and latency at once: two causes, each with its own severity.
        pytest.param(
            0,
            {"error_ratio": 0.7, "p95_seconds": 0.3, "latency_threshold": WEB},
            {Cause.ERRORS: Severity.P1},
            id="outage-with-fresh-latency",
        ),
    ],
)
def test_runbook_matrix(
    minutes: int, measured: dict[str, object], expected: dict[Cause, Severity]
) -> None:
    assert severity_after(minutes, **measured) == expected


def test_p4_never_comes_from_metrics() -> None:
    for ratio in (0.0, 0.0005, 0.05, 0.2, 0.9):
        for p95 in (0.1, 0.3, 0.9, 5.0):
            for minutes in (0, 10, 45, 90):
                for burning in (False, True):
                    found = severity_after(
                        minutes,
                        error_ratio=ratio,
                        p95_seconds=p95,
                        latency_threshold=WEB,
                        burning=burning,
                    )
                    assert Severity.P4 not in found.values()


def test_latency_escalates_from_p3_to_p2_as_it_lasts() -> None:
    measured = {"p95_seconds": 0.3, "latency_threshold": WEB}
    assert severity_after(4, **measured) == {}
    assert severity_after(5, **measured) == {Cause.LATENCY: Severity.P3}
    assert severity_after(59, **measured) == {Cause.LATENCY: Severity.P3}
    assert severity_after(60, **measured) == {Cause.LATENCY: Severity.P2}


def test_errors_escalate_from_p3_to_p2_to_p1() -> None:
    steps = steady(40, error_ratio=0.05, burning=True)
    steps += [
        (timedelta(minutes=40 + m), ServiceSignals(T0 + timedelta(minutes=40 + m), error_ratio=0.2))
        for m in range(1, 32)
    ]
    held: Held = {}
    seen = []
    for offset, signals in steps:
        held = track(held, signals, RUNBOOK)
        finding = severity_findings(held, T0 + offset, RUNBOOK).get(Cause.ERRORS)
        seen.append(None if finding is None else finding.severity)
    assert seen[0] == Severity.P3
    assert seen[-1] == Severity.P2
    held = track(held, ServiceSignals(T0 + timedelta(minutes=72), error_ratio=0.9), RUNBOOK)
    assert (
        severity_findings(held, T0 + timedelta(minutes=72), RUNBOOK)[Cause.ERRORS].severity
        is Severity.P1
    )


def test_a_condition_that_stops_starts_its_clock_again() -> None:
    measured = {"error_ratio": 0.2}
    held = run(steady(20, **measured))
    held = track(held, ServiceSignals(T0 + timedelta(minutes=21), error_ratio=0.01), RUNBOOK)
    assert Condition.MAJOR_ERRORS not in held
    held = track(held, ServiceSignals(T0 + timedelta(minutes=22), error_ratio=0.2), RUNBOOK)
    assert held[Condition.MAJOR_ERRORS] == T0 + timedelta(minutes=22)
    assert severity_findings(held, T0 + timedelta(minutes=45), RUNBOOK) == {}


def test_per_service_thresholds_override_the_defaults() -> None:
    strict = Thresholds(major_for=timedelta(minutes=10))
    policy = Policy(services={"database": strict})
    assert policy.for_service("database") is strict
    assert policy.for_service("api") == RUNBOOK
    held = run(steady(11, error_ratio=0.2), strict)
    assert (
        severity_findings(held, T0 + timedelta(minutes=11), strict)[Cause.ERRORS].severity
        is Severity.P2
    )


@pytest.mark.parametrize(
    ("measured", "cause", "expected"),
    [
        pytest.param({"error_ratio": 0.0005}, Cause.ERRORS, True, id="errors-below-0.1pct"),
        pytest.param({"error_ratio": 0.002}, Cause.ERRORS, False, id="errors-above-0.1pct"),
        pytest.param(
            {"error_ratio": 0.0005, "burning": True}, Cause.ERRORS, True, id="current-signals-only"
        ),  # a burn-rate pair lags; it does not count
        pytest.param({}, Cause.ERRORS, None, id="errors-unmeasured"),
        pytest.param(
            {"p95_seconds": 0.15, "latency_threshold": WEB},
            Cause.LATENCY,
            True,
            id="p95-within-slo",
        ),
        pytest.param(
            {"p95_seconds": 0.25, "latency_threshold": WEB},
            Cause.LATENCY,
            False,
            id="p95-above-slo",
        ),
        pytest.param({"p95_seconds": 0.15}, Cause.LATENCY, None, id="no-latency-slo"),
    ],
)
def test_runbook_verification(
    measured: dict[str, object], cause: Cause, expected: bool | None
) -> None:
    signals = ServiceSignals(T0, **measured)  # type: ignore[arg-type]
    assert healthy(signals, RUNBOOK, cause) is expected


def test_a_burst_of_major_errors_is_p3_until_it_lasts_30_minutes() -> None:
    found = conditions(ServiceSignals(T0, error_ratio=0.2, burning=True), RUNBOOK)
    assert {Condition.BUDGET_BURN, Condition.MAJOR_ERRORS} <= found
    assert severity_after(20, error_ratio=0.2, burning=True) == {Cause.ERRORS: Severity.P3}
    assert severity_after(30, error_ratio=0.2, burning=True) == {Cause.ERRORS: Severity.P2}


def test_a_scrape_gap_neither_restarts_nor_stops_a_clock() -> None:
    held = run(steady(20, error_ratio=0.2))
    held = track(held, ServiceSignals(T0 + timedelta(minutes=21)), RUNBOOK)  # nothing measured
    assert held[Condition.MAJOR_ERRORS] == T0
    held = track(held, ServiceSignals(T0 + timedelta(minutes=31), error_ratio=0.2), RUNBOOK)
    found = severity_findings(held, T0 + timedelta(minutes=31), RUNBOOK)
    assert found[Cause.ERRORS].severity is Severity.P2
