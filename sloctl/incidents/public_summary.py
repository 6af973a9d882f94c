"""The public summary of an incident: what a status page says (a short text and the services).

Pure. The communications lead sets it (runbook 4.3: "Update status page"); once somebody holds
that role, only they may change it, so the page has one voice. Every version is kept.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sloctl.errors import InvalidRequestError
from sloctl.incidents.lifecycle import Incident
from sloctl.incidents.roles import Assignment, Role, holders

SUMMARY_MAX = 280
"""A status page line, not an essay: the length of a short post."""
SERVICE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")


@dataclass(frozen=True)
class PublicSummary:
    incident_id: str
    at: datetime
    text: str
    services: tuple[str, ...]
    by: str


def services_from(text: str) -> tuple[str, ...]:
    """``api, auth`` as ``("api", "auth")``: named once each, in the order given."""
    names = [name.strip() for name in text.split(",") if name.strip()]
    wrong = [name for name in names if SERVICE_NAME.match(name) is None]
    if wrong or not names:
        raise InvalidRequestError(
            f"--services: {', '.join(wrong) or 'nothing'} is not a service name list "
            "(expected names such as api,auth)"
        )
    return tuple(dict.fromkeys(names))


def set_summary(
    incident: Incident,
    assignments: Iterable[Assignment],
    text: str,
    services: tuple[str, ...],
    at: datetime,
    *,
    by: str,
) -> PublicSummary:
    """A new public summary of ``incident``, checked: short, not empty, and from the
    communications lead when there is one. The services are the status page's to show: they
    may include ones the incident's signals did not (a front end whose API is down)."""
    words = " ".join(text.split())
    if not words:
        raise InvalidRequestError("--text must not be empty")
    if len(words) > SUMMARY_MAX:
        raise InvalidRequestError(
            f"--text is {len(words)} characters; a public summary has at most 280"
        )
    lead = holders(assignments).get(Role.COMMUNICATIONS_LEAD)
    if lead is not None and lead.who != by:
        raise InvalidRequestError(
            f"{incident.id}'s communications lead is {lead.who}: the public summary is theirs "
            f"to set (or assign the role to {by} first)"
        )
    return PublicSummary(incident.id, at, words, services, by)
