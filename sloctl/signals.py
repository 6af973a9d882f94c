"""The severity signals of every service, read in a few batched queries.

What the policy judges, per service: the error ratio and the p95 over the policy's signal
window, and whether an SLO burns its budget at a paging rate (the SRE Workbook's 1h/5m and
6h/30m pairs). Event counts go through the planner that ``sloctl report`` uses, so SLOs that
share a metric family share one query whatever their number; p95s are batched the same way.

The daemon reads these queries at one instant; ``sloctl backtest`` reads the very same
queries as range queries, so a rehearsal sees at each step exactly what the daemon would
have seen at that moment.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Protocol

from sloctl import burn, promql
from sloctl.budget import error_ratio
from sloctl.errors import PrometheusError
from sloctl.plan import Batch, CountRequest, Readings, Sample, counts_from, plan, split_answer
from sloctl.policy import Policy, Signals
from sloctl.prometheus import Series
from sloctl.promql import Shape
from sloctl.rules import P95, by_service
from sloctl.slo import LatencyIndicator, Slo

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
class SignalPlan:
    counts: tuple[Batch, ...]
    quantiles: tuple[QuantileBatch, ...]

    @property
    def queries(self) -> int:
        return len(self.counts) + len(self.quantiles)


def _window(policy: Policy, slo: Slo) -> int:
    return int(policy.for_service(slo.service).signal_window.total_seconds())


def windows_of(slo: Slo, window: int) -> tuple[int, ...]:
    """The signal window and every burn-rate window that can fire for ``slo``."""
    pairs = [p for p in burn.PAGE_PAIRS if burn.can_fire(slo, p)]
    seconds = {window, *(p.long_seconds for p in pairs), *(p.short_seconds for p in pairs)}
    return tuple(sorted(seconds))


def signal_plan(slos: Sequence[Slo], policy: Policy, at: datetime) -> SignalPlan:
    """Every query the signals of ``slos`` need, as few as the metric layouts allow."""
    requests = [
        # Signals count events, never slices: a timeslice SLO is judged on its raw ratio.
        CountRequest(replace(slo, timeslices=None), at, windows_of(slo, _window(policy, slo)))
        for slo in slos
    ]
    groups: dict[tuple[Shape, int], dict[tuple[str, ...], list[str]]] = {}
    for slo in slos:
        if not isinstance(slo.indicator, LatencyIndicator):
            continue
        histogram = slo.indicator.histogram
        buckets = histogram.with_metric(f"{histogram.metric}_bucket")
        shape, key = Shape.of(buckets, promql.shared_split_labels(histogram))
        members = groups.setdefault((shape, _window(policy, slo)), defaultdict(list))
        members[key].append(slo.key)
    quantiles = tuple(
        QuantileBatch(
            promql.quantile(shape.selector(members), P95, seconds, shape.split),
            shape.split,
            {key: tuple(sorted(set(keys))) for key, keys in sorted(members.items())},
        )
        for (shape, seconds), members in sorted(groups.items())
    )
    return SignalPlan(tuple(plan(requests)), quantiles)


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


def judge(
    slos: Sequence[Slo], policy: Policy, measured: Measured, at: datetime
) -> dict[str, Signals]:
    """Each service's signals from one instant's answers."""
    found: dict[str, Signals] = {}
    for service, service_slos in by_service(slos).items():
        window = int(policy.for_service(service).signal_window.total_seconds())
        ratios = [
            _ratio(slo, measured.readings, window)
            for slo in service_slos
            if not isinstance(slo.indicator, LatencyIndicator)
        ]
        known = [r for r in ratios if r is not None]
        latency = next((s for s in service_slos if isinstance(s.indicator, LatencyIndicator)), None)
        threshold: Decimal | None = None
        if latency is not None and isinstance(latency.indicator, LatencyIndicator):
            threshold = latency.indicator.threshold_seconds
        found[service] = Signals(
            at=at,
            error_ratio=max(known) if known else None,
            p95_seconds=None if latency is None else measured.p95.get(latency.key),
            latency_threshold=threshold,
            burning=any(
                _burning(s, measured.readings)
                for s in service_slos
                if not isinstance(s.indicator, LatencyIndicator)
            ),
            latency_burning=any(
                _burning(s, measured.readings)
                for s in service_slos
                if isinstance(s.indicator, LatencyIndicator)
            ),
        )
    return found


def _ratio(slo: Slo, readings: Readings, seconds: int) -> float | None:
    reading = readings.get((slo.key, seconds))
    counts, _ = counts_from(replace(slo, timeslices=None), reading, seconds)
    ratio = error_ratio(counts)
    return None if ratio is None else min(max(ratio, 0.0), 1.0)


def _burning(slo: Slo, readings: Readings) -> bool:
    for pair in burn.PAGE_PAIRS:
        if not burn.can_fire(slo, pair):
            continue
        limit = float(burn.threshold(slo, pair))
        long = _ratio(slo, readings, pair.long_seconds)
        short = _ratio(slo, readings, pair.short_seconds)
        if long is not None and short is not None and long > limit and short > limit:
            return True
    return False


@dataclass(frozen=True)
class Reading:
    """Every service's signals at one instant, and the services that could not be read."""

    signals: dict[str, Signals]
    failed: dict[str, str]
    queries: int


def read_signals(
    slos: Sequence[Slo], policy: Policy, reader: SignalReader, at: datetime
) -> Reading:
    """Every service's signals at ``at``.

    A query that fails leaves out the services it was asked for (with the reason), never the
    others: Prometheus trouble must not look like recovery or like an outage.
    """
    planned = signal_plan(slos, policy, at)
    readings: Readings = {}
    p95: dict[str, float] = {}
    failed_slos: dict[str, str] = {}
    for batch in planned.counts:
        try:
            samples = reader.instant(batch.expr, at, slos=batch.slo_keys)
        except PrometheusError as exc:
            failed_slos.update(dict.fromkeys(batch.slo_keys, str(exc)))
            continue
        for key, values in split_answer(batch, samples).items():
            readings.setdefault(key, {}).update(values)
    for quantile in planned.quantiles:
        try:
            p95.update(_p95(quantile, reader.instant(quantile.expr, at, slos=quantile.slo_keys)))
        except PrometheusError as exc:
            failed_slos.update(dict.fromkeys(quantile.slo_keys, str(exc)))
    failed = {s.service: failed_slos[s.key] for s in slos if s.key in failed_slos}
    readable = [s for s in slos if s.service not in failed]
    return Reading(judge(readable, policy, Measured(readings, p95), at), failed, planned.queries)


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
    planned = signal_plan(slos, policy, start)
    cursor = start
    while cursor <= end:
        chunk_end = min(end, cursor + step * (CHUNK_STEPS - 1))
        counts: dict[float, Readings] = defaultdict(dict)
        for batch in planned.counts:
            for series in reader.range(batch.expr, cursor, chunk_end, step, slos=batch.slo_keys):
                for stamp, value in series.points:
                    readings = counts[round(stamp, 3)]
                    for key, values in split_answer(batch, [Sample(series.labels, value)]).items():
                        readings.setdefault(key, {}).update(values)
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
            yield judge(slos, policy, measured, moment.astimezone(UTC))
            moment += step
        cursor = chunk_end + step
