"""Tests for sloctl.core.budget: exact budgets, error ratios, burn rates and the status verdict."""

from __future__ import annotations

import math
from datetime import timedelta
from decimal import Decimal

import pytest

from sloctl.core.budget import (
    Budget,
    Counts,
    Status,
    assess_budget,
    budget_minutes,
    burn_rate,
    error_ratio,
    minutes,
    ratio_of,
    time_to_exhaustion,
)
from sloctl.core.window import Month, calendar_span

THIRTY_DAYS = timedelta(days=30)
NINES_3 = Decimal("0.001")  # error budget of a 99.9 % objective
NAN = math.nan
INF = math.inf


# --------------------------------------------------------------------------- budgets


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        pytest.param("0.999", Decimal("43.2"), id="99.9%-43.2min"),
        pytest.param("0.9995", Decimal("21.6"), id="99.95%-21.6min"),
        pytest.param("0.995", Decimal("216"), id="99.5%-216min"),
        pytest.param("0.9999", Decimal("4.32"), id="99.99%-4.32min"),
    ],
)
def test_runbook_budgets_over_30_days_are_exact_decimals(target: str, expected: Decimal) -> None:
    result = budget_minutes(1 - Decimal(target), THIRTY_DAYS)
    assert isinstance(result, Decimal)
    assert result == expected
    assert result.normalize() == expected.normalize()


@pytest.mark.parametrize(
    ("month", "days", "expected"),
    [
        pytest.param(Month(2027, 2), 28, Decimal("40.32"), id="feb-2027-28d"),
        pytest.param(Month(2028, 2), 29, Decimal("41.76"), id="feb-2028-leap-29d"),
        pytest.param(Month(2026, 4), 30, Decimal("43.2"), id="april-30d"),
        pytest.param(Month(2026, 1), 31, Decimal("44.64"), id="january-31d"),
    ],
)
def test_calendar_month_budgets_at_three_nines(month: Month, days: int, expected: Decimal) -> None:
    length = calendar_span(month, "UTC", None).length
    assert length == timedelta(days=days)
    result = budget_minutes(NINES_3, length)
    assert isinstance(result, Decimal)
    assert result == expected


@pytest.mark.parametrize(
    ("span", "expected"),
    [
        pytest.param(THIRTY_DAYS, Decimal(43200), id="30d"),
        pytest.param(timedelta(seconds=90), Decimal("1.5"), id="90s"),
        pytest.param(timedelta(hours=1), Decimal(60), id="1h"),
        pytest.param(timedelta(0), Decimal(0), id="zero"),
        pytest.param(
            timedelta(microseconds=1), Decimal(1) / Decimal(60_000_000), id="one-microsecond"
        ),
    ],
)
def test_minutes_is_exact(span: timedelta, expected: Decimal) -> None:
    assert minutes(span) == expected


# --------------------------------------------------------------------------- error_ratio


@pytest.mark.parametrize(
    ("counts", "expected"),
    [
        pytest.param(Counts(total=1000, bad=1), 0.001, id="one-in-a-thousand"),
        pytest.param(Counts(total=1000, bad=0), 0.0, id="no-errors"),
        pytest.param(Counts(total=1000, bad=1000), 1.0, id="all-bad"),
        pytest.param(Counts(total=100, bad=150), 1.0, id="bad-above-total-capped"),
        pytest.param(Counts(total=100, bad=-5), 0.0, id="negative-bad-floored"),
        pytest.param(Counts(total=100, bad=NAN), None, id="nan-bad-is-no-data"),
        pytest.param(None, None, id="no-counts"),
        pytest.param(Counts(total=0, bad=0), None, id="zero-total"),
        pytest.param(Counts(total=0, bad=5), None, id="zero-total-with-bad"),
        pytest.param(Counts(total=-3, bad=0), None, id="negative-total"),
        pytest.param(Counts(total=NAN, bad=1), None, id="nan-total"),
        pytest.param(Counts(total=INF, bad=1), None, id="inf-total"),
        pytest.param(Counts(total=-INF, bad=1), None, id="minus-inf-total"),
        pytest.param(Counts(total=NAN, bad=NAN), None, id="nan-both"),
    ],
)
def test_error_ratio(counts: Counts | None, expected: float | None) -> None:
    result = error_ratio(counts)
    if expected is None:
        assert result is None
    else:
        assert result == pytest.approx(expected)


