"""Shared options: a Prometheus URL is checked before anything connects, and never echoed
with its password."""

from __future__ import annotations

from datetime import timedelta

import click
import pytest

from sloctl.cli.options import check_url, duration


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:9090", "https://prometheus.example/api/prom", "http://h"]
)
def test_usable_urls_pass_unchanged(url: str) -> None:
    assert check_url(click.Context(click.Command("x")), click.Option(["--u"]), url) == url


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://h", "must look like http"),
        ("http://", "must look like http"),
        ("http://h:99999", "Port out of range"),
        ("http://user:se/cret@h:1:2", "not a usable URL"),
    ],
)
def test_unusable_urls_are_refused_without_their_secrets(url: str, message: str) -> None:
    with pytest.raises(click.BadParameter, match=message) as caught:
        check_url(click.Context(click.Command("x")), click.Option(["--u"]), url)
    assert "se/cret" not in str(caught.value)


def test_a_duration_is_parsed_once_into_a_timedelta() -> None:
    ctx, option = click.Context(click.Command("x")), click.Option(["--step"])
    assert duration(ctx, option, "1h30m") == timedelta(hours=1, minutes=30)
    with pytest.raises(click.BadParameter, match="not a duration"):
        duration(ctx, option, "soon")
