"""The daemon's configuration: the shipped example validates; mistakes are located."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from sloctl.core.severity import Severity
from sloctl.errors import DefinitionError
from sloctl.incidents.events import EventKind
from sloctl.incidents.lifecycle import State
from sloctl.loading.config import (
    Config,
    ConfigSpec,
    delivery_policy,
    load_config,
    parse_size,
    sinks,
    webhook_verify,
)
from sloctl.notify.alertmanager import AlertmanagerSink
from sloctl.notify.message import IncidentEvent
from sloctl.notify.pagerduty import PAGERDUTY_URL, PagerDutySink
from sloctl.notify.slack import SlackSink
from sloctl.prometheus.client import Limits
from tests.paths import ROOT

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


def test_the_kubernetes_example_config_is_valid() -> None:
    documents = list(yaml.safe_load_all((ROOT / "deploy" / "kubernetes.yaml").read_text()))
    text = documents[0]["data"]["sloctl.yaml"]
    spec = ConfigSpec.model_validate(yaml.safe_load(text))
    assert spec.listen == "0.0.0.0:9464"


@pytest.mark.parametrize(
    ("text", "location"),
    [
        pytest.param("interval: soon\n", "interval", id="bad-interval"),
        pytest.param("prometheus: {url: ftp://x}\n", "prometheus", id="bad-url"),
        pytest.param(
            "prometheus: {bearer_token_env: A, bearer_token_file: b}\n",
            "prometheus",
            id="two-auths",
        ),
        pytest.param("listen: 9464\n", "listen", id="bad-listen"),
        pytest.param("listen: 127.0.0.1:99999\n", "listen", id="port-too-high"),
        pytest.param("colour: blue\n", "colour", id="unknown-key"),
        pytest.param(
            "prometheus: {url: 'http://u:p@h:9090', bearer_token_env: T}\n",
            "prometheus",
            id="url-and-token",
        ),
    ],
)
def test_mistakes_are_located(tmp_path: Path, text: str, location: str) -> None:
    path = tmp_path / "sloctl.yaml"
    path.write_text(text)
    with pytest.raises(DefinitionError) as caught:
        load_config(path)
    assert caught.value.problems[0].location.startswith(location)
    assert str(caught.value).endswith("in the configuration")


def test_secrets_come_from_the_environment(tmp_path: Path) -> None:
    path = tmp_path / "sloctl.yaml"
    path.write_text("prometheus: {bearer_token_env: PROM_TOKEN}\n")
    config = load_config(path)
    assert config.credentials({"PROM_TOKEN": "s3cret"}).bearer_token == "s3cret"
    with pytest.raises(DefinitionError) as caught:
        config.credentials({})
    assert "PROM_TOKEN is not set" in caught.value.problems[0].message


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


@pytest.mark.parametrize(
    "text",
    [
        "notifications: {slack: {webhook_url_env: A, webhook_url_file: b}}\n",
        "notifications: {pagerduty: {}}\n",
        "notifications: {alertmanager: {url: 'ftp://x'}}\n",
        "notifications: {teams: {}}\n",
        "notifications: {pagerduty: {routing_key_env: K, events_url: 'events.eu'}}\n",
        "notifications: {timeout: 0s}\n",
        "notifications: {timeout: 5m}\n",
        "notifications: {max_delay: 10m, max_age: 5m}\n",
        "notifications: {coalesce: often}\n",
    ],
)
def test_notification_mistakes_are_located(tmp_path: Path, text: str) -> None:
    with pytest.raises(DefinitionError) as caught:
        _config(tmp_path, text)
    assert caught.value.problems[0].location.startswith("notifications")


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


def test_response_limits_and_credentials(tmp_path: Path) -> None:
    (tmp_path / "ca.pem").write_text("-----BEGIN CERTIFICATE-----\n")
    config = _config(
        tmp_path,
        "prometheus:\n  max_response_size: 2MiB\n  max_series: 50\n  ca_file: ca.pem\n"
        "  basic_auth: {username: sloctl, password_env: PROM_PASSWORD}\n",
    )
    assert config.limits == Limits(max_body_bytes=2 * 2**20, max_series=50)
    credentials = config.credentials({"PROM_PASSWORD": "pw"})
    assert credentials.basic_auth == ("sloctl", "pw")
    assert credentials.verify == str(tmp_path / "ca.pem")  # passed per request, never overridden
    assert _config(tmp_path, "{}\n").limits == Limits()


@pytest.mark.parametrize(
    ("text", "message"),
    [("12 parsecs", "expected a size"), ("100B", "at least 1KiB"), ("8mb", "expected a size")],
)
def test_a_bad_size_is_located(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(DefinitionError) as caught:
        _config(tmp_path, f"prometheus: {{max_response_size: '{text}'}}\n")
    [problem] = caught.value.problems
    assert problem.location == "prometheus.max_response_size"
    assert message in problem.message


def test_sizes() -> None:
    assert parse_size("8MiB") == 8 * 2**20
    assert parse_size("500kB") == 500_000
    assert parse_size("4096") == 4096
