"""The severity signals of every service, read in a few batched queries.

What the policy judges, per service: the error ratio, the burn rate and the p95 over the
policy's signal window, and whether an SLO burns its budget at a paging rate (the paging
burn-rate pairs of :mod:`sloctl.incidents.conditions`: the SRE Workbook's 1h/5m and 6h/30m). Event
counts go through the planner that ``sloctl report`` uses, so SLOs that share a metric family
share one query whatever their number; p95s are batched the same way.

The daemon reads the counts from its slice store (see :mod:`sloctl.promql.slices`): whole hours
stored once, the edges of each window queried each cycle. ``sloctl backtest`` reads per-step
slices of the same counts once and adds them up into every window at every step, so a
rehearsal sees the same numbers without reading a month of raw samples per step.
"""

from __future__ import annotations

import functools
import math
from collections import defaultdict
from collections.abc import Hashable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from types import MappingProxyType

from sloctl.core import burn
from sloctl.core.budget import ratio_of
from sloctl.core.conventions import P95
from sloctl.core.series import Sample
from sloctl.core.slo import LatencyIndicator, Slo, by_service, dependencies
from sloctl.core.twins import counted_alike
from sloctl.errors import PrometheusError, TooManySamplesError
from sloctl.incidents.conditions import Measure, paging
from sloctl.incidents.policy import Cause, Policy, ServiceSignals, Thresholds
from sloctl.promql import build as promql
from sloctl.promql.build import Shape
from sloctl.promql.plan import (
    Batch,
    CountRequest,
    Family,
    SloCounts,
    families,
    plan,
    sides,
    split_answer,
)
from sloctl.promql.slices import QueryBudget
from sloctl.reading.evaluation import CountReader, Slicing, count_family, hand_out

ANY_TIME = datetime(1970, 1, 1, tzinfo=UTC)
"""The time a plan's batches carry; the reader gives each query its own."""
CHUNK_STEPS = 1440
"""Steps per range request in a replay: a day at one-minute steps, so memory stays bounded."""
NO_EVENTS = -1.0
"""A window remembered as having series but no events to divide (never a ratio: those are
clamped to 0..1)."""


SignalReader = CountReader
"""Signals are read the way counts are: instant queries, and range queries for replays."""


@dataclass(frozen=True)
class QuantileBatch:
    """One p95 query for every latency SLO whose histogram has one shape and window."""

    expr: str
    split: tuple[str, ...]
    members: Mapping[tuple[str, ...], tuple[str, ...]]

    @property
    def slo_keys(self) -> tuple[str, ...]:
        return tuple(sorted({key for keys in self.members.values() for key in keys}))


@dataclass(frozen=True)
class Judged:
    """One SLO as the signals judge it: counted in events (a timeslice SLO too), with the
    error ratios above which each paging pair fires."""

    slo: Slo
    pages: tuple[tuple[int, int, float], ...]
    """(long window, short window, error ratio limit) of every pair that can fire."""

    @classmethod
    def of(cls, slo: Slo, pairs: tuple[burn.BurnWindow, ...] = burn.PAGE_PAIRS) -> Judged:
        return _judged(slo, pairs)

    def ratio(self, measured: Measured, seconds: int) -> float | None:
        """The error ratio over ``seconds`` (between 0 and 1), None without events."""
        return measured.window(self, seconds)[0]

    def has_data(self, measured: Measured, seconds: int) -> bool:
        return measured.window(self, seconds)[1]

    def burning(self, measured: Measured) -> bool:
        for long_seconds, short_seconds, limit in self.pages:
            long = self.ratio(measured, long_seconds)
            short = self.ratio(measured, short_seconds)
            if long is not None and short is not None and long > limit and short > limit:
                return True
        return False

    @property
    def windows(self) -> set[int]:
        return {seconds for long, short, _ in self.pages for seconds in (long, short)}

    @functools.cached_property
    def error_budget(self) -> float:
        """The SLO's error budget as the burn rates divide by it (made once per Judged)."""
        return float(self.slo.error_budget)


