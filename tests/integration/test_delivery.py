"""Delivery by a real ``sloctl run`` to receivers that hang, refuse and come back, on loopback.

Messages are queued in the daemon's store as the CLI queues them (one committed change at a
time), while the daemon runs; what is asserted is what the receivers got, and when.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bench.delivery_bench import outage
from sloctl.daemon.loop import STOP_SECONDS
from sloctl.daemon.notifications import webhook_verify
from sloctl.demo.local_prometheus import free_port
from sloctl.loading.config import load_config
from sloctl.notify.outbox import Courier, DeliveryPolicy
from sloctl.notify.slack import SlackSink
from sloctl.store.database import open_store
from tests.integration.conftest import Served
from tests.integration.daemon_process import SloctlRun, cycle_gaps
from tests.integration.receivers import (
    HANG,
    PAGERDUTY_OK,
    SLACK_OK,
    FaultReceiver,
    kinds_sent,
    lifecycle,
    pagerduty_actions,
    receiver,
    tls_server,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def slack() -> Iterator[FaultReceiver]:
    with receiver(SLACK_OK) as started:
        yield started


@pytest.fixture
def pagerduty() -> Iterator[FaultReceiver]:
    with receiver(PAGERDUTY_OK) as started:
        yield started


def queue(run: SloctlRun, services: list[str], **options: object) -> list[str]:
    """Incidents declared, acknowledged and resolved a minute ago, queued for both sinks."""
    store = open_store(run.store)
    try:
        at = datetime.now(UTC) - timedelta(minutes=1)
        return [
            lifecycle(store, ["pagerduty", "slack"], at, service=s, **options)  # type: ignore[arg-type]
            for s in services
        ]
    finally:
        store.close()


def pending(run: SloctlRun) -> int:
    store = open_store(run.store)
    try:
        return len(store.outbox(status="pending"))
    finally:
        store.close()


def test_kill_9_mid_send_then_restart_retries_at_once_and_keeps_order(
    tmp_path: Path, slack: FaultReceiver, pagerduty: FaultReceiver
) -> None:
    slack.set(HANG)
    pagerduty.set(HANG)
    run = SloctlRun(tmp_path, f"http://127.0.0.1:{free_port()}", slack.url, pagerduty.url)
    queue(run, ["api"])
    try:
        run.start()
        slack.wait_for("the declaration, hanging", lambda r: len(r) == 1, timeout=30)
        pagerduty.wait_for("the trigger, hanging", lambda r: len(r) == 1, timeout=30)
        run.kill()  # mid-send: both attempts unanswered, their messages claimed by a dead pid
        slack.set(SLACK_OK)
        pagerduty.set(PAGERDUTY_OK)
        restarted = time.monotonic()
        run.start()
        got = slack.wait_for("all three after the restart", lambda r: len(r) == 4, timeout=30)
        pages = pagerduty.wait_for("all three pages", lambda r: len(r) == 4, timeout=30)
        # Retried at once (a lease would have held it for two minutes), then the rest in order.
        assert got[1].at - restarted < 15
        assert pages[1].at - restarted < 15
        assert kinds_sent(got) == ["declared", "declared", "update", "resolved"]
        assert pagerduty_actions(pages) == ["trigger", "trigger", "acknowledge", "resolve"]
        deadline = time.monotonic() + 10
        while pending(run):
            assert time.monotonic() < deadline, "messages left pending"
            time.sleep(0.2)
        time.sleep(2)  # nothing more arrives: no trigger after the resolve
        assert len(slack.received) == 4
        assert len(pagerduty.received) == 4
        code, _ = run.terminate()
        assert code == 0
    finally:
        run.stop()


def test_sigterm_during_hung_sends_exits_within_the_bound_and_sends_nothing_twice(
    tmp_path: Path, slack: FaultReceiver, pagerduty: FaultReceiver
) -> None:
    slack.set(HANG)
    pagerduty.set(HANG)
    run = SloctlRun(
        tmp_path, f"http://127.0.0.1:{free_port()}", slack.url, pagerduty.url, timeout="30s"
    )
    queue(run, ["api", "auth", "web"])
    try:
        run.start()
        slack.wait_for("a send in progress", lambda r: len(r) >= 1, timeout=30)
        pagerduty.wait_for("a send in progress", lambda r: len(r) >= 1, timeout=30)
        code, seconds = run.terminate(timeout=60)
        assert code == 0
        assert seconds <= STOP_SECONDS
        [stopped] = run.events("stopped")
        assert stopped["unanswered"] >= 2  # abandoned, not waited for
        for box in (slack, pagerduty):
            bodies = [repr(body) for body in box.bodies()]
            assert len(bodies) == len(set(bodies))  # no message sent twice by one process
    finally:
        run.stop()


def test_a_hung_receiver_does_not_slow_evaluation(
    served: Served, tmp_path: Path, slack: FaultReceiver, pagerduty: FaultReceiver
) -> None:
    slack.set(HANG)
    pagerduty.set(HANG)
    run = SloctlRun(tmp_path, served.url, slack.url, pagerduty.url, interval="1s")
    queue(run, ["api", "auth", "web", "search"])
    try:
        run.start()
        slack.wait_for("a hung send", lambda r: len(r) >= 1, timeout=30)
        time.sleep(12)  # a 10 s send timeout: the old in-cycle flush took 10 s per cycle
        run.terminate()
        cycles = run.events("cycle")
        assert len(cycles) >= 8
        assert max(c["seconds"] for c in cycles) <= 1.0 + 1.0
        assert max(cycle_gaps(cycles)) <= 1.0 + 1.0
        assert len(slack.received) >= 2  # delivery was busy with the hung receiver all along
    finally:
        run.stop()


def test_an_outage_ends_with_every_message_delivered_once_in_order(tmp_path: Path) -> None:
    result = outage(tmp_path, seconds=8.0, incidents=6)
    assert result.lost == 0
    assert result.duplicates == 0
    assert result.out_of_order == 0
    assert result.delivered == result.queued == 6 * 3 * 2


def test_the_ca_is_passed_per_request_so_the_environment_cannot_replace_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cert, context = tls_server(tmp_path)
    # Were verify left to the session, requests would trust this CA for every webhook.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(cert))
    monkeypatch.setenv("CURL_CA_BUNDLE", str(cert))
    box = FaultReceiver(SLACK_OK, tls=context)
    store = open_store(tmp_path / "store.db")
    try:
        lifecycle(store, ["slack"], datetime.now(UTC) - timedelta(minutes=1), resolve=False)
        sinks = {"slack": SlackSink(f"{box.url}/hook")}
        default = Courier(sinks, DeliveryPolicy(send_timeout=5.0), webhook_verify(None))
        assert default.flush(store, datetime.now(UTC))["delivered"] == 0
        assert box.received == []
        assert "cannot connect" in store.outbox()[0].last_error
        config = tmp_path / "sloctl.yaml"
        config.write_text(f"notifications: {{ca_file: {cert.name}}}\n", encoding="utf-8")
        trusting = Courier(
            sinks, DeliveryPolicy(send_timeout=5.0), webhook_verify(load_config(config))
        )
        later = datetime.now(UTC) + timedelta(minutes=10)  # past the first attempt's pause
        assert trusting.flush(store, later)["delivered"] == 2
        assert kinds_sent(box.received) == ["declared", "update"]
    finally:
        store.close()
        box.close()
