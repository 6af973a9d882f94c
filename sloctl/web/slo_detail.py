"""One SLO's page in the SRE UI: its burn-down over the window, error ratio and p95 over a
range, its burn-rate pairs with their thresholds and state, its definition as written and its
service's incidents. Charts come from :mod:`sloctl.web.history`, cached; the incidents from the
store, read-only."""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from markupsafe import Markup

from sloctl.core.durations import spoken_duration
from sloctl.core.slo import LatencyIndicator, Slo
from sloctl.core.window import Span
from sloctl.daemon.loop import Daemon
from sloctl.errors import DefinitionError, SloctlError
from sloctl.incidents.conditions import Measure, bounds, pair_text, percent, service_conditions
from sloctl.incidents.lifecycle import Incident
from sloctl.loading.definitions import read_document
from sloctl.store.database import open_store
from sloctl.web.charts import Line, Threshold, line_chart
from sloctl.web.history import RANGES, HistoryView, Points, Read, Unavailable
from sloctl.web.slo_list import burn_text, ratio_text
from sloctl.web.templates import NONE

MAX_INCIDENTS = 50


@dataclass(frozen=True)
class PairRow:
    """One burn-rate pair of an SLO, with its thresholds and its state now."""

    urgency: str
    meaning: str
    windows: str
    factor: str
    threshold: str
    held_for: str
    long_ratio: str
    short_ratio: str
    long_burn: str
    short_burn: str
    state: str

    @property
    def state_css(self) -> str:
        return {"firing": "bad", "below": "ok"}.get(self.state, "info")


def pair_rows(slo: Slo, daemon: Daemon, ratios: Mapping[int, float | None] | None) -> list[PairRow]:
    """The SLO's multiwindow burn-rate pairs from the policy in force (the conditions the
    engine, the rules and the dashboards read), with the error ratios now when known."""
    specs = service_conditions(daemon.loaded.policy.for_service(slo.service))
    found = []
    budget = float(slo.error_budget)
    for bound in bounds(slo, specs):
        spec = bound.spec
        if spec.measure is not Measure.BURN_PAIRS:
            continue
        urgency = "ticket" if spec.severity is None else f"page ({spec.severity.value})"
        for row in bound.rows:
            short = row.short_seconds or row.window_seconds
            long_ratio = None if ratios is None else ratios.get(row.window_seconds)
            short_ratio = None if ratios is None else ratios.get(short)
            limit = float(row.limit)
            if long_ratio is None or short_ratio is None:
                state = "unknown" if ratios is None else "no data"
            elif long_ratio > limit and short_ratio > limit:
                state = "firing"
            else:
                state = "below"
            found.append(
                PairRow(
                    urgency=urgency,
                    meaning=spec.meaning,
                    windows=pair_text(row.window_seconds, short),
                    factor=f"{format(bound.factor(row), 'f')}x",
                    threshold=percent(row.limit),
                    held_for=spoken_duration(spec.duration) if spec.duration else "at once",
                    long_ratio=ratio_text(long_ratio),
                    short_ratio=ratio_text(short_ratio),
                    long_burn=burn_text(None if long_ratio is None else long_ratio / budget),
                    short_burn=burn_text(None if short_ratio is None else short_ratio / budget),
                    state=state,
                )
            )
    return found


def pair_windows(slo: Slo, daemon: Daemon) -> list[int]:
    specs = service_conditions(daemon.loaded.policy.for_service(slo.service))
    windows: set[int] = set()
    for bound in bounds(slo, specs):
        if bound.spec.measure is Measure.BURN_PAIRS:
            for row in bound.rows:
                windows |= {row.window_seconds, row.short_seconds or row.window_seconds}
    return sorted(windows)


@dataclass(frozen=True)
class Definition:
    text: str
    where: str


def definition_of(slo: Slo) -> Definition | str:
    """The SLO's entry in its definition file as written, or why it cannot be shown."""
    if not slo.source:
        return "this SLO was not loaded from a file"
    path = Path(slo.source)
    try:
        document = read_document(path)
        text = path.read_text(encoding="utf-8")
    except DefinitionError as exc:
        return exc.problems[0].message if exc.problems else str(exc)
    except (OSError, UnicodeDecodeError) as exc:
        return f"{slo.source} cannot be read ({type(exc).__name__})"
    items = document.data.get("slos") if isinstance(document.data, dict) else None
    if not isinstance(items, list):
        return f"{slo.source} has no list of SLOs any more"
    index = next(
        (
            i
            for i, item in enumerate(items)
            if isinstance(item, dict) and item.get("name") == slo.name
        ),
        None,
    )
    if index is None:
        return f"{slo.source} no longer defines {slo.name!r}"
    all_lines = text.splitlines()
    first = document.lines.get(("slos", index), 1)
    following = document.lines.get(("slos", index + 1))
    last = (following - 1) if following is not None else len(all_lines)
    chosen = all_lines[first - 1 : last]
    while chosen and (not chosen[-1].strip() or chosen[-1].lstrip().startswith("#")):
        chosen.pop()
        last -= 1
    return Definition("\n".join(chosen), f"{slo.source}, lines {first}\N{EN DASH}{last}")


