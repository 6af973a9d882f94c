"""The outbox against real receivers on loopback: retried until relevant, in order, coalesced,
bounded in time, and left alone while another live process sends it."""

from __future__ import annotations

import io
import json
import os
import subprocess
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest

from sloctl.core.severity import Severity
from sloctl.incidents.events import Event, EventKind
from sloctl.incidents.lifecycle import Incident, State, acknowledge, declare, move, observe
from sloctl.incidents.policy import Cause, Finding
from sloctl.notify.alertmanager import AlertmanagerSink
from sloctl.notify.message import IncidentEvent, Sink
from sloctl.notify.outbox import (
    Courier,
    DeliveryPolicy,
    messages,
    payload,
)
from sloctl.notify.pagerduty import PagerDutySink
from sloctl.notify.slack import SlackSink
from sloctl.runtime.logs import make_logger
from sloctl.store.database import Store, open_store
from tests.integration.receivers import (
    HANG,
    PAGERDUTY_OK,
    SLACK_OK,
    TRICKLE,
    TRICKLE_HEADERS,
    Answer,
    FaultReceiver,
    kinds_sent,
    lifecycle,
    pagerduty_actions,
    receiver,
)

T0 = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
START = T0 - timedelta(minutes=1)
"""When the tests' incidents begin: every message they queue is due at T0."""
INCIDENT = declare("INC-0001", "api", Finding(Cause.ERRORS, Severity.P1, "outage"), T0)
FAST = DeliveryPolicy(base_delay=1.0, max_delay=4.0, send_timeout=2.0)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = open_store(tmp_path / "store.db")
    yield opened
    opened.close()


@pytest.fixture
def slack() -> Iterator[FaultReceiver]:
    with receiver(SLACK_OK) as started:
        yield started


def courier(
    url: str, policy: DeliveryPolicy = FAST, **extra: object
) -> Courier:  # one Slack sink at url
    return Courier({"slack": SlackSink(f"{url}/hook-secret")}, policy, **extra)  # type: ignore[arg-type]


def statuses(store: Store) -> list[str]:
    return [m.status for m in store.outbox()]


def test_messages_for_other_sinks_stay_pending(store: Store) -> None:
    event = Event(EventKind.DECLARED, INCIDENT, T0, ("everyone",))
    with store.transaction() as connection:
        store.save(INCIDENT, connection=connection, events=[("pagerduty", payload(event))], now=T0)
    counts = Courier({}).flush(store, T0)
    assert set(counts.values()) == {0}
    [message] = store.outbox()
    assert (message.status, message.attempts) == ("pending", 0)


def test_stored_payload_round_trips_to_an_incident_event() -> None:
    event = Event(EventKind.DECLARED, INCIDENT, T0, ("everyone", "leadership"))
    restored = IncidentEvent.from_stored(payload(event), "a1b2c3")
    assert restored == IncidentEvent.of(event, "a1b2c3")
    assert restored.incident_id == "INC-0001"
    assert restored.kind is EventKind.DECLARED
    assert restored.severity is Severity.P1
    assert restored.state is State.DETECTED
    assert restored.escalate_to == ("everyone", "leadership")
    assert restored.started_at == T0
    assert restored.installation == "a1b2c3"


EARLIER = (
    '{"actor": "alice", "at": "2026-11-02T09:59:00+00:00", "cause": "errors", "causes": '
    '["errors"], "escalate_to": [], "impact": "62.0% of requests failing at worst", '
    '"incident_id": "INC-0001", "kind": "resolved", "note": "rolled back deploy 42", '
    '"resolved_at": "2026-11-02T09:59:00+00:00", "service": "api", "services": ["api"], '
    '"severity": "P1", "started_at": "2026-11-02T09:40:00+00:00", "state": "resolved", '
    '"summary": "error ratio above 50%"}'
)
"""A resolution as sloctl stored it before its stored form became a typed value (the outbox's
``event`` column, byte for byte)."""


def resolved_twenty_minutes_in() -> Incident:
    finding = Finding(Cause.ERRORS, Severity.P1, "error ratio above 50%")
    incident = observe(declare("INC-0001", "api", finding, T0 - timedelta(minutes=20)), 0.62, None)
    incident = acknowledge(incident, T0 - timedelta(minutes=15), actor="alice", note="on it")
    return move(
        incident,
        State.RESOLVED,
        T0 - timedelta(minutes=1),
        actor="alice",
        note="rolled back deploy 42",
    )


