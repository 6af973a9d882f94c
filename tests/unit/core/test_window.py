"""Tests for sloctl.core.window: months, calendar spans in any time zone, and the span of an SLO."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from sloctl.core.selector import parse_selector
from sloctl.core.slo import CalendarWindow, RatioIndicator, RollingWindow, Slo, Window
from sloctl.core.window import Month, Span, WindowKind, calendar_span, month_of, span_for
from sloctl.errors import SloctlError


def _utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def _slo(window: Window) -> Slo:
    return Slo(
        service="api",
        name="availability",
        indicator=RatioIndicator(
            total=parse_selector('http_requests_total{service="api"}'),
            bad=parse_selector('http_requests_total{service="api",code=~"5.."}'),
        ),
        target=Decimal("0.999"),
        window=window,
    )


# --------------------------------------------------------------------------- Month


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("2026-11", Month(2026, 11), id="november"),
        pytest.param("2026-01", Month(2026, 1), id="january"),
        pytest.param("2028-02", Month(2028, 2), id="leap-february"),
        pytest.param("1999-12", Month(1999, 12), id="december"),
    ],
)
def test_month_parse_accepts_year_dash_month(text: str, expected: Month) -> None:
    month = Month.parse(text)
    assert month == expected
    assert str(month) == text


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("", id="empty"),
        pytest.param("2026-13", id="month-13"),
        pytest.param("2026-00", id="month-0"),
        pytest.param("2026/11", id="slash"),
        pytest.param("11-2026", id="month-first"),
        pytest.param("2026-11-01", id="full-date"),
        pytest.param("november", id="word"),
        pytest.param("2026", id="year-only"),
    ],
)
def test_month_parse_rejects_other_text(text: str) -> None:
    with pytest.raises(SloctlError, match="expected YYYY-MM"):
        Month.parse(text)


@pytest.mark.parametrize(
    ("month", "expected"),
    [
        pytest.param(Month(2026, 1), Month(2026, 2), id="jan-feb"),
        pytest.param(Month(2026, 11), Month(2026, 12), id="nov-dec"),
        pytest.param(Month(2026, 12), Month(2027, 1), id="dec-wraps-year"),
    ],
)
def test_month_next(month: Month, expected: Month) -> None:
    assert month.next() == expected


# --------------------------------------------------------------------------- calendar_span


@pytest.mark.parametrize(
    ("month", "days"),
    [
        pytest.param(Month(2027, 2), 28, id="feb-2027"),
        pytest.param(Month(2028, 2), 29, id="feb-2028-leap"),
        pytest.param(Month(2026, 4), 30, id="april"),
        pytest.param(Month(2026, 1), 31, id="january"),
        pytest.param(Month(2026, 12), 31, id="december-into-next-year"),
    ],
)
def test_closed_utc_month_lengths(month: Month, days: int) -> None:
    span = calendar_span(month, "UTC", None)
    assert span.start == _utc(month.year, month.month, 1)
    assert span.length == timedelta(days=days)
    assert span.measured == span.length
    assert span.end == span.full_end
    assert span.left == timedelta(0)
    assert span.kind is WindowKind.CALENDAR


@pytest.mark.parametrize(
    ("month", "zone", "start", "full_end"),
    [
        pytest.param(
            Month(2026, 11),
            "Europe/Berlin",
            _utc(2026, 10, 31, 23),
            _utc(2026, 11, 30, 23),
            id="berlin-november",
        ),
        pytest.param(
            Month(2026, 3),
            "Europe/Berlin",
            _utc(2026, 2, 28, 23),
            _utc(2026, 3, 31, 22),
            id="berlin-march-dst-starts",
        ),
        pytest.param(
            Month(2026, 10),
            "Europe/Berlin",
            _utc(2026, 9, 30, 22),
            _utc(2026, 10, 31, 23),
            id="berlin-october-dst-ends",
        ),
        pytest.param(
            Month(2026, 11),
            "America/New_York",
            _utc(2026, 11, 1, 4),
            _utc(2026, 12, 1, 5),
            id="new-york-november-dst-ends",
        ),
        pytest.param(
            Month(2026, 7),
            "America/New_York",
            _utc(2026, 7, 1, 4),
            _utc(2026, 8, 1, 4),
            id="new-york-july",
        ),
    ],
)
def test_month_starts_at_local_midnight(
    month: Month, zone: str, start: datetime, full_end: datetime
) -> None:
    span = calendar_span(month, zone, None)
    assert span.start == start
    assert span.full_end == full_end
    assert span.start.astimezone(ZoneInfo(zone)).replace(tzinfo=None) == datetime(
        month.year, month.month, 1
    )


@pytest.mark.parametrize(
    ("month", "zone", "length"),
    [
        pytest.param(
            Month(2026, 3), "Europe/Berlin", timedelta(days=31, hours=-1), id="berlin-march"
        ),
        pytest.param(
            Month(2026, 10), "Europe/Berlin", timedelta(days=31, hours=1), id="berlin-october"
        ),
        pytest.param(Month(2026, 11), "Europe/Berlin", timedelta(days=30), id="berlin-november"),
        pytest.param(
            Month(2026, 3), "America/New_York", timedelta(days=31, hours=-1), id="new-york-march"
        ),
        pytest.param(
            Month(2026, 11),
            "America/New_York",
            timedelta(days=30, hours=1),
            id="new-york-november",
        ),
    ],
)
def test_dst_change_months_are_an_hour_short_or_long(
    month: Month, zone: str, length: timedelta
) -> None:
    assert calendar_span(month, zone, None).length == length


@pytest.mark.parametrize(
    ("at", "measured", "left"),
    [
        pytest.param(
            _utc(2026, 11, 15, 12),
            timedelta(days=14, hours=12),
            timedelta(days=15, hours=12),
            id="mid-month",
        ),
        pytest.param(
            _utc(2026, 11, 1, 0, 0, 1),
            timedelta(seconds=1),
            timedelta(days=30, seconds=-1),
            id="first-second",
        ),
        pytest.param(
            _utc(2026, 11, 30, 23, 59, 59),
            timedelta(days=30, seconds=-1),
            timedelta(seconds=1),
            id="last-second",
        ),
    ],
)
def test_month_in_progress_is_cut_at_the_evaluation_time(
    at: datetime, measured: timedelta, left: timedelta
) -> None:
    span = calendar_span(Month(2026, 11), "UTC", at)
    assert span.start == _utc(2026, 11, 1)
    assert span.end == at
    assert span.full_end == _utc(2026, 12, 1)
    assert span.measured == measured
    assert span.left == left
    assert span.length == timedelta(days=30)
    assert span.measured_seconds == int(measured.total_seconds())


@pytest.mark.parametrize(
    "at",
    [
        pytest.param(_utc(2026, 12, 1), id="exactly-at-close"),
        pytest.param(_utc(2027, 3, 4, 5), id="months-later"),
    ],
)
def test_month_closed_before_at_is_whole(at: datetime) -> None:
    span = calendar_span(Month(2026, 11), "UTC", at)
    assert span.end == span.full_end == _utc(2026, 12, 1)
    assert span.left == timedelta(0)


def test_in_progress_month_in_berlin() -> None:
    at = _utc(2026, 11, 10, 23)
    span = calendar_span(Month(2026, 11), "Europe/Berlin", at)
    assert span.start == _utc(2026, 10, 31, 23)
    assert span.measured == timedelta(days=10)
    assert span.left == timedelta(days=20)


@pytest.mark.parametrize(
    ("month", "zone", "at"),
    [
        pytest.param(Month(2026, 12), "UTC", _utc(2026, 11, 15), id="next-month"),
        pytest.param(Month(2027, 6), "UTC", _utc(2026, 11, 15), id="far-future"),
        pytest.param(
            # 22:30 UTC on 31 October is 23:30 in Berlin: November has not begun there
            Month(2026, 11),
            "Europe/Berlin",
            _utc(2026, 10, 31, 22, 30),
            id="berlin-not-yet",
        ),
    ],
)
def test_month_that_has_not_started_raises(month: Month, zone: str, at: datetime) -> None:
    with pytest.raises(SloctlError, match="has not started"):
        calendar_span(month, zone, at)


# --------------------------------------------------------------------------- month_of


@pytest.mark.parametrize(
    ("at", "zone", "expected"),
    [
        pytest.param(_utc(2026, 10, 31, 23, 30), "UTC", Month(2026, 10), id="utc"),
        pytest.param(_utc(2026, 10, 31, 23, 30), "Europe/Berlin", Month(2026, 11), id="berlin"),
        pytest.param(_utc(2026, 11, 1, 3), "America/New_York", Month(2026, 10), id="new-york"),
    ],
)
def test_month_of_uses_the_local_calendar(at: datetime, zone: str, expected: Month) -> None:
    assert month_of(at, zone) == expected


# --------------------------------------------------------------------------- span_for


@pytest.mark.parametrize(
    ("seconds", "at"),
    [
        pytest.param(30 * 86400, _utc(2026, 11, 15, 12), id="30d"),
        pytest.param(7 * 86400, _utc(2026, 3, 29, 1, 30), id="7d-across-dst"),
        pytest.param(3600, _utc(2028, 2, 29), id="1h-leap-day"),
    ],
)
def test_span_for_rolling_window(seconds: int, at: datetime) -> None:
    span = span_for(_slo(RollingWindow(seconds)), at)
    assert span == Span(at - timedelta(seconds=seconds), at, at, WindowKind.ROLLING)
    assert span.measured_seconds == seconds
    assert span.left == timedelta(0)


def test_slos_of_one_length_judged_at_one_time_share_their_span() -> None:
    at = _utc(2026, 11, 15, 12)
    first = span_for(_slo(RollingWindow(86400)), at)
    assert span_for(_slo(RollingWindow(86400)), at) is first
    assert span_for(_slo(RollingWindow(86400)), at.astimezone(ZoneInfo("Asia/Tokyo"))) is first
    assert first.end.tzinfo is UTC
    assert span_for(_slo(RollingWindow(3600)), at) == Span(at - timedelta(hours=1), at, at)
    later = span_for(_slo(RollingWindow(86400)), at + timedelta(seconds=30))
    assert later.measured == timedelta(days=1)
    assert later.start == first.start + timedelta(seconds=30)


def test_span_for_converts_aware_times_to_utc() -> None:
    at = datetime(2026, 11, 15, 13, tzinfo=ZoneInfo("Europe/Berlin"))
    span = span_for(_slo(RollingWindow(86400)), at)
    assert span.end == _utc(2026, 11, 15, 12)
    assert span.end.utcoffset() == timedelta(0)
    assert span.start == _utc(2026, 11, 14, 12)


def test_span_for_calendar_slo_is_the_month_in_progress() -> None:
    at = _utc(2026, 11, 15, 12)
    span = span_for(_slo(CalendarWindow("UTC")), at)
    assert span == Span(_utc(2026, 11, 1), at, _utc(2026, 12, 1), WindowKind.CALENDAR)


def test_span_for_calendar_slo_uses_its_time_zone() -> None:
    at = _utc(2026, 10, 31, 23, 30)  # already November in Berlin
    span = span_for(_slo(CalendarWindow("Europe/Berlin")), at)
    assert span.start == _utc(2026, 10, 31, 23)
    assert span.end == at
    assert span.full_end == _utc(2026, 11, 30, 23)
    assert span.measured == timedelta(minutes=30)


def test_span_for_kind_calendar_overrides_a_rolling_slo_in_utc() -> None:
    at = _utc(2026, 4, 10)
    span = span_for(_slo(RollingWindow(7 * 86400)), at, kind=WindowKind.CALENDAR)
    assert span.kind is WindowKind.CALENDAR
    assert span.start == _utc(2026, 4, 1)
    assert span.end == at
    assert span.full_end == _utc(2026, 5, 1)


def test_span_for_kind_rolling_overrides_a_calendar_slo_with_30_days() -> None:
    at = _utc(2026, 4, 10)
    span = span_for(_slo(CalendarWindow("Europe/Berlin")), at, kind=WindowKind.ROLLING)
    assert span.kind is WindowKind.ROLLING
    assert span.start == at - timedelta(days=30)
    assert span.end == span.full_end == at


@pytest.mark.parametrize(
    ("window", "month", "start", "full_end"),
    [
        pytest.param(
            RollingWindow(30 * 86400),
            Month(2026, 10),
            _utc(2026, 10, 1),
            _utc(2026, 11, 1),
            id="rolling-slo-october-utc",
        ),
        pytest.param(
            CalendarWindow("Europe/Berlin"),
            Month(2026, 10),
            _utc(2026, 9, 30, 22),
            _utc(2026, 10, 31, 23),
            id="calendar-slo-october-berlin",
        ),
        pytest.param(
            CalendarWindow("UTC"),
            Month(2028, 2),
            _utc(2028, 2, 1),
            _utc(2028, 3, 1),
            id="leap-february",
        ),
    ],
)
def test_span_for_closed_month(
    window: Window, month: Month, start: datetime, full_end: datetime
) -> None:
    at = _utc(2028, 6, 1)
    span = span_for(_slo(window), at, month=month)
    assert span.kind is WindowKind.CALENDAR
    assert span.start == start
    assert span.end == span.full_end == full_end


def test_span_for_month_in_progress_is_cut_at_at() -> None:
    at = _utc(2026, 11, 20)
    span = span_for(_slo(RollingWindow(86400)), at, month=Month(2026, 11))
    assert span.end == at
    assert span.full_end == _utc(2026, 12, 1)
    assert span.left == timedelta(days=11)


def test_span_for_future_month_raises() -> None:
    with pytest.raises(SloctlError, match="has not started"):
        span_for(_slo(CalendarWindow("UTC")), _utc(2026, 11, 20), month=Month(2026, 12))


@pytest.mark.parametrize(
    ("window", "kind", "month"),
    [
        pytest.param(RollingWindow(86400), None, None, id="rolling"),
        pytest.param(CalendarWindow("UTC"), None, None, id="calendar"),
        pytest.param(RollingWindow(86400), WindowKind.CALENDAR, None, id="override"),
        pytest.param(RollingWindow(86400), None, Month(2026, 10), id="month"),
    ],
)
def test_span_for_rejects_naive_datetimes(
    window: Window, kind: WindowKind | None, month: Month | None
) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        span_for(_slo(window), datetime(2026, 11, 15, 12), kind=kind, month=month)


@pytest.mark.parametrize("offset", [timedelta(0), timedelta(milliseconds=500)], ids=["0", "0.5s"])
def test_span_for_calendar_slo_at_the_start_of_a_month_judges_the_month_just_closed(
    offset: timedelta,
) -> None:
    at = _utc(2026, 11, 1) + offset
    span = span_for(_slo(CalendarWindow("UTC")), at)
    assert span.start == _utc(2026, 10, 1)
    assert span.end == span.full_end == _utc(2026, 11, 1)
    assert span.measured_seconds == 31 * 86400
