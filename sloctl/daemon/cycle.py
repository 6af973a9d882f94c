"""One incident cycle, shared by ``sloctl incidents evaluate`` and the daemon."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime

from sloctl.errors import StoreConflictError
from sloctl.incidents.engine import breach_events, decide
from sloctl.incidents.events import Event
from sloctl.incidents.lifecycle import check_targets
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
            store, sinks, policy, planned.depends_on, reading.signals, at
        )
    except StoreConflictError as exc:
        result.skipped.update(dict.fromkeys(reading.signals, f"changed meanwhile ({exc})"))
    return result


def _decide_and_commit(
    store: Store,
    sinks: Mapping[str, Sink],
    policy: Policy,
    depends_on: Mapping[str, tuple[str, ...]],
    signals: Mapping[str, Signals],
    at: datetime,
) -> list[Event]:
    """Decide once for every read service and commit the result under one lock.

    Most cycles change nothing; that is found out without taking the write lock. A new
    incident gets its id when it is committed (ids are handed out under the lock, in the
    order the incidents were declared). Raises :class:`StoreConflictError`, writing nothing,
    when the store changed between reading and locking (a person acknowledged an incident,
    say): the next cycle decides on what is there then.
    """
    previous = {service: store.tracked(service) for service in signals}
    opened = store.incidents(open_only=True)
    unsaved: list[str] = []

    def placeholder() -> str:
        unsaved.append(f"{UNSAVED}{len(unsaved) + 1}")
        return unsaved[-1]

    outcome = decide(policy, signals, previous, opened, placeholder, depends_on)
    if not outcome.changed and outcome.tracked == previous:
        return []
    with store.transaction() as connection:
        fresh = {service: store.tracked(service) for service in signals}
        if fresh != previous or store.incidents(open_only=True) != opened:
            raise StoreConflictError("incidents or their tracking changed after they were read")
        ids = {name: store.allocate_id(connection) for name in unsaved}
        events = [_with_id(event, ids) for event in outcome.events]
        for changed in outcome.changed:
            incident = replace(changed, id=ids.get(changed.id, changed.id))
            related = [e for e in events if e.incident.id == incident.id]
            store.save(incident, connection=connection, events=messages(related, sinks), now=at)
        for service, tracked in outcome.tracked.items():
            if tracked != previous.get(service):
                store.save_tracked(service, tracked, connection=connection)
    return events


UNSAVED = "unsaved-"
"""The prefix of the ids a cycle gives the incidents it declares until they are committed."""


def _with_id(event: Event, ids: Mapping[str, str]) -> Event:
    """``event`` about its incident as committed: with its id if it was declared this cycle."""
    committed = ids.get(event.incident.id)
    if committed is None:
        return event
    return replace(event, incident=replace(event.incident, id=committed))


def escalate_missed_targets(store: Store, sinks: Mapping[str, Sink], now: datetime) -> list[Event]:
    """Runbook 2.2 escalation for every open incident past a target, once per target."""
    found: list[Event] = []
    for candidate in store.incidents(open_only=True):
        with store.transaction() as connection:
            incident = store.get(candidate.id)  # fresh, under the lock
            if incident is None or not incident.open:
                continue
            checked, breaches = check_targets(incident, now)
            if not breaches:
                continue
            events = breach_events(checked, breaches, now)
            store.save(checked, connection=connection, events=messages(events, sinks), now=now)
            found += events
    return found