def test_the_stored_form_is_the_earlier_one() -> None:
    incident = resolved_twenty_minutes_in()
    event = Event(EventKind.RESOLVED, incident, T0 - timedelta(minutes=1))
    assert json.dumps(payload(event), sort_keys=True) == EARLIER


def test_a_message_stored_by_an_earlier_version_is_delivered(
    store: Store, slack: FaultReceiver
) -> None:
    with store.transaction() as connection:
        store.save(
            resolved_twenty_minutes_in(),
            connection=connection,
            events=[("slack", json.loads(EARLIER))],
            now=T0,
        )
    [(stored,)] = store._db.execute("SELECT event FROM outbox").fetchall()
    assert stored == EARLIER
    assert courier(slack.url).flush(store, T0)["delivered"] == 1
    [sent] = slack.received
    assert sent.text.startswith(":large_green_circle: INCIDENT RESOLVED")
    assert "Duration: 19 minutes" in sent.text
    assert "Root Cause: rolled back deploy 42" in sent.text
    assert "Post-mortem scheduled for no later than 2026-11-05 09:59 UTC" in sent.text


def test_one_message_per_event_and_configured_sink() -> None:
    sinks: dict[str, Sink] = {"slack": SlackSink("http://127.0.0.1:9/hook")}
    event = Event(EventKind.DECLARED, INCIDENT, T0)
    assert [sink for sink, _ in messages([event, event], sinks)] == ["slack", "slack"]


def test_an_outage_is_retried_at_capped_pauses_and_never_given_up(
    store: Store, slack: FaultReceiver
) -> None:
    lifecycle(store, ["slack"], START, resolve=False)
    slack.down()
    mail = courier(slack.url)
    now = T0
    for _ in range(12):  # far more attempts than any fixed limit would allow
        counts = mail.flush(store, now)
        assert counts["failed"] == 0
        head = store.outbox(status="pending")[0]
        assert head.next_attempt_at - now <= timedelta(seconds=FAST.max_delay + 1)
        assert "Connection refused" in head.last_error
        now = head.next_attempt_at
    assert [m.attempts for m in store.outbox()] == [12, 0]  # the ack waits behind the declaration
    slack.up()
    mail.flush(store, now)
    assert statuses(store) == ["delivered", "delivered"]
    assert kinds_sent(slack.received) == ["declared", "update"]


def test_a_message_older_than_max_age_expires_visibly(store: Store, slack: FaultReceiver) -> None:
    lifecycle(store, ["slack"], START, resolve=False)
    slack.down()
    logs = io.StringIO()
    mail = courier(
        slack.url,
        DeliveryPolicy(max_age=timedelta(hours=1)),
        logger=make_logger("info", stream=logs),
    )
    assert mail.flush(store, START + timedelta(minutes=59))["retry"] == 1
    assert mail.flush(store, START + timedelta(hours=1, seconds=2))["expired"] == 2
    assert statuses(store) == ["expired", "expired"]
    assert "not delivered within 1:00:00" in store.outbox()[0].last_error
    assert mail.by_sink[("slack", "expired")] == 2
    assert '"outcome": "expired"' in logs.getvalue()


