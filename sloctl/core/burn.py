"""Multiwindow, multi-burn-rate alerting (SRE Workbook, "Alerting on SLOs"), derived per SLO.

A burn-rate factor is the rate at which a given share of the budget is spent within the long
window: ``share x SLO window / long window``. For a 30-day window that gives the familiar
14.4 (2 % in 1 h), 6 (5 % in 6 h), 3 (10 % in 1 d) and 1 (10 % in 3 d); a 28-day or 7-day
window gets its own factors instead of copies of those. Each long window is paired with a
short one, a twelfth of it, so an alert stops soon after the burning does.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Context, Decimal
from enum import StrEnum

from sloctl.core.slo import CalendarWindow, RollingWindow, Slo

SHORTEST_MONTH_SECONDS = 28 * 86400
PRECISION = Context(prec=12)


class Urgency(StrEnum):
    PAGE = "page"
    TICKET = "ticket"


@dataclass(frozen=True)
class BurnWindow:
    long_seconds: int
    short_seconds: int
    budget_share: Decimal
    urgency: Urgency


STANDARD_WINDOWS: tuple[BurnWindow, ...] = (
    BurnWindow(3600, 300, Decimal("0.02"), Urgency.PAGE),
    BurnWindow(6 * 3600, 1800, Decimal("0.05"), Urgency.PAGE),
    BurnWindow(86400, 2 * 3600, Decimal("0.1"), Urgency.TICKET),
    BurnWindow(3 * 86400, 6 * 3600, Decimal("0.1"), Urgency.TICKET),
)
PAGE_PAIRS = tuple(b for b in STANDARD_WINDOWS if b.urgency is Urgency.PAGE)


def budget_window_seconds(slo: Slo) -> int:
    """The window the factors are derived from.

    A calendar month uses its shortest length, 28 days: in longer months that pages slightly
    before 2 % of the month's budget is spent, never after.
    """
    match slo.window:
        case RollingWindow(seconds=seconds):
            return seconds
        case CalendarWindow():
            return SHORTEST_MONTH_SECONDS


def factor(window_seconds: int, burn: BurnWindow) -> Decimal:
    """The burn rate that spends ``burn.budget_share`` of the budget within the long window.

    Never below 1: a burn rate under 1 does not exhaust the budget within the window, so an
    alert on it would fire on a healthy service (a 7-day window would otherwise ticket at
    0.23x and a 28-day one at 0.93x).
    """
    exact = burn.budget_share * Decimal(window_seconds) / Decimal(burn.long_seconds)
    return PRECISION.plus(max(exact, Decimal(1))).normalize()


def threshold(slo: Slo, burn: BurnWindow) -> Decimal:
    """The error ratio at which ``burn`` fires for ``slo``: factor x (1 - target), exactly."""
    return PRECISION.plus(factor(budget_window_seconds(slo), burn) * slo.error_budget).normalize()


def can_fire(slo: Slo, burn: BurnWindow) -> bool:
    """An error ratio never exceeds 1, so a threshold of 1 or more can never fire."""
    return threshold(slo, burn) < 1
