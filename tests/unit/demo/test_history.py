"""The synthetic history: what it writes agrees with the truth it reports."""

from __future__ import annotations

import io
import itertools
import re
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from sloctl.demo.history import (
    BUCKETS,
    History,
    Injection,
    Profile,
    Scenario,
    demo_scenario,
    runbook_profiles,
)

START = datetime(2026, 1, 1, tzinfo=UTC)
LINE = re.compile(r"^(\w+)\{([^}]*)\} (\S+) (\d+)$")


def small_scenario() -> Scenario:
    return Scenario(
        start=START,
        end=START + timedelta(hours=2),
        step=60,
        profiles=(
            Profile("web", 5.0, 0.01, (0.5,) * len(BUCKETS), unavailable_share=0.5),
            Profile("quiet", 1.0, 0.0, (1.0,) * len(BUCKETS)),
        ),
        injections=(
            Injection(
                "web", START + timedelta(minutes=30), START + timedelta(minutes=40), error_ratio=1.0
            ),
        ),
        resets=(("web", START + timedelta(hours=1)),),
        gaps=(("web", START + timedelta(minutes=80), START + timedelta(minutes=90)),),
    )


def parse(history: History) -> dict[str, list[tuple[int, float]]]:
    out = io.StringIO()
    history.write_openmetrics(out)
    series: dict[str, list[tuple[int, float]]] = defaultdict(list)
    for line in out.getvalue().splitlines():
        match = LINE.match(line)
        if match:
            name, labels, value, stamp = match.groups()
            series[f"{name}{{{labels}}}"].append((int(stamp), float(value)))
    return series


def prometheus_increase(points: list[tuple[int, float]]) -> float:
    """What increase() over the whole series sees: resets count from zero."""
    total = 0.0
    for (_, before), (_, after) in itertools.pairwise(points):
        total += after if after < before else after - before
    return total


def test_counters_written_agree_with_the_truth() -> None:
    history = History.generate(small_scenario())
    series = parse(history)
    end = START + timedelta(hours=2)
    requests = sum(
        prometheus_increase(points)
        for key, points in series.items()
        if key.startswith("http_requests_total{") and 'service="web"' in key
    )
    errors = sum(
        prometheus_increase(points)
        for key, points in series.items()
        if key.startswith("http_requests_total{")
        and 'service="web"' in key
        and ('code="500"' in key or 'code="503"' in key)
    )
    truth = history.availability("web", START, end)
    assert requests == truth.total
    assert errors == truth.bad
    assert truth.bad > 0.5 * 10 * 60 * 5  # ten minutes of 100 % errors, at night traffic


def test_reset_and_gap_are_in_the_written_series() -> None:
    history = History.generate(small_scenario())
    points = parse(history)['http_requests_total{code="200",service="web"}']
    stamps = [stamp for stamp, _ in points]
    reset = int((START + timedelta(hours=1)).timestamp())
    before = dict(points)[reset - 60]
    assert dict(points)[reset] < before  # the counter started again from zero
    gap = range(
        int((START + timedelta(minutes=80)).timestamp()),
        int((START + timedelta(minutes=90)).timestamp()),
        60,
    )
    assert not set(gap) & set(stamps)
    assert len(stamps) == 121 - len(gap)


def test_a_series_that_never_counted_is_never_written() -> None:
    series = parse(History.generate(small_scenario()))
    assert not [key for key in series if 'service="quiet"' in key and 'code="5' in key]
    assert any('service="quiet"' in key for key in series)


def test_histogram_buckets_are_cumulative_and_end_at_the_count() -> None:
    history = History.generate(Scenario(START, START + timedelta(hours=1), 60, runbook_profiles()))
    for data in history.series.values():
        for index, requests in enumerate(data.requests):
            counts = [data.within[le][index] for le in BUCKETS]
            assert counts == sorted(counts)
            assert counts[-1] <= requests


@pytest.mark.parametrize(("threshold", "share"), [("0.2", 0.5), ("5", 0.5)])
def test_latency_truth(threshold: str, share: float) -> None:
    history = History.generate(small_scenario())
    truth = history.latency("web", threshold, START, START + timedelta(hours=2))
    assert truth.bad == pytest.approx(truth.total * (1 - share), rel=0.05)


def test_slices_touching_a_gap_are_refused() -> None:
    history = History.generate(small_scenario())
    with pytest.raises(ValueError, match="touches missing data"):
        history.bad_slices("web", START, START + timedelta(hours=2), 60, Decimal("0.99"))


def test_demo_scenario_is_deterministic_and_thirty_days() -> None:
    end = datetime(2026, 11, 27, 11, 0, 17, tzinfo=UTC)
    scenario = demo_scenario(end)
    assert scenario.end == datetime(2026, 11, 27, 11, 0, tzinfo=UTC)
    assert scenario.end - scenario.start == timedelta(days=30)
    first = History.generate(scenario).series["api"].requests
    assert first == History.generate(scenario).series["api"].requests
