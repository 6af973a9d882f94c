"""The SLO pages of the SRE UI: the list of every SLO with its budget and burn rates, and one
SLO's detail (burn-down, error ratio and p95 over a range, burn-rate pairs, its definition and
its incidents).

The list reads only the daemon's snapshot and configuration: it never queries Prometheus. Its
figures are the snapshot's :class:`~sloctl.reading.evaluation.SloResult` values, the same that
``/metrics`` exports (:attr:`SloResult.burn_rates`, :class:`~sloctl.core.budget.Budget`).
Sorting, filtering and searching live in the query string
(``/slos?service=api&status=exhausted&q=latency&sort=budget&dir=asc``), so a link reproduces
a view; a value the page does not know is ignored.

An SLO's page is at ``/slos/<service>/<name>``, the service percent-encoded (names are
URL-safe already). Its charts come from :mod:`sloctl.web.history`, cached.
"""

from __future__ import annotations

import math
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote, urlencode

from markupsafe import Markup

from sloctl.core.budget import Status
from sloctl.core.durations import format_duration, spoken_duration
from sloctl.core.slo import LatencyIndicator, RollingWindow, Slo
from sloctl.core.window import Span, span_for
from sloctl.daemon.exporter import Snapshot
from sloctl.daemon.loop import Daemon, Loaded
from sloctl.errors import DefinitionError, SloctlError
from sloctl.incidents.conditions import Measure, bounds, pair_text, percent, service_conditions
from sloctl.incidents.lifecycle import Incident
from sloctl.loading.definitions import read_document
from sloctl.prometheus.client import PrometheusReader
from sloctl.promql.slices import QueryBudget
from sloctl.reading.evaluation import SloResult
from sloctl.runtime.retry import RetryPolicy
from sloctl.store.database import open_store
from sloctl.web.charts import Line, Threshold, budget_bar, line_chart
from sloctl.web.history import (
    DEFAULT_RANGE,
    RANGES,
    HistoryCache,
    HistoryView,
    Points,
    Read,
    SloHistory,
    Unavailable,
)
from sloctl.web.request import Request
from sloctl.web.response import Response
from sloctl.web.site import Route, route
from sloctl.web.templates import NONE

if TYPE_CHECKING:  # ui imports this module's routes
    from sloctl.web.ui import SreUi

MAX_QUERY_TEXT = 200
PAGE_SECONDS = 10.0
"""How long one page view may wait for Prometheus in all."""
PAGE_RETRY = RetryPolicy(attempts=2, base_delay=0.2, max_delay=1.0)
"""A person is waiting: one quick retry, then the chart says why it is missing."""
MIN_CACHE_SECONDS = 5.0
MAX_INCIDENTS = 50
NOT_EVALUATED = "not evaluated"


# --- One row of the list ----------------------------------------------------------------------


def slo_path(slo: Slo) -> str:
    """Where ``slo``'s page is: ``/slos/api/availability``."""
    return f"/slos/{quote(slo.service, safe='')}/{quote(slo.name, safe='')}"


def window_text(slo: Slo) -> str:
    if isinstance(slo.window, RollingWindow):
        return f"{format_duration(slo.window.seconds)} rolling"
    return f"calendar month ({slo.window.timezone})"


def burn_text(rate: float | None) -> str:
    if rate is None or not math.isfinite(rate):
        return NONE
    return f"{rate:.2f}x"


