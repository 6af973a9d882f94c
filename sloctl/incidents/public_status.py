"""What the public status page says: each service's component status, the page's overall
indicator, and each incident's public status and updates, in Atlassian Statuspage's vocabulary.

Pure: incidents, what was said about them and the maintenance windows come in, ``now`` too.

One mapping, from the runbook's severities (1.1) to Statuspage's component statuses and
incident impacts (:data:`COMPONENT_OF`, :data:`IMPACT_OF`):

======== ===================== ========
severity component status      impact
======== ===================== ========
P1       major_outage          critical
P2       partial_outage        major
P3       degraded_performance  minor
P4       operational           none
======== ===================== ========

A service's status is the worst of what holds for it now (:data:`WORST_LAST`): every open
incident naming it (its own services, and those its public summary names) counts with its
severity until it is restored (monitoring: the fix is in and being verified, and Statuspage's
convention is to set the component back to operational then); an incident declared in a
maintenance window and not announced (``suppressed``) does not count; a service in a
maintenance window now is ``under_maintenance`` unless an incident makes it worse than that.

The page's indicator follows the worst component (major_outage -> critical, partial_outage ->
major, degraded_performance -> minor, otherwise none) and the worst open incident's impact,
whichever is higher; its description is the one Statuspage's own pages use for it
(:data:`DESCRIPTIONS`; maintenance alone reads "Service Under Maintenance" with indicator
none, the four indicators being the documented ones).

An incident's public status (investigating, identified, monitoring, resolved) follows what
was said last: a change of state (detected or acknowledged -> investigating, mitigating ->
identified, monitoring -> monitoring) or a 3.2 update (investigating, mitigating ->
identified, monitoring), whichever is later; a resolved incident is resolved.

Nothing internal becomes public here: an incident's public updates are the 3.2 update texts,
its public summaries and fixed sentences for each change of state, never its timeline notes
(which hold thresholds and measured values), its actors or its roles.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sloctl.core.maintenance import MaintenanceWindow, in_maintenance
from sloctl.core.severity import Severity
from sloctl.incidents.cadence import Status, StatusUpdate
from sloctl.incidents.lifecycle import Incident, State
from sloctl.incidents.policy import Cause
from sloctl.incidents.public_summary import PublicSummary


class ComponentStatus(StrEnum):
    OPERATIONAL = "operational"
    UNDER_MAINTENANCE = "under_maintenance"
    DEGRADED_PERFORMANCE = "degraded_performance"
    PARTIAL_OUTAGE = "partial_outage"
    MAJOR_OUTAGE = "major_outage"

    @property
    def label(self) -> str:
        """``Partial outage``: as a person reads it."""
        return self.value.replace("_", " ").capitalize()


WORST_LAST = tuple(ComponentStatus)
"""Component statuses from best to worst: the worst that holds wins."""


class Indicator(StrEnum):
    """The page's overall ``status.indicator``."""

    NONE = "none"
    MINOR = "minor"
    MAJOR = "major"
    CRITICAL = "critical"


class IncidentStatus(StrEnum):
    INVESTIGATING = "investigating"
    IDENTIFIED = "identified"
    MONITORING = "monitoring"
    RESOLVED = "resolved"


COMPONENT_OF: Mapping[Severity, ComponentStatus] = {
    Severity.P1: ComponentStatus.MAJOR_OUTAGE,
    Severity.P2: ComponentStatus.PARTIAL_OUTAGE,
    Severity.P3: ComponentStatus.DEGRADED_PERFORMANCE,
    Severity.P4: ComponentStatus.OPERATIONAL,
}
INDICATOR_OF: Mapping[ComponentStatus, Indicator] = {
    ComponentStatus.OPERATIONAL: Indicator.NONE,
    ComponentStatus.UNDER_MAINTENANCE: Indicator.NONE,
    ComponentStatus.DEGRADED_PERFORMANCE: Indicator.MINOR,
    ComponentStatus.PARTIAL_OUTAGE: Indicator.MAJOR,
    ComponentStatus.MAJOR_OUTAGE: Indicator.CRITICAL,
}
IMPACT_OF: Mapping[Severity, Indicator] = {
    severity: INDICATOR_OF[status] for severity, status in COMPONENT_OF.items()
}
"""An incident's impact: the indicator of the component status its severity gives."""
INDICATORS = tuple(Indicator)
DESCRIPTIONS: Mapping[Indicator, str] = {
    Indicator.NONE: "All Systems Operational",
    Indicator.MINOR: "Partially Degraded Service",
    Indicator.MAJOR: "Partial System Outage",
    Indicator.CRITICAL: "Major System Outage",
}
UNDER_MAINTENANCE = "Service Under Maintenance"

