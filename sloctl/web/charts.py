"""Charts drawn on the server as SVG: a line chart over time (with threshold lines, and an area
under the line for a burn-down) and the small horizontal bar of a budget.

Pure functions from points to markup. Every piece of text is escaped; nothing is styled
inline (the pages' Content-Security-Policy refuses ``style`` attributes): shapes carry classes
that ``static/sloctl.css`` and ``static/slos.css`` colour, and sizes are SVG attributes. Each
chart has an accessible name (``role="img"``, ``<title>`` and ``<desc>`` named by
``aria-labelledby``) and a sentence under it that says what it shows in words.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from markupsafe import Markup, escape

Point = tuple[float, float | None]
"""(unix seconds, value); None where there is no value (the line breaks there)."""

WIDTH = 720
HEIGHT = 240
LEFT, RIGHT, TOP, BOTTOM = 64, 28, 12, 28
TIME_STEPS = (
    300,
    900,
    1800,
    3600,
    2 * 3600,
    3 * 3600,
    6 * 3600,
    12 * 3600,
    86400,
    2 * 86400,
    7 * 86400,
)
"""Spacings of the time axis's ticks; the first that gives at most :data:`MAX_TICKS` is used."""
MAX_TICKS = 8
VALUE_TICKS = 5
"""At most this many intervals on the value axis, each a round 1, 2, 2.5 or 5 times a power
of ten, the axis's ends on multiples of it."""


@dataclass(frozen=True)
class Line:
    """One series of a chart."""

    label: str
    points: Sequence[Point]
    css: str = "line"


@dataclass(frozen=True)
class Threshold:
    """A horizontal line at ``value``, named in the legend."""

    label: str
    value: float
    css: str = "threshold"


def _number(value: float) -> str:
    """A coordinate with one decimal, no trailing zeros."""
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _time_ticks(start: float, end: float) -> tuple[list[float], bool]:
    """Tick times (multiples of the spacing, in UTC) and whether they fall on whole days."""
    span = max(end - start, 1.0)
    step = next((s for s in TIME_STEPS if span / s <= MAX_TICKS), TIME_STEPS[-1])
    first = math.ceil(start / step) * step
    ticks = []
    moment = float(first)
    while moment <= end:
        ticks.append(moment)
        moment += step
    return ticks, step >= 86400


def _time_label(moment: float, days: bool, span: float) -> str:
    when = datetime.fromtimestamp(moment, UTC)
    if days:
        return when.strftime("%b %d")
    if span > 86400:
        return when.strftime("%d %H:%M")
    return when.strftime("%H:%M")


