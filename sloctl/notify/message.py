"""What an incident change says: the event every sink announces, and what a sink is.

Sinks are pure. :meth:`Sink.requests_for` turns one :class:`IncidentEvent` into the HTTP requests
that announce it (:class:`~sloctl.notify.send.Request`), with no I/O, no clock and no randomness;
:mod:`sloctl.notify.send` sends them. Sinks keep their secrets out of their ``repr``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from sloctl.core.severity import Severity
from sloctl.incidents.events import Event, EventKind
from sloctl.incidents.lifecycle import State
from sloctl.incidents.policy import Cause
from sloctl.notify.send import Request


@dataclass(frozen=True)
class IncidentEvent:
    """One change of one incident, as every sink needs to know it, and as the outbox stores it.

    Made from an engine or CLI :class:`~sloctl.incidents.events.Event` by :meth:`of`; stored as
    JSON by :meth:`to_stored` and read back by :meth:`from_stored`, the one pair that knows the
    stored form. All times must be timezone-aware (UTC is expected); a naive time is refused at
    construction rather than guessed at while a page is going out.
    """

    incident_id: str
    kind: EventKind
    service: str
    cause: str
    severity: Severity
    state: State
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
    commander: str = ""
    """The incident commander when the event was queued (empty: nobody assigned)."""
    status: str = ""
    """A 3.2 update's status word; empty: the state's."""
    actions: tuple[str, ...] = ()
    """A 3.2 update's current actions; empty: what the state implies."""
    role: str = ""
    """ASSIGNED: the role given; REMINDER: what is overdue (``update`` or ``postmortem``)."""
    who: str = ""
    """ASSIGNED: who got the role; REMINDER: who is reminded."""
    due_at: datetime | None = None
    """REMINDER: when what is overdue was due."""
    changes: tuple[str, ...] = ()
    """For a declaration: recent changes of the services and their dependencies, a line each."""

    def __post_init__(self) -> None:
        if not self.incident_id:
            raise ValueError("an incident event needs an incident id")
        for name in ("at", "started_at", "resolved_at", "due_at"):
            moment = getattr(self, name)
            if moment is not None and moment.utcoffset() is None:
                raise ValueError(f"{name} must be timezone-aware")

    @classmethod
    def of(cls, event: Event, installation: str = "", commander: str = "") -> IncidentEvent:
        """What ``event`` tells people: the incident as it is after the change. ``commander``
        is the incident's commander when the event is queued (the 3.1 template's "Incident
        Commander: @name")."""
        incident = event.incident
        last = incident.timeline[-1]
        return cls(
            incident_id=incident.id,
            kind=event.kind,
            service=incident.service,
            cause=incident.cause.value,
            severity=incident.severity,
            state=incident.state,
            at=event.at,
            started_at=incident.detected_at,
            summary=incident.summary,
            impact=impact(event),
            actor=last.actor,
            note=event.note or last.note,
            escalate_to=event.escalate_to,
            resolved_at=incident.resolved_at,
            installation=installation,
            services=incident.services,
            causes=tuple(c.value for c in incident.causes),
            commander=commander,
            status=event.status,
            actions=event.actions,
            role=event.role,
            who=event.who,
            due_at=event.due_at,
            changes=event.changes,
        )

    def to_stored(self) -> dict[str, Any]:
        """The JSON document the outbox stores (times in UTC, RFC 3339). The installation is
        not in it: it is the store's, added back by :meth:`from_stored`. The role and cadence
        fields are stored only when set, so other events keep the earlier form."""
        roles: dict[str, Any] = {
            "commander": self.commander,
            "status": self.status,
            "actions": list(self.actions),
            "role": self.role,
            "who": self.who,
            "due_at": None if self.due_at is None else self.due_at.astimezone(UTC).isoformat(),
            "changes": list(self.changes),
        }
        return {
            **{key: value for key, value in roles.items() if value},
            "incident_id": self.incident_id,
            "kind": self.kind.value,
            "service": self.service,
            "cause": self.cause,
            "severity": self.severity.value,
            "state": self.state.value,
            "at": self.at.astimezone(UTC).isoformat(),
            "started_at": self.started_at.astimezone(UTC).isoformat(),
            "summary": self.summary,
            "impact": self.impact,
            "actor": self.actor,
            "note": self.note,
            "escalate_to": list(self.escalate_to),
            "resolved_at": None
            if self.resolved_at is None
            else self.resolved_at.astimezone(UTC).isoformat(),
            "services": list(self.services),
            "causes": list(self.causes),
        }

    @classmethod
    def from_stored(cls, stored: Mapping[str, Any], installation: str = "") -> IncidentEvent:
        """The event :meth:`to_stored` wrote, in this version's form or an earlier one's
        (without ``services`` and ``causes``). A document that is not one (a missing field,
        an unknown kind, severity or state, a time that is not RFC 3339) raises KeyError,
        TypeError or ValueError."""
        resolved = stored.get("resolved_at")
        return cls(
            incident_id=stored["incident_id"],
            kind=EventKind(stored["kind"]),
            service=stored["service"],
            cause=stored["cause"],
            severity=Severity(stored["severity"]),
            state=State(stored["state"]),
            at=datetime.fromisoformat(stored["at"]),
            started_at=datetime.fromisoformat(stored["started_at"]),
            summary=stored["summary"],
            impact=stored["impact"],
            actor=stored["actor"],
            note=stored["note"],
            escalate_to=tuple(stored["escalate_to"]),
            resolved_at=None if resolved is None else datetime.fromisoformat(resolved),
            installation=installation,
            services=tuple(stored.get("services", ())),
            causes=tuple(stored.get("causes", ())),
            commander=stored.get("commander", ""),
            status=stored.get("status", ""),
            actions=tuple(stored.get("actions", ())),
            role=stored.get("role", ""),
            who=stored.get("who", ""),
            due_at=_moment(stored.get("due_at")),
            changes=tuple(stored.get("changes", ())),
        )

    @property
    def affected(self) -> str:
        """The services affected, as the runbook's "Service(s):" line lists them."""
        return ", ".join(self.services or (self.service,))

    @property
    def ended_at(self) -> datetime:
        """When the incident ended: ``resolved_at``, or the event's time if that is missing."""
        return self.resolved_at or self.at


def _moment(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def impact(event: Event) -> str:
    """The impact line: the worst error ratio and p95 seen, as far as they were measured."""
    incident = event.incident
    parts = []
    if incident.peak_error_ratio is not None:
        parts.append(f"{incident.peak_error_ratio * 100:.1f}% of requests failing at worst")
    if incident.peak_p95_seconds is not None and Cause.LATENCY in incident.causes:
        parts.append(f"p95 latency up to {incident.peak_p95_seconds * 1000:.0f} ms")
    return "; ".join(parts) or "see the incident channel"


class Sink(Protocol):
    name: str

    def requests_for(self, event: IncidentEvent) -> list[Request]: ...


def iso_utc(moment: datetime) -> str:
    """RFC 3339 in UTC with milliseconds: what both PagerDuty and Alertmanager (Go) read."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
