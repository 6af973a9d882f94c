"""The validated, frozen model of a service level objective."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from enum import StrEnum

from sloctl.core.conventions import BUCKET_LABEL, buckets
from sloctl.core.selector import Matcher, Selector, number_regex


class BudgetingMethod(StrEnum):
    """How the budget is counted, using OpenSLO's names."""

    OCCURRENCES = "Occurrences"
    TIMESLICES = "Timeslices"


@dataclass(frozen=True)
class RollingWindow:
    """The last ``seconds`` before the evaluation time."""

    seconds: int


@dataclass(frozen=True)
class CalendarWindow:
    """The calendar month holding the evaluation time, in ``timezone``."""

    timezone: str = "UTC"


Window = RollingWindow | CalendarWindow

DEFAULT_WINDOW = RollingWindow(30 * 86400)
DEFAULT_SCRAPE_SECONDS = 30


@dataclass(frozen=True)
class RatioIndicator:
    """Events counted by counters: ``bad / total``, or ``(total - good) / total``."""

    total: Selector
    bad: Selector | None = None
    good: Selector | None = None

    kind = "ratio"

    def describe(self) -> str:
        return "error ratio"


@dataclass(frozen=True)
class LatencyIndicator:
    """Requests slower than a threshold, read from a Prometheus histogram.

    ``histogram`` names the histogram without its ``_bucket`` / ``_count`` suffix, with the
    matchers that select the service's series.
    """

    histogram: Selector
    threshold_seconds: Decimal

    kind = "latency"

    @property
    def total(self) -> Selector:
        return self.histogram.with_metric(f"{self.histogram.metric}_count")

    @property
    def good(self) -> Selector:
        bucket = self.histogram.with_metric(buckets(self.histogram.metric))
        le = Matcher(BUCKET_LABEL, "=~", number_regex(self.threshold_seconds))
        return bucket.with_matcher(le)

    @property
    def bad(self) -> None:
        return None

    def describe(self) -> str:
        milliseconds = self.threshold_seconds * 1000
        if milliseconds < 1000:
            return f"latency <= {format(milliseconds.normalize(), 'f')} ms"
        return f"latency <= {format(self.threshold_seconds.normalize(), 'f')} s"


Indicator = RatioIndicator | LatencyIndicator


@dataclass(frozen=True)
class Timeslices:
    """Timeslice budgeting: a slice is good when its good-event ratio reaches ``target``."""

    target: Decimal
    slice_seconds: int

    @functools.cached_property
    def length(self) -> timedelta:
        """One slice's length (made once per Timeslices)."""
        return timedelta(seconds=self.slice_seconds)


@dataclass(frozen=True)
class Slo:
    """One objective of one service, as loaded from a definition file."""

    service: str
    name: str
    indicator: Indicator
    target: Decimal
    window: Window = DEFAULT_WINDOW
    timeslices: Timeslices | None = None
    description: str = ""
    source: str = ""
    scrape_seconds: int = DEFAULT_SCRAPE_SECONDS
    """How often Prometheus scrapes the SLO's series; sizes the rate windows of the rules."""
    depends_on: tuple[str, ...] = ()
    """The services this SLO's service depends on (its definition's ``dependsOn``)."""

    @functools.cached_property
    def key(self) -> str:
        """``service/name``; made once per Slo (kept beside the fields, outside equality and
        hashing), as every reading and judgement files the SLO under it."""
        return f"{self.service}/{self.name}"

    @property
    def method(self) -> BudgetingMethod:
        if self.timeslices is None:
            return BudgetingMethod.OCCURRENCES
        return BudgetingMethod.TIMESLICES

    @functools.cached_property
    def error_budget(self) -> Decimal:
        """The share of events (or slices) allowed to be bad: ``1 - target``, exactly (made
        once per Slo, as :attr:`key` is)."""
        return 1 - self.target

    def rolling_length(self) -> timedelta:
        """The window's length when it rolls; a calendar SLO rolls over 30 days."""
        return self._rolling_length

    @functools.cached_property
    def _rolling_length(self) -> timedelta:
        if isinstance(self.window, RollingWindow):
            return timedelta(seconds=self.window.seconds)
        return timedelta(seconds=DEFAULT_WINDOW.seconds)

    def timezone(self) -> str:
        return self.window.timezone if isinstance(self.window, CalendarWindow) else "UTC"


def dependencies(slos: Iterable[Slo]) -> dict[str, tuple[str, ...]]:
    """Each service's ``dependsOn``, for the services that declare any."""
    found: dict[str, tuple[str, ...]] = {}
    for slo in slos:
        if slo.depends_on:
            found.setdefault(slo.service, slo.depends_on)
    return found


def by_service(slos: Iterable[Slo]) -> dict[str, list[Slo]]:
    """Each service's SLOs, services in name order."""
    grouped: dict[str, list[Slo]] = {}
    for slo in slos:
        grouped.setdefault(slo.service, []).append(slo)
    return dict(sorted(grouped.items()))
