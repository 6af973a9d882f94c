"""The outbox: messages for sinks this process cannot reach wait for one that can."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path

from sloctl.engine import Event
from sloctl.incidents import declare
from sloctl.live_demo import WebhookReceiver
from sloctl.logs import make_logger
from sloctl.notifications import EventKind, SlackSink
from sloctl.outbox import Courier, incident_event, messages, payload, sinks_from_env
from sloctl.policy import Cause, Finding
from sloctl.severity import Severity
from sloctl.store import open_store

T0 = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
INCIDENT = declare("INC-0001", "api", Finding(Cause.ERRORS, Severity.P1, "outage"), T0)


def test_messages_for_other_sinks_stay_pending(tmp_path: Path) -> None:
    store = open_store(tmp_path / "store.db")
    event = Event(EventKind.DECLARED, INCIDENT, T0, ("everyone",))
    with store.transaction() as connection:
        store.save(INCIDENT, connection=connection, events=[("pagerduty", payload(event))], now=T0)
    counts = Courier({}).flush(store, T0)
    assert counts == {"delivered": 0, "retry": 0, "failed": 0, "deferred": 0}
    [message] = store.outbox()
    assert (message.status, message.attempts) == ("pending", 0)


def test_stored_payload_round_trips_to_an_incident_event() -> None:
    event = Event(EventKind.DECLARED, INCIDENT, T0, ("everyone", "leadership"))
    restored = incident_event(payload(event))
    assert restored.incident_id == "INC-0001"
    assert restored.kind is EventKind.DECLARED
    assert restored.escalate_to == ("everyone", "leadership")
    assert restored.started_at == T0


def test_one_message_per_event_and_configured_sink() -> None:
    sinks = sinks_from_env({"SLOCTL_SLACK_WEBHOOK_URL": "http://127.0.0.1:9/hook"})
    assert isinstance(sinks["slack"], SlackSink)
    event = Event(EventKind.DECLARED, INCIDENT, T0)
    assert [sink for sink, _ in messages([event, event], sinks)] == ["slack", "slack"]


def test_what_is_not_tried_by_the_deadline_is_handed_back(tmp_path: Path) -> None:
    receiver = WebhookReceiver()
    try:
        store = open_store(tmp_path / "store.db")
        events = [Event(EventKind.DECLARED, INCIDENT, T0, note=str(n)) for n in range(3)]
        with store.transaction() as connection:
            store.save(
                INCIDENT, connection=connection, now=T0,
                events=[("slack", payload(event)) for event in events],
            )  # fmt: skip
        ticks = iter([0.0, 100.0, 100.0])
        logs = io.StringIO()
        courier = Courier(
            {"slack": SlackSink(f"{receiver.url}/hook-secret")},
            clock=lambda: next(ticks), logger=make_logger("info", stream=logs),
        )  # fmt: skip
        counts = courier.flush(store, T0, deadline=50.0)
        assert counts == {"delivered": 1, "retry": 0, "failed": 0, "deferred": 2}
        [logged] = [json.loads(line) for line in logs.getvalue().splitlines()]
        assert (logged["event"], logged["sink"], logged["outcome"], logged["attempt"]) == (
            "notification", "slack", "delivered", 1,
        )  # fmt: skip
        assert "hook-secret" not in logs.getvalue()
        assert len(receiver.texts()) == 1
        # Handed back, not leased away: the next flush sends them at once.
        assert [m.status for m in store.outbox()] == ["delivered", "pending", "pending"]
        assert len(store.due(T0)) == 2
        assert (
            Courier({"slack": SlackSink(f"{receiver.url}/hook")}).flush(store, T0)["delivered"] == 2
        )
        assert len(receiver.texts()) == 3
    finally:
        receiver.close()
