"""The span of time an SLO is judged over, at one evaluation time."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING

from sloctl.core.slo import CalendarWindow, Slo
from sloctl.core.zones import time_zone
from sloctl.errors import InvalidRequestError

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo


class WindowKind(StrEnum):
    ROLLING = "rolling"
    CALENDAR = "calendar"


@dataclass(frozen=True)
class Month:
    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> Month:
        try:
            parsed = datetime.strptime(text, "%Y-%m")
        except ValueError as exc:
            raise InvalidRequestError(
                f"--month {text!r}: expected YYYY-MM, such as 2026-11"
            ) from exc
        if not 1971 <= parsed.year <= 8999:
            raise InvalidRequestError(f"--month {text!r}: the year must be from 1971 to 8999")
        return cls(parsed.year, parsed.month)

    def next(self) -> Month:
        return Month(self.year + self.month // 12, self.month % 12 + 1)

    def first_instant(self, zone: ZoneInfo) -> datetime:
        return datetime(self.year, self.month, 1, tzinfo=zone).astimezone(UTC)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


@dataclass(frozen=True)
class Span:
    """``start`` to ``end`` is what has been measured; ``full_end`` is where the window closes.

    For a rolling window the three agree with the evaluation time; for a calendar month in
    progress ``end`` is the evaluation time and ``full_end`` the first instant of next month.
    """

    start: datetime
    end: datetime
    full_end: datetime
    kind: WindowKind = WindowKind.ROLLING

    # Derived once per Span: a daemon cycle judges every SLO of one window length over one
    # shared span (see span_for).
    @functools.cached_property
    def measured(self) -> timedelta:
        return self.end - self.start

    @functools.cached_property
    def length(self) -> timedelta:
        return self.full_end - self.start

    @functools.cached_property
    def left(self) -> timedelta:
        return self.full_end - self.end

    @functools.cached_property
    def measured_seconds(self) -> int:
        return int(self.measured.total_seconds())


def calendar_span(month: Month, timezone: str, at: datetime | None) -> Span:
    """The span of ``month`` in ``timezone``, cut at ``at`` while the month is in progress."""
    zone = time_zone(timezone)
    start = month.first_instant(zone)
    full_end = month.next().first_instant(zone)
    end = full_end if at is None or at >= full_end else at
    if end - start < timedelta(seconds=1):
        moment = end.astimezone(UTC)
        raise InvalidRequestError(
            f"month {month} ({timezone}) has not started at {moment:%Y-%m-%dT%H:%M:%SZ}"
        )
    return Span(start, end, full_end, WindowKind.CALENDAR)


def month_of(at: datetime, timezone: str) -> Month:
    local = at.astimezone(time_zone(timezone))
    return Month(local.year, local.month)


def span_for(
    slo: Slo,
    at: datetime,
    *,
    kind: WindowKind | None = None,
    month: Month | None = None,
) -> Span:
    """The span ``slo`` is judged over at ``at``.

    ``kind`` overrides the definition's window (a rolling SLO judged by calendar month uses
    UTC unless it names a zone); ``month`` picks a calendar month, closed or in progress.
    In the first second of a month nothing of it can be measured yet, so the month that has
    just closed is judged instead.
    """
    if at.tzinfo is None:
        raise ValueError("evaluation time must be timezone-aware")
    at = at.astimezone(UTC)
    calendar = (
        month is not None
        or kind is WindowKind.CALENDAR
        or (kind is None and isinstance(slo.window, CalendarWindow))
    )
    if calendar:
        zone = slo.timezone()
        if month is not None:
            return calendar_span(month, zone, at)
        current = month_of(at, zone)
        if at - current.first_instant(time_zone(zone)) < timedelta(seconds=1):
            # Less than a second of this month is no window at all: judge the one just closed.
            current = month_of(at - timedelta(seconds=1), zone)
        return calendar_span(current, zone, at)
    return _rolling(at, slo.rolling_length())


@functools.lru_cache(maxsize=64)
def _rolling(at: datetime, length: timedelta) -> Span:
    """The rolling span of ``length`` ending at ``at`` (UTC): one value for every SLO of that
    length judged at ``at``, so that a daemon cycle makes a few spans, not one per SLO."""
    return Span(at - length, at, at)
