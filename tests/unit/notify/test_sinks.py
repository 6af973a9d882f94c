"""Notification payloads per sink and event kind, and delivery against scripted loopback servers."""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests

from sloctl.demo.local_prometheus import free_port
from sloctl.incidents.events import EventKind
from sloctl.notify.sinks import (
    PAGERDUTY_URL,
    AlertmanagerSink,
    Attempt,
    IncidentEvent,
    Outcome,
    PagerDutySink,
    Request,
    RetryPolicy,
    Sink,
    SlackSink,
    alertmanager_answer,
    deliver,
    pagerduty_answer,
    retry_after_seconds,
    send,
    slack_answer,
)

START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
ROUTING_KEY = "R0UTINGKEY0123456789abcdefSECRET"
HOOK_PATH = "/services/T0001/B0002/W3bh00kS3cretT0ken"


def event(kind: EventKind, **changes: Any) -> IncidentEvent:
    base = IncidentEvent(
        incident_id="INC-0007",
        kind=kind,
        service="api",
        cause="errors",
        severity="P1",
        state="detected",
        at=START,
        started_at=START,
        summary="error ratio above 50% (complete service outage)",
        impact="62.0% of requests failing",
    )
    return replace(base, **changes)


LIFECYCLE = [
    event(EventKind.DECLARED, severity="P3", summary="p95 above 300 ms"),
    event(
        EventKind.ESCALATED,
        at=START + timedelta(minutes=4),
        note="escalated from P3 to P1: error ratio above 50% (complete service outage)",
        escalate_to=("everyone", "leadership"),
    ),
    event(
        EventKind.ACKNOWLEDGED, at=START + timedelta(minutes=5), state="acknowledged", actor="alice"
    ),
    event(
        EventKind.UPDATED,
        at=START + timedelta(minutes=20),
        state="mitigating",
        actor="alice",
        note="rolled back deploy 42",
    ),
    event(
        EventKind.UPDATED,
        at=START + timedelta(minutes=40),
        state="monitoring",
        summary="error rate below 0.1% and latency within SLO (runbook 2.4)",
    ),
    event(
        EventKind.RESOLVED,
        at=START + timedelta(hours=1, minutes=12, seconds=30),
        state="resolved",
        resolved_at=START + timedelta(hours=1, minutes=12, seconds=30),
        summary="verification held for 15 minutes (runbook 2.4)",
    ),
]


