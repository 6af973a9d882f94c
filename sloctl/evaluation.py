"""One evaluation: every SLO's counts read at pinned times and judged by the budget math."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Protocol

from sloctl import promql
from sloctl.budget import (
    Budget,
    Counts,
    assess,
    budget_minutes,
    burn_rate,
    error_ratio,
    minutes,
)
from sloctl.errors import PrometheusError
from sloctl.plan import CountRequest, Readings, Sample, counts_from, plan, split_answer
from sloctl.promql import Shape
from sloctl.slo import Slo
from sloctl.window import Month, Span, WindowKind, span_for

BURN_WINDOWS: tuple[tuple[str, timedelta], ...] = (
    ("1h", timedelta(hours=1)),
    ("6h", timedelta(hours=6)),
)
CURRENT_BURN = "1h"
COVERAGE_POINTS = 720
"""How finely coverage is sampled over a window: 720 points is an hour per point over 30 days."""
COVERAGE_MIN_STEP = 60


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
    coverage: float | None = None
    """Share of the measured window in which the SLO's total series existed (None: not
    asked). Below 1 the budget is judged on part of the window only."""

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
    """Every SLO that could be read (all of them unless ``failed`` says otherwise)."""
    queries: int
    failed: Mapping[str, PrometheusError] = field(default_factory=dict)
    """SLO keys whose query failed, with the error; only when evaluated with ``isolate``."""


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
    isolate: bool = False,
    coverage: bool = False,
) -> Evaluation:
    """Read and judge every SLO at ``at`` (or over ``month``).

    A failed query raises, unless ``isolate``: then only the SLOs of that query are left out
    (in ``failed``, with the error) and every other query is still asked. With ``coverage``,
    each result also says which share of its window had data (one more query per metric
    family of totals; where that query fails, the coverage is unknown).
    """
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
    failed: dict[str, PrometheusError] = {}
    batches = plan(requests)
    for batch in batches:
        try:
            samples = reader.instant(batch.expr, batch.time, slos=batch.slo_keys)
        except PrometheusError as exc:
            if not isolate:
                raise
            failed.update(dict.fromkeys(batch.slo_keys, exc))
            continue
        split_answer(batch, samples, into=readings)
    covered: dict[str, float] = {}
    queries = len(batches)
    unknown: set[str] = set()
    if coverage:
        for query in coverage_queries(slos, spans):
            queries += 1
            try:
                samples = reader.instant(query.expr, query.time, slos=query.slo_keys)
            except PrometheusError:
                # Coverage only qualifies a judgement: an API that refuses the subquery
                # leaves it unknown, never the budgets unread.
                unknown.update(query.slo_keys)
                continue
            covered.update(query.shares(samples))
    results = tuple(
        replace(
            _judge(slo, spans[slo.key], readings),
            coverage=None if not coverage or slo.key in unknown else covered.get(slo.key, 0.0),
        )
        for slo in slos
        if slo.key not in failed
    )
    return Evaluation(at=at, results=results, queries=queries, failed=failed)


@dataclass(frozen=True)
class CoverageQuery:
    """For SLOs whose totals share one shape and window: at how many evenly spaced points of
    the window their total series existed."""

    expr: str
    time: datetime
    split: tuple[str, ...]
    members: Mapping[tuple[str, ...], tuple[str, ...]]
    points: int

    @property
    def slo_keys(self) -> tuple[str, ...]:
        return tuple(sorted({key for keys in self.members.values() for key in keys}))

    def shares(self, samples: Sequence[Sample]) -> dict[str, float]:
        found: dict[str, float] = {}
        for sample in samples:
            key = tuple(sample.labels.get(label, "") for label in self.split)
            if math.isfinite(sample.value):
                for slo_key in self.members.get(key, ()):
                    found[slo_key] = min(1.0, max(0.0, sample.value / self.points))
        return found


def coverage_queries(slos: Sequence[Slo], spans: Mapping[str, Span]) -> list[CoverageQuery]:
    """One query per shape of total series, window and time: ``count_over_time`` of the
    series' presence, sampled at :data:`COVERAGE_POINTS` points of the window."""
    groups: dict[tuple[Shape, int, datetime], dict[tuple[str, ...], list[str]]] = {}
    for slo in slos:
        span = spans[slo.key]
        total = slo.indicator.total
        shape, key = Shape.of(total, promql.shared_split_labels(total))
        time = query_time(slo, span.end)
        groups.setdefault((shape, span.measured_seconds, time), {}).setdefault(key, []).append(
            slo.key
        )
    queries = []
    for (shape, seconds, time), members in sorted(groups.items()):
        step = max(COVERAGE_MIN_STEP, seconds // COVERAGE_POINTS)
        present = f"group {promql.by_clause(shape.split)} ({shape.selector(members).render()})"
        expr = f"count_over_time({promql.subquery(present, seconds, step)})"
        queries.append(
            CoverageQuery(
                expr,
                time,
                shape.split,
                {key: tuple(sorted(keys)) for key, keys in sorted(members.items())},
                max(1, seconds // step),
            )
        )
    return queries


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
