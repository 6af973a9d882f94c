"""The condition spec: built from the policy in force, made concrete per SLO, and judged."""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from sloctl.core import burn
from sloctl.core.selector import parse_selector
from sloctl.core.severity import Severity
from sloctl.core.slo import LatencyIndicator, RatioIndicator, RollingWindow, Slo
from sloctl.incidents.conditions import (
    ConditionSpec,
    Measure,
    bind,
    bounds,
    observed,
    paging,
    service_conditions,
    severity_findings,
    track,
)
from sloctl.incidents.engine import Tracked, decide
from sloctl.incidents.events import EventKind
from sloctl.incidents.lifecycle import Incident
from sloctl.incidents.policy import Cause, Condition, Held, Policy, ServiceSignals, Thresholds
from sloctl.incidents.signals import Measured, signal_plan, windows_of
from sloctl.loading.definitions import load_definitions
from sloctl.loading.policy_file import shipped_policy
from tests.paths import ROOT

SLOS = load_definitions(ROOT / "slo-definitions")
RUNBOOK = Thresholds()
T0 = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)


def slo(service: str, name: str) -> Slo:
    return next(s for s in SLOS if s.service == service and s.name == name)


def spec_of(
    limits: Thresholds, condition: Condition, severity: Severity | None = None
) -> ConditionSpec:
    found = [s for s in service_conditions(limits) if s.condition is condition]
    if severity is not None:
        found = [s for s in found if s.severity is severity]
    [spec] = found
    return spec


# The spec itself, from the shipped policy and from overrides.


@pytest.mark.parametrize(
    ("condition", "severity", "measure", "threshold", "duration"),
    [
        (Condition.OUTAGE, Severity.P1, Measure.ERROR_RATIO, "0.5", timedelta(0)),
        (Condition.MAJOR_ERRORS, Severity.P2, Measure.ERROR_RATIO, "0.1", timedelta(minutes=30)),
        (Condition.SUSTAINED_ERRORS, Severity.P3, Measure.BURN_RATE, "10", timedelta(minutes=5)),
        (Condition.SEVERE_LATENCY, Severity.P2, Measure.P95, "0.5", timedelta(minutes=5)),
        (Condition.DEGRADED_LATENCY, Severity.P2, Measure.P95, None, timedelta(hours=1)),
        (Condition.DEGRADED_LATENCY, Severity.P3, Measure.P95, None, timedelta(minutes=5)),
        (Condition.BUDGET_BURN, Severity.P3, Measure.BURN_PAIRS, None, timedelta(0)),
        (Condition.LATENCY_BUDGET_BURN, Severity.P3, Measure.BURN_PAIRS, None, timedelta(0)),
        (Condition.BUDGET_BURN_TICKET, None, Measure.BURN_PAIRS, None, timedelta(minutes=15)),
    ],
)
def test_the_shipped_spec_is_the_runbook(
    condition: Condition,
    severity: Severity | None,
    measure: Measure,
    threshold: str | None,
    duration: timedelta,
) -> None:
    limits = shipped_policy().for_service("api")
    spec = spec_of(limits, condition, severity)
    assert spec.measure is measure
    assert spec.threshold == (None if threshold is None else Decimal(threshold))
    assert spec.duration == duration
    if measure is Measure.BURN_PAIRS:
        assert spec.pairs == tuple(
            b for b in burn.STANDARD_WINDOWS if (b.urgency is burn.Urgency.PAGE) == bool(severity)
        )
    else:
        assert spec.window_seconds == 300


def test_paging_conditions_come_highest_severity_first() -> None:
    order = {Severity.P1: 0, Severity.P2: 1, Severity.P3: 2}
    severities = [s.severity for s in paging(RUNBOOK)]
    assert None not in severities
    assert severities == sorted(severities, key=lambda s: order[s])  # type: ignore[index]


