"""The runbook's severity policy as data: which measured indicators make an incident P1 to P3.

Runbook 2.2 (severity assessment checklist) and 7.1 (severity matrix), as defaults that a
policy file can override per service:

- P1: error ratio above 50 % ("complete service outage"), at once;
- P2: error ratio above 10 % for more than 30 minutes ("major feature down"); p95 above
  500 ms, or above the service's own latency threshold where that is higher ("significant
  performance degradation"); p95 above the latency threshold for more than an hour
  ("performance issue > 1 hour");
- P3: p95 above the latency threshold ("minor" degradation), or the error budget burning at
  a paging rate while errors stay below 10 %;
- P4 is cosmetic and never comes from metrics.

Everything here is pure: signals and times in, decisions out. How long a condition has held
is carried in a :class:`Held` value that the caller keeps between evaluations.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from sloctl.severity import Severity


class Cause(StrEnum):
    """What an incident is about; one open incident per service and cause."""

    ERRORS = "errors"
    LATENCY = "latency"


class Condition(StrEnum):
    OUTAGE = "outage"
    MAJOR_ERRORS = "major-errors"
    BUDGET_BURN = "budget-burn"
    SEVERE_LATENCY = "severe-latency"
    DEGRADED_LATENCY = "degraded-latency"


CAUSE_OF = {
    Condition.OUTAGE: Cause.ERRORS,
    Condition.MAJOR_ERRORS: Cause.ERRORS,
    Condition.BUDGET_BURN: Cause.ERRORS,
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


@dataclass(frozen=True)
class Policy:
    defaults: Thresholds = field(default_factory=Thresholds)
    services: Mapping[str, Thresholds] = field(default_factory=dict)

    def for_service(self, service: str) -> Thresholds:
        return self.services.get(service, self.defaults)


@dataclass(frozen=True)
class Signals:
    """What one evaluation measured for one service.

    ``error_ratio`` is the service's 5-minute share of failed requests (standing in for the
    share of users affected), ``p95_seconds`` its 5-minute p95 latency and
    ``latency_threshold`` its latency SLO's threshold; None means not measured. ``burning``
    says whether any of its SLOs burns its budget at a paging rate.
    """

    at: datetime
    error_ratio: float | None = None
    p95_seconds: float | None = None
    latency_threshold: Decimal | None = None
    burning: bool = False


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
    if signals.burning and (ratio is None or ratio <= limits.major_error_ratio):
        found.add(Condition.BUDGET_BURN)
    if signals.p95_seconds is not None and signals.latency_threshold is not None:
        severe = max(limits.severe_p95_seconds, signals.latency_threshold)
        if signals.p95_seconds > severe:
            found.add(Condition.SEVERE_LATENCY)
        if signals.p95_seconds > signals.latency_threshold:
            found.add(Condition.DEGRADED_LATENCY)
    return found


def track(previous: Held, signals: Signals, limits: Thresholds) -> dict[Condition, datetime]:
    """Carry the start of every condition that still holds; forget the ones that stopped."""
    now = conditions(signals, limits)
    return {condition: previous.get(condition, signals.at) for condition in sorted(now)}


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
         "error budget burning at a paging rate with errors below 10% (2.2)"),
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
    """Runbook 2.4 verification for one cause: True, False, or None when not measured."""
    if cause is Cause.ERRORS:
        if signals.error_ratio is None:
            return None
        return signals.error_ratio < limits.healthy_error_ratio and not signals.burning
    if signals.p95_seconds is None or signals.latency_threshold is None:
        return None
    return signals.p95_seconds < signals.latency_threshold
