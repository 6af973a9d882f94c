"""What an incident change says: the event every sink announces, and what a sink is.

Sinks are pure. :meth:`Sink.requests_for` turns one :class:`IncidentEvent` into the HTTP requests
that announce it (:class:`~sloctl.notify.send.Request`), with no I/O, no clock and no randomness;
:mod:`sloctl.notify.send` sends them. Sinks keep their secrets out of their ``repr``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from sloctl.incidents.events import EventKind
from sloctl.notify.send import Request

SEVERITIES = ("P1", "P2", "P3", "P4")
STATES = ("detected", "acknowledged", "mitigating", "monitoring", "resolved")


@dataclass(frozen=True)
class IncidentEvent:
    """One change of one incident, as every sink needs to know it.

    All times must be timezone-aware (UTC is expected); a naive time is refused at
    construction rather than guessed at while a page is going out.
    """

    incident_id: str
    kind: EventKind
    service: str
    cause: str
    severity: str
    state: str
    at: datetime
    started_at: datetime
    summary: str
    impact: str
    actor: str = "sloctl"
    note: str = ""
    escalate_to: tuple[str, ...] = ()
    resolved_at: datetime | None = None
    installation: str = ""
    """The store's installation id: part of the PagerDuty dedup key and of the Alertmanager
    labels, so two installations never share an alert. Empty for incidents older than it."""
    services: tuple[str, ...] = ()
    """Every service affected, ``service`` first (empty: ``service`` alone)."""
    causes: tuple[str, ...] = ()
    """Every cause of the incident (empty: ``cause`` alone)."""

    def __post_init__(self) -> None:
        if not self.incident_id:
            raise ValueError("an incident event needs an incident id")
        if self.severity not in SEVERITIES:
            raise ValueError(f"severity must be one of {', '.join(SEVERITIES)}")
        if self.state not in STATES:
            raise ValueError(f"state must be one of {', '.join(STATES)}")
        for name in ("at", "started_at", "resolved_at"):
            moment = getattr(self, name)
            if moment is not None and moment.utcoffset() is None:
                raise ValueError(f"{name} must be timezone-aware")

    @property
    def affected(self) -> str:
        """The services affected, as the runbook's "Service(s):" line lists them."""
        return ", ".join(self.services or (self.service,))

    @property
    def ended_at(self) -> datetime:
        """When the incident ended: ``resolved_at``, or the event's time if that is missing."""
        return self.resolved_at or self.at


class Sink(Protocol):
    name: str

    def requests_for(self, event: IncidentEvent) -> list[Request]: ...


def iso_utc(moment: datetime) -> str:
    """RFC 3339 in UTC with milliseconds: what both PagerDuty and Alertmanager (Go) read."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
