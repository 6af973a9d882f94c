"""One incident cycle over the store: declared once, quiet cycles write nothing, a failed
query touches nothing, a missed target escalates once, a dependency's outage is one page."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sloctl.core.series import Sample, Series
from sloctl.core.severity import Severity
from sloctl.daemon.cycle import escalate_missed_targets, evaluate_incidents
from sloctl.errors import PrometheusUnavailableError
from sloctl.incidents.events import EventKind
from sloctl.incidents.lifecycle import State, acknowledge
from sloctl.incidents.policy import Cause, Policy
from sloctl.incidents.signals import signal_plan
from sloctl.loading.definitions import load_definitions
from sloctl.notify.sinks import SlackSink
from sloctl.promql.build import WINDOW_LABEL
from sloctl.store.database import Store, open_store

ROOT = Path(__file__).resolve().parents[3]
AT = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
API = [s for s in load_definitions(ROOT / "slo-definitions") if s.service == "api"]
SINKS = {"slack": SlackSink("http://127.0.0.1:9/hook")}
API_AND_DB = ("api", "database")


class Prometheus:
    """Answers the signal queries with ``error_share`` of 1,000 requests failing (and all
    fast), or refuses everything when ``down``."""

    def __init__(self, error_share: float, *, down: bool = False) -> None:
        self.error_share = error_share
        self.down = down

    def instant(self, expr: str, at: datetime, *, slos: Sequence[str] = ()) -> list[Sample]:
        if self.down:
            raise PrometheusUnavailableError("Prometheus at http://127.0.0.1:9 is unavailable")
        if expr.startswith("histogram_quantile"):
            return [Sample({"service": "api"}, 0.05)]
        count = 1000.0 * self.error_share if 'code=~"5.."' in expr else 1000.0
        windows = (300, 1800, 3600, 21600)
        return [Sample({"service": "api", WINDOW_LABEL: str(w)}, count) for w in windows]

    def range(
        self,
        expr: str,
        start: datetime,
        end: datetime,
        step: timedelta,
        *,
        slos: Sequence[str] = (),
    ) -> list[Series]:
        raise AssertionError("a cycle asks instant queries only")


def cycle(store: Store, prometheus: Prometheus, at: datetime = AT) -> list[EventKind]:
    planned = signal_plan(API, Policy())
    result = evaluate_incidents(store, SINKS, Policy(), planned, prometheus, at)
    return [event.kind for event in result.events]


def test_an_outage_is_declared_once_with_its_messages(tmp_path: Path) -> None:
    store = open_store(tmp_path / "store.db")
    assert cycle(store, Prometheus(0.8)) == [EventKind.DECLARED]
    assert cycle(store, Prometheus(0.8), AT + timedelta(seconds=30)) == []
    [incident] = store.incidents()
    assert (incident.service, incident.cause, incident.severity) == (
        "api",
        Cause.ERRORS,
        Severity.P1,
    )
    assert [m.sink for m in store.outbox()] == ["slack"]


def test_a_quiet_cycle_takes_no_write_lock(tmp_path: Path) -> None:
    store = open_store(tmp_path / "store.db")
    cycle(store, Prometheus(0.0))  # the first one may record that nothing holds
    other = sqlite3.connect(tmp_path / "store.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # someone else holds the write lock
    try:
        assert cycle(store, Prometheus(0.0), AT + timedelta(seconds=30)) == []
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert store.incidents() == []


def test_a_failed_query_skips_the_service_and_changes_nothing(tmp_path: Path) -> None:
    store = open_store(tmp_path / "store.db")
    cycle(store, Prometheus(0.8))
    [before] = store.incidents()
    planned = signal_plan(API, Policy())
    later = AT + timedelta(hours=2)  # long after: recovery, had it been measured
    result = evaluate_incidents(store, SINKS, Policy(), planned, Prometheus(0, down=True), later)
    assert result.events == []
    assert set(result.skipped) == {"api"}
    assert store.incidents() == [before]


def test_a_missed_response_target_escalates_once(tmp_path: Path) -> None:
    store = open_store(tmp_path / "store.db")
    cycle(store, Prometheus(0.8))
    late = AT + timedelta(minutes=30)  # a P1 is acknowledged within 15 min, resolved in 1 h
    events = escalate_missed_targets(store, SINKS, late)
    assert [(e.kind, e.escalate_to) for e in events] == [
        (EventKind.ESCALATED, ("everyone", "leadership"))
    ]
    assert escalate_missed_targets(store, SINKS, late + timedelta(minutes=1)) == []
    [incident] = store.incidents()
    assert incident.ack_breached
    assert len(store.outbox()) == 2


class Services(Prometheus):
    """Answers for several services, each with its own share of failing requests."""

    def __init__(self, shares: dict[str, float]) -> None:
        super().__init__(0.0)
        self.shares = shares

    def instant(self, expr: str, at: datetime, *, slos: Sequence[str] = ()) -> list[Sample]:
        if expr.startswith("histogram_quantile"):
            return [Sample({"service": name}, 0.05) for name in self.shares]
        windows = (300, 1800, 3600, 21600)
        return [
            Sample(
                {"service": name, WINDOW_LABEL: str(w)},
                1000.0 * share if 'code=~"5.."' in expr else 1000.0,
            )
            for name, share in self.shares.items()
            for w in windows
        ]


def test_a_database_outage_hurting_api_is_one_incident_and_one_page(tmp_path: Path) -> None:
    slos = [s for s in load_definitions(ROOT / "slo-definitions") if s.service in API_AND_DB]
    planned = signal_plan(slos, Policy())
    store = open_store(tmp_path / "store.db")
    down = Services({"api": 0.8, "database": 1.0})
    result = evaluate_incidents(store, SINKS, Policy(), planned, down, AT)
    assert [e.kind for e in result.events] == [EventKind.DECLARED]
    [incident] = store.incidents()
    assert incident.services == ("database", "api")
    assert [m.event["services"] for m in store.outbox()] == [["database", "api"]]
    assert store.tracked("api").bad_since == {Cause.ERRORS: AT}
    later = AT + timedelta(minutes=1)
    result = evaluate_incidents(
        store, SINKS, Policy(), planned, Services(dict.fromkeys(API_AND_DB, 0.0)), later
    )
    assert [(e.kind, e.incident.state.value) for e in result.events] == [
        (EventKind.UPDATED, "monitoring")
    ]
    assert store.tracked("api").bad_since == {}
    assert store.incidents()[0].restored_at == later


def test_incidents_declared_in_one_cycle_get_their_ids_when_committed(tmp_path: Path) -> None:
    slos = [s for s in load_definitions(ROOT / "slo-definitions") if s.service != "ai-worker"]
    planned = signal_plan(slos, Policy())
    store = open_store(tmp_path / "store.db")
    down = Services({"api": 0.8, "auth": 0.8, "database": 0.0})
    result = evaluate_incidents(store, SINKS, Policy(), planned, down, AT)
    declared = [(e.kind, e.incident.id, e.incident.service) for e in result.events]
    stored = sorted((i.id, i.service) for i in store.incidents())
    assert [i for i, _ in stored] == ["INC-0001", "INC-0002"]
    assert sorted(s for _, s in stored) == ["api", "auth"]
    assert sorted(declared) == [(EventKind.DECLARED, *pair) for pair in stored]
    assert sorted((m.incident_id, m.event["services"][0]) for m in store.outbox()) == stored


class Meanwhile(Store):
    """A store that someone else changes just before the cycle takes the write lock."""

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


def test_a_store_changed_while_deciding_is_decided_again_next_cycle(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    cycle(open_store(path), Prometheus(0.8))
    later = AT + timedelta(minutes=5)

    def alice_acknowledges(other: Store) -> None:
        [incident] = other.incidents(open_only=True)
        with other.transaction() as connection:
            acknowledged = acknowledge(incident, later, actor="alice")
            other.save(acknowledged, connection=connection, now=later)

    store = Meanwhile(path, alice_acknowledges)
    planned = signal_plan(API, Policy())
    result = evaluate_incidents(store, SINKS, Policy(), planned, Prometheus(0.0), later)
    assert result.events == []
    assert list(result.skipped) == ["api"]
    assert result.skipped["api"].startswith("changed meanwhile")
    [incident] = store.incidents()
    assert (incident.state, incident.timeline[-1].actor) == (State.ACKNOWLEDGED, "alice")
    assert len(store.outbox()) == 1  # the declaration only
    assert cycle(store, Prometheus(0.0), later + timedelta(seconds=30)) == [EventKind.UPDATED]
    [incident] = store.incidents()
    assert incident.state is State.MONITORING
    assert incident.acknowledged_at == later
