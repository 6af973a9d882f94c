"""The notification outbox: events stored with the change they announce, delivered after.

At least once: a message is written in the same transaction as the incident change, then
sent; 2xx marks it delivered, 429 / 5xx / network trouble schedules a retry with backoff and
jitter (kept across restarts, since the schedule lives in the store), any other answer or the
last allowed attempt marks it failed, with the reason kept and shown by
``sloctl incidents show``.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import requests

from sloctl.engine import Event
from sloctl.logs import make_logger
from sloctl.notifications import (
    AlertmanagerSink,
    EventKind,
    IncidentEvent,
    Outcome,
    PagerDutySink,
    RetryPolicy,
    Sink,
    SlackSink,
    secret_from,
    send,
)
from sloctl.policy import Cause
from sloctl.store import Store

CLAIM_LEASE = timedelta(minutes=2)
"""How long a message taken for sending is hidden from other flushes."""
SLACK = "SLOCTL_SLACK_WEBHOOK_URL"
PAGERDUTY = "SLOCTL_PAGERDUTY_ROUTING_KEY"
ALERTMANAGER = "SLOCTL_ALERTMANAGER_URL"


def sinks_from_env(env: Mapping[str, str]) -> dict[str, Sink]:
    """The sinks whose secrets are set, from variables or ``<NAME>_FILE`` files."""
    sinks: dict[str, Sink] = {}
    if (url := secret_from(env, SLACK)) is not None:
        sinks["slack"] = SlackSink(url)
    if (key := secret_from(env, PAGERDUTY)) is not None:
        sinks["pagerduty"] = PagerDutySink(key)
    if (base := secret_from(env, ALERTMANAGER)) is not None:
        sinks["alertmanager"] = AlertmanagerSink(base)
    return sinks


def impact(event: Event) -> str:
    incident = event.incident
    parts = []
    if incident.peak_error_ratio is not None:
        parts.append(f"{incident.peak_error_ratio * 100:.1f}% of requests failing at worst")
    if incident.peak_p95_seconds is not None and Cause.LATENCY in incident.causes:
        parts.append(f"p95 latency up to {incident.peak_p95_seconds * 1000:.0f} ms")
    return "; ".join(parts) or "see the incident channel"


def payload(event: Event) -> dict[str, Any]:
    """What the outbox stores for ``event``: the fields of an IncidentEvent, as JSON."""
    incident = event.incident
    last = incident.timeline[-1]
    return {
        "incident_id": incident.id,
        "kind": event.kind.value,
        "service": incident.service,
        "cause": incident.cause.value,
        "severity": incident.severity.value,
        "state": incident.state.value,
        "at": event.at.astimezone(UTC).isoformat(),
        "started_at": incident.detected_at.astimezone(UTC).isoformat(),
        "summary": incident.summary,
        "impact": impact(event),
        "actor": last.actor,
        "note": event.note or last.note,
        "escalate_to": list(event.escalate_to),
        "resolved_at": None
        if incident.resolved_at is None
        else incident.resolved_at.astimezone(UTC).isoformat(),
        "services": list(incident.services),
        "causes": [c.value for c in incident.causes],
    }


def incident_event(stored: Mapping[str, Any]) -> IncidentEvent:
    resolved = stored.get("resolved_at")
    return IncidentEvent(
        incident_id=stored["incident_id"],
        kind=EventKind(stored["kind"]),
        service=stored["service"],
        cause=stored["cause"],
        severity=stored["severity"],
        state=stored["state"],
        at=datetime.fromisoformat(stored["at"]),
        started_at=datetime.fromisoformat(stored["started_at"]),
        summary=stored["summary"],
        impact=stored["impact"],
        actor=stored["actor"],
        note=stored["note"],
        escalate_to=tuple(stored["escalate_to"]),
        resolved_at=None if resolved is None else datetime.fromisoformat(resolved),
        services=tuple(stored.get("services", ())),
        causes=tuple(stored.get("causes", ())),
    )


def messages(
    events: Sequence[Event], sinks: Mapping[str, Sink]
) -> list[tuple[str, dict[str, Any]]]:
    """One outbox message per event and sink, to store with the change."""
    return [(name, payload(event)) for event in events for name in sorted(sinks)]


@dataclass
class Courier:
    """Delivers due outbox messages; the session, clock values and randomness are passed in."""

    sinks: Mapping[str, Sink]
    session: requests.Session = field(default_factory=requests.Session)
    timeout: float = 10.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    rng: random.Random = field(default_factory=random.Random)
    clock: Callable[[], float] = time.monotonic
    logger: Any = field(default_factory=make_logger)
    by_sink: dict[tuple[str, str], int] = field(default_factory=dict)
    """Attempts by (sink, outcome) since this courier was made, for sloctl's own metrics."""

    def flush(
        self, store: Store, now: datetime, *, deadline: float | None = None
    ) -> dict[str, int]:
        """One attempt for every due pending message of the configured sinks.

        Messages for a sink this process has no secret for stay pending for one that has.
        With a ``deadline`` (a ``clock`` value), messages not tried by then are handed back
        for the next flush ("deferred"). Returns counts by outcome.
        """
        counts = {"delivered": 0, "retry": 0, "failed": 0, "deferred": 0}
        claimed = store.claim_due(now, CLAIM_LEASE, sinks=set(self.sinks))
        for index, message in enumerate(claimed):
            if deadline is not None and self.clock() >= deadline:
                store.release([m.id for m in claimed[index:]], now)
                counts["deferred"] = len(claimed) - index
                break
            sink = self.sinks[message.sink]
            outcome, reason = self._send_all(sink, incident_event(message.event))
            attempts = message.attempts + 1
            self.logger.info(
                "notification", sink=message.sink, incident=message.event["incident_id"],
                kind=message.event["kind"], attempt=attempts, outcome=outcome.value,
                reason=reason,
            )  # fmt: skip
            if outcome is Outcome.DELIVERED:
                store.record_attempt(message.id, status="delivered", error="", retry_at=now)
                counts["delivered"] += 1
                self._count(message.sink, "delivered")
            elif outcome is Outcome.RETRY and attempts < self.retry.attempts:
                pause = timedelta(seconds=self.retry.delay(attempts - 1, self.rng))
                store.record_attempt(
                    message.id, status="pending", error=reason, retry_at=now + pause
                )
                counts["retry"] += 1
                self._count(message.sink, "retry")
            else:
                store.record_attempt(message.id, status="failed", error=reason, retry_at=now)
                counts["failed"] += 1
                self._count(message.sink, "failed")
        return counts

    def _count(self, sink: str, outcome: str) -> None:
        self.by_sink[(sink, outcome)] = self.by_sink.get((sink, outcome), 0) + 1

    def refresh_alertmanager(self, store: Store, now: datetime) -> int:
        """Re-send every open (or just resolved) incident to Alertmanager, which keeps no
        state of its own and resolves an alert that stops arriving. Not stored: the next run
        sends them again. Returns how many were delivered."""
        sink = self.sinks.get("alertmanager")
        if not isinstance(sink, AlertmanagerSink):
            return 0
        delivered = 0
        for incident in store.incidents(resolved_after=now - sink.resolve_grace):
            kind = EventKind.UPDATED if incident.open else EventKind.RESOLVED
            event = incident_event(payload(Event(kind, incident, now)))
            if sink.keep_sending(event, now):
                outcome, _ = self._send_all(sink, event)
                delivered += outcome is Outcome.DELIVERED
        return delivered

    def _send_all(self, sink: Sink, event: IncidentEvent) -> tuple[Outcome, str]:
        for request in sink.requests_for(event):
            attempt = send(request, self.session, self.timeout)
            if attempt.outcome is not Outcome.DELIVERED:
                return attempt.outcome, attempt.reason
        return Outcome.DELIVERED, ""
