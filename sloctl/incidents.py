"""Incident lifecycle (runbook section 2): states, transitions, SLA timers, verification.

detected -> acknowledged -> mitigating -> monitoring -> resolved, with a relapse from
monitoring back to mitigating. Everything here is pure: an :class:`Incident` is a frozen value,
and every change returns a new one with the transition added to its timeline.

Hysteresis: an incident opens when a severity indicator holds (:mod:`sloctl.policy`), moves to
monitoring only when the runbook's 2.4 verification holds (errors below 0.1 %, p95 within the
SLO), and resolves only after that has held for the stable period. A signal flapping around
the trigger threshold therefore keeps one incident open instead of opening and resolving many.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from sloctl.durations import format_duration
from sloctl.errors import UsageError
from sloctl.policy import Cause, Finding, Thresholds, rank
from sloctl.severity import LEVELS, Severity

SLOCTL = "sloctl"
POSTMORTEM_DUE = timedelta(hours=72)


class State(StrEnum):
    DETECTED = "detected"
    ACKNOWLEDGED = "acknowledged"
    MITIGATING = "mitigating"
    MONITORING = "monitoring"
    RESOLVED = "resolved"


ALLOWED: dict[State, frozenset[State]] = {
    State.DETECTED: frozenset(
        {State.ACKNOWLEDGED, State.MITIGATING, State.MONITORING, State.RESOLVED}
    ),
    State.ACKNOWLEDGED: frozenset({State.MITIGATING, State.MONITORING, State.RESOLVED}),
    State.MITIGATING: frozenset({State.MONITORING, State.RESOLVED}),
    State.MONITORING: frozenset({State.MITIGATING, State.RESOLVED}),
    State.RESOLVED: frozenset(),
}


class TransitionError(UsageError):
    """A transition the lifecycle does not allow (resolving twice, acknowledging late...)."""


@dataclass(frozen=True)
class Transition:
    """One line of an incident's timeline."""

    at: datetime
    from_state: State | None
    to_state: State
    actor: str
    note: str
    severity: Severity


@dataclass(frozen=True)
class Incident:
    id: str
    service: str
    cause: Cause
    severity: Severity
    state: State
    detected_at: datetime
    summary: str
    timeline: tuple[Transition, ...]
    acknowledged_at: datetime | None = None
    resolved_at: datetime | None = None
    healthy_since: datetime | None = None
    peak_error_ratio: float | None = None
    peak_p95_seconds: float | None = None
    ack_breached: bool = False
    resolution_breached: bool = False
    manual: bool = False

    @property
    def open(self) -> bool:
        return self.state is not State.RESOLVED

    @property
    def ack_due(self) -> datetime:
        """Runbook 1.2 response target: P1 5 min, P2 15 min, P3 1 hour, P4 8 hours."""
        return self.detected_at + LEVELS[self.severity].response

    @property
    def resolution_due(self) -> datetime:
        """Runbook 1.2 resolution target: P1 1 hour, P2 4 hours, P3 24 hours, P4 1 week."""
        return self.detected_at + LEVELS[self.severity].resolution

    @property
    def postmortem_due(self) -> datetime | None:
        """Runbook 2.5: a post-mortem within 72 hours for P1 and P2."""
        if self.resolved_at is None or self.severity not in (Severity.P1, Severity.P2):
            return None
        return self.resolved_at + POSTMORTEM_DUE


def declare(
    incident_id: str,
    service: str,
    finding: Finding,
    at: datetime,
    *,
    actor: str = SLOCTL,
    manual: bool = False,
    error_ratio: float | None = None,
    p95_seconds: float | None = None,
) -> Incident:
    """A new incident, detected now."""
    first = Transition(at, None, State.DETECTED, actor, finding.reason, finding.severity)
    return Incident(
        id=incident_id,
        service=service,
        cause=finding.cause,
        severity=finding.severity,
        state=State.DETECTED,
        detected_at=at,
        summary=finding.reason,
        timeline=(first,),
        peak_error_ratio=error_ratio,
        peak_p95_seconds=p95_seconds,
        manual=manual,
    )


def move(incident: Incident, to: State, at: datetime, *, actor: str, note: str = "") -> Incident:
    """``incident`` in state ``to``; raises TransitionError where the runbook has no such step."""
    if to not in ALLOWED[incident.state]:
        raise TransitionError(
            f"{incident.id} is {incident.state.value}; it cannot become {to.value}"
        )
    line = Transition(at, incident.state, to, actor, note, incident.severity)
    changes: dict[str, object] = {"state": to, "timeline": (*incident.timeline, line)}
    if to is State.ACKNOWLEDGED or (incident.acknowledged_at is None and actor != SLOCTL):
        changes["acknowledged_at"] = incident.acknowledged_at or at
    if to is State.RESOLVED:
        changes["resolved_at"] = at
    if to is State.MONITORING:
        changes["healthy_since"] = at
    if to is State.MITIGATING:
        changes["healthy_since"] = None
    return replace(incident, **changes)  # type: ignore[arg-type]


