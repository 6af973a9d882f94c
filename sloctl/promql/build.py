"""The one place PromQL is written.

The evaluator, the rule generator and the dashboard generator all build their expressions
here, so reports, alerts and dashboards compute the same numbers from one definition.
Every label value goes through :func:`sloctl.core.selector.quote` or a regex escape; nothing is
pasted into a query as raw text.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from sloctl.core.conventions import (
    BAD_EVENTS_RATE,
    BUCKET_LABEL,
    EVENTS_RATE,
    OBJECTIVE,
    SERVICE_LABEL,
    SLO_LABEL,
    error_ratio_name,
)
from sloctl.core.durations import format_duration
from sloctl.core.selector import Matcher, Selector, quote, regex_escape

GROUPING_KEYWORDS = frozenset(
    {
        "nan",
        "inf",
        "by",
        "without",
        "on",
        "ignoring",
        "group_left",
        "group_right",
        "bool",
        "offset",
        "and",
        "or",
        "unless",
        "atan2",
    }
)
"""Label names PromQL 2.x cannot take unquoted in a ``by (...)`` clause; never split on them."""


def range_text(seconds: int) -> str:
    return f"[{format_duration(seconds)}]"


def decimal_text(value: Decimal) -> str:
    """A decimal written exactly, never in a binary float's approximation."""
    return format(value.normalize(), "f")


def shared_split_labels(*selectors: Selector | None) -> tuple[str, ...]:
    """Labels pinned with ``=`` to the same value in every given selector, sorted.

    These are the labels an SLO's series can be told apart by when its query is shared with
    other SLOs: ``service`` for the conventional layout.
    """
    present = [s for s in selectors if s is not None]
    if not present:
        return ()
    common = dict(present[0].equal_values())
    for selector in present[1:]:
        values = selector.equal_values()
        common = {k: v for k, v in common.items() if values.get(k) == v}
    return tuple(sorted(k for k in common if k.lower() not in GROUPING_KEYWORDS))


@dataclass(frozen=True, order=True)
class Shape:
    """A family of selectors that differ only in the values of their split labels."""

    metric: str
    fixed: tuple[Matcher, ...]
    split: tuple[str, ...]

    @classmethod
    def of(cls, selector: Selector, split: Sequence[str]) -> tuple[Shape, tuple[str, ...]]:
        """The shape of ``selector`` and its values for the split labels."""
        values = selector.equal_values()
        fixed = tuple(
            sorted(m for m in selector.matchers if not (m.op == "=" and m.label in split))
        )
        return cls(selector.metric, fixed, tuple(split)), tuple(values[label] for label in split)

    def selector(self, keys: Iterable[tuple[str, ...]]) -> Selector:
        """One selector covering every combination of ``keys``."""
        keys = sorted(set(keys))
        matchers = list(self.fixed)
        for index, label in enumerate(self.split):
            values = sorted({key[index] for key in keys})
            if len(values) == 1:
                matchers.append(Matcher(label, "=", values[0]))
            else:
                matchers.append(Matcher(label, "=~", "|".join(regex_escape(v) for v in values)))
        return Selector(self.metric, tuple(matchers))


def by_clause(split: Sequence[str]) -> str:
    return f"by ({', '.join(split)})"


def increase(selector: Selector, seconds: int) -> str:
    return f"increase({selector.render()}{range_text(seconds)})"


def summed_increase(selector: Selector, split: Sequence[str], seconds: int) -> str:
    """Per-series increase first (so counter resets are handled), then the sum per split key."""
    return f"sum {by_clause(split)} ({increase(selector, seconds)})"


