"""What a person does to an incident, on a real store: one transaction each, the notifications
queued with the change (never sent), roles from the schedule at declaration, the customer draft
at a P1's resolution, and refusals that leave the store as it was."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sloctl.core.severity import Severity
from sloctl.daemon.actions import declare_incident, send_update, transition
from sloctl.errors import InvalidRequestError, TransitionError
from sloctl.incidents.cadence import Status
from sloctl.incidents.lifecycle import State
from sloctl.incidents.policy import Cause
from sloctl.incidents.roles import Role
from sloctl.loading.schedule_file import load_schedule
from sloctl.notify.message import Sink
from sloctl.notify.pagerduty import PagerDutySink
from sloctl.notify.slack import SlackSink
from sloctl.store.database import Store, open_store

T0 = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
SINKS: dict[str, Sink] = {
    "slack": SlackSink("http://127.0.0.1:9/services/T0/B0/x"),
    "pagerduty": PagerDutySink("R0UTINGKEY", "http://127.0.0.1:9/v2/enqueue"),
}


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = open_store(tmp_path / "incidents.db")
    yield opened
    opened.close()


def _declare(store: Store, **changes: object) -> str:
    fields: dict[str, object] = {
        "service": "api",
        "severity": Severity.P1,
        "cause": Cause.OTHER,
        "summary": "checkout broken",
        "person": "carl",
        "now": T0,
    }
    declared = declare_incident(store, SINKS, None, **(fields | changes))  # type: ignore[arg-type]
    return declared.incident.id


def test_a_declaration_is_stored_with_its_commander_and_queued_for_every_sink(
    store: Store,
) -> None:
    declared = declare_incident(
        store,
        SINKS,
        None,
        service="api",
        severity=Severity.P1,
        cause=Cause.OTHER,
        summary="checkout broken",
        person="carl",
        now=T0,
    )
    assert declared.incident.id == "INC-0001"
    assert declared.commander == "@carl"  # nobody on call: whoever declares commands
    assert declared.queued == 2
    kept = store.get("INC-0001")
    assert kept is not None
    assert kept.manual
    assert kept.severity is Severity.P1
    assert [(m.sink, m.kind, m.status) for m in store.outbox()] == [
        ("pagerduty", "declared", "pending"),
        ("slack", "declared", "pending"),
    ]
    assert store.commanders() == {"INC-0001": "@carl"}


def test_the_schedule_names_the_roles_at_declaration(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "oncall.yaml"
    path.write_text(
        "time_zone: UTC\nrotations:\n"
        "  - {name: primary, start: 2026-11-01T00:00, every: 7d, people: ['@ann']}\n"
        "  - {name: scribes, role: scribe, start: 2026-11-01T00:00, every: 7d, people: ['@sam']}\n",
        encoding="utf-8",
    )
    declared = declare_incident(
        store,
        SINKS,
        load_schedule(path),
        service="api",
        severity=Severity.P2,
        cause=Cause.SECURITY,
        summary="keys leaked",
        person="carl",
        now=T0,
    )
    assert declared.commander == "@ann"
    holders = {a.role: a.who for a in store.assignments(declared.incident.id)}
    assert holders == {Role.COMMANDER: "@ann", Role.SCRIBE: "@sam"}
    # the scribe is told in chat only; the declaration goes everywhere
    assert sorted((m.sink, m.kind) for m in store.outbox()) == [
        ("pagerduty", "declared"),
        ("slack", "assigned"),
        ("slack", "declared"),
    ]


def test_a_second_declaration_for_the_same_service_and_cause_is_refused(store: Store) -> None:
    _declare(store)
    with pytest.raises(InvalidRequestError, match="INC-0001 is already open for api"):
        _declare(store, summary="again")
    assert len(store.incidents()) == 1
    assert len(store.outbox()) == 2


def test_acknowledge_mitigate_resolve_each_change_the_store_and_queue_their_event(
    store: Store, tmp_path: Path
) -> None:
    incident_id = _declare(store)
    drafts = tmp_path / "drafts"
    acked = transition(
        store,
        SINKS,
        incident_id,
        State.ACKNOWLEDGED,
        person="bob",
        note="on it",
        now=T0 + timedelta(minutes=3),
        drafts=drafts,
    )
    assert acked.incident.state is State.ACKNOWLEDGED
    assert acked.drafts is None
    transition(
        store,
        SINKS,
        incident_id,
        State.MITIGATING,
        person="bob",
        note="rolling back",
        now=T0 + timedelta(minutes=10),
        drafts=drafts,
    )
    resolved = transition(
        store,
        SINKS,
        incident_id,
        State.RESOLVED,
        person="bob",
        note="rolled back",
        now=T0 + timedelta(minutes=40),
        drafts=drafts,
    )
    kept = store.get(incident_id)
    assert kept is not None
    assert kept.state is State.RESOLVED
    assert [(t.to_state, t.actor) for t in kept.timeline][-3:] == [
        (State.ACKNOWLEDGED, "bob"),
        (State.MITIGATING, "bob"),
        (State.RESOLVED, "bob"),
    ]
    assert [m.kind for m in store.outbox() if m.sink == "slack"] == [
        "declared",
        "acknowledged",
        "updated",
        "resolved",
    ]
    assert resolved.drafts is not None
    [written] = resolved.drafts.written  # a resolved P1: the customer communication (3.4)
    assert written == drafts / f"{incident_id}-customer.md"
    assert "Subject: Service Disruption - 2026-11-02" in written.read_text(encoding="utf-8")


def test_a_draft_that_cannot_be_written_is_reported_and_the_resolution_kept(
    store: Store, tmp_path: Path
) -> None:
    incident_id = _declare(store)
    blocked = tmp_path / "not-a-directory"
    blocked.write_text("a file where the drafts directory should be", encoding="utf-8")
    resolved = transition(
        store,
        SINKS,
        incident_id,
        State.RESOLVED,
        person="bob",
        note="",
        now=T0 + timedelta(minutes=5),
        drafts=blocked,
    )
    assert resolved.drafts is not None
    assert resolved.drafts.error
    assert resolved.drafts.written == ()
    kept = store.get(incident_id)
    assert kept is not None
    assert kept.state is State.RESOLVED


def test_a_step_the_lifecycle_refuses_changes_nothing(store: Store, tmp_path: Path) -> None:
    incident_id = _declare(store)
    transition(
        store,
        SINKS,
        incident_id,
        State.ACKNOWLEDGED,
        person="bob",
        note="",
        now=T0,
        drafts=tmp_path,
    )
    queued = len(store.outbox())
    with pytest.raises(TransitionError, match="INC-0001 was already acknowledged"):
        transition(
            store,
            SINKS,
            incident_id,
            State.ACKNOWLEDGED,
            person="eve",
            note="",
            now=T0,
            drafts=tmp_path,
        )
    with pytest.raises(InvalidRequestError, match="no incident 'INC-0404'"):
        transition(
            store,
            SINKS,
            "INC-0404",
            State.RESOLVED,
            person="eve",
            note="",
            now=T0,
            drafts=tmp_path,
        )
    with pytest.raises(InvalidRequestError, match="cannot move an incident to detected"):
        transition(
            store,
            SINKS,
            incident_id,
            State.DETECTED,
            person="eve",
            note="",
            now=T0,
            drafts=tmp_path,
        )
    assert len(store.outbox()) == queued
    kept = store.get(incident_id)
    assert kept is not None
    assert [t.actor for t in kept.timeline].count("eve") == 0


def test_an_update_is_stored_moves_the_incident_and_sets_the_next_due_time(store: Store) -> None:
    incident_id = _declare(store)
    now = T0 + timedelta(minutes=12)
    updated = send_update(
        store,
        SINKS,
        incident_id,
        status=Status.MITIGATING,
        text="rolling back v1.4.2",
        actions=("roll back", "watch errors"),
        person="bob",
        now=now,
    )
    assert updated.incident.state is State.MITIGATING
    assert updated.next_due == now + timedelta(minutes=15)  # P1: every 15 minutes
    [kept] = store.updates(incident_id)
    assert (kept.status, kept.text, kept.actions, kept.by) == (
        Status.MITIGATING,
        "rolling back v1.4.2",
        ("roll back", "watch errors"),
        "bob",
    )
    [message] = [m for m in store.outbox() if m.sink == "slack" and m.kind == "updated"]
    assert message.status == "pending"
    with pytest.raises(InvalidRequestError, match="must say what has changed"):
        send_update(
            store,
            SINKS,
            incident_id,
            status=Status.MONITORING,
            text=" ",
            actions=(),
            person="bob",
            now=now,
        )
    assert len(store.updates(incident_id)) == 1
