"""Update cadence (runbook 3.1 and 3.2): when an open incident's next status update is due.

Pure. The clock starts at the declaration and starts over at every status update; its period
is the severity's (:data:`sloctl.core.severity.UPDATE_EVERY`), so an escalation to P1 makes
the next update due sooner. A missed update is reminded once: the reminder is keyed by the
due time it is about (:func:`missed_update`), so a stored reminder is never sent again, and
the next update starts a new clock.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from sloctl.core.severity import UPDATE_EVERY, Severity
from sloctl.errors import InvalidRequestError
from sloctl.incidents.lifecycle import Incident, State, Transition, move

UPDATE_REMINDER = "update"
"""The kind of a missed-update reminder (as stored)."""


class Status(StrEnum):
    """The statuses a 3.2 update gives."""

    INVESTIGATING = "investigating"
    MITIGATING = "mitigating"
    MONITORING = "monitoring"


@dataclass(frozen=True)
class StatusUpdate:
    """One 3.2 status update of an incident."""

    incident_id: str
    at: datetime
    status: Status
    text: str
    actions: tuple[str, ...]
    by: str


def every(severity: Severity) -> timedelta | None:
    return UPDATE_EVERY[severity]


def next_update_text(severity: Severity) -> str:
    """The templates' last line: ``Next update in 15 minutes.``"""
    period = every(severity)
    if period is None:
        return "Next update when the status changes."
    minutes = int(period.total_seconds() // 60)
    return f"Next update in {minutes} minute{'s' if minutes != 1 else ''}."


def last_update(incident: Incident, updates: Iterable[StatusUpdate]) -> datetime:
    """When the clock last started: the latest update, else the declaration."""
    return max([incident.detected_at, *(u.at for u in updates)])


def update_due(incident: Incident, updates: Iterable[StatusUpdate]) -> datetime | None:
    """When the next update of ``incident`` is due; None when resolved or without cadence."""
    period = every(incident.severity)
    if not incident.open or period is None:
        return None
    return last_update(incident, updates) + period


def missed_update(
    incident: Incident, updates: Iterable[StatusUpdate], now: datetime
) -> datetime | None:
    """The due time of a missed update at ``now`` (the reminder's key), else None."""
    due = update_due(incident, updates)
    return due if due is not None and now >= due else None


def apply_update(
    incident: Incident,
    status: Status,
    text: str,
    actions: tuple[str, ...],
    at: datetime,
    *,
    by: str,
) -> tuple[Incident, StatusUpdate]:
    """A 3.2 update: the incident (moved to mitigating or monitoring when the status says
    so, else with the update on its timeline) and the update to store."""
    if not incident.open:
        raise InvalidRequestError(f"{incident.id} is resolved; send the resolution, not an update")
    if not text.strip():
        raise InvalidRequestError("--text must say what has changed")
    target = {Status.MITIGATING: State.MITIGATING, Status.MONITORING: State.MONITORING}.get(status)
    note = f"update ({status.value}): {text}"
    if target is not None and target is not incident.state:
        changed = move(incident, target, at, actor=by, note=note)
    else:
        line = Transition(at, incident.state, incident.state, by, note, incident.severity)
        changed = replace(incident, timeline=(*incident.timeline, line))
    return changed, StatusUpdate(incident.id, at, status, text, actions, by)