def _burns(pages: tuple[tuple[int, int, float], ...], ratios: Mapping[int, float | None]) -> bool:
    """Whether a paging pair fires, from one SLO's windows as :meth:`Measured.counted` gives
    them (a window without data or without events never fires)."""
    for long_seconds, short_seconds, limit in pages:
        long, short = ratios[long_seconds], ratios[short_seconds]
        if long is None or short is None or NO_EVENTS in (long, short):
            continue
        if long > limit and short > limit:
            return True
    return False


@functools.lru_cache(maxsize=65536)
def _judged(slo: Slo, pairs: tuple[burn.BurnWindow, ...]) -> Judged:
    """Pure and asked for every SLO on every daemon cycle, so remembered per SLO value."""
    firing = [p for p in pairs if burn.can_fire(slo, p)]
    return Judged(
        slo if slo.timeslices is None else replace(slo, timeslices=None),
        tuple((p.long_seconds, p.short_seconds, float(burn.threshold(slo, p))) for p in firing),
    )


def _page_pairs(limits: Thresholds, cause: Cause) -> tuple[burn.BurnWindow, ...]:
    """The burn-rate pairs of the paging condition of ``cause``."""
    specs = paging(limits)
    return next(s.pairs for s in specs if s.measure is Measure.BURN_PAIRS and s.cause is cause)


@dataclass(frozen=True)
class ServiceLayout:
    """What the signals of one service are made of."""

    service: str
    window: int
    availability: tuple[Judged, ...]
    latency: tuple[Judged, ...]

    @classmethod
    def of(cls, service: str, slos: Sequence[Slo], policy: Policy) -> ServiceLayout:
        limits = policy.for_service(service)
        errors, latency = _page_pairs(limits, Cause.ERRORS), _page_pairs(limits, Cause.LATENCY)
        return cls(
            service,
            int(limits.signal_window.total_seconds()),
            tuple(
                Judged.of(s, errors) for s in slos if not isinstance(s.indicator, LatencyIndicator)
            ),
            tuple(Judged.of(s, latency) for s in slos if isinstance(s.indicator, LatencyIndicator)),
        )

    @functools.cached_property
    def _grouped(self) -> tuple[tuple[Entry, ...], int, dict[str, tuple[str, ...]]]:
        """:attr:`counted`, :attr:`availability_entries` and :attr:`read_for`."""
        reads: dict[Hashable, _Twins] = {}
        available = 0  # entries of availability SLOs: never twins of latency SLOs
        for index, judged in enumerate((*self.availability, *self.latency)):
            alike = counted_alike(judged.slo)
            twins = reads.get(alike)
            if twins is None:
                twins = reads[alike] = _Twins(judged, {self.window})
                available += index < len(self.availability)
            twins.add(judged)
        return (
            tuple(twins.entry() for twins in reads.values()),
            available,
            {twins.first.slo.key: tuple(twins.keys) for twins in reads.values()},
        )

    @property
    def counted(self) -> tuple[Entry, ...]:
        """The service's SLOs as its signals judge them, availability first (made once per
        layout). SLOs that count the same events (:mod:`sloctl.core.twins`) are one entry:
        their counts are read for the first of them, over every window any of them reads;
        a paging pair fires for one of them when its lowest limit among them is crossed,
        and the burn rate of the one with the smallest budget is the highest."""
        return self._grouped[0]

    @property
    def availability_entries(self) -> int:
        """How many entries of :attr:`counted` are availability SLOs (the first ones)."""
        return self._grouped[1]

    @property
    def read_for(self) -> Mapping[str, tuple[str, ...]]:
        """An entry's SLO key -> every SLO key whose counts it reads (its own first)."""
        return self._grouped[2]

    def signals(self, measured: Measured, at: datetime) -> ServiceSignals:
        """The service's signals; each SLO's windows are counted once, in one call."""
        window = self.window
        known: list[float] = []
        rates: list[float] = []
        burning = latency_burning = False
        available = self.availability_entries
        for index, (judged, windows, pages, smallest) in enumerate(self.counted):
            ratios = measured.counted(judged, windows)
            if index < available:
                ratio = ratios[window]
                if ratio is not None and ratio != NO_EVENTS:
                    known.append(ratio)
                    rates.append(ratio / smallest)
                burning = burning or _burns(pages, ratios)
            else:
                latency_burning = latency_burning or _burns(pages, ratios)
        first = self.latency[0].slo if self.latency else None
        threshold = (
            first.indicator.threshold_seconds
            if first is not None and isinstance(first.indicator, LatencyIndicator)
            else None
        )
        return ServiceSignals(
            at=at,
            error_ratio=max(known) if known else None,
            burn_rate=max(rates) if rates else None,
            p95_seconds=None if first is None else measured.p95.get(first.key),
            latency_threshold=threshold,
            burning=burning,
            latency_burning=latency_burning,
        )

    def slis(self, measured: Measured, p95: Mapping[str, float]) -> Iterator[tuple[str, Sli]]:
        """Each SLO's indicator over the signal window, from the windows :meth:`signals`
        counted; twins share their first's (p95s are read for the first too)."""
        window = self.window
        read_for = self.read_for
        for judged, windows, _, _ in self.counted:
            found = measured.counted(judged, windows)[window]
            key = judged.slo.key
            if found is None:
                sli = Sli(window, None, p95.get(key), has_data=False)
            else:
                sli = Sli(window, None if found == NO_EVENTS else found, p95.get(key))
            for twin in read_for[key]:
                yield twin, sli


