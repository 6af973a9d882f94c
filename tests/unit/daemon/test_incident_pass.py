"""One incident pass over the store: declared once, quiet passes write nothing, a failed
query touches nothing, a missed target escalates once, a dependency's outage is one page."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from sloctl.core.severity import Severity
from sloctl.daemon.incident_pass import (
    escalate_missed_targets,
    evaluate_incidents,
    remind_overdue,
    write_customer_drafts,
)
from sloctl.incidents.events import EventKind
from sloctl.incidents.lifecycle import State, acknowledge, declare, move
from sloctl.incidents.policy import Cause, Finding, Policy
from sloctl.incidents.roles import Role
from sloctl.incidents.schedule import Rotation, Schedule
from sloctl.incidents.signals import signal_plan
from sloctl.loading.definitions import load_definitions
from sloctl.notify.slack import SlackSink
from sloctl.prometheus.client import PrometheusReader
from sloctl.store.database import Store, open_store
from tests.fake_prometheus import FakePrometheus, ServiceTraffic, fake_prometheus
from tests.paths import ROOT

AT = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
API = [s for s in load_definitions(ROOT / "slo-definitions") if s.service == "api"]
SINKS = {"slack": SlackSink("http://127.0.0.1:9/hook")}
API_AND_DB = ("api", "database")


@pytest.fixture
def prometheus() -> Iterator[FakePrometheus]:
    with fake_prometheus() as started:
        yield started


def answering(prometheus: FakePrometheus, traffic: ServiceTraffic) -> PrometheusReader:
    """A reader of ``prometheus``, which answers with ``traffic`` from now on."""
    prometheus.answer = traffic
    return prometheus.reader()


def cycle(
    store: Store, prometheus: FakePrometheus, api_errors: float, at: datetime = AT
) -> list[EventKind]:
    """One cycle over api's SLOs with ``api_errors`` of its requests failing."""
    traffic = ServiceTraffic({"api": api_errors})
    planned = signal_plan(API, Policy())
    result = evaluate_incidents(store, SINKS, Policy(), planned, answering(prometheus, traffic), at)
    assert traffic.range_asked == []  # a cycle asks instant queries only
    return [event.kind for event in result.events]


def test_an_outage_is_declared_once_with_its_messages(
    tmp_path: Path, prometheus: FakePrometheus
) -> None:
    store = open_store(tmp_path / "store.db")
    assert cycle(store, prometheus, 0.8) == [EventKind.DECLARED]
    assert cycle(store, prometheus, 0.8, AT + timedelta(seconds=30)) == []
    [incident] = store.incidents()
    assert (incident.service, incident.cause, incident.severity) == (
        "api",
        Cause.ERRORS,
        Severity.P1,
    )
    assert [m.sink for m in store.outbox()] == ["slack"]


