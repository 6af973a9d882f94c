"""The SRE UI's list of every SLO: one row per SLO with its budget, burn rates, status and time
to exhaustion, from the daemon's snapshot and configuration only (never a query to
Prometheus), sorted, filtered and searched as the query string says
(``/slos?service=api&status=exhausted&q=latency&sort=budget&dir=asc``); a value the page does
not know is ignored."""

from __future__ import annotations

import math
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from urllib.parse import quote, urlencode

from markupsafe import Markup

from sloctl.core.budget import Status
from sloctl.core.durations import format_duration, spoken_duration
from sloctl.core.slo import RollingWindow, Slo
from sloctl.daemon.exporter import Snapshot
from sloctl.daemon.loop import Daemon, Loaded
from sloctl.incidents.conditions import percent
from sloctl.reading.evaluation import SloResult
from sloctl.web.charts import budget_bar
from sloctl.web.request import Request
from sloctl.web.templates import NONE
from sloctl.web.templates import percent as percent_text

MAX_QUERY_TEXT = 200
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
    """An error ratio to three decimals of a percent: ``0.057%``."""
    return percent_text(value, 3)


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


# --- The rows of the snapshot in force -------------------------------------------------------


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
