"""Incident notifications: what to send to Slack, PagerDuty and Alertmanager, and how.

Two halves, kept apart so each can be tested alone:

- Sinks are pure. :meth:`Sink.requests_for` turns one :class:`IncidentEvent` into the HTTP
  requests that announce it, with no I/O, no clock and no randomness. The Slack texts are the
  runbook's section 3 templates (3.1 initial notification, 3.2 status update, 3.3 resolution).
- Delivery is one function. :func:`send` makes one attempt, bounded in time and in the size
  of the answer read, and classifies it: success is each sink's documented answer (Slack's
  ``ok``, PagerDuty's 202 ``"status": "success"``, Alertmanager's 200); 408, 429, 5xx, timeouts
  and network errors are worth retrying (``Retry-After`` is handed on); any other refusal is
  permanent (a 400 will be a 400 again). The outbox (:mod:`sloctl.notify.outbox`) decides when to
  try again.

Webhook URLs and routing keys are secrets: they stay out of ``repr`` of :class:`Request`, out of
every :attr:`Attempt.reason`, and out of the sinks' ``repr``. Read them with :func:`secret_from`.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol

import requests
import urllib3

from sloctl.errors import UsageError
from sloctl.incidents.events import EventKind

PAGERDUTY_URL = "https://events.pagerduty.com/v2/enqueue"
ALERTNAME = "SloctlIncident"
DEDUP_PREFIX = "sloctl-"
DEDUP_MAX = 255
SUMMARY_MAX = 1024
NEXT_UPDATE = "Next update in 15 minutes."
POSTMORTEM_WITHIN = timedelta(hours=72)
POSTMORTEM_SEVERITIES = frozenset({"P1", "P2"})
SEVERITIES = ("P1", "P2", "P3", "P4")
STATES = ("detected", "acknowledged", "mitigating", "monitoring", "resolved")
HEADERS: Mapping[str, str] = {"Content-Type": "application/json", "User-Agent": "sloctl"}
MAX_ANSWER_BYTES = 64 * 1024
"""How much of a receiver's answer is read: enough for any documented answer, no more."""
RETRIED_STATUSES = frozenset({408, 429})
"""The 4xx answers that are worth retrying (with 5xx); every other 4xx is a permanent refusal."""
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


@dataclass(frozen=True)
class IncidentEvent:
    """One change of one incident, as every sink needs to know it.

    All times must be timezone-aware (UTC is expected); a naive time is refused at
    construction rather than guessed at while a page is going out.
    """

    incident_id: str
    kind: EventKind
    service: str
    cause: str
    severity: str
    state: str
    at: datetime
    started_at: datetime
    summary: str
    impact: str
    actor: str = "sloctl"
    note: str = ""
    escalate_to: tuple[str, ...] = ()
    resolved_at: datetime | None = None
    installation: str = ""
    """The store's installation id: part of the PagerDuty dedup key and of the Alertmanager
    labels, so two installations never share an alert. Empty for incidents older than it."""
    services: tuple[str, ...] = ()
    """Every service affected, ``service`` first (empty: ``service`` alone)."""
    causes: tuple[str, ...] = ()
    """Every cause of the incident (empty: ``cause`` alone)."""
    changes: tuple[str, ...] = ()
    """For a declaration: recent changes of the services and their dependencies, a line each."""

    def __post_init__(self) -> None:
        if not self.incident_id:
            raise ValueError("an incident event needs an incident id")
        if self.severity not in SEVERITIES:
            raise ValueError(f"severity must be one of {', '.join(SEVERITIES)}")
        if self.state not in STATES:
            raise ValueError(f"state must be one of {', '.join(STATES)}")
        for name in ("at", "started_at", "resolved_at"):
            moment = getattr(self, name)
            if moment is not None and moment.utcoffset() is None:
                raise ValueError(f"{name} must be timezone-aware")

    @property
    def affected(self) -> str:
        """The services affected, as the runbook's "Service(s):" line lists them."""
        return ", ".join(self.services or (self.service,))

    @property
    def ended_at(self) -> datetime:
        """When the incident ended: ``resolved_at``, or the event's time if that is missing."""
        return self.resolved_at or self.at


@dataclass(frozen=True)
class Request:
    """One HTTP request a sink wants sent. URL, body and headers may hold secrets: no repr."""

    method: str
    url: str = field(repr=False)
    body: dict[str, Any] | list[Any] = field(repr=False)
    headers: Mapping[str, str] = field(repr=False)
    answer: Callable[[int, str], tuple[Outcome, str]] = field(repr=False)
    """Judges a 2xx answer (status, body text): the sink's documented success, or not."""


class Sink(Protocol):
    name: str

    def requests_for(self, event: IncidentEvent) -> list[Request]: ...