@pytest.mark.parametrize(
    ("answer", "status", "error"),
    [
        (Answer(404, b"no_service"), "failed", "HTTP 404: no_service"),
        (Answer(403, b"invalid_token"), "failed", "HTTP 403: invalid_token"),
        (Answer(410, b"channel_is_archived"), "failed", "HTTP 410"),
        (Answer(400, b"ok"), "failed", "HTTP 400: ok"),
        (Answer(401, b"ok"), "failed", "HTTP 401: ok"),
        (Answer(422, b"ok"), "failed", "HTTP 422: ok"),
        (Answer(307, b"ok", {"Location": "http://127.0.0.1:1/elsewhere"}), "failed", "HTTP 307"),
        (Answer(200, b"invalid_token"), "failed", "Slack refused the message (invalid_token)"),
        (Answer(200, b'{"ok":false,"error":"invalid_token"}'), "failed", "invalid_token"),
        (Answer(200, b"<html>proxy login</html>"), "pending", "HTTP 200 without Slack's ok"),
        (Answer(204, b""), "pending", "HTTP 204 without Slack's ok"),
        (Answer(408, b"slow"), "pending", "HTTP 408"),
        (Answer(429, b"rate_limited"), "pending", "HTTP 429"),
        (Answer(503, b"down"), "pending", "HTTP 503"),
    ],
)
def test_only_a_permanent_refusal_ends_a_message_early(
    store: Store, slack: FaultReceiver, answer: Answer, status: str, error: str
) -> None:
    lifecycle(store, ["slack"], START, resolve=False)
    slack.set(answer)
    logs = io.StringIO()
    mail = courier(slack.url, logger=make_logger("info", stream=logs))
    counts = mail.flush(store, T0)
    first = store.outbox()[0]
    assert (first.status, first.attempts) == (status, 1)
    assert error in first.last_error
    assert "hook-secret" not in first.last_error + logs.getvalue()
    if status == "failed":
        # The next message of the incident is not held up by the refused one (and is
        # refused in turn).
        assert counts["failed"] == 2
        assert statuses(store) == ["failed", "failed"]
        assert mail.by_sink[("slack", "failed")] == 2
        lines = [json.loads(x) for x in logs.getvalue().splitlines() if '"failed"' in x]
        assert [line["level"] for line in lines] == ["warning", "warning"]
        assert len(slack.received) == 2
        slack.set(SLACK_OK)
        assert set(mail.flush(store, T0 + timedelta(hours=1)).values()) == {0}
        assert len(slack.received) == 2  # never retried, redirects never followed
    else:
        assert len(slack.received) == 1  # the ack waits behind the declaration


@pytest.mark.parametrize(
    "answered",
    [
        pytest.param([500, 200], id="500-then-ok"),
        pytest.param([429, 429, 200], id="429-twice-then-ok"),
        pytest.param([502, 503, 429, 200], id="ok-on-the-fourth"),
    ],
)
def test_retried_at_jittered_pauses_until_delivered(
    store: Store, slack: FaultReceiver, answered: list[int]
) -> None:
    lifecycle(store, ["slack"], START, resolve=False)
    slack.play([Answer(status, b"ok") for status in answered])
    mail = courier(slack.url)
    now = T0
    for number, status in enumerate(answered[:-1]):
        started = time.monotonic()
        assert mail.flush(store, now)["retry"] == 1
        took = time.monotonic() - started
        head = store.outbox()[0]
        assert (head.attempts, head.last_error) == (number + 1, f"HTTP {status}: ok")
        # Full jitter under the capped exponential ceiling, from the attempt's end.
        ceiling = min(FAST.max_delay, FAST.base_delay * 2**number)
        assert timedelta(0) <= head.next_attempt_at - now <= timedelta(seconds=ceiling + took)
        early = head.next_attempt_at - timedelta(milliseconds=1)
        assert set(mail.flush(store, early).values()) == {0}  # not before the pause ends
        now = head.next_attempt_at
    assert mail.flush(store, now)["delivered"] == 2
    assert len(slack.received) == len(answered) + 1
    assert statuses(store) == ["delivered", "delivered"]


def test_each_sinks_documented_success(store: Store) -> None:
    with (
        receiver(PAGERDUTY_OK) as pagerduty,
        receiver(Answer(200, b"")) as alertmanager,
        receiver(Answer(200, b'{"status":"invalid event"}')) as not_pagerduty,
    ):
        lifecycle(store, ["alertmanager", "pagerduty", "slack"], START, resolve=False)
        Courier(
            {
                "pagerduty": PagerDutySink("KEY", f"{pagerduty.url}/v2/enqueue"),
                "alertmanager": AlertmanagerSink(alertmanager.url),
                "slack": SlackSink(f"{not_pagerduty.url}/x"),
            },
            FAST,
        ).flush(store, T0)
        assert pagerduty_actions(pagerduty.received) == ["trigger", "acknowledge"]
        assert len(alertmanager.received) == 2
        by_sink = {(m.sink, m.kind): m.status for m in store.outbox()}
        assert by_sink[("pagerduty", "acknowledged")] == "delivered"
        assert by_sink[("alertmanager", "acknowledged")] == "delivered"
        assert by_sink[("slack", "declared")] == "pending"  # a 200 that is not "ok"