def test_every_value_of_the_thresholds_reaches_the_spec() -> None:
    custom = Thresholds(
        outage_error_ratio=Decimal("0.4"),
        major_error_ratio=Decimal("0.2"),
        major_for=timedelta(minutes=10),
        sustained_burn_rate=Decimal("6"),
        sustained_for=timedelta(minutes=8),
        severe_p95_seconds=Decimal("0.8"),
        severe_for=timedelta(minutes=2),
        degraded_for=timedelta(minutes=3),
        long_degradation=timedelta(hours=2),
        signal_window=timedelta(minutes=10),
    )
    found = {
        (s.condition, s.severity): (s.threshold, s.duration) for s in service_conditions(custom)
    }
    assert found[(Condition.OUTAGE, Severity.P1)] == (Decimal("0.4"), timedelta(0))
    assert found[(Condition.MAJOR_ERRORS, Severity.P2)] == (Decimal("0.2"), timedelta(minutes=10))
    assert found[(Condition.SUSTAINED_ERRORS, Severity.P3)] == (Decimal(6), timedelta(minutes=8))
    assert found[(Condition.SEVERE_LATENCY, Severity.P2)] == (
        Decimal("0.8"),
        timedelta(minutes=2),
    )
    assert found[(Condition.DEGRADED_LATENCY, Severity.P2)] == (None, timedelta(hours=2))
    assert found[(Condition.DEGRADED_LATENCY, Severity.P3)] == (None, timedelta(minutes=3))
    assert {s.window_seconds for s in service_conditions(custom) if s.pairs == ()} == {600}


# Reason texts are written from the values.


@pytest.mark.parametrize(
    ("changes", "condition", "severity", "reason"),
    [
        pytest.param(
            {},
            Condition.OUTAGE,
            Severity.P1,
            "error ratio above 50% over 5 min (complete service outage, runbook 2.2 / 7.1)",
            id="outage",
        ),
        pytest.param(
            {},
            Condition.MAJOR_ERRORS,
            Severity.P2,
            "error ratio above 10% over 5 min for more than 30 min (major feature down, "
            "runbook 7.1)",
            id="major",
        ),
        pytest.param(
            {"major_for": timedelta(minutes=45)},
            Condition.MAJOR_ERRORS,
            Severity.P2,
            "error ratio above 10% over 5 min for more than 45 min (major feature down, "
            "runbook 7.1)",
            id="major-for-follows-the-policy",
        ),
        pytest.param(
            {"major_error_ratio": Decimal("0.25"), "major_for": timedelta(hours=2)},
            Condition.MAJOR_ERRORS,
            Severity.P2,
            "error ratio above 25% over 5 min for more than 2 hours (major feature "
            "down, runbook 7.1)",
            id="major-override",
        ),
        pytest.param(
            {},
            Condition.SUSTAINED_ERRORS,
            Severity.P3,
            "error ratio above 10x the error budget over 5 min for more than 5 min "
            "(minor issue, errors far above normal, runbook 2.2 / 7.1)",
            id="sustained",
        ),
        pytest.param(
            {"signal_window": timedelta(seconds=10)},
            Condition.OUTAGE,
            Severity.P1,
            "error ratio above 50% over 10 s (complete service outage, runbook 2.2 / 7.1)",
            id="short-window",
        ),
        pytest.param(
            {},
            Condition.SEVERE_LATENCY,
            Severity.P2,
            "p95 latency above 500 ms (or the SLO's threshold if higher) over 5 min for "
            "more than 5 min (significant performance degradation, runbook 2.2)",
            id="severe",
        ),
        pytest.param(
            {"severe_p95_seconds": Decimal("1.5")},
            Condition.SEVERE_LATENCY,
            Severity.P2,
            "p95 latency above 1.5 s (or the SLO's threshold if higher) "
            "over 5 min for more than 5 min (significant performance degradation, "
            "runbook 2.2)",
            id="severe-override",
        ),
        pytest.param(
            {},
            Condition.DEGRADED_LATENCY,
            Severity.P2,
            "p95 latency above the SLO's threshold over 5 min for more than 1 hour "
            "(performance issue, runbook 7.1)",
            id="long-degradation",
        ),
        pytest.param(
            {},
            Condition.BUDGET_BURN,
            Severity.P3,
            "error budget burning at a paging rate over 1h/5m or 6h/30m (minor issue, runbook 2.2)",
            id="burn",
        ),
    ],
)
def test_reason_texts(
    changes: dict[str, object], condition: Condition, severity: Severity, reason: str
) -> None:
    limits = replace(RUNBOOK, **changes)  # type: ignore[arg-type]
    assert spec_of(limits, condition, severity).reason() == reason


