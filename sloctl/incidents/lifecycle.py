"""Incident lifecycle (runbook section 2): states, transitions, SLA timers, verification.

detected -> acknowledged -> mitigating -> monitoring -> resolved, with a relapse from
monitoring back to mitigating. Everything here is pure: an :class:`Incident` is a frozen value,
and every change returns a new one with the transition added to its timeline.

Hysteresis: an incident opens when a severity indicator holds (:mod:`sloctl.incidents.policy`),
moves to monitoring only when the runbook's 2.4 verification holds on the current signals (errors
below 0.1 %, p95 within the SLO), and resolves only after that has held for the stable period. A
signal flapping around the trigger threshold therefore keeps one incident open instead of
opening and resolving many.

An incident is an interruption of service, not one symptom of it: its :class:`Symptom` values
say which services showed which causes (errors, latency), in the order they appeared. It also
keeps the times an SRE asks for: the impact window (first and last bad reading), declared,
acknowledged, restored (entering monitoring, where the resolution target is judged) and resolved.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from sloctl.core.durations import format_duration
from sloctl.core.severity import LEVELS, Severity
from sloctl.errors import TransitionError
from sloctl.incidents.policy import Cause, Finding, Thresholds, rank

SLOCTL = "sloctl"
POSTMORTEM_DUE = timedelta(hours=72)
POSTMORTEM_SEVERITIES = frozenset({Severity.P1, Severity.P2})
"""Runbook 2.5: a post-mortem within 72 hours of the resolution, for P1 and P2: the one rule,
used by the incident's dates, the resolution message and the reminders."""


def postmortem_due_after(severity: Severity, resolved_at: datetime) -> datetime | None:
    """When the post-mortem of an incident of ``severity`` resolved at ``resolved_at`` is due;
    None when the runbook asks for none."""
    if severity not in POSTMORTEM_SEVERITIES:
        return None
    return resolved_at + POSTMORTEM_DUE


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


@dataclass(frozen=True)
class Reading:
    """What one service's signals were when sloctl took a step (kept on the timeline)."""

    service: str
    error_ratio: float | None = None
    p95_seconds: float | None = None
    latency_threshold: float | None = None
    burning: bool = False
    latency_burning: bool = False


@dataclass(frozen=True)
class Transition:
    """One line of an incident's timeline."""

    at: datetime
    from_state: State | None
    to_state: State
    actor: str
    note: str
    severity: Severity
    readings: tuple[Reading, ...] = ()
    """The signals sloctl read when it took this step; empty for a person's step."""


@dataclass(frozen=True)
class Symptom:
    """One service showing one cause, as part of an incident."""

    service: str
    cause: Cause


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
    symptoms: tuple[Symptom, ...] = ()
    """Every (service, cause) the incident has shown, the declaring one first."""
    impact_started_at: datetime | None = None
    """The first bad reading of the trouble (signals failing verification), when measured."""
    impact_ended_at: datetime | None = None
    """The last bad reading so far."""
    restored_at: datetime | None = None
    """When the incident last entered monitoring (service restored, being verified)."""
    suppressed_by: str = ""
    """The maintenance window its service was in when it was declared (nothing paged); empty
    for an incident declared outside any (see :mod:`sloctl.incidents.maintenance`)."""
    unsuppressed_at: datetime | None = None
    """When a suppressed incident, still open at its window's end, was announced after all."""

    def __post_init__(self) -> None:
        if not self.symptoms:
            object.__setattr__(self, "symptoms", (Symptom(self.service, self.cause),))

    @property
    def open(self) -> bool:
        return self.state is not State.RESOLVED

    @property
    def suppressed(self) -> bool:
        """Declared in a maintenance window and not announced (yet)."""
        return bool(self.suppressed_by) and self.unsuppressed_at is None

    @property
    def causes(self) -> tuple[Cause, ...]:
        """The incident's causes, in the order they appeared."""
        return tuple(dict.fromkeys(s.cause for s in self.symptoms))

    @property
    def services(self) -> tuple[str, ...]:
        """The services affected, the declaring one first."""
        return tuple(dict.fromkeys((self.service, *(s.service for s in self.symptoms))))

    def causes_of(self, service: str) -> tuple[Cause, ...]:
        return tuple(s.cause for s in self.symptoms if s.service == service)

    @property
    def declared_at(self) -> datetime:
        return self.detected_at

    @property
    def time_to_detect(self) -> timedelta | None:
        """From the first bad reading to the declaration."""
        if self.impact_started_at is None:
            return None
        return max(timedelta(0), self.detected_at - self.impact_started_at)

    @property
    def time_to_acknowledge(self) -> timedelta | None:
        if self.acknowledged_at is None:
            return None
        return self.acknowledged_at - self.detected_at

    @property
    def time_to_restore(self) -> timedelta | None:
        """From the first bad reading (else the declaration) to the restoration."""
        if self.restored_at is None:
            return None
        return self.restored_at - (self.impact_started_at or self.detected_at)

    @property
    def impact(self) -> timedelta | None:
        """The impact window: first to last bad reading."""
        if self.impact_started_at is None or self.impact_ended_at is None:
            return None
        return self.impact_ended_at - self.impact_started_at

    @property
    def resolution_met(self) -> bool | None:
        """Whether it was restored within the resolution target; None while not restored."""
        if self.restored_at is None:
            return None
        return self.restored_at <= self.resolution_due

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
        if self.resolved_at is None:
            return None
        return postmortem_due_after(self.severity, self.resolved_at)


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
    impact_started_at: datetime | None = None,
    readings: tuple[Reading, ...] = (),
) -> Incident:
    """A new incident, detected now; its impact started at ``impact_started_at`` if known."""
    first = Transition(at, None, State.DETECTED, actor, finding.reason, finding.severity, readings)
    bad = impact_started_at is not None
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
        symptoms=(Symptom(service, finding.cause),),
        impact_started_at=impact_started_at,
        impact_ended_at=at if bad else None,
    )


