"""The incident pass, shared by ``sloctl incidents evaluate`` and each cycle of the daemon.

One pass, at one pinned time: read every service's signals, decide (policy, lifecycle), and
commit the incidents with the notifications they cause in one transaction of the store (the
commander named at declaration among them), then escalate missed targets, remind overdue
updates and post-mortems, and write the drafts due at resolution. A *pass* is this incident
work alone; a *cycle* is one iteration of the daemon's loop (:mod:`sloctl.daemon.loop`), which
runs a budget evaluation and then a pass.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path

from sloctl.core.maintenance import MaintenanceWindow
from sloctl.errors import StoreConflictError
from sloctl.incidents.cadence import UPDATE_REMINDER, missed_update
from sloctl.incidents.changes import LOOKBACK, with_changes
from sloctl.incidents.customer import needs_customer_draft, render_customer
from sloctl.incidents.engine import breach_events, decide
from sloctl.incidents.events import Event, EventKind
from sloctl.incidents.lifecycle import Incident, check_targets
from sloctl.incidents.maintenance import apply_maintenance
from sloctl.incidents.policy import Policy, ServiceSignals
from sloctl.incidents.postmortem import POSTMORTEM_REMINDER, postmortem_pending, reminder_at
from sloctl.incidents.roles import Assignment, Role
from sloctl.incidents.schedule import Schedule, default_roles
from sloctl.incidents.signals import SignalPlan, SignalReader, Sli, read_signals
from sloctl.notify.message import Sink
from sloctl.notify.outbox import messages
from sloctl.promql.slices import QueryBudget
from sloctl.reading.evaluation import Slicing
from sloctl.store.database import Store


@dataclass
class IncidentPassResult:
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
    schedule: Schedule | None = None,
    windows: Sequence[MaintenanceWindow] = (),
) -> IncidentPassResult:
    """Read every service's signals at ``at`` (``planned`` with :func:`signal_plan`, the counts
    from ``slicing``'s store when given), decide, and commit what changed.

    A service whose signals cannot be read is skipped: Prometheus trouble never opens or
    closes an incident. A new incident's commander is whoever ``schedule`` has on call.
    """
    reading = read_signals(planned, reader, at, slicing=slicing, budget=budget)
    result = IncidentPassResult(
        skipped=dict(reading.failed),
        queries=reading.queries,
        slis=dict(reading.slis),
        failed_slos=dict(reading.failed_slos),
    )
    try:
        result.events += _decide_and_commit(
            store, sinks, policy, planned.depends_on, reading.signals, at, schedule, windows
        )
    except StoreConflictError as exc:
        result.skipped.update(dict.fromkeys(reading.signals, f"changed meanwhile ({exc})"))
    return result


def _decide_and_commit(
    store: Store,
    sinks: Mapping[str, Sink],
    policy: Policy,
    depends_on: Mapping[str, tuple[str, ...]],
    signals: Mapping[str, ServiceSignals],
    at: datetime,
    schedule: Schedule | None = None,
    windows: Sequence[MaintenanceWindow] = (),
) -> list[Event]:
    """Decide once for every read service and commit the result under one lock.

    Most passes change nothing; that is found out without taking the write lock. A new
    incident gets its id when it is committed (ids are handed out under the lock, in the
    order the incidents were declared). Raises :class:`StoreConflictError`, writing nothing,
    when the store changed between reading and locking (a person acknowledged an incident,
    say): the next pass decides on what is there then.
    """
    previous = {service: store.tracked(service) for service in signals}
    opened = store.incidents(open_only=True)
    unsaved: list[str] = []

    def placeholder() -> str:
        unsaved.append(f"{UNSAVED}{len(unsaved) + 1}")
        return unsaved[-1]

    outcome = decide(policy, signals, previous, opened, placeholder, depends_on)
    outcome = apply_maintenance(outcome, opened, windows, at)  # nothing paged in a window
    if not outcome.changed and outcome.tracked == previous:
        return []
    with store.transaction() as connection:
        fresh = {service: store.tracked(service) for service in signals}
        if fresh != previous or store.incidents(open_only=True) != opened:
            raise StoreConflictError("incidents or their tracking changed after they were read")
        ids = {name: store.allocate_id(connection) for name in unsaved}
        events = [_with_id(event, ids) for event in outcome.events]
        if any(e.kind is EventKind.DECLARED for e in events):
            recent = store.changes(since=at - LOOKBACK, until=at)
            events = with_changes(events, recent, depends_on)
        commanders = store.commanders()
        for changed in outcome.changed:
            incident: Incident = replace(changed, id=ids.get(changed.id, changed.id))
            related = [e for e in events if e.incident.id == incident.id]
            declared = any(e.kind is EventKind.DECLARED for e in related)
            assigned: tuple[Assignment, ...] = ()
            if declared and schedule is not None and incident.id not in commanders:
                incident, assigned = default_roles(schedule, incident, at)
                notes = scheduled_notes(incident, assigned, at)
                related += notes
                events += notes
            commanders.update({a.incident_id: a.who for a in assigned if a.role is Role.COMMANDER})
            queued = messages(related, sinks, commanders)
            store.save(incident, connection=connection, events=queued, now=at)
            for assignment in assigned:  # after its incident: the role refers to it
                store.save_assignment(assignment, connection=connection)
        for service, tracked in outcome.tracked.items():
            if tracked != previous.get(service):
                store.save_tracked(service, tracked, connection=connection)
    return events


UNSAVED = "unsaved-"
"""The prefix of the ids a pass gives the incidents it declares until they are committed."""


def _with_id(event: Event, ids: Mapping[str, str]) -> Event:
    """``event`` about its incident as committed: with its id if it was declared this pass."""
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
            if incident is None or not incident.open or incident.suppressed:
                continue
            checked, breaches = check_targets(incident, now)
            if not breaches:
                continue
            events = breach_events(checked, breaches, now)
            commanders = store.commanders()
            store.save(
                checked, connection=connection, events=messages(events, sinks, commanders), now=now
            )
            found += events
    return found


def scheduled_notes(
    incident: Incident, assigned: Sequence[Assignment], at: datetime
) -> list[Event]:
    """ASSIGNED notes for the roles the schedule gave at declaration, but the commander's
    (the 3.1 declaration names the commander)."""
    return [
        Event(EventKind.ASSIGNED, incident, at, role=a.role.value, who=a.who)
        for a in assigned
        if a.role is not Role.COMMANDER
    ]


POSTMORTEM_HORIZON = timedelta(days=30)
"""How long after its resolution an incident's post-mortem is still looked after."""


