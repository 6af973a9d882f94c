"""A table drawn in text (sloctl/report/text_table.py)."""

from __future__ import annotations

import re

import pytest

from sloctl.report.text_table import RESET, STYLES, Cell, draw_table, shown, text_width

HEADERS = ("Service", "SLI", "Status")
ROWS = [
    [Cell("api"), Cell("availability (error ratio)"), Cell("ok", "green")],
    [Cell("auth"), Cell("latency (latency <= 200 ms)"), Cell("exhausted", "bold red")],
    [Cell("検索"), Cell("availability (error ratio)"), Cell("ok (partial: data for 46.8%)", "dim")],
]
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def lines(text: str) -> list[str]:
    assert text.endswith("\n")
    return text[:-1].split("\n")


def test_every_line_of_the_box_is_as_wide_as_the_others() -> None:
    drawn = lines(draw_table("Budgets", HEADERS, ROWS))
    assert drawn[0] == "Budgets"
    box = drawn[1:]
    assert len({text_width(line) for line in box}) == 1
    assert box[0].startswith("┏")
    assert box[0].endswith("┓")
    assert box[2].startswith("┡")
    assert box[-1].startswith("└")
    assert "│ 検索    │" in box[5]  # two columns per wide character, padded to seven


def test_without_a_width_nothing_is_wrapped() -> None:
    drawn = lines(draw_table("t", HEADERS, ROWS))
    assert len(drawn) == 1 + 3 + len(ROWS) + 1
    assert any("ok (partial: data for 46.8%)" in line for line in drawn)


@pytest.mark.parametrize("width", [40, 55, 70])
def test_wrapped_columns_fit_the_width_and_keep_every_word(width: int) -> None:
    drawn = lines(draw_table("t", HEADERS, ROWS, wrap=("SLI", "Status"), width=width))
    box = drawn[1:]
    assert all(text_width(line) <= width for line in box)
    cells = [line.split("│")[2:4] for line in box if line.startswith("│")]
    words = " ".join(" ".join(cell.split()) for pair in cells for cell in pair).split()
    expected = " ".join(f"{row[1].text} {row[2].text}" for row in ROWS).split()
    assert sorted(words) == sorted(expected)


def test_a_width_too_small_keeps_words_whole_and_only_narrows_wrapped_columns() -> None:
    drawn = lines(draw_table("t", HEADERS, ROWS, wrap=("SLI",), width=10))
    assert any("│ availability " in line for line in drawn)  # its longest word, unbroken
    assert any("ok (partial: data for 46.8%)" in line for line in drawn)  # not wrapped


def test_colour_only_when_asked_and_only_on_styled_cells() -> None:
    plain = draw_table("t", HEADERS, ROWS)
    assert "\x1b" not in plain
    coloured = draw_table("t", HEADERS, ROWS, colour=True)
    assert f"{STYLES['green']}ok" in coloured
    assert f"{STYLES['bold red']}exhausted" in coloured
    assert coloured.count(RESET) == len(ROWS)
    assert ANSI.sub("", coloured) == plain


def test_nothing_in_a_cell_reaches_the_terminal_as_a_control() -> None:
    hostile = [[Cell("api\x1b[2J\x1b]0;owned\x07"), Cell("a\rb\nc\td"), Cell("[red]x[/red]")]]
    drawn = draw_table("title\x1b[31m", HEADERS, hostile, colour=True)
    assert not any(ch in drawn for ch in "\x1b\r\t\x07")
    assert "api?[2J?]0;owned?" in drawn
    assert "[red]x[/red]" in drawn  # text, never markup
    assert drawn.count("\n") == len(lines(drawn))


def test_shown_keeps_printable_text_and_spaces() -> None:
    assert shown("ai-worker 99.5% ≤ 2.5 s") == "ai-worker 99.5% ≤ 2.5 s"
    assert shown("a\u200bb\x00") == "a?b?"