Entry = tuple[Judged, tuple[int, ...], tuple[tuple[int, int, float], ...], float]
"""The first of some twins as the signals judge it (their counts are read for it), every
window any of them reads, the paging pairs with the lowest limit any of them sets for each,
and their smallest error budget."""


@dataclass
class _Twins:
    """A service's SLOs that count the same events, gathered for one :data:`Entry`."""

    first: Judged
    windows: set[int]
    keys: list[str] = field(default_factory=list)
    limits: dict[tuple[int, int], float] = field(default_factory=dict)
    smallest: float = math.inf

    def add(self, judged: Judged) -> None:
        self.keys.append(judged.slo.key)
        self.windows.update(judged.windows)
        for long, short, limit in judged.pages:
            self.limits[(long, short)] = min(limit, self.limits.get((long, short), math.inf))
        self.smallest = min(self.smallest, judged.error_budget)

    def entry(self) -> Entry:
        pages = tuple((long, short, limit) for (long, short), limit in self.limits.items())
        return self.first, tuple(sorted(self.windows)), pages, self.smallest


@dataclass(frozen=True)
class SignalPlan:
    counts: tuple[Batch, ...]
    quantiles: tuple[QuantileBatch, ...]
    services: tuple[ServiceLayout, ...]
    families: tuple[Family, ...] = ()
    """The same counts as metric families, for reading them from slices."""

    @property
    def queries(self) -> int:
        return len(self.counts) + len(self.quantiles)

    @functools.cached_property
    def depends_on(self) -> Mapping[str, tuple[str, ...]]:
        """Each service's ``dependsOn``, as its definitions declare it (made once per plan:
        the daemon asks every cycle)."""
        return MappingProxyType(
            dependencies(
                judged.slo
                for layout in self.services
                for judged in layout.availability + layout.latency
            )
        )

    @functools.cached_property
    def read_for(self) -> dict[str, tuple[str, ...]]:
        """An asked SLO's key -> every SLO key whose counts it reads."""
        return {first: keys for s in self.services for first, keys in s.read_for.items()}

    def judge(self, measured: Measured, at: datetime) -> dict[str, ServiceSignals]:
        """Each service's signals from one instant's answers."""
        return {layout.service: layout.signals(measured, at) for layout in self.services}


def windows_of(slo: Slo, window: int) -> tuple[int, ...]:
    """The signal window and every burn-rate window that can fire for ``slo``."""
    return tuple(sorted({window, *Judged.of(slo).windows}))


