"""What the SLO pages chart, read from Prometheus with range queries and cached.

Each chart is one range query per SLO, at a step chosen so that a range has at most a few
hundred points, with the range's ends aligned to the step (so the same view asks the same
query, and Prometheus's answers line up with the ticks). The series the generated recording
rules record (``sloctl:events:rate5m`` and the rest, :mod:`sloctl.core.conventions`) are
preferred; where Prometheus has none of them for an SLO (no rules loaded, as in the demo), the
SLO's own counters are read instead (``increase``/``rate`` over its selectors). Either way
every label value is quoted by the PromQL builders of :mod:`sloctl.promql.build`.

Answers are kept in a :class:`HistoryCache`, bounded in size, for about one daemon interval,
keyed by SLO, series and range, so reloading a page asks Prometheus nothing. A failed query
is a :class:`Unavailable` with its reason (kept a few seconds only), never an exception: the
page is shown without that chart.

The burn-down and the burn-rate pairs use the budget arithmetic of :mod:`sloctl.core.budget`
and the evaluator's counts (:func:`sloctl.reading.evaluation.read_counts`), so their figures
are the ones the list, ``/metrics`` and ``sloctl report`` show.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import TypeVar, cast

from sloctl.core import conventions
from sloctl.core.budget import Counts, assess_budget, error_ratio
from sloctl.core.conventions import P95, QUERY_PART_LABEL
from sloctl.core.series import Series
from sloctl.core.slo import LatencyIndicator, RatioIndicator, Slo
from sloctl.core.window import Span
from sloctl.errors import SloctlError
from sloctl.promql import build as promql
from sloctl.promql.plan import CountRequest, counts_from
from sloctl.promql.slices import QueryBudget
from sloctl.reading.evaluation import CountReader, read_counts

RATE_SECONDS = promql.SLICE_SECONDS
"""The shortest window a point is measured over: the recorded rates' five minutes."""
BURN_DOWN_POINTS = 240
"""Points of a burn-down over the SLO's window (every three hours over 30 days)."""
FAILURE_SECONDS = 5.0
"""How long a failed read is remembered: long enough that a page's charts do not each wait for
a Prometheus that is down, short enough that its return shows at once."""
MAX_ENTRIES = 512
LOAD_WAIT_SECONDS = 15.0
"""The longest a view waits for another view's load of the same answer (a page's reads have a
10 s deadline) before it loads the answer itself."""
TOTAL, BAD, VALUE = "total", "bad", "value"


@dataclass(frozen=True)
class Range:
    """A range a page may chart, and the step its points are spaced at."""

    name: str
    seconds: int
    step: int

    @property
    def points(self) -> int:
        return self.seconds // self.step


RANGES: Mapping[str, Range] = {
    r.name: r
    for r in (
        Range("6h", 6 * 3600, 60),
        Range("24h", 86400, 300),
        Range("7d", 7 * 86400, 1800),
        Range("30d", 30 * 86400, 3 * 3600),
    )
}
DEFAULT_RANGE = "24h"


@dataclass(frozen=True)
class Unavailable:
    """Why a chart could not be read."""

    reason: str


@dataclass(frozen=True)
class Points:
    """One chart's values over ``start`` to ``end`` (unix seconds)."""

    points: tuple[tuple[float, float | None], ...]
    start: float
    end: float
    recorded: bool
    """Whether they come from the recording rules' series (else from the raw counters)."""

    @property
    def source(self) -> str:
        return "recording rules" if self.recorded else "raw counters"

    @property
    def drawn(self) -> int:
        return sum(1 for _, value in self.points if value is not None)


Read = Points | Unavailable


def unavailable(exc: SloctlError) -> Unavailable:
    """The first line of ``exc`` (the reader scrubs every secret from its messages)."""
    text = str(exc).strip()
    return Unavailable(text.splitlines()[0] if text else type(exc).__name__)


T = TypeVar("T")