# Concrete per SLO: what the generated alerts compare.


@pytest.mark.parametrize(
    ("service", "limit"),
    [("api", "0.01"), ("auth", "0.005"), ("ai-worker", "0.05"), ("database", "0.001")],
)
def test_the_sustained_limit_is_a_multiple_of_each_slos_budget(service: str, limit: str) -> None:
    spec = spec_of(RUNBOOK, Condition.SUSTAINED_ERRORS)
    bound = bind(spec, slo(service, "availability"))
    assert bound is not None
    [row] = bound.rows
    assert (row.window_seconds, row.limit, row.short_seconds) == (300, Decimal(limit), None)
    assert bind(spec, slo(service, "latency")) is None  # errors are judged on availability


def ratio_slo(target: str) -> Slo:
    total = parse_selector('http_requests_total{service="x"}')
    bad = parse_selector('http_requests_total{service="x",code=~"5.."}')
    return Slo(
        "x", "availability", RatioIndicator(total, bad), Decimal(target), RollingWindow(30 * 86400)
    )


def test_a_limit_that_can_never_hold_is_left_out() -> None:
    spec = spec_of(RUNBOOK, Condition.SUSTAINED_ERRORS)
    assert bind(spec, ratio_slo("0.95")) is not None  # 10 x 5 % = 50 %
    assert bind(spec, ratio_slo("0.9")) is None  # 10 x 10 % = 100 %: never above


def test_a_condition_another_one_covers_is_left_out() -> None:
    # At 95 % the sustained limit is 50 %, the outage's: the P1 fires at once on it.
    names = [b.spec.condition for b in bounds(ratio_slo("0.95"), service_conditions(RUNBOOK))]
    assert Condition.SUSTAINED_ERRORS not in names
    assert Condition.OUTAGE in names
    histogram = parse_selector('h{service="x"}')
    for threshold, expected in (
        ("0.2", [Severity.P2, Severity.P2, Severity.P3]),
        ("0.5", [Severity.P2]),  # the severe P2 covers the SLO-threshold ones
        ("2.5", [Severity.P2]),
    ):
        latency = Slo(
            "x", "latency", LatencyIndicator(histogram, Decimal(threshold)), Decimal("0.95")
        )
        found = [b for b in bounds(latency, service_conditions(RUNBOOK)) if b.on_p95]
        assert [b.spec.severity for b in found] == expected, threshold


def test_p95_limits_are_the_policys_floored_at_the_slos_own() -> None:
    specs = service_conditions(replace(RUNBOOK, severe_p95_seconds=Decimal("0.3")))
    limits = {
        (b.slo.service, b.spec.condition, b.spec.severity): b.rows[0].limit
        for s in SLOS
        for b in bounds(s, specs)
        if b.on_p95
    }
    assert limits[("api", Condition.SEVERE_LATENCY, Severity.P2)] == Decimal("0.3")
    assert limits[("api", Condition.DEGRADED_LATENCY, Severity.P3)] == Decimal("0.2")
    assert limits[("ai-worker", Condition.SEVERE_LATENCY, Severity.P2)] == Decimal("2.5")


@pytest.mark.parametrize(
    ("service", "condition", "summary"),
    [
        (
            "api",
            Condition.SUSTAINED_ERRORS,
            "error ratio above 1% (10x the error budget) over 5 min for more than 5 min",
        ),
        (
            "api",
            Condition.BUDGET_BURN,
            "error budget burning at 14.4x over 1h/5m or 6x over 6h/30m",
        ),
        ("ai-worker", Condition.OUTAGE, "error ratio above 50% over 5 min"),
    ],
)
def test_alert_summaries_carry_the_slos_own_numbers(
    service: str, condition: Condition, summary: str
) -> None:
    [bound] = [
        b
        for b in bounds(slo(service, "availability"), service_conditions(RUNBOOK))
        if b.spec.condition is condition
    ]
    assert bound.summary() == summary


