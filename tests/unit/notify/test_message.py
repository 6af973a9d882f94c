"""Incident events as every sink needs them, and sinks that keep their secrets."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime
from typing import Any

import pytest

from sloctl.core.severity import Severity
from sloctl.incidents.events import EventKind
from sloctl.incidents.lifecycle import State
from sloctl.notify.alertmanager import AlertmanagerSink
from sloctl.notify.message import IncidentEvent, Sink
from sloctl.notify.pagerduty import PagerDutySink
from sloctl.notify.slack import SlackSink
from tests.unit.notify.examples import HOOK_PATH, LIFECYCLE, ROUTING_KEY, event


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"at": datetime(2026, 11, 2)}, id="naive-at"),
        pytest.param({"started_at": datetime(2026, 11, 2)}, id="naive-start"),
        pytest.param({"resolved_at": datetime(2026, 11, 2)}, id="naive-end"),
        pytest.param({"incident_id": ""}, id="no-id"),
    ],
)
def test_invalid_events_are_refused(changes: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=r"."):
        event(EventKind.DECLARED, **changes)


def test_sinks_keep_secrets_out_of_their_repr() -> None:
    sinks: list[Sink] = [
        SlackSink("https://hooks.example.com" + HOOK_PATH),
        PagerDutySink(ROUTING_KEY),
        AlertmanagerSink("http://am:9093"),
    ]
    assert [sink.name for sink in sinks] == ["slack", "pagerduty", "alertmanager"]
    for sink in sinks:
        for request in sink.requests_for(LIFECYCLE[0]):
            shown = f"{sink!r} {request!r}"
            assert HOOK_PATH not in shown
            assert ROUTING_KEY not in shown


@pytest.mark.parametrize("ev", LIFECYCLE, ids=[ev.kind.value for ev in LIFECYCLE])
def test_the_stored_form_reads_back_as_the_same_event(ev: IncidentEvent) -> None:
    mine = replace(ev, installation="a1b2c3", services=("api", "auth"), causes=("errors",))
    stored = json.loads(json.dumps(mine.to_stored()))  # what the store keeps is JSON
    assert "installation" not in stored  # the store's own, added back when read
    assert IncidentEvent.from_stored(stored, "a1b2c3") == mine
    restored = IncidentEvent.from_stored(stored)
    assert type(restored.severity) is Severity
    assert type(restored.state) is State
    assert restored.installation == ""


def test_a_stored_form_without_services_and_causes_is_read() -> None:
    stored = LIFECYCLE[0].to_stored()
    del stored["services"], stored["causes"]
    restored = IncidentEvent.from_stored(stored)
    assert (restored.services, restored.causes) == ((), ())
    assert restored.affected == "api"


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        pytest.param({"severity": "P0"}, ValueError, id="unknown-severity"),
        pytest.param({"state": "fixed"}, ValueError, id="unknown-state"),
        pytest.param({"kind": "exploded"}, ValueError, id="unknown-kind"),
        pytest.param({"at": "yesterday"}, ValueError, id="not-a-time"),
        pytest.param({"at": "2026-11-02T09:00:00"}, ValueError, id="naive-time"),
        pytest.param({"incident_id": ""}, ValueError, id="no-id"),
        pytest.param({"escalate_to": None}, TypeError, id="not-a-list"),
    ],
)
def test_a_stored_form_that_is_not_an_event_is_refused(
    changes: dict[str, Any], error: type[Exception]
) -> None:
    with pytest.raises(error):
        IncidentEvent.from_stored({**LIFECYCLE[0].to_stored(), **changes})


def test_a_stored_form_missing_a_field_is_refused() -> None:
    stored = LIFECYCLE[0].to_stored()
    del stored["summary"]
    with pytest.raises(KeyError, match="summary"):
        IncidentEvent.from_stored(stored)
