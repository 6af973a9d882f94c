"""Update cadence: the period per severity, the clock restarting at each update, the missed
update's key, and the state an update moves the incident to."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sloctl.core.severity import Severity
from sloctl.errors import InvalidRequestError
from sloctl.incidents.cadence import (
    Status,
    StatusUpdate,
    apply_update,
    missed_update,
    next_update_text,
    update_due,
)
from sloctl.incidents.lifecycle import Incident, State, declare, escalate, move
from sloctl.incidents.policy import Cause, Finding

T0 = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)


def incident(severity: Severity = Severity.P1) -> Incident:
    return declare("INC-0001", "api", Finding(Cause.ERRORS, severity, "errors"), T0)


def sent(minutes: int) -> StatusUpdate:
    return StatusUpdate(
        "INC-0001", T0 + timedelta(minutes=minutes), Status.MITIGATING, "x", (), "@a"
    )


@pytest.mark.parametrize(
    ("severity", "text", "due"),
    [
        (Severity.P1, "Next update in 15 minutes.", T0 + timedelta(minutes=15)),
        (Severity.P2, "Next update in 15 minutes.", T0 + timedelta(minutes=15)),
        (Severity.P3, "Next update in 60 minutes.", T0 + timedelta(hours=1)),
        (Severity.P4, "Next update when the status changes.", None),
    ],
)
def test_the_period_of_each_severity(severity: Severity, text: str, due: datetime | None) -> None:
    assert next_update_text(severity) == text
    assert update_due(incident(severity), []) == due


@pytest.mark.parametrize(
    ("updates", "now", "missed"),
    [
        pytest.param([], T0 + timedelta(minutes=14, seconds=59), None, id="not-yet"),
        pytest.param([], T0 + timedelta(minutes=15), T0 + timedelta(minutes=15), id="due-now"),
        pytest.param([sent(10)], T0 + timedelta(minutes=20), None, id="restarted"),
        pytest.param(
            [sent(10)], T0 + timedelta(minutes=26), T0 + timedelta(minutes=25), id="missed-again"
        ),
        pytest.param(
            [sent(30), sent(10)], T0 + timedelta(minutes=44), None, id="latest-update-counts"
        ),
    ],
)
def test_missed_updates_are_keyed_by_their_due_time(
    updates: list[StatusUpdate], now: datetime, missed: datetime | None
) -> None:
    assert missed_update(incident(), updates, now) == missed


def test_an_escalation_shortens_the_period_and_resolution_stops_the_clock() -> None:
    p3 = incident(Severity.P3)
    escalated = escalate(
        p3, Finding(Cause.ERRORS, Severity.P1, "outage"), T0 + timedelta(minutes=5)
    )
    assert update_due(escalated, []) == T0 + timedelta(minutes=15)
    resolved = move(escalated, State.RESOLVED, T0 + timedelta(minutes=30), actor="@a")
    assert update_due(resolved, []) is None
    assert missed_update(resolved, [], T0 + timedelta(hours=5)) is None


@pytest.mark.parametrize(
    ("state", "status", "after"),
    [
        (State.DETECTED, Status.INVESTIGATING, State.DETECTED),
        (State.DETECTED, Status.MITIGATING, State.MITIGATING),
        (State.ACKNOWLEDGED, Status.MONITORING, State.MONITORING),
        (State.MITIGATING, Status.MITIGATING, State.MITIGATING),
        (State.MITIGATING, Status.INVESTIGATING, State.MITIGATING),
        (State.MONITORING, Status.MITIGATING, State.MITIGATING),
    ],
)
def test_an_update_moves_the_incident_as_its_status_says(
    state: State, status: Status, after: State
) -> None:
    start = incident()
    if state is not State.DETECTED:
        start = move(start, state, T0 + timedelta(minutes=1), actor="@a")
    at = T0 + timedelta(minutes=5)
    changed, update = apply_update(start, status, "rolled back", ("watch errors",), at, by="@a")
    assert changed.state is after
    assert changed.timeline[-1].note == f"update ({status.value}): rolled back"
    assert changed.timeline[-1].actor == "@a"
    assert update == StatusUpdate("INC-0001", at, status, "rolled back", ("watch errors",), "@a")


@pytest.mark.parametrize(
    ("text", "resolved", "message"),
    [("  ", False, "must say what has changed"), ("x", True, "is resolved")],
)
def test_updates_that_cannot_be_sent(text: str, resolved: bool, message: str) -> None:
    start = incident()
    if resolved:
        start = move(start, State.RESOLVED, T0 + timedelta(minutes=1), actor="@a")
    with pytest.raises(InvalidRequestError, match=message):
        apply_update(start, Status.MITIGATING, text, (), T0 + timedelta(minutes=2), by="@a")