def incidents_of(slo: Slo, daemon: Daemon) -> list[Incident] | str:
    """The incidents of the SLO's service from the store (read-only, closed again), open ones
    first, then the latest; or why they cannot be read."""
    config = daemon.loaded.config
    path = config.relative(config.spec.store)
    if not path.exists():
        return []  # the daemon has not recorded anything yet
    try:
        store = open_store(path, read_only=True, check=False)
    except SloctlError as exc:
        return str(exc).splitlines()[0]
    try:
        found = store.incidents_of(slo.service, MAX_INCIDENTS)
    except (SloctlError, sqlite3.Error) as exc:  # a store being migrated, say
        return str(exc).splitlines()[0]
    finally:
        store.close()
    return found


def _percent_axis(value: float) -> str:
    if value == 0:
        return "0%"
    if abs(value) < 0.01:
        return f"{value * 100:.2f}%"
    return f"{value * 100:.1f}%".replace(".0%", "%")


def _seconds_axis(value: float) -> str:
    if value < 1:
        return f"{value * 1000:.0f} ms"
    return f"{value:.2f} s"


@dataclass(frozen=True)
class Chart:
    """A drawn chart, or the note that says why there is none."""

    svg: Markup | None
    note: str = ""
    source: str = ""


def _latest(points: Points) -> float | None:
    return next((v for _, v in reversed(points.points) if v is not None), None)


def _chart(read: Read, draw: Callable[[Points], Markup]) -> Chart:
    if isinstance(read, Unavailable):
        return Chart(None, f"history unavailable: {read.reason}")
    if read.drawn == 0:
        return Chart(None, "no data in this range", read.source)
    return Chart(draw(read), "", read.source)


def burn_down_chart(slo: Slo, span: Span, view: HistoryView) -> Chart:
    def draw(points: Points) -> Markup:
        last = _latest(points)
        summary = (
            f"Error budget left over the window from {span.start:%Y-%m-%d %H:%M} UTC: "
            f"{ratio_text(last) if last is not None else NONE} at the last point."
        )
        return line_chart(
            chart_id="burn-down",
            title=f"Error budget burn-down of {slo.service} {slo.name}",
            summary=summary,
            lines=(Line("budget left", points.points, "line budget"),),
            thresholds=(Threshold("budget exhausted", 0.0, "threshold"),),
            start=points.start,
            end=max(points.end, span.end.timestamp()),
            value_text=_percent_axis,
            area=True,
            floor=0.0,
            ceiling=1.0,
        )

    return _chart(view.burn_down(slo, span), draw)


def ratio_chart(slo: Slo, chosen: str, view: HistoryView) -> Chart:
    limit = float(slo.error_budget)
    what = "slow requests" if isinstance(slo.indicator, LatencyIndicator) else "errors"

    def draw(points: Points) -> Markup:
        values = [v for _, v in points.points if v is not None]
        above = sum(1 for v in values if v > limit)
        summary = (
            f"Share of {what} over the last {chosen}: peak {ratio_text(max(values))}, latest "
            f"{ratio_text(_latest(points))}; {above} of {len(values)} points above the "
            f"objective's {ratio_text(limit)}."
        )
        return line_chart(
            chart_id="error-ratio",
            title=f"Error ratio of {slo.service} {slo.name} over {chosen}",
            summary=summary,
            lines=(Line(f"share of {what}", points.points),),
            thresholds=(Threshold(f"objective: {ratio_text(limit)}", limit),),
            start=points.start,
            end=points.end,
            value_text=_percent_axis,
        )

    return _chart(view.error_ratio(slo, RANGES[chosen]), draw)


def p95_chart(slo: Slo, chosen: str, view: HistoryView) -> Chart | None:
    indicator = slo.indicator
    if not isinstance(indicator, LatencyIndicator):
        return None
    limit = float(indicator.threshold_seconds)

    def draw(points: Points) -> Markup:
        values = [v for _, v in points.points if v is not None]
        above = sum(1 for v in values if v > limit)
        summary = (
            f"p95 latency over the last {chosen}: peak {_seconds_axis(max(values))}, latest "
            f"{_seconds_axis(_latest(points) or 0.0)}; {above} of {len(values)} points above "
            f"the threshold of {_seconds_axis(limit)}."
        )
        return line_chart(
            chart_id="p95",
            title=f"p95 latency of {slo.service} {slo.name} over {chosen}",
            summary=summary,
            lines=(Line("p95 latency", points.points),),
            thresholds=(Threshold(f"threshold: {_seconds_axis(limit)}", limit),),
            start=points.start,
            end=points.end,
            value_text=_seconds_axis,
        )

    return _chart(view.p95(slo, RANGES[chosen]), draw)


def minutes_text(value: float | Decimal | None) -> str:
    if value is None:
        return NONE
    number = float(value)
    if not math.isfinite(number):
        return NONE
    return f"{number:.1f} min"
