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

The list's rows are made in :mod:`sloctl.web.slo_list`, the detail's values in
:mod:`sloctl.web.slo_detail`; this module holds the routes.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING
from urllib.parse import unquote

from sloctl.core.window import span_for
from sloctl.daemon.loop import Daemon
from sloctl.prometheus.client import PrometheusReader
from sloctl.promql.slices import QueryBudget
from sloctl.runtime.retry import RetryPolicy
from sloctl.web.history import (
    DEFAULT_RANGE,
    RANGES,
    HistoryCache,
    SloHistory,
    Unavailable,
)
from sloctl.web.request import Request
from sloctl.web.response import Response
from sloctl.web.site import Route, route

if TYPE_CHECKING:  # ui imports this module's routes
    from sloctl.web.ui import SreUi

from sloctl.web.slo_detail import (
    burn_down_chart,
    definition_of,
    incidents_of,
    minutes_text,
    p95_chart,
    pair_rows,
    pair_windows,
    ratio_chart,
)
from sloctl.web.slo_list import (
    COLUMNS,
    STATUS_FILTERS,
    ListRows,
    ListState,
    burn_text,
    ratio_text,
    row_of,
    slo_path,
)

PAGE_SECONDS = 10.0
"""How long one page view may wait for Prometheus in all."""
PAGE_RETRY = RetryPolicy(attempts=2, base_delay=0.2, max_delay=1.0)
"""A person is waiting: one quick retry, then the chart says why it is missing."""
MIN_CACHE_SECONDS = 5.0
"""The shortest time a chart's answer is kept (otherwise one daemon interval)."""


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
            budget_minutes=minutes_text,
        )

    return (
        route("GET", r"/slos", slo_list),
        route("GET", r"/slos/(?P<service>[^/]+)/(?P<name>[^/]+)", slo_detail),
    )
