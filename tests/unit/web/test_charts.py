"""The SVG charts: well-formed, named for assistive technology, escaped, styled by classes
only, with gaps where there is no value and thresholds where they belong."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence

from sloctl.web.charts import Line, Threshold, budget_bar, line_chart

SVG = "{http://www.w3.org/2000/svg}"
HOSTILE = '<script>alert(1)</script>"><img src=x onerror=alert(1)>'


def _chart(points: Sequence[tuple[float, float | None]], **options: object) -> str:
    values = {
        "chart_id": "c1",
        "title": f"Error ratio of {HOSTILE}",
        "summary": f"Peak 2% for {HOSTILE}.",
        "lines": (Line(f"errors of {HOSTILE}", points),),
        "thresholds": (Threshold("objective", 0.001),),
        "start": points[0][0],
        "end": points[-1][0],
        "value_text": lambda v: f"{v * 100:.1f}%",
        **options,
    }
    return str(line_chart(**values))  # type: ignore[arg-type]


def _parsed(markup: str) -> ET.Element:
    return ET.fromstring(markup.replace("<svg ", f'<svg xmlns="{SVG[1:-1]}" ', 1))


def test_a_line_chart_draws_every_point_on_one_path() -> None:
    points = [(1_800_000_000.0 + 300 * i, 0.001 * (i % 7)) for i in range(288)]
    figure = _parsed(_chart(points))
    svg = figure.find(f"{SVG}svg")
    assert svg is not None
    [line] = [p for p in svg.iter(f"{SVG}path") if p.get("class") == "line"]
    assert len(re.findall(r"[ML]", line.get("d", ""))) == 288
    [threshold] = [el for el in svg.iter(f"{SVG}line") if el.get("class") == "threshold"]
    assert threshold.get("y1") == threshold.get("y2")


def test_it_is_named_and_described_and_has_a_text_fallback() -> None:
    markup = _chart([(0.0, 0.01), (3600.0, 0.02)])
    figure = _parsed(markup)
    svg = figure.find(f"{SVG}svg")
    assert svg is not None
    assert svg.get("role") == "img"
    assert svg.get("aria-labelledby") == "c1-title c1-desc"
    title, desc = svg.find(f"{SVG}title"), svg.find(f"{SVG}desc")
    assert title is not None
    assert title.get("id") == "c1-title"
    assert desc is not None
    assert desc.get("id") == "c1-desc"
    assert title.text == f"Error ratio of {HOSTILE}"  # the text itself, read back unescaped
    caption = figure.find("figcaption")
    assert caption is not None
    assert caption.text == f"Peak 2% for {HOSTILE}."


def test_text_is_escaped_and_nothing_is_styled_inline() -> None:
    markup = _chart([(0.0, 0.01), (3600.0, 0.02)])
    assert "<script>" not in markup
    assert "<img" not in markup
    assert "&lt;script&gt;" in markup
    assert "style=" not in markup


def test_a_missing_value_breaks_the_line() -> None:
    points = [(float(i * 60), None if i == 5 else 0.01) for i in range(10)]
    figure = _parsed(_chart(points))
    [line] = [p for p in figure.iter(f"{SVG}path") if p.get("class") == "line"]
    assert line.get("d", "").count("M") == 2


def test_a_burn_down_fills_the_area_under_its_line_down_to_the_floor() -> None:
    points = [(float(i * 3600), 1.0 - i * 0.1) for i in range(6)]
    figure = _parsed(_chart(points, area=True, ceiling=1.0, thresholds=()))
    [area] = [p for p in figure.iter(f"{SVG}path") if p.get("class") == "area"]
    assert area.get("d", "").endswith("Z")
    ticks = [t.text for t in figure.iter(f"{SVG}text") if "%" in (t.text or "")]
    assert ticks[0] == "0.0%"
    assert ticks[-1] == "100.0%"


def test_a_threshold_outside_the_drawn_values_still_sets_the_scale() -> None:
    figure = _parsed(_chart([(0.0, 0.0), (60.0, 0.0)], thresholds=(Threshold("limit", 0.5),)))
    assert [el for el in figure.iter(f"{SVG}line") if el.get("class") == "threshold"]


def test_a_budget_bar_is_sized_by_an_attribute_and_clamped() -> None:
    half = str(budget_bar(0.42, f"{HOSTILE} budget"))
    assert 'width="42"' in half
    assert "42.0%" in half
    assert "style=" not in half
    assert "<script>" not in half
    assert "&lt;script&gt;" in half
    spent = str(budget_bar(-1.5, "spent"))
    assert 'width="0"' in spent
    assert "fill bad" in spent
    assert "-150.0%" in spent
    assert 'width="100"' in str(budget_bar(1.0, "whole"))
    assert "<svg" not in str(budget_bar(None, "no data"))
