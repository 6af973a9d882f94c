"""``sloctl report``: the runbook's error-budget table filled in: table, JSON, Markdown, CSV."""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, TextIO

from sloctl.core.budget import Status
from sloctl.reading.evaluation import BURN_WINDOWS, Evaluation, SloResult
from sloctl.report.formats import OutputFormat
from sloctl.report.text_table import Cell, draw_table, shown

SIGNIFICANT_DIGITS = 12
COMPLETE_COVERAGE = 0.99
"""Below this share of the window with data, the status says the judgement is partial."""
BURN_NAMES = (*(name for name, _ in BURN_WINDOWS), "window")


def clean(value: float | Decimal | None) -> float | None:
    """A number fit to print: binary-float noise (0.0009999999999999432) rounded away.

    NaN and infinity are not numbers a report may show; they become None ("no data").
    """
    if value is None or not math.isfinite(value):
        return None
    return float(f"{float(value):.{SIGNIFICANT_DIGITS}g}")


def timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def row(result: SloResult) -> dict[str, Any]:
    """One SLO's line of the report, with plain JSON values."""
    slo, budget, span = result.slo, result.budget, result.span
    tte = budget.time_to_exhaustion
    return {
        "service": slo.service,
        "slo": slo.name,
        "sli": slo.indicator.describe(),
        "objective": clean(slo.target),
        "method": slo.method.value,
        "window": span.kind.value,
        "window_start": timestamp(span.start),
        "window_end": timestamp(span.end),
        "window_closes": timestamp(span.full_end),
        "budget_minutes": clean(budget.budget_minutes),
        "consumed_minutes": clean(budget.consumed_minutes),
        "consumed_percent": clean(_percent(budget.consumed_share)),
        "remaining_minutes": clean(budget.remaining_minutes),
        "remaining_percent": clean(_percent(budget.remaining_share)),
        "error_ratio": clean(budget.error_ratio),
        "total_events": clean(None if result.counts is None else result.counts.total),
        "bad_events": clean(None if result.counts is None else result.counts.bad),
        "burn_rates": {name: clean(rate) for name, rate in result.burn_rates.items()},
        "status": status_text(result),
        "coverage_percent": clean(_percent(result.coverage)),
        "time_to_exhaustion_minutes": None if tte is None else clean(tte.total_seconds() / 60),
        "note": result.note,
    }


def partial(result: SloResult) -> bool:
    """Judged on part of its window only: its history starts late, or has gaps."""
    return (
        result.coverage is not None
        and result.budget.status is not Status.NO_DATA
        and result.coverage < COMPLETE_COVERAGE
    )


def status_text(result: SloResult) -> str:
    """The status, saying so when it rests on part of the window: a window whose history
    starts late is not simply ``ok``, since its consumed minutes are extrapolated."""
    status = result.budget.status.value
    coverage = result.coverage
    if coverage is None or not partial(result):
        return status
    return f"{status} (partial: data for {format_percent(coverage)} of the window)"


def _percent(share: float | None) -> float | None:
    return None if share is None else share * 100


def format_minutes(value: float | Decimal | None) -> str:
    """Minutes the way the runbook writes them: ``43.2 min``, ``3.6 h``, ``2.5 d``."""
    if value is None:
        return "-"
    number = float(value)
    sign = "-" if number < 0 else ""
    size = round(abs(number), 2)  # so that 119.999 reads "2 h", not "120 min"
    if size < 120:
        text, unit = f"{size:.2f}", "min"
    elif size < 48 * 60:
        text, unit = f"{size / 60:.2f}", "h"
    else:
        text, unit = f"{size / 1440:.2f}", "d"
    text = text.rstrip("0").rstrip(".")
    return f"{sign}{text} {unit}"


def format_time_amount(value: timedelta | None) -> str:
    """A span written as an amount of time, as budgets are (``45 min``, ``1.5 h``, ``2 d``)."""
    if value is None:
        return "-"
    return format_minutes(value.total_seconds() / 60)


def format_rate(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}x"


