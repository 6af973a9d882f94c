"""The runbook's conditions as one structured spec, built from the policy in force.

Every condition is a severity, a measure, the window(s) it is measured over, a threshold and
how long it must hold. A service's conditions come from its
:class:`~sloctl.incidents.policy.Thresholds` and the SRE Workbook's burn-rate windows
(:mod:`sloctl.core.burn`); with the shipped policy:

=========================  ========  ===========================  ==============================
condition                  severity  measure                      threshold
=========================  ========  ===========================  ==============================
outage                     P1        error ratio over 5 min       above 50 %, at once
major-errors               P2        error ratio over 5 min       above 10 % for 30 min
sustained-errors           P3        burn rate over 5 min         above 10x for 5 min
budget-burn                P3        burn-rate pairs (errors)     1 h and 5 min, 6 h and 30 min
latency-budget-burn        P3        burn-rate pairs (latency)    the same, on slow requests
severe-latency             P2        p95 over 5 min               above 500 ms (at least the SLO
                                                                  threshold) for 5 min
degraded-latency           P2        p95 over 5 min               above the SLO for 1 hour
degraded-latency           P3        p95 over 5 min               above the SLO for 5 min
budget-burn-ticket (and    ticket    burn-rate pairs              1 d and 2 h, 3 d and 6 h, for
latency-budget-burn-ticket)                                       15 min
=========================  ========  ===========================  ==============================

Who reads it: the engine (:func:`track` and :func:`severity_findings`, on a service's
signals), the rule generator (one alert per condition and SLO, from :func:`bounds`), the
promtool-test simulator (when each of those alerts must fire), the dashboards (their threshold
lines), ``sloctl policy show``, and every reason text, which is written from the values here.

A condition that an SLO makes concrete (a threshold relative to its error budget or its
latency threshold, burn-rate factors derived from its window) is a :class:`Bound`. Pure.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from sloctl.core import burn
from sloctl.core.durations import format_duration
from sloctl.core.severity import Severity, spoken
from sloctl.core.slo import LatencyIndicator, RatioIndicator, Slo
from sloctl.incidents.policy import (
    CAUSE_OF,
    Cause,
    Condition,
    Finding,
    Held,
    ServiceSignals,
    Thresholds,
    rank,
)

TICKET_FOR = timedelta(minutes=15)
"""How long a ticket's burn-rate pairs must agree: tickets are not urgent, flapping is costly."""
PAGE_PAIRS_FOR = timedelta(0)
"""The paging pairs declare as soon as both windows agree (the short one already confirms)."""


class Measure(StrEnum):
    """What a condition compares with its threshold.

    ``error-ratio``: the share of failed requests over the window. ``burn-rate``: that share
    over the SLO's error budget ratio (1 - target), so the threshold is a multiple of the
    rate the SLO allows. ``burn-pairs``: the SLO's bad share (errors, or slow requests for a
    latency SLO) above factor x budget over a long window and its short one, for any of the
    pairs. ``p95``: the p95 latency over the window.
    """

    ERROR_RATIO = "error-ratio"
    BURN_RATE = "burn-rate"
    BURN_PAIRS = "burn-pairs"
    P95 = "p95"


