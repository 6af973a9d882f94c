"""promtool unit tests for the generated rules, generated beside them.

For every service the tests feed synthetic counters for all of its SLOs and check every
alert at chosen times: silent on baseline traffic, across a counter reset, with missed
scrapes (``_``) and after the series go stale (where only the no-data alert may fire); and,
for each SLO, scenarios with a steady error ratio or slow requests in which each alert must
be firing once its condition has held for its ``for`` duration, and not before.

Expectations are computed from the scenario (a steady bad ratio, a p95 from the test's own
buckets), not copied from a run of Prometheus.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sloctl.core import conventions
from sloctl.core.conventions import MAINTENANCE_METRIC
from sloctl.core.durations import parse_duration
from sloctl.core.selector import Matcher, Selector, parse_selector, quote
from sloctl.core.slo import LatencyIndicator, RatioIndicator, Slo, by_service
from sloctl.errors import UnsupportedSelectorError
from sloctl.generate.rules import (
    SLI_WINDOWS,
    Alert,
    alerts,
    dump,
    dump_item,
    file_stem,
    no_data_alert,
    ratio_windows,
)
from sloctl.incidents.conditions import (
    Bound,
    ConditionSpec,
    Measure,
    bounds,
    percent,
    service_conditions,
)
from sloctl.incidents.policy import Policy
from sloctl.promql import build as promql
from sloctl.promql.build import decimal_text

EVENTS_PER_MINUTE = 1_000_000
MINUTES = 100
RESET_AT = 60
GAP = (60, 70)
STALE_AT = 30
CHECK_TIMES = (5, 15, 30, 45, 75)
MARGIN = 3
CANDIDATES = (
    "500",
    "503",
    "200",
    "404",
    "0",
    "1",
    "true",
    "false",
    "error",
    "ok",
    "GET",
    "POST",
    "success",
    "failure",
    "x",
)


def _satisfies(value: str | None, matcher: Matcher) -> bool:
    text = value or ""
    if matcher.op == "=":
        return text == matcher.value
    if matcher.op == "!=":
        return text != matcher.value
    found = re.fullmatch(matcher.value, text) is not None
    return found if matcher.op == "=~" else not found


def matches(labels: dict[str, str], selector: Selector) -> bool:
    return all(_satisfies(labels.get(m.label), m) for m in selector.matchers)


def _regex_guesses(pattern: str) -> list[str]:
    """Plain strings a simple regex may match: ``/(home|cart)`` gives ``/home`` and ``cart``."""
    flat = re.sub(r"[()^$]", "", pattern)
    return [piece.replace("\\", "") for piece in flat.split("|") if piece]


def _pick(label: str, wanted: Sequence[Matcher], unwanted: Matcher | None) -> str:
    guesses = [g for m in wanted if m.op == "=~" for g in _regex_guesses(m.value)]
    for value in (*(m.value for m in wanted if m.op == "="), *CANDIDATES, *guesses):
        if all(_satisfies(value, m) for m in wanted) and (
            unwanted is None or not _satisfies(value, unwanted)
        ):
            return value
    raise UnsupportedSelectorError(f"no example value for label {label!r}")


def example(selector: Selector, base: dict[str, str] | None = None) -> dict[str, str]:
    """Labels of a series that ``selector`` selects, keeping ``base`` where it agrees."""
    labels = dict(base or {})
    for label in sorted({m.label for m in selector.matchers}):
        wanted = [m for m in selector.matchers if m.label == label]
        if label in labels and all(_satisfies(labels[label], m) for m in wanted):
            continue
        labels[label] = _pick(label, wanted, None)
    labels = {k: v for k, v in labels.items() if v}
    if not matches(labels, selector):
        raise UnsupportedSelectorError(f"cannot build a series for {selector.render()}")
    return labels


def counter_example(total: Selector, part: Selector) -> tuple[dict[str, str], dict[str, str]]:
    """Two series of ``total``: one inside ``part`` and one outside it."""
    inside = example(part, example(total))
    if not matches(inside, total):
        raise UnsupportedSelectorError(f"{part.render()} is not part of {total.render()}")
    for matcher in part.matchers:
        constraints = [m for m in total.matchers if m.label == matcher.label]
        try:
            value = _pick(matcher.label, constraints, matcher)
        except UnsupportedSelectorError:
            continue
        outside = {**inside, matcher.label: value}
        outside = {k: v for k, v in outside.items() if v}
        if matches(outside, total) and not matches(outside, part):
            return inside, outside
    raise UnsupportedSelectorError(f"no series of {total.render()} outside {part.render()}")


def series_text(metric: str, labels: dict[str, str]) -> str:
    inner = ",".join(f"{k}={quote(v)}" for k, v in sorted(labels.items()))
    return f"{metric}{{{inner}}}"


@dataclass(frozen=True)
class Load:
    """A share of bad events and, for latency, which bucket the slow ones land in."""

    bad_share: Decimal
    slow_bucket: str = "top"

    def bad_per_minute(self) -> int:
        return int(self.bad_share * EVENTS_PER_MINUTE)


@dataclass(frozen=True)
class Schedule:
    """Loads from given minutes on, and how the scrapes went: steady, reset, gap or stale."""

    phases: tuple[tuple[int, Load], ...]
    minutes: int = MINUTES
    shape: str = "steady"

    def load_at(self, minute: int) -> Load:
        current = self.phases[0][1]
        for start, load in self.phases:
            if minute >= start:
                current = load
        return current

    def values(self, per_minute: Callable[[Load], int]) -> str:
        """Counter samples in promtool's expanding notation, runs of one increment compressed."""
        tokens: list[tuple[str, int, int]] = []  # (kind, value, increment)
        value = 0
        for minute in range(self.minutes + 1):
            increment = per_minute(self.load_at(minute)) if minute else 0
            value = increment if self.shape == "reset" and minute == RESET_AT else value + increment
            if self.shape == "gap" and GAP[0] <= minute < GAP[1]:
                tokens.append(("_", 0, 0))
            elif self.shape == "stale" and minute >= STALE_AT:
                tokens.append(("stale", 0, 0))
                break
            else:
                tokens.append(("v", value, increment))
        return _compress(tokens)


