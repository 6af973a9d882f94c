"""One evaluation (sloctl/reading/evaluation.py): its pinned times, its queries sent side by
side, and twins judged as each alone."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from sloctl.core.selector import parse_selector
from sloctl.core.slo import RatioIndicator, Slo, Timeslices
from sloctl.core.twins import twins
from sloctl.core.window import span_for
from sloctl.loading.definitions import load_definitions
from sloctl.reading.evaluation import BURN_SECONDS, evaluate, judge, query_time
from tests.fake_prometheus import Query, Reply, fake_prometheus, vector
from tests.paths import ROOT

INDICATOR = RatioIndicator(
    total=parse_selector('http_requests_total{service="api"}'),
    bad=parse_selector('http_requests_total{service="api",code=~"5.."}'),
)


def slo(slice_seconds: int | None) -> Slo:
    slices = None if slice_seconds is None else Timeslices(Decimal("0.99"), slice_seconds)
    return Slo("api", "availability", INDICATOR, Decimal("0.999"), timeslices=slices)


@pytest.mark.parametrize(
    ("slice_seconds", "end", "expected"),
    [
        pytest.param(None, "10:25:13", "10:25:13", id="occurrences-unchanged"),
        pytest.param(60, "10:25:13", "10:26:00", id="minute-slice-in-progress"),
        pytest.param(3600, "10:25:00", "11:00:00", id="hour-slice-in-progress"),
        pytest.param(3600, "11:00:00", "11:00:00", id="aligned"),
    ],
)
def test_query_time(slice_seconds: int | None, end: str, expected: str) -> None:
    def at(clock: str) -> datetime:
        return datetime.fromisoformat(f"2026-10-31T{clock}+00:00")

    assert query_time(slo(slice_seconds), at(end)) == at(expected)
    assert query_time(slo(slice_seconds), at(end)).tzinfo == UTC


SHIPPED_SLOS = load_definitions(ROOT / "slo-definitions")
AT = datetime(2026, 11, 1, tzinfo=UTC)
ANSWER_SECONDS = 0.3


def arrivals(parallel: int) -> tuple[list[float], int]:
    """When each query of an evaluation of the shipped SLOs reached a Prometheus that takes
    0.3 s to answer each (seconds after the first), and the queries counted."""
    arrived: list[float] = []

    def slow(query: Query) -> Reply:
        arrived.append(time.monotonic())
        return replace(vector([]), delay=ANSWER_SECONDS)

    with fake_prometheus(slow) as prometheus:
        evaluation = evaluate(
            SHIPPED_SLOS, prometheus.reader(), AT, coverage=True, parallel=parallel
        )
    return [moment - arrived[0] for moment in arrived], evaluation.queries


def test_independent_queries_are_sent_side_by_side() -> None:
    one_by_one, queries = arrivals(1)
    assert len(one_by_one) == queries == 7
    assert all(later >= ANSWER_SECONDS * 0.9 * index for index, later in enumerate(one_by_one))
    side_by_side, queries = arrivals(4)
    assert len(side_by_side) == queries == 7
    # Four queries arrived before the first answer could have been sent.
    assert sorted(side_by_side)[3] < ANSWER_SECONDS


def test_twins_share_counts_and_each_keeps_its_own_budget() -> None:
    usual = slo(None)
    strict = replace(usual, name="strict", target=Decimal("0.9999"))
    again = replace(usual, name="again")
    written_long = replace(usual, name="long", target=Decimal("0.9990"))
    slos = (usual, strict, again, written_long)
    span = span_for(usual, AT)
    windows = (span.measured_seconds, *(seconds for _, seconds in BURN_SECONDS))
    readings = {(usual.key, w): {"total": 10_000.0, "bad": 5.0} for w in windows}
    together = judge(slos, {usual.key: span}, readings, twins(slos))
    for twin, result in zip(slos, together, strict=True):
        alone = judge(
            [twin], {twin.key: span}, {(twin.key, w): readings[(usual.key, w)] for w in windows}
        )
        assert result == alone[0]
    assert together[2].budget is together[0].budget  # one error budget: one judgement
    usual_burn = together[0].budget.burn_rate
    assert usual_burn is not None
    assert together[1].budget.burn_rate == pytest.approx(10 * usual_burn)
    assert str(together[3].budget.budget_minutes) != str(together[0].budget.budget_minutes)
