"""Per-day uptime from the incidents: weighting, overlaps, midnight, open incidents,
maintenance and the days before the store's first record."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from sloctl.core.severity import Severity
from sloctl.incidents.lifecycle import Incident, State, declare, escalate, move
from sloctl.incidents.policy import Cause, Finding
from sloctl.incidents.public_status import Reported
from sloctl.incidents.uptime import Day, daily_uptime, down_stretches, grade, outages, period_uptime

NOW = datetime(2026, 12, 10, 12, 0, tzinfo=UTC)
DAY_SECONDS = 86_400.0
LONG_AGO = NOW - timedelta(days=200)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=UTC)


def incident(
    start: datetime,
    restored: datetime | None,
    severity: Severity = Severity.P1,
    *,
    number: int = 1,
    service: str = "api",
    resolved_after: timedelta | None = timedelta(minutes=15),
) -> Incident:
    found = declare(
        f"INC-{number:04d}",
        service,
        Finding(Cause.ERRORS, severity, "reason"),
        start + timedelta(minutes=1),
        impact_started_at=start,
    )
    if restored is not None:
        found = move(found, State.MONITORING, restored, actor="sloctl")
        if resolved_after is not None:
            found = move(found, State.RESOLVED, restored + resolved_after, actor="sloctl")
    return found


def days_of(*incidents: Incident, first: datetime | None = LONG_AGO, days: int = 5) -> list[Day]:
    found = [o for i in incidents for o in outages(Reported(i), NOW)]
    return daily_uptime("api", found, first, NOW, days)


def down(day: Day) -> float:
    return day.downtime_seconds


@pytest.mark.parametrize(
    ("severity", "weighted_minutes"),
    [(Severity.P1, 60.0), (Severity.P2, 18.0), (Severity.P3, 0.0), (Severity.P4, 0.0)],
)
def test_a_major_outage_counts_fully_a_partial_one_at_30_percent(
    severity: Severity, weighted_minutes: float
) -> None:
    [*_, day9, _today] = days_of(incident(at(9, 10), at(9, 11), severity))
    assert day9.day == date(2026, 12, 9)
    assert down(day9) == pytest.approx(weighted_minutes * 60)
    assert day9.uptime == pytest.approx(1 - weighted_minutes * 60 / DAY_SECONDS)
    assert day9.incidents == ("INC-0001",)  # listed even when it cost no uptime


def test_overlapping_incidents_count_each_moment_once_the_worst_winning() -> None:
    p1 = incident(at(9, 10), at(9, 11), number=1)  # 10:00-11:00 major
    p2 = incident(at(9, 10, 30), at(9, 12), Severity.P2, number=2)  # 10:30-12:00 partial
    same = incident(at(9, 10), at(9, 11), number=3)  # the same hour again
    day9 = days_of(p1, p2, same)[-2]
    assert down(day9) == pytest.approx(60 * 60 + 0.3 * 60 * 60)
    assert day9.incidents == ("INC-0001", "INC-0003", "INC-0002")


def test_an_incident_across_midnight_is_cut_at_utc_midnight() -> None:
    [*_, day8, day9, _today] = days_of(incident(at(8, 23), at(9, 1)))
    assert [down(day8), down(day9)] == pytest.approx([3600.0, 3600.0])
    assert day8.incidents == day9.incidents == ("INC-0001",)


def test_a_still_open_incident_is_down_until_now_and_today_counts_up_to_now() -> None:
    today = days_of(incident(at(10, 11), None))[-1]
    assert today.day == date(2026, 12, 10)
    assert today.observed_seconds == 12 * 3600
    assert down(today) == pytest.approx(3600.0)
    assert today.uptime == pytest.approx(1 - 1 / 12)


def test_a_relapse_is_down_again_and_monitoring_is_not_down() -> None:
    found = incident(at(9, 10), at(9, 11), resolved_after=None)
    found = move(found, State.MITIGATING, at(9, 13), actor="sloctl")
    found = move(found, State.MONITORING, at(9, 14), actor="sloctl")
    found = move(found, State.RESOLVED, at(9, 15), actor="sloctl")
    assert down_stretches(found, NOW) == [(at(9, 10), at(9, 11)), (at(9, 13), at(9, 14))]
    assert down(days_of(found)[-2]) == pytest.approx(2 * 3600.0)


def test_an_escalation_changes_the_weight_from_then_on() -> None:
    found = incident(at(9, 10), None, Severity.P2)
    found = escalate(found, Finding(Cause.ERRORS, Severity.P1, "worse"), at(9, 10, 30))
    found = move(found, State.MONITORING, at(9, 11), actor="sloctl")
    # 10:00-10:30 partial (the declaration's P2, also before it), 10:30-11:00 major
    assert down(days_of(found)[-2]) == pytest.approx(0.3 * 1800 + 1800)


def test_a_suppressed_incident_is_no_downtime_and_an_announced_one_counts_from_then() -> None:
    quiet = replace(incident(at(9, 10), at(9, 11)), suppressed_by="upgrade")
    assert down(days_of(quiet)[-2]) == 0.0
    assert outages(Reported(quiet), NOW) == []
    announced = replace(quiet, unsuppressed_at=at(9, 10, 40))
    assert down(days_of(announced)[-2]) == pytest.approx(20 * 60)


def test_days_before_the_first_record_have_no_data_and_its_day_counts_from_it() -> None:
    found = days_of(incident(at(9, 10), at(9, 11)), first=at(9, 6))
    assert [d.uptime for d in found[:3]] == [None, None, None]
    assert [grade(d) for d in found[:3]] == ["none"] * 3
    day9 = found[3]
    assert day9.observed_seconds == 18 * 3600
    assert day9.uptime == pytest.approx(1 - 1 / 18)
    assert found[4].uptime == 1.0
    assert period_uptime(found) == pytest.approx(1 - 3600 / (30 * 3600))
    assert all(d.uptime is None for d in days_of(first=None))
    assert period_uptime(days_of(first=None)) is None


def test_ninety_days_end_today_and_other_services_are_not_counted() -> None:
    other = incident(at(9, 10), at(9, 11), service="auth")
    found = days_of(other, days=90)
    assert len(found) == 90
    assert (found[0].day, found[-1].day) == (date(2026, 9, 12), date(2026, 12, 10))
    assert all(d.uptime == 1.0 and not d.incidents for d in found)


@pytest.mark.parametrize(
    ("uptime", "incidents", "expected"),
    [
        (None, (), "none"),
        (1.0, (), "up"),
        (1.0, ("INC-0001",), "degraded"),
        (0.995, ("INC-0001",), "minor"),
        (0.96, ("INC-0001",), "partial"),
        (0.5, ("INC-0001",), "major"),
    ],
)
def test_grades(uptime: float | None, incidents: tuple[str, ...], expected: str) -> None:
    assert grade(Day(date(2026, 12, 1), uptime, 0.0, DAY_SECONDS, incidents)) == expected
