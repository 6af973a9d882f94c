"""The names sloctl publishes: what Prometheus, Grafana and people's own rules see."""

from __future__ import annotations

import re

import pytest

from sloctl.core import conventions


@pytest.mark.parametrize(
    ("seconds", "name"),
    [
        (300, "sloctl:error_ratio:rate5m"),
        (3600, "sloctl:error_ratio:rate1h"),
        (30 * 86400, "sloctl:error_ratio:rate30d"),
    ],
)
def test_error_ratio_names(seconds: int, name: str) -> None:
    assert conventions.error_ratio_name(seconds) == name


def test_every_exported_metric_is_a_sloctl_metric_and_names_differ() -> None:
    exported = [
        value
        for key, value in vars(conventions).items()
        if key.isupper() and isinstance(value, str) and value.startswith("sloctl_")
    ]
    query_tags = {
        conventions.QUERY_WINDOW_LABEL,
        conventions.QUERY_PART_LABEL,
        conventions.QUERY_PIECE_LABEL,
    }
    metrics = [name for name in exported if name not in query_tags]
    assert len(metrics) == 23
    assert len(set(metrics)) == len(metrics)
    assert all(re.fullmatch(r"sloctl_[a-z0-9_]+", name) for name in metrics)


def test_histogram_buckets() -> None:
    assert conventions.buckets(conventions.EVALUATION_DURATION_SECONDS) == (
        "sloctl_evaluation_duration_seconds_bucket"
    )
