"""One incident's events as the sinks see them, and the secrets they must never show."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sloctl.core.severity import Severity
from sloctl.incidents.events import EventKind
from sloctl.incidents.lifecycle import State
from sloctl.notify.message import IncidentEvent

START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
ROUTING_KEY = "R0UTINGKEY0123456789abcdefSECRET"
HOOK_PATH = "/services/T0001/B0002/W3bh00kS3cretT0ken"


def event(kind: EventKind, **changes: Any) -> IncidentEvent:
    base = IncidentEvent(
        incident_id="INC-0007",
        kind=kind,
        service="api",
        cause="errors",
        severity=Severity.P1,
        state=State.DETECTED,
        at=START,
        started_at=START,
        summary="error ratio above 50% (complete service outage)",
        impact="62.0% of requests failing",
    )
    return replace(base, **changes)


LIFECYCLE = [
    event(EventKind.DECLARED, severity=Severity.P3, summary="p95 above 300 ms"),
    event(
        EventKind.ESCALATED,
        at=START + timedelta(minutes=4),
        note="escalated from P3 to P1: error ratio above 50% (complete service outage)",
        escalate_to=("everyone", "leadership"),
    ),
    event(
        EventKind.ACKNOWLEDGED,
        at=START + timedelta(minutes=5),
        state=State.ACKNOWLEDGED,
        actor="alice",
    ),
    event(
        EventKind.UPDATED,
        at=START + timedelta(minutes=20),
        state=State.MITIGATING,
        actor="alice",
        note="rolled back deploy 42",
    ),
    event(
        EventKind.UPDATED,
        at=START + timedelta(minutes=40),
        state=State.MONITORING,
        summary="error rate below 0.1% and latency within SLO (runbook 2.4)",
    ),
    event(
        EventKind.RESOLVED,
        at=START + timedelta(hours=1, minutes=12, seconds=30),
        state=State.RESOLVED,
        resolved_at=START + timedelta(hours=1, minutes=12, seconds=30),
        summary="verification held for 15 minutes (runbook 2.4)",
    ),
]
