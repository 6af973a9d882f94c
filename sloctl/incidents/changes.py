"""Which recent changes an incident's declaration lists (runbook 2.2 "What changed
recently?"): those of every affected service and of the services they depend on, made in the
:data:`~sloctl.core.changes.RECENT_CHANGES` before the declaration. Pure: the caller reads
the store."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from sloctl.core.changes import RECENT_CHANGES, Change, recent, related_services
from sloctl.incidents.events import Event, EventKind
from sloctl.incidents.lifecycle import Incident


def services_to_look_at(
    incident: Incident, depends_on: Mapping[str, Sequence[str]]
) -> tuple[str, ...]:
    """The incident's services, then what they depend on (directly or not)."""
    found: list[str] = []
    for service in incident.services:
        found += [s for s in related_services(service, depends_on) if s not in found]
    return tuple(found)


def changes_for(
    incident: Incident, changes: Sequence[Change], depends_on: Mapping[str, Sequence[str]]
) -> list[Change]:
    """The changes a declaration of ``incident`` lists, newest first."""
    return recent(changes, services_to_look_at(incident, depends_on), incident.detected_at)


def with_changes(
    events: Sequence[Event], changes: Sequence[Change], depends_on: Mapping[str, Sequence[str]]
) -> list[Event]:
    """``events``, each declaration carrying its recent changes as lines."""
    return [
        replace(e, changes=tuple(c.line() for c in changes_for(e.incident, changes, depends_on)))
        if e.kind is EventKind.DECLARED
        else e
        for e in events
    ]


LOOKBACK = RECENT_CHANGES
"""How far before a declaration to read the store for its changes."""
