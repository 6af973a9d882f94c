"""PagerDuty Events v2: actions, dedup keys and payloads per event kind."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from sloctl.core.severity import Severity
from sloctl.incidents.events import EventKind
from sloctl.notify.alertmanager import AlertmanagerSink
from sloctl.notify.message import IncidentEvent
from sloctl.notify.pagerduty import PAGERDUTY_URL, PagerDutySink
from tests.unit.notify.examples import LIFECYCLE, ROUTING_KEY, event


def pagerduty_body(ev: IncidentEvent, url: str = PAGERDUTY_URL) -> dict[str, Any]:
    [request] = PagerDutySink(ROUTING_KEY, url).requests_for(ev)
    assert request.method == "POST"
    assert request.url == url
    assert request.headers["Content-Type"] == "application/json"
    assert isinstance(request.body, dict)
    return request.body


@pytest.mark.parametrize(
    ("ev", "action"),
    [
        pytest.param(LIFECYCLE[0], "trigger", id="declared"),
        pytest.param(LIFECYCLE[1], "trigger", id="escalated"),
        pytest.param(LIFECYCLE[2], "acknowledge", id="acknowledged"),
        pytest.param(LIFECYCLE[3], "trigger", id="updated"),
        pytest.param(LIFECYCLE[5], "resolve", id="resolved"),
    ],
)
def test_pagerduty_event_action(ev: IncidentEvent, action: str) -> None:
    body = pagerduty_body(ev)
    assert body["event_action"] == action
    assert body["routing_key"] == ROUTING_KEY
    if action != "trigger":
        assert set(body) == {"routing_key", "event_action", "dedup_key"}


def test_pagerduty_dedup_key_is_one_per_incident() -> None:
    keys = {pagerduty_body(ev)["dedup_key"] for ev in LIFECYCLE}
    assert keys == {"sloctl-INC-0007"}
    other = pagerduty_body(replace(LIFECYCLE[0], incident_id="INC-0008"))["dedup_key"]
    assert other == "sloctl-INC-0008"


def test_keys_and_labels_carry_the_installation() -> None:
    """Two installations' INC-0007 are two PagerDuty alerts and two Alertmanager alerts."""
    mine = [replace(ev, installation="a1b2c3d4e5f6") for ev in LIFECYCLE]
    theirs = [replace(ev, installation="0f9e8d7c6b5a") for ev in LIFECYCLE]
    assert {pagerduty_body(ev)["dedup_key"] for ev in mine} == {"sloctl-a1b2c3d4e5f6-INC-0007"}
    assert pagerduty_body(theirs[0])["dedup_key"] == "sloctl-0f9e8d7c6b5a-INC-0007"
    labels = {json.dumps(AlertmanagerSink.labels(ev), sort_keys=True) for ev in mine}
    assert [json.loads(x)["installation"] for x in labels] == ["a1b2c3d4e5f6"]
    assert AlertmanagerSink.labels(theirs[0]) != AlertmanagerSink.labels(mine[0])
    # An incident older than its store's installation id keeps the keys it was announced with.
    assert "installation" not in AlertmanagerSink.labels(LIFECYCLE[0])


def test_the_pagerduty_events_url_is_the_sinks() -> None:
    eu = "https://events.eu.pagerduty.com/v2/enqueue"
    [request] = PagerDutySink(ROUTING_KEY, eu).requests_for(LIFECYCLE[0])
    assert request.url == eu
    [request] = PagerDutySink(ROUTING_KEY).requests_for(LIFECYCLE[0])
    assert request.url == PAGERDUTY_URL == "https://events.pagerduty.com/v2/enqueue"


@pytest.mark.parametrize(
    ("severity", "expected"),
    [
        (Severity.P1, "critical"),
        (Severity.P2, "error"),
        (Severity.P3, "warning"),
        (Severity.P4, "info"),
    ],
)
def test_pagerduty_severity_mapping(severity: Severity, expected: str) -> None:
    assert pagerduty_body(event(EventKind.DECLARED, severity=severity))["payload"]["severity"] == (
        expected
    )


def test_pagerduty_trigger_payload() -> None:
    body = pagerduty_body(LIFECYCLE[1])
    payload = body["payload"]
    assert payload["summary"] == (
        "INC-0007 P1 api: error ratio above 50% (complete service outage)"
    )
    assert payload["source"] == "api"
    assert payload["component"] == "api"
    assert payload["group"] == "sloctl"
    assert payload["class"] == "errors"
    assert payload["timestamp"] == "2026-11-02T09:04:00.000Z"
    details = payload["custom_details"]
    assert details["impact"] == "62.0% of requests failing"
    assert details["escalate_to"] == ["everyone", "leadership"]
    assert details["started_at"] == "2026-11-02T09:00:00.000Z"
    assert details["state"] == "detected"
    json.dumps(body)  # all of it is JSON


@pytest.mark.parametrize("length", [248, 249, 300, 5000])
def test_pagerduty_dedup_key_is_capped_and_stable(length: int) -> None:
    long_id = "INC-" + "x" * (length - 4)
    keys = {pagerduty_body(replace(ev, incident_id=long_id))["dedup_key"] for ev in LIFECYCLE}
    assert len(keys) == 1
    [key] = keys
    assert len(key) <= 255
    assert key.startswith("sloctl-INC-xxx")
    sibling = pagerduty_body(replace(LIFECYCLE[0], incident_id=long_id + "y"))["dedup_key"]
    assert sibling != key  # two long ids sharing a prefix still get two keys


@pytest.mark.parametrize(("length", "shown"), [(100, 100), (1024, 1024), (5000, 1024)])
def test_pagerduty_summary_is_capped(length: int, shown: int) -> None:
    prefix = "INC-0007 P1 api: "
    body = pagerduty_body(event(EventKind.DECLARED, summary="s" * (length - len(prefix))))
    summary = body["payload"]["summary"]
    assert len(summary) == shown
    assert summary.startswith(prefix)


def test_role_assignments_and_reminders_are_not_sent() -> None:
    for kind in (EventKind.ASSIGNED, EventKind.REMINDER):
        note = event(kind, role="scribe", who="@cat")
        assert PagerDutySink(ROUTING_KEY).requests_for(note) == []