SPECIALS = [0.0, 1.0, 5.0, 1000.0, -1.0, NAN, INF, -INF]


@pytest.mark.parametrize("total", SPECIALS, ids=[f"total={v}" for v in SPECIALS])
@pytest.mark.parametrize("bad", SPECIALS, ids=[f"bad={v}" for v in SPECIALS])
def test_error_ratio_is_never_nan_and_stays_in_unit_interval(total: float, bad: float) -> None:
    result = error_ratio(Counts(total=total, bad=bad))
    if not (math.isfinite(total) and math.isfinite(bad)) or total <= 0:
        assert result is None
    else:
        assert result is not None
        assert not math.isnan(result)
        assert 0.0 <= result <= 1.0


# --------------------------------------------------------------------------- burn_rate


@pytest.mark.parametrize(
    ("ratio", "error_budget", "expected"),
    [
        pytest.param(0.001, NINES_3, 1.0, id="at-budget-rate-is-1"),
        pytest.param(0.0144, NINES_3, 14.4, id="fast-burn-14.4"),
        pytest.param(0.006, NINES_3, 6.0, id="slow-burn-6"),
        pytest.param(0.0, NINES_3, 0.0, id="no-errors"),
        pytest.param(0.05, Decimal("0.05"), 1.0, id="95%-at-budget"),
        pytest.param(1.0, Decimal("0.0001"), 10000.0, id="full-outage-four-nines"),
    ],
)
def test_burn_rate(ratio: float, error_budget: Decimal, expected: float) -> None:
    result = burn_rate(ratio, error_budget)
    assert result is not None
    assert result == pytest.approx(expected, rel=1e-12)


def test_burn_rate_of_no_data_is_none() -> None:
    assert burn_rate(None, NINES_3) is None


# --------------------------------------------------------------------------- time_to_exhaustion


@pytest.mark.parametrize(
    ("remaining", "burn", "expected"),
    [
        pytest.param(43.2, 0.0, None, id="zero-burn-never"),
        pytest.param(43.2, None, None, id="unknown-burn-never"),
        pytest.param(43.2, -1.0, None, id="negative-burn-never"),
        pytest.param(0.0, None, timedelta(0), id="nothing-left-unknown-burn"),
        pytest.param(0.0, 2.0, timedelta(0), id="nothing-left"),
        pytest.param(-5.0, 0.0, timedelta(0), id="overspent"),
        pytest.param(43.2, 1.0, THIRTY_DAYS, id="burn-1-lasts-the-window"),
        pytest.param(21.6, 2.0, timedelta(days=7, hours=12), id="half-left-burn-2"),
        pytest.param(43.2, 14.4, timedelta(hours=50), id="burn-14.4-lasts-50h"),
    ],
)
def test_time_to_exhaustion(
    remaining: float, burn: float | None, expected: timedelta | None
) -> None:
    result = time_to_exhaustion(remaining, Decimal("43.2"), THIRTY_DAYS, burn)
    if expected is None:
        assert result is None
    else:
        assert result is not None
        assert result.total_seconds() == pytest.approx(expected.total_seconds(), rel=1e-9)


# --------------------------------------------------------------------------- assess_budget


def _assess(
    counts: Counts | None,
    current: Counts | None = None,
    *,
    measured: timedelta = THIRTY_DAYS,
    window_length: timedelta = THIRTY_DAYS,
    time_left: timedelta | None = None,
    slice_length: timedelta | None = None,
) -> Budget:
    return assess_budget(
        error_budget=NINES_3,
        window_length=window_length,
        measured=measured,
        time_left=time_left,
        counts=counts,
        current=current,
        slice_length=slice_length,
    )