STATUS_OF_STATE: Mapping[State, IncidentStatus] = {
    State.DETECTED: IncidentStatus.INVESTIGATING,
    State.ACKNOWLEDGED: IncidentStatus.INVESTIGATING,
    State.MITIGATING: IncidentStatus.IDENTIFIED,
    State.MONITORING: IncidentStatus.MONITORING,
    State.RESOLVED: IncidentStatus.RESOLVED,
}
STATUS_OF_UPDATE: Mapping[Status, IncidentStatus] = {
    Status.INVESTIGATING: IncidentStatus.INVESTIGATING,
    Status.MITIGATING: IncidentStatus.IDENTIFIED,
    Status.MONITORING: IncidentStatus.MONITORING,
}

STATE_SENTENCES: Mapping[IncidentStatus, str] = {
    IncidentStatus.INVESTIGATING: "We are investigating a problem with {names}.",
    IncidentStatus.IDENTIFIED: "The cause has been identified and a fix is being applied.",
    IncidentStatus.MONITORING: "A fix has been applied and {names} is recovering; "
    "we are monitoring the results.",
    IncidentStatus.RESOLVED: "This incident has been resolved.",
}
"""The public update written for each change of an incident's state (no internal detail)."""
RELAPSE_SENTENCE = "The problem has come back; we are working on it."

CAUSE_TITLES: Mapping[Cause, str] = {
    Cause.ERRORS: "Elevated error rates on {names}",
    Cause.LATENCY: "Slow responses from {names}",
}
DISRUPTION_TITLE = "Service disruption affecting {names}"


@dataclass(frozen=True)
class Reported:
    """An incident with what was said about it: its 3.2 updates and its public summaries
    (oldest first)."""

    incident: Incident
    updates: tuple[StatusUpdate, ...] = ()
    summaries: tuple[PublicSummary, ...] = ()

    @property
    def services(self) -> tuple[str, ...]:
        """The services it affects: its own, then those its latest public summary names."""
        named = self.summaries[-1].services if self.summaries else ()
        return tuple(dict.fromkeys((*self.incident.services, *named)))

    @property
    def summary(self) -> str:
        """The public summary in force (empty: none was set)."""
        return self.summaries[-1].text if self.summaries else ""


@dataclass(frozen=True)
class PublicUpdate:
    at: datetime
    status: IncidentStatus
    body: str


@dataclass(frozen=True)
class PageStatus:
    indicator: Indicator
    description: str


def worst(statuses: Iterable[ComponentStatus]) -> ComponentStatus:
    return max(statuses, key=WORST_LAST.index, default=ComponentStatus.OPERATIONAL)


def counts_now(incident: Incident) -> bool:
    """Whether ``incident`` sets its services' status now: open, announced (not suppressed by
    a maintenance window) and not yet restored."""
    return incident.open and not incident.suppressed and incident.state is not State.MONITORING


def component_statuses(
    services: Sequence[str],
    reported: Iterable[Reported],
    windows: Sequence[MaintenanceWindow],
    now: datetime,
) -> dict[str, ComponentStatus]:
    """Each of ``services``'s status at ``now``, in the order given."""
    found: dict[str, list[ComponentStatus]] = {service: [] for service in services}
    for item in reported:
        if not counts_now(item.incident):
            continue
        for service in item.services:
            if service in found:
                found[service].append(COMPONENT_OF[item.incident.severity])
    for service in services:
        if in_maintenance(windows, service, now) is not None:
            found[service].append(ComponentStatus.UNDER_MAINTENANCE)
    return {service: worst(found[service]) for service in services}


