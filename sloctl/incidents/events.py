"""Events: the changes of an incident worth telling people about, as the engine decides them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sloctl.incidents.lifecycle import Incident


class EventKind(StrEnum):
    DECLARED = "declared"
    UPDATED = "updated"
    ESCALATED = "escalated"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"
    ASSIGNED = "assigned"
    """A role of the incident was given to someone (runbook 4): told to people, not paged."""
    REMINDER = "reminder"
    """A status update or a post-mortem is overdue: a reminder to the commander."""


NOTE_KINDS = frozenset({EventKind.ASSIGNED, EventKind.REMINDER})
"""Kinds that say nothing new about the incident's state: sent to chat only (never paged, never
re-sent to Alertmanager), always sent, and never the reason an earlier update is dropped."""


@dataclass(frozen=True)
class Event:
    """Something worth telling people about one incident."""

    kind: EventKind
    incident: Incident
    at: datetime
    escalate_to: tuple[str, ...] = ()
    note: str = ""
    status: str = ""
    """A 3.2 update's status word (investigating, mitigating, monitoring); empty: the state's."""
    actions: tuple[str, ...] = ()
    """A 3.2 update's current actions; empty: what the state implies."""
    role: str = ""
    """ASSIGNED: the role given; REMINDER: ``update`` or ``postmortem``."""
    who: str = ""
    """ASSIGNED: who got the role; REMINDER: who is reminded."""
    due_at: datetime | None = None
    """REMINDER: when what is overdue was due."""
    changes: tuple[str, ...] = ()
    """For a declaration: the recent changes of its services and their dependencies, one line
    each, newest first (see :mod:`sloctl.incidents.changes`)."""
