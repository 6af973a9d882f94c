"""One incident cycle over the store: declared once, quiet cycles write nothing, a failed
query touches nothing, a missed target escalates once, a dependency's outage is one page."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sloctl.core.severity import Severity
from sloctl.daemon.cycle import escalate_missed_targets, evaluate_incidents
from sloctl.incidents.events import EventKind
from sloctl.incidents.policy import Cause, Policy
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