# --- Slack ------------------------------------------------------------------------------------

STATUS_WORD = {
    "detected": "Investigating",
    "acknowledged": "Investigating",
    "mitigating": "Mitigating",
    "monitoring": "Monitoring",
    "resolved": "Resolved",
}
CURRENT_ACTION = {
    "detected": "Investigating the cause",
    "acknowledged": "Investigating the cause",
    "mitigating": "Mitigating the impact",
    "monitoring": "Verifying recovery before resolving (runbook 2.4)",
    "resolved": "None: the incident is resolved",
}
CAUSE_WORDS = {"errors": "elevated error ratio", "latency": "high latency"}


def _slack(text: str) -> str:
    """Text with Slack's three control characters escaped, so nobody's note can ping @channel."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def spoken_duration(span: timedelta) -> str:
    """``1 hour 12 minutes``, ``2 days 3 hours``, ``45 minutes``: whole minutes, rounded down."""
    minutes = max(0, int(span.total_seconds() // 60))
    if minutes == 0:
        return "less than 1 minute"
    days, rest = divmod(minutes, 1440)
    hours, minutes = divmod(rest, 60)
    parts = [
        f"{count} {unit}{'' if count == 1 else 's'}"
        for count, unit in ((days, "day"), (hours, "hour"), (minutes, "minute"))
        if count
    ]
    return " ".join(parts)


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
        f"Incident Commander: @{_slack(event.actor or 'unassigned')}",
        _channel(event),
        "",
        NEXT_UPDATE,
    ]
    return "\n".join(lines)


def _channel(event: IncidentEvent) -> str:
    """Every message names its incident's channel, so two open incidents never mix."""
    return f"Incident Channel: #incident-{_slack(event.incident_id.lower())}"


def _status_update(event: IncidentEvent) -> str:
    update = event.note or event.summary
    actions = [CURRENT_ACTION[event.state]]
    if event.kind is EventKind.ACKNOWLEDGED:
        actions.insert(0, f"Acknowledged by @{event.actor or 'unassigned'}")
    return "\n".join(
        [
            ":yellow_circle: INCIDENT UPDATE",
            "",
            f"Severity: {event.severity}",
            f"Service(s): {_slack(event.affected)}",
            f"Impact: {_slack(event.impact)}",
            f"Status: {STATUS_WORD[event.state]}",
            "",
            f"Update: {_slack(update)}",
            "",
            "Current Actions:",
            *(f"- {_slack(action)}" for action in actions),
            "",
            _channel(event),
            NEXT_UPDATE,
        ]
    )


def _resolution(event: IncidentEvent) -> str:
    ended = event.ended_at
    if event.severity in POSTMORTEM_SEVERITIES:
        postmortem = (
            f"Post-mortem scheduled for no later than {_clock(ended + POSTMORTEM_WITHIN)} "
            "(within 72 hours)."
        )
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


# --- PagerDuty --------------------------------------------------------------------------------

PAGERDUTY_SEVERITY = {"P1": "critical", "P2": "error", "P3": "warning", "P4": "info"}
PAGERDUTY_ACTION = {
    EventKind.DECLARED: "trigger",
    EventKind.UPDATED: "trigger",
    EventKind.ESCALATED: "trigger",
    EventKind.ACKNOWLEDGED: "acknowledge",
    EventKind.RESOLVED: "resolve",
}


