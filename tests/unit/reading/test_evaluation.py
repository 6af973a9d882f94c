"""Evaluation times: pinned to the span's end, or to the end of the current slice."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from sloctl.core.selector import parse_selector
from sloctl.core.slo import RatioIndicator, Slo, Timeslices
from sloctl.reading.evaluation import query_time

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
