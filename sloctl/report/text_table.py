"""A table drawn in text for a terminal or a pipe: box lines, columns as wide as their text,
chosen columns wrapped at word boundaries to fit a width, and optional colour.

Drawn with the standard library only: ``sloctl report`` prints one table and exits, and a
terminal-rendering library would cost more to import than the report takes to print.
Text is never markup, and characters a terminal would act on (escape sequences, carriage
returns, other control characters) are shown as ``?`` so that no name in a definition or
an answer can move the cursor or change colours.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

RESET = "\x1b[0m"
STYLES: Mapping[str, str] = {
    "green": "\x1b[32m",
    "yellow": "\x1b[33m",
    "bold red": "\x1b[1;31m",
    "dim": "\x1b[2m",
}
"""The styles a cell may ask for, as the terminal's SGR sequences."""


@dataclass(frozen=True)
class Cell:
    text: str
    style: str | None = None
    """One of :data:`STYLES`, shown only when the table is drawn in colour."""


def shown(text: str) -> str:
    """``text`` with every character a terminal would act on replaced by ``?``."""
    return "".join(ch if ch.isprintable() or ch == " " else "?" for ch in text)


def text_width(text: str) -> int:
    """Columns ``text`` takes on a terminal: wide (East Asian) characters take two,
    combining marks none."""
    width = 0
    for ch in text:
        if unicodedata.combining(ch):
            continue
        width += 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
    return width


def _pad(text: str, width: int) -> str:
    return text + " " * (width - text_width(text))


def _fitted(natural: list[int], least: list[int], wrapped: Sequence[int], room: int) -> list[int]:
    """Column widths within ``room`` columns of text: the widest wrapped column is narrowed
    first, never below its longest word; what cannot fit is left wider than ``room``."""
    widths = list(natural)
    while sum(widths) > room:
        narrowable = [i for i in wrapped if widths[i] > least[i]]
        if not narrowable:
            break
        widest = max(narrowable, key=lambda i: widths[i])
        widths[widest] -= 1
    return widths


def draw_table(
    title: str,
    headers: Sequence[str],
    rows: Sequence[Sequence[Cell]],
    *,
    wrap: Sequence[str] = (),
    width: int | None = None,
    colour: bool = False,
) -> str:
    """The table as lines of text ending in a newline: ``title``, then a heavy head row and
    one light row per entry of ``rows``. The columns named in ``wrap`` are wrapped at word
    boundaries when the table would be wider than ``width`` (no limit when None)."""
    head = [shown(h) for h in headers]
    body = [[Cell(shown(c.text), c.style) for c in row] for row in rows]
    wrapped = [i for i, h in enumerate(headers) if h in wrap]
    natural = [
        max([text_width(head[i]), *(text_width(row[i].text) for row in body)])
        for i in range(len(head))
    ]
    least = [
        max(
            [
                text_width(word)
                for text in (head[i], *(row[i].text for row in body))
                for word in text.split()
            ]
            or [1]
        )
        for i in range(len(head))
    ]
    frame = 3 * len(head) + 1
    widths = natural if width is None else _fitted(natural, least, wrapped, width - frame)

    def lines_of(text: str, column: int) -> list[str]:
        if column in wrapped and text_width(text) > widths[column]:
            import textwrap  # noqa: PLC0415 - only when a cell must be wrapped

            return textwrap.wrap(text, widths[column], break_long_words=False) or [""]
        return [text]

    def draw_row(cells: Sequence[Cell], bar: str) -> list[str]:
        split = [lines_of(cell.text, i) for i, cell in enumerate(cells)]
        drawn = []
        for line in range(max(len(parts) for parts in split)):
            texts = []
            for i, parts in enumerate(split):
                text = _pad(parts[line] if line < len(parts) else "", widths[i])
                style = cells[i].style
                if colour and style is not None and text.strip():
                    text = f"{STYLES[style]}{text}{RESET}"
                texts.append(text)
            drawn.append(f"{bar} " + f" {bar} ".join(texts) + f" {bar}")
        return drawn

    def rule(left: str, line: str, joint: str, right: str) -> str:
        return left + joint.join(line * (w + 2) for w in widths) + right

    out = [shown(title)]
    out.append(rule("┏", "━", "┳", "┓"))
    out.extend(draw_row([Cell(h) for h in head], "┃"))
    out.append(rule("┡", "━", "╇", "┩"))
    for row in body:
        out.extend(draw_row(row, "│"))
    out.append(rule("└", "─", "┴", "┘"))
    return "\n".join(out) + "\n"
