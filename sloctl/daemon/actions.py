"""What a person does to an incident: acknowledge, mitigate, resolve, declare, send a 3.2
status update. One implementation for the command line and the web UI.

Each action reads and writes under one lock of the store (no lost update) and queues the
notifications it causes in the same transaction (:func:`sloctl.notify.outbox.messages`); it
sends nothing itself: the caller's courier does (the command line flushes for a bounded time,
the daemon wakes its delivery thread). A resolution writes the P1 customer communication draft
(runbook 3.4). Nothing here prints or reads the clock: ``now`` and the person are passed in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sloctl.core.severity import Severity
from sloctl.daemon.incident_pass import scheduled_notes, write_customer_drafts
from sloctl.daemon.incident_record import require
from sloctl.errors import InvalidRequestError
from sloctl.incidents.cadence import Status, StatusUpdate, apply_update, update_due
from sloctl.incidents.changes import LOOKBACK, with_changes
from sloctl.incidents.events import Event, EventKind
from sloctl.incidents.lifecycle import (
    Incident,
    State,
    acknowledge,
    declare,
    escalation_targets,
    move,
)
from sloctl.incidents.policy import Cause, Finding
from sloctl.incidents.roles import Role, assign, handle
from sloctl.incidents.schedule import Schedule, default_roles
from sloctl.notify.message import Sink
from sloctl.notify.outbox import messages
from sloctl.store.database import Store

KIND_OF: Mapping[State, EventKind] = {
    State.ACKNOWLEDGED: EventKind.ACKNOWLEDGED,
    State.MITIGATING: EventKind.UPDATED,
    State.MONITORING: EventKind.UPDATED,
    State.RESOLVED: EventKind.RESOLVED,
}
"""The event a person's move of an incident to each state announces."""


@dataclass(frozen=True)
class Drafts:
    """The customer communication drafts a resolution wrote, or why none could be."""

    directory: Path
    written: tuple[Path, ...] = ()
    error: str | None = None
    """Why the directory could not be written (the change itself is committed)."""


@dataclass(frozen=True)
class Acted:
    """What an action changed: the incident as committed and the events queued for it."""

    incident: Incident
    events: tuple[Event, ...]
    queued: int
    """Outbox messages queued (one per event and sink)."""
    drafts: Drafts | None = None
    """The customer drafts written, for a resolution."""


@dataclass(frozen=True)
class Declared(Acted):
    commander: str = ""
    """Who commands the new incident: the schedule's on-call, else whoever declared it."""


@dataclass(frozen=True)
class Updated(Acted):
    update: StatusUpdate | None = None
    next_due: datetime | None = None
    """When the next 3.2 update is due (None: no cadence, or resolved)."""


def transition(
    store: Store,
    sinks: Mapping[str, Sink],
    incident_id: str,
    to: State,
    *,
    person: str,
    note: str,
    now: datetime,
    drafts: Path,
) -> Acted:
    """``person`` acknowledges (``to`` acknowledged), mitigates or resolves the incident.

    Raises InvalidRequestError (no such incident) or TransitionError (a step the lifecycle
    does not allow); StoreConflictError when the store refuses the change."""
    if to not in KIND_OF:
        raise InvalidRequestError(f"a person cannot move an incident to {to.value}")
    with store.transaction() as connection:  # read and write under one lock: no lost update
        incident = require(store, incident_id)
        if to is State.ACKNOWLEDGED:
            changed = acknowledge(incident, now, actor=person, note=note)
        else:
            changed = move(incident, to, now, actor=person, note=note)
        event = Event(KIND_OF[to], changed, now, note=note)
        queued = messages([event], sinks, store.commanders())
        store.save(changed, connection=connection, events=queued, now=now)
    written = write_drafts(drafts, changed) if to is State.RESOLVED else None
    return Acted(changed, (event,), len(queued), written)


def write_drafts(directory: Path, resolved: Incident) -> Drafts:
    """The P1 customer communication (runbook 3.4) of an incident just resolved; a directory
    that cannot be written is reported, not raised (the resolution is committed)."""
    try:
        return Drafts(directory, tuple(write_customer_drafts(directory, [resolved])))
    except OSError as exc:
        return Drafts(directory, error=exc.strerror or type(exc).__name__)


def declare_incident(
    store: Store,
    sinks: Mapping[str, Sink],
    schedule: Schedule | None,
    *,
    service: str,
    severity: Severity,
    cause: Cause,
    summary: str,
    person: str,
    now: datetime,
) -> Declared:
    """``person`` declares an incident metrics cannot see. Its roles come from ``schedule``
    (whoever is on call); without a commander on call, whoever declares it commands.

    Raises InvalidRequestError when an incident is open already for the service and cause."""
    finding = Finding(cause, severity, summary)
    with store.transaction() as connection:
        open_one = [
            i for i in store.incidents(open_only=True) if i.service == service and i.cause is cause
        ]
        if open_one:
            raise InvalidRequestError(
                f"{open_one[0].id} is already open for {service} ({cause.value}); update that one"
            )
        incident = declare(
            store.allocate_id(connection), service, finding, now, actor=person, manual=True
        )
        event = Event(EventKind.DECLARED, incident, now, escalation_targets(incident.severity))
        recent = store.changes(since=now - LOOKBACK, until=now)
        [event] = with_changes([event], recent, {})  # this service's own changes
        kept, assigned = (
            (incident, ()) if schedule is None else default_roles(schedule, incident, now)
        )
        if not any(a.role is Role.COMMANDER for a in assigned):
            # nobody on call: whoever declares it commands until someone else does
            kept, mine = assign(kept, assigned, Role.COMMANDER, handle(person), now, by=person)
            assigned = (mine, *assigned)
        commander = next(a for a in assigned if a.role is Role.COMMANDER)
        notes = scheduled_notes(kept, assigned, now)
        events = (event, *notes)
        queued = messages(events, sinks, {incident.id: commander.who})
        store.save(kept, connection=connection, events=queued, now=now)
        for assignment in assigned:
            store.save_assignment(assignment, connection=connection)
    return Declared(kept, events, len(queued), commander=commander.who)


def send_update(
    store: Store,
    sinks: Mapping[str, Sink],
    incident_id: str,
    *,
    status: Status,
    text: str,
    actions: tuple[str, ...],
    person: str,
    now: datetime,
) -> Updated:
    """``person`` sends the runbook's 3.2 status update (moving the incident to mitigating or
    monitoring when the status says so); the next one is due a period later."""
    with store.transaction() as connection:
        incident = require(store, incident_id)
        changed, sent = apply_update(incident, status, text, actions, now, by=person)
        store.save_update(sent, connection=connection)
        event = Event(
            EventKind.UPDATED, changed, now, note=text, status=status.value, actions=actions
        )
        queued = messages([event], sinks, store.commanders())
        store.save(changed, connection=connection, events=queued, now=now)
    return Updated(
        changed, (event,), len(queued), update=sent, next_due=update_due(changed, [sent])
    )
