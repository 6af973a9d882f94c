"""The daemon's configuration file, validated like the SLO definitions.

```yaml
prometheus:
  url: http://127.0.0.1:9090
  timeout: 10s
  bearer_token_env: PROMETHEUS_TOKEN   # or bearer_token_file, or basic_auth
  ca_file: /etc/ssl/prometheus-ca.pem
interval: 30s
definitions: slo-definitions
policy: deploy/policy.yaml
store: /var/lib/sloctl/incidents.db
listen: 127.0.0.1:9464
query_max_samples: 5000000             # most samples one query may load at its peak
notifications:                         # without it: the SLOCTL_* variables, as for the CLI
  slack: {webhook_url_env: SLACK_WEBHOOK_URL}
  pagerduty: {routing_key_file: /etc/sloctl/secrets/pagerduty-routing-key}
  alertmanager: {url: http://alertmanager.monitoring.svc:9093}
```

Secrets never sit in the file: it names the environment variable or file that holds them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Self

import requests
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from sloctl.definitions import read_document, validation_problems
from sloctl.durations import parse_duration
from sloctl.errors import DefinitionError, Problem
from sloctl.notifications import AlertmanagerSink, PagerDutySink, Sink, SlackSink
from sloctl.outbox import sinks_from_env
from sloctl.slices import DEFAULT_MAX_SAMPLES

CONFIGURATION = "the configuration"


def _duration(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("expected a duration such as 30s")
    parse_duration(value)
    return value


Duration = Annotated[str, BeforeValidator(_duration)]


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _exactly_one(kind: str, env: str | None, file: Path | None) -> None:
    if (env is None) == (file is None):
        raise ValueError(f"give exactly one of {kind}_env or {kind}_file")


class BasicAuthSpec(_Spec):
    username: str
    password_env: str | None = None
    password_file: Path | None = None

    @model_validator(mode="after")
    def _one_password(self) -> Self:
        _exactly_one("password", self.password_env, self.password_file)
        return self


class PrometheusSpec(_Spec):
    url: str = "http://127.0.0.1:9090"
    timeout: Duration = "10s"
    bearer_token_env: str | None = None
    bearer_token_file: Path | None = None
    basic_auth: BasicAuthSpec | None = None
    ca_file: Path | None = None

    @model_validator(mode="after")
    def _checks(self) -> Self:
        given = [self.bearer_token_env, self.bearer_token_file, self.basic_auth]
        if sum(x is not None for x in given) > 1:
            raise ValueError("give at most one of bearer_token_env, bearer_token_file, basic_auth")
        if not self.url.startswith(("http://", "https://")):
            raise ValueError("url must start with http:// or https://")
        return self


class SlackSpec(_Spec):
    webhook_url_env: str | None = None
    webhook_url_file: Path | None = None

    @model_validator(mode="after")
    def _one(self) -> Self:
        _exactly_one("webhook_url", self.webhook_url_env, self.webhook_url_file)
        return self


class PagerDutySpec(_Spec):
    routing_key_env: str | None = None
    routing_key_file: Path | None = None

    @model_validator(mode="after")
    def _one(self) -> Self:
        _exactly_one("routing_key", self.routing_key_env, self.routing_key_file)
        return self


class AlertmanagerSpec(_Spec):
    url: str

    @field_validator("url")
    @classmethod
    def _http(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("url must start with http:// or https://")
        return value


class NotificationsSpec(_Spec):
    slack: SlackSpec | None = None
    pagerduty: PagerDutySpec | None = None
    alertmanager: AlertmanagerSpec | None = None


class ConfigSpec(_Spec):
    prometheus: PrometheusSpec = PrometheusSpec()
    notifications: NotificationsSpec | None = None
    """Where incidents are announced; without it, the SLOCTL_* environment variables say."""
    interval: Duration = "30s"
    definitions: Path = Path("slo-definitions")
    policy: Path | None = None
    store: Path = Path("sloctl-incidents.db")
    listen: str = Field("127.0.0.1:9464", pattern=r"^[^:]*:\d{1,5}$")
    query_max_samples: int = Field(DEFAULT_MAX_SAMPLES, ge=10_000)
    """The peak samples any one query may load; keep it below Prometheus's own
    ``--query.max-samples`` (50,000,000 by default)."""

    @field_validator("listen")
    @classmethod
    def _port(cls, value: str) -> str:
        if int(value.rpartition(":")[2]) > 65535:
            raise ValueError("the port must be at most 65535")
        return value


@dataclass(frozen=True)
class Config:
    spec: ConfigSpec
    source: Path

    @property
    def interval_seconds(self) -> int:
        return parse_duration(self.spec.interval)

    @property
    def timeout_seconds(self) -> int:
        return parse_duration(self.spec.prometheus.timeout)

    @property
    def listen(self) -> tuple[str, int]:
        host, _, port = self.spec.listen.rpartition(":")
        return host, int(port)

    def relative(self, path: Path) -> Path:
        """Paths in the file are relative to the file's directory."""
        return path if path.is_absolute() else self.source.parent / path

    def session(self, env: Mapping[str, str]) -> requests.Session:
        """An HTTP session with the configured authentication and CA; secrets read now."""
        prometheus = self.spec.prometheus
        session = requests.Session()
        if prometheus.ca_file is not None:
            session.verify = str(self.relative(prometheus.ca_file))
        token = _secret(env, prometheus.bearer_token_env, prometheus.bearer_token_file, self)
        if token:
            session.headers["Authorization"] = f"Bearer {token}"
        if prometheus.basic_auth is not None:
            auth = prometheus.basic_auth
            password = _secret(env, auth.password_env, auth.password_file, self)
            session.auth = (auth.username, password or "")
        return session