@dataclass(frozen=True)
class ConditionSpec:
    """One condition of one service.

    ``window_seconds`` is the signal window the measure is taken over (0 for burn-rate pairs,
    whose windows are their ``pairs``). ``threshold`` is a ratio for ``error-ratio``, a
    multiple of the error budget ratio for ``burn-rate`` and seconds for ``p95``, where the
    SLO's own latency threshold is the floor (None: the SLO's threshold itself). Burn-rate
    pairs have no threshold of their own: each pair's factor derives from the SLO's window.
    ``duration`` is how long it must hold: the engine's clock and the alert's ``for``.
    ``severity`` None is a ticket, never an incident. ``alert`` names the generated alert.
    """

    condition: Condition
    severity: Severity | None
    measure: Measure
    window_seconds: int
    threshold: Decimal | None
    duration: timedelta
    alert: str
    meaning: str
    runbook: str
    pairs: tuple[burn.BurnWindow, ...] = ()

    @property
    def cause(self) -> Cause:
        return CAUSE_OF[self.condition]

    def applies_to(self, slo: Slo) -> bool:
        """Errors are judged on availability SLOs, latency on latency SLOs."""
        wanted = RatioIndicator if self.cause is Cause.ERRORS else LatencyIndicator
        return isinstance(slo.indicator, wanted)

    def given_threshold(self) -> Decimal:
        """The threshold of an ``error-ratio`` or ``burn-rate`` condition, which must have one."""
        if self.threshold is None:
            raise ValueError(f"condition {self.condition} ({self.measure}) needs a threshold")
        return self.threshold

    def p95_limit(self, slo_threshold: Decimal) -> Decimal:
        """The p95 above which this condition holds, for an SLO with ``slo_threshold``."""
        if self.threshold is None:
            return slo_threshold
        return max(self.threshold, slo_threshold)

    def held_text(self) -> str:
        return f" for more than {spoken(self.duration)}" if self.duration else ""

    def reason(self) -> str:
        """Why an incident was declared or raised, from this condition's values."""
        return f"{self.describe()}{self.held_text()} ({self.meaning}, runbook {self.runbook})"

    def describe(self) -> str:
        """The condition without its duration: ``error ratio above 50% over 5 min``."""
        window = spoken(timedelta(seconds=self.window_seconds))
        if self.measure is Measure.ERROR_RATIO:
            return f"error ratio above {percent(self.given_threshold())} over {window}"
        if self.measure is Measure.BURN_RATE:
            return (
                f"error ratio above {multiple(self.given_threshold())} the error budget "
                f"over {window}"
            )
        if self.measure is Measure.P95:
            if self.threshold is None:
                return f"p95 latency above the SLO's threshold over {window}"
            return (
                f"p95 latency above {seconds_text(self.threshold)} (or the SLO's threshold if "
                f"higher) over {window}"
            )
        budget = "error budget" if self.cause is Cause.ERRORS else "latency budget"
        windows = " or ".join(pair_text(p.long_seconds, p.short_seconds) for p in self.pairs)
        rate = "a paging" if self.severity is not None else "a ticket"
        return f"{budget} burning at {rate} rate over {windows}"


def percent(ratio: Decimal) -> str:
    """0.001 as ``0.1%``, exactly."""
    return f"{format((ratio * 100).normalize(), 'f')}%"


def multiple(value: Decimal) -> str:
    return f"{format(value.normalize(), 'f')}x"


def seconds_text(value: Decimal) -> str:
    """0.5 as ``500 ms``, 2.5 as ``2.5 s``."""
    if value < 1:
        return f"{format((value * 1000).normalize(), 'f')} ms"
    return f"{format(value.normalize(), 'f')} s"


def _window_text(seconds: int) -> str:
    return spoken(timedelta(seconds=seconds))


def pair_text(long_seconds: int, short_seconds: int) -> str:
    """A burn-rate pair as ``1h/5m``: its long window and the short one that confirms it."""
    return f"{format_duration(long_seconds)}/{format_duration(short_seconds)}"


