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


@dataclass(frozen=True)
class Event:
    """Something worth telling people about one incident."""

    kind: EventKind
    incident: Incident
    at: datetime
    escalate_to: tuple[str, ...] = ()
    note: str = ""
    changes: tuple[str, ...] = ()
    """For a declaration: the recent changes of its services and their dependencies, one line
    each, newest first (see :mod:`sloctl.incidents.changes`)."""