def _compress(tokens: Sequence[tuple[str, int, int]]) -> str:
    parts: list[str] = []
    index = 0
    while index < len(tokens):
        kind, value, _ = tokens[index]
        if kind != "v":
            run = index
            while run + 1 < len(tokens) and tokens[run + 1][0] == kind:
                run += 1
            parts.append(kind if run == index else f"{kind}x{run - index + 1}")
            index = run + 1
            continue
        run = index
        step = tokens[index + 1][1] - value if index + 1 < len(tokens) else 0
        while (
            run + 1 < len(tokens)
            and tokens[run + 1][0] == "v"
            and tokens[run + 1][1] - tokens[run][1] == step
        ):
            run += 1
        parts.append(f"{value}+{step}x{run - index}" if run > index else str(value))
        index = run + 1
    return " ".join(parts)


def latency_bounds(indicator: LatencyIndicator, limits: Sequence[Decimal]) -> tuple[Decimal, ...]:
    """Bucket bounds for the test histogram: the SLO's threshold, every p95 limit of its
    conditions, and a top bound twice the highest."""
    found = {indicator.threshold_seconds, *limits}
    return tuple(sorted({*found, max(found) * 2}))


def p95_limits(found: Sequence[Bound]) -> tuple[Decimal, ...]:
    return tuple(sorted({row.limit for bound in found if bound.on_p95 for row in bound.rows}))


def share_limits(found: Sequence[Bound]) -> tuple[Decimal, ...]:
    """Every limit on the SLO's bad share, from every window and pair."""
    return tuple(sorted({row.limit for bound in found if not bound.on_p95 for row in bound.rows}))


