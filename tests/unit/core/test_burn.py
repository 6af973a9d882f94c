"""Burn-rate factors and thresholds derived per SLO window (sloctl/core/burn.py)."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from sloctl.core import burn
from sloctl.core.selector import parse_selector
from sloctl.core.slo import (
    CalendarWindow,
    LatencyIndicator,
    RatioIndicator,
    RollingWindow,
    Slo,
    Window,
)
from sloctl.generate import rules
from sloctl.incidents.conditions import Measure, service_conditions
from sloctl.incidents.policy import Thresholds
from sloctl.loading.definitions import load_definitions

DAY = 86400
TOTAL = parse_selector('http_requests_total{service="api"}')
BAD = parse_selector('http_requests_total{service="api",code=~"5.."}')
FAST_1H, FAST_6H, SLOW_1D, SLOW_3D = burn.STANDARD_WINDOWS


THIRTY_DAYS = RollingWindow(30 * DAY)


def ratio_slo(target: str, window: Window = THIRTY_DAYS) -> Slo:
    return Slo("api", "availability", RatioIndicator(TOTAL, BAD), Decimal(target), window)


def factors(window_seconds: int) -> list[Decimal]:
    return [burn.factor(window_seconds, pair) for pair in burn.STANDARD_WINDOWS]


def test_standard_windows_pair_each_long_window_with_a_twelfth_of_it() -> None:
    assert [(b.long_seconds, b.short_seconds) for b in burn.STANDARD_WINDOWS] == [
        (3600, 300),
        (6 * 3600, 1800),
        (DAY, 2 * 3600),
        (3 * DAY, 6 * 3600),
    ]
    assert all(b.long_seconds == 12 * b.short_seconds for b in burn.STANDARD_WINDOWS)
    assert [b.urgency for b in burn.STANDARD_WINDOWS] == [
        burn.Urgency.PAGE,
        burn.Urgency.PAGE,
        burn.Urgency.TICKET,
        burn.Urgency.TICKET,
    ]


@pytest.mark.parametrize(
    ("days", "expected"),
    [
        pytest.param(30, ("14.4", "6", "3", "1"), id="30d"),
        pytest.param(28, ("13.44", "5.6", "2.8", "1"), id="28d"),
        pytest.param(7, ("3.36", "1.4", "1", "1"), id="7d"),
    ],
)
def test_factors_are_exact_decimals_for_the_window(days: int, expected: tuple[str, ...]) -> None:
    found = factors(days * DAY)
    assert found == [Decimal(text) for text in expected]
    assert [str(value) for value in found] == list(expected)
    assert all(isinstance(value, Decimal) for value in found)


def test_factor_is_budget_share_times_window_over_long_window() -> None:
    # 2 % of a 30-day budget within one hour: 0.02 x 720 h / 1 h.
    assert burn.factor(30 * DAY, FAST_1H) == Decimal("0.02") * 720
    assert burn.factor(30 * DAY, SLOW_3D) == Decimal("0.1") * 10


@pytest.mark.parametrize(
    ("window", "seconds"),
    [
        pytest.param(RollingWindow(30 * DAY), 30 * DAY, id="rolling-30d"),
        pytest.param(RollingWindow(28 * DAY), 28 * DAY, id="rolling-28d"),
        pytest.param(RollingWindow(7 * DAY), 7 * DAY, id="rolling-7d"),
        pytest.param(CalendarWindow(), 28 * DAY, id="calendar-utc"),
        pytest.param(CalendarWindow("Europe/Berlin"), 28 * DAY, id="calendar-berlin"),
    ],
)
def test_budget_window_seconds(window: Window, seconds: int) -> None:
    assert burn.budget_window_seconds(ratio_slo("0.999", window)) == seconds


def test_calendar_month_uses_the_28_day_factors(tmp_path: Path) -> None:
    document = {
        "service": "api",
        "slos": [
            {
                "name": "availability",
                "indicator": {"ratio": {"total": TOTAL.render(), "bad": BAD.render()}},
                "objective": {"target": "99.9%"},
                "window": {"calendar": "month", "timezone": "Europe/Berlin"},
            }
        ],
    }
    (tmp_path / "api.yaml").write_text(yaml.safe_dump(document), encoding="utf-8")
    [slo] = load_definitions(tmp_path)
    assert isinstance(slo.window, CalendarWindow)
    derived = [burn.factor(burn.budget_window_seconds(slo), pair) for pair in burn.STANDARD_WINDOWS]
    assert derived == factors(28 * DAY)
    assert [str(burn.threshold(slo, pair)) for pair in burn.STANDARD_WINDOWS] == [
        "0.01344",
        "0.0056",
        "0.0028",
        "0.001",  # 0.933x clamped to 1x
    ]


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        pytest.param("0.999", ("0.0144", "0.006", "0.003", "0.001"), id="99.9%"),
        pytest.param("0.9999", ("0.00144", "0.0006", "0.0003", "0.0001"), id="99.99%"),
        pytest.param("0.9995", ("0.0072", "0.003", "0.0015", "0.0005"), id="99.95%"),
        pytest.param("0.995", ("0.072", "0.03", "0.015", "0.005"), id="99.5%"),
        pytest.param("0.95", ("0.72", "0.3", "0.15", "0.05"), id="95%"),
    ],
)
def test_threshold_is_factor_times_error_budget_exactly(
    target: str, expected: tuple[str, ...]
) -> None:
    slo = ratio_slo(target)
    found = [burn.threshold(slo, pair) for pair in burn.STANDARD_WINDOWS]
    assert found == [Decimal(text) for text in expected]
    assert [str(value) for value in found] == list(expected)
    for pair, value in zip(burn.STANDARD_WINDOWS, found, strict=True):
        assert value == burn.factor(30 * DAY, pair) * (1 - Decimal(target))


NOISE = re.compile(r"0{5,}[1-9]|9{5,}")
"""Runs that mark a binary float's approximation, as in 0.014400000000000001 or 0.0029999999."""


