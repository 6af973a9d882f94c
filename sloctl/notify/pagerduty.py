"""PagerDuty: the Events API v2, one dedup key for the whole life of an incident."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sloctl.core.severity import Severity
from sloctl.incidents.events import NOTE_KINDS, EventKind
from sloctl.notify.message import IncidentEvent, iso_utc
from sloctl.notify.send import HEADERS, Outcome, Request, capped

PAGERDUTY_URL = "https://events.pagerduty.com/v2/enqueue"
DEDUP_PREFIX = "sloctl-"
DEDUP_MAX = 255
SUMMARY_MAX = 1024

PAGERDUTY_SEVERITY: dict[Severity, str] = {
    Severity.P1: "critical",
    Severity.P2: "error",
    Severity.P3: "warning",
    Severity.P4: "info",
}
PAGERDUTY_ACTION = {
    EventKind.DECLARED: "trigger",
    EventKind.UPDATED: "trigger",
    EventKind.ESCALATED: "trigger",
    EventKind.ACKNOWLEDGED: "acknowledge",
    EventKind.RESOLVED: "resolve",
}


def dedup_key(incident_id: str, installation: str = "") -> str:
    """``sloctl-<installation>-<id>``: one key for the whole life of an incident, unique across
    installations (``sloctl-<id>`` for an incident older than its store's installation id), at
    most 255 characters.

    An id too long for that keeps a prefix and gains a hash of the whole key, so two long ids
    that share their first 230 characters still get different keys.
    """
    key = DEDUP_PREFIX + (f"{installation}-" if installation else "") + incident_id
    if len(key) <= DEDUP_MAX:
        return key
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    return f"{key[: DEDUP_MAX - 17]}-{digest}"


class PagerDutySink:
    """PagerDuty Events API v2.

    DECLARED, UPDATED and ESCALATED are ``trigger`` events (a trigger on an open alert with the
    same dedup_key updates it); ACKNOWLEDGED is ``acknowledge`` and RESOLVED ``resolve``, which
    carry only the routing key, the action and the dedup key. The dedup key is the incident id
    prefixed with ``sloctl-``. ``source`` and ``component`` are the service, ``group`` is
    ``sloctl``, ``class`` the cause.
    """

    name = "pagerduty"

    def __init__(self, routing_key: str, url: str = PAGERDUTY_URL) -> None:
        self._routing_key = routing_key
        self._url = url

    def __repr__(self) -> str:
        return "PagerDutySink(routing_key=[redacted])"

    def requests_for(self, event: IncidentEvent) -> list[Request]:
        if event.kind in NOTE_KINDS:
            return []  # role assignments and reminders are for people in chat, not pages
        action = PAGERDUTY_ACTION[event.kind]
        body: dict[str, Any] = {
            "routing_key": self._routing_key,
            "event_action": action,
            "dedup_key": dedup_key(event.incident_id, event.installation),
        }
        if action == "trigger":
            summary = f"{event.incident_id} {event.severity} {event.service}: {event.summary}"
            body["client"] = "sloctl"
            body["payload"] = {
                "summary": capped(summary, SUMMARY_MAX),
                "source": event.service,
                "severity": PAGERDUTY_SEVERITY[event.severity],
                "timestamp": iso_utc(event.at),
                "component": event.service,
                "group": "sloctl",
                "class": event.cause,
                "custom_details": {
                    "incident": event.incident_id,
                    "event": event.kind.value,
                    "severity": event.severity.value,
                    "state": event.state.value,
                    "impact": event.impact,
                    "summary": event.summary,
                    "started_at": iso_utc(event.started_at),
                    "actor": event.actor,
                    "note": event.note,
                    "escalate_to": list(event.escalate_to),
                },
            }
        return [Request("POST", self._url, body, HEADERS, pagerduty_answer)]


def pagerduty_answer(status: int, body: str) -> tuple[Outcome, str]:
    """PagerDuty Events v2 accepts an event with 202 and ``{"status": "success", ...}``."""
    try:
        document = json.loads(body)
    except ValueError:
        document = None
    if status == 202 and isinstance(document, dict) and document.get("status") == "success":
        return Outcome.DELIVERED, f"HTTP {status}"
    return Outcome.RETRY, f"HTTP {status} without PagerDuty's success"
