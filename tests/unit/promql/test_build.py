"""Tests for sloctl.promql.build: shared split labels, shapes, escaping and the exact PromQL
text.
"""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from sloctl.core.selector import Matcher, Selector, parse_selector, quote
from sloctl.promql import build as promql
from sloctl.promql.build import Shape

TOTAL = parse_selector('http_requests_total{service="api"}')
BAD = parse_selector('http_requests_total{service="api",code=~"5.."}')

HOSTILE = [
    pytest.param('a"b', id="double-quote"),
    pytest.param('x"} or vector(1) #', id="quote-brace-injection"),
    pytest.param("back\\slash", id="backslash"),
    pytest.param("trailing\\", id="trailing-backslash"),
    pytest.param("line\nbreak", id="newline"),
    pytest.param("carriage\rreturn", id="carriage-return"),
    pytest.param('\\"}', id="backslash-quote-brace"),
    pytest.param("it's", id="single-quote"),
    pytest.param("a|b.c*", id="regex-metacharacters"),
]


def _sel(text: str) -> Selector:
    return parse_selector(text)


_UNESCAPE = {"n": "\n", "r": "\r", "t": "\t", "\\": "\\", '"': '"', "'": "'"}


def _lex_strings(expr: str) -> tuple[list[str], str]:
    """Split PromQL text into its double-quoted string values and the code around them.

    The code is returned with every string replaced by ``S``; a string left open is an error.
    """
    values: list[str] = []
    code: list[str] = []
    index = 0
    while index < len(expr):
        char = expr[index]
        if char != '"':
            code.append(char)
            index += 1
            continue
        index += 1
        value: list[str] = []
        while True:
            assert index < len(expr), f"unterminated string in {expr!r}"
            char = expr[index]
            assert char != "\n", f"raw line break inside a string in {expr!r}"
            if char == "\\":
                value.append(_UNESCAPE[expr[index + 1]])
                index += 2
            elif char == '"':
                index += 1
                break
            else:
                value.append(char)
                index += 1
        values.append("".join(value))
        code.append("S")
    return values, "".join(code)


# --------------------------------------------------------------------------- split labels


@pytest.mark.parametrize(
    ("selectors", "expected"),
    [
        pytest.param((TOTAL, BAD), ("service",), id="conventional-layout"),
        pytest.param(
            (_sel('t{service="a"}'), _sel('t{service="b",code=~"5.."}')), (), id="differing-values"
        ),
        pytest.param((TOTAL, None), ("service",), id="absent-side-ignored"),
        pytest.param((None, None), (), id="nothing"),
        pytest.param((), (), id="no-selectors"),
        pytest.param(
            (_sel('t{service="a",env="prod"}'), _sel('b{env="prod",service="a",code="500"}')),
            ("env", "service"),
            id="two-shared-sorted",
        ),
        pytest.param(
            (_sel('t{service="a",env="prod"}'), _sel('b{service="a",env="dev"}')),
            ("service",),
            id="one-of-two-shared",
        ),
        pytest.param(
            (_sel('t{service="a"}'), _sel('b{service=~"a"}')), (), id="regex-is-not-pinned"
        ),
        pytest.param((_sel("t"), _sel("b")), (), id="no-labels"),
    ],
)
def test_shared_split_labels(
    selectors: tuple[Selector | None, ...], expected: tuple[str, ...]
) -> None:
    assert promql.shared_split_labels(*selectors) == expected


# --------------------------------------------------------------------------- Shape


def test_shape_of_separates_split_values_from_fixed_matchers() -> None:
    shape, key = Shape.of(BAD, ("service",))
    assert key == ("api",)
    assert shape == Shape("http_requests_total", (Matcher("code", "=~", "5.."),), ("service",))


def test_shapes_of_different_services_are_equal() -> None:
    one, key_one = Shape.of(_sel('t{service="a",code=~"5.."}'), ("service",))
    two, key_two = Shape.of(_sel('t{code=~"5..",service="b"}'), ("service",))
    assert one == two
    assert (key_one, key_two) == (("a",), ("b",))