@functools.lru_cache(maxsize=4096)
def service_conditions(limits: Thresholds) -> tuple[ConditionSpec, ...]:
    """Every condition of a service with ``limits``, highest severity first."""
    window = int(limits.signal_window.total_seconds())
    page = burn.PAGE_PAIRS
    ticket = tuple(b for b in burn.STANDARD_WINDOWS if b.urgency is burn.Urgency.TICKET)
    e, p95 = Measure.ERROR_RATIO, Measure.P95
    return (
        ConditionSpec(
            Condition.OUTAGE,
            Severity.P1,
            e,
            window,
            limits.outage_error_ratio,
            timedelta(0),
            "SloctlErrorRatioOutage",
            "complete service outage",
            "2.2 / 7.1",
        ),
        ConditionSpec(
            Condition.MAJOR_ERRORS,
            Severity.P2,
            e,
            window,
            limits.major_error_ratio,
            limits.major_for,
            "SloctlErrorRatioMajor",
            "major feature down",
            "7.1",
        ),
        ConditionSpec(
            Condition.SEVERE_LATENCY,
            Severity.P2,
            p95,
            window,
            limits.severe_p95_seconds,
            limits.severe_for,
            "SloctlLatencySevere",
            "significant performance degradation",
            "2.2",
        ),
        ConditionSpec(
            Condition.DEGRADED_LATENCY,
            Severity.P2,
            p95,
            window,
            None,
            limits.long_degradation,
            "SloctlLatencyDegradedLong",
            "performance issue",
            "7.1",
        ),
        ConditionSpec(
            Condition.SUSTAINED_ERRORS,
            Severity.P3,
            Measure.BURN_RATE,
            window,
            limits.sustained_burn_rate,
            limits.sustained_for,
            "SloctlErrorRatioSustained",
            "minor issue, errors far above normal",
            "2.2 / 7.1",
        ),
        ConditionSpec(
            Condition.DEGRADED_LATENCY,
            Severity.P3,
            p95,
            window,
            None,
            limits.degraded_for,
            "SloctlLatencyDegraded",
            "performance degradation",
            "2.2 / 2.4",
        ),
        ConditionSpec(
            Condition.BUDGET_BURN,
            Severity.P3,
            Measure.BURN_PAIRS,
            0,
            None,
            PAGE_PAIRS_FOR,
            "SloctlBudgetBurnFast",
            "minor issue",
            "2.2",
            page,
        ),
        ConditionSpec(
            Condition.LATENCY_BUDGET_BURN,
            Severity.P3,
            Measure.BURN_PAIRS,
            0,
            None,
            PAGE_PAIRS_FOR,
            "SloctlBudgetBurnFast",
            "performance degradation",
            "2.2",
            page,
        ),
        ConditionSpec(
            Condition.BUDGET_BURN_TICKET,
            None,
            Measure.BURN_PAIRS,
            0,
            None,
            TICKET_FOR,
            "SloctlBudgetBurnSlow",
            "error budget at risk",
            "7.2",
            ticket,
        ),
        ConditionSpec(
            Condition.LATENCY_BUDGET_BURN_TICKET,
            None,
            Measure.BURN_PAIRS,
            0,
            None,
            TICKET_FOR,
            "SloctlBudgetBurnSlow",
            "latency budget at risk",
            "7.2",
            ticket,
        ),
    )


def paging(limits: Thresholds) -> tuple[ConditionSpec, ...]:
    """The conditions that declare incidents: every one with a severity."""
    return tuple(s for s in service_conditions(limits) if s.severity is not None)


# The engine: how long each condition has held, and what severity that reaches.


def observed(spec: ConditionSpec, signals: ServiceSignals) -> bool | None:
    """Whether ``spec`` holds in ``signals``; None when its measure was not measured."""
    if spec.measure is Measure.BURN_PAIRS:
        return signals.burning if spec.cause is Cause.ERRORS else signals.latency_burning
    if spec.measure is Measure.P95:
        if signals.p95_seconds is None or signals.latency_threshold is None:
            return None
        return signals.p95_seconds > spec.p95_limit(signals.latency_threshold)
    value = signals.error_ratio if spec.measure is Measure.ERROR_RATIO else signals.burn_rate
    return None if value is None else value > spec.given_threshold()


def holding(signals: ServiceSignals, limits: Thresholds) -> set[Condition]:
    """The conditions that hold right now."""
    return {s.condition for s in paging(limits) if observed(s, signals)}


def track(previous: Held, signals: ServiceSignals, limits: Thresholds) -> dict[Condition, datetime]:
    """Carry the start of every condition that still holds; forget the ones that stopped.

    A condition whose signal was not measured this time is neither started nor stopped: a
    scrape gap must not restart a 30-minute clock, and must not count as recovery either.
    """
    unmeasured = {s.condition for s in paging(limits) if observed(s, signals) is None}
    kept = {c: since for c, since in previous.items() if c in unmeasured}
    started = {c: previous.get(c, signals.at) for c in holding(signals, limits)}
    return dict(sorted({**kept, **started}.items()))


def severity_findings(held: Held, at: datetime, limits: Thresholds) -> dict[Cause, Finding]:
    """The highest severity each cause reaches at ``at``, given how long conditions held."""
    findings: dict[Cause, Finding] = {}
    for spec in paging(limits):
        since = held.get(spec.condition)
        severity = spec.severity  # never None: paging() keeps the conditions with one
        if since is None or severity is None or at - since < spec.duration:
            continue
        current = findings.get(spec.cause)
        if current is None or rank(severity) > rank(current.severity):
            findings[spec.cause] = Finding(spec.cause, severity, spec.reason())
    return findings


# One SLO's concrete conditions: what the rules, their tests and the dashboards read.


@dataclass(frozen=True)
class Row:
    """One comparison of a bound: the SLO's measure over ``window_seconds`` (and over
    ``short_seconds`` too, for a burn-rate pair) above ``limit``."""

    window_seconds: int
    limit: Decimal
    short_seconds: int | None = None


