"""The daemon's configuration file, validated like the SLO definitions.

```yaml
prometheus:
  url: http://127.0.0.1:9090
  timeout: 10s
  bearer_token_env: PROMETHEUS_TOKEN   # or bearer_token_file, or basic_auth
  ca_file: /etc/ssl/prometheus-ca.pem
  max_response_size: 8MiB              # a bigger answer fails that query (default 8MiB)
  max_series: 10000                    # so does one with more series
interval: 30s                          # each cycle must finish within it (at least 5s)
definitions: slo-definitions
policy: deploy/policy.yaml
store: /var/lib/sloctl/incidents.db
listen: 127.0.0.1:9464
query_max_samples: 5000000             # most samples one query may load at its peak
schedule: deploy/oncall.yaml           # on-call rotations: the commander named at declaration
drafts: /var/lib/sloctl/drafts         # customer-communication drafts (default: beside the store)
ui:                                    # the SRE web UI on the listen address (read-only without)
  logins:                              # who may act on incidents from it
    - {name: alice, password_env: SLOCTL_UI_ALICE}      # a person: name and password
    - {name: ci-bot, token_file: /etc/sloctl/ui-token}  # a program: a bearer token
  session: 12h                         # how long a login lasts
status_page:                           # the public status page (off without this section)
  listen: 0.0.0.0:9465                 # its own address, safe to expose
  title: IntelliFlow status
  url: https://status.intelliflow.io   # where the public reaches it (links, feed ids)
  components: {api: API, auth: Sign-in, ai-worker: AI features, database: Data storage}
  show_internal: false                 # true: also show severities and incident ids
notifications:                         # no sink named: the SLOCTL_* variables, as for the CLI
  slack: {webhook_url_env: SLACK_WEBHOOK_URL}
  pagerduty:
    routing_key_file: /etc/sloctl/secrets/pagerduty-routing-key
    events_url: https://events.eu.pagerduty.com/v2/enqueue   # default: the public US one
  alertmanager: {url: http://alertmanager.monitoring.svc:9093}
  timeout: 10s                         # each whole send, answer included
  max_delay: 5m                        # the longest pause between two attempts
  max_age: 24h                         # a message still undelivered then is given up
  coalesce: 2m                         # at most one status update per incident and sink
  ca_file: /etc/ssl/webhook-ca.pem     # default: the CA bundle requests ships (certifi)
```

``sloctl incidents --config FILE`` reads the same ``notifications`` section (and store), so a
change made from the command line is announced where the daemon announces.

Secrets never sit in the file: it names the environment variable or file that holds them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    model_validator,
)

from sloctl.core.durations import parse_duration
from sloctl.errors import ConfigError, Problem, SecretFileError
from sloctl.loading.definitions import read_validated
from sloctl.loading.secrets import read_secret
from sloctl.prometheus.client import DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_SERIES, Credentials, Limits
from sloctl.promql.slices import DEFAULT_MAX_SAMPLES


def _duration(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("expected a duration such as 30s")
    parse_duration(value)
    return value


Duration = Annotated[str, BeforeValidator(_duration)]

SIZE_UNITS = {"B": 1, "KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "kB": 10**3, "MB": 10**6}


def parse_size(text: str) -> int:
    """``8MiB`` -> 8388608; a size in bytes with one of :data:`SIZE_UNITS`."""
    match = re.fullmatch(r"(\d+)\s*([A-Za-z]*)", text.strip())
    unit = "B" if match is None else match.group(2) or "B"
    if match is None or unit not in SIZE_UNITS:
        raise ValueError(f"expected a size such as 8MiB (units: {', '.join(SIZE_UNITS)})")
    return int(match.group(1)) * SIZE_UNITS[unit]


def _size(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("expected a size such as 8MiB")
    if parse_size(value) < 1024:
        raise ValueError("must be at least 1KiB")
    return value


Size = Annotated[str, BeforeValidator(_size)]


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
    max_response_size: Size = f"{DEFAULT_MAX_BODY_BYTES // 2**20}MiB"
    max_series: int = Field(DEFAULT_MAX_SERIES, ge=1)

    @model_validator(mode="after")
    def _checks(self) -> Self:
        given = [self.bearer_token_env, self.bearer_token_file, self.basic_auth]
        if sum(x is not None for x in given) > 1:
            raise ValueError("give at most one of bearer_token_env, bearer_token_file, basic_auth")
        if not self.url.startswith(("http://", "https://")):
            raise ValueError("url must start with http:// or https://")
        if re.match(r"^https?://[^/?#]*@", self.url) and any(x is not None for x in given):
            # requests would send the URL's user information instead, silently
            raise ValueError("give credentials in the url or in bearer_token/basic_auth, not both")
        return self


class SlackSpec(_Spec):
    webhook_url_env: str | None = None
    webhook_url_file: Path | None = None

    @model_validator(mode="after")
    def _one(self) -> Self:
        _exactly_one("webhook_url", self.webhook_url_env, self.webhook_url_file)
        return self


def _http(value: str) -> str:
    if not value.startswith(("http://", "https://")):
        raise ValueError("url must start with http:// or https://")
    return value


HttpUrl = Annotated[str, AfterValidator(_http)]


class PagerDutySpec(_Spec):
    routing_key_env: str | None = None
    routing_key_file: Path | None = None
    events_url: HttpUrl | None = None
    """Events API v2 endpoint: the EU service region's, or a proxy's; None: the public US one."""

    @model_validator(mode="after")
    def _one(self) -> Self:
        _exactly_one("routing_key", self.routing_key_env, self.routing_key_file)
        return self


class AlertmanagerSpec(_Spec):
    url: HttpUrl


MAX_SEND_TIMEOUT_SECONDS = 60


class NotificationsSpec(_Spec):
    slack: SlackSpec | None = None
    pagerduty: PagerDutySpec | None = None
    alertmanager: AlertmanagerSpec | None = None
    timeout: Duration = "10s"
    max_delay: Duration = "5m"
    max_age: Duration = "24h"
    coalesce: Duration = "2m"
    ca_file: Path | None = None

    @model_validator(mode="after")
    def _bounds(self) -> Self:
        if not 1 <= parse_duration(self.timeout) <= MAX_SEND_TIMEOUT_SECONDS:
            raise ValueError(f"timeout must be between 1s and {MAX_SEND_TIMEOUT_SECONDS}s")
        if parse_duration(self.max_delay) < 1:
            raise ValueError("max_delay must be at least 1s")
        if parse_duration(self.max_age) < parse_duration(self.max_delay):
            raise ValueError("max_age must be at least max_delay")
        return self

    @property
    def names_a_sink(self) -> bool:
        return any(s is not None for s in (self.slack, self.pagerduty, self.alertmanager))


class ChangesApiSpec(_Spec):
    """``POST /api/changes`` for CI pipelines, with a bearer token from a variable or file."""

    token_env: str | None = None
    token_file: Path | None = None

    @model_validator(mode="after")
    def _one(self) -> Self:
        _exactly_one("token", self.token_env, self.token_file)
        return self


def _listen(value: str) -> str:
    if not re.fullmatch(r"[^:]*:\d{1,5}", value) or int(value.rpartition(":")[2]) > 65535:
        raise ValueError("expected HOST:PORT with a port of at most 65535")
    return value


Listen = Annotated[str, AfterValidator(_listen)]


def _split_listen(value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    return host, int(port)


LOGIN_NAME_MAX = 64
"""The longest name a login of the web UI may have."""
TOKEN_MIN = 32
"""The shortest token a program's login may have (a guessable token is refused at load)."""


