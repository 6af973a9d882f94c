"""The reader against the real Prometheus: query errors and month-long range queries."""

from __future__ import annotations

from datetime import timedelta

import pytest

from sloctl.errors import QueryError
from sloctl.prometheus.client import MAX_POINTS, PrometheusReader
from tests.integration.conftest import Served
from tests.integration.fixture import END, START

pytestmark = pytest.mark.integration


@pytest.mark.parametrize(
    ("expr", "status"),
    [
        pytest.param("sum(rate(http_requests_total[5m])", "HTTP 400", id="parse-error"),
        pytest.param(
            'http_requests_total{service="api"} / on() http_requests_total{service="api"}',
            "HTTP 422",
            id="execution-error",
        ),
    ],
)
def test_query_errors_name_slo_and_query(served: Served, expr: str, status: str) -> None:
    reader = PrometheusReader(served.url)
    with pytest.raises(QueryError) as caught:
        reader.instant(expr, END, slos=["api/availability"])
    message = str(caught.value)
    assert status in message
    assert "api/availability" in message
    assert expr in message
    assert reader.requests_made == 1


def test_range_query_over_the_point_limit_is_split_and_complete(served: Served) -> None:
    reader = PrometheusReader(served.url)
    step = timedelta(seconds=15)
    expr = 'sum(http_requests_total{service="database"})'
    series = reader.range(expr, START, END, step)
    expected_points = int((END - START) / step) + 1
    assert expected_points > MAX_POINTS
    assert reader.requests_made == -(-expected_points // MAX_POINTS)
    assert len(series) == 1
    stamps = [stamp for stamp, _ in series[0].points]
    assert len(stamps) == expected_points
    assert stamps == sorted(set(stamps))
    middle = START + timedelta(days=1, hours=7, seconds=45)
    [sample] = reader.instant(expr, middle)
    assert dict(series[0].points)[middle.timestamp()] == sample.value
