"""One bounded attempt, classified, against the shared loopback receiver."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import requests

from sloctl.demo.local_prometheus import free_port
from sloctl.notify.alertmanager import alertmanager_answer
from sloctl.notify.pagerduty import PagerDutySink, pagerduty_answer
from sloctl.notify.send import Outcome, Request, retry_after_seconds, send
from sloctl.notify.slack import SlackSink, slack_answer
from tests.integration.receivers import HANG, SLACK_OK, Answer, FaultReceiver, receiver
from tests.unit.notify.examples import HOOK_PATH, LIFECYCLE, ROUTING_KEY


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


@pytest.fixture
def server() -> Iterator[FaultReceiver]:
    with receiver(SLACK_OK) as started:
        yield started


def hook_request(url: str) -> Request:
    [request] = SlackSink(url + HOOK_PATH).requests_for(LIFECYCLE[0])
    return request


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
def test_send_classifies_one_attempt(server: FaultReceiver, status: int, outcome: Outcome) -> None:
    elsewhere = {"Location": "http://127.0.0.1:1/elsewhere"} if 300 <= status < 400 else {}
    server.set(Answer(status, b"ok", elsewhere))
    request = hook_request(server.url)
    with requests.Session() as session:
        attempt = send(request, session, timeout=5.0)
    assert attempt.outcome is outcome
    assert attempt.status == status
    assert f"HTTP {status}" in attempt.reason
    [received] = server.received  # redirects are not followed
    assert received.path == HOOK_PATH
    assert received.body == request.body
    assert received.headers["Content-Type"] == "application/json"


@pytest.mark.parametrize(
    "reply",
    [Answer(400, echo=True), Answer(500, echo=True), HANG, None],
    ids=["400-echo", "500-echo", "timeout", "refused"],
)
def test_reasons_never_hold_the_webhook_path_or_routing_key(
    server: FaultReceiver, reply: Answer | None
) -> None:
    url = server.url
    if reply is None:
        url = f"http://127.0.0.1:{free_port()}"
    else:
        server.set(reply)
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
