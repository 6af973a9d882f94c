"""Parsing, rendering and escaping of PromQL series selectors (sloctl/core/selector.py)."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from sloctl.core.selector import (
    Matcher,
    Selector,
    number_regex,
    parse_selector,
    quote,
    regex_escape,
)
from sloctl.errors import SelectorSyntaxError

HOSTILE_VALUE = 'api"} or vector(1) #'


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("up", Selector("up"), id="plain-name"),
        pytest.param("job:rate5m:sum", Selector("job:rate5m:sum"), id="recording-rule-name"),
        pytest.param("up{}", Selector("up"), id="empty-braces"),
        pytest.param('up{job="api"}', Selector("up", (Matcher("job", "=", "api"),)), id="equal"),
        pytest.param(
            'up{job!="api"}', Selector("up", (Matcher("job", "!=", "api"),)), id="not-equal"
        ),
        pytest.param(
            'up{code=~"5.."}', Selector("up", (Matcher("code", "=~", "5.."),)), id="regex"
        ),
        pytest.param(
            'up{code!~"2.*"}', Selector("up", (Matcher("code", "!~", "2.*"),)), id="not-regex"
        ),
        pytest.param(
            "up{job='api'}", Selector("up", (Matcher("job", "=", "api"),)), id="single-quotes"
        ),
        pytest.param(
            "up{job=`api`}", Selector("up", (Matcher("job", "=", "api"),)), id="backticks"
        ),
        pytest.param(
            'up{job="api",}', Selector("up", (Matcher("job", "=", "api"),)), id="trailing-comma"
        ),
        pytest.param(
            ' \t up { job = "api" ,\n code =~ "5.." } \n',
            Selector("up", (Matcher("job", "=", "api"), Matcher("code", "=~", "5.."))),
            id="whitespace-everywhere",
        ),
        pytest.param(
            '{__name__="up", job="api"}',
            Selector("up", (Matcher("job", "=", "api"),)),
            id="dunder-name",
        ),
        pytest.param(
            'up{job="a",job!="b"}',
            Selector("up", (Matcher("job", "=", "a"), Matcher("job", "!=", "b"))),
            id="same-label-different-ops",
        ),
    ],
)
def test_parse_selector(text: str, expected: Selector) -> None:
    assert parse_selector(text) == expected


@pytest.mark.parametrize(
    ("literal", "value"),
    [
        pytest.param(r'"a\"b"', 'a"b', id="escaped-double-quote"),
        pytest.param(r'"a\\b"', "a\\b", id="escaped-backslash"),
        pytest.param(r'"a\nb"', "a\nb", id="newline"),
        pytest.param(r'"a\tb"', "a\tb", id="tab"),
        pytest.param(r'"\x41\x7a"', "Az", id="hex"),
        pytest.param(r'"caf\u00e9"', "café", id="unicode-4"),
        pytest.param(r'"\U0001F600"', "\U0001f600", id="unicode-8"),
        pytest.param(r"'it\'s'", "it's", id="escaped-single-quote"),
        pytest.param(r"'say \"hi\"'", 'say "hi"', id="double-quote-in-single"),
        pytest.param(r"`a\nb`", "a\\nb", id="backtick-is-raw"),
        pytest.param("`a\nb`", "a\nb", id="backtick-allows-line-break"),
        pytest.param("'a\"b'", 'a"b', id="bare-double-quote-in-single"),
    ],
)
def test_label_value_escapes(literal: str, value: str) -> None:
    selector = parse_selector(f"m{{l={literal}}}")
    assert selector.matchers == (Matcher("l", "=", value),)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        pytest.param("", "non-empty string", id="empty"),
        pytest.param("   ", "non-empty string", id="blank"),
        pytest.param('up{job="api', "unterminated label value", id="unterminated-double"),
        pytest.param("up{job='api}", "unterminated label value", id="unterminated-single"),
        pytest.param("up{job=`api}", "unterminated label value", id="unterminated-backtick"),
        pytest.param('up{job="api\\', "unfinished escape", id="unfinished-escape"),
        pytest.param('up{job="a\nb"}', "line break inside a label value", id="raw-newline"),
        pytest.param(r'up{job="\q"}', r"unknown escape \q", id="unknown-escape"),
        pytest.param(r'up{job="\x4"}', r"bad \x escape", id="short-hex-escape"),
        pytest.param(r'up{job="\xZZ"}', r"bad \x escape", id="non-hex-escape"),
        pytest.param('up{job~"api"}', "expected one of =, !=, =~, !~", id="bad-op-tilde"),
        pytest.param('up{job<"api"}', "expected one of =, !=, =~, !~", id="bad-op-less"),
        pytest.param('up{job=="api"}', "expected a quoted label value", id="bad-op-double-eq"),
        pytest.param("up{job=api}", "expected a quoted label value", id="unquoted-value"),
        pytest.param('{job="api"}', "needs a metric name", id="missing-metric-name"),
        pytest.param("5xx", "expected a metric name", id="metric-starts-with-digit"),
        pytest.param('up{1job="api"}', "expected a label name", id="bad-label-name"),
        pytest.param('up{code=~"5(.."}', "invalid regular expression", id="invalid-regex"),
        pytest.param('up{code!~"["}', "invalid regular expression", id="invalid-negative-regex"),
        pytest.param('up{job="a",job="b"}', "'job' is matched twice", id="duplicate-label-op"),
        pytest.param('up{job="a" code="b"}', "expected , or }", id="missing-comma"),
        pytest.param('up{job="a"', "missing closing }", id="missing-brace"),
        pytest.param('up{job="a"} or vector(1)', "unexpected text", id="trailing-junk"),
        pytest.param('up{job="a"}}', "unexpected text", id="extra-brace"),
        pytest.param("up down", "unexpected text", id="two-names"),
        pytest.param('up{__name__="up"}', "give the metric name once", id="name-twice"),
        pytest.param('{__name__=~"up"}', "give the metric name once", id="dunder-name-regex"),
        pytest.param('{__name__="1up"}', "is not a metric name", id="dunder-name-invalid"),
    ],
)
def test_parse_selector_rejects(text: str, reason: str) -> None:
    with pytest.raises(SelectorSyntaxError, match=re.escape(reason)):
        parse_selector(text)


def test_syntax_error_says_where() -> None:
    with pytest.raises(SelectorSyntaxError, match=re.escape("""at character 5 of 'up{a~"b"}'""")):
        parse_selector('up{a~"b"}')


@pytest.mark.parametrize(
    "selector",
    [
        pytest.param(Selector("up"), id="bare"),
        pytest.param(
            Selector(
                "http_requests_total",
                (
                    Matcher("service", "=", "api"),
                    Matcher("code", "=~", "5.."),
                    Matcher("method", "!=", "GET"),
                    Matcher("path", "!~", "/health.*"),
                ),
            ),
            id="all-ops",
        ),
        pytest.param(Selector("m", (Matcher("l", "=", HOSTILE_VALUE),)), id="injection"),
        pytest.param(Selector("m", (Matcher("l", "=", 'a\\"b\\'),)), id="backslashes"),
        pytest.param(Selector("m", (Matcher("l", "=", "a\nb\r\tc"),)), id="control-chars"),
        pytest.param(Selector("m", (Matcher("l", "=", "'`{}},=~"),)), id="punctuation"),
        pytest.param(Selector("m", (Matcher("l", "=", "café ✓ \U0001f600"),)), id="unicode"),
        pytest.param(Selector("m", (Matcher("l", "=", ""),)), id="empty-value"),
        pytest.param(
            Selector("m", (Matcher("l", "=~", regex_escape(HOSTILE_VALUE)),)),
            id="escaped-regex",
        ),
    ],
)
def test_render_round_trips(selector: Selector) -> None:
    assert parse_selector(selector.render()) == selector


@pytest.mark.parametrize(
    ("value", "literal"),
    [
        pytest.param("api", '"api"', id="plain"),
        pytest.param('a"b', '"a\\"b"', id="double-quote"),
        pytest.param("a\\b", '"a\\\\b"', id="backslash"),
        pytest.param("a\nb", '"a\\nb"', id="newline"),
        pytest.param("a\rb", '"a\\rb"', id="carriage-return"),
        pytest.param('\\"', '"\\\\\\""', id="backslash-then-quote"),
    ],
)
def test_quote(value: str, literal: str) -> None:
    assert quote(value) == literal


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(HOSTILE_VALUE, id="close-and-or"),
        pytest.param('x"}[5m]) > 0 or up{a="', id="close-and-reopen"),
        pytest.param('\\"} or vector(1) #', id="escaped-backslash-before-quote"),
        pytest.param('"}\nor vector(1)', id="newline"),
    ],
)
def test_quote_keeps_hostile_value_one_literal(value: str) -> None:
    rendered = f"up{{service={quote(value)}}}"
    assert "\n" not in rendered
    assert parse_selector(rendered) == Selector("up", (Matcher("service", "=", value),))


@pytest.mark.parametrize(
    ("literal", "near_miss"),
    [
        pytest.param("5..", "500", id="dot"),
        pytest.param("1.0", "100", id="decimal-point"),
        pytest.param("a+b", "aab", id="plus"),
        pytest.param("a*", "aaa", id="star"),
        pytest.param("ab?", "a", id="question-mark"),
        pytest.param("a|b", "a", id="alternation"),
        pytest.param("(x)", "x", id="group"),
        pytest.param("[ab]", "a", id="class"),
        pytest.param("a{2}", "aa", id="repetition"),
        pytest.param("^a$", "a", id="anchors"),
        pytest.param("\\d", "1", id="backslash"),
        pytest.param(HOSTILE_VALUE, 'api"} or vector(1) ', id="hostile"),
    ],
)
def test_regex_escape_matches_only_the_literal(literal: str, near_miss: str) -> None:
    pattern = regex_escape(literal)
    assert re.fullmatch(pattern, literal)
    assert not re.fullmatch(pattern, near_miss)


def test_regex_escape_leaves_ordinary_text_alone() -> None:
    assert regex_escape("api-v2_eu west/1") == "api-v2_eu west/1"


@pytest.mark.parametrize(
    ("bound", "matches", "misses"),
    [
        pytest.param(Decimal("1"), ("1", "1.0", "1.00"), ("10", "11", "1.", "0.1", "1.01"), id="1"),
        pytest.param(Decimal("1.0"), ("1", "1.0"), ("10", "1.5"), id="1.0"),
        pytest.param(Decimal("0.2"), ("0.2", "0.20", "0.200"), ("0.25", "0.02", "02"), id="0.2"),
        pytest.param(Decimal("0.20"), ("0.2", "0.20"), ("0.25", "0.21"), id="0.20"),
        pytest.param(Decimal("2.5"), ("2.5", "2.50"), ("25", "2.05", "2.55"), id="2.5"),
        pytest.param(Decimal("10"), ("10", "10.0"), ("1", "100", "1.0"), id="10"),
        pytest.param(Decimal("1E+1"), ("10", "10.0"), ("1", "1E+1"), id="10-exponent"),
    ],
)
def test_number_regex(bound: Decimal, matches: tuple[str, ...], misses: tuple[str, ...]) -> None:
    pattern = number_regex(bound)
    for text in matches:
        assert re.fullmatch(pattern, text), text
    for text in misses:
        assert not re.fullmatch(pattern, text), text


def test_equal_values_and_with_matcher() -> None:
    selector = parse_selector('m{service="api",code=~"5..",le="1"}')
    assert selector.equal_values() == {"service": "api", "le": "1"}
    replaced = selector.with_matcher(Matcher("le", "=~", "0.2"))
    assert replaced.matchers == (
        Matcher("service", "=", "api"),
        Matcher("code", "=~", "5.."),
        Matcher("le", "=~", "0.2"),
    )
    assert replaced.with_metric("n") == Selector("n", replaced.matchers)


def test_bucket_bounds_in_scientific_notation_match() -> None:
    pattern = number_regex(Decimal("0.00001"))
    assert re.fullmatch(pattern, "1e-05")
    assert re.fullmatch(pattern, "0.00001")
    assert not re.fullmatch(pattern, "1e-06")


def test_a_lone_surrogate_in_a_label_value_is_refused() -> None:
    with pytest.raises(SelectorSyntaxError, match="not valid UTF-8"):
        parse_selector(b'x{code="\\ud800"}'.decode("unicode_escape"))