class UiLoginSpec(_Spec):
    """One login of the web UI: a person (``password_env`` / ``password_file``) or a program
    (``token_env`` / ``token_file``, sent as ``Authorization: Bearer``)."""

    name: str = Field(min_length=1, max_length=LOGIN_NAME_MAX, pattern=r"^[A-Za-z0-9._@-]+$")
    password_env: str | None = None
    password_file: Path | None = None
    token_env: str | None = None
    token_file: Path | None = None

    @model_validator(mode="after")
    def _one(self) -> Self:
        given = [
            self.password_env,
            self.password_file,
            self.token_env,
            self.token_file,
        ]
        if sum(value is not None for value in given) != 1:
            raise ValueError(
                "give exactly one of password_env, password_file, token_env or token_file"
            )
        return self

    @property
    def is_token(self) -> bool:
        return self.token_env is not None or self.token_file is not None


class UiSpec(_Spec):
    """The SRE web UI (always served on ``listen``): who may act on incidents from it."""

    logins: tuple[UiLoginSpec, ...] = ()
    session: Duration = "12h"

    @model_validator(mode="after")
    def _unique(self) -> Self:
        names = [login.name for login in self.logins]
        if len(names) != len(set(names)):
            raise ValueError("each login needs a name of its own")
        return self


class StatusPageSpec(_Spec):
    """The public status page, on an address of its own."""

    listen: Listen = "127.0.0.1:9465"
    title: str = Field("Status", min_length=1, max_length=200)
    url: str | None = None
    """Where the public reaches the page (the feed's and JSON's links); default: its address."""
    components: dict[str, str] = Field(default_factory=dict)
    """The public name of each service (default: the service's own name)."""
    show_internal: bool = False
    """Show incident ids and severities too (never PromQL, thresholds or people)."""