def move(
    incident: Incident,
    to: State,
    at: datetime,
    *,
    actor: str,
    note: str = "",
    readings: tuple[Reading, ...] = (),
) -> Incident:
    """``incident`` in state ``to``; raises TransitionError where the runbook has no such step."""
    if to not in ALLOWED[incident.state]:
        raise TransitionError(
            f"{incident.id} is {incident.state.value}; it cannot become {to.value}"
        )
    line = Transition(at, incident.state, to, actor, note, incident.severity, readings)
    changes: dict[str, object] = {"state": to, "timeline": (*incident.timeline, line)}
    if to is State.ACKNOWLEDGED or (incident.acknowledged_at is None and actor != SLOCTL):
        changes["acknowledged_at"] = incident.acknowledged_at or at
    if to is State.RESOLVED:
        changes["resolved_at"] = at
        changes["restored_at"] = incident.restored_at or at
    if to is State.MONITORING:
        changes["healthy_since"] = at
        changes["restored_at"] = at
    if to is State.MITIGATING:
        changes["healthy_since"] = None
        changes["restored_at"] = None
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


def escalate(
    incident: Incident, finding: Finding, at: datetime, readings: tuple[Reading, ...] = ()
) -> Incident:
    """Raise the severity when a higher one is reached; a severity is never lowered."""
    if rank(finding.severity) <= rank(incident.severity):
        return incident
    note = f"escalated from {incident.severity.value} to {finding.severity.value}: {finding.reason}"
    line = Transition(at, incident.state, incident.state, SLOCTL, note, finding.severity, readings)
    return replace(
        incident,
        severity=finding.severity,
        summary=finding.reason,
        timeline=(*incident.timeline, line),
        ack_breached=False if incident.acknowledged_at is None else incident.ack_breached,
    )


def join(
    incident: Incident,
    symptom: Symptom,
    finding: Finding,
    at: datetime,
    *,
    impact_started_at: datetime | None = None,
    readings: tuple[Reading, ...] = (),
) -> Incident:
    """A new symptom (a cause, or a dependent service's trouble) becomes part of ``incident``.

    It is written on the timeline; its impact may start earlier than the incident's.
    """
    if symptom in incident.symptoms:
        return incident
    if symptom.service == incident.service or symptom.service in incident.services:
        note = f"{symptom.service} {symptom.cause.value} joined: {finding.reason}"
    else:
        note = f"{symptom.service} affected ({symptom.cause.value}): {finding.reason}"
    line = Transition(at, incident.state, incident.state, SLOCTL, note, incident.severity, readings)
    starts = [t for t in (incident.impact_started_at, impact_started_at) if t is not None]
    return replace(
        incident,
        symptoms=(*incident.symptoms, symptom),
        timeline=(*incident.timeline, line),
        impact_started_at=min(starts) if starts else None,
    )


def impacted(incident: Incident, at: datetime) -> Incident:
    """A bad reading at ``at``: the impact window reaches it."""
    if incident.impact_ended_at is not None and incident.impact_ended_at >= at:
        return incident
    return replace(
        incident,
        impact_started_at=incident.impact_started_at or at,
        impact_ended_at=at,
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
    readings: tuple[Reading, ...] = (),
) -> Incident:
    """The automatic steps of runbook 2.4 for an open incident.

    ``healthy`` is the verification on the current signals (None when nothing was measured:
    no step is taken on missing data), ``triggered`` whether a severity indicator holds again
    while the signals fail verification.
    """
    if not incident.open:
        return incident
    if healthy is None:  # nothing measured: no step, and the stable period starts over
        return replace(incident, healthy_since=None) if incident.healthy_since else incident
    state = incident.state
    if state is State.MONITORING:
        if triggered:
            return move(
                incident,
                State.MITIGATING,
                at,
                actor=SLOCTL,
                note="indicator back above its threshold",
                readings=readings,
            )
        if not healthy:
            return replace(incident, healthy_since=None)
        since = incident.healthy_since or at
        if at - since >= limits.stable_for:
            held = format_duration(int(limits.stable_for.total_seconds()))
            return move(
                incident,
                State.RESOLVED,
                at,
                actor=SLOCTL,
                note=f"verification held for {held} (runbook 2.4)",
                readings=readings,
            )
        return replace(incident, healthy_since=since)
    if healthy and not triggered:
        return move(
            incident,
            State.MONITORING,
            at,
            actor=SLOCTL,
            note=f"error ratio below {percent(limits.healthy_error_ratio)} and p95 "
            "within the SLO (runbook 2.4)",
            readings=readings,
        )
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
    restored = incident.restored_at is not None
    if not incident.resolution_breached and not restored and at > incident.resolution_due:
        # Runbook 1.2's resolution target is judged at restoration: verification then takes
        # its stable period without counting against the responders.
        breaches.append(Breach.RESOLUTION)
        incident = replace(incident, resolution_breached=True)
    return incident, breaches
