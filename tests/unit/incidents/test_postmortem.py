"""Post-mortem drafts against the runbook's 2.5 template."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

import pytest

from sloctl.core.changes import Change
from sloctl.core.severity import Severity
from sloctl.incidents.lifecycle import (
    SLOCTL,
    Incident,
    State,
    Symptom,
    declare,
    escalate,
    impacted,
    join,
    move,
)
from sloctl.incidents.policy import Cause, Finding
from sloctl.incidents.postmortem import (
    ChangeLine,
    DraftContext,
    Sent,
    SloImpact,
    change_line,
    postmortem_pending,
    reminder_at,
    render,
    requests_text,
)
from sloctl.incidents.roles import Assignment, Role

T0 = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
NOW = datetime(2026, 11, 3, 9, 0, tzinfo=UTC)

# Runbook 2.5, "Post-Mortem Template", in order.
HEADINGS = [
    "Summary",
    "Timeline",
    "Root Cause",
    "Contributing Factors",
    "Impact",
    "What Went Well",
    "What Went Wrong",
    "Action Items",
    "Lessons Learned",
]
ADDED = {
    "Timeline": ["Roles", "Changes Before the Incident"],
    "Lessons Learned": ["Notifications Sent"],
}
"""sloctl's sections beside the runbook's: after the heading named."""
UNESCAPED_PIPE = re.compile(r"(?<!\\)\|")
TIME_CELL = re.compile(r"^(?:\d{4}-\d{2}-\d{2} )?(\d{2}:\d{2})$")


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def opened(
    *,
    severity: Severity = Severity.P1,
    error_ratio: float | None = 0.6,
    p95_seconds: float | None = None,
    detected: datetime = T0,
    actor: str = SLOCTL,
    manual: bool = False,
) -> Incident:
    finding = Finding(Cause.ERRORS, severity, "error ratio above 50%")
    return declare(
        "INC-0042",
        "api",
        finding,
        detected,
        actor=actor,
        manual=manual,
        error_ratio=error_ratio,
        p95_seconds=p95_seconds,
    )


def lifecycle(note: str = "rolled back deploy 42") -> Incident:
    """Detected 10:00 as P2, escalated 10:02, acknowledged 10:04, resolved 11:12."""
    incident = opened(severity=Severity.P2)
    incident = escalate(incident, Finding(Cause.ERRORS, Severity.P1, "complete outage"), at(2))
    incident = move(incident, State.ACKNOWLEDGED, at(4), actor="alice", note="paged")
    incident = move(incident, State.MITIGATING, at(10), actor="alice", note=note)
    incident = move(incident, State.MONITORING, at(57), actor=SLOCTL, note="errors below 0.1%")
    return move(incident, State.RESOLVED, at(72), actor=SLOCTL, note="verification held")


def section(text: str, heading: str) -> list[str]:
    """The lines under ``## heading`` up to the next heading."""
    lines = text.splitlines()
    start = lines.index(f"## {heading}") + 1
    end = next((i for i in range(start, len(lines)) if lines[i].startswith("## ")), len(lines))
    return lines[start:end]


def timeline_rows(text: str) -> list[list[str]]:
    """The cells of every row of the timeline table, header and separator left out."""
    table = [line for line in section(text, "Timeline") if line.strip()]
    assert table[0] == "| Time (UTC) | Event |"
    assert table[1].startswith("|---")
    rows = []
    for line in table[2:]:
        assert line.startswith("| "), line
        assert line.endswith(" |"), line
        rows.append([cell.strip() for cell in UNESCAPED_PIPE.split(line)[1:-1]])
    return rows


def field(text: str, name: str) -> str:
    prefix = f"- {name}: "
    (line,) = [line for line in text.splitlines() if line.startswith(prefix)]
    return line.removeprefix(prefix)


# --- the template ----------------------------------------------------------------------------


def test_every_heading_of_the_template_in_order() -> None:
    text = render(lifecycle(), 12.345, NOW)
    assert text.startswith("# Incident Post-Mortem: INC-0042\n")
    lines = text.splitlines()
    positions = [lines.index(f"## {heading}") for heading in HEADINGS]
    assert positions == sorted(positions)
    expected = [name for h in HEADINGS for name in (h, *ADDED.get(h, []))]
    assert [line for line in lines if line.startswith("## ")] == [f"## {h}" for h in expected]


