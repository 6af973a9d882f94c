"""Tests for sloctl.report.render (and the pure SloResult of sloctl.reading.evaluation).

Results are built from :func:`sloctl.core.budget.assess_budget` the way the evaluator judges an
SLO, so no Prometheus and no fake reader are involved.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import math
import os
import re
import select
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from sloctl.core.budget import Counts, Status, assess_budget
from sloctl.core.selector import parse_selector
from sloctl.core.slo import CalendarWindow, LatencyIndicator, RatioIndicator, Slo, Window
from sloctl.core.window import Month, Span, WindowKind, calendar_span, span_for
from sloctl.promql.plan import counts_from
from sloctl.reading.evaluation import BURN_WINDOWS, CURRENT_BURN, Evaluation, SloResult
from sloctl.report.formats import OutputFormat
from sloctl.report.render import (
    HEADERS,
    clean,
    format_minutes,
    format_percent,
    format_rate,
    format_time_amount,
    render,
    render_csv,
    render_json,
    render_markdown,
    render_table,
    row,
)

AT = datetime(2026, 11, 15, 12, tzinfo=UTC)

ROW_KEYS = {
    "service",
    "slo",
    "sli",
    "objective",
    "window_start",
    "window_end",
    "budget_minutes",
    "consumed_minutes",
    "remaining_minutes",
    "error_ratio",
    "total_events",
    "bad_events",
    "burn_rates",
    "status",
}


def _ratio_slo(service: str, target: str = "0.999", window: Window | None = None) -> Slo:
    return Slo(
        service=service,
        name="availability",
        indicator=RatioIndicator(
            total=parse_selector(f'http_requests_total{{service="{service}"}}'),
            bad=parse_selector(f'http_requests_total{{service="{service}",code=~"5.."}}'),
        ),
        target=Decimal(target),
        window=window if window is not None else CalendarWindow("UTC"),
    )


def _latency_slo(service: str) -> Slo:
    return Slo(
        service=service,
        name="latency",
        indicator=LatencyIndicator(
            histogram=parse_selector(f'http_request_duration_seconds{{service="{service}"}}'),
            threshold_seconds=Decimal("0.2"),
        ),
        target=Decimal("0.95"),
    )


def _result(
    slo: Slo,
    counts: Counts | None,
    burn: Counts | None = None,
    *,
    span: Span | None = None,
    note: str = "",
) -> SloResult:
    """Judge ``slo`` as the evaluator does, from counts instead of Prometheus readings."""
    span = span if span is not None else span_for(slo, AT)
    burn_counts: dict[str, Counts | None] = {name: burn for name, _ in BURN_WINDOWS}
    budget = assess_budget(
        error_budget=slo.error_budget,
        window_length=span.length,
        measured=span.measured,
        time_left=span.left if span.kind is WindowKind.CALENDAR else None,
        counts=counts,
        current=burn_counts[CURRENT_BURN],
    )
    return SloResult(slo, span, counts, burn_counts, budget, note)


def _closed_april() -> Span:
    return calendar_span(Month(2026, 4), "UTC", AT)


def _evaluation() -> Evaluation:
    """Four SLOs, one per status, over the closed 30-day month of April 2026."""
    api = _ratio_slo("api")
    auth = _ratio_slo("auth", "0.9995")
    worker = _ratio_slo("ai-worker", "0.995")
    web = _ratio_slo("web")
    results = (
        # 0.01 % errors: 4.32 of 43.2 min
        _result(api, Counts(1_000_000, 100), Counts(1000, 0), span=_closed_april()),
        # 0.04 % errors: 17.28 of 21.6 min, 20 % left
        _result(auth, Counts(1_000_000, 400), Counts(1000, 0), span=_closed_april()),
        # 1 % errors: 432 of 216 min
        _result(worker, Counts(10_000, 100), Counts(1000, 10), span=_closed_april()),
        _result(web, None, None, span=_closed_april()),
    )
    return Evaluation(at=AT, results=results, queries=2)


def _strict_json(text: str) -> object:
    def refuse(constant: str) -> object:
        raise AssertionError(f"non-standard JSON constant {constant}")

    return json.loads(text, parse_constant=refuse)


# --------------------------------------------------------------------------- numbers


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(1 - 0.999, 0.001, id="one-minus-0.999"),
        pytest.param(0.1 + 0.2, 0.3, id="0.1-plus-0.2"),
        pytest.param(0.0009999999999999432, 0.001, id="docstring-example"),
        pytest.param(0.0144 / 0.001, 14.4, id="burn-rate-noise"),
        pytest.param(Decimal("43.200"), 43.2, id="decimal"),
        pytest.param(Decimal("0.9995"), 0.9995, id="objective"),
        pytest.param(0.0, 0.0, id="zero"),
        pytest.param(-21.6, -21.6, id="negative"),
        pytest.param(123456.789, 123456.789, id="large-kept"),
    ],
)
def test_clean_removes_float_noise(value: float | Decimal, expected: float) -> None:
    result = clean(value)
    assert isinstance(result, float)
    assert result == expected
    assert repr(result) == repr(expected)


def test_clean_keeps_none() -> None:
    assert clean(None) is None


def test_one_minus_three_nines_really_is_noisy() -> None:
    assert 1 - 0.999 != 0.001  # the reason clean() exists
    assert clean(1 - 0.999) == 0.001


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(43.2, "43.2 min", id="43.2"),
        pytest.param(Decimal("43.200"), "43.2 min", id="decimal-43.2"),
        pytest.param(216, "3.6 h", id="216-is-3.6h"),
        pytest.param(Decimal("216.000"), "3.6 h", id="decimal-216"),
        pytest.param(4.32, "4.32 min", id="4.32"),
        pytest.param(21.6, "21.6 min", id="21.6"),
        pytest.param(0, "0 min", id="zero"),
        pytest.param(119, "119 min", id="below-two-hours"),
        pytest.param(120, "2 h", id="two-hours"),
        pytest.param(2880, "2 d", id="two-days"),
        pytest.param(3600, "2.5 d", id="2.5-days"),
        pytest.param(-43.2, "-43.2 min", id="negative-minutes"),
        pytest.param(-216, "-3.6 h", id="negative-hours"),
        pytest.param(-4320, "-3 d", id="negative-days"),
        pytest.param(None, "-", id="none"),
    ],
)
def test_format_minutes(value: float | Decimal | None, expected: str) -> None:
    assert format_minutes(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(timedelta(hours=50), "2.08 d", id="50h"),
        pytest.param(timedelta(minutes=90), "90 min", id="90min"),
        pytest.param(timedelta(0), "0 min", id="zero"),
        pytest.param(None, "-", id="none"),
    ],
)
def test_format_duration(value: timedelta | None, expected: str) -> None:
    assert format_time_amount(value) == expected


@pytest.mark.parametrize(
    ("rate", "expected"),
    [(14.399999999999999, "14.40x"), (1.0, "1.00x"), (0.0, "0.00x"), (None, "-")],
    ids=["14.4", "1", "0", "none"],
)
def test_format_rate(rate: float | None, expected: str) -> None:
    assert format_rate(rate) == expected


@pytest.mark.parametrize(
    ("share", "expected"),
    [(0.2, "20.0%"), (1.0, "100.0%"), (-1.0, "-100.0%"), (None, "-")],
    ids=["20", "100", "overspent", "none"],
)
def test_format_percent(share: float | None, expected: str) -> None:
    assert format_percent(share) == expected


# --------------------------------------------------------------------------- SloResult


def test_slo_result_burn_rates_cover_every_short_window_and_the_window() -> None:
    slo = _ratio_slo("api")
    result = _result(slo, Counts(1_000_000, 500), Counts(1000, 2))
    rates = result.burn_rates
    assert set(rates) == {*(name for name, _ in BURN_WINDOWS), "window"}
    assert rates["1h"] == pytest.approx(2.0)
    assert rates["6h"] == pytest.approx(2.0)
    assert rates["window"] == pytest.approx(0.5)


def test_slo_result_burn_rates_of_a_silent_window_are_none() -> None:
    result = _result(_ratio_slo("api"), None, Counts(0, 0))
    assert result.budget.status is Status.NO_DATA
    assert all(rate is None for rate in result.burn_rates.values())


# --------------------------------------------------------------------------- JSON


def test_json_rows_have_the_runbook_keys_and_values() -> None:
    evaluation = _evaluation()
    out = io.StringIO()
    render_json(evaluation, out)
    rows = _strict_json(out.getvalue())
    assert isinstance(rows, list)
    assert len(rows) == 4
    for item in rows:
        assert set(item) >= ROW_KEYS
    by_service = {item["service"]: item for item in rows}
    api = by_service["api"]
    assert api["slo"] == "availability"
    assert api["sli"] == "error ratio"
    assert api["objective"] == 0.999
    assert api["window_start"] == "2026-04-01T00:00:00Z"
    assert api["window_end"] == "2026-05-01T00:00:00Z"
    assert api["budget_minutes"] == 43.2
    assert api["consumed_minutes"] == 4.32
    assert api["remaining_minutes"] == 38.88
    assert api["error_ratio"] == 0.0001
    assert api["total_events"] == 1_000_000
    assert api["bad_events"] == 100
    assert api["burn_rates"] == {"1h": 0.0, "6h": 0.0, "window": 0.1}
    assert api["status"] == "ok"
    assert by_service["auth"]["budget_minutes"] == 21.6
    assert by_service["auth"]["status"] == "at risk"
    assert by_service["ai-worker"]["budget_minutes"] == 216
    assert by_service["ai-worker"]["status"] == "exhausted"
    assert by_service["web"]["status"] == "no data"


def test_json_no_data_row_has_nulls_not_nan_and_is_never_all_good() -> None:
    item = row(_result(_ratio_slo("web"), None, None))
    text = json.dumps(item, allow_nan=False)
    assert "NaN" not in text
    assert item["status"] == "no data"
    for key in (
        "consumed_minutes",
        "remaining_minutes",
        "error_ratio",
        "total_events",
        "bad_events",
        "consumed_percent",
        "remaining_percent",
        "time_to_exhaustion_minutes",
    ):
        assert item[key] is None, key
    assert item["budget_minutes"] == 43.2
    assert item["burn_rates"] == {"1h": None, "6h": None, "window": None}


@pytest.mark.parametrize(
    ("counts", "burn"),
    [
        pytest.param(None, None, id="no-data"),
        pytest.param(Counts(0, 0), Counts(0, 0), id="zero-traffic"),
        pytest.param(Counts(1000, 0), Counts(10, 0), id="no-errors"),
        pytest.param(Counts(1000, 1000), Counts(10, 10), id="total-outage"),
        pytest.param(Counts(1000, 5000), Counts(10, 50), id="bad-above-total"),
    ],
)
def test_every_row_serialises_without_nan(counts: Counts | None, burn: Counts | None) -> None:
    item = row(_result(_ratio_slo("api"), counts, burn))
    json.dumps(item, allow_nan=False)
    for value in (v for v in item.values() if isinstance(v, float)):
        assert math.isfinite(value)


def test_row_of_a_nan_reading_serialises_without_nan() -> None:
    slo = _ratio_slo("api")
    counts, _ = counts_from(slo, {"total": math.nan, "bad": math.nan}, 86400)
    result = _result(slo, counts, None)
    assert result.budget.status is Status.NO_DATA
    item = json.loads(json.dumps(row(result), allow_nan=False))
    assert item["total_events"] is None
    assert item["bad_events"] is None


def test_row_windows_are_written_in_utc() -> None:
    slo = _ratio_slo("api", window=CalendarWindow("Europe/Berlin"))
    item = row(
        _result(slo, Counts(100, 0), span=calendar_span(Month(2026, 11), "Europe/Berlin", None))
    )
    assert item["window_start"] == "2026-10-31T23:00:00Z"
    assert item["window_end"] == "2026-11-30T23:00:00Z"
    assert item["window"] == "calendar"


def test_render_dispatches_json() -> None:
    out = io.StringIO()
    render(_evaluation(), OutputFormat.JSON, out)
    rows = _strict_json(out.getvalue())
    assert isinstance(rows, list)
    assert [item["service"] for item in rows] == ["api", "auth", "ai-worker", "web"]


# --------------------------------------------------------------------------- Markdown


def _markdown_cells(line: str) -> list[str]:
    assert line.startswith("| ")
    assert line.endswith(" |")
    inner = line[2:-2].replace("\\|", "\0")
    return [cell.replace("\0", "|") for cell in inner.split(" | ")]


def test_markdown_has_header_and_one_row_per_slo() -> None:
    out = io.StringIO()
    render_markdown(_evaluation(), out)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("### Error budgets at 2026-11-15T12:00:00Z")
    table = [line for line in lines if line.startswith("|")]
    assert table[0] == "| " + " | ".join(HEADERS) + " |"
    assert table[0].startswith("| Service | SLI | Objective | Budget | Consumed | Remaining |")
    assert table[1] == "|" + "|".join("---" for _ in HEADERS) + "|"
    body = [_markdown_cells(line) for line in table[2:]]
    assert len(body) == 4
    assert all(len(cells) == len(HEADERS) for cells in body)
    assert [cells[0] for cells in body] == ["api", "auth", "ai-worker", "web"]
    api = dict(zip(HEADERS, body[0], strict=True))
    assert api["Objective"] == "99.9%"
    assert api["Budget"] == "43.2 min"
    assert api["Consumed"] == "4.32 min (10.0%)"
    assert api["Status"] == "ok"
    web = dict(zip(HEADERS, body[3], strict=True))
    assert web["Consumed"] == "-"
    assert web["Remaining"] == "-"
    assert web["Status"] == "no data"
    worker = dict(zip(HEADERS, body[2], strict=True))
    assert worker["Budget"] == "3.6 h"
    assert worker["Time to exhaustion"] == "exhausted"


def test_markdown_escapes_pipes_in_cells() -> None:
    slo = Slo(
        service="a|b",
        name="x|y",
        indicator=_ratio_slo("a").indicator,
        target=Decimal("0.999"),
    )
    evaluation = Evaluation(AT, (_result(slo, Counts(100, 0)),), queries=2)
    out = io.StringIO()
    render_markdown(evaluation, out)
    rows = [line for line in out.getvalue().splitlines() if line.startswith("| ")]
    cells = _markdown_cells(rows[1])
    assert len(cells) == len(HEADERS)
    assert cells[0] == "a|b"


def test_markdown_lists_notes() -> None:
    slo = _latency_slo("web")
    result = _result(slo, None, note="no bucket le=0.2 in http_request_duration_seconds_bucket")
    out = io.StringIO()
    render_markdown(Evaluation(AT, (result,), queries=2), out)
    assert "> web/latency: no bucket le=0.2" in out.getvalue()


# --------------------------------------------------------------------------- CSV


def test_csv_has_header_plus_one_line_per_slo_with_flat_burn_rates() -> None:
    out = io.StringIO()
    render_csv(_evaluation(), out)
    text = out.getvalue()
    assert len(text.splitlines()) == 1 + 4
    reader = csv.DictReader(io.StringIO(text))
    fields = reader.fieldnames
    assert fields is not None
    assert {"burn_rate_1h", "burn_rate_6h", "burn_rate_window"} <= set(fields)
    assert "burn_rates" not in fields
    assert (ROW_KEYS - {"burn_rates"}) <= set(fields)
    rows = list(reader)
    assert [r["service"] for r in rows] == ["api", "auth", "ai-worker", "web"]
    assert rows[0]["burn_rate_window"] == "0.1"
    assert rows[2]["burn_rate_1h"] == "2.0"
    assert rows[3]["consumed_minutes"] == ""
    assert rows[3]["status"] == "no data"
    assert "nan" not in text.lower()


def test_csv_of_no_results_is_empty() -> None:
    out = io.StringIO()
    render_csv(Evaluation(AT, (), queries=0), out)
    assert out.getvalue() == ""


# --------------------------------------------------------------------------- table


def test_table_names_every_service_and_status() -> None:
    out = io.StringIO()
    render(_evaluation(), OutputFormat.TABLE, out)
    text = out.getvalue()
    for service in ("api", "auth", "ai-worker", "web"):
        assert service in text
    for status in ("ok", "at risk", "exhausted", "no data"):
        assert status in text
    assert "43.2 min" in text
    assert "3.6 h" in text
    assert "Error budgets at 2026-11-15T12:00:00Z" in text


def test_table_with_many_services_lists_them_all() -> None:
    services = [f"service-number-{index:02d}" for index in range(12)]
    results = tuple(_result(_ratio_slo(service), Counts(1000, 0)) for service in services)
    out = io.StringIO()
    render_table(Evaluation(AT, results, queries=2), out, width=200)
    text = out.getvalue()
    for service in services:
        assert service in text


def test_table_prints_notes() -> None:
    result = _result(_latency_slo("web"), None, note="no bucket le=0.2 here")
    out = io.StringIO()
    render_table(Evaluation(AT, (result,), queries=2), out, width=200)
    assert "note: web/latency: no bucket le=0.2 here" in out.getvalue()


HOSTILE = "api[/x] [red]=cmd|' /C calc'!A0"


def _hostile_evaluation() -> Evaluation:
    slo = _ratio_slo(HOSTILE)
    return Evaluation(at=AT, results=(_result(slo, Counts(1000, 1)),), queries=1)


def test_table_prints_a_service_name_as_text_not_markup() -> None:
    out = io.StringIO()
    render_table(_hostile_evaluation(), out, width=400)
    assert HOSTILE in out.getvalue()


def test_csv_quotes_text_a_spreadsheet_would_run() -> None:
    slo = _ratio_slo("=cmd|' /C calc'!A0")
    evaluation = Evaluation(at=AT, results=(_result(slo, Counts(1000, 1)),), queries=1)
    out = io.StringIO()
    render_csv(evaluation, out)
    (record,) = csv.DictReader(io.StringIO(out.getvalue()))
    assert record["service"] == "'=cmd|' /C calc'!A0"


def test_markdown_keeps_one_row_per_slo_whatever_the_name() -> None:
    slo = dataclasses.replace(_ratio_slo("x"), service="line\nbreak|pipe")
    evaluation = Evaluation(at=AT, results=(_result(slo, Counts(1000, 1)),), queries=1)
    out = io.StringIO()
    render_markdown(evaluation, out)
    rows = [line for line in out.getvalue().splitlines() if line.startswith("| line break")]
    assert len(rows) == 1
    assert "break\\|pipe" in rows[0]


def _on_a_terminal(env: dict[str, str]) -> str:
    """What render writes to a real terminal (a pseudo-terminal), as the terminal reads it."""
    leader, follower = os.openpty()
    try:
        with open(follower, "w", encoding="utf-8", closefd=False) as terminal:
            render(_evaluation(), OutputFormat.TABLE, terminal, env)
        chunks = []
        while select.select([leader], [], [], 0.5)[0]:
            chunk = os.read(leader, 65536)
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks).decode().replace("\r\n", "\n")
    finally:
        os.close(leader)
        os.close(follower)


def test_a_terminal_gets_its_width_and_colour_unless_told_otherwise(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COLUMNS", "175")  # the table is 183 wide, 169 with the SLIs wrapped
    coloured = _on_a_terminal({"TERM": "xterm"})
    assert "\x1b[1;31mexhausted" in coloured
    plain = re.sub(r"\x1b\[[0-9;]*m", "", coloured).splitlines()
    assert max(len(line) for line in plain[1:]) <= 175
    assert len(plain) > 1 + 3 + len(_evaluation().results) + 1  # some rows wrapped
    assert "\x1b" not in _on_a_terminal({"TERM": "xterm", "NO_COLOR": "1"})
    assert "\x1b" not in _on_a_terminal({"TERM": "dumb"})


def test_a_pipe_gets_whole_lines_and_no_colour() -> None:
    out = io.StringIO()
    render(_evaluation(), OutputFormat.TABLE, out, {"TERM": "xterm"})
    assert "\x1b" not in out.getvalue()
    assert len(out.getvalue().splitlines()) == 1 + 3 + len(_evaluation().results) + 1