def _nice(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 times a power of ten at or above ``value``."""
    if value <= 0 or not math.isfinite(value):
        return 1.0
    power = 10.0 ** math.floor(math.log10(value))
    return next(f * power for f in (1.0, 2.0, 2.5, 5.0, 10.0) if value <= f * power)


def _runs(points: Sequence[Point]) -> list[list[tuple[float, float]]]:
    """The points in runs without a gap (None or a non-finite value breaks a run)."""
    runs: list[list[tuple[float, float]]] = []
    current: list[tuple[float, float]] = []
    for moment, value in points:
        if value is None or not math.isfinite(value):
            if current:
                runs.append(current)
            current = []
            continue
        current.append((moment, value))
    if current:
        runs.append(current)
    return runs


def line_chart(
    *,
    chart_id: str,
    title: str,
    summary: str,
    lines: Sequence[Line],
    start: float,
    end: float,
    value_text: Callable[[float], str],
    thresholds: Sequence[Threshold] = (),
    area: bool = False,
    floor: float = 0.0,
    ceiling: float | None = None,
) -> Markup:
    """A line chart from ``start`` to ``end`` (unix seconds) in a ``<figure>``.

    The value axis runs from ``floor`` (lowered to the lowest point) to ``ceiling`` (default:
    a round number above the highest point and threshold). With ``area`` the region between
    the first line and the floor is filled (a burn-down). ``summary`` is the sentence under
    the chart and its description for assistive technology.
    """
    values = [v for line in lines for _, v in line.points if v is not None and math.isfinite(v)]
    low = min([floor, *values])
    if ceiling is None:
        high = max([*values, *(t.value for t in thresholds), 0.0]) * 1.05
    else:
        high = max([ceiling, *values])
    if high <= low:
        high = low + 1.0
    spacing = _nice((high - low) / VALUE_TICKS)
    low = math.floor(low / spacing + 1e-9) * spacing
    high = math.ceil(high / spacing - 1e-9) * spacing
    intervals = round((high - low) / spacing)
    end = max(end, start + 1.0)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(moment: float) -> float:
        return LEFT + (moment - start) / (end - start) * plot_w

    def y(value: float) -> float:
        clipped = min(max(value, low), high)
        return TOP + (high - clipped) / (high - low) * plot_h

    title_id, desc_id = f"{chart_id}-title", f"{chart_id}-desc"
    parts = [
        Markup(
            '<svg class="chart" id="{}" viewBox="0 0 {} {}" role="img" aria-labelledby="{} {}" '
            'preserveAspectRatio="xMidYMid meet"><title id="{}">{}</title><desc id="{}">{}</desc>'
            '<g class="grid">'
        ).format(chart_id, WIDTH, HEIGHT, title_id, desc_id, title_id, title, desc_id, summary)
    ]
    for index in range(intervals + 1):
        value = low + spacing * index
        at = _number(y(value))
        parts.append(
            Markup(
                '<line x1="{}" x2="{}" y1="{}" y2="{}"/><text class="tick" x="{}" y="{}" '
                'text-anchor="end" dominant-baseline="middle">{}</text>'
            ).format(LEFT, WIDTH - RIGHT, at, at, LEFT - 6, at, value_text(value))
        )
    ticks, days = _time_ticks(start, end)
    for moment in ticks:
        at = _number(x(moment))
        parts.append(
            Markup(
                '<line x1="{}" x2="{}" y1="{}" y2="{}"/>'
                '<text class="tick" x="{}" y="{}" text-anchor="middle">{}</text>'
            ).format(
                at, at, TOP, TOP + plot_h, at, HEIGHT - 8, _time_label(moment, days, end - start)
            )
        )
    bottom = _number(TOP + plot_h)
    parts.append(
        Markup('</g><line class="axis" x1="{}" x2="{}" y1="{}" y2="{}"/>').format(
            LEFT, WIDTH - RIGHT, bottom, bottom
        )
    )

    def path_of(run: list[tuple[float, float]]) -> str:
        return " ".join(
            f"{'M' if i == 0 else 'L'}{_number(x(t))},{_number(y(v))}"
            for i, (t, v) in enumerate(run)
        )

    if area and lines:
        base = _number(y(max(floor, low)))
        for run in _runs(lines[0].points):
            last, first = _number(x(run[-1][0])), _number(x(run[0][0]))
            shape = f"{path_of(run)} L{last},{base} L{first},{base} Z"
            parts.append(Markup('<path class="area" d="{}"/>').format(shape))
    for line in lines:
        # One path per line; each run without a gap starts with its own M (a lone point is
        # drawn as a dot).
        drawn = " ".join(
            path_of(run) + (" l0.1,0" if len(run) == 1 else "") for run in _runs(line.points)
        )
        if drawn:
            parts.append(Markup('<path class="{}" d="{}"/>').format(line.css, drawn))
    for threshold in thresholds:
        if not low <= threshold.value <= high:
            continue
        at = _number(y(threshold.value))
        parts.append(
            Markup(
                '<line class="{}" x1="{}" x2="{}" y1="{}" y2="{}"><title>{}</title></line>'
            ).format(threshold.css, LEFT, WIDTH - RIGHT, at, at, threshold.label)
        )
    keys: list[tuple[str, str]] = [(item.label, item.css) for item in lines]
    keys += [(item.label, item.css) for item in thresholds]
    legend = Markup("").join(
        Markup('<li><span class="key {}" aria-hidden="true"></span>{}</li>').format(css, label)
        for label, css in keys
    )
    return Markup(
        '<figure class="chart-figure">{}</svg><ul class="legend">{}</ul>'
        '<figcaption class="chart-summary">{}</figcaption></figure>'
    ).format(Markup("").join(parts), legend, summary)


def budget_bar(share: float | None, label: str) -> Markup:
    """The remaining share of a budget as a small bar with its figure beside it; a dash for
    no data. ``label`` names the bar (``api availability budget remaining``)."""
    if share is None or not math.isfinite(share):
        return Markup('<span class="meter"><span class="muted">\N{EN DASH}</span></span>')
    filled = min(max(share, 0.0), 1.0) * 100
    level = "ok" if share >= 0.5 else "warn" if share > 0 else "bad"
    figure = f"{share * 100:.1f}%"
    # The list draws a thousand of these: one escape and an f-string, not Markup.format
    # (ten times slower). ``label`` is the only text that is not ours, and it is escaped.
    name = escape(label)
    return Markup(  # noqa: S704 - every interpolated string is escaped or a number
        f'<span class="meter"><svg viewBox="0 0 100 10" preserveAspectRatio="none" role="img" '
        f'aria-label="{name}: {figure}"><rect class="track" width="100" height="10"/>'
        f'<rect class="fill {level}" width="{_number(filled)}" height="10"/></svg>'
        f"<span>{figure}</span></span>"
    )