@pytest.mark.parametrize("form", ["seconds", "http-date"])
def test_retry_after_is_honoured(store: Store, slack: FaultReceiver, form: str) -> None:
    lifecycle(store, ["slack"], START, resolve=False)
    later = T0 + timedelta(seconds=30)
    value = "30" if form == "seconds" else format_datetime(later, usegmt=True)
    slack.set(Answer(429, b"rate_limited", {"Retry-After": value}))
    mail = courier(slack.url)
    mail.flush(store, T0)
    head = store.outbox()[0]
    assert head.next_attempt_at >= later
    assert head.next_attempt_at < later + timedelta(seconds=FAST.max_delay + 2)
    slack.set(SLACK_OK)
    assert mail.flush(store, T0 + timedelta(seconds=29))["delivered"] == 0  # not before
    assert mail.flush(store, head.next_attempt_at)["delivered"] == 2
    assert len(slack.received) == 3


def test_per_incident_order_is_kept_and_updates_are_superseded(
    store: Store, slack: FaultReceiver
) -> None:
    first = lifecycle(store, ["slack"], START, updates=3)
    second = lifecycle(store, ["slack"], START, service="auth", resolve=False)
    slack.down()
    mail = courier(slack.url)
    mail.flush(store, T0 + timedelta(seconds=10))
    slack.up()
    now = T0 + timedelta(minutes=1)
    while store.outbox(status="pending"):
        mail.flush(store, now)
        now += timedelta(seconds=5)
    by_incident: dict[str, list[str]] = {first: [], second: []}
    for message in store.outbox():
        by_incident[message.incident_id].append(f"{message.kind}:{message.status}")
    # Every update was overtaken by a later message: the resolution says where it ended.
    assert by_incident[first] == [
        "declared:delivered",
        "acknowledged:delivered",
        "updated:superseded",
        "updated:superseded",
        "updated:superseded",
        "resolved:delivered",
    ]
    assert by_incident[second] == ["declared:delivered", "acknowledged:delivered"]
    about_first = [r for r in slack.received if first.lower() in r.text]
    assert kinds_sent(about_first)[-3:] == ["declared", "update", "resolved"]
    assert kinds_sent(about_first).count("resolved") == 1


def test_state_flips_are_coalesced_and_the_latest_is_sent(
    store: Store, slack: FaultReceiver
) -> None:
    policy = DeliveryPolicy(coalesce=timedelta(minutes=2))
    mail = courier(slack.url, policy)
    incident = lifecycle(store, ["slack"], START, resolve=False)
    mail.flush(store, T0 + timedelta(seconds=2))
    assert kinds_sent(slack.received) == ["declared", "update"]  # the ack is never held back
    stored = store.get(incident)
    assert stored is not None
    # A flapping signal: monitoring <-> mitigating every 10 s for 85 s, flushed every second.
    moment = T0 + timedelta(seconds=5)
    for flip in range(9):
        moment += timedelta(seconds=10)
        stored = move(
            stored,
            State.MONITORING if flip % 2 == 0 else State.MITIGATING,
            moment,
            actor="sloctl",
            note=f"flip {flip}",
        )
        event = Event(EventKind.UPDATED, stored, moment, note=f"flip {flip}")
        with store.transaction() as connection:
            store.save(
                stored, connection=connection, events=[("slack", payload(event))], now=moment
            )
        for tick in range(10):
            mail.flush(store, moment + timedelta(seconds=tick))
    mail.flush(store, moment + timedelta(minutes=3))
    updates = [r.text for r in slack.received[2:]]
    # 9 flips in 85 s: the first goes at once, then one when the 2-minute window has passed.
    assert len(updates) == 2
    assert "Update: flip 0" in updates[0]
    assert "Update: flip 8" in updates[1]  # the latest state, not a stale one
    assert [m.status for m in store.outbox()[2:]] == ["delivered"] + ["superseded"] * 7 + [
        "delivered"
    ]
    # A resolution is never held back by the window.
    resolved = move(
        stored,
        State.RESOLVED,
        moment + timedelta(minutes=3, seconds=1),
        actor="alice",
        note="fixed",
    )
    event = Event(EventKind.RESOLVED, resolved, resolved.resolved_at or moment)
    with store.transaction() as connection:
        store.save(
            resolved,
            connection=connection,
            events=[("slack", payload(event))],
            now=moment + timedelta(minutes=3, seconds=1),
        )
    mail.flush(store, moment + timedelta(minutes=3, seconds=2))
    assert kinds_sent(slack.received)[-1] == "resolved"


