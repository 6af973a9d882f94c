"""Slack: a Slack-compatible incoming webhook, with the runbook's section 3 templates
(3.1 initial notification, 3.2 status update, 3.3 resolution)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sloctl.core.durations import spoken_duration
from sloctl.incidents.cadence import next_update_text
from sloctl.incidents.events import EventKind
from sloctl.incidents.lifecycle import State, postmortem_due_after
from sloctl.incidents.roles import Role
from sloctl.notify.message import IncidentEvent
from sloctl.notify.send import HEADERS, Outcome, Request

SLACK_REFUSALS = frozenset(
    {
        "invalid_token",
        "invalid_auth",
        "token_revoked",
        "token_expired",
        "account_inactive",
        "no_service",
        "no_service_id",
        "no_team",
        "team_disabled",
        "channel_not_found",
        "channel_is_archived",
        "action_prohibited",
        "posting_to_general_channel_denied",
        "user_not_found",
        "invalid_payload",
        "no_text",
        "missing_text_or_fallback_or_attachments",
    }
)
"""Slack webhook errors that will not go away by themselves (https://api.slack.com/messaging/webhooks#handling_errors)."""


STATUS_WORD: dict[State, str] = {
    State.DETECTED: "Investigating",
    State.ACKNOWLEDGED: "Investigating",
    State.MITIGATING: "Mitigating",
    State.MONITORING: "Monitoring",
    State.RESOLVED: "Resolved",
}
CURRENT_ACTION: dict[State, str] = {
    State.DETECTED: "Investigating the cause",
    State.ACKNOWLEDGED: "Investigating the cause",
    State.MITIGATING: "Mitigating the impact",
    State.MONITORING: "Verifying recovery before resolving (runbook 2.4)",
    State.RESOLVED: "None: the incident is resolved",
}
CAUSE_WORDS = {"errors": "elevated error ratio", "latency": "high latency"}


def _slack(text: str) -> str:
    """Text with Slack's three control characters escaped, so nobody's note can ping @channel."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _clock(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


class SlackSink:
    """A Slack-compatible incoming webhook: ``{"text": ...}`` with the runbook's templates.

    - DECLARED and ESCALATED: 3.1 "Initial Notification" (headed INCIDENT ESCALATED on
      escalation), with a ``Reason:`` line (the summary, or the escalation note) and an
      ``Escalation:`` line naming ``escalate_to`` when there is anyone to name.
    - UPDATED and ACKNOWLEDGED: 3.2 "Status Update"; ``Update:`` is the note, else the summary.
    - RESOLVED: 3.3 "Resolution Notification", with the duration from ``started_at`` to
      ``resolved_at`` and the post-mortem due within 72 hours for P1/P2.
    """

    name = "slack"

    def __init__(self, webhook_url: str) -> None:
        self._url = webhook_url

    def __repr__(self) -> str:
        return "SlackSink(webhook_url=[redacted])"

    def requests_for(self, event: IncidentEvent) -> list[Request]:
        return [Request("POST", self._url, {"text": self.text(event)}, HEADERS, slack_answer)]

    @staticmethod
    def text(event: IncidentEvent) -> str:
        if event.kind in (EventKind.DECLARED, EventKind.ESCALATED):
            return _initial(event)
        if event.kind is EventKind.RESOLVED:
            return _resolution(event)
        if event.kind is EventKind.ASSIGNED:
            return assignment_text(event)
        if event.kind is EventKind.REMINDER:
            return reminder_text(event)
        return _status_update(event)


def _initial(event: IncidentEvent) -> str:
    escalated = event.kind is EventKind.ESCALATED
    heading = "INCIDENT ESCALATED" if escalated else "INCIDENT DECLARED"
    status = STATUS_WORD[event.state] if escalated else "Investigating"
    reason = (event.note or event.summary) if escalated else event.summary
    lines = [
        f":rotating_light: {heading}",
        "",
        f"Severity: {event.severity}",
        f"Service(s): {_slack(event.affected)}",
        f"Impact: {_slack(event.impact)}",
        f"Reason: {_slack(reason)}",
        f"Status: {status}",
    ]
    if event.escalate_to:
        lines.append(f"Escalation: {_slack(', '.join(event.escalate_to))}")
    if event.changes and not escalated:
        lines += ["", "Recent changes:", *(f"- {_slack(line)}" for line in event.changes)]
    lines += [
        "",
        f"Incident Commander: {_slack(_commander(event))}",
        _channel(event),
        "",
        _next_update(event),
    ]
    return "\n".join(lines)


def _channel(event: IncidentEvent) -> str:
    """Every message names its incident's channel, so two open incidents never mix."""
    return f"Incident Channel: #incident-{_slack(event.incident_id.lower())}"


def _status_update(event: IncidentEvent) -> str:
    update = event.note or event.summary
    actions = list(event.actions) or [CURRENT_ACTION[event.state]]
    if event.kind is EventKind.ACKNOWLEDGED:
        actions.insert(0, f"Acknowledged by {_handle(event.actor or 'unassigned')}")
    return "\n".join(
        [
            ":yellow_circle: INCIDENT UPDATE",
            "",
            f"Severity: {event.severity}",
            f"Service(s): {_slack(event.affected)}",
            f"Impact: {_slack(event.impact)}",
            f"Status: {event.status.capitalize() or STATUS_WORD[event.state]}",
            "",
            f"Update: {_slack(update)}",
            "",
            "Current Actions:",
            *(f"- {_slack(action)}" for action in actions),
            "",
            _channel(event),
            _next_update(event),
        ]
    )


def _resolution(event: IncidentEvent) -> str:
    ended = event.ended_at
    due = postmortem_due_after(event.severity, ended)
    if due is not None:
        postmortem = f"Post-mortem scheduled for no later than {_clock(due)} (within 72 hours)."
    else:
        postmortem = f"Post-mortem not required ({event.severity})."
    cause = ", ".join(CAUSE_WORDS.get(c, c) for c in event.causes or (event.cause,))
    root_cause = event.note or f"to be established in the review ({cause})"
    return "\n".join(
        [
            ":large_green_circle: INCIDENT RESOLVED",
            "",
            f"Severity: {event.severity}",
            f"Service(s): {_slack(event.affected)}",
            f"Duration: {spoken_duration(ended - event.started_at)}",
            "Status: Resolved",
            "",
            f"Root Cause: {_slack(root_cause)}",
            f"Resolution: {_slack(event.summary)}",
            "",
            postmortem,
            "Full timeline will be shared in #incidents.",
            _channel(event),
        ]
    )


# --- Roles and update cadence (runbook 3.1, 3.2 and 4) ---------------------------------------


def _commander(event: IncidentEvent) -> str:
    """The 3.1 "Incident Commander: @[name]": the commander assigned, else whoever declared
    it (a person declaring by hand commands until someone else is named)."""
    return event.commander or _handle(event.actor or "unassigned")


def _handle(name: str) -> str:
    """``alice`` and ``@alice`` both as ``@alice``."""
    return name if name.startswith("@") else f"@{name}"


def _next_update(event: IncidentEvent) -> str:
    """The cadence of the incident's severity (one rule, :mod:`sloctl.incidents.cadence`)."""
    return next_update_text(event.severity)


def _role_title(role: str) -> str:
    return Role(role).runbook_name if role in set(Role) else role


def assignment_text(event: IncidentEvent) -> str:
    """ASSIGNED: who now holds which role (runbook 4), addressed to them."""
    return "\n".join(
        [
            ":busts_in_silhouette: INCIDENT ROLE ASSIGNED",
            "",
            f"Severity: {event.severity}",
            f"Service(s): {_slack(event.affected)}",
            f"Status: {STATUS_WORD[event.state]}",
            "",
            f"{_role_title(event.role)}: {_slack(event.who)} (assigned by {_slack(event.actor)})",
            _channel(event),
        ]
    )


def reminder_text(event: IncidentEvent) -> str:
    """REMINDER: a missed status update (3.2) or a post-mortem coming due (2.5)."""
    due = "" if event.due_at is None else _clock(event.due_at)
    if event.role == "postmortem":
        what = f"the post-mortem of {event.incident_id} is due by {due} (runbook 2.5)"
        heading = ":memo: POST-MORTEM DUE"
    else:
        what = f"the status update of {event.incident_id} was due at {due} (runbook 3.2)"
        heading = ":alarm_clock: INCIDENT UPDATE OVERDUE"
    return "\n".join(
        [
            heading,
            "",
            f"Severity: {event.severity}",
            f"Service(s): {_slack(event.affected)}",
            "",
            f"{_slack(event.who or 'Incident commander')}: {what}.",
            _channel(event),
        ]
    )


def slack_answer(status: int, body: str) -> tuple[Outcome, str]:
    """A Slack incoming webhook succeeds with 200 and the text ``ok``.

    A 2xx with anything else is not a delivery: one of Slack's own refusals
    (``invalid_token``, ``channel_not_found``, ...), bare or as ``{"ok": false, "error": ...}``,
    will be refused again and fails for good; any other text (a proxy's page) is retried.
    """
    if status == 200 and body.strip() == "ok":
        return Outcome.DELIVERED, f"HTTP {status}"
    error = body.strip()
    try:
        document = json.loads(error)
    except ValueError:
        document = None
    if isinstance(document, dict) and isinstance(document.get("error"), str):
        error = document["error"]
    if error in SLACK_REFUSALS:
        return Outcome.FAILED, f"HTTP {status}: Slack refused the message ({error})"
    return Outcome.RETRY, f"HTTP {status} without Slack's ok"