def _overdue(
    incident: Incident, store: Store, done: Mapping[str, object], now: datetime
) -> tuple[str, datetime] | None:
    """What ``incident`` has overdue at ``now``: (reminder kind, due time), or None."""
    if incident.open:
        due = missed_update(incident, store.updates(incident.id), now)
        return None if due is None else (UPDATE_REMINDER, due)
    due = incident.postmortem_due
    remind = reminder_at(incident)
    if due is None or remind is None or now < remind or not postmortem_pending(incident, done):
        return None
    return POSTMORTEM_REMINDER, due


def remind_overdue(store: Store, sinks: Mapping[str, Sink], now: datetime) -> list[Event]:
    """Remind the commander, once, of a missed status update (runbook 3.2) and of a
    post-mortem coming due (2.5). Each reminder is stored with its message in one transaction,
    keyed by what it is about, so a restarted daemon never sends it again."""
    found: list[Event] = []
    done = store.postmortems_done()
    for candidate in store.reminder_candidates(now - POSTMORTEM_HORIZON):
        found_overdue = _overdue(candidate, store, done, now)
        if found_overdue is None or store.reminded(candidate.id, *found_overdue):
            continue  # most cycles: nothing overdue or reminded already, no write lock taken
        with store.transaction() as connection:
            incident = store.get(candidate.id)  # fresh, under the lock
            done = store.postmortems_done()
            overdue = None if incident is None else _overdue(incident, store, done, now)
            if incident is None or overdue is None:
                continue
            kind, due = overdue
            if not store.claim_reminder(incident.id, kind, due, connection=connection, now=now):
                continue
            commanders = store.commanders()
            who = commanders.get(incident.id, "")
            event = Event(EventKind.REMINDER, incident, now, role=kind, who=who, due_at=due)
            store.save(
                incident,
                connection=connection,
                events=messages([event], sinks, commanders),
                now=now,
            )
            found.append(event)
    return found


def customer_draft_path(directory: Path, incident_id: str) -> Path:
    return directory / f"{incident_id}-customer.md"


def write_customer_drafts(directory: Path, incidents: Sequence[Incident]) -> list[Path]:
    """Write the 3.4 customer communication of every resolved P1 in ``incidents`` that has
    none yet (a draft already there may have been edited: it is left alone). Written to a
    temporary file and renamed, so nobody reads half a draft. Raises OSError."""
    written = []
    for incident in incidents:
        if not needs_customer_draft(incident):
            continue
        path = customer_draft_path(directory, incident.id)
        if path.exists():
            continue
        directory.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.partial")
        partial.write_text(render_customer(incident), encoding="utf-8")
        os.replace(partial, path)
        written.append(path)
    return written