@dataclass
class HistoryCache:
    """Answers by key, each kept for ``ttl_seconds`` (failures for :data:`FAILURE_SECONDS`),
    at most ``max_entries`` of them (the least recently used go first). Safe to share between
    the server's threads."""

    ttl_seconds: float
    max_entries: int = MAX_ENTRIES
    clock: Callable[[], float] = time.monotonic
    loads: int = 0
    """Answers read from Prometheus (misses), for the tests and the benchmark."""
    _entries: OrderedDict[Hashable, tuple[float, object]] = field(
        default_factory=OrderedDict, init=False, repr=False
    )
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    _loading: dict[Hashable, threading.Event] = field(default_factory=dict, init=False, repr=False)

    def fetch(self, key: Hashable, load: Callable[[], T]) -> T:
        """The kept answer for ``key``, or ``load()``'s, kept. While one caller loads a key,
        the others asking for it wait for that answer instead of loading it again, so views
        arriving together send one query."""
        while True:
            with self._lock:
                found = self._entries.get(key)
                if found is not None and found[0] > self.clock():
                    self._entries.move_to_end(key)
                    return cast(T, found[1])
                loading = self._loading.get(key)
                if loading is None:
                    loading = self._loading[key] = threading.Event()
                    break
            loading.wait(LOAD_WAIT_SECONDS)  # then look again (or load, if it never came)
        try:
            value = load()
            keep = FAILURE_SECONDS if isinstance(value, Unavailable) else self.ttl_seconds
            with self._lock:
                self.loads += 1
                self._entries[key] = (self.clock() + min(keep, self.ttl_seconds), value)
                self._entries.move_to_end(key)
                while len(self._entries) > self.max_entries:
                    self._entries.popitem(last=False)
            return value
        finally:
            with self._lock:
                del self._loading[key]
            loading.set()

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)


def aligned(start: float, end: float, step: int) -> tuple[datetime, datetime]:
    """``start`` rounded up and ``end`` down to multiples of ``step`` (at least one step
    apart)."""
    first = math.ceil(start / step) * step
    last = max(math.floor(end / step) * step, first + step)
    return datetime.fromtimestamp(first, UTC), datetime.fromtimestamp(last, UTC)


def _tagged_union(parts: Mapping[str, str]) -> str:
    return promql.union(
        promql.tagged(expr, **{QUERY_PART_LABEL: part}) for part, expr in parts.items()
    )


def recorded_counts(slo: Slo, seconds: int) -> str:
    """Events and bad events over ``seconds`` up to each point, from the recorded 5-minute
    rates: in proportion to the counts (each minute's rate over five minutes), which is all a
    ratio needs."""
    events = promql.slo_selector(conventions.EVENTS_RATE, slo.service, slo.name).render()
    bad = promql.slo_selector(conventions.BAD_EVENTS_RATE, slo.service, slo.name).render()
    window = promql.range_text(seconds)
    return _tagged_union(
        {TOTAL: f"sum_over_time({events}{window})", BAD: f"sum_over_time({bad}{window})"}
    )


def raw_counts(slo: Slo, seconds: int) -> str:
    """Events and bad events over ``seconds`` up to each point, from the SLO's counters
    (per-series increase first, then the sum). A missing bad series is no bad events while the
    total exists; a missing good bucket of a latency SLO is no value (a wrong threshold)."""
    indicator = slo.indicator
    total = promql.summed_increase(indicator.total, (), seconds)
    if isinstance(indicator, RatioIndicator) and indicator.bad is not None:
        bad = promql.numerator_or_zero(indicator.bad, indicator.total, (), seconds)
    elif isinstance(indicator, RatioIndicator) and indicator.good is not None:
        good = promql.summed_increase(indicator.good, (), seconds)
        bad = f"{total} - ({good} or 0 * {total})"
    elif isinstance(indicator, LatencyIndicator):
        bad = f"{total} - {promql.summed_increase(indicator.good, (), seconds)}"
    else:
        raise ValueError(f"{slo.key}: a ratio indicator needs a bad or a good selector")
    return _tagged_union({TOTAL: total, BAD: bad})