def test_shapes_with_different_fixed_matchers_differ() -> None:
    one, _ = Shape.of(_sel('t{service="a",code=~"5.."}'), ("service",))
    two, _ = Shape.of(_sel('t{service="a",code=~"4.."}'), ("service",))
    assert one != two


@pytest.mark.parametrize(
    ("keys", "expected"),
    [
        pytest.param([("api",)], 'http_requests_total{code=~"5..",service="api"}', id="one-key"),
        pytest.param(
            [("api",), ("api",)],
            'http_requests_total{code=~"5..",service="api"}',
            id="duplicate-key",
        ),
        pytest.param(
            [("b.c",), ("a",)],
            'http_requests_total{code=~"5..",service=~"a|b\\\\.c"}',
            id="escaped-alternation-sorted",
        ),
    ],
)
def test_shape_selector_renders(keys: list[tuple[str, ...]], expected: str) -> None:
    shape, _ = Shape.of(BAD, ("service",))
    assert shape.selector(keys).render() == expected


def test_shape_selector_alternation_text() -> None:
    shape, _ = Shape.of(TOTAL, ("service",))
    rendered = shape.selector([("a",), ("b.c",)]).render()
    assert 'service=~"a|b\\\\.c"' in rendered
    assert rendered == 'http_requests_total{service=~"a|b\\\\.c"}'


def test_shape_selector_with_two_split_labels_covers_the_cross_product() -> None:
    shape, _ = Shape.of(_sel('t{env="prod",service="a"}'), ("env", "service"))
    selector = shape.selector([("prod", "a"), ("dev", "b")])
    assert selector.render() == 't{env=~"dev|prod",service=~"a|b"}'


def test_shape_selector_single_value_per_label_uses_equality() -> None:
    shape, _ = Shape.of(_sel('t{env="prod",service="a"}'), ("env", "service"))
    selector = shape.selector([("prod", "a"), ("prod", "b")])
    assert selector.render() == 't{env="prod",service=~"a|b"}'


@pytest.mark.parametrize("values", [["a", "b.c"], ["x*", "y+z", "(w)"], ["a|b", "c"]])
def test_shape_selector_regex_matches_each_value_literally(values: list[str]) -> None:
    shape, _ = Shape.of(TOTAL, ("service",))
    rendered = shape.selector([(v,) for v in values]).render()
    matcher = parse_selector(rendered).matchers[-1]
    assert matcher.op == "=~"
    for value in values:
        assert re.fullmatch(matcher.value, value)
    assert not re.fullmatch(matcher.value, "aXb")
    assert not re.fullmatch(matcher.value, "bxc")


# --------------------------------------------------------------------------- text


@pytest.mark.parametrize(
    ("selector", "split", "seconds", "expected"),
    [
        pytest.param(
            TOTAL,
            ("service",),
            3600,
            'sum by (service) (increase(http_requests_total{service="api"}[1h]))',
            id="1h-by-service",
        ),
        pytest.param(
            BAD,
            ("service",),
            30 * 86400,
            'sum by (service) (increase(http_requests_total{service="api",code=~"5.."}[30d]))',
            id="30d",
        ),
        pytest.param(
            _sel("up_total"), (), 21600, "sum by () (increase(up_total[6h]))", id="no-split"
        ),
        pytest.param(
            _sel('t{env="p",service="a"}'),
            ("env", "service"),
            90,
            'sum by (env, service) (increase(t{env="p",service="a"}[1m30s]))',
            id="two-labels-90s",
        ),
    ],
)
def test_summed_increase_text(
    selector: Selector, split: tuple[str, ...], seconds: int, expected: str
) -> None:
    assert promql.summed_increase(selector, split, seconds) == expected


