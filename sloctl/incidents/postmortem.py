"""Post-mortem drafts: the runbook's 2.5 template filled in from a stored incident."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sloctl.core.changes import Change
from sloctl.incidents.lifecycle import Incident, State

PLACEHOLDER = "_To be written by the incident commander._"


def duration_text(span: timedelta) -> str:
    """``1 hour 12 minutes``, ``45 minutes``, ``2 days 3 hours``."""
    minutes = int(span.total_seconds() // 60)
    days, rest = divmod(minutes, 1440)
    hours, minutes = divmod(rest, 60)
    parts = []
    for count, unit in ((days, "day"), (hours, "hour"), (minutes, "minute")):
        if count:
            parts.append(f"{count} {unit}{'s' if count != 1 else ''}")
    return " ".join(parts[:2]) or "less than a minute"


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
    return "unknown" if span is None else duration_text(span)


def duration_of(incident: Incident, now: datetime) -> str:
    """The impact window (first to last bad reading) where it was measured; else declared to
    restored (or resolved, or now)."""
    ongoing = "" if incident.resolved_at else " (still open)"
    if incident.impact is not None and incident.impact_started_at is not None:
        return (
            f"{duration_text(incident.impact)} of impact, {_clock(incident.impact_started_at)} "
            f"to {_clock(incident.impact_ended_at or now)} UTC (first to last bad reading)"
            f"{ongoing}"
        )
    end = incident.restored_at or incident.resolved_at or now
    return f"{duration_text(end - incident.detected_at)}{ongoing}"


def change_rows(changes: Sequence[Change]) -> list[tuple[datetime, int, str]]:
    """Timeline rows for the changes made before and during the incident (runbook 2.2 "What
    changed recently?"), as :func:`changes_section` lists them."""
    return [(c.at, 0, f"Change: {_change_text(c)}") for c in changes]


def _change_text(change: Change) -> str:
    who = f" by {change.by}" if change.by else ""
    return f"{change.kind} {change.ref} of {change.service}{who}".replace("|", "\\|")


def changes_section(changes: Sequence[Change]) -> str:
    """``## Changes``: every change of the affected services and their dependencies from the
    hours before the impact to the resolution, oldest first (nothing when none was recorded:
    the runbook's template has no such section)."""
    if not changes:
        return ""
    lines = [f"- {_clock(c.at)} UTC: {_change_text(c)}" for c in changes]
    return "## Changes\n" + "\n".join(lines) + "\n"


def render(
    incident: Incident,
    budget_consumed_percent: float | None,
    now: datetime,
    changes: Sequence[Change] = (),
) -> str:
    """Markdown following runbook 2.5; what metrics cannot know is left to be written."""
    impacted = (
        "unknown"
        if incident.peak_error_ratio is None
        else f"up to {incident.peak_error_ratio * 100:.1f}% of requests failed"
    )
    if incident.peak_p95_seconds is not None:
        impacted += f"; p95 latency up to {incident.peak_p95_seconds * 1000:.0f} ms"
    consumed = "unknown" if budget_consumed_percent is None else f"{budget_consumed_percent:.1f}%"
    events = [
        (line.at, 1, _event_text(incident, index)) for index, line in enumerate(incident.timeline)
    ]
    if incident.impact_started_at is not None:
        events.append((incident.impact_started_at, 0, "Impact started (first bad reading)"))
    if incident.impact_ended_at is not None and incident.restored_at is not None:
        events.append((incident.impact_ended_at, 0, "Impact ended (last bad reading)"))
    events += change_rows(changes)
    rows = "\n".join(
        f"| {_clock(moment)} | {text} |" for moment, _, text in sorted(events, key=lambda e: e[:2])
    )
    restore = _span_text(incident.time_to_restore)
    changed = changes_section(changes) + "\n" if changes else ""
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
- Users Impacted: {impacted} (share of failed requests)

## Timeline
| Time (UTC) | Event |
|------------|-------|
{rows}

{changed}## Root Cause
{PLACEHOLDER}

## Contributing Factors
1.
2.
3.

## Impact
- Revenue: $X
- Users affected: {impacted}
- Error budget consumed: {consumed}

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
"""