# The engine's side: which conditions hold, and for how long.


@pytest.mark.parametrize(
    ("signals", "expected"),
    [
        pytest.param({"burn_rate": 12.0}, True, id="above"),
        pytest.param({"burn_rate": 10.0}, False, id="exactly-10x-is-not-above"),
        pytest.param({"burn_rate": 0.4}, False, id="normal"),
        pytest.param({}, None, id="unmeasured"),
    ],
)
def test_sustained_errors_read_the_burn_rate(
    signals: dict[str, float], expected: bool | None
) -> None:
    spec = spec_of(RUNBOOK, Condition.SUSTAINED_ERRORS)
    assert observed(spec, ServiceSignals(T0, **signals)) is expected  # type: ignore[arg-type]


def held_for(minutes: int, limits: Thresholds = RUNBOOK, **measured: float) -> Held:
    held: Held = {}
    for minute in range(minutes + 1):
        held = track(held, ServiceSignals(T0 + timedelta(minutes=minute), **measured), limits)  # type: ignore[arg-type]
    return held


@pytest.mark.parametrize(
    ("minutes", "measured", "limits", "expected"),
    [
        pytest.param(4, {"burn_rate": 20.0}, RUNBOOK, None, id="20x-not-yet-5-min"),
        pytest.param(5, {"burn_rate": 20.0}, RUNBOOK, Severity.P3, id="20x-for-5-min-is-p3"),
        pytest.param(60, {"burn_rate": 9.0}, RUNBOOK, None, id="9x-for-an-hour-is-not"),
        pytest.param(
            5,
            {"burn_rate": 8.0},
            replace(RUNBOOK, sustained_burn_rate=Decimal(6)),
            Severity.P3,
            id="override-6x",
        ),
        pytest.param(
            5,
            {"burn_rate": 20.0},
            replace(RUNBOOK, sustained_for=timedelta(minutes=10)),
            None,
            id="override-10-min",
        ),
        pytest.param(
            31,
            {"burn_rate": 200.0, "error_ratio": 0.2},
            RUNBOOK,
            Severity.P2,
            id="raised-to-p2-after-30-min",
        ),
    ],
)
def test_sustained_errors_severity(
    minutes: int, measured: dict[str, float], limits: Thresholds, expected: Severity | None
) -> None:
    held = held_for(minutes, limits, **measured)
    finding = severity_findings(held, T0 + timedelta(minutes=minutes), limits).get(Cause.ERRORS)
    assert (None if finding is None else finding.severity) == expected


def test_a_scrape_gap_keeps_the_sustained_clock() -> None:
    held = held_for(3, burn_rate=20.0)
    held = track(held, ServiceSignals(T0 + timedelta(minutes=4)), RUNBOOK)  # nothing measured
    assert held[Condition.SUSTAINED_ERRORS] == T0
    held = track(held, ServiceSignals(T0 + timedelta(minutes=5), burn_rate=20.0), RUNBOOK)
    finding = severity_findings(held, T0 + timedelta(minutes=5), RUNBOOK)[Cause.ERRORS]
    assert finding.severity is Severity.P3
    assert finding.reason.startswith("error ratio above 10x the error budget")


# From counters to a declaration: the engine on synthetic traffic, through the same signal
# code the daemon and the backtest use.


@dataclass
class Traffic:
    """Requests and errors per minute of one availability SLO; None is a missed scrape."""

    requests: Callable[[int], float]
    errors: Callable[[int], float]
    missing: Callable[[int], bool] = field(default=lambda minute: False)