@pytest.mark.parametrize(
    ("labels", "expected"),
    [
        pytest.param({}, "x", id="no-labels"),
        pytest.param(
            {"sloctl_window": "3600"},
            'label_replace(x, "sloctl_window", "3600", "", "")',
            id="window",
        ),
        pytest.param(
            {"sloctl_window": "3600", "sloctl_part": "slices"},
            'label_replace(label_replace(x, "sloctl_part", "slices", "", ""), '
            '"sloctl_window", "3600", "", "")',
            id="two-labels-sorted",
        ),
    ],
)
def test_tagged_uses_label_replace_with_quoted_values(
    labels: dict[str, str], expected: str
) -> None:
    assert promql.tagged("x", **labels) == expected


def test_union_joins_with_or() -> None:
    assert promql.union(["a", "b", "c"]) == "a\nor\nb\nor\nc"


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_service_name_stays_inside_its_string(value: str) -> None:
    selector = Selector("http_requests_total", (Matcher("service", "=", value),))
    expr = promql.summed_increase(selector, ("service",), 3600)
    escaped = quote(value)
    assert expr == f"sum by (service) (increase(http_requests_total{{service={escaped}}}[1h]))"
    strings, code = _lex_strings(expr)
    assert strings == [value]
    assert code == "sum by (service) (increase(http_requests_total{service=S}[1h]))"
    assert "\n" not in expr
    assert "\r" not in expr
    inner = expr.removeprefix("sum by (service) (increase(").removesuffix("[1h]))")
    assert parse_selector(inner) == selector


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_value_in_label_replace_stays_inside_its_string(value: str) -> None:
    expr = promql.tagged("x", service=value)
    assert expr == f'label_replace(x, "service", {quote(value)}, "", "")'
    strings, code = _lex_strings(expr)
    assert strings == ["service", value, "", ""]
    assert code == "label_replace(x, S, S, S, S)"
    assert "\n" not in expr
    assert "\r" not in expr


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_value_in_alternation_is_escaped_and_matches_literally(value: str) -> None:
    shape, _ = Shape.of(TOTAL, ("service",))
    rendered = shape.selector([(value,), ("api",)]).render()
    assert "\n" not in rendered
    assert "\r" not in rendered
    matcher = parse_selector(rendered).matchers[-1]
    assert matcher.label == "service"
    assert matcher.op == "=~"
    assert re.fullmatch(matcher.value, value)
    assert re.fullmatch(matcher.value, "api")
    assert not re.fullmatch(matcher.value, value + "x")


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_value_in_bad_slice_round_trips(value: str) -> None:
    numerator = Selector("errors_total", (Matcher("service", "=", value),))
    total = Selector("requests_total", (Matcher("service", "=", value),))
    expr = promql.bad_slice(
        numerator,
        total,
        ("service",),
        300,
        numerator_is_good=False,
        slice_target=Decimal("0.95"),
    )
    assert "\n" not in expr
    strings, code = _lex_strings(expr)
    assert strings == [value, value, value]
    assert "0.05" in code
    found = re.findall(r"increase\((.*?)\[5m\]\)", expr)
    assert [parse_selector(text) for text in found] == [numerator, total, total]


# --------------------------------------------------------------------------- slices


@pytest.mark.parametrize(
    ("numerator_is_good", "target", "comparison"),
    [
        pytest.param(False, Decimal("0.95"), "> bool 0.05", id="bad-numerator-95"),
        pytest.param(True, Decimal("0.95"), "< bool 0.95", id="good-numerator-95"),
        pytest.param(False, Decimal("0.999"), "> bool 0.001", id="bad-numerator-99.9"),
        pytest.param(True, Decimal("0.9990"), "< bool 0.999", id="good-numerator-trailing-zero"),
        pytest.param(False, Decimal("0.9"), "> bool 0.1", id="bad-numerator-90"),
    ],
)
def test_bad_slice_comparison_uses_exact_decimal_text(
    numerator_is_good: bool, target: Decimal, comparison: str
) -> None:
    numerator = BAD if not numerator_is_good else _sel('ok_total{service="api"}')
    expr = promql.bad_slice(
        numerator,
        TOTAL,
        ("service",),
        300,
        numerator_is_good=numerator_is_good,
        slice_target=target,
    )
    assert expr.endswith(f" {comparison})")
    assert "0000000" not in expr
    assert "e-" not in expr.lower()


