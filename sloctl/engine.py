"""The incident engine: policy, lifecycle and timers applied to one service's signals.

Shared by the daemon and by ``sloctl backtest``, so that a backtest is a faithful rehearsal:
both call :func:`decide` with the same policy and the same kind of signals. Pure: no clock,
no store, no network; the caller persists the result and sends the events.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from sloctl.conditions import assess, track
from sloctl.incidents import (
    Breach,
    Incident,
    State,
    check_targets,
    declare,
    escalate,
    escalation_targets,
    follow,
    observe,
)
from sloctl.notifications import EventKind
from sloctl.policy import METRIC_CAUSES, Cause, Held, Policy, Signals, healthy


@dataclass(frozen=True)
class Event:
    """Something worth telling people about one incident."""

    kind: EventKind
    incident: Incident
    at: datetime
    escalate_to: tuple[str, ...] = ()
    note: str = ""


@dataclass
class Outcome:
    held: dict[str, Held] = field(default_factory=dict)
    changed: list[Incident] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)


def breach_events(incident: Incident, breaches: list[Breach], at: datetime) -> list[Event]:
    """Runbook 2.2 escalation for each missed target."""
    return [
        Event(
            EventKind.ESCALATED, incident, at,
            escalation_targets(incident.severity) or ("on-call",),
            f"not {'acknowledged' if b is Breach.RESPONSE else 'resolved'} within the "
            f"{incident.severity.value} {b.value} target",
        )
        for b in breaches
    ]  # fmt: skip


def decide(
    policy: Policy,
    service: str,
    signals: Signals,
    held: Held,
    open_incidents: Mapping[Cause, Incident],
    new_id: Callable[[], str],
) -> tuple[Held, list[Incident], list[Event]]:
    """One evaluation of one service: how long conditions have held, and what changed.

    Returns the new ``held``, every incident that changed (new ones included) and the events
    to announce, in order.
    """
    limits = policy.for_service(service)
    held = track(held, signals, limits)
    findings = assess(held, signals.at, limits)
    changed: list[Incident] = []
    events: list[Event] = []
    for cause in METRIC_CAUSES:
        incident = open_incidents.get(cause)
        finding = findings.get(cause)
        if incident is None:
            if finding is None:
                continue
            incident = declare(
                new_id(), service, finding, signals.at,
                error_ratio=signals.error_ratio, p95_seconds=signals.p95_seconds,
            )  # fmt: skip
            changed.append(incident)
            events.append(
                Event(
                    EventKind.DECLARED, incident, signals.at, escalation_targets(finding.severity)
                )
            )
            continue
        before = incident
        incident = observe(incident, signals.error_ratio, signals.p95_seconds)
        if finding is not None:
            raised = escalate(incident, finding, signals.at)
            if raised.severity is not incident.severity:
                events.append(
                    Event(EventKind.ESCALATED, raised, signals.at,
                          escalation_targets(raised.severity), finding.reason)
                )  # fmt: skip
            incident = raised
        state = incident.state
        if incident.manual:
            # A person declared it for a reason metrics may not show: only a person ends it.
            incident, breaches = check_targets(incident, signals.at)
            events.extend(breach_events(incident, breaches, signals.at))
            if incident != before:
                changed.append(incident)
            continue
        incident = follow(
            incident,
            healthy=healthy(signals, limits, cause),
            triggered=finding is not None,
            at=signals.at,
            limits=limits,
        )
        if incident.state is not state:
            kind = EventKind.RESOLVED if incident.state is State.RESOLVED else EventKind.UPDATED
            events.append(Event(kind, incident, signals.at, note=incident.timeline[-1].note))
        incident, breaches = check_targets(incident, signals.at)
        events.extend(breach_events(incident, breaches, signals.at))
        if incident != before:
            changed.append(incident)
    return held, changed, events
