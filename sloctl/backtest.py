"""``sloctl backtest``: replay the severity policy over past Prometheus data.

Reads each SLO's 5-minute event rates (and p95 for latency SLOs) as range queries, rebuilds
the signals the daemon would have seen at every step, and feeds them to the same
:func:`sloctl.engine.decide` the daemon uses. Nothing is stored and nobody is notified.
"""

from __future__ import annotations

import math
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
from sloctl.rules import P95, by_service, rate_seconds
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


class Rates:
    """Per-step bad and total event rates of one SLO, with running sums for window queries.

    Steps where Prometheus had nothing count as zero traffic; a window with none is no data.
    """

    def __init__(
        self, bad: dict[float, float], total: dict[float, float], first: float, step: float
    ) -> None:
        self.first = first
        self.step = step
        last = max([first, *total, *bad])
        size = round((last - first) / step) + 1
        self._bad = [0.0] * (size + 1)
        self._total = [0.0] * (size + 1)
        for index in range(size):
            stamp = first + index * step
            self._bad[index + 1] = self._bad[index] + bad.get(stamp, 0.0)
            self._total[index + 1] = self._total[index] + total.get(stamp, 0.0)

    def ratio(self, stamp: float, seconds: int) -> float | None:
        """Traffic-weighted error ratio over the ``seconds`` up to ``stamp``."""
        end = round((stamp - self.first) / self.step) + 1
        end = min(max(end, 0), len(self._total) - 1)
        start = max(0, end - max(1, int(seconds // self.step)))
        total = self._total[end] - self._total[start]
        if total <= 0:
            return None
        return min((self._bad[end] - self._bad[start]) / total, 1.0)


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
    return Rates(_points(bad), _points(total), lookback.timestamp(), step.total_seconds())


def read_p95(
    slo: Slo, reader: RangeReader, start: datetime, end: datetime, step: timedelta
) -> dict[float, float]:
    assert isinstance(slo.indicator, LatencyIndicator)
    buckets = slo.indicator.histogram.with_metric(f"{slo.indicator.histogram.metric}_bucket")
    expr = promql.quantile(buckets, P95, rate_seconds(slo))
    return _points(reader.range(expr, start, end, step, slos=[slo.key]))


def _burning(slo: Slo, rates: Rates, stamp: float) -> bool:
    for pair in PAGE_PAIRS:
        if not burn.can_fire(slo, pair):
            continue
        limit = float(burn.threshold(slo, pair))
        long = rates.ratio(stamp, pair.long_seconds)
        short = rates.ratio(stamp, pair.short_seconds)
        if long is not None and short is not None and long > limit and short > limit:
            return True
    return False


@dataclass(frozen=True)
class Replayed:
    """An incident the policy would have declared."""

    incident: Incident
    peak_severity: str
    end: datetime | None


def signals_at(service_slos: Sequence[Slo], reader: RangeReader, at: datetime) -> Signals:
    """What the policy sees for one service at ``at`` (a whole minute): the same reads and
    the same arithmetic as a backtest step, so live decisions and rehearsals agree."""
    step = timedelta(minutes=1)
    rates = {slo.key: read_rates(slo, reader, at, at, step) for slo in service_slos}
    latency = [s for s in service_slos if isinstance(s.indicator, LatencyIndicator)]
    p95 = {slo.key: read_p95(slo, reader, at, at, step) for slo in latency}
    return _signals(service_slos, rates, p95, at.timestamp())


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
    replayed: list[Incident] = []
    counter = 0

    def new_id() -> str:
        nonlocal counter
        counter += 1
        return f"BT-{counter:04d}"

    for service, service_slos in by_service(slos).items():
        rates = {slo.key: read_rates(slo, reader, start, end, step) for slo in service_slos}
        latency = [s for s in service_slos if isinstance(s.indicator, LatencyIndicator)]
        p95 = {slo.key: read_p95(slo, reader, start, end, step) for slo in latency}
        held: Held = {}
        open_incidents: dict[Cause, Incident] = {}
        stamp = start.timestamp()
        while stamp <= end.timestamp():
            signals = _signals(service_slos, rates, p95, stamp)
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
) -> Signals:
    ratios = [
        rates[s.key].ratio(stamp, promql.SLICE_SECONDS)
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
            _burning(s, rates[s.key], stamp)
            for s in slos
            if not isinstance(s.indicator, LatencyIndicator)
        ),
        latency_burning=any(
            _burning(s, rates[s.key], stamp)
            for s in slos
            if isinstance(s.indicator, LatencyIndicator)
        ),
    )