def ratio_text(value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return NONE
    return f"{value * 100:.3f}%"


def exhaustion_text(result: SloResult | None) -> str:
    if result is None:
        return NONE
    budget = result.budget
    if budget.status is Status.EXHAUSTED:
        return "exhausted"
    if budget.time_to_exhaustion is None:
        return NONE
    return spoken_duration(timedelta(seconds=round(budget.time_to_exhaustion.total_seconds())), 2)


STATUS_CSS = {
    Status.OK.value: "ok",
    Status.AT_RISK.value: "warn",
    Status.EXHAUSTED.value: "bad",
    Status.NO_DATA.value: "info",
    NOT_EVALUATED: "info",
}
STATUS_RANK = {
    Status.EXHAUSTED.value: 0,
    Status.AT_RISK.value: 1,
    Status.OK.value: 2,
    Status.NO_DATA.value: 3,
    NOT_EVALUATED: 4,
}


def slug(text: str) -> str:
    return text.replace(" ", "-")


STATUS_FILTERS = (*(slug(s) for s in STATUS_RANK), "stale", "maintenance")
"""What ``?status=`` takes: a status (``at-risk``), or ``stale`` or ``maintenance``."""


@dataclass(frozen=True)
class Row:
    """One SLO as the list shows it."""

    slo: Slo
    result: SloResult | None
    stale: bool
    maintenance: bool
    path: str
    objective: str
    window: str
    bar: Markup
    burns: tuple[str, str, str]
    status: str
    exhaustion: str
    sort_values: Mapping[str, Any]

    @property
    def status_css(self) -> str:
        return STATUS_CSS[self.status]


def row_of(slo: Slo, result: SloResult | None, stale: bool, maintenance: bool) -> Row:
    rates: Mapping[str, float | None] = result.burn_rates if result is not None else {}
    budget = result.budget if result is not None else None
    status = budget.status.value if budget is not None else NOT_EVALUATED
    remaining = budget.remaining_share if budget is not None else None
    tte = budget.time_to_exhaustion if budget is not None else None
    if budget is not None and budget.status is Status.EXHAUSTED:
        tte = timedelta(0)
    sort_values = {
        "service": slo.service.casefold(),
        "slo": slo.name.casefold(),
        "objective": slo.target,
        "window": int(slo.rolling_length().total_seconds()),
        "budget": remaining,
        "burn1h": rates.get("1h"),
        "burn6h": rates.get("6h"),
        "burnwindow": rates.get("window"),
        "status": STATUS_RANK[status],
        "exhaustion": None if tte is None else tte.total_seconds(),
    }
    return Row(
        slo=slo,
        result=result,
        stale=stale,
        maintenance=maintenance,
        path=slo_path(slo),
        objective=percent(slo.target),
        window=window_text(slo),
        bar=budget_bar(remaining, f"{slo.service} {slo.name} budget remaining"),
        burns=(
            burn_text(rates.get("1h")),
            burn_text(rates.get("6h")),
            burn_text(rates.get("window")),
        ),
        status=status,
        exhaustion=exhaustion_text(result),
        sort_values=sort_values,
    )


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    numeric: bool = False


COLUMNS = (
    Column("service", "Service"),
    Column("slo", "SLO"),
    Column("objective", "Objective", numeric=True),
    Column("window", "Window"),
    Column("budget", "Budget remaining"),
    Column("burn1h", "Burn 1 h", numeric=True),
    Column("burn6h", "Burn 6 h", numeric=True),
    Column("burnwindow", "Burn window", numeric=True),
    Column("status", "Status"),
    Column("exhaustion", "Time to exhaustion", numeric=True),
)
SORT_KEYS = frozenset(c.key for c in COLUMNS)


@dataclass(frozen=True)
class ListState:
    """What the list's query string asks for, each value checked (unknown ones dropped)."""

    service: str = ""
    status: str = ""
    q: str = ""
    sort: str = "service"
    dir: str = "asc"

    @classmethod
    def of(cls, request: Request, services: Sequence[str]) -> ListState:
        service = request.arg("service")
        status = request.arg("status")
        sort = request.arg("sort")
        direction = request.arg("dir")
        return cls(
            service=service if service in services else "",
            status=status if status in STATUS_FILTERS else "",
            q=" ".join(request.arg("q").split())[:MAX_QUERY_TEXT],
            sort=sort if sort in SORT_KEYS else "service",
            dir=direction if direction in ("asc", "desc") else "asc",
        )

    def link(self, **changes: str) -> str:
        """``/slos?...`` with ``changes``; defaults are left out of the URL."""
        values = {
            "service": self.service,
            "status": self.status,
            "q": self.q,
            "sort": self.sort,
            "dir": self.dir,
            **changes,
        }
        if values["sort"] == "service" and values["dir"] == "asc":
            values.pop("sort")
            values.pop("dir")
        query = urlencode({k: v for k, v in values.items() if v})
        return f"/slos?{query}" if query else "/slos"

    def sort_link(self, column: str) -> str:
        flipped = "desc" if self.sort == column and self.dir == "asc" else "asc"
        return self.link(sort=column, dir=flipped)

    def aria_sort(self, column: str) -> str:
        if self.sort != column:
            return "none"
        return "ascending" if self.dir == "asc" else "descending"

    def keeps(self, row: Row) -> bool:
        if self.service and row.slo.service != self.service:
            return False
        if self.status == "stale":
            if not row.stale:
                return False
        elif self.status == "maintenance":
            if not row.maintenance:
                return False
        elif self.status and slug(row.status) != self.status:
            return False
        if self.q:
            text = f"{row.slo.service} {row.slo.name} {row.slo.description}".casefold()
            return all(word in text for word in self.q.casefold().split())
        return True

    def ordered(self, rows: Sequence[Row]) -> list[Row]:
        """``rows`` sorted by the chosen column (ties by service and name); rows without a
        value for it come last, whichever the direction."""
        by_key = sorted(rows, key=lambda r: (r.slo.service.casefold(), r.slo.name.casefold()))
        valued = [r for r in by_key if r.sort_values[self.sort] is not None]
        empty = [r for r in by_key if r.sort_values[self.sort] is None]
        valued.sort(key=lambda r: r.sort_values[self.sort], reverse=self.dir == "desc")
        return valued + empty


# --- Building the pages' values ---------------------------------------------------------------


def list_rows(snapshot: Snapshot, loaded: Loaded) -> tuple[Row, ...]:
    """Every configured SLO with its latest judgement (those never judged yet included)."""
    results = {result.slo.key: result for result in snapshot.results}
    slos: Sequence[Slo] = loaded.slos or tuple(r.slo for r in snapshot.results)
    return tuple(
        row_of(
            slo,
            results.get(slo.key),
            slo.key in snapshot.stale,
            snapshot.maintenance.get(slo.service, False),
        )
        for slo in slos
    )


@dataclass
class ListRows:
    """The list's rows of the snapshot and configuration in force, made once for each pair:
    the daemon swaps both whole (each cycle, each reload), so every view until the next swap
    only filters, sorts and renders them."""

    made_for: tuple[Snapshot, Loaded] | None = None
    rows: tuple[Row, ...] = ()
    lock: threading.Lock = field(default_factory=threading.Lock)

    def of(self, daemon: Daemon) -> tuple[Row, ...]:
        current = (daemon.snapshot, daemon.loaded)
        with self.lock:
            made = self.made_for
            if made is None or made[0] is not current[0] or made[1] is not current[1]:
                self.rows = list_rows(*current)
                self.made_for = current
            return self.rows


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


# --- The routes -------------------------------------------------------------------------------


def page_reader(daemon: Daemon) -> PrometheusReader:
    """A reader for one page view, built as :meth:`Daemon.reader` builds a cycle's (the
    configuration's URL, credentials, limits and timeout), with a deadline of its own and
    without counting into the daemon's query errors (those are the cycles')."""
    config = daemon.loaded.config

    def pause(seconds: float) -> None:
        daemon.stop.wait(seconds)

    return PrometheusReader(
        config.spec.prometheus.url,
        credentials=config.credentials(daemon.env),
        limits=config.limits,
        logger=daemon.logger,
        timeout=min(float(config.timeout_seconds), PAGE_SECONDS),
        retry=PAGE_RETRY,
        deadline=time.monotonic() + PAGE_SECONDS,
        cancelled=daemon.stop.is_set,
        sleep=pause,
    )


def slo_history(daemon: Daemon, clock: Callable[[], float] = time.monotonic) -> SloHistory:
    """The pages' history, kept for about one daemon interval."""
    config = daemon.loaded.config
    ttl = max(MIN_CACHE_SECONDS, float(config.interval_seconds))
    return SloHistory(
        reader=lambda: page_reader(daemon),
        cache=HistoryCache(ttl, clock=clock),
        budget=QueryBudget(config.spec.query_max_samples),
    )


def routes(ui: SreUi, history: SloHistory | None = None) -> Sequence[Route]:
    """``GET /slos`` and ``GET /slos/<service>/<name>``."""
    kept = history if history is not None else slo_history(ui.daemon)
    listed = ListRows()

    def slo_list(request: Request, _match: re.Match[str]) -> Response:
        daemon = ui.daemon
        rows = listed.of(daemon)
        services = sorted({row.slo.service for row in rows})
        state = ListState.of(request, services)
        shown = state.ordered([row for row in rows if state.keeps(row)])
        return ui.render(
            request,
            "slo_list.html",
            rows=shown,
            total=len(rows),
            state=state,
            columns=COLUMNS,
            services=services,
            statuses=STATUS_FILTERS,
            evaluated=bool(daemon.snapshot.results),
        )

    def slo_detail(request: Request, match: re.Match[str]) -> Response:
        daemon = ui.daemon
        wanted = (unquote(match["service"]), unquote(match["name"]))
        slo = next((s for s in daemon.loaded.slos if (s.service, s.name) == wanted), None)
        if slo is None:
            return ui.render(
                request, "slo_missing.html", status=404, service=wanted[0], slo_name=wanted[1]
            )
        snapshot = daemon.snapshot
        result = next((r for r in snapshot.results if r.slo.key == slo.key), None)
        chosen = request.arg("range", DEFAULT_RANGE)
        if chosen not in RANGES:
            chosen = DEFAULT_RANGE
        now = ui.clock()
        view = kept.view(now)
        span = result.span if result is not None else span_for(slo, now)
        ratios = view.window_ratios(slo, pair_windows(slo, daemon))
        pairs_note = ratios.reason if isinstance(ratios, Unavailable) else ""
        path = slo_path(slo)
        return ui.render(
            request,
            "slo_detail.html",
            slo=slo,
            row=row_of(
                slo,
                result,
                slo.key in snapshot.stale,
                snapshot.maintenance.get(slo.service, False),
            ),
            result=result,
            sli=snapshot.slis.get(slo.key),
            span=span,
            chosen=chosen,
            ranges=[(name, f"{path}?range={name}") for name in RANGES],
            burn_down=burn_down_chart(slo, span, view),
            ratio=ratio_chart(slo, chosen, view),
            p95=p95_chart(slo, chosen, view),
            pairs=pair_rows(slo, daemon, None if isinstance(ratios, Unavailable) else ratios),
            pairs_note=pairs_note,
            definition=definition_of(slo),
            incidents=incidents_of(slo, daemon),
            ratio_text=ratio_text,
            burn_text=burn_text,
            budget_minutes=_minutes_text,
        )

    return (
        route("GET", r"/slos", slo_list),
        route("GET", r"/slos/(?P<service>[^/]+)/(?P<name>[^/]+)", slo_detail),
    )


def _minutes_text(value: float | Decimal | None) -> str:
    if value is None:
        return NONE
    number = float(value)
    if not math.isfinite(number):
        return NONE
    return f"{number:.1f} min"
