"""Post-mortem drafts: the runbook's 2.5 template filled in from a stored incident, and the
rule for when a post-mortem is reminded (the 72-hour due date itself is
:func:`sloctl.incidents.lifecycle.postmortem_due_after`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sloctl.core.changes import Change
from sloctl.core.durations import spoken_duration
from sloctl.incidents.lifecycle import Incident, State
from sloctl.incidents.roles import Assignment, Role, holders

POSTMORTEM_REMINDER = "postmortem"
"""The kind of a post-mortem reminder (as stored)."""
REMIND_BEFORE = timedelta(hours=24)
"""A post-mortem not marked done is reminded once, a day before it is due."""


def reminder_at(incident: Incident) -> datetime | None:
    """When ``incident``'s post-mortem is reminded; None when none is due."""
    due = incident.postmortem_due
    return None if due is None else due - REMIND_BEFORE


def postmortem_pending(incident: Incident, done: Mapping[str, object]) -> bool:
    """Whether ``incident`` owes a post-mortem not yet marked done (``done``: by id)."""
    return incident.postmortem_due is not None and incident.id not in done


@dataclass(frozen=True)
class SloImpact:
    """One SLO over the impact window: its events and the budget they cost."""

    slo: str
    total: float | None
    bad: float | None
    budget_percent: float | None
    slices: bool = False
    """A timeslice SLO: ``total`` and ``bad`` count slices, not requests."""


@dataclass(frozen=True)
class Sent:
    """One notification about the incident, as the outbox has it."""

    at: datetime
    sink: str
    kind: str
    status: str
    attempts: int


@dataclass(frozen=True)
class ChangeLine:
    """A change (deploy, config, ...) recorded before the incident: the hook where change
    events are listed in the draft."""

    at: datetime
    service: str
    text: str


@dataclass(frozen=True)
class DraftContext:
    """What the store and Prometheus know beyond the incident itself."""

    slos: tuple[SloImpact, ...] = ()
    assignments: tuple[Assignment, ...] = ()
    sent: tuple[Sent, ...] = ()
    changes: tuple[ChangeLine, ...] = ()
    changes_known: bool = False
    """Whether change events were looked for (False: nothing records them yet)."""


PLACEHOLDER = "_To be written by the incident commander._"


