"""Chart history through a real reader against a Prometheus on loopback: the recorded series
preferred, the raw counters when there are none, steps and alignment, the cache (proven by
counting the requests Prometheus received), and failures as notes."""

from __future__ import annotations

import dataclasses
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sloctl.core.budget import Counts, assess_budget
from sloctl.core.window import span_for
from sloctl.promql.slices import QueryBudget
from sloctl.web.history import (
    RANGES,
    HistoryCache,
    Points,
    SloHistory,
    Unavailable,
    aligned,
    raw_counts,
    recorded_counts,
)
from tests.fake_prometheus import FakePrometheus, fake_prometheus
from tests.slo_daemon import SCRIPT, SloSite, make_daemon
from tests.unit.web.prometheus_history import HistoryTraffic

NOW = datetime(2026, 11, 2, 10, 7, 31, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _history(fake: FakePrometheus, clock: Clock | None = None, ttl: float = 30.0) -> SloHistory:
    return SloHistory(
        reader=fake.reader,
        cache=HistoryCache(ttl, clock=clock or Clock()),
        budget=QueryBudget(),
    )


@pytest.fixture
def slos(tmp_path: Path) -> SloSite:
    return make_daemon(tmp_path)


def test_every_range_has_a_few_hundred_points_at_most() -> None:
    for chosen in RANGES.values():
        assert 100 <= chosen.points <= 400


def test_ranges_are_aligned_to_their_step() -> None:
    start, end = aligned(NOW.timestamp() - 86400, NOW.timestamp(), 300)
    assert start.timestamp() % 300 == 0
    assert end.timestamp() % 300 == 0
    assert end <= NOW < end + timedelta(seconds=300)


def test_the_raw_counters_are_read_when_no_rules_recorded_anything(slos: SloSite) -> None:
    traffic = HistoryTraffic({"api": 0.01})
    with fake_prometheus(traffic) as fake:
        view = _history(fake).view(NOW)
        found = view.error_ratio(slos.slo("api/availability"), RANGES["24h"])
    assert isinstance(found, Points)
    assert not found.recorded
    assert found.source == "raw counters"
    assert found.drawn == 288
    assert all(value == pytest.approx(0.01) for _, value in found.points)
    assert all(t % 300 == 0 for t, _ in found.points)
    recorded, raw = [q.expr for q in traffic.ranges]
    assert "sloctl:events:rate5m" in recorded
    assert "increase(http_requests_total" in raw
    assert [q.params["step"][0] for q in traffic.ranges] == ["300", "300"]


def test_the_recorded_series_are_preferred(slos: SloSite) -> None:
    traffic = HistoryTraffic({"api": 0.02}, recorded=True)
    with fake_prometheus(traffic) as fake:
        found = _history(fake).view(NOW).error_ratio(slos.slo("api/availability"), RANGES["6h"])
    assert isinstance(found, Points)
    assert found.recorded
    [asked] = traffic.ranges
    assert "sloctl:bad_events:rate5m" in asked.expr
    assert "increase(" not in asked.expr
    assert asked.params["step"] == ["60"]


def test_repeated_views_are_answered_from_the_cache_until_it_expires(slos: SloSite) -> None:
    clock = Clock()
    slo = slos.slo("api/latency")
    with fake_prometheus(HistoryTraffic({"api": 0.01}, recorded=True)) as fake:
        history = _history(fake, clock, ttl=30.0)
        history.view(NOW).p95(slo, RANGES["24h"])
        history.view(NOW).error_ratio(slo, RANGES["24h"])
        asked = len(fake.received)
        assert asked == 2
        for _ in range(5):
            history.view(NOW).p95(slo, RANGES["24h"])
            history.view(NOW).error_ratio(slo, RANGES["24h"])
        assert len(fake.received) == asked  # nothing asked again
        history.view(NOW).p95(slo, RANGES["7d"])  # another range is another entry
        assert len(fake.received) == asked + 1
        clock.now += 31
        history.view(NOW).p95(slo, RANGES["24h"])
        assert len(fake.received) == asked + 2
    assert history.cache.loads == 4


def test_the_cache_is_bounded() -> None:
    cache = HistoryCache(60.0, max_entries=3, clock=Clock())
    for key in range(5):
        cache.fetch(key, lambda key=key: f"first {key}")  # type: ignore[misc]
    assert len(cache) == 3
    assert cache.fetch(0, lambda: "again") == "again"  # the oldest went first
    assert cache.fetch(4, lambda: "again") == "first 4"


def test_views_arriving_together_load_an_answer_once() -> None:
    cache = HistoryCache(60.0)
    started, release = threading.Event(), threading.Event()
    calls: list[int] = []

    def load() -> str:
        calls.append(1)
        started.set()
        release.wait(10)
        return "answer"

    answers: list[str] = []
    first = threading.Thread(target=lambda: answers.append(cache.fetch("k", load)))
    first.start()
    assert started.wait(10)
    others = [
        threading.Thread(target=lambda: answers.append(cache.fetch("k", load))) for _ in range(19)
    ]
    for thread in others:
        thread.start()
    release.set()
    for thread in [first, *others]:
        thread.join(10)
    assert answers == ["answer"] * 20
    assert len(calls) == 1
    assert cache.loads == 1


def test_a_failing_load_lets_the_next_view_load_again() -> None:
    cache = HistoryCache(60.0)

    def broken() -> str:
        raise RuntimeError("a bug")

    with pytest.raises(RuntimeError):
        cache.fetch("k", broken)
    assert cache.fetch("k", lambda: "fine") == "fine"


def test_a_failure_is_a_reason_and_is_kept_only_briefly(slos: SloSite) -> None:
    clock = Clock()
    traffic = HistoryTraffic({"api": 0.01}, down=True)
    with fake_prometheus(traffic) as fake:
        history = _history(fake, clock, ttl=30.0)
        found = history.view(NOW).error_ratio(slos.slo("api/availability"), RANGES["24h"])
        assert isinstance(found, Unavailable)
        assert "503" in found.reason
        traffic.down = False
        clock.now += 6
        again = history.view(NOW).error_ratio(slos.slo("api/availability"), RANGES["24h"])
    assert isinstance(again, Points)


def test_the_burn_down_ends_at_the_budget_the_evaluator_gives(slos: SloSite) -> None:
    slo = slos.slo("api/availability")
    span = span_for(slo, NOW)
    with fake_prometheus(HistoryTraffic({"api": 0.0005})) as fake:
        found = _history(fake).view(NOW).burn_down(slo, span)
    assert isinstance(found, Points)
    assert found.points[0] == (span.start.timestamp(), 1.0)
    assert 200 <= len(found.points) <= 260
    values = [v for _, v in found.points if v is not None]
    assert values == sorted(values, reverse=True)  # spending only goes down
    steps = len(found.points) - 1
    whole = assess_budget(
        error_budget=slo.error_budget,
        window_length=span.length,
        measured=span.measured,
        time_left=None,
        counts=Counts(1000.0 * steps, 0.5 * steps),
        current=None,
    )
    assert values[-1] == pytest.approx(whole.remaining_share)
    assert values[-1] == pytest.approx(0.5)


def test_a_missing_bad_side_is_no_value_never_a_perfect_score(slos: SloSite) -> None:
    slo = slos.slo("api/latency")
    with fake_prometheus(HistoryTraffic({"api": 0.01}, without_bad=True)) as fake:
        view = _history(fake).view(NOW)
        ratio = view.error_ratio(slo, RANGES["24h"])
        burn_down = view.burn_down(slo, span_for(slo, NOW))
    assert isinstance(ratio, Points)
    assert isinstance(burn_down, Points)
    assert ratio.drawn == burn_down.drawn == 0


def test_pairs_are_counted_as_the_evaluator_counts(slos: SloSite) -> None:
    with fake_prometheus(HistoryTraffic({"api": 0.01})) as fake:
        history = _history(fake)
        found = history.view(NOW).window_ratios(slos.slo("api/availability"), (300, 3600))
        asked = len(fake.received)
        history.view(NOW).window_ratios(slos.slo("api/availability"), (3600, 300))
        assert len(fake.received) == asked
    assert not isinstance(found, Unavailable)
    assert found == pytest.approx({300: 0.01, 3600: 0.01})


def test_label_values_are_quoted_in_every_query(slos: SloSite) -> None:
    hostile = slos.slo(f"{SCRIPT}/availability")
    assert f'service="{SCRIPT}"' in recorded_counts(hostile, 300)
    assert 'http_requests_total{service="evil"}' in raw_counts(hostile, 300)
    quoted = recorded_counts(dataclasses.replace(hostile, service='a"b\\c\n'), 300)
    assert 'service="a\\"b\\\\c\\n"' in quoted