def test_bad_slice_full_text_for_bad_numerator() -> None:
    expr = promql.bad_slice(
        BAD, TOTAL, ("service",), 300, numerator_is_good=False, slice_target=Decimal("0.95")
    )
    total = 'sum by (service) (increase(http_requests_total{service="api"}[5m]))'
    bad = 'sum by (service) (increase(http_requests_total{service="api",code=~"5.."}[5m]))'
    assert expr == f"(({bad} or 0 * {total}) / {total} > bool 0.05)"
    assert "0.050000000000000044" not in expr


def test_numerator_or_zero_only_falls_back_on_the_numerator() -> None:
    expr = promql.numerator_or_zero(BAD, TOTAL, ("service",), 60)
    total = 'sum by (service) (increase(http_requests_total{service="api"}[1m]))'
    bad = 'sum by (service) (increase(http_requests_total{service="api",code=~"5.."}[1m]))'
    assert expr == f"({bad} or 0 * {total})"


@pytest.mark.parametrize(
    ("window", "step", "expected"),
    [
        pytest.param(86400, 300, "(x)[86399s:5m]", id="1d-by-5m"),
        pytest.param(30 * 86400, 60, "(x)[2591999s:1m]", id="30d-by-1m"),
        pytest.param(3600, 3600, "(x)[3599s:1h]", id="1h-by-1h"),
        pytest.param(21600, 90, "(x)[21599s:1m30s]", id="6h-by-90s"),
    ],
)
def test_subquery_range_is_one_second_short_of_the_window(
    window: int, step: int, expected: str
) -> None:
    assert promql.subquery("x", window, step) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(Decimal("0.050"), "0.05", id="trailing-zero"),
        pytest.param(1 - Decimal("0.95"), "0.05", id="subtraction"),
        pytest.param(Decimal("1E-4"), "0.0001", id="exponent"),
        pytest.param(Decimal("100"), "100", id="integer"),
        pytest.param(Decimal("2.5"), "2.5", id="plain"),
    ],
)
def test_decimal_text_is_plain_and_exact(value: Decimal, expected: str) -> None:
    assert promql.decimal_text(value) == expected


def test_error_ratio_text() -> None:
    assert promql.error_ratio("a", "b") == "(a) / (b)"


@pytest.mark.parametrize("label", ["nan", "Inf", "without", "bool"])
def test_labels_promql_cannot_group_by_are_never_split_on(label: str) -> None:
    total = parse_selector(f'x{{service="api",{label}="1"}}')
    bad = parse_selector(f'x{{service="api",{label}="1",code="500"}}')
    assert promql.shared_split_labels(total, bad) == ("service",)


def test_counted_reads_last_sample_to_last_sample_and_falls_back_to_increase() -> None:
    selector = parse_selector('http_requests_total{service="api"}')
    expr = promql.counted(selector, ["service"], 3_600_000, offset_millis=90_500)
    assert expr == (
        "sum by (service) ("
        '(http_requests_total{service="api"} offset 90500ms'
        ' - http_requests_total{service="api"} offset 3690500ms) >= 0'
        ' and resets(http_requests_total{service="api"}[1h] offset 90500ms) == 0'
        ' or increase(http_requests_total{service="api"}[1h] offset 90500ms))'
    )
    robust = promql.counted(selector, ["service"], 60_000, lookback_seconds=3600)
    assert 'last_over_time(http_requests_total{service="api"}[1h])' in robust
    assert 'last_over_time(http_requests_total{service="api"}[1h] offset 1m)' in robust


@pytest.mark.parametrize(
    ("millis", "text"), [(3_600_000, "1h"), (90_000, "1m30s"), (1_500, "1500ms")]
)
def test_millis_text(millis: int, text: str) -> None:
    assert promql.millis_text(millis) == text
