"""Incident events as every sink needs them, and sinks that keep their secrets."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from sloctl.incidents.events import EventKind
from sloctl.notify.alertmanager import AlertmanagerSink
from sloctl.notify.message import Sink
from sloctl.notify.pagerduty import PagerDutySink
from sloctl.notify.slack import SlackSink
from tests.unit.notify.examples import HOOK_PATH, LIFECYCLE, ROUTING_KEY, event


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"at": datetime(2026, 11, 2)}, id="naive-at"),
        pytest.param({"started_at": datetime(2026, 11, 2)}, id="naive-start"),
        pytest.param({"resolved_at": datetime(2026, 11, 2)}, id="naive-end"),
        pytest.param({"severity": "P0"}, id="unknown-severity"),
        pytest.param({"state": "fixed"}, id="unknown-state"),
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
