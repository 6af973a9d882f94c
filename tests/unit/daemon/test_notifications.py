"""Sinks and delivery policy from the configuration: named sinks with their secrets, the
environment without them, located problems, defaults."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sloctl.core.severity import Severity
from sloctl.daemon.notifications import delivery_policy, sinks, sinks_from_env, webhook_verify
from sloctl.errors import DefinitionError
from sloctl.incidents.events import EventKind
from sloctl.incidents.lifecycle import State
from sloctl.loading.config import Config, load_config
from sloctl.notify.alertmanager import AlertmanagerSink
from sloctl.notify.message import IncidentEvent
from sloctl.notify.pagerduty import PAGERDUTY_URL, PagerDutySink
from sloctl.notify.slack import SlackSink

AT = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
EVENT = IncidentEvent(
    "INC-0001",
    EventKind.DECLARED,
    "api",
    "errors",
    Severity.P1,
    State.DETECTED,
    AT,
    AT,
    "outage",
    "all requests failing",
)


def _config(tmp_path: Path, text: str) -> Config:
    path = tmp_path / "sloctl.yaml"
    path.write_text(text)
    return load_config(path)


def test_notifications_from_the_config(tmp_path: Path) -> None:
    (tmp_path / "pd-key").write_text("routing-key-123\n")
    config = _config(
        tmp_path,
        "notifications:\n"
        "  slack: {webhook_url_env: HOOK}\n"
        "  pagerduty: {routing_key_file: pd-key}\n"
        "  alertmanager: {url: 'http://127.0.0.1:9093'}\n",
    )
    found = sinks(config, {"HOOK": "http://127.0.0.1:1/hook", "SLOCTL_SLACK_WEBHOOK_URL": "x"})
    assert sorted(found) == ["alertmanager", "pagerduty", "slack"]
    assert isinstance(found["slack"], SlackSink)
    assert isinstance(found["pagerduty"], PagerDutySink)
    assert isinstance(found["alertmanager"], AlertmanagerSink)
    assert found["alertmanager"].base_url == "http://127.0.0.1:9093"


def test_without_a_notifications_section_the_environment_decides(tmp_path: Path) -> None:
    config = _config(tmp_path, "interval: 30s\n")
    assert sinks(config, {}) == {}
    assert sorted(sinks(config, {"SLOCTL_SLACK_WEBHOOK_URL": "http://127.0.0.1:1/h"})) == ["slack"]


@pytest.mark.parametrize(
    ("text", "env", "location", "message"),
    [
        pytest.param(
            "notifications: {slack: {webhook_url_env: HOOK}}\n",
            {},
            "notifications.slack",
            "environment variable HOOK is not set",
            id="unset",
        ),
        pytest.param(
            "notifications: {pagerduty: {routing_key_file: missing}}\n",
            {},
            "notifications.pagerduty",
            "cannot read missing",
            id="no-file",
        ),
    ],
)
def test_a_missing_notification_secret_is_located(
    tmp_path: Path, text: str, env: dict[str, str], location: str, message: str
) -> None:
    config = _config(tmp_path, text)
    with pytest.raises(DefinitionError) as caught:
        sinks(config, env)
    [problem] = caught.value.problems
    assert (problem.location, problem.file) == (location, str(tmp_path / "sloctl.yaml"))
    assert message in problem.message


def test_the_pagerduty_events_url_is_configurable(tmp_path: Path) -> None:
    eu = "https://events.eu.pagerduty.com/v2/enqueue"
    config = _config(
        tmp_path, f"notifications: {{pagerduty: {{routing_key_env: KEY, events_url: '{eu}'}}}}\n"
    )
    [request] = sinks(config, {"KEY": "k"})["pagerduty"].requests_for(EVENT)
    assert request.url == eu
    default = _config(tmp_path, "notifications: {pagerduty: {routing_key_env: KEY}}\n")
    [request] = sinks(default, {"KEY": "k"})["pagerduty"].requests_for(EVENT)
    assert request.url == PAGERDUTY_URL
    # Configured by the environment, as the CLI and a daemon without the section are.
    bare = _config(tmp_path, "interval: 30s\n")
    env = {"SLOCTL_PAGERDUTY_ROUTING_KEY": "k", "SLOCTL_PAGERDUTY_EVENTS_URL": eu}
    [request] = sinks(bare, env)["pagerduty"].requests_for(EVENT)
    assert request.url == eu


def test_delivery_settings(tmp_path: Path) -> None:
    config = _config(
        tmp_path,
        "notifications: {timeout: 5s, max_delay: 2m, max_age: 12h, coalesce: 30s, "
        "ca_file: ca.pem}\n",
    )
    policy = delivery_policy(config)
    assert (policy.send_timeout, policy.max_delay) == (5.0, 120.0)
    assert policy.max_age == timedelta(hours=12)
    assert policy.coalesce == timedelta(seconds=30)
    assert webhook_verify(config) == str(tmp_path / "ca.pem")
    defaults = delivery_policy(None)
    assert (defaults.send_timeout, defaults.max_delay) == (10.0, 300.0)
    assert defaults.max_age == timedelta(hours=24)
    assert webhook_verify(None).endswith(".pem")  # a file: REQUESTS_CA_BUNDLE cannot replace it
    # A section with settings and no sink leaves the sinks to the environment.
    assert sorted(sinks(config, {"SLOCTL_SLACK_WEBHOOK_URL": "http://127.0.0.1:1/h"})) == ["slack"]


def test_sinks_from_env_sets_up_each_sink_whose_secret_is_set(tmp_path: Path) -> None:
    (tmp_path / "key").write_text("routing-key\n", encoding="utf-8")
    env = {
        "SLOCTL_SLACK_WEBHOOK_URL": "http://127.0.0.1:9/hook",
        "SLOCTL_PAGERDUTY_ROUTING_KEY_FILE": str(tmp_path / "key"),
    }
    sinks = sinks_from_env(env)
    assert sorted(sinks) == ["pagerduty", "slack"]
    assert isinstance(sinks["slack"], SlackSink)
    pagerduty = sinks["pagerduty"]
    assert isinstance(pagerduty, PagerDutySink)
    only_alertmanager = sinks_from_env({"SLOCTL_ALERTMANAGER_URL": "http://127.0.0.1:9"})
    assert [type(s) for s in only_alertmanager.values()] == [AlertmanagerSink]
    assert sinks_from_env({}) == {}