def millis_text(millis: int) -> str:
    """A duration given in milliseconds, in the largest units Prometheus reads exactly."""
    if millis % 1000 == 0:
        return format_duration(millis // 1000)
    return f"{millis}ms"


def counted(
    selector: Selector,
    split: Sequence[str],
    millis: int,
    *,
    offset_millis: int = 0,
    lookback_seconds: int | None = None,
) -> str:
    """Events per split key in the piece (t - millis, t], t the evaluation time minus the offset,
    written so that the counts of adjacent pieces add up to exactly the count of their union.

    ``increase()`` extrapolates at both edges of its range, so the increases of adjacent ranges
    neither add up to the increase of the whole nor to the counter's real growth. Here each
    series counts from its last sample at or before the piece's start to its last sample at or
    before its end: consecutive pieces share that boundary value, so every increment between two
    samples falls in exactly one piece, scrape gaps included, and nothing is extrapolated. A
    series whose counter was reset within the piece (or that has no sample near the start) is
    counted as ``increase()`` counts it, by Prometheus's own reset handling. The boundary values
    are the latest samples within ``lookback_seconds`` (Prometheus's 5-minute lookback when
    None), which is how long a scrape gap over a boundary may last.
    """
    sel = selector.render()
    piece = f"[{millis_text(millis)}]"
    at = f" offset {millis_text(offset_millis)}" if offset_millis else ""
    before = f" offset {millis_text(offset_millis + millis)}"
    if lookback_seconds is None:
        end_value, start_value = f"{sel}{at}", f"{sel}{before}"
    else:
        window = range_text(lookback_seconds)
        end_value = f"last_over_time({sel}{window}{at})"
        start_value = f"last_over_time({sel}{window}{before})"
    exact = f"({end_value} - {start_value}) >= 0 and resets({sel}{piece}{at}) == 0"
    return f"sum {by_clause(split)} ({exact} or increase({sel}{piece}{at}))"


def tagged(expr: str, **labels: str) -> str:
    """``expr`` with constant labels added, so several results can travel in one query."""
    for name, value in sorted(labels.items()):
        expr = f'label_replace({expr}, {quote(name)}, {quote(value)}, "", "")'
    return expr


def union(exprs: Iterable[str]) -> str:
    return "\nor\n".join(exprs)


def numerator_or_zero(
    numerator: Selector, total: Selector, split: Sequence[str], seconds: int
) -> str:
    """The numerator's increase, or 0 where only the total exists.

    A missing error series means no errors yet, not missing data; the total side never gets
    this fallback, so a dead exporter still reads as "no data".
    """
    return (
        f"({summed_increase(numerator, split, seconds)} "
        f"or 0 * {summed_increase(total, split, seconds)})"
    )


def slice_ratio(numerator: Selector, total: Selector, split: Sequence[str], seconds: int) -> str:
    return (
        f"{numerator_or_zero(numerator, total, split, seconds)} "
        f"/ {summed_increase(total, split, seconds)}"
    )


def bad_slice(
    numerator: Selector,
    total: Selector,
    split: Sequence[str],
    slice_seconds: int,
    *,
    numerator_is_good: bool,
    slice_target: Decimal,
) -> str:
    """1 for a slice whose good ratio misses ``slice_target``, 0 for a good one.

    A slice with no traffic has no ratio and no value: it is neither good nor bad.
    """
    ratio = slice_ratio(numerator, total, split, slice_seconds)
    if numerator_is_good:
        return f"({ratio} < bool {decimal_text(slice_target)})"
    return f"({ratio} > bool {decimal_text(1 - slice_target)})"


def subquery(expr: str, window_seconds: int, step_seconds: int) -> str:
    """``expr`` evaluated every ``step_seconds`` over the window.

    The range is one second short of the window so that a step-aligned evaluation counts
    exactly window / step points whether the Prometheus version treats the range's start as
    inclusive (2.x) or exclusive (3.x).
    """
    return f"({expr})[{window_seconds - 1}s:{format_duration(step_seconds)}]"


def error_ratio(bad: str, total: str) -> str:
    return f"({bad}) / ({total})"


# Recording rules: per-SLO series under shared names (sloctl.core.conventions), told apart by
# their service and slo labels.

SLICE_SECONDS = 300


def slo_selector(metric: str, service: str, slo: str) -> Selector:
    """The recorded series of one SLO."""
    return Selector(metric, (Matcher(SERVICE_LABEL, "=", service), Matcher(SLO_LABEL, "=", slo)))


def summed_rate(selector: Selector, seconds: int) -> str:
    """Per-series rate first (counter resets are handled there), then the sum."""
    return f"sum(rate({selector.render()}{range_text(seconds)}))"


def bad_rate(
    total: Selector,
    bad: Selector | None,
    good: Selector | None,
    seconds: int,
    *,
    good_may_be_absent: bool = True,
) -> str:
    """Bad events per second: the bad side, or total minus good.

    A missing bad series is zero while the total exists; a missing good series means nothing
    was good, unless ``good_may_be_absent`` is False (a missing histogram bucket is a wrong
    threshold, not a total outage: then there is no value). The total side never gets a
    fallback, so a dead exporter stays "no data".
    """
    total_rate = summed_rate(total, seconds)
    if bad is not None:
        return f"({summed_rate(bad, seconds)} or 0 * {total_rate})"
    if good is None:
        raise ValueError("a ratio indicator needs a bad or a good selector")
    if not good_may_be_absent:
        return f"{total_rate} - {summed_rate(good, seconds)}"
    return f"{total_rate} - ({summed_rate(good, seconds)} or 0 * {total_rate})"


def window_ratio(service: str, slo: str, seconds: int) -> str:
    """The error ratio over a window from the 5-minute rates: traffic-weighted and cheap.

    Summing the recorded rates over the window and dividing weighs every slice by its traffic,
    unlike an average of short ratios, and reads one sample per evaluation instead of every
    raw sample in the window. Without traffic there is no ratio (never NaN).
    """
    window = range_text(seconds)
    bad = slo_selector(BAD_EVENTS_RATE, service, slo).render()
    total = slo_selector(EVENTS_RATE, service, slo).render()
    return f"sum_over_time({bad}{window}) / (sum_over_time({total}{window}) > 0)"


def short_ratio(service: str, slo: str) -> str:
    bad = slo_selector(BAD_EVENTS_RATE, service, slo).render()
    total = slo_selector(EVENTS_RATE, service, slo).render()
    return f"{bad} / ({total} > 0)"


def quantile(
    histogram_buckets: Selector, q: Decimal, seconds: int, split: Sequence[str] = ()
) -> str:
    """The q-quantile of a histogram over a window, summed over every series but ``le`` (and
    the ``split`` labels, one quantile per combination of them)."""
    rate = f"rate({histogram_buckets.render()}{range_text(seconds)})"
    return (
        f"histogram_quantile({decimal_text(q)}, sum {by_clause([*split, BUCKET_LABEL])} ({rate}))"
    )


def constant(value: Decimal) -> str:
    return f"vector({decimal_text(value)})"


def budget_remaining(service: str, slo: str, window_seconds: int, error_budget: Decimal) -> str:
    """The share of the error budget left over the window: 1 - error ratio / (1 - target)."""
    ratio = slo_selector(error_ratio_name(window_seconds), service, slo).render()
    return f"1 - {ratio} / {decimal_text(error_budget)}"


def burn_rate(ratio_metric: str, labels: Sequence[str] = (SERVICE_LABEL, SLO_LABEL)) -> str:
    """Burn rate of every SLO at once: its error ratio over its recorded error budget."""
    on = ", ".join(labels)
    return f"{ratio_metric} / on ({on}) (1 - {OBJECTIVE})"


def above(expr: str, threshold: Decimal) -> str:
    return f"{expr} > {decimal_text(threshold)}"
