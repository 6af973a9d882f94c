"""The daemon's configuration: the shipped example validates; mistakes are located."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from sloctl.errors import DefinitionError
from sloctl.loading.config import (
    Config,
    ConfigSpec,
    SinkSettings,
    UiLogin,
    delivery_settings,
    load_config,
    parse_size,
    ui_logins,
)
from sloctl.prometheus.client import Limits
from tests.paths import ROOT


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


def test_notification_settings_are_plain_values(tmp_path: Path) -> None:
    (tmp_path / "pd-key").write_text("routing-key-123\n")
    config = _config(
        tmp_path,
        "notifications:\n"
        "  slack: {webhook_url_env: HOOK}\n"
        "  pagerduty: {routing_key_file: pd-key}\n"
        "  alertmanager: {url: 'http://127.0.0.1:9093'}\n"
        "  timeout: 5s\n"
        "  ca_file: ca.pem\n",
    )
    settings = config.sink_settings({"HOOK": "http://127.0.0.1:1/hook"})
    assert settings == SinkSettings(
        slack_webhook_url="http://127.0.0.1:1/hook",
        pagerduty_routing_key="routing-key-123",
        pagerduty_events_url=None,
        alertmanager_url="http://127.0.0.1:9093",
    )
    assert "routing-key-123" not in repr(settings)
    assert "127.0.0.1:1/hook" not in repr(settings)
    delivery = delivery_settings(config)
    assert (delivery.send_timeout, delivery.ca_file) == (5.0, tmp_path / "ca.pem")
    assert _config(tmp_path, "notifications: {timeout: 5s}\n").sink_settings({}) is None
    assert delivery_settings(None).ca_file is None


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


@pytest.mark.parametrize(
    ("text", "location"),
    [
        pytest.param("ui: {logins: [{name: alice}]}\n", "ui.logins[0]", id="no-secret"),
        pytest.param(
            "ui: {logins: [{name: a, password_env: P, token_env: T}]}\n",
            "ui.logins[0]",
            id="password-and-token",
        ),
        pytest.param(
            "ui: {logins: [{name: a, password_env: P}, {name: a, token_env: T}]}\n",
            "ui",
            id="same-name-twice",
        ),
        pytest.param(
            "ui: {logins: [{name: 'a b', password_env: P}]}\n", "ui.logins[0].name", id="bad-name"
        ),
        pytest.param("ui: {session: forever}\n", "ui.session", id="bad-session"),
        pytest.param("status_page: {listen: nowhere}\n", "status_page.listen", id="bad-listen"),
        pytest.param("status_page: {colour: red}\n", "status_page.colour", id="unknown-key"),
    ],
)
def test_ui_and_status_page_mistakes_are_located(tmp_path: Path, text: str, location: str) -> None:
    with pytest.raises(DefinitionError) as caught:
        _config(tmp_path, text)
    assert caught.value.problems[0].location.startswith(location)


def test_ui_logins_read_their_secrets_now_and_never_show_them(tmp_path: Path) -> None:
    (tmp_path / "bot-token").write_text("t0ken" * 8 + "\n")
    config = _config(
        tmp_path,
        "ui:\n"
        "  logins:\n"
        "    - {name: alice, password_env: UI_ALICE}\n"
        "    - {name: ci-bot, token_file: bot-token}\n"
        "  session: 30m\n"
        "status_page: {listen: '0.0.0.0:9465', title: IntelliFlow status}\n",
    )
    logins = ui_logins(config, {"UI_ALICE": "pa55"})
    assert logins == (UiLogin("alice", "pa55"), UiLogin("ci-bot", "t0ken" * 8, is_token=True))
    assert "pa55" not in repr(logins)
    assert "t0ken" not in repr(logins)
    assert config.session_seconds == 1800
    assert config.status_listen == ("0.0.0.0", 9465)
    with pytest.raises(DefinitionError) as caught:
        ui_logins(config, {})
    [problem] = caught.value.problems
    assert problem.location == "ui.logins[0]"
    assert "UI_ALICE is not set" in problem.message


def test_without_the_sections_the_ui_is_read_only_and_no_status_page_is_served(
    tmp_path: Path,
) -> None:
    config = _config(tmp_path, "interval: 30s\n")
    assert ui_logins(config, {}) == ()
    assert config.status_listen is None
    assert config.session_seconds == 12 * 3600