def _secret(
    env: Mapping[str, str],
    name: str | None,
    file: Path | None,
    config: Config,
    location: str = "prometheus",
) -> str | None:
    """The secret named by variable or file, read now; a missing one is a located problem."""
    if name is not None:
        value = env.get(name)
        if not value:
            problem = Problem(
                str(config.source), location, f"environment variable {name} is not set"
            )
            raise DefinitionError([problem], CONFIGURATION)
        return value
    if file is not None:
        try:
            content = config.relative(file).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise DefinitionError(
                [Problem(str(config.source), location, f"cannot read {file}: {exc.strerror}")],
                CONFIGURATION,
            ) from exc
        if not content:
            raise DefinitionError(
                [Problem(str(config.source), location, f"{file} is empty")], CONFIGURATION
            )
        return content
    return None


def sinks(config: Config, env: Mapping[str, str]) -> dict[str, Sink]:
    """The notification sinks: the config's ``notifications`` section when it has one (secrets
    read now), else whatever the SLOCTL_* environment variables set up."""
    spec = config.spec.notifications
    if spec is None:
        return sinks_from_env(env)
    found: dict[str, Sink] = {}
    if spec.slack is not None:
        url = _secret(env, spec.slack.webhook_url_env, spec.slack.webhook_url_file, config,
                      "notifications.slack")  # fmt: skip
        assert url is not None
        found["slack"] = SlackSink(url)
    if spec.pagerduty is not None:
        key = _secret(env, spec.pagerduty.routing_key_env, spec.pagerduty.routing_key_file,
                      config, "notifications.pagerduty")  # fmt: skip
        assert key is not None
        found["pagerduty"] = PagerDutySink(key)
    if spec.alertmanager is not None:
        found["alertmanager"] = AlertmanagerSink(spec.alertmanager.url)
    return found


def load_config(path: Path) -> Config:
    """Read and validate ``path``; raises DefinitionError listing every problem."""
    document = read_document(path, CONFIGURATION)
    try:
        spec = ConfigSpec.model_validate(document.data or {})
    except ValidationError as exc:
        raise DefinitionError(validation_problems(exc, document, str(path)), CONFIGURATION) from exc
    return Config(spec, path)