def page_status(
    statuses: Iterable[ComponentStatus], reported: Iterable[Reported] = ()
) -> PageStatus:
    """The page's indicator and description: the worst component's, or the worst open
    incident's impact when that is higher."""
    statuses = tuple(statuses)
    levels = [INDICATOR_OF[status] for status in statuses]
    levels += [IMPACT_OF[r.incident.severity] for r in reported if counts_now(r.incident)]
    indicator = max(levels, key=INDICATORS.index, default=Indicator.NONE)
    if indicator is Indicator.NONE and ComponentStatus.UNDER_MAINTENANCE in statuses:
        return PageStatus(indicator, UNDER_MAINTENANCE)
    return PageStatus(indicator, DESCRIPTIONS[indicator])


def impact(incident: Incident) -> Indicator:
    return IMPACT_OF[incident.severity]


def names_of(services: Iterable[str], public_names: Mapping[str, str]) -> str:
    """``API and Sign-in``: the services' public names (a service's own name without one)."""
    names = [public_names.get(service, service) for service in services]
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


def incident_name(reported: Reported, public_names: Mapping[str, str]) -> str:
    """A public title from the incident's first cause and the services it affects."""
    template = CAUSE_TITLES.get(reported.incident.cause, DISRUPTION_TITLE)
    return template.format(names=names_of(reported.services, public_names))


def public_updates(reported: Reported, public_names: Mapping[str, str]) -> list[PublicUpdate]:
    """What the public is told about the incident, oldest first: a fixed sentence for each
    change of state, each 3.2 update's text and each public summary (with the status in force
    then). A change of state made by a 3.2 update is told by that update's text."""
    names = names_of(reported.services, public_names)
    told_at = {update.at for update in reported.updates}
    lines: list[PublicUpdate] = []
    for line in reported.incident.timeline:
        if line.from_state is line.to_state or line.to_state is State.ACKNOWLEDGED:
            continue
        if line.at in told_at:
            continue
        status = STATUS_OF_STATE[line.to_state]
        if line.from_state is State.MONITORING and line.to_state is State.MITIGATING:
            body = RELAPSE_SENTENCE
        else:
            body = STATE_SENTENCES[status].format(names=names)
        lines.append(PublicUpdate(line.at, status, body))
    for update in reported.updates:
        lines.append(PublicUpdate(update.at, STATUS_OF_UPDATE[update.status], update.text))
    lines.sort(key=lambda told: told.at)
    for summary in reported.summaries:
        before = [told.status for told in lines if told.at <= summary.at]
        status = before[-1] if before else IncidentStatus.INVESTIGATING
        lines.append(PublicUpdate(summary.at, status, summary.text))
    lines.sort(key=lambda told: told.at)
    if not reported.incident.open and (
        not lines or lines[-1].status is not IncidentStatus.RESOLVED
    ):
        at = reported.incident.resolved_at or reported.incident.detected_at
        lines.append(
            PublicUpdate(at, IncidentStatus.RESOLVED, STATE_SENTENCES[IncidentStatus.RESOLVED])
        )
    return lines


def incident_status(reported: Reported) -> IncidentStatus:
    """The incident's public status: resolved, or what was said last (see the module)."""
    if not reported.incident.open:
        return IncidentStatus.RESOLVED
    told = public_updates(reported, {})
    return told[-1].status if told else STATUS_OF_STATE[reported.incident.state]


def status_changed_at(reported: Reported, status: IncidentStatus) -> datetime | None:
    """When the incident first went to ``status`` publicly (``monitoring_at``), if it did."""
    return next((told.at for told in public_updates(reported, {}) if told.status is status), None)