@pytest.mark.parametrize(
    "counts",
    [
        pytest.param(None, id="counts-none"),
        pytest.param(Counts(total=0, bad=0), id="total-zero"),
        pytest.param(Counts(total=NAN, bad=0), id="total-nan"),
        pytest.param(Counts(total=INF, bad=0), id="total-inf"),
    ],
)
def test_no_data_is_its_own_state_never_all_good(counts: Counts | None) -> None:
    budget = _assess(counts, Counts(total=1000, bad=2))
    assert budget.status is Status.NO_DATA
    assert budget.consumed_minutes is None
    assert budget.remaining_minutes is None
    assert budget.consumed_share is None
    assert budget.remaining_share is None
    assert budget.error_ratio is None
    assert budget.burn_rate is None
    assert budget.time_to_exhaustion is None
    assert budget.budget_minutes == Decimal("43.2")
    # the short-window burn is still reported when the short window has data
    assert budget.current_burn_rate == pytest.approx(2.0)


@pytest.mark.parametrize(
    ("counts", "current", "time_left", "measured", "expected"),
    [
        pytest.param(
            Counts(total=1_000_000, bad=100),
            Counts(total=1000, bad=0),
            None,
            THIRTY_DAYS,
            Status.OK,
            id="ok-rolling-10%-used",
        ),
        pytest.param(
            Counts(total=1_000_000, bad=100),
            None,
            None,
            THIRTY_DAYS,
            Status.OK,
            id="ok-no-current-reading",
        ),
        pytest.param(
            Counts(total=1_000_000, bad=800),
            Counts(total=1000, bad=0),
            None,
            THIRTY_DAYS,
            Status.AT_RISK,
            id="at-risk-20%-remaining",
        ),
        pytest.param(
            Counts(total=1_000_000, bad=700),
            Counts(total=1000, bad=0),
            None,
            THIRTY_DAYS,
            Status.OK,
            id="ok-30%-remaining",
        ),
        pytest.param(
            Counts(total=1_000_000, bad=100),
            Counts(total=1000, bad=2),
            None,
            THIRTY_DAYS,
            Status.AT_RISK,
            id="at-risk-rolling-burn-2",
        ),
        pytest.param(
            Counts(total=1_000_000, bad=100),
            Counts(total=1000, bad=1),
            None,
            THIRTY_DAYS,
            Status.OK,
            id="ok-rolling-burn-exactly-1",
        ),
        pytest.param(
            Counts(total=1_000_000, bad=100),
            Counts(total=10_000, bad=9),
            None,
            THIRTY_DAYS,
            Status.OK,
            id="ok-rolling-burn-0.9",
        ),
        pytest.param(
            # 10 of 30 days measured: 1.44 min used, 41.76 left; burn 2 empties it in 14.5 d
            Counts(total=1_000_000, bad=100),
            Counts(total=1000, bad=2),
            timedelta(days=20),
            timedelta(days=10),
            Status.AT_RISK,
            id="at-risk-calendar-exhausts-before-month-end",
        ),
        pytest.param(
            # 25 of 30 days measured: 3.6 min used, 39.6 left; burn 2 needs 13.75 d > 5 d left
            Counts(total=1_000_000, bad=100),
            Counts(total=1000, bad=2),
            timedelta(days=5),
            timedelta(days=25),
            Status.OK,
            id="ok-calendar-burn-2-outlasts-month",
        ),
        pytest.param(
            Counts(total=1_000_000, bad=100),
            None,
            timedelta(days=20),
            timedelta(days=10),
            Status.OK,
            id="ok-calendar-no-current-reading",
        ),
        pytest.param(
            Counts(total=1000, bad=2),
            Counts(total=1000, bad=0),
            None,
            THIRTY_DAYS,
            Status.EXHAUSTED,
            id="exhausted-twice-over",
        ),
        pytest.param(
            Counts(total=1000, bad=1),
            Counts(total=1000, bad=0),
            None,
            THIRTY_DAYS,
            Status.EXHAUSTED,
            id="exhausted-exactly-at-budget",
        ),
    ],
)
def test_assess_status(
    counts: Counts,
    current: Counts | None,
    time_left: timedelta | None,
    measured: timedelta,
    expected: Status,
) -> None:
    budget = _assess(counts, current, measured=measured, time_left=time_left)
    assert budget.status is expected
    assert budget.consumed_minutes is not None
    assert not math.isnan(budget.consumed_minutes)


