"""The Jinja2 templates of the web pages, escaped by default.

Every template autoescapes (HTML and the Atom feed alike), and an undefined name is an error,
not an empty string. Filters turn the domain's values into what a person reads.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined

from sloctl.core.durations import spoken_duration
from sloctl.web.assets import Assets

NONE = "\N{EN DASH}"
"""What a page shows for no value."""


def when(moment: datetime | None) -> str:
    """``2026-12-01 14:05 UTC``; a dash for none."""
    if moment is None:
        return NONE
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def iso(moment: datetime | None) -> str:
    """RFC 3339 in UTC (for ``<time datetime>``, feeds and JSON)."""
    if moment is None:
        return ""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def percent(value: float | None, digits: int = 2) -> str:
    """``99.95%``; a dash for no value (no traffic, NaN, infinity)."""
    if value is None or not math.isfinite(value):
        return NONE
    return f"{value * 100:.{digits}f}%"


def spoken(span: timedelta | float | None) -> str:
    """``1 hour 12 minutes``; a dash for none."""
    if span is None:
        return NONE
    seconds = span.total_seconds() if isinstance(span, timedelta) else float(span)
    if math.isnan(seconds) or math.isinf(seconds):
        return NONE
    return spoken_duration(timedelta(seconds=round(seconds)))


class Templates:
    """The package's templates with sloctl's filters; ``assets`` gives versioned URLs."""

    def __init__(self, assets: Assets) -> None:
        self.environment = Environment(
            loader=PackageLoader("sloctl.web", "templates"),
            autoescape=True,
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            auto_reload=False,
        )
        self.environment.filters.update(when=when, iso=iso, percent=percent, spoken=spoken)
        self.environment.globals["asset"] = assets.url

    def render(self, name: str, **values: Any) -> str:
        return self.environment.get_template(name).render(**values)