def _clock(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M")


def _event_text(incident: Incident, index: int) -> str:
    line = incident.timeline[index]
    by = "" if line.actor == "sloctl" else f" by {line.actor}"
    if line.from_state is None:
        opened = "Declared" if incident.manual else "Alert triggered"
        what = f"{opened} ({line.severity.value}): {line.note}"
    elif line.from_state is line.to_state:
        what = line.note
    else:
        names = {
            State.ACKNOWLEDGED: "Engineer acknowledged",
            State.MITIGATING: "Mitigation applied",
            State.MONITORING: "Monitoring",
            State.RESOLVED: "Resolved",
        }
        what = names.get(line.to_state, line.to_state.value.capitalize())
        if line.note:
            what += f": {line.note}"
    return " ".join(f"{what}{by}".split()).replace("|", "\\|")


def _span_text(span: timedelta | None) -> str:
    return "unknown" if span is None else spoken_duration(span, units=2)


def duration_of(incident: Incident, now: datetime) -> str:
    """The impact window (first to last bad reading) where it was measured; else declared to
    restored (or resolved, or now)."""
    ongoing = "" if incident.resolved_at else " (still open)"
    if incident.impact is not None and incident.impact_started_at is not None:
        return (
            f"{spoken_duration(incident.impact, units=2)} of impact, "
            f"{_clock(incident.impact_started_at)} "
            f"to {_clock(incident.impact_ended_at or now)} UTC (first to last bad reading)"
            f"{ongoing}"
        )
    end = incident.restored_at or incident.resolved_at or now
    return f"{spoken_duration(end - incident.detected_at, units=2)}{ongoing}"


def _count(value: float) -> str:
    return f"{round(value):,}"


def requests_text(slos: tuple[SloImpact, ...]) -> str | None:
    """Failed requests over the incident, per service, from the request SLOs' counts (a
    service's SLOs count the same requests, so the one that counted most speaks for it; the
    services are listed apart, since one user's request may pass through several)."""
    counted = [s for s in slos if not s.slices and s.total is not None and s.bad is not None]
    if not counted:
        return None
    by_service: dict[str, SloImpact] = {}
    for one in counted:
        service = one.slo.partition("/")[0]
        kept = by_service.get(service)
        if kept is None or (one.total or 0.0, one.bad or 0.0) > (
            kept.total or 0.0,
            kept.bad or 0.0,
        ):
            by_service[service] = one
    parts = []
    for one in by_service.values():
        total, bad = one.total or 0.0, one.bad or 0.0
        share = bad / total if total else 0.0
        parts.append(f"{_count(bad)} of {_count(total)} requests failed ({share:.1%}, {one.slo})")
    return (
        "; ".join(parts) + "; these are requests, not users: the metrics do not say how many "
        "distinct users sent them"
    )


def _budget_lines(context: DraftContext) -> list[str]:
    lines = []
    for one in context.slos:
        spent = "unknown" if one.budget_percent is None else f"{one.budget_percent:.1f}%"
        unit = "slices" if one.slices else "requests"
        counted = (
            ""
            if one.total is None or one.bad is None
            else f" ({_count(one.bad)} bad of {_count(one.total)} {unit})"
        )
        lines.append(f"  - {one.slo}: {spent} of its budget{counted}")
    return lines


def _roles_lines(context: DraftContext) -> list[str]:
    current = holders(context.assignments)
    if not current:
        return ["- No roles were assigned."]
    lines = [
        f"- {role.runbook_name}: {held.who} (from {_clock(held.at)} UTC)"
        for role, held in sorted(current.items(), key=lambda item: list(Role).index(item[0]))
    ]
    earlier = [a for a in context.assignments if current.get(a.role) != a]
    lines += [
        f"- Earlier {a.role.runbook_name.lower()}: {a.who} (from {_clock(a.at)} UTC)"
        for a in earlier
    ]
    return lines


def change_line(change: Change) -> ChangeLine:
    """A recorded change event as the draft lists it: ``deploy v1.4.2 by ci``."""
    who = f" by {change.by}" if change.by else ""
    return ChangeLine(change.at, change.service, f"{change.kind} {change.ref}{who}")


def changes_section(context: DraftContext) -> str:
    """The changes before the incident (deploys, config), or why none are listed."""
    if context.changes:
        return "\n".join(
            f"- {_clock(c.at)} UTC {c.service}: {c.text}".replace("|", "\\|")
            for c in sorted(context.changes, key=lambda c: c.at)
        )
    if context.changes_known:
        return "- No change was recorded in the hours before the incident."
    return "- Change events are not recorded by this installation: list deploys by hand."


def _sent_lines(context: DraftContext) -> list[str]:
    if not context.sent:
        return ["- No notification was sent."]
    return [
        f"| {_clock(m.at)} | {m.sink} | {m.kind} | {m.status} | {m.attempts} |"
        for m in sorted(context.sent, key=lambda m: (m.at, m.sink))
    ]


def render(
    incident: Incident,
    budget_consumed_percent: float | None,
    now: datetime,
    context: DraftContext | None = None,
) -> str:
    """Markdown following runbook 2.5; what metrics cannot know is left to be written."""
    context = context or DraftContext()
    impacted = (
        "unknown"
        if incident.peak_error_ratio is None
        else f"up to {incident.peak_error_ratio * 100:.1f}% of requests failed"
    )
    if incident.peak_p95_seconds is not None:
        impacted += f"; p95 latency up to {incident.peak_p95_seconds * 1000:.0f} ms"
    counted = requests_text(context.slos)
    users = impacted if counted is None else f"{counted}; {impacted}"
    consumed = "unknown" if budget_consumed_percent is None else f"{budget_consumed_percent:.1f}%"
    events = [
        (line.at, 1, _event_text(incident, index)) for index, line in enumerate(incident.timeline)
    ]
    if incident.impact_started_at is not None:
        events.append((incident.impact_started_at, 0, "Impact started (first bad reading)"))
    if incident.impact_ended_at is not None and incident.restored_at is not None:
        events.append((incident.impact_ended_at, 0, "Impact ended (last bad reading)"))
    events += [
        (c.at, 0, f"Change: {c.service}: {c.text}".replace("|", "\\|")) for c in context.changes
    ]
    rows = "\n".join(
        f"| {_clock(moment)} | {text} |" for moment, _, text in sorted(events, key=lambda e: e[:2])
    )
    restore = _span_text(incident.time_to_restore)
    per_slo = _budget_lines(context)
    budget_lines = ("  (the worst SLO)\n" + "\n".join(per_slo)) if per_slo else ""
    sent = _sent_lines(context)
    sent_table = (
        "\n".join(sent)
        if not context.sent
        else "\n".join(
            ["| Time (UTC) | Sink | Kind | Status | Attempts |", "|---|---|---|---|---|", *sent]
        )
    )
    met = incident.resolution_met
    target = "" if met is None else f" ({'within' if met else 'past'} the resolution target)"
    return f"""# Incident Post-Mortem: {incident.id}

## Summary
- Date/Time: {_clock(incident.detected_at)} UTC
- Duration: {duration_of(incident, now)}
- Severity: {incident.severity.value}
- Services Affected: {", ".join(incident.services)}
- Causes: {", ".join(c.value for c in incident.causes)}
- Time to detect: {_span_text(incident.time_to_detect)}; to acknowledge: \
{_span_text(incident.time_to_acknowledge)}; to restore: {restore}{target}
- Users Impacted: {users}

## Timeline
| Time (UTC) | Event |
|------------|-------|
{rows}

## Roles
{chr(10).join(_roles_lines(context))}

## Changes Before the Incident
{changes_section(context)}

## Root Cause
{PLACEHOLDER}

## Contributing Factors
1.
2.
3.

## Impact
- Revenue: $X
- Users affected: {users}
- Error budget consumed: {consumed}{budget_lines}

## What Went Well
1.
2.

## What Went Wrong
1.
2.

## Action Items
| ID | Action | Owner | Due Date | Status |
|----|--------|-------|----------|--------|
| 1  |        |       |          |        |

## Lessons Learned
1.
2.

## Notifications Sent
{sent_table}
"""
