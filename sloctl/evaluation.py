"""One evaluation: every SLO's counts read at pinned times and judged by the budget math."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from sloctl.budget import (
    Budget,
    Counts,
    assess,
    budget_minutes,
    burn_rate,
    error_ratio,
    minutes,
)
from sloctl.plan import CountRequest, Readings, Sample, counts_from, plan, split_answer
from sloctl.slo import Slo
from sloctl.window import Month, Span, WindowKind, span_for

BURN_WINDOWS: tuple[tuple[str, timedelta], ...] = (
    ("1h", timedelta(hours=1)),
    ("6h", timedelta(hours=6)),
)
CURRENT_BURN = "1h"


class InstantReader(Protocol):
    def instant(self, expr: str, at: datetime, *, slos: Sequence[str] = ()) -> list[Sample]: ...


@dataclass(frozen=True)
class SloResult:
    """One SLO judged over one span."""

    slo: Slo
    span: Span
    counts: Counts | None
    burn_counts: dict[str, Counts | None]
    budget: Budget
    note: str = ""

    @property
    def burn_rates(self) -> dict[str, float | None]:
        rates: dict[str, float | None] = {
            name: burn_rate(error_ratio(counts), self.slo.error_budget)
            for name, counts in self.burn_counts.items()
        }
        rates["window"] = self.budget.burn_rate
        return rates


@dataclass(frozen=True)
class Evaluation:
    at: datetime
    results: tuple[SloResult, ...]
    queries: int


def query_time(slo: Slo, end: datetime) -> datetime:
    """When to evaluate ``slo``'s queries: the span's end, or for timeslices the end of the
    slice that holds it.

    Prometheus aligns subquery steps to multiples of the step, so evaluating at ``end`` would
    leave the slice in progress out; its end judges it on the data so far instead.
    """
    if slo.timeslices is None:
        return end
    step = slo.timeslices.slice_seconds
    seconds = math.ceil(end.timestamp() / step) * step
    return datetime.fromtimestamp(seconds, UTC)


def evaluate(
    slos: Sequence[Slo],
    reader: InstantReader,
    at: datetime,
    *,
    kind: WindowKind | None = None,
    month: Month | None = None,
) -> Evaluation:
    """Read and judge every SLO at ``at`` (or over ``month``)."""
    spans = {slo.key: span_for(slo, at, kind=kind, month=month) for slo in slos}
    requests = [
        CountRequest(
            slo=slo,
            time=query_time(slo, spans[slo.key].end),
            windows=(
                spans[slo.key].measured_seconds,
                *(int(length.total_seconds()) for _, length in BURN_WINDOWS),
            ),
        )
        for slo in slos
    ]
    readings: Readings = {}
    batches = plan(requests)
    for batch in batches:
        samples = reader.instant(batch.expr, batch.time, slos=batch.slo_keys)
        split_answer(batch, samples, into=readings)
    results = tuple(_judge(slo, spans[slo.key], readings) for slo in slos)
    return Evaluation(at=at, results=results, queries=len(batches))


def _judge(slo: Slo, span: Span, readings: Readings) -> SloResult:
    counts, note = counts_from(
        slo, readings.get((slo.key, span.measured_seconds)), span.measured_seconds
    )
    burn_counts = {
        name: counts_from(slo, readings.get((slo.key, seconds)), seconds)[0]
        for name, seconds in ((n, int(length.total_seconds())) for n, length in BURN_WINDOWS)
    }
    slice_length = (
        None if slo.timeslices is None else timedelta(seconds=slo.timeslices.slice_seconds)
    )
    budget = assess(
        error_budget=slo.error_budget,
        window_length=span.length,
        measured=span.measured,
        time_left=span.left if span.kind is WindowKind.CALENDAR else None,
        counts=counts,
        current=burn_counts[CURRENT_BURN],
        slice_length=slice_length,
    )
    return SloResult(slo, span, counts, burn_counts, budget, note)


def budget_spent(
    slos: Sequence[Slo], reader: InstantReader, start: datetime, end: datetime
) -> dict[str, float | None]:
    """Share of each SLO's budget (over its own window) spent between ``start`` and ``end``.

    Minutes of full outage the interval cost, over the budget minutes of the SLO's window, in
    percent; None where there was no traffic to judge.
    """
    seconds = max(1, int((end - start).total_seconds()))
    requests = [CountRequest(slo=slo, time=end, windows=(seconds,)) for slo in slos]
    readings: Readings = {}
    for batch in plan(requests):
        samples = reader.instant(batch.expr, batch.time, slos=batch.slo_keys)
        split_answer(batch, samples, into=readings)
    spent: dict[str, float | None] = {}
    for slo in slos:
        counts, _ = counts_from(slo, readings.get((slo.key, seconds)), seconds)
        ratio = error_ratio(counts)
        if ratio is None:
            spent[slo.key] = None
            continue
        budget = budget_minutes(slo.error_budget, slo.rolling_length())
        spent[slo.key] = ratio * float(minutes(end - start)) / float(budget) * 100
    return spent