def test_a_float_would_have_shown_noise_where_the_decimal_does_not() -> None:
    # The reason thresholds are decimals: 14.4 x 0.001 in binary floating point is not 0.0144.
    noisy = Decimal(repr(14.4 * 0.001))
    assert str(noisy) != "0.0144"
    assert NOISE.search("".join(str(d) for d in noisy.as_tuple().digits)) is not None
    assert str(burn.threshold(ratio_slo("0.999"), FAST_1H)) == "0.0144"


@pytest.mark.parametrize(
    "target",
    ["0.9", "0.95", "0.99", "0.995", "0.999", "0.9995", "0.9999", "0.99999", "0.975", "0.9975"],
)
@pytest.mark.parametrize(
    "window",
    [
        pytest.param(RollingWindow(30 * DAY), id="30d"),
        pytest.param(RollingWindow(28 * DAY), id="28d"),
        pytest.param(RollingWindow(7 * DAY), id="7d"),
        pytest.param(RollingWindow(90 * DAY), id="90d"),
        pytest.param(CalendarWindow(), id="calendar"),
    ],
)
def test_threshold_text_never_shows_binary_float_noise(target: str, window: Window) -> None:
    slo = ratio_slo(target, window)
    for pair in burn.STANDARD_WINDOWS:
        value = burn.threshold(slo, pair)
        text = str(value)
        assert "E" not in text, text
        digits = "".join(str(d) for d in value.as_tuple().digits)
        assert NOISE.search(digits) is None, text
        assert len(value.as_tuple().digits) <= 12, text
        assert Decimal(text) == value
        assert text == format(value, "f")


@pytest.mark.parametrize(
    ("target", "window", "expected"),
    [
        pytest.param("0.999", RollingWindow(30 * DAY), (True, True, True, True), id="99.9%"),
        pytest.param("0.9", RollingWindow(30 * DAY), (False, True, True, True), id="90%"),
        pytest.param("0.8", RollingWindow(30 * DAY), (False, False, True, True), id="80%"),
        pytest.param("0.5", RollingWindow(30 * DAY), (False, False, False, True), id="50%"),
        pytest.param("0.5", RollingWindow(7 * DAY), (False, True, True, True), id="50%-7d"),
        # 0.02 x 1 800 000 s / 3600 s = a factor of exactly 10: the threshold is exactly 1.
        pytest.param("0.9", RollingWindow(1_800_000), (False, True, True, True), id="exactly-1"),
    ],
)
def test_can_fire_only_below_a_threshold_of_one(
    target: str, window: Window, expected: tuple[bool, ...]
) -> None:
    slo = ratio_slo(target, window)
    assert tuple(burn.can_fire(slo, pair) for pair in burn.STANDARD_WINDOWS) == expected
    for pair, fires in zip(burn.STANDARD_WINDOWS, expected, strict=True):
        assert fires == (burn.threshold(slo, pair) < 1)