def signal_plan(slos: Sequence[Slo], policy: Policy) -> SignalPlan:
    """Every query the signals of ``slos`` need, as few as the metric layouts allow.

    The queries do not depend on the time they are asked at, so a daemon plans once per
    configuration and reads the same plan every cycle.
    """
    services = tuple(
        ServiceLayout.of(service, members, policy) for service, members in by_service(slos).items()
    )
    requests = [
        CountRequest(judged.slo, ANY_TIME, windows)
        for layout in services
        for judged, windows, _, _ in layout.counted
    ]
    groups: dict[tuple[Shape, int], dict[tuple[str, ...], list[str]]] = {}
    for layout in services:
        for judged, _, _, _ in layout.counted[layout.availability_entries :]:
            indicator = judged.slo.indicator
            if not isinstance(indicator, LatencyIndicator):
                raise ValueError(f"SLO {judged.slo.key} is among the latency SLOs but is not one")
            histogram = indicator.histogram
            buckets = histogram.with_metric(f"{histogram.metric}_bucket")
            shape, key = Shape.of(buckets, promql.shared_split_labels(histogram))
            members = groups.setdefault((shape, layout.window), defaultdict(list))
            members[key].append(judged.slo.key)
    quantiles = tuple(
        QuantileBatch(
            promql.quantile(shape.selector(members), P95, seconds, shape.split),
            shape.split,
            {key: tuple(sorted(set(keys))) for key, keys in sorted(members.items())},
        )
        for (shape, seconds), members in sorted(groups.items())
    )
    found, _ = families(requests)
    return SignalPlan(tuple(plan(requests)), quantiles, services, tuple(found))


