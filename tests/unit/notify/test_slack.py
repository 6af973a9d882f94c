"""Slack: the runbook's templates per event kind."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from sloctl.core.severity import Severity
from sloctl.incidents.events import EventKind
from sloctl.incidents.lifecycle import State
from sloctl.notify.message import IncidentEvent
from sloctl.notify.slack import SlackSink
from tests.unit.notify.examples import HOOK_PATH, LIFECYCLE, START, event


def slack_text(ev: IncidentEvent) -> str:
    [request] = SlackSink("https://hooks.example.com" + HOOK_PATH).requests_for(ev)
    assert request.method == "POST"
    assert request.url == "https://hooks.example.com" + HOOK_PATH
    assert isinstance(request.body, dict)
    text = request.body["text"]
    assert isinstance(text, str)
    return text


def test_slack_declaration_is_the_runbook_initial_notification() -> None:
    assert slack_text(event(EventKind.DECLARED)) == "\n".join(
        [
            ":rotating_light: INCIDENT DECLARED",
            "",
            "Severity: P1",
            "Service(s): api",
            "Impact: 62.0% of requests failing",
            "Reason: error ratio above 50% (complete service outage)",
            "Status: Investigating",
            "",
            "Incident Commander: @sloctl",
            "Incident Channel: #incident-inc-0007",
            "",
            "Next update in 15 minutes.",
        ]
    )


@pytest.mark.parametrize(
    ("ev", "present", "absent"),
    [
        pytest.param(
            LIFECYCLE[1],
            [
                ":rotating_light: INCIDENT ESCALATED",
                "Severity: P1",
                "Status: Investigating",
                "Escalation: everyone, leadership",
                "Reason: escalated from P3 to P1",
                "Incident Channel: #incident-inc-0007",
                "Next update in 15 minutes.",
            ],
            ["INCIDENT DECLARED"],
            id="escalated-names-targets",
        ),
        pytest.param(
            LIFECYCLE[2],
            [
                ":yellow_circle: INCIDENT UPDATE",
                "Severity: P1",
                "Service(s): api",
                "Status: Investigating",
                "Acknowledged by @alice",
                "Current Actions:",
                "Next update in 15 minutes.",
            ],
            [":rotating_light:", "Escalation:"],
            id="acknowledged",
        ),
        pytest.param(
            LIFECYCLE[3],
            ["Status: Mitigating", "Update: rolled back deploy 42", "- Mitigating the impact"],
            ["Acknowledged by"],
            id="mitigating-note-is-the-update",
        ),
        pytest.param(
            LIFECYCLE[4],
            ["Status: Monitoring", "Update: error rate below 0.1% and latency within SLO"],
            [],
            id="monitoring-summary-is-the-update",
        ),
        pytest.param(
            LIFECYCLE[5],
            [
                ":large_green_circle: INCIDENT RESOLVED",
                "Severity: P1",
                "Service(s): api",
                "Duration: 1 hour 12 minutes",
                "Status: Resolved",
                "Resolution: verification held for 15 minutes",
                "Post-mortem scheduled for no later than 2026-11-05 10:12 UTC (within 72 hours).",
                "Full timeline will be shared in #incidents.",
            ],
            ["not required", "Next update"],
            id="resolved-p1-needs-postmortem",
        ),
        pytest.param(
            replace(LIFECYCLE[5], severity=Severity.P2),
            ["Post-mortem scheduled for no later than"],
            ["not required"],
            id="resolved-p2-needs-postmortem",
        ),
        pytest.param(
            replace(LIFECYCLE[5], severity=Severity.P3),
            ["Post-mortem not required (P3)."],
            ["scheduled"],
            id="resolved-p3-no-postmortem",
        ),
        pytest.param(
            replace(
                LIFECYCLE[5],
                severity=Severity.P4,
                resolved_at=None,
                at=START + timedelta(days=1, hours=2, minutes=3),
            ),
            ["Duration: 1 day 2 hours 3 minutes", "Post-mortem not required (P4)."],
            [],
            id="resolved-without-resolved-at-uses-event-time",
        ),
        pytest.param(
            event(EventKind.DECLARED, actor=""),
            ["Incident Commander: @unassigned"],
            [],
            id="no-actor-is-unassigned",
        ),
        pytest.param(
            event(EventKind.UPDATED, note="<!channel> look at <https://x|this> & that"),
            ["Update: &lt;!channel&gt; look at &lt;https://x|this&gt; &amp; that"],
            ["<!channel>"],
            id="free-text-cannot-ping-the-channel",
        ),
    ],
)
def test_slack_text_per_event(ev: IncidentEvent, present: list[str], absent: list[str]) -> None:
    text = slack_text(ev)
    for line in present:
        assert line in text
    for line in absent:
        assert line not in text


def test_every_affected_service_and_cause_is_named() -> None:
    declared = event(EventKind.DECLARED, service="database", services=("database", "api"))
    assert "Service(s): database, api" in SlackSink.text(declared)
    resolved = event(
        EventKind.RESOLVED,
        state=State.RESOLVED,
        resolved_at=START + timedelta(minutes=30),
        causes=("errors", "latency"),
    )
    assert "(elevated error ratio, high latency)" in SlackSink.text(resolved)
    assert "Service(s): api" in SlackSink.text(resolved)  # no list: the service alone


# --- roles and cadence ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "line"),
    [
        pytest.param({}, "Incident Commander: @sloctl", id="automatic-nobody-named"),
        pytest.param({"actor": "alice"}, "Incident Commander: @alice", id="declared-by-hand"),
        pytest.param(
            {"actor": "alice", "commander": "@ann"}, "Incident Commander: @ann", id="from-schedule"
        ),
        pytest.param(
            {"commander": "@<!channel>"}, "Incident Commander: @&lt;!channel&gt;", id="escaped"
        ),
    ],
)
def test_the_commander_line(changes: dict[str, Any], line: str) -> None:
    assert line in slack_text(event(EventKind.DECLARED, **changes)).splitlines()


@pytest.mark.parametrize(
    ("severity", "line"),
    [
        ("P1", "Next update in 15 minutes."),
        ("P2", "Next update in 15 minutes."),
        ("P3", "Next update in 60 minutes."),
        ("P4", "Next update when the status changes."),
    ],
)
def test_the_next_update_is_the_severitys_cadence(severity: str, line: str) -> None:
    for kind in (EventKind.DECLARED, EventKind.UPDATED):
        assert slack_text(event(kind, severity=Severity(severity))).splitlines()[-1] == line


def test_a_status_update_with_its_status_and_actions() -> None:
    text = slack_text(
        event(
            EventKind.UPDATED,
            state=State.MITIGATING,
            status="monitoring",
            note="rolled back v1.4.2",
            actions=("watching error ratio", "scaling db pool"),
        )
    )
    assert text.splitlines()[5:13] == [
        "Status: Monitoring",
        "",
        "Update: rolled back v1.4.2",
        "",
        "Current Actions:",
        "- watching error ratio",
        "- scaling db pool",
        "",
    ]


def test_the_assignment_and_the_reminders() -> None:
    assigned = event(EventKind.ASSIGNED, role="communications-lead", who="@lee", actor="@ann")
    assert slack_text(assigned) == "\n".join(
        [
            ":busts_in_silhouette: INCIDENT ROLE ASSIGNED",
            "",
            "Severity: P1",
            "Service(s): api",
            "Status: Investigating",
            "",
            "Communications Lead: @lee (assigned by @ann)",
            "Incident Channel: #incident-inc-0007",
        ]
    )
    due = START + timedelta(minutes=15)
    update = event(EventKind.REMINDER, role="update", who="@ann", due_at=due)
    assert slack_text(update).splitlines()[0] == ":alarm_clock: INCIDENT UPDATE OVERDUE"
    assert (
        "@ann: the status update of INC-0007 was due at 2026-11-02 09:15 UTC (runbook 3.2)."
        in slack_text(update)
    )
    postmortem = event(EventKind.REMINDER, role="postmortem", who="@ann", due_at=due)
    assert "@ann: the post-mortem of INC-0007 is due by 2026-11-02 09:15 UTC (runbook 2.5)." in (
        slack_text(postmortem)
    )


@pytest.mark.parametrize("actor", ["alice", "@alice"])
def test_an_acknowledgement_names_a_handle_once(actor: str) -> None:
    text = slack_text(event(EventKind.ACKNOWLEDGED, state=State.ACKNOWLEDGED, actor=actor))
    assert "- Acknowledged by @alice" in text.splitlines()