# --- Slack ------------------------------------------------------------------------------------


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
            replace(LIFECYCLE[5], severity="P2"),
            ["Post-mortem scheduled for no later than"],
            ["not required"],
            id="resolved-p2-needs-postmortem",
        ),
        pytest.param(
            replace(LIFECYCLE[5], severity="P3"),
            ["Post-mortem not required (P3)."],
            ["scheduled"],
            id="resolved-p3-no-postmortem",
        ),
        pytest.param(
            replace(
                LIFECYCLE[5],
                severity="P4",
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


# --- PagerDuty --------------------------------------------------------------------------------


def pagerduty_body(ev: IncidentEvent, url: str = PAGERDUTY_URL) -> dict[str, Any]:
    [request] = PagerDutySink(ROUTING_KEY, url).requests_for(ev)
    assert request.method == "POST"
    assert request.url == url
    assert request.headers["Content-Type"] == "application/json"
    assert isinstance(request.body, dict)
    return request.body


@pytest.mark.parametrize(
    ("ev", "action"),
    [
        pytest.param(LIFECYCLE[0], "trigger", id="declared"),
        pytest.param(LIFECYCLE[1], "trigger", id="escalated"),
        pytest.param(LIFECYCLE[2], "acknowledge", id="acknowledged"),
        pytest.param(LIFECYCLE[3], "trigger", id="updated"),
        pytest.param(LIFECYCLE[5], "resolve", id="resolved"),
    ],
)
def test_pagerduty_event_action(ev: IncidentEvent, action: str) -> None:
    body = pagerduty_body(ev)
    assert body["event_action"] == action
    assert body["routing_key"] == ROUTING_KEY
    if action != "trigger":
        assert set(body) == {"routing_key", "event_action", "dedup_key"}


def test_pagerduty_dedup_key_is_one_per_incident() -> None:
    keys = {pagerduty_body(ev)["dedup_key"] for ev in LIFECYCLE}
    assert keys == {"sloctl-INC-0007"}
    other = pagerduty_body(replace(LIFECYCLE[0], incident_id="INC-0008"))["dedup_key"]
    assert other == "sloctl-INC-0008"


def test_keys_and_labels_carry_the_installation() -> None:
    """Two installations' INC-0007 are two PagerDuty alerts and two Alertmanager alerts."""
    mine = [replace(ev, installation="a1b2c3d4e5f6") for ev in LIFECYCLE]
    theirs = [replace(ev, installation="0f9e8d7c6b5a") for ev in LIFECYCLE]
    assert {pagerduty_body(ev)["dedup_key"] for ev in mine} == {"sloctl-a1b2c3d4e5f6-INC-0007"}
    assert pagerduty_body(theirs[0])["dedup_key"] == "sloctl-0f9e8d7c6b5a-INC-0007"
    labels = {json.dumps(AlertmanagerSink.labels(ev), sort_keys=True) for ev in mine}
    assert [json.loads(x)["installation"] for x in labels] == ["a1b2c3d4e5f6"]
    assert AlertmanagerSink.labels(theirs[0]) != AlertmanagerSink.labels(mine[0])
    # An incident older than its store's installation id keeps the keys it was announced with.
    assert "installation" not in AlertmanagerSink.labels(LIFECYCLE[0])


def test_the_pagerduty_events_url_is_the_sinks() -> None:
    eu = "https://events.eu.pagerduty.com/v2/enqueue"
    [request] = PagerDutySink(ROUTING_KEY, eu).requests_for(LIFECYCLE[0])
    assert request.url == eu
    [request] = PagerDutySink(ROUTING_KEY).requests_for(LIFECYCLE[0])
    assert request.url == PAGERDUTY_URL == "https://events.pagerduty.com/v2/enqueue"


@pytest.mark.parametrize(
    ("judge", "status", "body", "outcome"),
    [
        (slack_answer, 200, "ok", Outcome.DELIVERED),
        (slack_answer, 200, "ok\n", Outcome.DELIVERED),
        (slack_answer, 200, "invalid_token", Outcome.FAILED),
        (slack_answer, 200, '{"ok": false, "error": "channel_not_found"}', Outcome.FAILED),
        (slack_answer, 200, '{"ok": false, "error": "fatal_error"}', Outcome.RETRY),
        (slack_answer, 200, "<html>sign in to the proxy</html>", Outcome.RETRY),
        (slack_answer, 201, "ok", Outcome.RETRY),
        (pagerduty_answer, 202, '{"status": "success", "dedup_key": "k"}', Outcome.DELIVERED),
        (pagerduty_answer, 200, '{"status": "success"}', Outcome.RETRY),
        (pagerduty_answer, 202, '{"status": "invalid event"}', Outcome.RETRY),
        (pagerduty_answer, 202, "", Outcome.RETRY),
        (alertmanager_answer, 200, "", Outcome.DELIVERED),
        (alertmanager_answer, 202, "", Outcome.RETRY),
    ],
)
def test_each_sink_judges_a_2xx_by_its_documented_answer(
    judge: Any, status: int, body: str, outcome: Outcome
) -> None:
    assert judge(status, body)[0] is outcome


NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("30", 30.0),
        (" 120 ", 120.0),
        ("Mon, 02 Nov 2026 09:00:45 GMT", 45.0),
        ("Mon, 02 Nov 2026 08:59:00 GMT", 0.0),  # already past
        ("Monday, 02-Nov-26 09:01:00 GMT", 60.0),  # the obsolete RFC 850 form
        ("soon", None),
        ("-5", None),
        (None, None),
    ],
)
def test_retry_after_in_seconds_or_as_an_http_date(
    header: str | None, seconds: float | None
) -> None:
    assert retry_after_seconds(header, NOW) == seconds


@pytest.mark.parametrize(
    ("severity", "expected"),
    [("P1", "critical"), ("P2", "error"), ("P3", "warning"), ("P4", "info")],
)
def test_pagerduty_severity_mapping(severity: str, expected: str) -> None:
    assert pagerduty_body(event(EventKind.DECLARED, severity=severity))["payload"]["severity"] == (
        expected
    )


def test_pagerduty_trigger_payload() -> None:
    body = pagerduty_body(LIFECYCLE[1])
    payload = body["payload"]
    assert payload["summary"] == (
        "INC-0007 P1 api: error ratio above 50% (complete service outage)"
    )
    assert payload["source"] == "api"
    assert payload["component"] == "api"
    assert payload["group"] == "sloctl"
    assert payload["class"] == "errors"
    assert payload["timestamp"] == "2026-11-02T09:04:00.000Z"
    details = payload["custom_details"]
    assert details["impact"] == "62.0% of requests failing"
    assert details["escalate_to"] == ["everyone", "leadership"]
    assert details["started_at"] == "2026-11-02T09:00:00.000Z"
    assert details["state"] == "detected"
    json.dumps(body)  # all of it is JSON


