"""The incident engine: policy, lifecycle and timers applied to every service's signals.

Shared by the daemon and by ``sloctl backtest``, so that a backtest is a faithful rehearsal:
both call :func:`decide` with the same policy and the same kind of signals. Pure: no clock,
no store, no network; the caller persists the result and sends the events.

One evaluation covers every service at one instant:

- a service has at most one open automatic incident; a new symptom (errors, latency) joins
  it, on its timeline, and may raise its severity;
- a service whose dependency (``dependsOn``) is part of an open incident joins that incident
  instead of paging again ("Services affected: database, api"); services are judged
  dependencies first, so a database and its clients failing at the same step are one incident;
- incidents declared by hand stay their own: metrics only join one that is about errors or
  latency, and never end it;
- verification (runbook 2.4) reads the current signals of every affected service; a paging
  burn-rate pair still firing on past errors while the current signals verify is not trouble.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from sloctl.incidents.conditions import severity_findings, track
from sloctl.incidents.events import Event, EventKind
from sloctl.incidents.lifecycle import (
    Breach,
    Incident,
    Reading,
    State,
    Symptom,
    check_targets,
    declare,
    escalate,
    escalation_targets,
    follow,
    impacted,
    join,
    observe,
)
from sloctl.incidents.policy import (
    METRIC_CAUSES,
    Cause,
    Finding,
    Held,
    Policy,
    ServiceSignals,
    healthy,
    rank,
)


@dataclass(frozen=True)
class Tracked:
    """What the engine remembers about one service between evaluations."""

    held: Held = field(default_factory=dict)
    """Since when each severity condition has held."""
    bad_since: Mapping[Cause, datetime] = field(default_factory=dict)
    """For each cause failing verification, the first reading of the current run of bad ones
    (where an incident's impact starts)."""


QUIET = Tracked()
"""A service with no condition holding and no bad reading (shared: it is never changed)."""


@dataclass(frozen=True)
class Assessment:
    """One service at one instant, as the engine judges it (``sloctl backtest --explain``)."""

    service: str
    signals: ServiceSignals
    tracked: Tracked
    checks: Mapping[Cause, bool | None]
    """Runbook 2.4 verification of each cause on the current signals (None: not measured)."""
    findings: Mapping[Cause, Finding]
    """The severity each cause reaches; none for a cause whose current signals verify (a
    burn-rate pair still firing on errors that have stopped is no trouble)."""

    @property
    def verdict(self) -> bool | None:
        """The service as a whole: every measured cause normal, one not, or nothing measured."""
        known = [value for value in self.checks.values() if value is not None]
        return None if not known else all(known)

    def bad(self, causes: tuple[Cause, ...]) -> bool:
        """Whether one of ``causes`` fails verification at this reading."""
        return any(self.checks.get(cause) is False for cause in causes)

    @property
    def worst(self) -> Finding | None:
        if not self.findings:
            return None
        return max(self.findings.values(), key=lambda f: rank(f.severity))


@dataclass
class Decision:
    """What :func:`decide` made of one instant: the new tracking, the incidents changed, the
    events to announce and each service's assessment."""

    tracked: dict[str, Tracked] = field(default_factory=dict)
    changed: list[Incident] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    assessments: dict[str, Assessment] = field(default_factory=dict)


def breach_events(incident: Incident, breaches: list[Breach], at: datetime) -> list[Event]:
    """Runbook 2.2 escalation for each missed target."""
    return [
        Event(
            EventKind.ESCALATED,
            incident,
            at,
            escalation_targets(incident.severity) or ("on-call",),
            f"not {'acknowledged' if b is Breach.RESPONSE else 'restored'} within the "
            f"{incident.severity.value} {b.value} target",
        )
        for b in breaches
    ]


def reading(service: str, signals: ServiceSignals) -> Reading:
    threshold = signals.latency_threshold
    return Reading(
        service,
        signals.error_ratio,
        signals.p95_seconds,
        None if threshold is None else float(threshold),
        signals.burning,
        signals.latency_burning,
    )


@dataclass
class _Readings:
    """Each service's :class:`Reading`, made when a timeline line needs it."""

    signals: Mapping[str, ServiceSignals]
    made: dict[str, Reading] = field(default_factory=dict)

    def __getitem__(self, service: str) -> Reading:
        if service not in self.made:
            self.made[service] = reading(service, self.signals[service])
        return self.made[service]


def assess_service(
    policy: Policy, service: str, signals: ServiceSignals, before: Tracked
) -> Assessment:
    """How long conditions have held, whether the current signals verify, what they reach."""
    limits = policy.for_service(service)
    held = track(before.held, signals, limits)
    checks = {cause: healthy(signals, limits, cause) for cause in METRIC_CAUSES}
    bad_since = {
        cause: before.bad_since.get(cause, signals.at)
        for cause, check in checks.items()
        if check is False or (check is None and cause in before.bad_since)
    }
    if not held and not bad_since:  # the usual case: all is well, nothing to remember
        return Assessment(service, signals, QUIET, checks, {})
    found = severity_findings(held, signals.at, limits) if held else {}
    findings = {cause: f for cause, f in found.items() if checks.get(cause) is not True}
    return Assessment(service, signals, Tracked(held, bad_since), checks, findings)


def dependency_order(services: Sequence[str], depends_on: Mapping[str, Sequence[str]]) -> list[str]:
    """``services`` with every dependency before its dependents (definitions forbid cycles)."""
    if not depends_on:
        return sorted(services)
    key = tuple((name, tuple(depends_on[name])) for name in sorted(depends_on))
    return list(_ordered(tuple(sorted(services)), key))


@functools.lru_cache(maxsize=256)
def _ordered(
    services: tuple[str, ...], depends: tuple[tuple[str, tuple[str, ...]], ...]
) -> tuple[str, ...]:
    """Asked at every evaluation with the same services: remembered."""
    depends_on = dict(depends)
    ordered: list[str] = []
    seen: set[str] = set()
    wanted = set(services)

    def visit(name: str, path: frozenset[str]) -> None:
        if name in seen or name in path:
            return
        for dependency in depends_on.get(name, ()):
            visit(dependency, path | {name})
        seen.add(name)
        if name in wanted:
            ordered.append(name)

    for name in services:
        visit(name, frozenset())
    return tuple(ordered)


def _home(service: str, incidents: Mapping[str, Incident]) -> Incident | None:
    """The open incident ``service``'s trouble belongs to: an automatic one listing it, else
    one a person declared for it about errors or latency."""
    for incident in incidents.values():
        if not incident.manual and service in incident.services:
            return incident
    for incident in incidents.values():
        if incident.manual and incident.service == service and incident.cause in METRIC_CAUSES:
            return incident
    return None


def _host(
    service: str, incidents: Mapping[str, Incident], depends_on: Mapping[str, Sequence[str]]
) -> Incident | None:
    """The open automatic incident of a dependency of ``service``, if there is one."""
    for dependency in depends_on.get(service, ()):
        home = _home(dependency, incidents)
        if home is not None and not home.manual:
            return home
    return None


def decide(
    policy: Policy,
    signals: Mapping[str, ServiceSignals],
    tracked: Mapping[str, Tracked],
    open_incidents: Sequence[Incident],
    new_id: Callable[[], str],
    depends_on: Mapping[str, Sequence[str]] | None = None,
) -> Decision:
    """One evaluation of every measured service at one instant.

    ``signals`` holds the services that could be read (all at the same ``at``); ``tracked``
    what :func:`decide` returned last time; ``open_incidents`` every open incident. Returns
    the new tracking of the measured services, every incident that changed (new ones
    included) and the events to announce, in order.
    """
    depends = depends_on or {}
    outcome = Decision()
    followed = {
        i.id: i for i in open_incidents if i.open and (not i.manual or i.cause in METRIC_CAUSES)
    }
    before = dict(followed)
    readings = _Readings(signals)
    declared_now: set[str] = set()  # what joins these at once is in their one page
    for service in dependency_order(list(signals), depends):
        measured = signals[service]
        at = measured.at
        assessment = assess_service(policy, service, measured, tracked.get(service, QUIET))
        outcome.tracked[service] = assessment.tracked
        outcome.assessments[service] = assessment
        home = _home(service, followed) if followed else None
        worst = assessment.worst
        if worst is not None:
            causes = [worst.cause, *(c for c in METRIC_CAUSES if c in assessment.findings)]
            if home is None:
                home = _host(service, followed, depends)
            if home is None:
                home = declare(
                    new_id(),
                    service,
                    worst,
                    at,
                    error_ratio=measured.error_ratio,
                    p95_seconds=measured.p95_seconds,
                    impact_started_at=assessment.tracked.bad_since.get(worst.cause),
                    readings=(readings[service],),
                )
                declared_now.add(home.id)
                outcome.events.append(
                    Event(EventKind.DECLARED, home, at, escalation_targets(home.severity))
                )
            for cause in causes:
                joined = join(
                    home,
                    Symptom(service, cause),
                    assessment.findings[cause],
                    at,
                    impact_started_at=assessment.tracked.bad_since.get(cause),
                    readings=(readings[service],),
                )
                if joined is not home and joined.id not in declared_now:
                    outcome.events.append(
                        Event(EventKind.UPDATED, joined, at, note=joined.timeline[-1].note)
                    )
                home = joined
            raised = escalate(home, worst, at, (readings[service],))
            if raised.severity is not home.severity:
                outcome.events.append(
                    Event(
                        EventKind.ESCALATED,
                        raised,
                        at,
                        escalation_targets(raised.severity),
                        worst.reason,
                    )
                )
            home = raised
        if home is not None:
            home = observe(home, measured.error_ratio, measured.p95_seconds)
            if assessment.bad(home.causes_of(service)):
                home = impacted(home, at)
            followed[home.id] = home
    moments = {measured.at for measured in signals.values()}
    for incident_id, current in list(followed.items()) if len(moments) == 1 else ():
        at = next(iter(moments))
        verified_one = (
            current
            if current.manual
            else _verify(policy, current, outcome.assessments, readings, at, outcome)
        )
        checked, breaches = check_targets(verified_one, at)
        outcome.events.extend(breach_events(checked, breaches, at))
        followed[incident_id] = checked
    outcome.changed = [i for key, i in followed.items() if before.get(key) != i]
    outcome.events = [_as_declared(e, followed, declared_now) for e in outcome.events]
    outcome.events = [  # a severity raised at the declaring step is in its one page
        e
        for e in outcome.events
        if not (e.kind is EventKind.ESCALATED and e.incident.id in declared_now)
    ]
    return outcome


def _as_declared(event: Event, followed: Mapping[str, Incident], declared: set[str]) -> Event:
    """An incident declared at this step is announced once, as it stands after the step:
    with the services and causes that joined it at once, at the severity they raised it to."""
    if event.kind is not EventKind.DECLARED or event.incident.id not in declared:
        return event
    final = followed.get(event.incident.id, event.incident)
    return replace(event, incident=final, escalate_to=escalation_targets(final.severity))


def _verify(
    policy: Policy,
    incident: Incident,
    assessments: Mapping[str, Assessment],
    readings: _Readings,
    at: datetime,
    outcome: Decision,
) -> Incident:
    """Runbook 2.4 over every symptom of the incident (each affected service's causes):
    monitoring, resolution, relapse."""
    verdicts: list[bool | None] = []
    triggered = False
    for service in incident.services:
        assessment = assessments.get(service)
        if assessment is None:
            verdicts.append(None)  # not read this time: no step on missing data
            continue
        causes = incident.causes_of(service)
        verdicts.extend(assessment.checks.get(cause) for cause in causes)
        triggered = triggered or any(
            cause in assessment.findings and assessment.checks.get(cause) is False
            for cause in causes
        )
    healthy: bool | None
    if any(v is False for v in verdicts):
        healthy = False
    elif any(v is None for v in verdicts):
        healthy = None
    else:
        healthy = True
    state = incident.state
    incident = follow(
        incident,
        healthy=healthy,
        triggered=triggered,
        at=at,
        limits=policy.for_service(incident.service),
        readings=tuple(readings[s] for s in incident.services if s in readings.signals),
    )
    if incident.state is not state:
        kind = EventKind.RESOLVED if incident.state is State.RESOLVED else EventKind.UPDATED
        outcome.events.append(Event(kind, incident, at, note=incident.timeline[-1].note))
    return incident