def _iso(moment: datetime) -> str:
    """RFC 3339 in UTC with milliseconds: what both PagerDuty and Alertmanager (Go) read."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _capped(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


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
                "summary": _capped(summary, SUMMARY_MAX),
                "source": event.service,
                "severity": PAGERDUTY_SEVERITY[event.severity],
                "timestamp": _iso(event.at),
                "component": event.service,
                "group": "sloctl",
                "class": event.cause,
                "custom_details": {
                    "incident": event.incident_id,
                    "event": event.kind.value,
                    "severity": event.severity,
                    "state": event.state,
                    "impact": event.impact,
                    "summary": event.summary,
                    "started_at": _iso(event.started_at),
                    "actor": event.actor,
                    "note": event.note,
                    "escalate_to": list(event.escalate_to),
                },
            }
        return [Request("POST", self._url, body, HEADERS, pagerduty_answer)]


# --- Alertmanager -----------------------------------------------------------------------------


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
            "alertname": ALERTNAME,
            "incident": event.incident_id,
            "service": event.service,
            "cause": event.cause,
        }
        if event.installation:
            labels["installation"] = event.installation
        return labels

    def requests_for(self, event: IncidentEvent) -> list[Request]:
        alert: dict[str, Any] = {
            "labels": self.labels(event),
            "annotations": {
                "summary": event.summary,
                "impact": event.impact,
                "state": event.state,
                "severity": event.severity,
            },
            "startsAt": _iso(event.started_at),
        }
        if event.kind is EventKind.RESOLVED:
            alert["endsAt"] = _iso(max(event.ended_at, event.started_at))
        return [
            Request("POST", f"{self.base_url}/api/v2/alerts", [alert], HEADERS, alertmanager_answer)
        ]

    def keep_sending(self, event: IncidentEvent, now: datetime) -> bool:
        """Whether ``event`` (the incident's latest) should still be re-sent at ``now``."""
        if event.kind is not EventKind.RESOLVED:
            return True
        return now < event.ended_at + self.resolve_grace


# --- Delivery ---------------------------------------------------------------------------------


class Outcome(StrEnum):
    DELIVERED = "delivered"
    RETRY = "retry"
    FAILED = "failed"


@dataclass(frozen=True)
class Attempt:
    """What one attempt came to. ``reason`` never holds the URL, its path or the body's secrets.

    ``retry_after`` is the answer's ``Retry-After`` header as sent (seconds or an HTTP date),
    for the caller to turn into a pause with :func:`retry_after_seconds`.
    """

    outcome: Outcome
    status: int | None
    reason: str
    retry_after: str | None = None


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


def pagerduty_answer(status: int, body: str) -> tuple[Outcome, str]:
    """PagerDuty Events v2 accepts an event with 202 and ``{"status": "success", ...}``."""
    try:
        document = json.loads(body)
    except ValueError:
        document = None
    if status == 202 and isinstance(document, dict) and document.get("status") == "success":
        return Outcome.DELIVERED, f"HTTP {status}"
    return Outcome.RETRY, f"HTTP {status} without PagerDuty's success"


def alertmanager_answer(status: int, body: str) -> tuple[Outcome, str]:
    """Alertmanager's ``POST /api/v2/alerts`` answers 200 (with an empty body)."""
    if status == 200:
        return Outcome.DELIVERED, f"HTTP {status}"
    return Outcome.RETRY, f"HTTP {status} instead of Alertmanager's 200"


@dataclass(frozen=True)
class RetryPolicy:
    """Pauses between attempts: full jitter under ``min(max_delay, base_delay * 2**attempt)``.

    ``attempts`` bounds :func:`deliver` only; the outbox keeps trying for as long as a message
    is worth sending (see :class:`sloctl.notify.outbox.DeliveryPolicy`).
    """

    attempts: int = 5
    base_delay: float = 1.0
    max_delay: float = 60.0

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("attempts must be at least 1")
        if self.base_delay < 0 or self.max_delay < 0:
            raise ValueError("delays must not be negative")

    def delay(self, attempt: int, rng: random.Random) -> float:
        """A uniform pick below ``min(max_delay, base_delay * 2**attempt)``."""
        ceiling = min(self.max_delay, self.base_delay * 2 ** min(attempt, 62))
        return rng.uniform(0, ceiling)


def retry_after_seconds(header: str | None, now: datetime) -> float | None:
    """``Retry-After`` as a pause from ``now``: delay-seconds or an HTTP date (RFC 9110 10.2.3).

    None for a missing or unreadable header; a date in the past is a pause of 0.
    """
    if header is None:
        return None
    text = header.strip()
    if text.isdigit():
        return float(text)
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.utcoffset() is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - now).total_seconds())


def _secrets_of(request: Request) -> list[str]:
    """Every string of ``request`` that must not be repeated in a reason."""
    found = [request.url]
    match = re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://(?:(.*)@)?[^/?#@]*(.*)$", request.url, re.DOTALL)
    userinfo, rest = (match.group(1) or "", match.group(2)) if match else ("", "")
    if userinfo:
        found += [userinfo, *(part for part in userinfo.split(":") if part)]
    if rest not in ("", "/"):
        found.append(rest)
        found += [part for part in re.split(r"[/?#&=]", rest) if len(part) >= 10]
    if isinstance(request.body, dict):
        key = request.body.get("routing_key")
        if isinstance(key, str) and key:
            found.append(key)
    return sorted(set(found), key=len, reverse=True)


def _scrubbed(text: str, request: Request) -> str:
    for secret in _secrets_of(request):
        text = text.replace(secret, "[redacted]")
    return text


def _network_reason(exc: Exception) -> str:
    """``Connection refused``: the errno text only, never requests' message with the URL in it."""
    errno = re.search(r"\[Errno -?\d+\] ([^'\"()\[\]]+)", str(exc))
    if errno is not None:
        return errno.group(1).strip()
    return type(exc).__name__


