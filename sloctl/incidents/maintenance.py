"""Maintenance windows in the incident cycle: during one, nothing is paged.

An incident whose service is in a maintenance window when it is declared is still opened and
followed (recorded, with its timeline, so the backtest and ``incidents list`` show it), but it
is **suppressed**: none of its events is announced. If its trouble outlives the window (open
and not restored, i.e. not in monitoring, at a step after the window's end, a relapse
included), it is announced then, with a declaration; if it is restored within the window,
nobody is ever paged for it, even while its verification ends after the window. Pure: the
caller passes the windows and the time, and persists the result. Shared by the daemon and
the backtest.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from sloctl.core.maintenance import MaintenanceWindow, in_maintenance
from sloctl.incidents.engine import Decision
from sloctl.incidents.events import Event, EventKind
from sloctl.incidents.lifecycle import (
    SLOCTL,
    Incident,
    State,
    Transition,
    escalation_targets,
)


def _noted(incident: Incident, at: datetime, note: str) -> tuple[Transition, ...]:
    line = Transition(at, incident.state, incident.state, SLOCTL, note, incident.severity)
    return (*incident.timeline, line)


def suppress(incident: Incident, window: MaintenanceWindow, at: datetime) -> Incident:
    """``incident`` declared during ``window``: recorded, not announced."""
    note = f"suppressed: {incident.service} is in maintenance window {window.name} (nothing paged)"
    return replace(incident, suppressed_by=window.name, timeline=_noted(incident, at, note))


def unsuppress(incident: Incident, at: datetime) -> Incident:
    """A suppressed incident still open after its window: announced from now on."""
    note = f"maintenance window {incident.suppressed_by} over and still open: announced"
    return replace(incident, unsuppressed_at=at, timeline=_noted(incident, at, note))


def apply_maintenance(
    outcome: Decision,
    open_incidents: Sequence[Incident],
    windows: Sequence[MaintenanceWindow],
    at: datetime,
) -> Decision:
    """``outcome`` (of :func:`~sloctl.incidents.engine.decide` at ``at``) with maintenance
    applied: incidents declared in a window suppressed, the events of suppressed incidents
    dropped, and suppressed incidents still open after their window announced."""
    current = {i.id: i for i in open_incidents if i.open} | {i.id: i for i in outcome.changed}
    if not windows and not any(i.suppressed for i in current.values()):
        return outcome
    changed = {i.id: i for i in outcome.changed}
    for event in outcome.events:
        if event.kind is EventKind.DECLARED and event.incident.id in changed:
            declared = changed[event.incident.id]
            window = in_maintenance(windows, declared.service, at)
            if window is not None and not declared.suppressed_by:
                changed[declared.id] = current[declared.id] = suppress(declared, window, at)
    events = [e for e in outcome.events if not current.get(e.incident.id, e.incident).suppressed]
    for incident in list(current.values()):
        if not (incident.suppressed and incident.open) or incident.state is State.MONITORING:
            continue  # restored and being verified: the trouble ended within the window
        if in_maintenance(windows, incident.service, at) is None:
            announced = unsuppress(incident, at)
            changed[announced.id] = announced
            events.append(
                Event(
                    EventKind.DECLARED,
                    announced,
                    at,
                    escalation_targets(announced.severity),
                    note=announced.timeline[-1].note,
                )
            )
    return replace(outcome, changed=list(changed.values()), events=events)
