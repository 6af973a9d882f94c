"""The severity signals of every service, read in a few batched queries.

What the policy judges, per service: the error ratio, the burn rate and the p95 over the
policy's signal window, and whether an SLO burns its budget at a paging rate (the paging
burn-rate pairs of :mod:`sloctl.conditions`: the SRE Workbook's 1h/5m and 6h/30m). Event
counts go through the planner that ``sloctl report`` uses, so SLOs that share a metric family
share one query whatever their number; p95s are batched the same way.

The daemon reads these queries at one instant; ``sloctl backtest`` reads the very same
queries as range queries, so a rehearsal sees at each step exactly what the daemon would
have seen at that moment.
"""

from __future__ import annotations

import functools
import math
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Protocol

from sloctl import burn, promql
from sloctl.budget import error_ratio
from sloctl.conditions import Measure, paging
from sloctl.errors import PrometheusError
from sloctl.plan import (
    Batch,
    CountRequest,
    Readings,
    Sample,
    counts_from,
    plan,
    split_answer,
    targets,
)
from sloctl.policy import Cause, Policy, Signals, Thresholds
from sloctl.prometheus import Series
from sloctl.promql import Shape
from sloctl.rules import P95, by_service
from sloctl.slo import LatencyIndicator, Slo

ANY_TIME = datetime(1970, 1, 1, tzinfo=UTC)
"""The time a plan's batches carry; the reader gives each query its own."""
CHUNK_STEPS = 1440
"""Steps per range request in a replay: a day at one-minute steps, so memory stays bounded."""


class SignalReader(Protocol):
    def instant(self, expr: str, at: datetime, *, slos: Sequence[str] = ()) -> list[Sample]: ...

    def range(
        self,
        expr: str,
        start: datetime,
        end: datetime,
        step: timedelta,
        *,
        slos: Sequence[str] = (),
    ) -> list[Series]: ...


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

    def ratio(self, readings: Readings, seconds: int) -> float | None:
        counts, _ = counts_from(self.slo, readings.get((self.slo.key, seconds)), seconds)
        ratio = error_ratio(counts)
        return None if ratio is None else min(max(ratio, 0.0), 1.0)

    def burning(self, readings: Readings) -> bool:
        for long_seconds, short_seconds, limit in self.pages:
            long = self.ratio(readings, long_seconds)
            short = self.ratio(readings, short_seconds)
            if long is not None and short is not None and long > limit and short > limit:
                return True
        return False

    @property
    def windows(self) -> set[int]:
        return {seconds for long, short, _ in self.pages for seconds in (long, short)}


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

    def signals(self, measured: Measured, at: datetime) -> Signals:
        ratios = [j.ratio(measured.readings, self.window) for j in self.availability]
        known = [r for r in ratios if r is not None]
        rates = [
            r / float(j.slo.error_budget)
            for j, r in zip(self.availability, ratios, strict=True)
            if r is not None
        ]
        first = self.latency[0].slo if self.latency else None
        threshold = (
            first.indicator.threshold_seconds
            if first is not None and isinstance(first.indicator, LatencyIndicator)
            else None
        )
        return Signals(
            at=at,
            error_ratio=max(known) if known else None,
            burn_rate=max(rates) if rates else None,
            p95_seconds=None if first is None else measured.p95.get(first.key),
            latency_threshold=threshold,
            burning=any(j.burning(measured.readings) for j in self.availability),
            latency_burning=any(j.burning(measured.readings) for j in self.latency),
        )


@dataclass(frozen=True)
class SignalPlan:
    counts: tuple[Batch, ...]
    quantiles: tuple[QuantileBatch, ...]
    services: tuple[ServiceLayout, ...]

    @property
    def queries(self) -> int:
        return len(self.counts) + len(self.quantiles)

    def judge(self, measured: Measured, at: datetime) -> dict[str, Signals]:
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
        CountRequest(judged.slo, ANY_TIME, tuple(sorted({layout.window, *judged.windows})))
        for layout in services
        for judged in (*layout.availability, *layout.latency)
    ]
    groups: dict[tuple[Shape, int], dict[tuple[str, ...], list[str]]] = {}
    for layout in services:
        for judged in layout.latency:
            indicator = judged.slo.indicator
            assert isinstance(indicator, LatencyIndicator)
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
    return SignalPlan(tuple(plan(requests)), quantiles, services)