def _hint(text: str, request: Request) -> str:
    return _capped(_scrubbed(" ".join(text[:300].split()), request), 120)


def _read_body(response: requests.Response, deadline: float, limit: int) -> bytes | None:
    """The body, read while time is left; None when the deadline passed first. Whatever
    comes after ``limit`` bytes is not read (the verdict never needs it)."""
    chunks: list[bytes] = []
    size = 0
    while size < limit:
        if time.monotonic() >= deadline:
            return None
        chunk = response.raw.read1(min(4096, limit - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def send(
    request: Request,
    session: requests.Session,
    timeout: float,
    *,
    verify: str | bool = True,
    body_limit: int = MAX_ANSWER_BYTES,
) -> Attempt:
    """One attempt at ``request``, classified, taking ``timeout`` seconds at most in all.

    The whole exchange is bounded, not each socket read: the answer is streamed and given up
    when ``timeout`` has passed (a peer trickling one byte a second does not hold it), and at
    most ``body_limit`` bytes of it are read. (Headers trickled byte by byte are bounded by the
    caller, which runs the attempt in a thread of its own: see
    :class:`sloctl.notify.outbox.Courier`.) ``verify`` is passed on the request itself, so
    ``REQUESTS_CA_BUNDLE`` cannot replace it.

    A 2xx is judged by the request's sink (:attr:`Request.answer`); 408, 429 and 5xx, timeouts
    and network errors are RETRY; every other status (redirects included: they are not
    followed, a secret body is not handed on) is FAILED, as is a request that cannot be sent.
    """
    deadline = time.monotonic() + timeout
    retry_after: str | None = None
    try:
        with session.request(
            request.method,
            request.url,
            json=request.body,
            headers=dict(request.headers),
            timeout=(min(5.0, timeout), timeout),
            allow_redirects=False,
            stream=True,
            verify=verify,
        ) as response:
            status = response.status_code
            retry_after = response.headers.get("Retry-After")
            raw = _read_body(response, deadline, body_limit)
    except requests.Timeout:
        return Attempt(Outcome.RETRY, None, f"no answer within {timeout:.3g} s")
    except (
        requests.ConnectionError,
        requests.exceptions.ChunkedEncodingError,
        urllib3.exceptions.HTTPError,
        OSError,
    ) as exc:
        return Attempt(Outcome.RETRY, None, f"cannot connect ({_network_reason(exc)})")
    except requests.RequestException as exc:
        return Attempt(Outcome.FAILED, None, f"request not sent ({type(exc).__name__})")
    if raw is None:
        return Attempt(
            Outcome.RETRY, status, f"HTTP {status}, answer not complete in {timeout:.3g} s"
        )
    text = raw.decode("utf-8", errors="replace")
    if 200 <= status < 300:
        outcome, reason = request.answer(status, text)
        return Attempt(
            outcome,
            status,
            reason
            if outcome is Outcome.DELIVERED
            else f"{reason}: {_hint(text, request)}".rstrip(": "),
        )
    hint = _hint(text, request)
    reason = f"HTTP {status}: {hint}" if hint else f"HTTP {status}"
    if status in RETRIED_STATUSES or 500 <= status < 600:
        return Attempt(Outcome.RETRY, status, reason, retry_after)
    return Attempt(Outcome.FAILED, status, reason)


def deliver(
    request: Request,
    *,
    session: requests.Session,
    timeout: float,
    retry: RetryPolicy,
    sleep: Callable[[float], None],
    rng: random.Random,
) -> Attempt:
    """Send ``request``, retrying RETRY outcomes up to ``retry.attempts`` attempts in all.

    Returns the last attempt: DELIVERED, FAILED (never retried), or RETRY when the attempts
    ran out. For a one-off send; the outbox has its own schedule.
    """
    attempt = send(request, session, timeout)
    for number in range(1, retry.attempts):
        if attempt.outcome is not Outcome.RETRY:
            break
        sleep(retry.delay(number - 1, rng))
        attempt = send(request, session, timeout)
    return attempt


# --- Secrets ----------------------------------------------------------------------------------


def secret_from(env: Mapping[str, str], name: str) -> str | None:
    """``env[name]``, else the stripped content of the file named by ``env[name + "_FILE"]``.

    None when neither is set (or both are empty). A ``_FILE`` that cannot be read is a
    :class:`~sloctl.errors.UsageError` naming the variable and the file, never the secret.
    """
    value = env.get(name)
    if value:
        return value
    path = env.get(f"{name}_FILE")
    if not path:
        return None
    try:
        content = Path(path).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        problem = exc.strerror if isinstance(exc, OSError) and exc.strerror else "unreadable"
        raise UsageError(f"{name}_FILE: cannot read {path}: {problem}") from exc
    return content or None
