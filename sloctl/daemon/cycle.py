"""One incident cycle, shared by ``sloctl incidents evaluate`` and the daemon."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sloctl.core.maintenance import MaintenanceWindow
from sloctl.incidents.changes import LOOKBACK, with_changes
from sloctl.incidents.engine import breach_events, decide
from sloctl.incidents.events import Event, EventKind
from sloctl.incidents.lifecycle import check_targets
from sloctl.incidents.maintenance import apply_maintenance
from sloctl.incidents.policy import Policy, Signals
from sloctl.incidents.signals import SignalPlan, SignalReader, Sli, read_signals
from sloctl.notify.outbox import messages
from sloctl.notify.sinks import Sink
from sloctl.promql.slices import QueryBudget
from sloctl.reading.evaluation import Slicing
from sloctl.store.database import Store


@dataclass
class CycleResult:
    events: list[Event] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    """Services whose signals could not be read (or changed meanwhile), and why."""
    queries: int = 0
    slis: dict[str, Sli] = field(default_factory=dict)
    """Each readable SLO's indicator over its service's signal window."""
    failed_slos: dict[str, str] = field(default_factory=dict)
    """The SLOs whose signal queries failed, and why."""


def evaluate_incidents(
    store: Store,
    sinks: Mapping[str, Sink],
    policy: Policy,
    planned: SignalPlan,
    reader: SignalReader,
    at: datetime,
    *,
    slicing: Slicing | None = None,
    budget: QueryBudget | None = None,
    windows: Sequence[MaintenanceWindow] = (),
) -> CycleResult:
    """Read every service's signals at ``at`` (``planned`` with :func:`signal_plan`, the counts
    from ``slicing``'s store when given), decide, and commit what changed.

    A service whose signals cannot be read is skipped: Prometheus trouble never opens or
    closes an incident.
    """
    reading = read_signals(planned, reader, at, slicing=slicing, budget=budget)
    result = CycleResult(
        skipped=dict(reading.failed),
        queries=reading.queries,
        slis=dict(reading.slis),
        failed_slos=dict(reading.failed_slos),
    )
    try:
        result.events += _decide_and_commit(
            store, sinks, policy, planned.depends_on, reading.signals, at, windows
        )
    except sqlite3.IntegrityError as exc:
        result.skipped.update(dict.fromkeys(reading.signals, f"changed meanwhile ({exc})"))
    return result


def _decide_and_commit(
    store: Store,
    sinks: Mapping[str, Sink],
    policy: Policy,
    depends_on: Mapping[str, tuple[str, ...]],
    signals: Mapping[str, Signals],
    at: datetime,
    windows: Sequence[MaintenanceWindow] = (),
) -> list[Event]:
    """Decide for every read service on fresh state and commit the result, under one lock.

    Most cycles change nothing; that is found out first, without taking the write lock.
    """
    previous = {service: store.tracked(service) for service in signals}
    opened = store.incidents(open_only=True)
    outcome = decide(policy, signals, previous, opened, lambda: "unsaved", depends_on)
    outcome = apply_maintenance(outcome, opened, windows, at)  # nothing paged in a window
    if not outcome.changed and outcome.tracked == previous:
        return []
    with store.transaction() as connection:

        def new_id() -> str:
            return store.allocate_id(connection)

        fresh = {service: store.tracked(service) for service in signals}
        opened = store.incidents(open_only=True)
        outcome = decide(policy, signals, fresh, opened, new_id, depends_on)
        outcome = apply_maintenance(outcome, opened, windows, at)
        if any(e.kind is EventKind.DECLARED for e in outcome.events):
            recent = store.changes(since=at - LOOKBACK, until=at)
            outcome.events = with_changes(outcome.events, recent, depends_on)
        for incident in outcome.changed:
            related = [e for e in outcome.events if e.incident.id == incident.id]
            store.save(incident, connection=connection, events=messages(related, sinks), now=at)
        for service, tracked in outcome.tracked.items():
            if tracked != fresh.get(service):
                store.save_tracked(service, tracked, connection=connection)
    return outcome.events


def escalate_missed_targets(store: Store, sinks: Mapping[str, Sink], now: datetime) -> list[Event]:
    """Runbook 2.2 escalation for every open incident past a target, once per target."""
    found: list[Event] = []
    for candidate in store.incidents(open_only=True):
        with store.transaction() as connection:
            incident = store.get(candidate.id)  # fresh, under the lock
            if incident is None or not incident.open or incident.suppressed:
                continue
            checked, breaches = check_targets(incident, now)
            if not breaches:
                continue
            events = breach_events(checked, breaches, now)
            store.save(checked, connection=connection, events=messages(events, sinks), now=now)
            found += events
    return found
