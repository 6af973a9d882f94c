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
```

Secrets never sit in the file: it names the environment variable or file that holds them.
Notification sinks come from the environment (see ``sloctl incidents --help``).
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

CONFIGURATION = "the configuration"


def _duration(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("expected a duration such as 30s")
    parse_duration(value)
    return value


Duration = Annotated[str, BeforeValidator(_duration)]


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BasicAuthSpec(_Spec):
    username: str
    password_env: str | None = None
    password_file: Path | None = None

    @model_validator(mode="after")
    def _one_password(self) -> Self:
        if (self.password_env is None) == (self.password_file is None):
            raise ValueError("give exactly one of password_env or password_file")
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


class ConfigSpec(_Spec):
    prometheus: PrometheusSpec = PrometheusSpec()
    interval: Duration = "30s"
    definitions: Path = Path("slo-definitions")
    policy: Path | None = None
    store: Path = Path("sloctl-incidents.db")
    listen: str = Field("127.0.0.1:9464", pattern=r"^[^:]*:\d{1,5}$")

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
    env: Mapping[str, str], name: str | None, file: Path | None, config: Config
) -> str | None:
    if name is not None:
        value = env.get(name)
        if not value:
            problem = Problem(
                str(config.source), "prometheus", f"environment variable {name} is not set"
            )
            raise DefinitionError([problem], CONFIGURATION)
        return value
    if file is not None:
        try:
            return config.relative(file).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise DefinitionError(
                [Problem(str(config.source), "prometheus", f"cannot read {file}: {exc.strerror}")],
                CONFIGURATION,
            ) from exc
    return None


def load_config(path: Path) -> Config:
    """Read and validate ``path``; raises DefinitionError listing every problem."""
    document = read_document(path, CONFIGURATION)
    try:
        spec = ConfigSpec.model_validate(document.data or {})
    except ValidationError as exc:
        raise DefinitionError(validation_problems(exc, document, str(path)), CONFIGURATION) from exc
    return Config(spec, path)
