"""The status page's rules: severities to component statuses, the worst winning, maintenance,
the page's indicator, and each incident's public status and updates."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from sloctl.core.maintenance import MaintenanceWindow
from sloctl.core.severity import Severity
from sloctl.incidents.cadence import Status, apply_update
from sloctl.incidents.lifecycle import Incident, State, declare, escalate, move
from sloctl.incidents.policy import Cause, Finding
from sloctl.incidents.public_status import (
    ComponentStatus,
    IncidentStatus,
    Indicator,
    Reported,
    component_statuses,
    incident_name,
    incident_status,
    page_status,
    public_updates,
)
from sloctl.incidents.public_summary import PublicSummary

T0 = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
SERVICES = ("api", "auth", "database")
OP, MAINT = ComponentStatus.OPERATIONAL, ComponentStatus.UNDER_MAINTENANCE
DEGRADED, PARTIAL, MAJOR = (
    ComponentStatus.DEGRADED_PERFORMANCE,
    ComponentStatus.PARTIAL_OUTAGE,
    ComponentStatus.MAJOR_OUTAGE,
)


def incident(
    number: int = 1,
    service: str = "api",
    severity: Severity = Severity.P1,
    cause: Cause = Cause.ERRORS,
    at: datetime = T0,
) -> Incident:
    finding = Finding(cause, severity, "error ratio above 50% over 5m (rate(http_requests[5m]))")
    return declare(f"INC-{number:04d}", service, finding, at, impact_started_at=at)


def statuses(*reported: Reported, windows: tuple[MaintenanceWindow, ...] = ()) -> tuple[str, ...]:
    found = component_statuses(SERVICES, reported, windows, T0 + timedelta(minutes=5))
    return tuple(found[s].value for s in SERVICES)


@pytest.mark.parametrize(
    ("severity", "expected"),
    [
        (Severity.P1, MAJOR),
        (Severity.P2, PARTIAL),
        (Severity.P3, DEGRADED),
        (Severity.P4, OP),
    ],
)
def test_each_severity_has_one_component_status(
    severity: Severity, expected: ComponentStatus
) -> None:
    assert statuses(Reported(incident(severity=severity))) == (
        expected.value,
        "operational",
        "operational",
    )


def test_the_worst_open_incident_wins_and_resolved_or_restored_ones_do_not_count() -> None:
    p3 = incident(1, severity=Severity.P3)
    p2 = incident(2, severity=Severity.P2, cause=Cause.LATENCY)
    assert statuses(Reported(p3), Reported(p2))[0] == "partial_outage"
    restored = move(incident(3), State.MONITORING, T0 + timedelta(minutes=2), actor="sloctl")
    assert statuses(Reported(restored), Reported(p3))[0] == "degraded_performance"
    resolved = move(incident(4), State.RESOLVED, T0 + timedelta(minutes=2), actor="@ann")
    assert statuses(Reported(resolved)) == ("operational",) * 3


def test_the_services_of_the_symptoms_and_of_the_public_summary_are_affected() -> None:
    found = incident(service="database")
    summary = PublicSummary(found.id, T0, "Sign-in fails", ("auth",), "@lee")
    assert statuses(Reported(found, summaries=(summary,))) == (
        "operational",
        "major_outage",
        "major_outage",
    )


def test_maintenance_shows_unless_an_incident_is_worse_and_suppressed_incidents_do_not_count() -> (
    None
):
    window = MaintenanceWindow(
        "api", "upgrade", start=T0 - timedelta(hours=1), end=T0 + timedelta(hours=1)
    )
    assert statuses(windows=(window,))[0] == "under_maintenance"
    p4 = incident(severity=Severity.P4)
    assert statuses(Reported(p4), windows=(window,))[0] == "under_maintenance"
    p3 = incident(severity=Severity.P3)
    assert statuses(Reported(p3), windows=(window,))[0] == "degraded_performance"
    suppressed = replace(incident(), suppressed_by="upgrade")
    assert statuses(Reported(suppressed), windows=(window,))[0] == "under_maintenance"
    announced = replace(suppressed, unsuppressed_at=T0 + timedelta(minutes=1))
    assert statuses(Reported(announced))[0] == "major_outage"
    ended = MaintenanceWindow("api", "old", start=T0 - timedelta(hours=2), end=T0)
    assert statuses(windows=(ended,))[0] == "operational"


@pytest.mark.parametrize(
    ("components", "severities", "indicator", "description"),
    [
        ((OP, OP), (), Indicator.NONE, "All Systems Operational"),
        ((OP, MAINT), (), Indicator.NONE, "Service Under Maintenance"),
        ((DEGRADED, MAINT), (), Indicator.MINOR, "Partially Degraded Service"),
        ((PARTIAL, DEGRADED), (), Indicator.MAJOR, "Partial System Outage"),
        ((MAJOR, PARTIAL), (), Indicator.CRITICAL, "Major System Outage"),
        # an open incident on no component of the page still raises the indicator
        ((OP, OP), (Severity.P2,), Indicator.MAJOR, "Partial System Outage"),
        ((OP, OP), (Severity.P4,), Indicator.NONE, "All Systems Operational"),
    ],
)
def test_the_page_indicator_and_its_description(
    components: tuple[ComponentStatus, ...],
    severities: tuple[Severity, ...],
    indicator: Indicator,
    description: str,
) -> None:
    reported = [Reported(incident(i, "frontend", s)) for i, s in enumerate(severities, start=1)]
    found = page_status(components, reported)
    assert (found.indicator, found.description) == (indicator, description)


def test_public_status_follows_the_state_and_the_latest_update() -> None:
    declared = incident()
    assert incident_status(Reported(declared)) is IncidentStatus.INVESTIGATING
    acked = move(declared, State.ACKNOWLEDGED, T0 + timedelta(minutes=1), actor="@ann")
    assert incident_status(Reported(acked)) is IncidentStatus.INVESTIGATING
    mitigating, update = apply_update(
        acked, Status.MITIGATING, "rolling back", (), T0 + timedelta(minutes=3), by="@ann"
    )
    assert incident_status(Reported(mitigating, (update,))) is IncidentStatus.IDENTIFIED
    # a later 3.2 update saying "investigating" again is what the public is told
    again, second = apply_update(
        mitigating,
        Status.INVESTIGATING,
        "the rollback did not help",
        (),
        T0 + timedelta(minutes=6),
        by="@ann",
    )
    assert again.state is State.MITIGATING
    assert incident_status(Reported(again, (update, second))) is IncidentStatus.INVESTIGATING
    monitoring = move(again, State.MONITORING, T0 + timedelta(minutes=9), actor="sloctl")
    assert incident_status(Reported(monitoring, (update, second))) is IncidentStatus.MONITORING
    relapsed = move(monitoring, State.MITIGATING, T0 + timedelta(minutes=10), actor="sloctl")
    assert incident_status(Reported(relapsed, (update, second))) is IncidentStatus.IDENTIFIED
    resolved = move(relapsed, State.RESOLVED, T0 + timedelta(minutes=20), actor="sloctl")
    assert incident_status(Reported(resolved, (update, second))) is IncidentStatus.RESOLVED


def test_public_updates_hold_public_texts_only_in_order() -> None:
    declared = incident()
    escalated = escalate(
        replace(declared, severity=Severity.P2),
        Finding(Cause.ERRORS, Severity.P1, "p95 above 500 ms (histogram_quantile(0.95, ...))"),
        T0 + timedelta(minutes=1),
    )
    acked = move(
        escalated,
        State.ACKNOWLEDGED,
        T0 + timedelta(minutes=2),
        actor="@ann",
        note="on it, paging @tom",
    )
    mitigating, update = apply_update(
        acked,
        Status.MITIGATING,
        "A faulty release is being rolled back",
        ("drain @tom's pods",),
        T0 + timedelta(minutes=4),
        by="@ann",
    )
    summary = PublicSummary(
        declared.id,
        T0 + timedelta(minutes=5),
        "Checkout fails for some customers",
        ("api",),
        "@lee",
    )
    monitoring = move(
        mitigating,
        State.MONITORING,
        T0 + timedelta(minutes=8),
        actor="sloctl",
        note="error ratio below 1%",
    )
    resolved = move(
        monitoring,
        State.RESOLVED,
        T0 + timedelta(minutes=20),
        actor="sloctl",
        note="verification held for 15m",
    )
    told = public_updates(Reported(resolved, (update,), (summary,)), {"api": "Checkout API"})
    assert [(t.at - T0, t.status.value, t.body) for t in told] == [
        (timedelta(0), "investigating", "We are investigating a problem with Checkout API."),
        (timedelta(minutes=4), "identified", "A faulty release is being rolled back"),
        (timedelta(minutes=5), "identified", "Checkout fails for some customers"),
        (
            timedelta(minutes=8),
            "monitoring",
            "A fix has been applied and Checkout API is recovering; we are monitoring the results.",
        ),
        (timedelta(minutes=20), "resolved", "This incident has been resolved."),
    ]
    text = " ".join(t.body for t in told)
    for internal in ("@ann", "@tom", "@lee", "500 ms", "rate(", "histogram_quantile", "1%", "15m"):
        assert internal not in text


@pytest.mark.parametrize(
    ("cause", "services", "expected"),
    [
        (Cause.ERRORS, ("api",), "Elevated error rates on Checkout API"),
        (Cause.LATENCY, ("api", "auth"), "Slow responses from Checkout API and auth"),
        (
            Cause.DATA_LOSS,
            ("api", "auth", "database"),
            "Service disruption affecting Checkout API, auth and Storage",
        ),
    ],
)
def test_incident_names_use_public_names(
    cause: Cause, services: tuple[str, ...], expected: str
) -> None:
    found = incident(cause=cause)
    summary = PublicSummary(found.id, T0, "text", services, "@lee")
    names = {"api": "Checkout API", "database": "Storage"}
    assert incident_name(Reported(found, summaries=(summary,)), names) == expected