def test_threshold_of_exactly_one_cannot_fire() -> None:
    slo = ratio_slo("0.9", RollingWindow(1_800_000))
    assert burn.factor(1_800_000, FAST_1H) == 10
    assert burn.threshold(slo, FAST_1H) == 1
    assert not burn.can_fire(slo, FAST_1H)


CLAUSE = re.compile(r"sloctl:error_ratio:rate(\w+)\{[^}]*\} > ([0-9.]+)")


def _clauses(alert: rules.Alert) -> list[tuple[str, str]]:
    return [(m[1], m[2]) for m in CLAUSE.finditer(alert.expr)]


def burn_alerts(slo: Slo) -> list[rules.Alert]:
    """The burn-rate alerts generated for ``slo`` with the runbook's thresholds."""
    found = rules.alerts(slo, service_conditions(Thresholds()))
    return [a for a in found if a.bound is not None and a.bound.spec.measure is Measure.BURN_PAIRS]


@pytest.mark.parametrize(
    ("target", "window", "expected"),
    [
        pytest.param(
            "0.999",
            RollingWindow(30 * DAY),
            {
                "SloctlBudgetBurnFast": [
                    ("1h", "0.0144"),
                    ("5m", "0.0144"),
                    ("6h", "0.006"),
                    ("30m", "0.006"),
                ],
                "SloctlBudgetBurnSlow": [
                    ("1d", "0.003"),
                    ("2h", "0.003"),
                    ("3d", "0.001"),
                    ("6h", "0.001"),
                ],
            },
            id="99.9%-all-pairs",
        ),
        pytest.param(
            "0.9",
            RollingWindow(30 * DAY),
            {
                "SloctlBudgetBurnFast": [("6h", "0.6"), ("30m", "0.6")],
                "SloctlBudgetBurnSlow": [
                    ("1d", "0.3"),
                    ("2h", "0.3"),
                    ("3d", "0.1"),
                    ("6h", "0.1"),
                ],
            },
            id="90%-without-14.4x",
        ),
        pytest.param(
            "0.8",
            RollingWindow(30 * DAY),
            {"SloctlBudgetBurnSlow": [("1d", "0.6"), ("2h", "0.6"), ("3d", "0.2"), ("6h", "0.2")]},
            id="80%-no-page-at-all",
        ),
        pytest.param(
            "0.9",
            RollingWindow(1_800_000),
            {
                "SloctlBudgetBurnFast": [("6h", "0.416666666667"), ("30m", "0.416666666667")],
                "SloctlBudgetBurnSlow": [
                    ("1d", "0.208333333333"),
                    ("2h", "0.208333333333"),
                    ("3d", "0.1"),  # 0.694x clamped to 1x
                    ("6h", "0.1"),
                ],
            },
            id="threshold-exactly-1-left-out",
        ),
    ],
)
def test_burn_alerts_leave_out_pairs_that_cannot_fire(
    target: str, window: Window, expected: dict[str, list[tuple[str, str]]]
) -> None:
    alerts = burn_alerts(ratio_slo(target, window))
    assert {a.alert: _clauses(a) for a in alerts} == expected
    for alert in alerts:
        for _, limit in _clauses(alert):
            assert Decimal(limit) < 1


def test_burn_alert_summary_names_only_the_pairs_that_can_fire() -> None:
    [fast, slow] = burn_alerts(ratio_slo("0.9"))
    assert fast.annotations["summary"] == (
        "api availability: error budget burning at 6x over 6h/30m (minor issue)"
    )
    assert "14.4x" not in fast.expr + fast.annotations["summary"]
    assert slow.annotations["summary"] == (
        "api availability: error budget burning at 3x over 1d/2h or 1x over 3d/6h"
        " for more than 15 min (error budget at risk)"
    )


def test_latency_slo_uses_the_same_factors() -> None:
    histogram = parse_selector('http_request_duration_seconds{service="api"}')
    slo = Slo("api", "latency", LatencyIndicator(histogram, Decimal("0.2")), Decimal("0.95"))
    assert [str(burn.threshold(slo, pair)) for pair in burn.STANDARD_WINDOWS] == [
        "0.72",
        "0.3",
        "0.15",
        "0.05",
    ]
