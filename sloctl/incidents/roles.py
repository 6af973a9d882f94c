"""Incident roles (runbook section 4): who commands, leads, communicates and writes it down.

Everything here is pure. An :class:`Assignment` says that someone took a role at a time, and
who gave it to them; an incident's assignments are kept in order, so the history stays and the
latest one per role is the person holding it now (:func:`holders`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from sloctl.errors import InvalidRequestError
from sloctl.incidents.lifecycle import Incident, Transition

HANDLE = re.compile(r"^@?([A-Za-z0-9][A-Za-z0-9._-]{0,63})$")
"""A chat handle: ``@alice`` or ``alice`` (kept as ``@alice``), letters, digits, ``.``, ``_``
and ``-``, at most 64 characters."""


class Role(StrEnum):
    COMMANDER = "commander"
    TECHNICAL_LEAD = "technical-lead"
    COMMUNICATIONS_LEAD = "communications-lead"
    SCRIBE = "scribe"

    @property
    def runbook_name(self) -> str:
        """The runbook's name for the role (section 4)."""
        return TITLES[self]


TITLES: Mapping[Role, str] = {
    Role.COMMANDER: "Incident Commander",
    Role.TECHNICAL_LEAD: "Technical Lead",
    Role.COMMUNICATIONS_LEAD: "Communications Lead",
    Role.SCRIBE: "Scribe",
}


def handle(text: str) -> str:
    """``alice`` or ``@alice`` as ``@alice``; a InvalidRequestError for anything else."""
    match = HANDLE.match(text.strip())
    if match is None:
        raise InvalidRequestError(
            f"{text!r} is not a handle (expected @name: letters, digits, '.', '_' or '-')"
        )
    return f"@{match.group(1)}"


@dataclass(frozen=True)
class Assignment:
    """``who`` holds ``role`` of ``incident_id`` from ``at`` on, given by ``by``."""

    incident_id: str
    role: Role
    who: str
    at: datetime
    by: str


def holders(assignments: Iterable[Assignment]) -> dict[Role, Assignment]:
    """The latest assignment of each role (in the order given: oldest first)."""
    current: dict[Role, Assignment] = {}
    for assignment in assignments:
        current[assignment.role] = assignment
    return current


def roles_of(who: str, assignments: Iterable[Assignment]) -> tuple[Role, ...]:
    """The roles ``who`` holds now."""
    return tuple(role for role, held in holders(assignments).items() if held.who == who)


def assign(
    incident: Incident,
    assignments: Iterable[Assignment],
    role: Role,
    who: str,
    at: datetime,
    *,
    by: str,
) -> tuple[Incident, Assignment]:
    """``who`` takes ``role``: the assignment and the incident with it on its timeline.

    Assigning the person who already holds the role is refused (nothing would change); a
    resolved incident takes no new roles.
    """
    if not incident.open:
        raise InvalidRequestError(f"{incident.id} is resolved; its roles are kept as they were")
    current = holders(assignments).get(role)
    if current is not None and current.who == who:
        raise InvalidRequestError(
            f"{who} is already the {role.runbook_name.lower()} of {incident.id}"
        )
    note = f"{role.runbook_name}: {who}"
    if current is not None:
        note += f" (was {current.who})"
    line = Transition(at, incident.state, incident.state, by, note, incident.severity)
    assignment = Assignment(incident.id, role, who, at, by)
    return replace(incident, timeline=(*incident.timeline, line)), assignment