def format_percent(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def format_objective(result: SloResult) -> str:
    percent = format((result.slo.target * 100).normalize(), "f")
    return f"{percent}%"


def _minutes_and_share(value: float | None, share: float | None) -> str:
    return f"{format_minutes(value)} ({format_percent(share)})"


def _exhaustion(result: SloResult) -> str:
    if result.budget.status is Status.EXHAUSTED:
        return "exhausted"
    return format_time_amount(result.budget.time_to_exhaustion)


def _cells(result: SloResult) -> list[str]:
    budget = result.budget
    rates = result.burn_rates
    if budget.status is Status.NO_DATA:
        consumed = remaining = "-"
    else:
        consumed = _minutes_and_share(budget.consumed_minutes, budget.consumed_share)
        remaining = _minutes_and_share(budget.remaining_minutes, budget.remaining_share)
    return [
        result.slo.service,
        f"{result.slo.name} ({result.slo.indicator.describe()})",
        format_objective(result),
        format_minutes(budget.budget_minutes),
        consumed,
        remaining,
        format_percent(result.coverage),
        *(format_rate(rates[name]) for name in BURN_NAMES),
        status_text(result),
        _exhaustion(result),
    ]


HEADERS = [
    "Service",
    "SLI",
    "Objective",
    "Budget",
    "Consumed",
    "Remaining",
    "Coverage",
    *(f"Burn {name}" for name in BURN_NAMES),
    "Status",
    "Time to exhaustion",
]
WRAPPED = ("SLI", "Status")
"""The columns wrapped at word boundaries when the table is wider than the terminal."""
STATUS_STYLE = {
    Status.OK: "green",
    Status.AT_RISK: "yellow",
    Status.EXHAUSTED: "bold red",
    Status.NO_DATA: "dim",
}


def _title(evaluation: Evaluation) -> str:
    windows = sorted({_window_text(r) for r in evaluation.results})
    return f"Error budgets at {timestamp(evaluation.at)} ({'; '.join(windows)})"


def _window_text(result: SloResult) -> str:
    span = result.span
    return f"{timestamp(span.start)} to {timestamp(span.full_end)}"


def _notes(results: Sequence[SloResult]) -> list[str]:
    return [f"{r.slo.key}: {r.note}" for r in results if r.note]


def render_table(
    evaluation: Evaluation, out: TextIO, *, width: int | None = None, colour: bool = False
) -> None:
    """The table for a terminal ``width`` columns wide (no limit when None: a pipe gets
    whole lines), the status in colour when ``colour``; then the notes."""
    status = HEADERS.index("Status")
    rows = []
    for result in evaluation.results:
        cells = [Cell(text) for text in _cells(result)]
        cells[status] = Cell(cells[status].text, STATUS_STYLE[result.budget.status])
        rows.append(cells)
    out.write(
        draw_table(_title(evaluation), HEADERS, rows, wrap=WRAPPED, width=width, colour=colour)
    )
    for note in _notes(evaluation.results):
        out.write(f"note: {shown(note)}\n")


def render_markdown(evaluation: Evaluation, out: TextIO) -> None:
    out.write(f"### {_title(evaluation)}\n\n")
    out.write("| " + " | ".join(HEADERS) + " |\n")
    out.write("|" + "|".join("---" for _ in HEADERS) + "|\n")
    for result in evaluation.results:
        cells = [" ".join(c.split()).replace("|", "\\|") for c in _cells(result)]
        out.write("| " + " | ".join(cells) + " |\n")
    for note in _notes(evaluation.results):
        out.write(f"\n> {note}\n")


def render_json(evaluation: Evaluation, out: TextIO) -> None:
    json.dump([row(r) for r in evaluation.results], out, indent=2)
    out.write("\n")


def _spreadsheet_safe(value: Any) -> Any:
    """Text that a spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@``) is quoted."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def render_csv(evaluation: Evaluation, out: TextIO) -> None:
    rows = []
    for result in evaluation.results:
        flat = row(result)
        rates = flat.pop("burn_rates")
        flat.update({f"burn_rate_{name}": rate for name, rate in rates.items()})
        rows.append({key: _spreadsheet_safe(value) for key, value in flat.items()})
    buffer = io.StringIO()
    if rows:
        writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    out.write(buffer.getvalue())


def render(
    evaluation: Evaluation,
    output: OutputFormat,
    out: TextIO,
    env: Mapping[str, str] | None = None,
) -> None:
    """``evaluation`` written to ``out`` as ``output``; a table on a terminal fits its width
    and shows the status in colour, unless ``env`` (the environment) sets ``NO_COLOR`` or
    ``TERM=dumb``."""
    env = env or {}
    if output is OutputFormat.TABLE:
        if not out.isatty():
            render_table(evaluation, out)
            return
        import shutil  # noqa: PLC0415 - a terminal's width (or $COLUMNS), only for a terminal

        render_table(
            evaluation,
            out,
            width=shutil.get_terminal_size().columns,
            colour=not env.get("NO_COLOR") and env.get("TERM") != "dumb",
        )
    elif output is OutputFormat.JSON:
        render_json(evaluation, out)
    elif output is OutputFormat.MARKDOWN:
        render_markdown(evaluation, out)
    else:
        render_csv(evaluation, out)