class ConfigSpec(_Spec):
    prometheus: PrometheusSpec = PrometheusSpec()
    changes_api: ChangesApiSpec | None = None
    """The change-events endpoint; without it, the daemon serves none."""
    notifications: NotificationsSpec | None = None
    """Where incidents are announced; without it, the SLOCTL_* environment variables say."""
    interval: Duration = "30s"
    definitions: Path = Path("slo-definitions")
    policy: Path | None = None
    maintenance: Path | None = None
    """Planned maintenance windows (:mod:`sloctl.loading.maintenance_file`): nothing is paged
    during one; a correction is taken out of the budgets."""
    store: Path = Path("sloctl-incidents.db")
    listen: Listen = "127.0.0.1:9464"
    query_max_samples: int = Field(DEFAULT_MAX_SAMPLES, ge=10_000)
    """The peak samples any one query may load; keep it below Prometheus's own
    ``--query.max-samples`` (50,000,000 by default)."""
    schedule: Path | None = None
    """The on-call schedule (:mod:`sloctl.loading.schedule_file`); none: nobody is named
    commander at declaration."""
    drafts: Path | None = None
    """Where drafts for people to finish are written (the P1 customer communication);
    default: a ``drafts`` directory beside the store."""
    ui: UiSpec = UiSpec()
    status_page: StatusPageSpec | None = None
    """The public status page; without it, none is served."""


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
        return _split_listen(self.spec.listen)

    @property
    def status_listen(self) -> tuple[str, int] | None:
        """The status page's address; None when the configuration has no status page."""
        page = self.spec.status_page
        return None if page is None else _split_listen(page.listen)

    @property
    def session_seconds(self) -> int:
        return parse_duration(self.spec.ui.session)

    def relative(self, path: Path) -> Path:
        """Paths in the file are relative to the file's directory."""
        return path if path.is_absolute() else self.source.parent / path

    @property
    def drafts(self) -> Path:
        """The drafts directory: configured, or ``drafts`` beside the store."""
        if self.spec.drafts is not None:
            return self.relative(self.spec.drafts)
        return self.relative(self.spec.store).parent / "drafts"

    @property
    def limits(self) -> Limits:
        prometheus = self.spec.prometheus
        return Limits(parse_size(prometheus.max_response_size), prometheus.max_series)

    def credentials(self, env: Mapping[str, str]) -> Credentials:
        """The configured authentication and CA for Prometheus; secrets read now."""
        prometheus = self.spec.prometheus
        ca_file = None if prometheus.ca_file is None else str(self.relative(prometheus.ca_file))
        token = _secret(env, prometheus.bearer_token_env, prometheus.bearer_token_file, self)
        basic = None
        if prometheus.basic_auth is not None:
            auth = prometheus.basic_auth
            password = _secret(env, auth.password_env, auth.password_file, self)
            basic = (auth.username, password or "")
        return Credentials(bearer_token=token, basic_auth=basic, ca_file=ca_file)

    def sink_settings(self, env: Mapping[str, str]) -> SinkSettings | None:
        """The sinks the ``notifications`` section names, secrets read now; None when it names
        none (then the SLOCTL_* environment variables say)."""
        spec = self.spec.notifications
        if spec is None or not spec.names_a_sink:
            return None
        slack, pagerduty, alertmanager = spec.slack, spec.pagerduty, spec.alertmanager
        return SinkSettings(
            slack_webhook_url=None
            if slack is None
            else _required(
                env, slack.webhook_url_env, slack.webhook_url_file, self, "notifications.slack"
            ),
            pagerduty_routing_key=None
            if pagerduty is None
            else _required(
                env,
                pagerduty.routing_key_env,
                pagerduty.routing_key_file,
                self,
                "notifications.pagerduty",
            ),
            pagerduty_events_url=None if pagerduty is None else pagerduty.events_url,
            alertmanager_url=None if alertmanager is None else alertmanager.url,
        )