def test_a_hung_receiver_costs_one_bounded_attempt_per_flush(
    store: Store, slack: FaultReceiver
) -> None:
    for service in ("api", "auth"):
        lifecycle(store, ["slack"], START, service=service)
    slack.set(HANG)
    mail = courier(slack.url, DeliveryPolicy(base_delay=0.0, max_delay=0.0, send_timeout=1.0))
    for flush in range(3):
        started = time.monotonic()
        counts = mail.flush(store, T0 + timedelta(seconds=5 * flush))
        assert time.monotonic() - started < 1.0 + 1.5  # the send bound, and the join's margin
        # The sink did not answer: its other queues are not tried in this flush.
        assert (counts["retry"], counts["delivered"]) == (1, 0)
    assert len(slack.received) == 3
    assert "no answer within 1 s" in store.outbox()[0].last_error
    slack.set(SLACK_OK)
    mail.flush(store, T0 + timedelta(seconds=20))
    assert statuses(store) == ["delivered"] * 6


@pytest.mark.parametrize(
    "every",
    [
        pytest.param(1.0, id="a-byte-a-second"),
        # Slower than the whole attempt: the read itself times out, and says the same.
        pytest.param(2.5, id="a-byte-every-2.5-s"),
    ],
)
def test_a_trickled_answer_is_given_up_at_the_deadline(
    store: Store, slack: FaultReceiver, every: float
) -> None:
    lifecycle(store, ["slack"], START, resolve=False)
    mail = courier(slack.url, DeliveryPolicy(base_delay=0.0, max_delay=0.0, send_timeout=1.0))
    slack.set(replace(TRICKLE, every=every))  # headers at once, then the body byte by byte
    started = time.monotonic()
    assert mail.flush(store, T0)["retry"] == 1
    assert time.monotonic() - started < 1.0 + 1.5
    assert "answer not complete in 1 s" in store.outbox()[0].last_error
    slack.set(SLACK_OK)
    mail.flush(store, T0 + timedelta(seconds=3))
    assert kinds_sent(slack.received) == ["declared", "declared", "update"]


def test_an_abandoned_attempt_is_not_sent_again_while_it_is_unanswered(
    store: Store, slack: FaultReceiver
) -> None:
    """Headers trickled byte by byte hold requests inside its own reading: the attempt's thread
    is abandoned at the deadline, and its message is not sent again while that thread lives."""
    lifecycle(store, ["slack"], START, resolve=False)
    mail = courier(slack.url, DeliveryPolicy(base_delay=0.0, max_delay=0.0, send_timeout=1.0))
    slack.set(TRICKLE_HEADERS)
    started = time.monotonic()
    assert mail.flush(store, T0)["retry"] == 1
    assert time.monotonic() - started < 1.0 + 1.5
    assert "no complete answer within 1 s" in store.outbox()[0].last_error
    assert mail.in_flight() == 1
    counts = mail.flush(store, T0 + timedelta(seconds=5))  # due again (no pause)...
    assert set(counts.values()) == {0}  # ...but still unanswered: left alone
    assert len(slack.received) == 1
    slack.set(SLACK_OK)  # lets the trickle go: the abandoned attempt ends
    deadline = time.monotonic() + 10
    while mail.in_flight():
        assert time.monotonic() < deadline
        time.sleep(0.05)
    mail.flush(store, T0 + timedelta(seconds=6))
    assert kinds_sent(slack.received) == ["declared", "declared", "update"]


def test_the_answer_read_is_capped(store: Store, slack: FaultReceiver) -> None:
    lifecycle(store, ["slack"], START, resolve=False)
    slack.set(Answer(200, b"ok" * 5_000_000))  # 10 MB that starts like Slack's answer
    started = time.monotonic()
    courier(slack.url).flush(store, T0)
    assert time.monotonic() - started < 2.0
    assert "HTTP 200 without Slack's ok" in store.outbox()[0].last_error


def test_a_message_claimed_by_another_live_process_is_left_alone(
    store: Store, slack: FaultReceiver
) -> None:
    lifecycle(store, ["slack"], START, resolve=False)
    other = subprocess.Popen(["sleep", "60"])
    try:
        [head, _] = store.outbox()
        assert store.claim(head, f"{other.pid}:otherrun", T0 + timedelta(minutes=2))
        mail = courier(slack.url)
        assert mail.flush(store, T0)["delivered"] == 0
        assert slack.received == []  # the whole queue waits: order before speed
    finally:
        other.kill()
        other.wait()
    # That process is gone: its claim means nothing, the message goes at once.
    assert mail.flush(store, T0 + timedelta(seconds=1))["delivered"] == 2
    assert kinds_sent(slack.received) == ["declared", "update"]


