"""Error-budget arithmetic: pure functions of counts, targets and spans of time.

Nothing here reads a clock or talks to Prometheus. "No data" is a state of its own
(``None``), never NaN, never infinity and never "100 % good".
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from enum import StrEnum
from math import isfinite

MAX_EXHAUSTION_MINUTES = 100 * 365 * 24 * 60
AT_RISK_REMAINING_SHARE = 0.25
"""Below this share of the budget left, an SLO is "at risk" whatever its burn rate."""


class Status(StrEnum):
    OK = "ok"
    AT_RISK = "at risk"
    EXHAUSTED = "exhausted"
    NO_DATA = "no data"


@dataclass(frozen=True, slots=True)
class Counts:
    """Events over one span: all of them and the bad ones (for timeslices: slices)."""

    total: float
    bad: float


def error_ratio(counts: Counts | None) -> float | None:
    """``bad / total``, or None when there were no events to judge.

    A bad side larger than the total (both are extrapolated by Prometheus) is capped at 1.
    """
    return None if counts is None else ratio_of(counts.total, counts.bad)


def ratio_of(total: float, bad: float) -> float | None:
    """:func:`error_ratio` of the counts ``total`` and ``bad``."""
    if not isfinite(total) or total <= 0 or not isfinite(bad):
        return None
    return min(max(bad / total, 0.0), 1.0)


@functools.lru_cache(maxsize=1024)
def minutes(span: timedelta) -> Decimal:
    """Exact minutes in ``span`` (microsecond precision).

    Pure, and asked several times per SLO on every daemon cycle for the same few window
    lengths: remembered (a Decimal cannot be changed by whoever is handed it; equal spans
    are the same span, so one answer serves them all)."""
    micro = (span.days * 86400 + span.seconds) * 1_000_000 + span.microseconds
    return Decimal(micro) / Decimal(60_000_000)


def budget_minutes(error_budget: Decimal, window: timedelta) -> Decimal:
    """Minutes of full outage the objective allows over ``window``: ``(1 - target) x window``."""
    return error_budget * minutes(window)


def burn_rate(ratio: float | None, error_budget: Decimal) -> float | None:
    """How fast the budget burns: 1 spends it exactly over the window."""
    if ratio is None:
        return None
    return ratio / float(error_budget)


def time_to_exhaustion(
    remaining_minutes: float, budget: Decimal, window: timedelta, burn: float | None
) -> timedelta | None:
    """How long the remaining budget lasts at ``burn``; None when it is not being spent."""
    if remaining_minutes <= 0:
        return timedelta(0)
    if burn is None or burn <= 0:
        return None
    spent_per_minute = burn * float(budget) / float(minutes(window))
    lasting = remaining_minutes / spent_per_minute
    if not math.isfinite(lasting) or lasting > MAX_EXHAUSTION_MINUTES:
        return None  # spent so slowly that it never runs out in any horizon worth showing
    return timedelta(minutes=lasting)


def _exhausting(burn: float | None, tte: timedelta | None, time_left: timedelta | None) -> bool:
    if time_left is None:
        return burn is not None and burn > 1
    return tte is not None and tte < time_left


@dataclass(frozen=True, slots=True)
class Budget:
    """Where one SLO's error budget stands at the end of a span."""

    budget_minutes: Decimal
    error_ratio: float | None
    consumed_minutes: float | None
    burn_rate: float | None
    current_burn_rate: float | None
    time_to_exhaustion: timedelta | None
    status: Status

    @property
    def remaining_minutes(self) -> float | None:
        if self.consumed_minutes is None:
            return None
        return float(self.budget_minutes) - self.consumed_minutes

    @property
    def consumed_share(self) -> float | None:
        if self.consumed_minutes is None:
            return None
        return self.consumed_minutes / float(self.budget_minutes)

    @property
    def remaining_share(self) -> float | None:
        share = self.consumed_share
        return None if share is None else 1.0 - share


@dataclass(frozen=True, slots=True)
class Spending:
    """What an SLO's counts say before its objective is applied: the same for every SLO that
    counts the same events over the same span, whatever its target."""

    error_ratio: float | None
    consumed_minutes: float | None
    """Minutes of full outage that would have cost the same; None without events."""
    current_ratio: float | None
    """The error ratio over the current burn window."""


def spending(
    counts: Counts | None,
    current: Counts | None,
    measured: timedelta,
    slice_length: timedelta | None = None,
) -> Spending:
    """The error ratio of ``counts`` (over ``measured``), the minutes it consumed, and the
    error ratio of ``current``; see :func:`assess_budget`."""
    ratio = error_ratio(counts)
    current_ratio = error_ratio(current)
    if ratio is None or counts is None:
        return Spending(None, None, current_ratio)
    if slice_length is None:
        consumed = ratio * float(minutes(measured))
    else:
        consumed = counts.bad * float(minutes(slice_length))
    return Spending(ratio, consumed, current_ratio)


def assess_budget(
    *,
    error_budget: Decimal,
    window_length: timedelta,
    measured: timedelta,
    time_left: timedelta | None,
    counts: Counts | None,
    current: Counts | None,
    slice_length: timedelta | None = None,
) -> Budget:
    """Judge one SLO.

    ``window_length`` is the whole window (a full calendar month even while it is in progress)
    and sets the budget; ``measured`` is the part of it that has passed and that ``counts``
    cover. Consumed minutes are minutes of full outage that would have cost the same: the error
    ratio times the measured time for occurrences, bad slices times the slice length for
    timeslices. ``current`` gives the burn rate used for the time to exhaustion.

    An SLO is at risk when less than a quarter of its budget is left, or when the current burn
    would exhaust it: in a rolling window that is any burn rate above 1 (a steady burn below 1
    never catches up with the errors leaving the window); in a calendar month it is a time to
    exhaustion shorter than ``time_left`` in the month.
    """
    spent = spending(counts, current, measured, slice_length)
    return assess_spending(
        spent, error_budget=error_budget, window_length=window_length, time_left=time_left
    )


def assess_spending(
    spent: Spending, *, error_budget: Decimal, window_length: timedelta, time_left: timedelta | None
) -> Budget:
    """:func:`assess_budget` of what was spent: the part that depends on the objective, so
    that SLOs counting the same events share the rest."""
    budget = budget_minutes(error_budget, window_length)
    share = float(error_budget)  # what burn_rate divides by
    ratio, consumed, current_ratio = spent.error_ratio, spent.consumed_minutes, spent.current_ratio
    current_burn = None if current_ratio is None else current_ratio / share
    if ratio is None or consumed is None:
        return Budget(budget, None, None, None, current_burn, None, Status.NO_DATA)
    whole = float(budget)
    remaining = whole - consumed
    tte = time_to_exhaustion(remaining, budget, window_length, current_burn)
    if remaining <= 0:
        status = Status.EXHAUSTED
    elif remaining < AT_RISK_REMAINING_SHARE * whole or _exhausting(current_burn, tte, time_left):
        status = Status.AT_RISK
    else:
        status = Status.OK
    return Budget(budget, ratio, consumed, ratio / share, current_burn, tte, status)
