"""Per-day uptime of each service, from the incidents sloctl itself followed.

Pure: the incidents, the first time the store recorded anything and ``now`` come in.

**Downtime.** An incident keeps its services down from its impact start (its first bad
reading; the declaration when nothing measured it) until it is restored (it enters
monitoring) or resolved, whichever comes first; a relapse (monitoring back to mitigating)
starts another stretch, and an incident still open is down until ``now``. Over each stretch
its services have the component status of its severity at that moment
(:data:`sloctl.incidents.public_status.COMPONENT_OF`; an escalation changes it from the
escalation on). An incident declared in a maintenance window and never announced does not
count; one announced after its window counts from then.

**Weighting** (:data:`DOWNTIME_WEIGHT`), as Statuspage's uptime showcase describes it
(help.statuspage.io/help/uptime-calendar, "How it works": a day's and a period's uptime come
from the minutes the component spent in major outage, counted in full, and in partial outage,
counted in part), with the part that Instatus, a Statuspage-compatible service, documents for
its own uptime bars (instatus.com/help/status-page/uptime-colors: downtime is the major outage
time plus 0.3 times the partial outage time; degraded performance does not affect uptime);
maintenance is not downtime. Where
several incidents cover the same moment the worst counts, once, so overlapping incidents are
never counted twice.

**Days** are cut at UTC midnight. A day before the store's first record is "no data" (None),
never 100 %; the day of the first record counts from that record, and today up to ``now``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise

from sloctl.core.severity import Severity
from sloctl.incidents.lifecycle import Incident, State
from sloctl.incidents.public_status import COMPONENT_OF, ComponentStatus, Reported

DAYS = 90
DOWNTIME_WEIGHT: Mapping[ComponentStatus, float] = {
    ComponentStatus.MAJOR_OUTAGE: 1.0,
    ComponentStatus.PARTIAL_OUTAGE: 0.3,
    ComponentStatus.DEGRADED_PERFORMANCE: 0.0,
    ComponentStatus.UNDER_MAINTENANCE: 0.0,
    ComponentStatus.OPERATIONAL: 0.0,
}
DAY = timedelta(days=1)


@dataclass(frozen=True)
class Outage:
    """One stretch of one incident on one service, with the status it gave the service."""

    service: str
    start: datetime
    end: datetime
    status: ComponentStatus
    incident: str
    """Which incident (its id: the caller turns it into a public name)."""

    @property
    def weight(self) -> float:
        return DOWNTIME_WEIGHT[self.status]


@dataclass(frozen=True)
class Day:
    day: date
    uptime: float | None
    """The share of the day (of its recorded part) the service was up; None: no data."""
    downtime_seconds: float
    """Weighted seconds down (a partial outage's at 30 %)."""
    observed_seconds: float
    incidents: tuple[str, ...]
    """The incidents that touched the service that day, in order of start."""


def down_stretches(incident: Incident, now: datetime) -> list[tuple[datetime, datetime]]:
    """When ``incident`` kept its services down (see the module), in order."""
    start = incident.impact_started_at or incident.detected_at
    if incident.suppressed_by:
        if incident.unsuppressed_at is None:
            return []
        start = max(start, incident.unsuppressed_at)
    stretches: list[tuple[datetime, datetime]] = []
    since: datetime | None = start
    for line in incident.timeline:
        if line.from_state is line.to_state:
            continue
        if line.to_state in (State.MONITORING, State.RESOLVED):
            if since is not None and line.at > since:
                stretches.append((since, line.at))
            since = None
        elif line.from_state is State.MONITORING and line.to_state is State.MITIGATING:
            since = max(line.at, start)
    if since is not None and incident.open and now > since:
        stretches.append((since, now))
    return stretches


def _severity_at(incident: Incident, moment: datetime) -> Severity:
    severity = incident.timeline[0].severity if incident.timeline else incident.severity
    for line in incident.timeline:
        if line.at > moment:
            break
        severity = line.severity
    return severity


def outages(reported: Reported, now: datetime) -> list[Outage]:
    """Every stretch of ``reported`` on each service it affects, split where its severity
    changed."""
    incident = reported.incident
    lines = incident.timeline
    changes = sorted({b.at for a, b in pairwise(lines) if b.severity is not a.severity})
    found: list[Outage] = []
    for start, end in down_stretches(incident, now):
        cuts = [start, *(at for at in changes if start < at < end), end]
        for low, high in pairwise(cuts):
            status = COMPONENT_OF[_severity_at(incident, low)]
            for service in reported.services:
                found.append(Outage(service, low, high, status, incident.id))
    return found


def _weighted(outages: Sequence[Outage], since: datetime, until: datetime) -> float:
    """Seconds down within ``[since, until)``, the worst outage counting at each moment."""
    inside = [o for o in outages if o.start < until and o.end > since and o.weight > 0]
    if not inside:
        return 0.0
    edges = sorted(
        {since, until, *(max(o.start, since) for o in inside), *(min(o.end, until) for o in inside)}
    )
    total = 0.0
    for low, high in pairwise(edges):
        covering = [o.weight for o in inside if o.start <= low and o.end >= high]
        if covering:
            total += max(covering) * (high - low).total_seconds()
    return total


def daily_uptime(
    service: str,
    outages_of: Iterable[Outage],
    first_record: datetime | None,
    now: datetime,
    days: int = DAYS,
) -> list[Day]:
    """The last ``days`` UTC days of ``service`` up to today, oldest first."""
    mine = sorted((o for o in outages_of if o.service == service), key=lambda o: o.start)
    today = now.astimezone(UTC).date()
    found: list[Day] = []
    for back in range(days - 1, -1, -1):
        day = today - timedelta(days=back)
        day_start = datetime.combine(day, time(0), UTC)
        day_end = min(day_start + DAY, now)
        touched = tuple(
            dict.fromkeys(
                o.incident for o in mine if o.start < day_start + DAY and o.end > day_start
            )
        )
        if first_record is None or first_record >= day_end:
            found.append(Day(day, None, 0.0, 0.0, touched))
            continue
        since = max(day_start, first_record)
        observed = (day_end - since).total_seconds()
        down = _weighted(mine, since, day_end)
        uptime = 1.0 if observed <= 0 else max(0.0, 1.0 - down / observed)
        found.append(Day(day, uptime, down, observed, touched))
    return found


def period_uptime(days: Iterable[Day]) -> float | None:
    """The uptime over ``days`` (their recorded parts); None when none has data."""
    measured = [d for d in days if d.uptime is not None]
    observed = sum(d.observed_seconds for d in measured)
    if not measured or observed <= 0:
        return None
    return max(0.0, 1.0 - sum(d.downtime_seconds for d in measured) / observed)


def grade(day: Day) -> str:
    """The bar's colour class: ``none`` (no data), ``up``, ``degraded`` (incidents but no
    downtime), ``minor`` (up to 1 % down), ``partial`` (up to 5 %), ``major``."""
    if day.uptime is None:
        return "none"
    down = 1.0 - day.uptime
    if down <= 0:
        return "degraded" if day.incidents else "up"
    if down <= 0.01:
        return "minor"
    if down <= 0.05:
        return "partial"
    return "major"