def test_the_summary() -> None:
    text = render(lifecycle(), 12.345, NOW)
    assert field(text, "Date/Time") == "2026-11-02 10:00 UTC"
    assert field(text, "Duration") == "57 minutes"  # no readings: declared to restored
    assert field(text, "Severity") == "P1"  # after the escalation
    assert field(text, "Services Affected") == "api"
    assert field(text, "Causes") == "errors"


def test_the_duration_is_the_impact_window_and_the_times_are_given() -> None:
    """A 20-minute outage read over a 5-minute window: declared a minute in, restored when the
    readings verify again, resolved 15 minutes later; the resolution target is met at
    restoration."""
    finding = Finding(Cause.ERRORS, Severity.P1, "error ratio above 50%")
    incident = declare("INC-0042", "database", finding, at(1), impact_started_at=at(0))
    incident = join(incident, Symptom("api", Cause.ERRORS), finding, at(2))
    incident = impacted(incident, at(24))
    incident = move(incident, State.ACKNOWLEDGED, at(4), actor="alice")
    incident = move(incident, State.MONITORING, at(25), actor=SLOCTL)
    incident = move(incident, State.RESOLVED, at(40), actor=SLOCTL)
    text = render(incident, None, NOW)
    assert field(text, "Duration") == (
        "24 minutes of impact, 2026-11-02 10:00 to 2026-11-02 10:24 UTC (first to last bad reading)"
    )
    assert field(text, "Services Affected") == "database, api"
    assert field(text, "Time to detect") == (
        "1 minute; to acknowledge: 3 minutes; to restore: 25 minutes (within the resolution target)"
    )
    events = [cells[1] for cells in timeline_rows(text)]
    assert events[0] == "Impact started (first bad reading)"
    assert events[1].startswith("Alert triggered (P1)")
    assert "Impact ended (last bad reading)" in events
    assert events[-1].startswith("Resolved")


def test_action_items_table_follows_the_template() -> None:
    lines = section(render(lifecycle(), None, NOW), "Action Items")
    assert "| ID | Action | Owner | Due Date | Status |" in lines


# --- timeline --------------------------------------------------------------------------------


def test_one_timeline_row_per_transition_with_its_time() -> None:
    incident = lifecycle()
    rows = timeline_rows(render(incident, None, NOW))
    assert len(rows) == len(incident.timeline) == 6
    times = []
    for cells in rows:
        assert len(cells) == 2, cells
        match = TIME_CELL.match(cells[0])
        assert match is not None, cells[0]
        times.append(match.group(1))
    assert times == ["10:00", "10:02", "10:04", "10:10", "10:57", "11:12"]
    assert [cells[1] for cells in rows] == [
        "Alert triggered (P2): error ratio above 50%",
        "escalated from P2 to P1: complete outage",
        "Engineer acknowledged: paged by alice",
        "Mitigation applied: rolled back deploy 42 by alice",
        "Monitoring: errors below 0.1%",
        "Resolved: verification held",
    ]


def test_a_declared_incident_says_who_declared_it() -> None:
    incident = opened(actor="bob", manual=True)
    (cells,) = timeline_rows(render(incident, None, NOW))
    assert cells[1] == "Declared (P1): error ratio above 50% by bob"


def test_a_transition_without_a_note() -> None:
    incident = move(opened(), State.ACKNOWLEDGED, at(3), actor="carol")
    rows = timeline_rows(render(incident, None, NOW))
    assert rows[-1][1] == "Engineer acknowledged by carol"


def test_times_are_shown_in_utc() -> None:
    paris = timezone(timedelta(hours=1))
    incident = opened(detected=datetime(2026, 11, 2, 11, 30, tzinfo=paris))
    text = render(incident, None, NOW)
    assert field(text, "Date/Time") == "2026-11-02 10:30 UTC"
    (cells,) = timeline_rows(text)
    match = TIME_CELL.match(cells[0])
    assert match is not None
    assert match.group(1) == "10:30"


@pytest.mark.parametrize(
    "note",
    [
        pytest.param("rolled back | restarted", id="one-pipe"),
        pytest.param("|a|b|", id="pipes-at-the-edges"),
        pytest.param("a||b", id="two-pipes"),
    ],
)
def test_a_pipe_in_a_note_does_not_break_the_table(note: str) -> None:
    incident = lifecycle(note=note)
    rows = timeline_rows(render(incident, None, NOW))
    assert len(rows) == len(incident.timeline)
    assert all(len(cells) == 2 for cells in rows)
    escaped = note.replace("|", "\\|")
    assert rows[3][1] == f"Mitigation applied: {escaped} by alice"