def test_a_quiet_cycle_takes_no_write_lock(tmp_path: Path, prometheus: FakePrometheus) -> None:
    store = open_store(tmp_path / "store.db")
    cycle(store, prometheus, 0.0)  # the first one may record that nothing holds
    other = sqlite3.connect(tmp_path / "store.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # someone else holds the write lock
    try:
        assert cycle(store, prometheus, 0.0, AT + timedelta(seconds=30)) == []
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert store.incidents() == []


def test_a_failed_query_skips_the_service_and_changes_nothing(
    tmp_path: Path, prometheus: FakePrometheus
) -> None:
    store = open_store(tmp_path / "store.db")
    cycle(store, prometheus, 0.8)
    [before] = store.incidents()
    planned = signal_plan(API, Policy())
    later = AT + timedelta(hours=2)  # long after: recovery, had it been measured
    down = answering(prometheus, ServiceTraffic({"api": 0.0}, down=True))
    result = evaluate_incidents(store, SINKS, Policy(), planned, down, later)
    assert result.events == []
    assert set(result.skipped) == {"api"}
    assert store.incidents() == [before]


def test_a_missed_response_target_escalates_once(
    tmp_path: Path, prometheus: FakePrometheus
) -> None:
    store = open_store(tmp_path / "store.db")
    cycle(store, prometheus, 0.8)
    late = AT + timedelta(minutes=30)  # a P1 is acknowledged within 15 min, resolved in 1 h
    events = escalate_missed_targets(store, SINKS, late)
    assert [(e.kind, e.escalate_to) for e in events] == [
        (EventKind.ESCALATED, ("everyone", "leadership"))
    ]
    assert escalate_missed_targets(store, SINKS, late + timedelta(minutes=1)) == []
    [incident] = store.incidents()
    assert incident.ack_breached
    assert len(store.outbox()) == 2


def test_a_database_outage_hurting_api_is_one_incident_and_one_page(
    tmp_path: Path, prometheus: FakePrometheus
) -> None:
    slos = [s for s in load_definitions(ROOT / "slo-definitions") if s.service in API_AND_DB]
    planned = signal_plan(slos, Policy())
    store = open_store(tmp_path / "store.db")
    down = answering(prometheus, ServiceTraffic({"api": 0.8, "database": 1.0}))
    result = evaluate_incidents(store, SINKS, Policy(), planned, down, AT)
    assert [e.kind for e in result.events] == [EventKind.DECLARED]
    [incident] = store.incidents()
    assert incident.services == ("database", "api")
    assert [m.event["services"] for m in store.outbox()] == [["database", "api"]]
    assert store.tracked("api").bad_since == {Cause.ERRORS: AT}
    later = AT + timedelta(minutes=1)
    healthy = answering(prometheus, ServiceTraffic(dict.fromkeys(API_AND_DB, 0.0)))
    result = evaluate_incidents(store, SINKS, Policy(), planned, healthy, later)
    assert [(e.kind, e.incident.state.value) for e in result.events] == [
        (EventKind.UPDATED, "monitoring")
    ]
    assert store.tracked("api").bad_since == {}
    assert store.incidents()[0].restored_at == later


def test_a_declaration_names_the_scheduled_roles_and_reminds_a_missed_update_once(
    tmp_path: Path, prometheus: FakePrometheus
) -> None:
    store = open_store(tmp_path / "store.db")
    schedule = Schedule(
        ZoneInfo("UTC"),
        (
            Rotation("primary", Role.COMMANDER, datetime(2026, 11, 1, 9, 0), 1, ("@ann", "@ben")),
            Rotation("talk", Role.COMMUNICATIONS_LEAD, datetime(2026, 11, 1), 7, ("@lee",)),
        ),
    )
    planned = signal_plan(API, Policy())
    reader = answering(prometheus, ServiceTraffic({"api": 0.8}))
    result = evaluate_incidents(store, SINKS, Policy(), planned, reader, AT, schedule=schedule)
    assert [(e.kind, e.who) for e in result.events] == [
        (EventKind.DECLARED, ""),
        (EventKind.ASSIGNED, "@lee"),
    ]
    assert store.commanders() == {"INC-0001": "@ben"}  # 2 November, 10:00: the second day
    [declared, assigned] = store.outbox()
    assert declared.event["commander"] == "@ben"
    assert (assigned.kind, assigned.event["role"]) == ("assigned", "communications-lead")
    assert remind_overdue(store, SINKS, AT + timedelta(minutes=14)) == []
    [reminder] = remind_overdue(store, SINKS, AT + timedelta(minutes=15))
    assert (reminder.who, reminder.due_at) == ("@ben", AT + timedelta(minutes=15))
    store.close()
    reopened = open_store(tmp_path / "store.db")  # a restart: nothing is reminded again
    assert remind_overdue(reopened, SINKS, AT + timedelta(minutes=40)) == []
    assert [m.kind for m in reopened.outbox()] == ["declared", "assigned", "reminder"]
    reopened.close()


def test_customer_drafts_are_written_once_and_a_bad_directory_is_an_oserror(
    tmp_path: Path,
) -> None:
    finding = Finding(Cause.ERRORS, Severity.P1, "outage")
    p1 = move(declare("INC-0001", "api", finding, AT), State.RESOLVED, AT, actor="@a")
    p2 = move(
        declare("INC-0002", "auth", replace(finding, severity=Severity.P2), AT),
        State.RESOLVED,
        AT,
        actor="@a",
    )
    drafts = tmp_path / "drafts"
    assert write_customer_drafts(drafts, [p1, p2]) == [drafts / "INC-0001-customer.md"]
    (drafts / "INC-0001-customer.md").write_text("edited", encoding="utf-8")
    assert write_customer_drafts(drafts, [p1]) == []
    assert (drafts / "INC-0001-customer.md").read_text(encoding="utf-8") == "edited"
    assert sorted(p.name for p in drafts.iterdir()) == ["INC-0001-customer.md"]
    blocked = tmp_path / "file"
    blocked.write_text("", encoding="utf-8")
    with pytest.raises(OSError, match=r"exists|Not a directory"):
        write_customer_drafts(blocked / "drafts", [p1])


def test_incidents_declared_in_one_pass_get_their_ids_when_committed(
    tmp_path: Path, prometheus: FakePrometheus
) -> None:
    slos = [s for s in load_definitions(ROOT / "slo-definitions") if s.service != "ai-worker"]
    planned = signal_plan(slos, Policy())
    store = open_store(tmp_path / "store.db")
    down = answering(prometheus, ServiceTraffic({"api": 0.8, "auth": 0.8, "database": 0.0}))
    result = evaluate_incidents(store, SINKS, Policy(), planned, down, AT)
    declared = [(e.kind, e.incident.id, e.incident.service) for e in result.events]
    stored = sorted((i.id, i.service) for i in store.incidents())
    assert [i for i, _ in stored] == ["INC-0001", "INC-0002"]
    assert sorted(s for _, s in stored) == ["api", "auth"]
    assert sorted(declared) == [(EventKind.DECLARED, *pair) for pair in stored]
    assert sorted((m.incident_id, m.event["services"][0]) for m in store.outbox()) == stored


class Meanwhile(Store):
    """A store that someone else changes just before the pass takes the write lock."""

    def __init__(self, path: Path, change: Callable[[Store], None]) -> None:
        opened = open_store(path)
        super().__init__(opened._db, path)
        self.change: Callable[[Store], None] | None = change

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        if self.change is not None:
            change, self.change = self.change, None
            other = open_store(self.path)
            try:
                change(other)
            finally:
                other.close()
        with super().transaction() as connection:
            yield connection


def test_a_store_changed_while_deciding_is_decided_again_next_pass(
    tmp_path: Path, prometheus: FakePrometheus
) -> None:
    path = tmp_path / "store.db"
    cycle(open_store(path), prometheus, 0.8)
    later = AT + timedelta(minutes=5)

    def alice_acknowledges(other: Store) -> None:
        [incident] = other.incidents(open_only=True)
        with other.transaction() as connection:
            acknowledged = acknowledge(incident, later, actor="alice")
            other.save(acknowledged, connection=connection, now=later)

    store = Meanwhile(path, alice_acknowledges)
    planned = signal_plan(API, Policy())
    healthy = answering(prometheus, ServiceTraffic({"api": 0.0}))
    result = evaluate_incidents(store, SINKS, Policy(), planned, healthy, later)
    assert result.events == []
    assert list(result.skipped) == ["api"]
    assert result.skipped["api"].startswith("changed meanwhile")
    [incident] = store.incidents()
    assert (incident.state, incident.timeline[-1].actor) == (State.ACKNOWLEDGED, "alice")
    assert len(store.outbox()) == 1  # the declaration only
    assert cycle(store, prometheus, 0.0, later + timedelta(seconds=30)) == [EventKind.UPDATED]
    [incident] = store.incidents()
    assert incident.state is State.MONITORING
    assert incident.acknowledged_at == later
