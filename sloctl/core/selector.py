"""PromQL series selectors: parsed from definitions, escaped and rendered back into PromQL.

Definitions name their series as PromQL selectors (``http_requests_total{service="api"}``).
sloctl parses them instead of pasting strings, so every label value that reaches a query is
escaped by :func:`quote`, and selectors that differ only in one label can share a query.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from sloctl.errors import SelectorSyntaxError

MatchOp = Literal["=", "!=", "=~", "!~"]

METRIC_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_OPS: tuple[MatchOp, ...] = ("=~", "!~", "!=", "=")
_SIMPLE_ESCAPES = {
    "\\": "\\",
    '"': '"',
    "'": "'",
    "n": "\n",
    "t": "\t",
    "r": "\r",
    "a": "\a",
    "b": "\b",
    "f": "\f",
    "v": "\v",
}
_RE2_SPECIAL = set("\\.+*?()|[]{}^$")


def quote(value: str) -> str:
    """A PromQL double-quoted string literal holding exactly ``value``."""
    escaped = (
        value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    )
    return f'"{escaped}"'


def regex_escape(value: str) -> str:
    """Escape ``value`` so that an RE2 regular expression matches it literally."""
    return "".join(f"\\{ch}" if ch in _RE2_SPECIAL else ch for ch in value)


def number_regex(value: Decimal) -> str:
    """A regex matching a bucket bound however it was written: ``1``, ``1.0``, ``0.2``, ``0.20``.

    Prometheus 3 normalises ``le="1"`` to ``le="1.0"``; matching both keeps latency SLIs working
    across versions and client libraries.
    """
    text = format(value.normalize(), "f")
    plain = regex_escape(text) + ("0*" if "." in text else "(\\.0+)?")
    scientific = repr(float(value))  # how Python and Go clients write 1e-05
    if "e" in scientific:
        return f"{plain}|{regex_escape(scientific)}"
    return plain


@dataclass(frozen=True, order=True)
class Matcher:
    label: str
    op: MatchOp
    value: str

    def render(self) -> str:
        return f"{self.label}{self.op}{quote(self.value)}"


@dataclass(frozen=True)
class Selector:
    """A metric name and label matchers, as in ``name{a="b",c=~"d"}``."""

    metric: str
    matchers: tuple[Matcher, ...] = ()

    def render(self) -> str:
        if not self.matchers:
            return self.metric
        return f"{self.metric}{{{','.join(m.render() for m in self.matchers)}}}"

    def equal_values(self) -> dict[str, str]:
        """Labels this selector pins with ``=``, and their values."""
        return {m.label: m.value for m in self.matchers if m.op == "="}

    def with_metric(self, metric: str) -> Selector:
        return Selector(metric, self.matchers)

    def with_matcher(self, matcher: Matcher) -> Selector:
        kept = tuple(m for m in self.matchers if m.label != matcher.label)
        return Selector(self.metric, (*kept, matcher))


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def fail(self, why: str) -> SelectorSyntaxError:
        return SelectorSyntaxError(f"{why} at character {self.pos + 1} of {self.text!r}")

    def skip_space(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def name(self, pattern: re.Pattern[str], what: str) -> str:
        self.skip_space()
        match = pattern.match(self.text, self.pos)
        if match is None:
            raise self.fail(f"expected a {what}")
        self.pos = match.end()
        return match.group(0)

    def string(self) -> str:
        self.skip_space()
        if self.pos >= len(self.text) or self.text[self.pos] not in "\"'`":
            raise self.fail("expected a quoted label value")
        quote_char = self.text[self.pos]
        self.pos += 1
        out: list[str] = []
        while self.pos < len(self.text):
            ch = self.text[self.pos]
            self.pos += 1
            if ch == quote_char:
                return "".join(out)
            if ch == "\\" and quote_char != "`":
                out.append(self.escape())
            elif ch == "\n" and quote_char != "`":
                raise self.fail("line break inside a label value")
            else:
                out.append(ch)
        raise self.fail("unterminated label value")

    def escape(self) -> str:
        if self.pos >= len(self.text):
            raise self.fail("unfinished escape")
        ch = self.text[self.pos]
        self.pos += 1
        if ch in _SIMPLE_ESCAPES:
            return _SIMPLE_ESCAPES[ch]
        widths = {"x": 2, "u": 4, "U": 8}
        if ch in widths:
            digits = self.text[self.pos : self.pos + widths[ch]]
            if len(digits) != widths[ch] or not all(c in "0123456789abcdefABCDEF" for c in digits):
                raise self.fail(f"bad \\{ch} escape")
            self.pos += widths[ch]
            return chr(int(digits, 16))
        raise self.fail(f"unknown escape \\{ch}")

    def op(self) -> MatchOp:
        self.skip_space()
        for op in _OPS:
            if self.text.startswith(op, self.pos):
                self.pos += len(op)
                return op
        raise self.fail("expected one of =, !=, =~, !~")

    def parse(self) -> Selector:
        self.skip_space()
        metric = ""
        if self.pos < len(self.text) and self.text[self.pos] != "{":
            metric = self.name(METRIC_NAME, "metric name")
        matchers: list[Matcher] = []
        self.skip_space()
        if self.pos < len(self.text) and self.text[self.pos] == "{":
            self.pos += 1
            matchers = self.matcher_list()
        self.skip_space()
        if self.pos != len(self.text):
            raise self.fail("unexpected text after the selector")
        names = [m for m in matchers if m.label == "__name__"]
        if names:
            if metric or len(names) > 1 or names[0].op != "=":
                raise self.fail('give the metric name once, as name{...} or __name__="..."')
            metric = names[0].value
            matchers = [m for m in matchers if m.label != "__name__"]
            if not METRIC_NAME.fullmatch(metric):
                raise self.fail(f"{metric!r} is not a metric name")
        if not metric:
            raise self.fail("a selector needs a metric name")
        return Selector(metric, tuple(matchers))

    def matcher_list(self) -> list[Matcher]:
        matchers: list[Matcher] = []
        while True:
            self.skip_space()
            if self.pos < len(self.text) and self.text[self.pos] == "}":
                self.pos += 1
                return matchers
            label = self.name(LABEL_NAME, "label name")
            op = self.op()
            value = self.string()
            try:
                value.encode("utf-8")
            except UnicodeEncodeError as exc:
                raise self.fail("label value is not valid UTF-8") from exc
            if op in ("=~", "!~"):
                _check_regex(value, self)
            matchers.append(Matcher(label, op, value))
            self.skip_space()
            if self.pos < len(self.text) and self.text[self.pos] == ",":
                self.pos += 1
            elif self.pos >= len(self.text):
                raise self.fail("missing closing }")
            elif self.text[self.pos] != "}":
                raise self.fail("expected , or }")


def _check_regex(value: str, parser: _Parser) -> None:
    try:
        re.compile(value)
    except re.error as exc:
        raise parser.fail(f"invalid regular expression {value!r} ({exc})") from exc


def parse_selector(text: str) -> Selector:
    """Parse ``name{label op "value", ...}``; raises SelectorSyntaxError on any mistake."""
    if not isinstance(text, str) or not text.strip():
        raise SelectorSyntaxError("a selector must be a non-empty string")
    selector = _Parser(text).parse()
    seen: set[tuple[str, str]] = set()
    for matcher in selector.matchers:
        key = (matcher.label, matcher.op)
        if key in seen:
            raise SelectorSyntaxError(f"label {matcher.label!r} is matched twice in {text!r}")
        seen.add(key)
    return selector