def test_a_pipe_in_a_name_does_not_break_the_table() -> None:
    incident = move(opened(), State.ACKNOWLEDGED, at(3), actor="a|b")
    rows = timeline_rows(render(incident, None, NOW))
    assert [len(cells) for cells in rows] == [2, 2]


def test_a_newline_in_a_note_does_not_break_the_table() -> None:
    incident = lifecycle(note="rolled back\nthen restarted")
    rows = timeline_rows(render(incident, None, NOW))
    assert len(rows) == len(incident.timeline)


# --- impact ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("consumed", "shown"),
    [
        pytest.param(12.345, "12.3%", id="one-decimal"),
        pytest.param(0.0, "0.0%", id="none-consumed"),
        pytest.param(100.0, "100.0%", id="all-consumed"),
        pytest.param(250.04, "250.0%", id="overspent"),
        pytest.param(None, "unknown", id="unknown"),
    ],
)
def test_error_budget_consumed(consumed: float | None, shown: str) -> None:
    text = render(lifecycle(), consumed, NOW)
    assert field(text, "Error budget consumed") == shown


@pytest.mark.parametrize(
    ("error_ratio", "p95_seconds", "impacted"),
    [
        pytest.param(0.6, None, "up to 60.0% of requests failed", id="errors"),
        pytest.param(0.0123, None, "up to 1.2% of requests failed", id="small-share"),
        pytest.param(1.0, None, "up to 100.0% of requests failed", id="all"),
        pytest.param(
            0.2,
            0.8,
            "up to 20.0% of requests failed; p95 latency up to 800 ms",
            id="errors-and-latency",
        ),
        pytest.param(None, None, "unknown", id="unknown"),
    ],
)
def test_users_impacted_from_the_peak_error_ratio(
    error_ratio: float | None, p95_seconds: float | None, impacted: str
) -> None:
    text = render(opened(error_ratio=error_ratio, p95_seconds=p95_seconds), None, NOW)
    assert field(text, "Users Impacted").startswith(impacted)
    assert field(text, "Users affected") == impacted


# --- duration --------------------------------------------------------------------------------


def test_an_open_incident_is_still_open() -> None:
    incident = move(opened(), State.MITIGATING, at(10), actor="alice")
    text = render(incident, None, at(45))
    assert field(text, "Duration") == "45 minutes (still open)"


def test_a_resolved_incident_is_not_still_open() -> None:
    text = render(lifecycle(), None, NOW)
    assert "(still open)" not in text
    assert field(text, "Duration") == "57 minutes"  # to restoration, not to NOW


# --- what the store and Prometheus add ---------------------------------------------------------


CONTEXT = DraftContext(
    slos=(
        SloImpact("api/availability", 120_000.0, 4_800.0, 11.1),
        SloImpact("api/latency", 120_000.0, 900.0, None),
        SloImpact("api/minutes", 60.0, 12.0, 2.0, slices=True),
    ),
    assignments=(
        Assignment("INC-0042", Role.COMMANDER, "@ann", at(1), "schedule:primary"),
        Assignment("INC-0042", Role.SCRIBE, "@cat", at(6), "@ann"),
        Assignment("INC-0042", Role.COMMANDER, "@ben", at(30), "@ann"),
    ),
    sent=(
        Sent(at(0), "slack", "declared", "delivered", 1),
        Sent(at(0), "pagerduty", "declared", "delivered", 2),
        Sent(at(31), "slack", "assigned", "failed", 1),
    ),
)


def test_budget_per_slo_and_requests_not_users() -> None:
    text = render(lifecycle(), 11.1, NOW, CONTEXT)
    assert field(text, "Users affected").startswith(
        "4,800 of 120,000 requests failed (4.0%, api/availability); these are requests, not "
        "users: the metrics do not say how many distinct users sent them"
    )
    impact = section(text, "Impact")
    assert "- Error budget consumed: 11.1%  (the worst SLO)" in impact
    assert "  - api/availability: 11.1% of its budget (4,800 bad of 120,000 requests)" in impact
    assert "  - api/latency: unknown of its budget (900 bad of 120,000 requests)" in impact
    assert "  - api/minutes: 2.0% of its budget (12 bad of 60 slices)" in impact


def test_roles_current_and_earlier() -> None:
    assert section(render(lifecycle(), None, NOW, CONTEXT), "Roles")[:4] == [
        "- Incident Commander: @ben (from 2026-11-02 10:30 UTC)",
        "- Scribe: @cat (from 2026-11-02 10:06 UTC)",
        "- Earlier incident commander: @ann (from 2026-11-02 10:01 UTC)",
        "",
    ]
    assert section(render(lifecycle(), None, NOW), "Roles")[0] == "- No roles were assigned."


