"""Alertmanager: the API v2, one alert per incident from declaration to resolution."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sloctl.core.conventions import (
    ALERTNAME_LABEL,
    CAUSE_LABEL,
    INCIDENT_LABEL,
    INSTALLATION_LABEL,
    SERVICE_LABEL,
    SEVERITY_LABEL,
)
from sloctl.incidents.events import NOTE_KINDS, EventKind
from sloctl.notify.message import IncidentEvent, iso_utc
from sloctl.notify.send import HEADERS, Outcome, Request

ALERTNAME = "SloctlIncident"


class AlertmanagerSink:
    """Alertmanager API v2: ``POST {base_url}/api/v2/alerts`` with a list of one alert.

    The labels (alertname ``SloctlIncident``, incident, service, cause, and the store's
    installation id, so that two installations' INC-0001 are two alerts) never change during an
    incident, so Alertmanager sees one alert from declaration to resolution. The severity can
    change (escalation), so it is an annotation, next to summary, impact and state: were it a
    label, an escalated incident would become a second alert and the first would linger.

    Alertmanager keeps no state for its clients. A firing alert is sent without ``endsAt``;
    Alertmanager then resolves it by itself ``resolve_timeout`` (5 minutes by default) after the
    last time it was received, so the daemon must re-send the latest event of every open
    incident more often than that. RESOLVED carries ``endsAt`` = ``resolved_at``, and should be
    re-sent for ``resolve_grace`` after the resolution (see :meth:`keep_sending`), so that an
    Alertmanager that restarted or missed it still learns about it.
    """

    name = "alertmanager"

    def __init__(self, base_url: str, resolve_grace: timedelta = timedelta(minutes=5)) -> None:
        self.base_url = base_url.rstrip("/")
        self.resolve_grace = resolve_grace

    def __repr__(self) -> str:
        return f"AlertmanagerSink(resolve_grace={self.resolve_grace!r})"

    @staticmethod
    def labels(event: IncidentEvent) -> dict[str, str]:
        labels = {
            ALERTNAME_LABEL: ALERTNAME,
            INCIDENT_LABEL: event.incident_id,
            SERVICE_LABEL: event.service,
            CAUSE_LABEL: event.cause,
        }
        if event.installation:
            labels[INSTALLATION_LABEL] = event.installation
        return labels

    def requests_for(self, event: IncidentEvent) -> list[Request]:
        if event.kind in NOTE_KINDS:
            return []  # not a change of the alert
        alert: dict[str, Any] = {
            "labels": self.labels(event),
            "annotations": {
                "summary": event.summary,
                "impact": event.impact,
                "state": event.state.value,
                SEVERITY_LABEL: event.severity.value,
            },
            "startsAt": iso_utc(event.started_at),
        }
        if event.kind is EventKind.RESOLVED:
            alert["endsAt"] = iso_utc(max(event.ended_at, event.started_at))
        return [
            Request("POST", f"{self.base_url}/api/v2/alerts", [alert], HEADERS, alertmanager_answer)
        ]

    def keep_sending(self, event: IncidentEvent, now: datetime) -> bool:
        """Whether ``event`` (the incident's latest) should still be re-sent at ``now``."""
        if event.kind is not EventKind.RESOLVED:
            return True
        return now < event.ended_at + self.resolve_grace


def alertmanager_answer(status: int, body: str) -> tuple[Outcome, str]:
    """Alertmanager's ``POST /api/v2/alerts`` answers 200 (with an empty body)."""
    if status == 200:
        return Outcome.DELIVERED, f"HTTP {status}"
    return Outcome.RETRY, f"HTTP {status} instead of Alertmanager's 200"
