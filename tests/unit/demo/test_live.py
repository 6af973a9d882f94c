"""The live demo's files are valid for the real loaders, and its policy does what it says."""

from __future__ import annotations

import os
import sys
from datetime import timedelta
from pathlib import Path

import requests

from sloctl.core import burn
from sloctl.demo.live import LiveStack, WebhookReceiver, prometheus_config
from sloctl.incidents.policy import Thresholds
from sloctl.loading.config import load_config
from sloctl.loading.definitions import load_definitions
from sloctl.loading.policy_file import load_policy


def test_the_files_it_writes_load_and_validate(tmp_path: Path) -> None:
    stack = LiveStack(tmp_path, services=("api", "auth"))
    try:
        stack.write_files()
        stack.write_config("http://127.0.0.1:9090")
    finally:
        stack.receiver.close()
    slos = load_definitions(tmp_path / "slo-definitions")
    assert sorted(s.key for s in slos) == [
        "api/availability",
        "api/latency",
        "auth/availability",
        "auth/latency",
    ]
    assert {s.scrape_seconds for s in slos} == {1}
    # Loose objectives: no paging burn-rate pair can fire; the runbook's indicators decide.
    assert not any(burn.can_fire(s, pair) for s in slos for pair in burn.PAGE_PAIRS)
    policy = load_policy(tmp_path / "policy.yaml").defaults
    assert policy.signal_window == timedelta(seconds=10)
    assert policy.stable_for == timedelta(seconds=15)
    runbook = Thresholds()
    assert (policy.outage_error_ratio, policy.severe_p95_seconds) == (
        runbook.outage_error_ratio,
        runbook.severe_p95_seconds,
    )
    config = load_config(stack.config_path)
    assert config.interval_seconds == 1
    assert config.relative(config.spec.store) == tmp_path / "incidents.db"
    assert config.listen == ("127.0.0.1", stack.sloctl_port)
    assert config.status_listen == ("127.0.0.1", stack.status_port)


def test_the_scrape_config_scrapes_every_target_every_second() -> None:
    text = prometheus_config("127.0.0.1:1", "127.0.0.1:2")
    assert "scrape_interval: 1s" in text
    assert 'targets: ["127.0.0.1:1", "127.0.0.1:2"]' in text


def test_the_receiver_keeps_what_it_was_sent() -> None:
    receiver = WebhookReceiver()
    try:
        answer = requests.post(f"{receiver.url}/slack", json={"text": "hello"}, timeout=5)
        assert answer.status_code == 200
        assert receiver.texts() == ["hello"]
        assert receiver.received == [("/slack", {"text": "hello"})]
    finally:
        receiver.close()


def test_the_demo_never_uses_the_callers_notification_settings(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "SLOCTL_PAGERDUTY_ROUTING_KEY": "real-key",
        "SLOCTL_SLACK_WEBHOOK_URL": "x",
    }
    stack = LiveStack(tmp_path, env=env)
    try:
        shown = "import os; print(sorted((k, v) for k, v in os.environ.items() if 'SLOCTL' in k))"
        stack.spawn([sys.executable, "-c", shown], "env").wait(timeout=30)
    finally:
        stack.receiver.close()
    assert (tmp_path / "env.log").read_text().strip() == str(
        [("SLOCTL_SLACK_WEBHOOK_URL", f"{stack.receiver.url}/slack")]
    )
