"""Prometheus durations, budget amounts, latency thresholds and spoken spans
(sloctl/core/durations.py)."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest

from sloctl.core.durations import (
    amount_resolution_minutes,
    format_duration,
    format_elapsed,
    parse_amount_minutes,
    parse_duration,
    parse_seconds,
    spoken_duration,
)

MINUTE = 60
HOUR = 60 * MINUTE
DAY = 24 * HOUR
WEEK = 7 * DAY


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        pytest.param("30d", 30 * DAY, id="days"),
        pytest.param("1h30m", HOUR + 30 * MINUTE, id="compound"),
        pytest.param("4w", 4 * WEEK, id="weeks"),
        pytest.param("90s", 90, id="seconds"),
        pytest.param("1w2d3h4m5s", WEEK + 2 * DAY + 3 * HOUR + 4 * MINUTE + 5, id="every-unit"),
        pytest.param(" 30d\n", 30 * DAY, id="surrounding-space"),
    ],
)
def test_parse_duration(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        pytest.param("1.5h", "is not a duration", id="fraction"),
        pytest.param("", "is not a duration", id="empty"),
        pytest.param("30", "is not a duration", id="no-unit"),
        pytest.param("30 days", "is not a duration", id="words"),
        pytest.param("30 d", "is not a duration", id="inner-space"),
        pytest.param("-1d", "is not a duration", id="negative"),
        pytest.param("1y", "is not a duration", id="years"),
        pytest.param("500ms", "is not a duration", id="milliseconds"),
        pytest.param("0s", "must be longer than zero", id="zero"),
        pytest.param("0d0h", "must be longer than zero", id="zero-compound"),
    ],
)
def test_parse_duration_rejects(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match=re.escape(reason)):
        parse_duration(text)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        pytest.param(30 * DAY, "30d", id="30d-not-4w2d"),
        pytest.param(10 * DAY, "10d", id="10d-not-1w3d"),
        pytest.param(4 * WEEK, "4w", id="exact-weeks"),
        pytest.param(WEEK, "1w", id="one-week"),
        pytest.param(HOUR + 30 * MINUTE, "1h30m", id="compound"),
        pytest.param(14 * DAY + HOUR, "14d1h", id="weeks-with-rest"),
        pytest.param(DAY + HOUR + MINUTE + 1, "1d1h1m1s", id="every-unit"),
        pytest.param(1, "1s", id="one-second"),
    ],
)
def test_format_duration(seconds: int, text: str) -> None:
    assert format_duration(seconds) == text
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    "seconds", [1, 59, 61, 3599, 5400, 86399, 86401, 10 * DAY, 30 * DAY, 4 * WEEK, 400 * DAY]
)
def test_format_duration_round_trips(seconds: int) -> None:
    assert parse_duration(format_duration(seconds)) == seconds


@pytest.mark.parametrize("seconds", [0, -1, -DAY])
def test_format_duration_rejects_non_positive(seconds: int) -> None:
    with pytest.raises(ValueError, match="must be positive"):
        format_duration(seconds)


@pytest.mark.parametrize(
    ("text", "minutes"),
    [
        pytest.param("43.2m", Decimal("43.2"), id="minutes"),
        pytest.param("3.6h", Decimal("216"), id="hours"),
        pytest.param("2592s", Decimal("43.2"), id="seconds"),
        pytest.param("0.72d", Decimal("1036.8"), id="days"),
        pytest.param("4.32m", Decimal("4.32"), id="two-decimals"),
        pytest.param(" 21.6m ", Decimal("21.6"), id="surrounding-space"),
    ],
)
def test_parse_amount_minutes_is_exact(text: str, minutes: Decimal) -> None:
    parsed = parse_amount_minutes(text)
    assert isinstance(parsed, Decimal)
    assert parsed == minutes


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        pytest.param("43.2", "is not an amount of time", id="no-unit"),
        pytest.param("1w", "is not an amount of time", id="weeks"),
        pytest.param("1h30m", "is not an amount of time", id="two-units"),
        pytest.param(".5m", "is not an amount of time", id="no-leading-digit"),
        pytest.param("-5m", "is not an amount of time", id="negative"),
        pytest.param("", "is not an amount of time", id="empty"),
        pytest.param("0m", "must be more than zero", id="zero"),
        pytest.param("0.0h", "must be more than zero", id="zero-decimal"),
    ],
)
def test_parse_amount_minutes_rejects(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match=re.escape(reason)):
        parse_amount_minutes(text)


@pytest.mark.parametrize(
    ("text", "resolution"),
    [
        pytest.param("4.3m", Decimal("0.05"), id="one-decimal-minutes"),
        pytest.param("43m", Decimal("0.5"), id="whole-minutes"),
        pytest.param("43.20m", Decimal("0.005"), id="two-decimals"),
        pytest.param("3.6h", Decimal("3"), id="one-decimal-hours"),
        pytest.param("1d", Decimal("720"), id="whole-days"),
        pytest.param("30s", Decimal("0.5") / 60, id="whole-seconds"),
    ],
)
def test_amount_resolution_minutes(text: str, resolution: Decimal) -> None:
    assert amount_resolution_minutes(text) == resolution


def test_amount_resolution_rejects_garbage() -> None:
    with pytest.raises(ValueError, match="is not an amount of time"):
        amount_resolution_minutes("soon")


@pytest.mark.parametrize(
    ("text", "seconds", "shown"),
    [
        pytest.param("200ms", Decimal("0.2"), "0.2", id="milliseconds"),
        pytest.param("2.5s", Decimal("2.5"), "2.5", id="seconds"),
        pytest.param("0.2", Decimal("0.2"), "0.2", id="bare-number"),
        pytest.param("1000ms", Decimal("1"), "1", id="whole-second-in-ms"),
        pytest.param("1.50s", Decimal("1.5"), "1.5", id="trailing-zero"),
        pytest.param("0.5ms", Decimal("0.0005"), "0.0005", id="fractional-ms"),
    ],
)
def test_parse_seconds(text: str, seconds: Decimal, shown: str) -> None:
    parsed = parse_seconds(text)
    assert parsed == seconds
    assert str(parsed) == shown


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        pytest.param("0ms", "must be more than zero", id="zero-ms"),
        pytest.param("0", "must be more than zero", id="zero"),
        pytest.param("1m", "is not a latency", id="minutes"),
        pytest.param("2.5 s", "is not a latency", id="inner-space"),
        pytest.param("-1s", "is not a latency", id="negative"),
        pytest.param("fast", "is not a latency", id="word"),
    ],
)
def test_parse_seconds_rejects(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match=re.escape(reason)):
        parse_seconds(text)


@pytest.mark.parametrize(
    ("span", "spoken"),
    [
        (timedelta(seconds=59), "less than a minute"),
        (timedelta(minutes=1), "1 minute"),
        (timedelta(minutes=45, seconds=59), "45 minutes"),
        (timedelta(hours=1), "1 hour"),
        (timedelta(hours=1, minutes=12), "1 hour 12 minutes"),
        (timedelta(hours=2, minutes=1), "2 hours 1 minute"),
        (timedelta(days=2, minutes=5), "2 days 5 minutes"),
        (timedelta(seconds=-30), "less than a minute"),
    ],
)
def test_spoken_duration(span: timedelta, spoken: str) -> None:
    assert spoken_duration(span) == spoken


@pytest.mark.parametrize(
    ("span", "text"),
    [
        pytest.param(timedelta(0), "less than a minute", id="zero"),
        pytest.param(timedelta(seconds=59), "less than a minute", id="59-seconds"),
        pytest.param(timedelta(minutes=1), "1 minute", id="one-minute"),
        pytest.param(timedelta(minutes=45), "45 minutes", id="45-minutes"),
        pytest.param(timedelta(minutes=45, seconds=59), "45 minutes", id="seconds-dropped"),
        pytest.param(timedelta(hours=1), "1 hour", id="one-hour"),
        pytest.param(timedelta(minutes=72), "1 hour 12 minutes", id="72-minutes"),
        pytest.param(timedelta(minutes=121), "2 hours 1 minute", id="121-minutes"),
        pytest.param(timedelta(days=1), "1 day", id="one-day"),
        pytest.param(timedelta(days=2, hours=3), "2 days 3 hours", id="2-days-3-hours"),
        pytest.param(
            timedelta(days=2, hours=3, minutes=4), "2 days 3 hours", id="two-largest-units"
        ),
        pytest.param(timedelta(days=1, minutes=5), "1 day 5 minutes", id="day-and-minutes"),
    ],
)
def test_spoken_duration_in_two_units(span: timedelta, text: str) -> None:
    assert spoken_duration(span, units=2) == text


@pytest.mark.parametrize(
    ("span", "text"),
    [
        (timedelta(0), "0s"),
        (timedelta(milliseconds=999), "0s"),
        (timedelta(seconds=-5), "0s"),
        (timedelta(minutes=4), "4m"),
        (timedelta(hours=1, minutes=5), "1h5m"),
        (timedelta(days=14), "2w"),
    ],
)
def test_format_elapsed(span: timedelta, text: str) -> None:
    assert format_elapsed(span) == text
