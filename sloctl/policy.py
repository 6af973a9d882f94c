"""The runbook's severity policy as data: which measured indicators make an incident P1 to P3.

Runbook 2.2 (severity assessment checklist) and 7.1 (severity matrix), as defaults that a
policy file can override per service:

- P1: error ratio above 50 % ("complete service outage"), at once;
- P2: error ratio above 10 % for more than 30 minutes ("major feature down"); p95 above
  500 ms, or above the service's own latency threshold where that is higher ("significant
  performance degradation"); p95 above the latency threshold for more than an hour
  ("performance issue > 1 hour");
- P3: p95 above the latency threshold ("minor" degradation), or the error budget burning at
  a paging rate (errors below 10 %, or above it for less than the 30 minutes P2 needs);
- P4 is cosmetic and never comes from metrics.

Everything here is pure: signals and times in, decisions out. How long a condition has held
is carried in a :class:`Held` value that the caller keeps between evaluations.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError, field_validator

from sloctl.definitions import read_document, validation_problems
from sloctl.durations import parse_duration, parse_seconds
from sloctl.errors import DefinitionError
from sloctl.severity import Severity


class Cause(StrEnum):
    """What an incident is about: a symptom of an interruption of service.

    Metrics can show errors and latency, which join one automatic incident per service; data
    loss, a security breach or anything else is declared by a person.
    """

    ERRORS = "errors"
    LATENCY = "latency"
    DATA_LOSS = "data-loss"
    SECURITY = "security"
    OTHER = "other"


METRIC_CAUSES = (Cause.ERRORS, Cause.LATENCY)


class Condition(StrEnum):
    OUTAGE = "outage"
    MAJOR_ERRORS = "major-errors"
    BUDGET_BURN = "budget-burn"
    LATENCY_BUDGET_BURN = "latency-budget-burn"
    SEVERE_LATENCY = "severe-latency"
    DEGRADED_LATENCY = "degraded-latency"


CAUSE_OF = {
    Condition.OUTAGE: Cause.ERRORS,
    Condition.MAJOR_ERRORS: Cause.ERRORS,
    Condition.BUDGET_BURN: Cause.ERRORS,
    Condition.LATENCY_BUDGET_BURN: Cause.LATENCY,
    Condition.SEVERE_LATENCY: Cause.LATENCY,
    Condition.DEGRADED_LATENCY: Cause.LATENCY,
}


@dataclass(frozen=True)
class Thresholds:
    """One service's severity thresholds; the defaults are the runbook's."""

    outage_error_ratio: Decimal = Decimal("0.5")
    major_error_ratio: Decimal = Decimal("0.1")
    major_for: timedelta = timedelta(minutes=30)
    severe_p95_seconds: Decimal = Decimal("0.5")
    severe_for: timedelta = timedelta(minutes=5)
    degraded_for: timedelta = timedelta(minutes=5)
    long_degradation: timedelta = timedelta(hours=1)
    healthy_error_ratio: Decimal = Decimal("0.001")
    """Runbook 2.4 verification: error rates back below 0.1 %."""
    stable_for: timedelta = timedelta(minutes=15)
    """How long verification must hold before a monitored incident is resolved."""
    signal_window: timedelta = timedelta(minutes=5)
    """The window the error ratio and the p95 are measured over: shorter reacts sooner and
    flaps more (the burn-rate windows are the SRE Workbook's and not configurable)."""


@dataclass(frozen=True)
class Policy:
    defaults: Thresholds = field(default_factory=Thresholds)
    services: Mapping[str, Thresholds] = field(default_factory=dict)

    def for_service(self, service: str) -> Thresholds:
        return self.services.get(service, self.defaults)


@dataclass(frozen=True)
class Signals:
    """What one evaluation measured for one service.

    ``error_ratio`` is the service's share of failed requests over the signal window
    (standing in for the share of users affected), ``p95_seconds`` its p95 latency over it and
    ``latency_threshold`` its latency SLO's threshold; None means not measured. ``burning``
    says whether an availability SLO of it burns its budget at a paging rate,
    ``latency_burning`` the same for a latency SLO.
    """

    at: datetime
    error_ratio: float | None = None
    p95_seconds: float | None = None
    latency_threshold: Decimal | None = None
    burning: bool = False
    latency_burning: bool = False


Held = Mapping[Condition, datetime]
"""For each condition that holds, since when it has held without interruption."""


def conditions(signals: Signals, limits: Thresholds) -> set[Condition]:
    """The conditions that hold right now."""
    found: set[Condition] = set()
    ratio = signals.error_ratio
    if ratio is not None:
        if ratio > limits.outage_error_ratio:
            found.add(Condition.OUTAGE)
        if ratio > limits.major_error_ratio:
            found.add(Condition.MAJOR_ERRORS)
    if signals.burning:
        found.add(Condition.BUDGET_BURN)
    if signals.latency_burning:
        found.add(Condition.LATENCY_BUDGET_BURN)
    if signals.p95_seconds is not None and signals.latency_threshold is not None:
        severe = max(limits.severe_p95_seconds, signals.latency_threshold)
        if signals.p95_seconds > severe:
            found.add(Condition.SEVERE_LATENCY)
        if signals.p95_seconds > signals.latency_threshold:
            found.add(Condition.DEGRADED_LATENCY)
    return found


UNMEASURED_WITHOUT = {
    Condition.OUTAGE: "error_ratio",
    Condition.MAJOR_ERRORS: "error_ratio",
    Condition.SEVERE_LATENCY: "p95_seconds",
    Condition.DEGRADED_LATENCY: "p95_seconds",
}


def track(previous: Held, signals: Signals, limits: Thresholds) -> dict[Condition, datetime]:
    """Carry the start of every condition that still holds; forget the ones that stopped.

    A condition whose signal was not measured this time is neither started nor stopped: a
    scrape gap must not restart a 30-minute clock, and must not count as recovery either.
    """
    now = conditions(signals, limits)
    kept = {
        condition: since
        for condition, since in previous.items()
        if condition in UNMEASURED_WITHOUT
        and getattr(signals, UNMEASURED_WITHOUT[condition]) is None
    }
    started = {condition: previous.get(condition, signals.at) for condition in now}
    return dict(sorted({**kept, **started}.items()))


@dataclass(frozen=True)
class Finding:
    """A severity reached by one cause, and the runbook rule that set it."""

    cause: Cause
    severity: Severity
    reason: str


def _held_for(held: Held, condition: Condition, at: datetime) -> timedelta | None:
    since = held.get(condition)
    return None if since is None else at - since


def assess(held: Held, at: datetime, limits: Thresholds) -> dict[Cause, Finding]:
    """The highest severity each cause reaches at ``at``, given how long conditions held."""
    rules: list[tuple[Condition, timedelta, Severity, str]] = [
        (Condition.OUTAGE, timedelta(0), Severity.P1,
         "error ratio above 50% (complete service outage, runbook 2.2 / 7.1)"),
        (Condition.MAJOR_ERRORS, limits.major_for, Severity.P2,
         "error ratio above 10% for more than 30 minutes (major feature down, 7.1)"),
        (Condition.SEVERE_LATENCY, limits.severe_for, Severity.P2,
         "p95 latency above the severe threshold (significant degradation, 2.2)"),
        (Condition.DEGRADED_LATENCY, limits.long_degradation, Severity.P2,
         "p95 latency above the SLO for more than an hour (performance issue, 7.1)"),
        (Condition.DEGRADED_LATENCY, limits.degraded_for, Severity.P3,
         "p95 latency above the SLO (performance degradation, 2.2)"),
        (Condition.BUDGET_BURN, timedelta(0), Severity.P3,
         "error budget burning at a paging rate (minor issue, 2.2)"),
        (Condition.LATENCY_BUDGET_BURN, timedelta(0), Severity.P3,
         "latency budget burning at a paging rate (performance degradation, 2.2)"),
    ]  # fmt: skip
    findings: dict[Cause, Finding] = {}
    for condition, needed, severity, reason in rules:
        held_for = _held_for(held, condition, at)
        if held_for is None or held_for < needed:
            continue
        cause = CAUSE_OF[condition]
        current = findings.get(cause)
        if current is None or rank(severity) > rank(current.severity):
            findings[cause] = Finding(cause, severity, reason)
    return findings


def rank(severity: Severity) -> int:
    """P1 outranks P2 outranks P3 outranks P4."""
    return {Severity.P1: 4, Severity.P2: 3, Severity.P3: 2, Severity.P4: 1}[severity]


def healthy(signals: Signals, limits: Thresholds, cause: Cause) -> bool | None:
    """Runbook 2.4 verification for one cause on the current signals: True, False, or None
    when not measured.

    Only what is measured now counts: the paging burn-rate pairs look back up to six hours
    and keep firing long after the service recovered, so they do not hold verification back.
    """
    if cause not in METRIC_CAUSES:
        return None  # only a person can say a data loss or a breach is over
    if cause is Cause.ERRORS:
        if signals.error_ratio is None:
            return None
        return signals.error_ratio < limits.healthy_error_ratio
    if signals.p95_seconds is None or signals.latency_threshold is None:
        return None
    return signals.p95_seconds < signals.latency_threshold


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


Span = Annotated[timedelta, BeforeValidator(_span)]
Ratio = Annotated[Decimal, BeforeValidator(_ratio)]
Seconds = Annotated[Decimal, BeforeValidator(_seconds)]


class _ThresholdSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    outage_error_ratio: Ratio | None = None
    major_error_ratio: Ratio | None = None
    major_for: Span | None = None
    severe_p95_seconds: Seconds | None = None
    severe_for: Span | None = None
    degraded_for: Span | None = None
    long_degradation: Span | None = None
    healthy_error_ratio: Ratio | None = None
    stable_for: Span | None = None
    signal_window: Span | None = None

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
    document = read_document(path)
    try:
        spec = _PolicySpec.model_validate(document.data or {})
    except ValidationError as exc:
        raise DefinitionError(validation_problems(exc, document, str(path))) from exc
    defaults = spec.defaults.over(Thresholds())
    return Policy(defaults, {name: s.over(defaults) for name, s in spec.services.items()})