def test_every_notification_sent_in_time_order() -> None:
    lines = [
        line
        for line in section(render(lifecycle(), None, NOW, CONTEXT), "Notifications Sent")
        if line
    ]
    assert lines[0] == "| Time (UTC) | Sink | Kind | Status | Attempts |"
    rows = [[cell.strip() for cell in line.split("|")[1:-1]] for line in lines[2:]]
    assert rows == [
        ["2026-11-02 10:00", "pagerduty", "declared", "delivered", "2"],
        ["2026-11-02 10:00", "slack", "declared", "delivered", "1"],
        ["2026-11-02 10:31", "slack", "assigned", "failed", "1"],
    ]


@pytest.mark.parametrize(
    ("changes", "known", "first"),
    [
        pytest.param(
            (),
            False,
            "- Change events are not recorded by this installation: list deploys by hand.",
            id="not-recorded",
        ),
        pytest.param(
            (), True, "- No change was recorded in the hours before the incident.", id="none"
        ),
        pytest.param(
            (
                ChangeLine(at(-30), "api", "deploy v1.4.2 by ci"),
                ChangeLine(at(-90), "db", "config max_connections | 200"),
            ),
            True,
            "- 2026-11-02 08:30 UTC db: config max_connections \\| 200",
            id="listed-oldest-first",
        ),
    ],
)
def test_the_changes_hook(changes: tuple[ChangeLine, ...], known: bool, first: str) -> None:
    context = DraftContext(changes=changes, changes_known=known)
    lines = section(render(lifecycle(), None, NOW, context), "Changes Before the Incident")
    assert lines[0] == first
    assert len([line for line in lines if line.startswith("- ")]) == max(1, len(changes))


@pytest.mark.parametrize(
    ("severity", "resolved", "done", "reminded", "pending"),
    [
        (Severity.P1, True, False, datetime(2026, 11, 4, 11, 12, tzinfo=UTC), True),
        (Severity.P2, True, True, datetime(2026, 11, 4, 11, 12, tzinfo=UTC), False),
        (Severity.P3, True, False, None, False),
        (Severity.P1, False, False, None, False),
    ],
)
def test_post_mortems_pending_and_reminded_a_day_before_due(
    severity: Severity, resolved: bool, done: bool, reminded: datetime | None, pending: bool
) -> None:
    incident = opened(severity=severity)
    if resolved:
        incident = move(incident, State.RESOLVED, at(72), actor="alice")
    assert reminder_at(incident) == reminded
    assert postmortem_pending(incident, {"INC-0042": 1} if done else {}) is pending


def test_requests_per_service_the_largest_count_of_each() -> None:
    slos = (
        SloImpact("api/availability", 1_000.0, 10.0, 1.0),
        SloImpact("api/latency", 900.0, 50.0, 1.0),
        SloImpact("database/availability", 5_000.0, 500.0, 1.0),
        SloImpact("database/minutes", 60.0, 30.0, 1.0, slices=True),
    )
    assert requests_text(slos) == (
        "10 of 1,000 requests failed (1.0%, api/availability); "
        "500 of 5,000 requests failed (10.0%, database/availability); "
        "these are requests, not users: the metrics do not say how many distinct users sent them"
    )
    assert requests_text((SloImpact("api/minutes", 60.0, 3.0, 1.0, slices=True),)) is None


def test_changes_are_on_the_timeline_and_in_their_own_section() -> None:
    incident = declare("INC-0007", "api", Finding(Cause.ERRORS, Severity.P1, "errors"), T0)
    deploy = Change("api", "deploy", "v1.4.2", T0 - timedelta(minutes=20), by="ci")
    pool = Change("database", "config", "pool=50|max", T0 + timedelta(minutes=3))
    context = DraftContext(changes=(change_line(deploy), change_line(pool)), changes_known=True)
    text = render(incident, None, T0 + timedelta(hours=1), context)
    rows = [line for line in text.splitlines() if line.startswith("| 2026")]
    assert rows[0] == "| 2026-11-02 09:40 | Change: api: deploy v1.4.2 by ci |"
    assert rows[-1] == "| 2026-11-02 10:03 | Change: database: config pool=50\\|max |"
    assert section(text, "Changes Before the Incident")[:2] == [
        "- 2026-11-02 09:40 UTC api: deploy v1.4.2 by ci",
        "- 2026-11-02 10:03 UTC database: config pool=50\\|max",
    ]