@dataclass(frozen=True)
class Measured:
    """What one instant's answers say, per SLO: counts per window, and p95 where asked."""

    readings: Readings
    p95: Mapping[str, float]


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


@dataclass(frozen=True)
class Reading:
    """Every service's signals at one instant, each SLO's indicator, and the services that
    could not be read."""

    signals: dict[str, Signals]
    failed: dict[str, str]
    queries: int
    slis: dict[str, Sli] = field(default_factory=dict)


def read_signals(planned: SignalPlan, reader: SignalReader, at: datetime) -> Reading:
    """Every service's signals at ``at``.

    A query that fails leaves out the services it was asked for (with the reason), never the
    others: Prometheus trouble must not look like recovery or like an outage.
    """
    readings: Readings = {}
    p95: dict[str, float] = {}
    failed_slos: dict[str, str] = {}
    for batch in planned.counts:
        try:
            samples = reader.instant(batch.expr, at, slos=batch.slo_keys)
        except PrometheusError as exc:
            failed_slos.update(dict.fromkeys(batch.slo_keys, str(exc)))
            continue
        split_answer(batch, samples, into=readings)
    for quantile in planned.quantiles:
        try:
            p95.update(_p95(quantile, reader.instant(quantile.expr, at, slos=quantile.slo_keys)))
        except PrometheusError as exc:
            failed_slos.update(dict.fromkeys(quantile.slo_keys, str(exc)))
    failed = {
        layout.service: failed_slos[judged.slo.key]
        for layout in planned.services
        for judged in (*layout.availability, *layout.latency)
        if judged.slo.key in failed_slos
    }
    measured = Measured(readings, p95)
    judged = planned.judge(measured, at)
    signals = {service: found for service, found in judged.items() if service not in failed}
    slis = {
        j.slo.key: Sli(layout.window, j.ratio(readings, layout.window), p95.get(j.slo.key))
        for layout in planned.services
        if layout.service not in failed
        for j in (*layout.availability, *layout.latency)
    }
    return Reading(signals, failed, planned.queries, slis)


def replay(
    slos: Sequence[Slo],
    policy: Policy,
    reader: SignalReader,
    start: datetime,
    end: datetime,
    step: timedelta,
) -> Iterator[dict[str, Signals]]:
    """Every service's signals at each step from ``start`` to ``end``, from range queries of
    the same expressions :func:`read_signals` evaluates at one instant."""
    planned = signal_plan(slos, policy)
    cursor = start
    while cursor <= end:
        chunk_end = min(end, cursor + step * (CHUNK_STEPS - 1))
        counts: dict[float, Readings] = defaultdict(dict)
        for batch in planned.counts:
            for series in reader.range(batch.expr, cursor, chunk_end, step, slos=batch.slo_keys):
                found = targets(batch, series.labels)
                for stamp, value in series.points:
                    readings = counts[round(stamp, 3)]
                    for where, role in found:
                        readings.setdefault(where, {})[role] = value
        p95: dict[float, dict[str, float]] = defaultdict(dict)
        for quantile in planned.quantiles:
            for series in reader.range(
                quantile.expr, cursor, chunk_end, step, slos=quantile.slo_keys
            ):
                for stamp, value in series.points:
                    p95[round(stamp, 3)].update(_p95(quantile, [Sample(series.labels, value)]))
        moment = cursor
        while moment <= chunk_end:
            stamp = round(moment.timestamp(), 3)
            measured = Measured(counts.pop(stamp, {}), p95.pop(stamp, {}))
            yield planned.judge(measured, moment.astimezone(UTC))
            moment += step
        cursor = chunk_end + step