@pytest.mark.parametrize("length", [248, 249, 300, 5000])
def test_pagerduty_dedup_key_is_capped_and_stable(length: int) -> None:
    long_id = "INC-" + "x" * (length - 4)
    keys = {pagerduty_body(replace(ev, incident_id=long_id))["dedup_key"] for ev in LIFECYCLE}
    assert len(keys) == 1
    [key] = keys
    assert len(key) <= 255
    assert key.startswith("sloctl-INC-xxx")
    sibling = pagerduty_body(replace(LIFECYCLE[0], incident_id=long_id + "y"))["dedup_key"]
    assert sibling != key  # two long ids sharing a prefix still get two keys


@pytest.mark.parametrize(("length", "shown"), [(100, 100), (1024, 1024), (5000, 1024)])
def test_pagerduty_summary_is_capped(length: int, shown: int) -> None:
    prefix = "INC-0007 P1 api: "
    body = pagerduty_body(event(EventKind.DECLARED, summary="s" * (length - len(prefix))))
    summary = body["payload"]["summary"]
    assert len(summary) == shown
    assert summary.startswith(prefix)


# --- Alertmanager -----------------------------------------------------------------------------


def alert_of(ev: IncidentEvent, base_url: str = "http://am.example:9093/") -> dict[str, Any]:
    [request] = AlertmanagerSink(base_url).requests_for(ev)
    assert request.method == "POST"
    assert request.url == "http://am.example:9093/api/v2/alerts"
    assert isinstance(request.body, list)
    [alert] = request.body
    assert isinstance(alert, dict)
    return alert


def test_alertmanager_labels_are_identical_across_the_incident() -> None:
    labels = {json.dumps(alert_of(ev)["labels"], sort_keys=True) for ev in LIFECYCLE}
    assert len(labels) == 1  # escalation from P3 to P1 included
    assert alert_of(LIFECYCLE[0])["labels"] == {
        "alertname": "SloctlIncident",
        "incident": "INC-0007",
        "service": "api",
        "cause": "errors",
    }


@pytest.mark.parametrize("ev", LIFECYCLE, ids=[ev.kind.value for ev in LIFECYCLE])
def test_alertmanager_ends_only_on_resolve(ev: IncidentEvent) -> None:
    alert = alert_of(ev)
    assert alert["startsAt"] == "2026-11-02T09:00:00.000Z"
    assert alert["annotations"]["severity"] == ev.severity
    assert alert["annotations"]["state"] == ev.state
    assert alert["annotations"]["impact"] == ev.impact
    assert alert["annotations"]["summary"] == ev.summary
    if ev.kind is EventKind.RESOLVED:
        assert alert["endsAt"] == "2026-11-02T10:12:30.000Z"
    else:
        assert "endsAt" not in alert


def test_alertmanager_resolved_alert_is_resent_for_the_grace_period() -> None:
    sink = AlertmanagerSink("http://am:9093", resolve_grace=timedelta(minutes=5))
    resolved = LIFECYCLE[5]
    assert resolved.resolved_at is not None
    assert sink.keep_sending(LIFECYCLE[0], START + timedelta(days=30))
    assert sink.keep_sending(resolved, resolved.resolved_at + timedelta(minutes=4))
    assert not sink.keep_sending(resolved, resolved.resolved_at + timedelta(minutes=5))


# --- Events, sinks and secrets ----------------------------------------------------------------


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"at": datetime(2026, 11, 2)}, id="naive-at"),
        pytest.param({"started_at": datetime(2026, 11, 2)}, id="naive-start"),
        pytest.param({"resolved_at": datetime(2026, 11, 2)}, id="naive-end"),
        pytest.param({"severity": "P0"}, id="unknown-severity"),
        pytest.param({"state": "fixed"}, id="unknown-state"),
        pytest.param({"incident_id": ""}, id="no-id"),
    ],
)
def test_invalid_events_are_refused(changes: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=r"."):
        event(EventKind.DECLARED, **changes)


def test_sinks_keep_secrets_out_of_their_repr() -> None:
    sinks: list[Sink] = [
        SlackSink("https://hooks.example.com" + HOOK_PATH),
        PagerDutySink(ROUTING_KEY),
        AlertmanagerSink("http://am:9093"),
    ]
    assert [sink.name for sink in sinks] == ["slack", "pagerduty", "alertmanager"]
    for sink in sinks:
        for request in sink.requests_for(LIFECYCLE[0]):
            shown = f"{sink!r} {request!r}"
            assert HOOK_PATH not in shown
            assert ROUTING_KEY not in shown