def p95(bounds: Sequence[Decimal], cumulative: Sequence[Decimal]) -> Decimal:
    """histogram_quantile(0.95) as Prometheus interpolates it, for the test's buckets."""
    rank = Decimal("0.95") * cumulative[-1]
    lower, below = Decimal(0), Decimal(0)
    for bound, count in zip(bounds, cumulative, strict=True):
        if count >= rank:
            if count == below or bound.is_infinite():
                return lower if bound.is_infinite() else bound
            return lower + (bound - lower) * (rank - below) / (count - below)
        lower, below = bound, count
    return bounds[-1]


def quiet(slo: Slo, found: Sequence[Bound]) -> Load:
    """Baseline traffic: a tenth of the budget, or less if an alert threshold is closer."""
    return Load(min([slo.error_budget / 10, *(t / 5 for t in share_limits(found))]))


def _slow_index(bounds: Sequence[Decimal], load: Load) -> int:
    return len(bounds) - 1 if load.slow_bucket == "top" else 1


def input_series(slo: Slo, schedule: Schedule, found: Sequence[Bound]) -> list[dict[str, str]]:
    indicator = slo.indicator

    def bad(load: Load) -> int:
        return load.bad_per_minute()

    def good(load: Load) -> int:
        return EVENTS_PER_MINUTE - load.bad_per_minute()

    if isinstance(indicator, RatioIndicator):
        part = indicator.bad if indicator.bad is not None else indicator.good
        if part is None:
            raise ValueError(f"SLO {slo.key}: a ratio indicator needs a bad or a good selector")
        part_count = bad if indicator.bad is not None else good
        if part.metric != indicator.total.metric:
            # Separate counters: the total counts everything, the other one its part.
            return [
                {
                    "series": series_text(indicator.total.metric, example(indicator.total)),
                    "values": schedule.values(_all_events),
                },
                {
                    "series": series_text(part.metric, example(part)),
                    "values": schedule.values(part_count),
                },
            ]
        inside, outside = counter_example(indicator.total, part)
        inside_count, outside_count = (bad, good) if indicator.bad is not None else (good, bad)
        return [
            {
                "series": series_text(indicator.total.metric, inside),
                "values": schedule.values(inside_count),
            },
            {
                "series": series_text(indicator.total.metric, outside),
                "values": schedule.values(outside_count),
            },
        ]
    labels = example(indicator.histogram)
    bounds = latency_bounds(indicator, p95_limits(found))
    base = indicator.histogram.metric
    series = []
    for index, bound in enumerate(bounds):

        def within(load: Load, index: int = index) -> int:
            slow = load.bad_per_minute() if index >= _slow_index(bounds, load) else 0
            return good(load) + slow

        le = {**labels, conventions.BUCKET_LABEL: decimal_text(bound)}
        series.append(
            {
                "series": series_text(conventions.buckets(base), le),
                "values": schedule.values(within),
            }
        )

    series.append(
        {
            "series": series_text(
                conventions.buckets(base), {**labels, conventions.BUCKET_LABEL: "+Inf"}
            ),
            "values": schedule.values(_all_events),
        }
    )
    series.append(
        {"series": series_text(f"{base}_count", labels), "values": schedule.values(_all_events)}
    )
    return series


def _all_events(load: Load) -> int:
    return EVENTS_PER_MINUTE


def _p95_of(indicator: LatencyIndicator, load: Load, limits: Sequence[Decimal]) -> Decimal:
    bounds = latency_bounds(indicator, limits)
    bad = load.bad_per_minute()
    cumulative = [
        Decimal(EVENTS_PER_MINUTE - bad + (bad if i >= _slow_index(bounds, load) else 0))
        for i in range(len(bounds))
    ]
    return p95([*bounds, Decimal("Infinity")], [*cumulative, Decimal(EVENTS_PER_MINUTE)])


