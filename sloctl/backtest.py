"""``sloctl backtest``: replay the severity policy over past Prometheus data.

Reads each SLO's 5-minute event rates (and p95 for latency SLOs) as range queries, rebuilds
the signals the daemon would have seen at every step, and feeds them to the same
:func:`sloctl.engine.decide` the daemon uses. Nothing is stored and nobody is notified.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Protocol

from sloctl import burn, promql
from sloctl.engine import decide
from sloctl.incidents import Incident
from sloctl.policy import Cause, Held, Policy, Signals
from sloctl.prometheus import Series
from sloctl.rules import P95, rate_seconds
from sloctl.slo import LatencyIndicator, Slo

PAGE_PAIRS = tuple(b for b in burn.STANDARD_WINDOWS if b.urgency is burn.Urgency.PAGE)


class RangeReader(Protocol):
    def range(
        self,
        expr: str,
        start: datetime,
        end: datetime,
        step: timedelta,
        *,
        slos: Sequence[str] = (),
    ) -> list[Series]: ...


@dataclass
class Rates:
    """Per-step bad and total event rates of one SLO (None where Prometheus had nothing)."""

    bad: dict[float, float]
    total: dict[float, float]

    def ratio(self, stamp: float, seconds: int, step: float) -> float | None:
        """Traffic-weighted error ratio over the ``seconds`` up to ``stamp``."""
        count = max(1, int(seconds // step))
        stamps = [stamp - i * step for i in range(count)]
        total = sum(self.total.get(s, 0.0) for s in stamps)
        if total <= 0 or not any(s in self.total for s in stamps):
            return None
        return min(sum(self.bad.get(s, 0.0) for s in stamps) / total, 1.0)


def _points(series: list[Series]) -> dict[float, float]:
    return {stamp: value for s in series[:1] for stamp, value in s.points if math.isfinite(value)}


def read_rates(
    slo: Slo, reader: RangeReader, start: datetime, end: datetime, step: timedelta
) -> Rates:
    indicator = slo.indicator
    seconds = rate_seconds(slo)
    # Look back far enough that the 6-hour window has data from the first step on.
    lookback = start - timedelta(hours=6)
    total = reader.range(
        promql.summed_rate(indicator.total, seconds), lookback, end, step, slos=[slo.key]
    )
    bad = reader.range(
        promql.bad_rate(
                indicator.total, indicator.bad, indicator.good, seconds,
                good_may_be_absent=not isinstance(indicator, LatencyIndicator),
            ),
        lookback, end, step, slos=[slo.key],
    )  # fmt: skip
    return Rates(bad=_points(bad), total=_points(total))


def read_p95(
    slo: Slo, reader: RangeReader, start: datetime, end: datetime, step: timedelta
) -> dict[float, float]:
    assert isinstance(slo.indicator, LatencyIndicator)
    buckets = slo.indicator.histogram.with_metric(f"{slo.indicator.histogram.metric}_bucket")
    expr = promql.quantile(buckets, P95, rate_seconds(slo))
    return _points(reader.range(expr, start, end, step, slos=[slo.key]))


def _burning(slo: Slo, rates: Rates, stamp: float, step: float) -> bool:
    for pair in PAGE_PAIRS:
        if not burn.can_fire(slo, pair):
            continue
        limit = float(burn.threshold(slo, pair))
        long = rates.ratio(stamp, pair.long_seconds, step)
        short = rates.ratio(stamp, pair.short_seconds, step)
        if long is not None and short is not None and long > limit and short > limit:
            return True
    return False


@dataclass(frozen=True)
class Replayed:
    """An incident the policy would have declared."""

    incident: Incident
    peak_severity: str
    end: datetime | None


def backtest(
    slos: Sequence[Slo],
    reader: RangeReader,
    policy: Policy,
    start: datetime,
    end: datetime,
    step: timedelta = timedelta(minutes=1),
) -> list[Replayed]:
    """Every incident the policy would have declared between ``start`` and ``end``."""
    seconds = step.total_seconds()
    by_service: dict[str, list[Slo]] = defaultdict(list)
    for slo in slos:
        by_service[slo.service].append(slo)
    replayed: list[Incident] = []
    counter = 0

    def new_id() -> str:
        nonlocal counter
        counter += 1
        return f"BT-{counter:04d}"

    for service, service_slos in sorted(by_service.items()):
        rates = {slo.key: read_rates(slo, reader, start, end, step) for slo in service_slos}
        latency = [s for s in service_slos if isinstance(s.indicator, LatencyIndicator)]
        p95 = {slo.key: read_p95(slo, reader, start, end, step) for slo in latency}
        held: Held = {}
        open_incidents: dict[Cause, Incident] = {}
        stamp = start.timestamp()
        while stamp <= end.timestamp():
            signals = _signals(service_slos, rates, p95, stamp, seconds)
            held, changed, _ = decide(policy, service, signals, held, open_incidents, new_id)
            for incident in changed:
                if incident.open:
                    open_incidents[incident.cause] = incident
                else:
                    open_incidents.pop(incident.cause, None)
                    replayed.append(incident)
            stamp += seconds
        replayed.extend(open_incidents.values())
    replayed.sort(key=lambda i: (i.detected_at, i.service))
    return [Replayed(i, i.severity.value, i.resolved_at) for i in replayed]


def _signals(
    slos: Sequence[Slo],
    rates: dict[str, Rates],
    p95: dict[str, dict[float, float]],
    stamp: float,
    step: float,
) -> Signals:
    ratios = [
        rates[s.key].ratio(stamp, promql.SLICE_SECONDS, step)
        for s in slos
        if not isinstance(s.indicator, LatencyIndicator)
    ]
    measured = [r for r in ratios if r is not None]
    latency = next((s for s in slos if isinstance(s.indicator, LatencyIndicator)), None)
    p95_value = None if latency is None else p95[latency.key].get(stamp)
    threshold: Decimal | None = None
    if latency is not None and isinstance(latency.indicator, LatencyIndicator):
        threshold = latency.indicator.threshold_seconds
    return Signals(
        at=datetime.fromtimestamp(stamp, UTC),
        error_ratio=max(measured) if measured else None,
        p95_seconds=p95_value,
        latency_threshold=threshold,
        burning=any(
            _burning(s, rates[s.key], stamp, step)
            for s in slos
            if not isinstance(s.indicator, LatencyIndicator)
        ),
        latency_burning=any(
            _burning(s, rates[s.key], stamp, step)
            for s in slos
            if isinstance(s.indicator, LatencyIndicator)
        ),
    )
