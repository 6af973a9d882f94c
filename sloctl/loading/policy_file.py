"""The policy file: the runbook's thresholds read from YAML into :class:`Policy` values.

The shipped file (``sloctl/loading/policy.yaml``, copied to ``deploy/policy.yaml``) is the
built-in default: a command given no ``--policy`` uses exactly it. Problems are reported like
definition problems: file, line, location and reason.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, field_validator

from sloctl.core.durations import parse_duration, parse_seconds
from sloctl.errors import PolicyFileError
from sloctl.incidents.policy import Policy, Thresholds
from sloctl.loading.definitions import read_validated

SHIPPED_POLICY = "policy.yaml"
"""The shipped policy, package data of sloctl; ``deploy/policy.yaml`` is a copy of it."""


def shipped_policy() -> Policy:
    """The policy sloctl ships: what every command uses when given no policy file."""
    resource = resources.files("sloctl.loading").joinpath(SHIPPED_POLICY)
    with resources.as_file(resource) as path:
        return load_policy(path)


def policy_in_force(path: Path | None) -> Policy:
    """The policy in ``path``, or the shipped one when no file is named."""
    return load_policy(path) if path is not None else shipped_policy()


def _span(value: Any) -> timedelta:
    if not isinstance(value, str):
        raise ValueError("expected a duration such as 30m")
    return timedelta(seconds=parse_duration(value))


def _ratio(value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError("expected a fraction such as 0.1")
    number = Decimal(repr(value) if isinstance(value, float) else str(value))
    if not number.is_finite() or not 0 < number < 1:
        raise ValueError("expected a fraction strictly between 0 and 1")
    return number


def _seconds(value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError("expected a latency such as 0.5 or 500ms")
    return parse_seconds(value if isinstance(value, str) else repr(value))


def _multiple(value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError("expected a burn rate such as 10")
    try:
        number = Decimal(repr(value) if isinstance(value, float) else str(value))
    except ArithmeticError:
        raise ValueError("expected a burn rate such as 10") from None
    if not number.is_finite() or number < 1:
        raise ValueError("expected a burn rate of at least 1 (below 1 the SLO is being met)")
    return number


DurationField = Annotated[timedelta, BeforeValidator(_span)]
Multiple = Annotated[Decimal, BeforeValidator(_multiple)]
Ratio = Annotated[Decimal, BeforeValidator(_ratio)]
Seconds = Annotated[Decimal, BeforeValidator(_seconds)]


class _ThresholdSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    outage_error_ratio: Ratio | None = None
    major_error_ratio: Ratio | None = None
    major_for: DurationField | None = None
    sustained_burn_rate: Multiple | None = None
    sustained_for: DurationField | None = None
    severe_p95_seconds: Seconds | None = None
    severe_for: DurationField | None = None
    degraded_for: DurationField | None = None
    long_degradation: DurationField | None = None
    healthy_error_ratio: Ratio | None = None
    stable_for: DurationField | None = None
    signal_window: DurationField | None = None

    @field_validator("signal_window")
    @classmethod
    def _whole_seconds(cls, value: timedelta | None) -> timedelta | None:
        if value is not None and (value.total_seconds() < 1 or value.microseconds):
            raise ValueError("expected whole seconds, at least 1s")
        return value

    def over(self, base: Thresholds) -> Thresholds:
        given = {k: v for k, v in self.model_dump().items() if v is not None}
        return replace(base, **given)


class _PolicySpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    defaults: _ThresholdSpec = _ThresholdSpec()
    services: dict[str, _ThresholdSpec] = {}


def load_policy(path: Path) -> Policy:
    """The policy in ``path``: runbook defaults, overridden where the file says so.

    Problems are reported like definition problems: file, line, location and reason.
    """
    spec, _ = read_validated(path, _PolicySpec, PolicyFileError)
    defaults = spec.defaults.over(Thresholds())
    return Policy(defaults, {name: s.over(defaults) for name, s in spec.services.items()})