def test_a_claim_of_this_pid_by_an_earlier_run_is_ignored(
    store: Store, slack: FaultReceiver
) -> None:
    """In a container the daemon is always pid 1: a claim with this pid and another run id was
    left by a process that is gone."""
    lifecycle(store, ["slack"], START, resolve=False)
    head = store.outbox()[0]
    assert store.claim(head, f"{os.getpid()}:earlier", T0 + timedelta(minutes=2))
    assert courier(slack.url).flush(store, T0)["delivered"] == 2


def test_a_deadline_defers_what_was_not_tried(store: Store, slack: FaultReceiver) -> None:
    for service in ("api", "auth", "web"):
        lifecycle(store, ["slack"], START, service=service, resolve=False)
    mail = courier(slack.url)
    counts = mail.flush(store, T0, deadline=time.monotonic())
    assert counts["delivered"] == 0
    assert counts["deferred"] == 3
    assert all(m.attempts == 0 and m.claimed_by is None for m in store.outbox())
    assert mail.flush(store, T0)["delivered"] == 6


def test_an_unreadable_message_fails_and_does_not_block_its_queue(
    store: Store, slack: FaultReceiver
) -> None:
    lifecycle(store, ["slack"], START, resolve=False)
    store._db.execute('UPDATE outbox SET event = \'{"kind": "declared"}\' WHERE id = 1')
    counts = courier(slack.url).flush(store, T0)
    assert (counts["failed"], counts["delivered"]) == (1, 1)
    assert "stored message unreadable (KeyError" in store.outbox()[0].last_error
    assert kinds_sent(slack.received) == ["update"]


def test_role_notes_go_to_chat_only_with_the_commander_stored() -> None:
    sinks: dict[str, Sink] = {
        "alertmanager": AlertmanagerSink("http://127.0.0.1:9"),
        "pagerduty": PagerDutySink("KEY"),
        "slack": SlackSink("http://127.0.0.1:9/hook"),
    }
    declared = Event(EventKind.DECLARED, INCIDENT, T0)
    assigned = Event(EventKind.ASSIGNED, INCIDENT, T0, role="scribe", who="@cat")
    due = T0 + timedelta(minutes=15)
    reminded = Event(EventKind.REMINDER, INCIDENT, due, role="update", who="@ann", due_at=due)
    queued = messages([declared, assigned, reminded], sinks, {"INC-0001": "@ann"})
    assert [(sink, body["kind"]) for sink, body in queued] == [
        ("alertmanager", "declared"),
        ("pagerduty", "declared"),
        ("slack", "declared"),
        ("slack", "assigned"),
        ("slack", "reminder"),
    ]
    restored = IncidentEvent.from_stored(queued[-1][1])
    assert (restored.commander, restored.role, restored.who, restored.due_at) == (
        "@ann",
        "update",
        "@ann",
        due,
    )
    # The payload of an event without role fields is what it was before them.
    assert "status" not in payload(declared)
    assert "due_at" not in payload(declared)


def test_a_note_never_supersedes_the_update_before_it(store: Store, slack: FaultReceiver) -> None:
    mitigating = move(INCIDENT, State.MITIGATING, START, actor="@ann")
    events = [
        Event(EventKind.UPDATED, mitigating, START, note="rolled back", status="mitigating"),
        Event(EventKind.ASSIGNED, mitigating, START, role="scribe", who="@cat"),
    ]
    with store.transaction() as connection:
        store.save(
            mitigating,
            connection=connection,
            events=messages(events, {"slack": SlackSink("x")}),
            now=START,
        )
    courier(slack.url).flush(store, T0)
    assert [f"{m.kind}:{m.status}" for m in store.outbox()] == [
        "updated:delivered",
        "assigned:delivered",
    ]
    assert [r.text.splitlines()[0] for r in slack.received] == [
        ":yellow_circle: INCIDENT UPDATE",
        ":busts_in_silhouette: INCIDENT ROLE ASSIGNED",
    ]