@dataclass(frozen=True)
class SinkSettings:
    """Where the configuration announces incidents, secrets read: plain values that the
    notification sinks are built from."""

    slack_webhook_url: str | None = field(default=None, repr=False)
    pagerduty_routing_key: str | None = field(default=None, repr=False)
    pagerduty_events_url: str | None = None
    """None: PagerDuty's public US endpoint."""
    alertmanager_url: str | None = None


@dataclass(frozen=True)
class DeliverySettings:
    """How notifications are sent, retried and coalesced: plain values of the
    ``notifications`` section (its defaults without one)."""

    send_timeout: float
    max_delay: float
    max_age: timedelta
    coalesce: timedelta
    ca_file: Path | None
    """Every notification request is checked against it; None: the CA bundle requests ships."""


def _secret(
    env: Mapping[str, str],
    name: str | None,
    file: Path | None,
    config: Config,
    location: str = "prometheus",
) -> str | None:
    """The secret named by variable or file, read now; a missing one is a located problem."""
    if name is not None and not env.get(name):
        problem = Problem(str(config.source), location, f"environment variable {name} is not set")
        raise ConfigError([problem])
    try:
        value = read_secret(env, name, None if file is None else config.relative(file))
    except SecretFileError as exc:
        raise ConfigError(
            [Problem(str(config.source), location, f"cannot read {file}: {exc}")]
        ) from exc
    if value == "":
        raise ConfigError([Problem(str(config.source), location, f"{file} is empty")])
    return value


def changes_token(config: Config, env: Mapping[str, str]) -> str | None:
    """The bearer token of the change-events endpoint, read now; None when it is off."""
    spec = config.spec.changes_api
    if spec is None:
        return None
    return _secret(env, spec.token_env, spec.token_file, config, "changes_api")


@dataclass(frozen=True)
class UiLogin:
    """A login of the web UI with its secret read (a password, or a token when ``is_token``)."""

    name: str
    secret: str = field(repr=False)
    is_token: bool = False


def ui_logins(config: Config, env: Mapping[str, str]) -> tuple[UiLogin, ...]:
    """Every login of the web UI, secrets read now (a missing one is a located problem)."""
    found = []
    for index, spec in enumerate(config.spec.ui.logins):
        location = f"ui.logins[{index}]"
        if spec.is_token:
            secret = _required(env, spec.token_env, spec.token_file, config, location)
            if len(secret) < TOKEN_MIN:
                problem = f"the token must be at least {TOKEN_MIN} characters (it is shorter)"
                raise ConfigError([Problem(str(config.source), location, problem)])
        else:
            secret = _required(env, spec.password_env, spec.password_file, config, location)
        found.append(UiLogin(spec.name, secret, spec.is_token))
    return tuple(found)


def _required(
    env: Mapping[str, str], name: str | None, file: Path | None, config: Config, location: str
) -> str:
    """The secret a sink needs: like :func:`_secret`, and naming neither is a problem too."""
    found = _secret(env, name, file, config, location)
    if found is None:
        problem = Problem(str(config.source), location, "names neither a variable nor a file")
        raise ConfigError([problem])
    return found


def delivery_settings(config: Config | None) -> DeliverySettings:
    """How notifications are sent: the config's settings, or the defaults."""
    spec = NotificationsSpec() if config is None else config.spec.notifications
    spec = spec or NotificationsSpec()
    return DeliverySettings(
        send_timeout=float(parse_duration(spec.timeout)),
        max_delay=float(parse_duration(spec.max_delay)),
        max_age=timedelta(seconds=parse_duration(spec.max_age)),
        coalesce=timedelta(seconds=parse_duration(spec.coalesce)),
        ca_file=None if config is None or spec.ca_file is None else config.relative(spec.ca_file),
    )


def load_config(path: Path) -> Config:
    """Read and validate ``path``; raises ConfigError listing every problem."""
    spec, _ = read_validated(path, ConfigSpec, ConfigError)
    return Config(spec, path)