def acknowledge(incident: Incident, at: datetime, *, actor: str, note: str = "") -> Incident:
    """A person takes the incident (runbook 2.1), whatever state sloctl has moved it to.

    From detected it becomes acknowledged; later it keeps its state and the timeline records
    the acknowledgement, so the response target is met however quickly sloctl moved on.
    """
    if incident.state is State.DETECTED:
        return move(incident, State.ACKNOWLEDGED, at, actor=actor, note=note)
    if not incident.open:
        raise TransitionError(f"{incident.id} is resolved; there is nothing to acknowledge")
    if incident.acknowledged_at is not None:
        raise TransitionError(f"{incident.id} was already acknowledged")
    text = f"acknowledged{': ' + note if note else ''}"
    line = Transition(at, incident.state, incident.state, actor, text, incident.severity)
    return replace(incident, acknowledged_at=at, timeline=(*incident.timeline, line))


def escalate(incident: Incident, finding: Finding, at: datetime) -> Incident:
    """Raise the severity when a higher one is reached; a severity is never lowered."""
    if rank(finding.severity) <= rank(incident.severity):
        return incident
    note = f"escalated from {incident.severity.value} to {finding.severity.value}: {finding.reason}"
    line = Transition(at, incident.state, incident.state, SLOCTL, note, finding.severity)
    return replace(
        incident,
        severity=finding.severity,
        summary=finding.reason,
        timeline=(*incident.timeline, line),
        ack_breached=False if incident.acknowledged_at is None else incident.ack_breached,
    )


def observe(incident: Incident, error_ratio: float | None, p95_seconds: float | None) -> Incident:
    """Keep the worst values seen while the incident is open, for the post-mortem."""

    def worse(old: float | None, new: float | None) -> float | None:
        if new is None:
            return old
        return new if old is None else max(old, new)

    return replace(
        incident,
        peak_error_ratio=worse(incident.peak_error_ratio, error_ratio),
        peak_p95_seconds=worse(incident.peak_p95_seconds, p95_seconds),
    )


def follow(
    incident: Incident,
    *,
    healthy: bool | None,
    triggered: bool,
    at: datetime,
    limits: Thresholds,
) -> Incident:
    """The automatic steps of runbook 2.4 for an open incident.

    ``healthy`` is the verification (None when nothing was measured: no step is taken on
    missing data), ``triggered`` whether a severity indicator for its cause holds again.
    """
    if not incident.open:
        return incident
    if healthy is None:  # nothing measured: no step, and the stable period starts over
        return replace(incident, healthy_since=None) if incident.healthy_since else incident
    state = incident.state
    if state is State.MONITORING:
        if triggered:
            return move(incident, State.MITIGATING, at, actor=SLOCTL,
                        note="indicator back above its threshold")  # fmt: skip
        if not healthy:
            return replace(incident, healthy_since=None)
        since = incident.healthy_since or at
        if at - since >= limits.stable_for:
            held = format_duration(int(limits.stable_for.total_seconds()))
            return move(incident, State.RESOLVED, at, actor=SLOCTL,
                        note=f"verification held for {held} (runbook 2.4)")  # fmt: skip
        return replace(incident, healthy_since=since)
    if healthy and not triggered:
        return move(incident, State.MONITORING, at, actor=SLOCTL,
                    note=f"error ratio below {percent(limits.healthy_error_ratio)} and p95 "
                         "within the SLO (runbook 2.4)")  # fmt: skip
    return incident


def percent(ratio: Decimal) -> str:
    """0.001 as "0.1%", exactly."""
    return f"{format((ratio * 100).normalize(), 'f')}%"


class Breach(StrEnum):
    RESPONSE = "response"
    RESOLUTION = "resolution"


def escalation_targets(severity: Severity) -> tuple[str, ...]:
    """Runbook 2.2 escalation decision: P2 and above to the team lead, P1 to everyone."""
    if severity is Severity.P1:
        return ("everyone", "leadership")
    if severity is Severity.P2:
        return ("team lead", "stakeholders")
    return ()


def check_targets(incident: Incident, at: datetime) -> tuple[Incident, list[Breach]]:
    """Missed response or resolution targets, each reported once per incident."""
    breaches: list[Breach] = []
    if not incident.open:
        return incident, breaches
    if incident.acknowledged_at is None and not incident.ack_breached and at > incident.ack_due:
        breaches.append(Breach.RESPONSE)
        incident = replace(incident, ack_breached=True)
    if not incident.resolution_breached and at > incident.resolution_due:
        breaches.append(Breach.RESOLUTION)
        incident = replace(incident, resolution_breached=True)
    return incident, breaches