def recorded_p95(slo: Slo, seconds: int) -> str:
    """The recorded 5-minute p95; over a longer step, the worst of them within it."""
    series = promql.slo_selector(conventions.LATENCY_P95, slo.service, slo.name).render()
    if seconds <= RATE_SECONDS:
        return _tagged_union({VALUE: series})
    return _tagged_union({VALUE: f"max_over_time({series}{promql.range_text(seconds)})"})


def raw_p95(slo: Slo, seconds: int) -> str:
    """The p95 of the SLO's histogram over ``seconds`` up to each point."""
    indicator = slo.indicator
    if not isinstance(indicator, LatencyIndicator):
        raise ValueError(f"{slo.key} has no latency histogram")
    buckets = indicator.histogram.with_metric(conventions.buckets(indicator.histogram.metric))
    return _tagged_union({VALUE: promql.quantile(buckets, P95, seconds)})


def _parts(answer: Sequence[Series]) -> dict[str, dict[float, float]]:
    found: dict[str, dict[float, float]] = {}
    for series in answer:
        part = series.labels.get(QUERY_PART_LABEL, "")
        found.setdefault(part, {}).update(
            (stamp, value) for stamp, value in series.points if math.isfinite(value)
        )
    return found


def _stamps(start: datetime, end: datetime, step: int) -> list[float]:
    first, last = int(start.timestamp()), int(end.timestamp())
    return [float(t) for t in range(first, last + 1, step)]


@dataclass(frozen=True)
class Asked:
    """A range query's parts by name and whether the recorded series answered it."""

    parts: dict[str, dict[float, float]]
    recorded: bool
    stamps: list[float]


