"""The runbook's severity policy as data: the thresholds that make an incident P1 to P3.

Runbook 2.2 (severity assessment checklist) and 7.1 (severity matrix), as per-service
:class:`Thresholds` that a policy file sets and overrides per service. The files they come
from are read by :mod:`sloctl.loading.policy_file`. :mod:`sloctl.incidents.conditions` turns a
service's thresholds into the structured conditions (severity, measure, window, threshold,
duration) that the engine, the rule generator, the promtool tests and the dashboards all read.

P4 is cosmetic and never comes from metrics. Everything here is pure.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from sloctl.core.severity import Severity


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
    """The name of a condition of :mod:`sloctl.incidents.conditions`; held clocks are kept by it."""

    OUTAGE = "outage"
    MAJOR_ERRORS = "major-errors"
    SUSTAINED_ERRORS = "sustained-errors"
    BUDGET_BURN = "budget-burn"
    LATENCY_BUDGET_BURN = "latency-budget-burn"
    SEVERE_LATENCY = "severe-latency"
    DEGRADED_LATENCY = "degraded-latency"
    BUDGET_BURN_TICKET = "budget-burn-ticket"
    LATENCY_BUDGET_BURN_TICKET = "latency-budget-burn-ticket"


CAUSE_OF = {
    Condition.OUTAGE: Cause.ERRORS,
    Condition.MAJOR_ERRORS: Cause.ERRORS,
    Condition.SUSTAINED_ERRORS: Cause.ERRORS,
    Condition.BUDGET_BURN: Cause.ERRORS,
    Condition.BUDGET_BURN_TICKET: Cause.ERRORS,
    Condition.LATENCY_BUDGET_BURN: Cause.LATENCY,
    Condition.LATENCY_BUDGET_BURN_TICKET: Cause.LATENCY,
    Condition.SEVERE_LATENCY: Cause.LATENCY,
    Condition.DEGRADED_LATENCY: Cause.LATENCY,
}


@dataclass(frozen=True)
class Thresholds:
    """One service's severity thresholds.

    The defaults fill in what a policy file leaves out; they equal the shipped policy's
    ``defaults`` (a test keeps the two the same). :func:`shipped_policy` is the default policy.
    """

    outage_error_ratio: Decimal = Decimal("0.5")
    major_error_ratio: Decimal = Decimal("0.1")
    major_for: timedelta = timedelta(minutes=30)
    sustained_burn_rate: Decimal = Decimal("10")
    """P3 when the error ratio over the signal window stays above this multiple of the SLO's
    error budget ratio (1 - target) for ``sustained_for``."""
    sustained_for: timedelta = timedelta(minutes=5)
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
class ServiceSignals:
    """What one evaluation measured for one service.

    ``error_ratio`` is the service's share of failed requests over the signal window
    (standing in for the share of users affected), ``p95_seconds`` its p95 latency over it and
    ``latency_threshold`` its latency SLO's threshold; None means not measured. ``burn_rate``
    is the highest burn rate over the signal window among its availability SLOs (each one's
    error ratio over its error budget ratio, 1 - target). ``burning`` says whether an
    availability SLO of it burns its budget at a paging rate (the burn-rate pairs),
    ``latency_burning`` the same for a latency SLO.
    """

    at: datetime
    error_ratio: float | None = None
    burn_rate: float | None = None
    p95_seconds: float | None = None
    latency_threshold: Decimal | None = None
    burning: bool = False
    latency_burning: bool = False


Held = Mapping[Condition, datetime]
"""For each condition that holds, since when it has held without interruption."""


@dataclass(frozen=True)
class Finding:
    """A severity reached by one cause, and the runbook rule that set it."""

    cause: Cause
    severity: Severity
    reason: str


def rank(severity: Severity) -> int:
    """P1 outranks P2 outranks P3 outranks P4."""
    return {Severity.P1: 4, Severity.P2: 3, Severity.P3: 2, Severity.P4: 1}[severity]


def healthy(signals: ServiceSignals, limits: Thresholds, cause: Cause) -> bool | None:
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