def first_declaration(
    service: str, traffic: Traffic, minutes: int, policy: Policy | None = None
) -> tuple[int, Incident] | None:
    """The first minute an incident is declared, replaying ``traffic`` minute by minute."""
    policy = policy or shipped_policy()
    slos = [s for s in SLOS if s.service == service]
    planned = signal_plan(slos, policy)
    availability = slo(service, "availability")
    windows = windows_of(
        availability, int(policy.for_service(service).signal_window.total_seconds())
    )
    tracked: dict[str, Tracked] = {}
    open_incidents: dict[str, Incident] = {}
    for minute in range(1, minutes + 1):
        readings = {}
        for window in windows:
            span = range(max(1, minute - window // 60 + 1), minute + 1)
            seen = [m for m in span if not traffic.missing(m)]
            if not seen:
                continue  # a window with no scrape at all has no value: no data
            readings[(availability.key, window)] = {
                "total": sum(traffic.requests(m) for m in span),
                "bad": sum(traffic.errors(m) for m in span),
            }
        signals = planned.judge(Measured(readings, {}), T0 + timedelta(minutes=minute))[service]
        outcome = decide(
            policy, {service: signals}, tracked, list(open_incidents.values()), lambda: "INC-0001"
        )
        tracked = outcome.tracked
        declared = [e for e in outcome.events if e.kind is EventKind.DECLARED]
        if declared:
            return minute, declared[0].incident
        for incident in outcome.changed:
            open_incidents[incident.id] = incident
    return None


BURN_AT = 6 * 60
PER_MINUTE = 2400  # api's 40 requests per second


def slow_burn(ratio: float) -> Traffic:
    """Six hours of api's normal 0.03 % errors, then ``ratio`` from minute BURN_AT on."""
    return Traffic(
        lambda m: PER_MINUTE,
        lambda m: PER_MINUTE * (ratio if m >= BURN_AT else 0.0003),
    )


def test_a_2_percent_slow_burn_is_a_p3_within_15_minutes() -> None:
    found = first_declaration("api", slow_burn(0.02), BURN_AT + 120)
    assert found is not None
    minute, incident = found
    burning_for = minute - BURN_AT + 1  # minutes of 2 % errors seen when it is declared
    assert burning_for <= 15
    assert burning_for == 8  # 1 % reached after 2.5 min, then held 5 min
    assert incident.severity is Severity.P3
    assert incident.timeline[0].note.startswith("error ratio above 10x the error budget")


def test_without_the_sustained_indicator_the_same_burn_waits_for_the_1h_pair() -> None:
    never = Policy(defaults=replace(RUNBOOK, sustained_burn_rate=Decimal(1000)))
    found = first_declaration("api", slow_burn(0.02), BURN_AT + 120, never)
    assert found is not None
    minute, incident = found
    assert minute - BURN_AT + 1 == 43  # 14.4 x 0.1 % over an hour needs 43 minutes of 2 %
    assert incident.timeline[0].note.startswith("error budget burning at a paging rate")


def diurnal(base: float) -> Callable[[int], float]:
    """A day's traffic curve: from half to one and a half times ``base``."""
    return lambda m: base * (1 + 0.5 * math.sin((m / 60 - 9) / 24 * 2 * math.pi))


@pytest.mark.parametrize(
    ("service", "per_minute", "ratio"),
    [
        pytest.param("api", 2400, 0.0003, id="api"),
        pytest.param("auth", 900, 0.0002, id="auth"),
        pytest.param("ai-worker", 120, 0.002, id="ai-worker-two-per-second"),
        pytest.param("database", 4800, 0.0, id="database"),
    ],
)
def test_a_day_of_normal_noisy_traffic_declares_nothing(
    service: str, per_minute: float, ratio: float
) -> None:
    rng = random.Random(f"{service}-normal")
    requests = diurnal(per_minute)
    noise = {m: rng.random() for m in range(24 * 60 + 1)}
    traffic = Traffic(
        requests,
        # Poisson-like: the expected errors, plus up to four times as many in a bad minute.
        lambda m: requests(m) * ratio * (1 + 4 * noise[m] ** 8),
        missing=lambda m: 600 <= m < 630,  # a 30-minute scrape gap
    )
    assert first_declaration(service, traffic, 24 * 60) is None


def test_a_quiet_night_with_a_few_errors_declares_nothing() -> None:
    # ai-worker at a tenth of its traffic (12 requests a minute) with an error every 10
    # minutes: 0.8 % over 5 minutes is below its 5 % limit (10 x 0.5 %).
    traffic = Traffic(lambda m: 12, lambda m: 1 if m % 10 == 0 else 0)
    assert first_declaration("ai-worker", traffic, 6 * 60) is None