def test_calendar_half_month_at_twice_the_ratio_spends_exactly_the_budget() -> None:
    # ratio 0.002 over 15 of 30 days: 0.002 x 21600 min = 43.2 min = the whole budget
    budget = _assess(
        Counts(total=1000, bad=2),
        None,
        measured=timedelta(days=15),
        time_left=timedelta(days=15),
    )
    assert budget.consumed_minutes == pytest.approx(43.2)
    assert budget.status is Status.EXHAUSTED


def test_exhausted_budget_has_zero_time_left_and_negative_remaining() -> None:
    budget = _assess(Counts(total=1000, bad=2), Counts(total=1000, bad=0))
    assert budget.status is Status.EXHAUSTED
    assert budget.consumed_minutes == pytest.approx(86.4)
    assert budget.remaining_minutes == pytest.approx(-43.2)
    assert budget.consumed_share == pytest.approx(2.0)
    assert budget.time_to_exhaustion == timedelta(0)


def test_rolling_at_risk_by_burn_reports_time_to_exhaustion() -> None:
    # 4.32 of 43.2 min used, 38.88 left; burn 2 spends 0.002 min per minute -> 19440 min
    budget = _assess(Counts(total=1_000_000, bad=100), Counts(total=1000, bad=2))
    assert budget.status is Status.AT_RISK
    assert budget.current_burn_rate == pytest.approx(2.0)
    assert budget.time_to_exhaustion is not None
    assert budget.time_to_exhaustion.total_seconds() / 60 == pytest.approx(19440)


@pytest.mark.parametrize(
    ("counts", "measured", "expected_consumed"),
    [
        pytest.param(Counts(total=1000, bad=1), THIRTY_DAYS, 43.2, id="0.1%-over-30d"),
        pytest.param(Counts(total=200_000, bad=50), timedelta(days=7), 2.52, id="0.025%-over-7d"),
        pytest.param(Counts(total=4000, bad=1), timedelta(days=10), 3.6, id="0.025%-over-10d"),
        pytest.param(Counts(total=1000, bad=0), THIRTY_DAYS, 0.0, id="none-bad"),
    ],
)
def test_occurrences_consume_error_ratio_times_measured_minutes(
    counts: Counts, measured: timedelta, expected_consumed: float
) -> None:
    budget = _assess(counts, measured=measured)
    assert budget.consumed_minutes == pytest.approx(expected_consumed, abs=1e-9)
    assert budget.remaining_minutes == pytest.approx(43.2 - expected_consumed, abs=1e-9)


