"""Nothing is paged in a maintenance window: the incident is recorded as suppressed, and
announced only if its trouble outlives the window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sloctl.core.maintenance import MaintenanceWindow
from sloctl.incidents.engine import Tracked, decide
from sloctl.incidents.events import Event, EventKind
from sloctl.incidents.lifecycle import Incident, State
from sloctl.incidents.maintenance import apply_maintenance
from sloctl.incidents.policy import Policy, ServiceSignals

T0 = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
WINDOW = MaintenanceWindow("api", "upgrade", T0 - timedelta(minutes=5), T0 + timedelta(minutes=10))


def run(
    errors_until: int, minutes: int, windows: list[MaintenanceWindow], relapse: int | None = None
) -> tuple[dict[str, Incident], list[tuple[int, Event]]]:
    """Minute by minute: 60 % errors from minute 0 to ``errors_until`` (and from ``relapse``
    on), else none, through decide and apply_maintenance."""
    policy = Policy()
    tracked: dict[str, Tracked] = {}
    opened: dict[str, Incident] = {}
    seen: dict[str, Incident] = {}
    sent: list[tuple[int, Event]] = []
    for minute in range(minutes):
        bad = minute < errors_until or (relapse is not None and minute >= relapse)
        at = T0 + timedelta(minutes=minute)
        signals = {"api": ServiceSignals(at, error_ratio=0.6 if bad else 0.0, p95_seconds=0.05)}
        outcome = decide(policy, signals, tracked, list(opened.values()), lambda: "INC-0001")
        outcome = apply_maintenance(outcome, list(opened.values()), windows, at)
        tracked.update(outcome.tracked)
        for incident in outcome.changed:
            seen[incident.id] = incident
            if incident.open:
                opened[incident.id] = incident
            else:
                opened.pop(incident.id, None)
        sent += [(minute, event) for event in outcome.events]
    return seen, sent


def test_without_a_window_the_outage_is_paged_at_once() -> None:
    seen, sent = run(5, 40, [])
    assert sent[0][0] == 0
    assert sent[0][1].kind is EventKind.DECLARED
    assert not seen["INC-0001"].suppressed_by


def test_restored_within_the_window_nobody_is_paged_and_it_is_recorded() -> None:
    seen, sent = run(5, 40, [WINDOW])
    assert sent == []
    incident = seen["INC-0001"]
    assert incident.state is State.RESOLVED  # verified after the window: still not paged
    assert (incident.suppressed_by, incident.unsuppressed_at) == ("upgrade", None)
    assert incident.timeline[1].note == (
        "suppressed: api is in maintenance window upgrade (nothing paged)"
    )


@pytest.mark.parametrize(("errors_until", "relapse", "announced"), [(15, None, 10), (5, 12, 12)])
def test_trouble_outliving_the_window_is_announced_when_it_ends(
    errors_until: int, relapse: int | None, announced: int
) -> None:
    seen, sent = run(errors_until, 30, [WINDOW], relapse)
    minute, first = sent[0]
    assert (minute, first.kind) == (announced, EventKind.DECLARED)
    assert first.escalate_to == ("everyone", "leadership")
    assert first.note == "maintenance window upgrade over and still open: announced"
    incident = seen["INC-0001"]
    assert incident.unsuppressed_at == T0 + timedelta(minutes=announced)
    assert incident.detected_at == T0  # the record keeps when it was found


def test_another_service_is_paged_as_usual() -> None:
    other = MaintenanceWindow("auth", "x", T0 - timedelta(minutes=5), T0 + timedelta(minutes=10))
    _, sent = run(5, 3, [other])
    assert [(m, e.kind) for m, e in sent] == [(0, EventKind.DECLARED)]