@dataclass(frozen=True)
class Bound:
    """A condition made concrete for one SLO: it holds when any of its rows holds.

    Limits are on the SLO's bad share (``error-ratio``, ``burn-rate``, ``burn-pairs``) or on
    its p95 in seconds (``p95``).
    """

    spec: ConditionSpec
    slo: Slo
    rows: tuple[Row, ...]

    @property
    def on_p95(self) -> bool:
        return self.spec.measure is Measure.P95

    def summary(self) -> str:
        """``error ratio above 1% (10x the error budget) over 5 min for more than 5 min``."""
        spec = self.spec
        held = spec.held_text()
        if spec.measure is Measure.BURN_PAIRS:
            budget = "error budget" if spec.cause is Cause.ERRORS else "latency budget"
            rates = " or ".join(
                f"{multiple(self.factor(row))} over "
                f"{pair_text(row.window_seconds, row.short_seconds or row.window_seconds)}"
                for row in self.rows
            )
            return f"{budget} burning at {rates}{held}"
        [row] = self.rows
        window = _window_text(row.window_seconds)
        if spec.measure is Measure.P95:
            return f"p95 latency above {seconds_text(row.limit)} over {window}{held}"
        if spec.measure is Measure.BURN_RATE:
            return (
                f"error ratio above {percent(row.limit)} ({multiple(spec.given_threshold())} "
                f"the error budget) over {window}{held}"
            )
        return f"error ratio above {percent(row.limit)} over {window}{held}"

    def factor(self, row: Row) -> Decimal:
        """A row's limit as a burn rate of the SLO's budget."""
        return burn.PRECISION.plus(row.limit / self.slo.error_budget).normalize()


def bind(spec: ConditionSpec, slo: Slo) -> Bound | None:
    """``spec`` made concrete for ``slo``; None if it does not apply or can never hold (a
    limit on a share at 1 or above)."""
    if not spec.applies_to(slo):
        return None
    if spec.measure is Measure.BURN_PAIRS:
        rows = tuple(
            Row(pair.long_seconds, burn.threshold(slo, pair), pair.short_seconds)
            for pair in spec.pairs
            if burn.can_fire(slo, pair)
        )
        return Bound(spec, slo, rows) if rows else None
    if spec.measure is Measure.P95:
        if not isinstance(slo.indicator, LatencyIndicator):
            return None  # applies_to already said so: a p95 is judged on latency SLOs only
        limit = spec.p95_limit(slo.indicator.threshold_seconds)
        return Bound(spec, slo, (Row(spec.window_seconds, limit),))
    limit = spec.given_threshold()
    if spec.measure is Measure.BURN_RATE:
        limit = burn.PRECISION.plus(limit * slo.error_budget).normalize()
    return Bound(spec, slo, (Row(spec.window_seconds, limit),)) if limit < 1 else None


def _covers(wider: Bound, bound: Bound) -> bool:
    """Whether ``wider`` always fires when ``bound`` does, at a severity at least as high:
    then ``bound`` adds nothing (a p95 limit of 500 ms or more makes the P3 latency alert the
    P2 one, for instance)."""
    if wider is bound or len(wider.rows) != 1 or len(bound.rows) != 1:
        return False
    if wider.spec.severity is None or bound.spec.severity is None:
        return False
    mine, theirs = bound.rows[0], wider.rows[0]
    return (
        wider.on_p95 == bound.on_p95
        and mine.short_seconds is None
        and theirs.short_seconds is None
        and theirs.window_seconds == mine.window_seconds
        and theirs.limit <= mine.limit
        and wider.spec.duration <= bound.spec.duration
        and rank(wider.spec.severity) >= rank(bound.spec.severity)
    )


def bounds(slo: Slo, specs: Sequence[ConditionSpec]) -> list[Bound]:
    """The conditions of ``slo``, concrete, leaving out those that can never hold or that a
    condition of the same or higher severity always covers."""
    found = [b for b in (bind(spec, slo) for spec in specs) if b is not None]
    kept: list[Bound] = []
    for bound in found:
        covering = [w for w in found if _covers(w, bound)]
        if any(not _covers(bound, w) or found.index(w) < found.index(bound) for w in covering):
            continue
        kept.append(bound)
    return kept