class Simulation:
    """What each alert's condition is, minute by minute, under a schedule.

    Read from the alert's condition (:class:`sloctl.incidents.conditions.Bound`), the one the rule
    was generated from. Window ratios are exact sums of the scheduled events; a condition within
    15 % of its threshold, or a p95 over a window that straddles a change of load, is
    unknown, and no expectation is written where it matters.
    """

    def __init__(self, slo: Slo, schedule: Schedule, found: Sequence[Bound]) -> None:
        self.slo = slo
        self.schedule = schedule
        self.limits = p95_limits(found)
        self.bad = [0] + [
            schedule.load_at(m).bad_per_minute() for m in range(1, schedule.minutes + 1)
        ]

    def ratio(self, minute: int, seconds: int) -> Decimal | None:
        first = max(1, minute - seconds // 60 + 1)
        if first > minute:
            return None
        bad = sum(self.bad[first : minute + 1])
        return Decimal(bad) / (EVENTS_PER_MINUTE * (minute - first + 1))

    def above(self, minute: int, seconds: int, limit: Decimal) -> bool | None:
        ratio = self.ratio(minute, seconds)
        if ratio is None:
            return None
        if abs(ratio - limit) <= limit * Decimal("0.15"):
            return None
        return ratio > limit

    def p95_above(self, minute: int, seconds: int, limit: Decimal) -> bool | None:
        first = max(1, minute - seconds // 60)
        window = {self.schedule.load_at(m) for m in range(first, minute + 1)}
        if len(window) != 1 or minute < 1:
            return None
        indicator = self.slo.indicator
        if not isinstance(indicator, LatencyIndicator):
            raise ValueError(f"SLO {self.slo.key} has no p95: it is not a latency SLO")
        value = _p95_of(indicator, window.pop(), self.limits)
        if abs(value - limit) <= limit * Decimal("0.05"):
            return None
        return value > limit

    def condition(self, alert: Alert, minute: int) -> bool | None:
        bound = alert.bound
        if bound is None:
            return False  # the no-data alert: the series are there
        rows = []
        for row in bound.rows:
            if bound.on_p95:
                rows.append(self.p95_above(minute, row.window_seconds, row.limit))
                continue
            long = self.above(minute, row.window_seconds, row.limit)
            if row.short_seconds is None:
                rows.append(long)
            else:
                rows.append(_and(long, self.above(minute, row.short_seconds, row.limit)))
        return _any(rows)

    def expectation(self, alert: Alert, minute: int) -> bool | None:
        """True: must be firing; False: must not be; None: too close to an edge to say."""
        wait = int(parse_duration(alert.duration) / 60) if alert.duration != "0s" else 0
        margin = MARGIN + (5 if _is_ticket(alert) else 0)
        held = [self.condition(alert, m) for m in range(max(0, minute - wait - margin), minute + 1)]
        if minute - wait - margin >= 1 and all(h is True for h in held):
            return True
        recent = held[-(margin + 1) :]
        if all(h is False for h in recent):
            return False
        streak = 0
        for value in reversed(held):
            if value is not True:
                break
            streak += 1
        if held and held[-1] is not None and streak < max(0, wait - margin):
            return False  # pending at most: true, but not for long enough
        return None


def _is_ticket(alert: Alert) -> bool:
    """Ticket pairs read windows of a day and more, built from rates recorded every two
    minutes: they get five more minutes of margin."""
    return alert.bound is not None and alert.bound.spec.severity is None


def _and(left: bool | None, right: bool | None) -> bool | None:
    if left is False or right is False:
        return False
    if left is None or right is None:
        return None
    return True


def _any(values: Sequence[bool | None]) -> bool | None:
    if any(v is True for v in values):
        return True
    if all(v is False for v in values):
        return False
    return None


def _expected(alert: Alert) -> dict[str, Any]:
    labels = dict(alert.labels)
    if alert.bound is None:  # the no-data alert, on absent()
        inner = alert.expr[alert.expr.index("(") + 1 : -1]
        kept = {k: v for k, v in parse_selector(inner).equal_values().items() if v}
        labels = {**kept, **labels}  # absent() drops labels matched to the empty value
    return {"exp_labels": labels, "exp_annotations": dict(alert.annotations)}


@dataclass
class Check:
    """alert_rule_test entries: for each time and alert name, the alerts expected to fire."""

    entries: dict[tuple[int, str], list[dict[str, Any]]]

    @classmethod
    def empty(cls, names: Iterable[str], times: Iterable[int]) -> Check:
        return cls({(t, n): [] for t in times for n in names})

    def fire(self, minute: int, alert: Alert) -> None:
        if (minute, alert.alert) in self.entries:
            self.entries[(minute, alert.alert)].append(_expected(alert))

    def skip(self, minute: int, name: str) -> None:
        self.entries.pop((minute, name), None)

    def as_list(self) -> list[dict[str, Any]]:
        return [
            {"eval_time": f"{minute}m", "alertname": name, "exp_alerts": expected}
            for (minute, name), expected in sorted(self.entries.items())
        ]


def scenario_check(
    slo: Slo,
    schedule: Schedule,
    names: Sequence[str],
    times: Sequence[int],
    specs: Sequence[ConditionSpec],
) -> Check:
    check = Check.empty(names, times)
    simulation = Simulation(slo, schedule, bounds(slo, specs))
    for alert in alerts(slo, specs):
        for minute in times:
            expected = simulation.expectation(alert, minute)
            if expected is None:
                check.skip(minute, alert.alert)
            elif expected:
                check.fire(minute, alert)
    return check


RECORD_CHECK_AT = 45
TOLERANCE = "1e-9"


def recorded_checks(slo: Slo, schedule: Schedule, found: Sequence[Bound]) -> list[dict[str, Any]]:
    """Under a steady load every recorded error ratio equals it, and the p95 is known exactly."""
    if len(schedule.phases) != 1:
        return []
    load = schedule.phases[0][1]
    ratio = Decimal(load.bad_per_minute()) / EVENTS_PER_MINUTE
    labels = (
        f"{{{conventions.SERVICE_LABEL}={quote(slo.service)}, "
        f"{conventions.SLO_LABEL}={quote(slo.name)}}}"
    )
    expected: list[tuple[str, Decimal]] = [
        (conventions.error_ratio_name(seconds), ratio)
        for seconds in (promql.SLICE_SECONDS, *SLI_WINDOWS, *ratio_windows(slo))
    ]
    if isinstance(slo.indicator, LatencyIndicator):
        expected.append((conventions.LATENCY_P95, _p95_of(slo.indicator, load, p95_limits(found))))
    return [
        {
            "expr": f"abs({promql.slo_selector(name, slo.service, slo.name).render()} "
            f"- {decimal_text(value.quantize(Decimal('1e-12')))}) < bool {TOLERANCE}",
            "eval_time": f"{RECORD_CHECK_AT}m",
            "exp_samples": [{"labels": labels, "value": 1}],
        }
        for name, value in expected
    ]


FAST_BURN_AFTER = 6 * 60
FAST_BURN_MINUTES = FAST_BURN_AFTER + 70


def _scenarios(slo: Slo, found: Sequence[Bound]) -> list[tuple[str, Schedule, tuple[int, ...]]]:
    """Scenarios that make each alert, and each window pair, fire on its own: for every limit
    on the error ratio, errors a fifth above it and a fifth below it."""
    budget = slo.error_budget
    baseline = quiet(slo, found)

    def burning(rate: int, bucket: str = "top") -> Load:
        return Load(min(budget * rate, Decimal(1)), bucket)

    fast = Schedule(((0, baseline), (FAST_BURN_AFTER, burning(20))), FAST_BURN_MINUTES)
    fast_times = tuple(FAST_BURN_AFTER + m for m in (10, 30, 50, 70))
    steady = CHECK_TIMES
    if isinstance(slo.indicator, LatencyIndicator):
        return [
            ("slow requests, 4x burn", Schedule(((0, burning(4)),)), steady),
            ("latency degraded", Schedule(((0, Load(Decimal("0.1"), "middle")),)), steady),
            ("fast burn after six quiet hours", fast, fast_times),
        ]
    limits = sorted(
        {
            bound.rows[0].limit
            for bound in found
            if bound.spec.measure in (Measure.ERROR_RATIO, Measure.BURN_RATE)
        },
        reverse=True,
    )
    shares = [
        share
        for limit in limits
        for share in (limit * Decimal("1.2"), limit * Decimal("0.8"))
        if share < 1
    ]
    return [
        ("total outage", Schedule(((0, Load(Decimal(1))),)), steady),
        *(
            (f"{percent(share)} errors", Schedule(((0, Load(share)),)), steady)
            for share in dict.fromkeys(shares)
        ),
        ("10x burn", Schedule(((0, burning(10)),)), steady),
        ("4x burn", Schedule(((0, burning(4)),)), steady),
        ("2x burn", Schedule(((0, burning(2)),)), steady),
        ("fast burn after six quiet hours", fast, fast_times),
    ]


NO_DATA_MINUTES = 10


def _series_labels(text: str) -> tuple[str, dict[str, str]]:
    selector = parse_selector(text)
    return selector.metric, selector.equal_values()


def selectors_of(slo: Slo) -> list[Selector]:
    indicator = slo.indicator
    found = [indicator.total]
    if isinstance(indicator, LatencyIndicator):
        found.append(indicator.histogram.with_metric(f"{indicator.histogram.metric}_bucket"))
    else:
        found += [s for s in (indicator.bad, indicator.good) if s is not None]
    return found


def selects(slo: Slo, series: str) -> bool:
    """Whether any selector of ``slo`` reads the series written as ``series``."""
    metric, labels = _series_labels(series)
    return any(s.metric == metric and matches(labels, s) for s in selectors_of(slo))


def _pinned(selector: Selector) -> list[tuple[str, str, str]]:
    """(metric, label, value) for each label ``selector`` pins to a non-empty value: a series
    it reads has every one of them."""
    return [
        (selector.metric, m.label, m.value) for m in selector.matchers if m.op == "=" and m.value
    ]


def shared_keys(series_of: dict[str, set[str]], slos: dict[str, Slo]) -> set[str]:
    """The keys of ``series_of`` with a series that the selectors of another key read too.

    What :func:`selects` says for every pair of SLOs, without looking at every pair: equal
    selectors are taken once, each under the rarest label value it pins (or its metric alone),
    and a series is matched only against the selectors filed under its metric or its labels.
    """
    readers: dict[Selector, set[str]] = {}
    for key in series_of:
        for selector in selectors_of(slos[key]):
            readers.setdefault(selector, set()).add(key)
    pins = Counter(pin for selector in readers for pin in _pinned(selector))
    filed: dict[tuple[str, str, str], list[tuple[Selector, set[str]]]] = {}
    for selector, keys in readers.items():
        pin = min(_pinned(selector), key=lambda p: (pins[p], p), default=(selector.metric, "", ""))
        filed.setdefault(pin, []).append((selector, keys))
    owners: dict[str, set[str]] = {}
    for key, texts in series_of.items():
        for text in texts:
            owners.setdefault(text, set()).add(key)
    shared: set[str] = set()
    for text, keys in owners.items():
        metric, labels = _series_labels(text)
        places = [(metric, "", ""), *((metric, k, v) for k, v in labels.items())]
        reading: set[str] = set()
        for place in places:
            for selector, keys_reading in filed.get(place, ()):
                if selector.metric == metric and matches(labels, selector):
                    reading |= keys_reading
        shared |= {key for key in keys if reading - {key}}
    return shared


@dataclass(frozen=True)
class Coverage:
    """Which SLOs of one service its generated tests drive, and why the others are left out."""

    found: dict[str, list[Bound]]
    """The conditions of each usable SLO."""
    usable: list[Slo]
    left_out: list[Slo]
    skipped: list[str]


def coverage(service: str, slos: Sequence[Slo], specs: Sequence[ConditionSpec]) -> Coverage:
    found = {slo.key: bounds(slo, specs) for slo in slos}
    skipped: list[str] = []
    series_of: dict[str, set[str]] = {}
    for slo in slos:
        try:
            series = input_series(slo, Schedule(((0, quiet(slo, found[slo.key])),)), found[slo.key])
        except UnsupportedSelectorError as exc:
            skipped.append(f"{slo.key}: {exc}")
            continue
        series_of[slo.key] = {s["series"] for s in series}
    shared = shared_keys(series_of, {slo.key: slo for slo in slos})
    skipped += [f"{key}: reads series another SLO of {service} reads too" for key in sorted(shared)]
    usable = [slo for slo in slos if slo.key in series_of and slo.key not in shared]
    driven = {slo.key for slo in usable}  # keys are unique: the definitions are checked
    left_out = [slo for slo in slos if slo.key not in driven]
    # Kept until the service's tests are written: the conditions of the SLOs they drive only.
    return Coverage({slo.key: found[slo.key] for slo in usable}, usable, left_out, skipped)


def test_file_head(service: str) -> dict[str, Any]:
    return {"rule_files": [f"../{file_stem(service)}.yaml"], "evaluation_interval": "1m"}


def service_test_items(
    service: str, slos: Sequence[Slo], specs: Sequence[ConditionSpec], covered: Coverage
) -> Iterator[dict[str, Any]]:
    """The tests of a service's document, one at a time (a large service's are many)."""
    names = sorted({a.alert for s in slos for a in alerts(s, specs)})
    found, usable, left_out = covered.found, covered.usable, covered.left_out

    def group(
        name: str,
        schedules: dict[str, Schedule],
        check: Check,
        exprs: list[dict[str, Any]],
        extra: Sequence[dict[str, str]] = (),
    ) -> dict[str, Any]:
        series = [
            s for slo in usable for s in input_series(slo, schedules[slo.key], found[slo.key])
        ]
        fed = [_series_labels(s["series"]) for s in series] if left_out else []
        series += extra
        for other in left_out:  # no series are fed for it: its no-data alert fires
            total = other.indicator.total
            if not any(total.metric == metric and matches(labels, total) for metric, labels in fed):
                no_data = no_data_alert(other)
                for minute in sorted({m for m, _ in check.entries}):
                    if minute >= NO_DATA_MINUTES + MARGIN:
                        check.fire(minute, no_data)
                    elif minute >= NO_DATA_MINUTES:
                        check.skip(minute, no_data.alert)
        test: dict[str, Any] = {
            "name": name,
            "interval": "1m",
            "input_series": series,
            "alert_rule_test": check.as_list(),
        }
        if exprs:
            test["promql_expr_test"] = exprs
        return test

    def baseline(slo: Slo, shape: str = "steady", minutes: int = MINUTES) -> Schedule:
        return Schedule(((0, quiet(slo, found[slo.key])),), minutes, shape)

    calm: tuple[tuple[str, str, tuple[int, ...]], ...] = (
        ("baseline traffic", "steady", CHECK_TIMES),
        ("counter reset", "reset", (RESET_AT + 1, RESET_AT + 5, RESET_AT + 30)),
        ("missed scrapes", "gap", (GAP[0] + 5, GAP[1] + 1, GAP[1] + 10, GAP[1] + 25)),
    )
    for title, shape, times in calm:
        schedules = {slo.key: baseline(slo, shape) for slo in usable}
        yield group(f"{service}: {title}", schedules, Check.empty(names, times), [])
    stale = Check.empty(names, (STALE_AT + 5, STALE_AT + 15))
    for slo in usable:
        no_data = no_data_alert(slo)
        stale.skip(STALE_AT + 5, no_data.alert)  # pending: absent for less than its 10 minutes
        stale.fire(STALE_AT + 15, no_data)
    yield group(
        f"{service}: series gone stale",
        {slo.key: baseline(slo, "stale") for slo in usable},
        stale,
        [],
    )
    for slo in usable:
        for title, schedule, times in _scenarios(slo, found[slo.key]):
            schedules = {other.key: baseline(other, minutes=schedule.minutes) for other in usable}
            schedules[slo.key] = schedule
            check = scenario_check(slo, schedule, names, times, specs)
            exprs = recorded_checks(slo, schedule, found[slo.key])
            yield group(f"{slo.key}: {title}", schedules, check, exprs)
    for slo in usable:
        silenced = maintenance_check(slo, found[slo.key], names, specs)
        if silenced is not None:
            title, schedule, silent = silenced
            others = {other.key: baseline(other, minutes=schedule.minutes) for other in usable}
            yield group(
                f"{slo.key}: {title}, in a maintenance window",
                {**others, slo.key: schedule},
                silent,
                [],
                maintenance_series(service, schedule.minutes),
            )


def maintenance_check(
    slo: Slo, found: Sequence[Bound], names: Sequence[str], specs: Sequence[ConditionSpec]
) -> tuple[str, Schedule, Check] | None:
    """The first scenario of ``slo`` that fires, with nothing expected to fire but the no-data
    alert (never silenced): what its test expects inside a maintenance window."""
    for title, schedule, times in _scenarios(slo, found):
        fired = scenario_check(slo, schedule, names, times, specs)
        if not any(fired.entries.values()):
            continue
        silent = Check.empty(names, times)
        for (minute, name), expected in fired.entries.items():
            if any(a.bound is None for a in alerts(slo, specs) if a.alert == name):
                silent.entries[(minute, name)] = expected
        return title, schedule, silent
    return None


def maintenance_series(service: str, minutes: int) -> list[dict[str, str]]:
    """sloctl's ``sloctl_maintenance_active{service} 1`` for the whole test: the service is
    in a maintenance window, and its generated alerts must stay silent."""
    labels = {"service": service}
    return [{"series": series_text(MAINTENANCE_METRIC, labels), "values": f"1+0x{minutes}"}]


def render_tests(slos: Iterable[Slo], policy: Policy) -> tuple[dict[str, str], list[str]]:
    """Test file name to content, one per service, and the SLOs left without tests."""
    files: dict[str, str] = {}
    skipped: list[str] = []
    for service, service_slos in by_service(slos).items():
        specs = service_conditions(policy.for_service(service))
        covered = coverage(service, service_slos, specs)
        skipped += covered.skipped
        files[test_file_name(service)] = test_file(service, service_slos, specs, covered)
    return files, skipped


def test_file_name(service: str) -> str:
    return f"{file_stem(service)}.test.yaml"


def test_file(
    service: str, slos: Sequence[Slo], specs: Sequence[ConditionSpec], covered: Coverage
) -> str:
    """The promtool test file of one service, its alerts from the conditions ``specs``: the
    text of dumping the whole document, written one test at a time so that the tests of a
    large service are never all held at once."""
    chunks = [dump(test_file_head(service))]
    for test in service_test_items(service, slos, specs, covered):
        chunks.append(dump_item(test))
    if len(chunks) == 1:
        return dump({**test_file_head(service), "tests": []})
    chunks.insert(1, "tests:\n")
    return "".join(chunks)