@dataclass(frozen=True)
class Measured:
    """What one instant's answers say, per SLO: counts per window, and p95 where asked."""

    readings: SloCounts
    p95: Mapping[str, float]
    _counted: dict[str, Slo] = field(default_factory=dict, init=False, repr=False, compare=False)
    """The judged SLO each key's windows below were counted for."""
    _ratios: dict[str, dict[int, float | None]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    """Per SLO key and window: the clamped error ratio, :data:`NO_EVENTS`, or None for no
    data. The ratios, the burn-rate pairs and the SLIs all ask for the same windows; plain
    numbers in a dict per SLO leave the garbage collector nothing new to follow."""

    def window(self, judged: Judged, seconds: int) -> tuple[float | None, bool]:
        """``judged``'s error ratio over ``seconds`` (clamped to 0..1, None without events)
        and whether its series exist there, counted once per SLO and window."""
        found = self.counted(judged, (seconds,))[seconds]
        if found is None:
            return None, False
        return (None, True) if found == NO_EVENTS else (found, True)

    def counted(self, judged: Judged, windows: tuple[int, ...]) -> dict[int, float | None]:
        """``judged``'s windows counted: per window (seconds) the clamped error ratio,
        :data:`NO_EVENTS`, or None for no data; each window counted once per SLO.

        Remembered for the very SLO object counted: a timeslice SLO as judged (counted in
        events) has the key of its definition, and the two must never share an answer.
        """
        slo = judged.slo
        key = slo.key
        ratios = self._ratios.get(key)
        if ratios is None or self._counted[key] is not slo:
            self._counted[key] = slo
            ratios = self._ratios[key] = {}
        readings = self.readings
        for seconds in windows:
            if seconds not in ratios:
                found = sides(slo, readings.get((key, seconds)), seconds)
                if isinstance(found, str):
                    ratios[seconds] = None  # nothing usable read: no data
                else:
                    ratio = ratio_of(*found)  # clamped to 0..1 already
                    ratios[seconds] = NO_EVENTS if ratio is None else ratio
        return ratios


def _p95(batch: QuantileBatch, samples: Sequence[Sample]) -> dict[str, float]:
    found: dict[str, float] = {}
    for sample in samples:
        key = tuple(sample.labels.get(label, "") for label in batch.split)
        if math.isfinite(sample.value):
            for slo_key in batch.members.get(key, ()):
                found[slo_key] = sample.value
    return found


@dataclass(frozen=True)
class Sli:
    """One SLO's indicator over its service's signal window: the share of bad events, and
    the p95 for a latency SLO; None where there was nothing to measure."""

    window_seconds: int
    error_ratio: float | None
    p95_seconds: float | None = None
    has_data: bool = True
    """Whether the SLO's events series exist over the window (zero traffic counts as data:
    a vanished exporter does not)."""


@dataclass(frozen=True)
class SignalRead:
    """Every service's signals at one instant, each SLO's indicator, and the services that
    could not be read."""

    signals: dict[str, ServiceSignals]
    failed: dict[str, str]
    queries: int
    slis: dict[str, Sli] = field(default_factory=dict)
    failed_slos: dict[str, str] = field(default_factory=dict)
    """The SLOs whose own queries failed, and why (their services are in ``failed``)."""


def read_signals(
    planned: SignalPlan,
    reader: SignalReader,
    at: datetime,
    *,
    slicing: Slicing | None = None,
    budget: QueryBudget | None = None,
) -> SignalRead:
    """Every service's signals at ``at``, the counts from ``slicing``'s store when given.

    A query that fails leaves out the services it was asked for (with the reason), never the
    others: Prometheus trouble must not look like recovery or like an outage.
    """
    readings: SloCounts = {}
    p95: dict[str, float] = {}
    failed_slos: dict[str, str] = {}
    queries = planned.queries
    if slicing is None:
        for batch in planned.counts:
            try:
                samples = reader.instant(batch.expr, at, slos=batch.slo_keys)
            except PrometheusError as exc:
                failed_slos.update(dict.fromkeys(batch.slo_keys, str(exc)))
                continue
            split_answer(batch, samples, into=readings)
    else:
        queries = len(planned.quantiles)
        for family in planned.families:
            timed = family.at(at)
            try:
                values, sent = count_family(timed, reader, budget or QueryBudget(), slicing)
            except PrometheusError as exc:
                failed_slos.update(dict.fromkeys(family.slo_keys, str(exc)))
                continue
            queries += sent
            hand_out(timed, values, readings)
    for quantile in planned.quantiles:
        try:
            p95.update(_p95(quantile, reader.instant(quantile.expr, at, slos=quantile.slo_keys)))
        except PrometheusError as exc:
            failed_slos.update(dict.fromkeys(quantile.slo_keys, str(exc)))
    failed = {
        layout.service: failed_slos[judged.slo.key]
        for layout in (planned.services if failed_slos else ())  # every SLO, only on trouble
        for judged, _, _, _ in layout.counted
        if judged.slo.key in failed_slos
    }
    if failed_slos:  # the SLOs asked for fail with every SLO whose counts they read
        read_for = planned.read_for
        failed_slos = {
            k: why for key, why in failed_slos.items() for k in read_for.get(key, (key,))
        }
    measured = Measured(readings, p95)
    judged = planned.judge(measured, at)
    signals = {service: found for service, found in judged.items() if service not in failed}
    slis = {
        key: sli
        for layout in planned.services
        if layout.service not in failed
        for key, sli in layout.slis(measured, p95)
    }
    return SignalRead(signals, failed, queries, slis, failed_slos)


def replay(
    slos: Sequence[Slo],
    policy: Policy,
    reader: SignalReader,
    start: datetime,
    end: datetime,
    step: timedelta,
    *,
    budget: QueryBudget | None = None,
) -> Iterator[dict[str, ServiceSignals]]:
    """Every service's signals at each step from ``start`` to ``end``.

    The counts come from per-step slices (:func:`sloctl.promql.build.counted`, which add up exactly)
    read once as range queries within ``budget``; every window at every step is a sum of the
    slices it holds. The p95s are the same range queries of the instant expressions.
    """
    planned = signal_plan(slos, policy)
    budget = budget or QueryBudget()
    step_ms = round(step.total_seconds() * 1000)
    windows = {w for family in planned.families for w in family.windows}
    grain = math.gcd(step_ms, *(w * 1000 for w in windows))
    longest = max(windows, default=0) * 1000
    slices = [_Slices(family, grain) for family in planned.families]
    first = round(start.timestamp() * 1000)
    cursor = start
    read_until = first - longest
    while cursor <= end:
        chunk_end = min(end, cursor + step * (CHUNK_STEPS - 1))
        last = round(chunk_end.timestamp() * 1000)
        for found in slices:
            found.read(reader, budget, read_until, last)
            found.forget(round(cursor.timestamp() * 1000) - longest)
        read_until = last
        p95: dict[float, dict[str, float]] = defaultdict(dict)
        for quantile in planned.quantiles:
            for series in reader.range(
                quantile.expr, cursor, chunk_end, step, slos=quantile.slo_keys
            ):
                for stamp, value in series.points:
                    p95[round(stamp, 3)].update(_p95(quantile, [Sample(series.labels, value)]))
        moment = cursor
        while moment <= chunk_end:
            at = round(moment.timestamp() * 1000)
            readings: SloCounts = {}
            for found in slices:
                hand_out(found.family, found.windows(at), readings)
            measured = Measured(readings, p95.pop(round(moment.timestamp(), 3), {}))
            yield planned.judge(measured, moment.astimezone(UTC))
            moment += step
        cursor = chunk_end + step


@dataclass
class _Slices:
    """One family's per-step slice counts as running sums by split key, so that any window is
    one subtraction: ``sums[end]`` counts every slice up to ``end`` (milliseconds), and
    ``seen[end]`` how many of them had series."""

    family: Family
    grain: int
    sums: dict[tuple[str, ...], dict[int, float]] = field(default_factory=dict)
    seen: dict[tuple[str, ...], dict[int, int]] = field(default_factory=dict)
    series: int | None = None

    def read(self, reader: SignalReader, budget: QueryBudget, after: int, until: int) -> None:
        """Slices ending in (after, until] on the grid of ``after``, in range queries of at
        most the budget's steps."""
        family = self.family
        first = after + self.grain
        if first > until:
            return
        for key in family.members:
            self.sums.setdefault(key, {first - self.grain: 0.0})
            self.seen.setdefault(key, {first - self.grain: 0})
        if self.series is None:  # asked once: how many raw series one step reads
            moment = datetime.fromtimestamp(until / 1000, UTC)
            counted = reader.instant(f"count({family.selector().render()})", moment)
            self.series = int(counted[0].value) if counted else 1
        steps = budget.range_steps(self.series, self.grain, family.scrape_seconds)
        steps = min(10_000, steps)
        expr = promql.counted(family.selector(), family.split, self.grain)
        values: dict[tuple[str, ...], dict[int, float]] = {key: {} for key in family.members}
        cursor = first
        while cursor <= until:
            last = min(until, cursor + (steps - 1) * self.grain)
            try:
                answer = reader.range(
                    expr,
                    datetime.fromtimestamp(cursor / 1000, UTC),
                    datetime.fromtimestamp(last / 1000, UTC),
                    timedelta(milliseconds=self.grain),
                    slos=family.slo_keys,
                )
            except TooManySamplesError:
                if steps == 1:
                    raise
                steps = max(1, steps // 2)
                continue
            for found in answer:
                key = tuple(found.labels.get(label, "") for label in family.split)
                if key in values:
                    for stamp, value in found.points:
                        if math.isfinite(value):
                            values[key][round(stamp * 1000)] = value
            cursor = last + self.grain
        for key, mine in values.items():
            sums, seen = self.sums[key], self.seen[key]
            total, count = sums[first - self.grain], seen[first - self.grain]
            for end in range(first, until + 1, self.grain):
                if end in mine:
                    total += mine[end]
                    count += 1
                sums[end], seen[end] = total, count

    def forget(self, before: int) -> None:
        """Drop running sums older than ``before``, which no window needs any more."""
        for key, sums in self.sums.items():
            seen = self.seen[key]
            for end in [e for e in sums if e < before]:
                del sums[end], seen[end]

    def windows(self, at: int) -> dict[tuple[tuple[str, ...], int], float]:
        """Each window ending at ``at``, where any of its slices had series."""
        found: dict[tuple[tuple[str, ...], int], float] = {}
        for key, sums in self.sums.items():
            seen = self.seen[key]
            for seconds in self.family.windows:
                begin = at - seconds * 1000
                if at in sums and begin in sums and seen[at] > seen[begin]:
                    found[(key, seconds)] = max(0.0, sums[at] - sums[begin])
        return found