@pytest.mark.parametrize(
    ("counts", "slice_length", "measured", "expected_consumed", "expected_status"),
    [
        pytest.param(
            Counts(total=8640, bad=3),
            timedelta(minutes=5),
            THIRTY_DAYS,
            15.0,
            Status.OK,
            id="3-bad-5min-slices",
        ),
        pytest.param(
            # measured time does not enter the timeslice arithmetic
            Counts(total=4320, bad=3),
            timedelta(minutes=5),
            timedelta(days=15),
            15.0,
            Status.OK,
            id="3-bad-5min-slices-half-measured",
        ),
        pytest.param(
            Counts(total=43200, bad=40),
            timedelta(minutes=1),
            THIRTY_DAYS,
            40.0,
            Status.AT_RISK,
            id="40-bad-1min-slices-at-risk",
        ),
        pytest.param(
            Counts(total=8640, bad=9),
            timedelta(minutes=5),
            THIRTY_DAYS,
            45.0,
            Status.EXHAUSTED,
            id="9-bad-5min-slices-exhausted",
        ),
        pytest.param(
            Counts(total=8640, bad=0),
            timedelta(minutes=5),
            THIRTY_DAYS,
            0.0,
            Status.OK,
            id="no-bad-slices",
        ),
    ],
)
def test_timeslices_consume_bad_slices_times_slice_minutes(
    counts: Counts,
    slice_length: timedelta,
    measured: timedelta,
    expected_consumed: float,
    expected_status: Status,
) -> None:
    budget = _assess(counts, measured=measured, slice_length=slice_length)
    assert budget.consumed_minutes == pytest.approx(expected_consumed)
    assert budget.status is expected_status
    assert budget.error_ratio == pytest.approx(counts.bad / counts.total)


def test_timeslices_with_no_slices_are_no_data() -> None:
    budget = _assess(Counts(total=0, bad=0), slice_length=timedelta(minutes=5))
    assert budget.status is Status.NO_DATA
    assert budget.consumed_minutes is None


def test_absent_error_series_is_ok_with_nothing_consumed_not_no_data() -> None:
    budget = _assess(Counts(total=1000, bad=0), Counts(total=50, bad=0))
    assert budget.status is Status.OK
    assert budget.consumed_minutes == 0.0
    assert budget.remaining_minutes == pytest.approx(43.2)
    assert budget.remaining_share == pytest.approx(1.0)
    assert budget.error_ratio == 0.0
    assert budget.burn_rate == 0.0
    assert budget.current_burn_rate == 0.0
    assert budget.time_to_exhaustion is None


def test_budget_comes_from_the_whole_window_not_the_measured_part() -> None:
    budget = _assess(
        Counts(total=1000, bad=0),
        measured=timedelta(days=3),
        window_length=timedelta(days=31),
        time_left=timedelta(days=28),
    )
    assert budget.budget_minutes == Decimal("44.64")
    assert budget.remaining_minutes == pytest.approx(44.64)


def test_window_burn_rate_is_the_error_ratio_over_the_budget() -> None:
    budget = _assess(Counts(total=10_000, bad=5), Counts(total=100, bad=0))
    assert budget.error_ratio == pytest.approx(0.0005)
    assert budget.burn_rate == pytest.approx(0.5)
    assert budget.consumed_share == pytest.approx(0.5)
    assert budget.remaining_share == pytest.approx(0.5)


def test_time_to_exhaustion_of_a_trickle_is_never_rather_than_an_overflow() -> None:
    window = timedelta(days=30)
    assert time_to_exhaustion(43.0, Decimal("43.2"), window, 1e-14) is None
    result = assess_budget(
        error_budget=Decimal("0.001"),
        window_length=window,
        measured=window,
        time_left=None,
        counts=Counts(total=1e12, bad=1),
        current=Counts(total=123456.789, bad=1.4e-11),
    )
    assert result.time_to_exhaustion is None
    assert result.status is Status.OK


@pytest.mark.parametrize(
    ("total", "bad"),
    [
        (1000.0, 5.0),
        (10.0, 12.0),  # both extrapolated: capped at 1
        (10.0, -1.0),
        (0.0, 0.0),
        (-3.0, 1.0),
        (math.inf, 1.0),
        (100.0, math.nan),
        (math.nan, 1.0),
    ],
)
def test_ratio_of_is_the_error_ratio_of_the_counts(total: float, bad: float) -> None:
    expected = error_ratio(Counts(total=total, bad=bad))
    assert ratio_of(total, bad) == expected
    assert (ratio_of(total, bad) is None) == (expected is None)
