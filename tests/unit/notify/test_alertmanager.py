"""Alertmanager: one alert per incident, ended only on resolution."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from sloctl.incidents.events import EventKind
from sloctl.notify.alertmanager import AlertmanagerSink
from sloctl.notify.message import IncidentEvent
from tests.unit.notify.examples import LIFECYCLE, START, event


def alert_of(ev: IncidentEvent, base_url: str = "http://am.example:9093/") -> dict[str, Any]:
    [request] = AlertmanagerSink(base_url).requests_for(ev)
    assert request.method == "POST"
    assert request.url == "http://am.example:9093/api/v2/alerts"
    assert isinstance(request.body, list)
    [alert] = request.body
    assert isinstance(alert, dict)
    return alert


def test_alertmanager_labels_are_identical_across_the_incident() -> None:
    labels = {json.dumps(alert_of(ev)["labels"], sort_keys=True) for ev in LIFECYCLE}
    assert len(labels) == 1  # escalation from P3 to P1 included
    assert alert_of(LIFECYCLE[0])["labels"] == {
        "alertname": "SloctlIncident",
        "incident": "INC-0007",
        "service": "api",
        "cause": "errors",
    }


@pytest.mark.parametrize("ev", LIFECYCLE, ids=[ev.kind.value for ev in LIFECYCLE])
def test_alertmanager_ends_only_on_resolve(ev: IncidentEvent) -> None:
    alert = alert_of(ev)
    assert alert["startsAt"] == "2026-11-02T09:00:00.000Z"
    assert alert["annotations"]["severity"] == ev.severity
    assert alert["annotations"]["state"] == ev.state
    assert alert["annotations"]["impact"] == ev.impact
    assert alert["annotations"]["summary"] == ev.summary
    if ev.kind is EventKind.RESOLVED:
        assert alert["endsAt"] == "2026-11-02T10:12:30.000Z"
    else:
        assert "endsAt" not in alert


def test_alertmanager_resolved_alert_is_resent_for_the_grace_period() -> None:
    sink = AlertmanagerSink("http://am:9093", resolve_grace=timedelta(minutes=5))
    resolved = LIFECYCLE[5]
    assert resolved.resolved_at is not None
    assert sink.keep_sending(LIFECYCLE[0], START + timedelta(days=30))
    assert sink.keep_sending(resolved, resolved.resolved_at + timedelta(minutes=4))
    assert not sink.keep_sending(resolved, resolved.resolved_at + timedelta(minutes=5))


def test_role_assignments_and_reminders_are_not_sent() -> None:
    for kind in (EventKind.ASSIGNED, EventKind.REMINDER):
        note = event(kind, role="scribe", who="@cat")
        assert AlertmanagerSink("http://127.0.0.1:9093").requests_for(note) == []