# --- Delivery against loopback servers --------------------------------------------------------


@dataclass
class Reply:
    status: int
    delay: float = 0.0
    echo: bool = False  # answer with the request's path and body, as a careless server might


@dataclass
class Received:
    path: str
    body: Any
    headers: dict[str, str]


@dataclass
class Script:
    """Replies handed out in order (the last one repeats) and the requests received."""

    replies: list[Reply]
    received: list[Received] = field(default_factory=list)

    def next(self) -> Reply:
        return self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]


@pytest.fixture
def server() -> Iterator[tuple[str, Script]]:
    script = Script([Reply(200)])

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            raw = self.rfile.read(length).decode()
            script.received.append(Received(self.path, json.loads(raw), dict(self.headers)))
            reply = script.next()
            if reply.delay:
                time.sleep(reply.delay)
            payload = f"refused {self.path}: {raw}".encode() if reply.echo else b"ok"
            try:
                self.send_response(reply.status)
                if 300 <= reply.status < 400:
                    self.send_header("Location", "http://127.0.0.1:1/elsewhere")
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except BrokenPipeError:
                pass  # a delayed reply after the client gave up: the timeout under test

        def log_message(self, format: str, *args: object) -> None:
            return

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", script
    finally:
        httpd.shutdown()
        httpd.server_close()


POLICY = RetryPolicy(attempts=4, base_delay=0.5, max_delay=1.5)


def hook_request(url: str) -> Request:
    [request] = SlackSink(url + HOOK_PATH).requests_for(LIFECYCLE[0])
    return request


def run(request: Request, pauses: list[float], timeout: float = 5.0) -> Attempt:
    with requests.Session() as session:
        return deliver(
            request,
            session=session,
            timeout=timeout,
            retry=POLICY,
            sleep=pauses.append,
            rng=random.Random(7),
        )


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        (200, Outcome.DELIVERED),
        (202, Outcome.RETRY),  # Slack's success is 200 "ok", nothing else
        (204, Outcome.RETRY),
        (408, Outcome.RETRY),
        (429, Outcome.RETRY),
        (500, Outcome.RETRY),
        (503, Outcome.RETRY),
        (400, Outcome.FAILED),
        (403, Outcome.FAILED),
        (404, Outcome.FAILED),
        (410, Outcome.FAILED),
        (307, Outcome.FAILED),
    ],
)
def test_send_classifies_one_attempt(
    server: tuple[str, Script], status: int, outcome: Outcome
) -> None:
    url, script = server
    script.replies = [Reply(status)]
    request = hook_request(url)
    with requests.Session() as session:
        attempt = send(request, session, timeout=5.0)
    assert attempt.outcome is outcome
    assert attempt.status == status
    assert f"HTTP {status}" in attempt.reason
    assert len(script.received) == 1  # redirects are not followed
    assert script.received[0].path == HOOK_PATH
    assert script.received[0].body == request.body
    assert script.received[0].headers["Content-Type"] == "application/json"


@pytest.mark.parametrize(
    ("replies", "sent"),
    [
        pytest.param([Reply(500), Reply(200)], 2, id="500-then-ok"),
        pytest.param([Reply(429), Reply(429), Reply(200)], 3, id="429-twice-then-ok"),
        pytest.param([Reply(502), Reply(503), Reply(429), Reply(200)], 4, id="ok-on-last"),
        pytest.param([Reply(200, delay=1.0), Reply(200)], 2, id="timeout-then-ok"),
    ],
)
def test_deliver_retries_with_jittered_backoff(
    server: tuple[str, Script], replies: list[Reply], sent: int
) -> None:
    url, script = server
    script.replies = replies
    pauses: list[float] = []
    attempt = run(hook_request(url), pauses, timeout=0.3)
    assert attempt.outcome is Outcome.DELIVERED
    assert len(script.received) == sent
    assert len(pauses) == sent - 1
    for number, pause in enumerate(pauses):
        assert 0 <= pause <= min(POLICY.max_delay, POLICY.base_delay * 2**number)


@pytest.mark.parametrize("status", [400, 401, 404, 422])
def test_deliver_never_retries_a_client_error(server: tuple[str, Script], status: int) -> None:
    url, script = server
    script.replies = [Reply(status), Reply(200)]
    pauses: list[float] = []
    attempt = run(hook_request(url), pauses)
    assert attempt == Attempt(Outcome.FAILED, status, f"HTTP {status}: ok")
    assert len(script.received) == 1
    assert pauses == []