@dataclass
class HistoryView:
    """The history one page view reads: one reader (made on first use, so a fully cached page
    makes none), one evaluation time."""

    history: SloHistory
    now: datetime
    _reader: CountReader | None = None

    @property
    def reader(self) -> CountReader:
        if self._reader is None:
            self._reader = self.history.reader()
        return self._reader

    def _ask(
        self,
        slo: Slo,
        exprs: tuple[Callable[[Slo, int], str], Callable[[Slo, int], str]],
        needed: str,
        start: datetime,
        end: datetime,
        step: int,
        seconds: int,
    ) -> Asked:
        """The recorded query, and the raw one where the recorded series are absent."""
        stamps = _stamps(start, end, step)
        for recorded, expr in zip((True, False), exprs, strict=True):
            answer = self.reader.range(
                expr(slo, seconds), start, end, timedelta(seconds=step), slos=(slo.key,)
            )
            parts = _parts(answer)
            if parts.get(needed):
                return Asked(parts, recorded, stamps)
        return Asked({}, False, stamps)

    def _counts(self, slo: Slo, start: datetime, end: datetime, step: int, seconds: int) -> Asked:
        return self._ask(slo, (recorded_counts, raw_counts), TOTAL, start, end, step, seconds)

    def error_ratio(self, slo: Slo, chosen: Range) -> Read:
        """The share of bad events (slow ones for a latency SLO) at each step of ``chosen``,
        each over the step (at least five minutes)."""

        def load() -> Read:
            now = self.now.timestamp()
            start, end = aligned(now - chosen.seconds, now, chosen.step)
            try:
                asked = self._counts(slo, start, end, chosen.step, max(chosen.step, RATE_SECONDS))
            except SloctlError as exc:
                return unavailable(exc)
            totals, bads = asked.parts.get(TOTAL, {}), asked.parts.get(BAD, {})
            points = []
            for stamp in asked.stamps:
                # No bad side beside a total is no value (a latency SLO's bucket that does not
                # exist); the queries give an absent bad series a zero themselves.
                total, bad = totals.get(stamp), bads.get(stamp)
                counts = None if total is None or bad is None else Counts(total, bad)
                points.append((stamp, error_ratio(counts)))
            return Points(tuple(points), start.timestamp(), end.timestamp(), asked.recorded)

        return self.history.cache.fetch((slo, "error-ratio", chosen.name), load)

    def p95(self, slo: Slo, chosen: Range) -> Read:
        """The p95 latency at each step of ``chosen`` (latency SLOs)."""

        def load() -> Read:
            now = self.now.timestamp()
            start, end = aligned(now - chosen.seconds, now, chosen.step)
            seconds = max(chosen.step, RATE_SECONDS)
            try:
                asked = self._ask(
                    slo, (recorded_p95, raw_p95), VALUE, start, end, chosen.step, seconds
                )
            except SloctlError as exc:
                return unavailable(exc)
            values = asked.parts.get(VALUE, {})
            points = tuple((stamp, values.get(stamp)) for stamp in asked.stamps)
            return Points(points, start.timestamp(), end.timestamp(), asked.recorded)

        return self.history.cache.fetch((slo, "p95", chosen.name), load)

    def burn_down(self, slo: Slo, span: Span) -> Read:
        """The share of the budget left at each step of the window: the bad events from the
        window's start up to that step, against the budget of the window's events, judged by
        :func:`~sloctl.core.budget.assess_budget` (so the last point is the budget left the
        list shows, as of that step)."""

        def load() -> Read:
            if slo.timeslices is not None:
                return Unavailable("a timeslice budget counts bad slices, not events")
            length = int(span.length.total_seconds())
            step = max(RATE_SECONDS, math.ceil(length / BURN_DOWN_POINTS / 300) * 300)
            start, end = aligned(span.start.timestamp() + step, span.end.timestamp(), step)
            try:
                asked = self._counts(slo, start, end, step, step)
            except SloctlError as exc:
                return unavailable(exc)
            totals, bads = asked.parts.get(TOTAL, {}), asked.parts.get(BAD, {})
            judged = [stamp for stamp in asked.stamps if stamp in totals and stamp in bads]
            whole = math.fsum(totals[stamp] for stamp in judged)
            first = span.start.timestamp()
            if whole <= 0:  # no events to judge, or no bad side: no value anywhere
                nothing = tuple((stamp, None) for stamp in (first, *asked.stamps))
                return Points(nothing, first, end.timestamp(), asked.recorded)
            points: list[tuple[float, float | None]] = [(first, 1.0)]
            spent = 0.0
            for stamp in asked.stamps:
                spent += bads[stamp] if stamp in totals and stamp in bads else 0.0
                budget = assess_budget(
                    error_budget=slo.error_budget,
                    window_length=span.length,
                    measured=span.measured,
                    time_left=None,
                    counts=Counts(whole, min(spent, whole)),
                    current=None,
                )
                points.append((stamp, budget.remaining_share))
            return Points(tuple(points), first, end.timestamp(), asked.recorded)

        key = (slo, "burn-down", int(span.length.total_seconds()))
        return self.history.cache.fetch(key, load)

    def window_ratios(
        self, slo: Slo, windows: Sequence[int]
    ) -> dict[int, float | None] | Unavailable:
        """The error ratio over each of ``windows`` now, counted as the evaluator counts
        (events, also for a timeslice SLO, as the signals judge its burn-rate pairs)."""
        events = slo if slo.timeslices is None else replace(slo, timeslices=None)
        wanted = tuple(sorted(set(windows)))

        def load() -> dict[int, float | None] | Unavailable:
            request = CountRequest(slo=events, time=self.now, windows=wanted)
            try:
                readings, _ = read_counts([request], self.reader, self.history.budget)
            except SloctlError as exc:
                return unavailable(exc)
            found: dict[int, float | None] = {}
            for seconds in wanted:
                counts, _ = counts_from(events, readings.get((events.key, seconds)), seconds)
                found[seconds] = error_ratio(counts)
            return found

        return self.history.cache.fetch((slo, "windows", wanted), load)


@dataclass
class SloHistory:
    """Where the pages' history comes from: ``reader`` makes a Prometheus reader for one page
    view; answers are kept in ``cache``."""

    reader: Callable[[], CountReader]
    cache: HistoryCache
    budget: QueryBudget = field(default_factory=QueryBudget)

    def view(self, now: datetime) -> HistoryView:
        return HistoryView(self, now)
