"""Planned maintenance windows per service, and budget corrections.

A :class:`MaintenanceWindow` is either one span (``start`` to ``end``, UTC) or a weekly
recurrence (:class:`Weekly`: on some weekdays, from a local time to a local time in a time
zone). Recurrences are computed in the zone's local time and converted per occurrence, so a
Sunday 02:00 to 03:00 in Europe/Berlin is 01:00 to 02:00 UTC in winter and 00:00 to 01:00
UTC in summer. A local time that does not exist (the hour skipped by a spring change) is read
with the offset in force before the change, as :mod:`zoneinfo` does with ``fold=0``: a window
inside the skipped hour is empty that day; a repeated local time (autumn) is its first
occurrence, so 02:00 to 03:00 on the autumn change lasts two hours.

During a window nothing is paged; a window marked ``correction`` is also taken out of the
error budget (its events are subtracted). Pure: times are passed in, nothing reads a clock.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING

from sloctl.core.zones import time_zone

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


@dataclass(frozen=True)
class Weekly:
    """Every ``days`` (0 = Monday) from ``starts`` to ``ends`` local time in ``timezone``; an
    end at or before the start ends the next day (22:00 to 02:00)."""

    days: frozenset[int]
    starts: time
    ends: time
    timezone: str = "UTC"

    def occurrences(self, since: datetime, until: datetime) -> list[tuple[datetime, datetime]]:
        """Every occurrence (UTC) overlapping ``[since, until)``, in order."""
        zone = time_zone(self.timezone)
        first = since.astimezone(zone).date() - timedelta(days=1)
        last = until.astimezone(zone).date()
        found = []
        day = first
        while day <= last:
            if day.weekday() in self.days:
                start, end = self._span(day, zone)
                if start < end and start < until and end > since:
                    found.append((start, end))
            day += timedelta(days=1)
        return found

    def _span(self, day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
        end_day = day if self.ends > self.starts else day + timedelta(days=1)
        start = datetime.combine(day, self.starts, zone).astimezone(UTC)
        end = datetime.combine(end_day, self.ends, zone).astimezone(UTC)
        return start, end


@dataclass(frozen=True)
class MaintenanceWindow:
    """A planned window of one service (``start``/``end`` or ``weekly``)."""

    service: str
    name: str
    start: datetime | None = None
    end: datetime | None = None
    weekly: Weekly | None = None
    correction: bool = False
    """Excluded from the error budget exactly (its bad and total events are subtracted)."""

    def __post_init__(self) -> None:
        once = self.start is not None and self.end is not None
        if once == (self.weekly is not None):
            raise ValueError("a window is either start and end, or a weekly recurrence")
        if once and not (self.start is not None and self.end is not None and self.start < self.end):
            raise ValueError("a window must end after it starts")

    def occurrences(self, since: datetime, until: datetime) -> list[tuple[datetime, datetime]]:
        """This window's spans (UTC) overlapping ``[since, until)``, unclipped, in order."""
        if self.weekly is not None:
            return self.weekly.occurrences(since, until)
        assert self.start is not None
        assert self.end is not None
        if self.start < until and self.end > since:
            return [(self.start.astimezone(UTC), self.end.astimezone(UTC))]
        return []


@dataclass(frozen=True)
class Occurrence:
    """One span of one window, clipped to what was asked."""

    window: MaintenanceWindow
    start: datetime
    end: datetime

    @property
    def minutes(self) -> float:
        return (self.end - self.start).total_seconds() / 60


def overlapping(
    windows: Iterable[MaintenanceWindow],
    service: str,
    since: datetime,
    until: datetime,
    *,
    corrections_only: bool = False,
) -> list[Occurrence]:
    """The occurrences of ``service``'s windows overlapping ``[since, until)``, clipped to
    it, in order of start; overlapping occurrences are merged into one (so that nothing is
    subtracted twice), keeping the first window's name."""
    spans = sorted(
        (
            (max(start, since), min(end, until), window)
            for window in windows
            if window.service == service and (window.correction or not corrections_only)
            for start, end in window.occurrences(since, until)
        ),
        key=lambda span: (span[0], span[1]),
    )
    merged: list[Occurrence] = []
    for start, end, window in spans:
        if merged and start <= merged[-1].end:
            last = merged[-1]
            merged[-1] = Occurrence(last.window, last.start, max(last.end, end))
        else:
            merged.append(Occurrence(window, start, end))
    return merged


def in_maintenance(
    windows: Sequence[MaintenanceWindow], service: str, at: datetime
) -> MaintenanceWindow | None:
    """The window ``service`` is in at ``at`` (a window holds ``[start, end)``), if any."""
    for window in windows:
        if window.service == service and window.occurrences(at, at + timedelta(microseconds=1)):
            return window
    return None