@pytest.mark.parametrize(
    ("replies", "expected", "sent"),
    [
        pytest.param(
            [Reply(500)],
            Attempt(Outcome.RETRY, 500, "HTTP 500: ok"),
            4,
            id="500-until-the-attempts-run-out",
        ),
        pytest.param(
            [Reply(503), Reply(429), Reply(429), Reply(502)],
            Attempt(Outcome.RETRY, 502, "HTTP 502: ok"),
            4,
            id="last-attempt-returned",
        ),
        pytest.param(
            [Reply(500), Reply(500), Reply(400)],
            Attempt(Outcome.FAILED, 400, "HTTP 400: ok"),
            3,
            id="finally-fails",
        ),
        pytest.param(
            [Reply(200, delay=1.0)],
            Attempt(Outcome.RETRY, None, "no answer within 0.3 s"),
            4,
            id="hangs",
        ),
    ],
)
def test_deliver_is_bounded_and_returns_the_last_attempt(
    server: tuple[str, Script], replies: list[Reply], expected: Attempt, sent: int
) -> None:
    url, script = server
    script.replies = replies
    pauses: list[float] = []
    assert run(hook_request(url), pauses, timeout=0.3) == expected
    assert len(script.received) == sent
    assert len(pauses) == sent - 1
    assert all(0 <= pause <= POLICY.max_delay for pause in pauses)


def test_refused_connection_is_retried_then_given_up() -> None:
    pauses: list[float] = []
    attempt = run(hook_request(f"http://127.0.0.1:{free_port()}"), pauses)
    assert attempt == Attempt(Outcome.RETRY, None, "cannot connect (Connection refused)")
    assert len(pauses) == POLICY.attempts - 1


@pytest.mark.parametrize(
    "reply",
    [Reply(400, echo=True), Reply(500, echo=True), Reply(200, delay=1.0), None],
    ids=["400-echo", "500-echo", "timeout", "refused"],
)
def test_reasons_never_hold_the_webhook_path_or_routing_key(
    server: tuple[str, Script], reply: Reply | None
) -> None:
    url, script = server
    if reply is None:
        url = f"http://127.0.0.1:{free_port()}"
    else:
        script.replies = [reply]
    secret_url = f"http://user:pa55word@{url.removeprefix('http://')}"
    requests_ = [
        *SlackSink(url + HOOK_PATH).requests_for(LIFECYCLE[0]),
        *PagerDutySink(ROUTING_KEY, url + "/v2/enqueue?token=Q5ecret1234").requests_for(
            LIFECYCLE[0]
        ),
        *SlackSink(secret_url + "/hook").requests_for(LIFECYCLE[0]),
    ]
    for request in requests_:
        with requests.Session() as session:
            attempt = send(request, session, timeout=0.3)
        assert attempt.outcome is not Outcome.DELIVERED
        for secret in (HOOK_PATH, "W3bh00kS3cretT0ken", ROUTING_KEY, "Q5ecret1234", "pa55word"):
            assert secret not in attempt.reason
    if reply is not None and reply.echo:
        assert "[redacted]" in attempt.reason  # the echo was there, and was scrubbed


@pytest.mark.parametrize("attempt", range(8))
def test_retry_delay_is_full_jitter_under_the_ceiling(attempt: int) -> None:
    policy = RetryPolicy(attempts=9, base_delay=1.0, max_delay=60.0)
    rng = random.Random(attempt)
    ceiling = min(60.0, 2.0**attempt)
    pauses = [policy.delay(attempt, rng) for _ in range(200)]
    assert all(0 <= pause <= ceiling for pause in pauses)
    assert min(pauses) < ceiling / 4  # spread over the whole range, not pinned to the ceiling
    assert max(pauses) > ceiling * 3 / 4


@pytest.mark.parametrize("changes", [{"attempts": 0}, {"base_delay": -1.0}, {"max_delay": -1.0}])
def test_retry_policy_refuses_nonsense(changes: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=r"."):
        RetryPolicy(**changes)


def test_every_affected_service_and_cause_is_named() -> None:
    declared = event(EventKind.DECLARED, service="database", services=("database", "api"))
    assert "Service(s): database, api" in SlackSink.text(declared)
    resolved = event(
        EventKind.RESOLVED,
        state="resolved",
        resolved_at=START + timedelta(minutes=30),
        causes=("errors", "latency"),
    )
    assert "(elevated error ratio, high latency)" in SlackSink.text(resolved)
    assert "Service(s): api" in SlackSink.text(resolved)  # no list: the service alone
