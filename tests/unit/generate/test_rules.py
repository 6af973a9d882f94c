"""Prometheus recording and alerting rules generated from the definitions
(sloctl/generate/rules.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from sloctl.core import conventions
from sloctl.core.durations import parse_duration
from sloctl.core.selector import Selector, parse_selector, quote
from sloctl.core.severity import LEVELS, Severity, spoken
from sloctl.core.slo import LatencyIndicator, RatioIndicator, Slo
from sloctl.errors import GenerationError
from sloctl.generate import rules
from sloctl.incidents.conditions import seconds_text, service_conditions
from sloctl.incidents.policy import Policy, Thresholds
from sloctl.loading.definitions import load_definitions
from sloctl.loading.policy_file import shipped_policy
from sloctl.promql import build as promql
from tests.paths import ROOT

POLICY = shipped_policy()
SHIPPED = ROOT / "slo-definitions"
SERVICES = ("ai-worker", "api", "auth", "database")
DAY = 86400

STRING = re.compile(r'"(?:[^"\\\n]|\\.)*"')
"""A PromQL double-quoted string literal, escapes included."""
RANGE = re.compile(r"\[([^\]]*)\]")
OWNER = re.compile(r"([A-Za-z_:][A-Za-z0-9_:]*)(\{[^{}]*\})?$")
DECIMAL = re.compile(r"(?<![\w.])\d+\.\d+(?![\w.])")
NOISE = re.compile(r"0{5,}[1-9]|9{5,}")
RECORDED = re.compile(r"\bsloctl:[a-z0-9_]+:[a-z0-9_]+")
ERROR_RATIO = re.compile(r"sloctl:error_ratio:rate(\w+)")

Rule = dict[str, Any]


@cache
def shipped() -> tuple[Slo, ...]:
    return load_definitions(SHIPPED)


@cache
def shipped_rules() -> dict[str, str]:
    return rules.render_rules(shipped(), POLICY)


def parsed(text: str) -> list[dict[str, Any]]:
    document = yaml.safe_load(text)
    assert isinstance(document, dict)
    assert list(document) == ["groups"]
    groups = document["groups"]
    assert isinstance(groups, list)
    return groups


SILENCE = "\n)\nunless on(service)\n(sloctl_maintenance_active == 1)"
"""How every generated condition alert ends: silent while its service is in maintenance."""


def unsilenced(expr: str) -> str:
    """The condition inside a generated alert's maintenance silence (which must be there)."""
    assert expr.startswith("(\n"), expr
    assert expr.endswith(SILENCE), expr
    return expr[2 : -len(SILENCE)]


def all_rules(text: str) -> Iterator[Rule]:
    """Every rule, each condition alert's expression taken out of its maintenance silence."""
    for group in parsed(text):
        for rule in group["rules"]:
            if "alert" in rule and rule["alert"] != "SloctlNoData":
                yield {**rule, "expr": unsilenced(rule["expr"])}
            else:
                yield rule


def code_of(expr: str) -> str:
    """``expr`` with every string literal emptied, so label values cannot look like code."""
    return STRING.sub('""', expr)


def string_values(expr: str, label: str) -> list[str]:
    """The values matched to ``label`` in ``expr``, unescaped by sloctl's own selector parser."""
    values = []
    for match in STRING.finditer(expr):
        if re.search(rf"[{{,]\s*{label}\s*(=|!=|=~|!~)\s*$", expr[: match.start()]):
            selector = parse_selector(f"x{{{label}={match.group(0)}}}")
            values.append(selector.matchers[0].value)
    return values


def ratio_spec(
    service: str,
    *,
    name: str = "availability",
    target: str = "99.9%",
    window: dict[str, str] | None = None,
    description: str | None = None,
) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "name": name,
        "indicator": {
            "ratio": {
                "total": f"http_requests_total{{service={quote(service)}}}",
                "bad": f'http_requests_total{{service={quote(service)},code=~"5.."}}',
            }
        },
        "objective": {"target": target},
        "window": window or {"rolling": "30d"},
    }
    if description is not None:
        spec["description"] = description
    return spec


def latency_spec(
    service: str,
    *,
    name: str = "latency",
    threshold: str = "200ms",
    window: dict[str, str] | None = None,
) -> dict[str, Any]:
    return {
        "name": name,
        "indicator": {
            "latency": {
                "histogram": f"http_request_duration_seconds{{service={quote(service)}}}",
                "threshold": threshold,
            }
        },
        "objective": {"target": "95%"},
        "window": window or {"rolling": "30d"},
    }


def write_service(directory: Path, service: str, *specs: dict[str, Any]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"service-{len(list(directory.iterdir()))}.yaml"
    document = {"service": service, "slos": list(specs)}
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")


# The shipped definitions


def test_one_file_per_shipped_service() -> None:
    assert sorted(shipped_rules()) == [f"{service}.yaml" for service in SERVICES]


@pytest.mark.parametrize("service", SERVICES)
def test_three_groups_per_file(service: str) -> None:
    text = shipped_rules()[f"{service}.yaml"]
    assert text.startswith("# Generated by `sloctl generate rules`")
    groups = parsed(text)
    assert [(g["name"], g["interval"]) for g in groups] == [
        (f"sloctl-{service}-slis", "1m"),
        (f"sloctl-{service}-budget", "2m"),
        (f"sloctl-{service}-alerts", "1m"),
    ]
    slis, budget, alerts = groups
    assert all("record" in rule for rule in slis["rules"] + budget["rules"])
    assert all("alert" in rule for rule in alerts["rules"])
    assert slis["rules"]
    assert budget["rules"]
    assert alerts["rules"]


def _is_recorded_name(name: str) -> bool:
    constants = {
        conventions.EVENTS_RATE,
        conventions.BAD_EVENTS_RATE,
        conventions.LATENCY_P95,
        conventions.OBJECTIVE,
        conventions.BUDGET_REMAINING,
    }
    if name in constants:
        return True
    match = ERROR_RATIO.fullmatch(name)
    if match is None:
        return False
    try:
        seconds = parse_duration(match[1])
    except ValueError:
        return False
    return conventions.error_ratio_name(seconds) == name


@pytest.mark.parametrize("service", SERVICES)
def test_every_recorded_name_is_a_promql_constant(service: str) -> None:
    names = {r["record"] for r in all_rules(shipped_rules()[f"{service}.yaml"]) if "record" in r}
    assert names
    assert all(_is_recorded_name(name) for name in names), names
    assert not _is_recorded_name("sloctl:error_ratio:rate1x")


@pytest.mark.parametrize("service", SERVICES)
def test_every_rule_carries_service_and_slo_labels(service: str) -> None:
    names = {slo.name for slo in shipped() if slo.service == service}
    assert names == {"availability", "latency"}
    seen = set()
    for rule in all_rules(shipped_rules()[f"{service}.yaml"]):
        assert rule["labels"]["service"] == service
        assert rule["labels"]["slo"] in names
        seen.add(rule["labels"]["slo"])
    assert seen == names


def long_ranges(expr: str) -> list[tuple[str, int]]:
    """Every ``[range]`` in ``expr`` with what it applies to (a metric, or ``)`` for a subquery)."""
    code = code_of(expr)
    found = []
    for match in RANGE.finditer(code):
        owner = OWNER.search(code[: match.start()])
        seconds = parse_duration(match[1].split(":")[0])
        found.append((owner[1] if owner else code[: match.start()][-1:], seconds))
    return found


def test_long_ranges_sees_subqueries_and_raw_selectors() -> None:
    assert long_ranges('sum(rate(x{a="[1d]"}[5m]))') == [("x", 300)]
    assert long_ranges("(sum(rate(x[5m])))[4w:5m]") == [("x", 300), (")", 28 * DAY)]
    assert long_ranges('sum_over_time(sloctl:a:b{c="d"}[1w])') == [("sloctl:a:b", 7 * DAY)]


@pytest.mark.parametrize("service", SERVICES)
def test_no_raw_selector_under_a_range_of_a_day_or_more(service: str) -> None:
    checked = 0
    for rule in all_rules(shipped_rules()[f"{service}.yaml"]):
        for owner, seconds in long_ranges(rule["expr"]):
            checked += 1
            if seconds >= DAY:
                assert owner.startswith("sloctl:"), rule["expr"]
    assert checked > 0


@pytest.mark.parametrize(
    ("service", "fast", "slow"),
    [
        pytest.param("api", ("0.0144", "0.006"), ("0.003", "0.001"), id="api-99.9%"),
        pytest.param("auth", ("0.0072", "0.003"), ("0.0015", "0.0005"), id="auth-99.95%"),
        pytest.param("ai-worker", ("0.072", "0.03"), ("0.015", "0.005"), id="ai-worker-99.5%"),
        pytest.param("database", ("0.00144", "0.0006"), ("0.0003", "0.0001"), id="db-99.99%"),
    ],
)
def test_burn_thresholds_are_exact_decimals(
    service: str, fast: tuple[str, str], slow: tuple[str, str]
) -> None:
    text = shipped_rules()[f"{service}.yaml"]
    exprs = {
        r["alert"]: r["expr"]
        for r in all_rules(text)
        if "alert" in r and r["labels"]["slo"] == "availability"
    }
    assert re.findall(r" > ([0-9.]+)", exprs["SloctlBudgetBurnFast"]) == [
        fast[0],
        fast[0],
        fast[1],
        fast[1],
    ]
    assert re.findall(r" > ([0-9.]+)", exprs["SloctlBudgetBurnSlow"]) == [
        slow[0],
        slow[0],
        slow[1],
        slow[1],
    ]
    assert "0.014400000000000001" not in text


@pytest.mark.parametrize("service", SERVICES)
def test_no_number_shows_binary_float_noise(service: str) -> None:
    numbers = [
        number
        for rule in all_rules(shipped_rules()[f"{service}.yaml"])
        for number in DECIMAL.findall(code_of(rule["expr"]))
    ]
    assert numbers
    for number in numbers:
        digits = "".join(str(d) for d in Decimal(number).as_tuple().digits)
        assert NOISE.search(digits) is None, number
        assert len(digits) <= 12, number


SEVERITIES: dict[str, tuple[str, str, str]] = {
    "SloctlBudgetBurnFast": ("P3", "page", "0s"),
    "SloctlBudgetBurnSlow": ("ticket", "ticket", "15m"),
    "SloctlErrorRatioOutage": ("P1", "page", "0s"),
    "SloctlErrorRatioMajor": ("P2", "page", "30m"),
    "SloctlErrorRatioSustained": ("P3", "page", "5m"),
    "SloctlLatencySevere": ("P2", "page", "5m"),
    "SloctlLatencyDegradedLong": ("P2", "page", "1h"),
    "SloctlLatencyDegraded": ("P3", "page", "5m"),
    "SloctlNoData": ("ticket", "ticket", "10m"),
}


def shipped_alerts() -> Iterator[tuple[str, Rule]]:
    for service in SERVICES:
        for rule in all_rules(shipped_rules()[f"{service}.yaml"]):
            if "alert" in rule:
                yield service, rule


def test_alert_names_per_indicator_kind() -> None:
    names: dict[tuple[str, str], list[str]] = {}
    for service, rule in shipped_alerts():
        names.setdefault((service, rule["labels"]["slo"]), []).append(rule["alert"])
    for (service, slo), found in names.items():
        if slo == "availability":
            assert found == [
                "SloctlBudgetBurnFast",
                "SloctlBudgetBurnSlow",
                "SloctlErrorRatioOutage",
                "SloctlErrorRatioMajor",
                "SloctlErrorRatioSustained",
                "SloctlNoData",
            ]
        else:
            # At a threshold of 500 ms or more, the severe P2 alert (5 minutes) covers both
            # conditions on the SLO threshold: they would only ever fire beside it.
            degraded = (
                []
                if service == "ai-worker"
                else ["SloctlLatencyDegradedLong", "SloctlLatencyDegraded"]
            )
            assert found == [
                "SloctlBudgetBurnFast",
                "SloctlBudgetBurnSlow",
                "SloctlLatencySevere",
                *degraded,
                "SloctlNoData",
            ]
    assert len(names) == 8


@pytest.mark.parametrize("name", sorted(SEVERITIES))
def test_alerts_carry_severity_urgency_and_runbook_targets(name: str) -> None:
    severity, urgency, duration = SEVERITIES[name]
    descriptions = {(s.service, s.name): s.description for s in shipped()}
    matching = [(service, rule) for service, rule in shipped_alerts() if rule["alert"] == name]
    assert matching
    for service, rule in matching:
        labels, notes = rule["labels"], rule["annotations"]
        assert labels == {
            "service": service,
            "slo": labels["slo"],
            "severity": severity,
            "urgency": urgency,
        }
        assert rule["for"] == duration
        assert notes["summary"].startswith(f"{service} {labels['slo']}: ")
        assert notes["runbook"].startswith("incident-response-runbook.md section ")
        assert notes["description"] == descriptions[(service, labels["slo"])]
        if severity in {"P1", "P2", "P3"}:
            level = LEVELS[Severity(severity)]
            assert notes["response_target"] == spoken(level.response)
            assert notes["resolution_target"] == spoken(level.resolution)
        else:
            assert "response_target" not in notes
            assert "resolution_target" not in notes


@pytest.mark.parametrize(
    ("severity", "response", "resolution"),
    [
        pytest.param("P1", "5 min", "1 hour", id="P1"),
        pytest.param("P2", "15 min", "4 hours", id="P2"),
        pytest.param("P3", "1 hour", "24 hours", id="P3"),
    ],
)
def test_runbook_targets_as_written(severity: str, response: str, resolution: str) -> None:
    found = {
        (rule["annotations"]["response_target"], rule["annotations"]["resolution_target"])
        for _, rule in shipped_alerts()
        if rule["labels"]["severity"] == severity
    }
    assert found == {(response, resolution)}


@pytest.mark.parametrize(
    ("service", "severe", "threshold"),
    [
        pytest.param("ai-worker", "2.5", "2.5", id="ai-worker"),
        pytest.param("api", "0.5", "0.2", id="api"),
        pytest.param("auth", "0.5", "0.2", id="auth"),
        pytest.param("database", "0.5", "0.2", id="database"),
    ],
)
def test_latency_alerts(service: str, severe: str, threshold: str) -> None:
    p95 = f'sloctl:latency_p95:seconds5m{{service="{service}",slo="latency"}}'
    exprs = {
        rule["alert"]: rule["expr"]
        for s, rule in shipped_alerts()
        if s == service and rule["labels"]["slo"] == "latency"
    }
    assert exprs["SloctlLatencySevere"] == f"{p95} > {severe}"
    if severe == threshold:  # the P2 alert covers them: nothing else on the same condition
        assert "SloctlLatencyDegraded" not in exprs
        assert "SloctlLatencyDegradedLong" not in exprs
    else:
        assert exprs["SloctlLatencyDegradedLong"] == f"{p95} > {threshold}"
        assert exprs["SloctlLatencyDegraded"] == f"{p95} > {threshold}"


def test_latency_severe_threshold_is_max_of_half_a_second_and_the_slo() -> None:
    for slo in shipped():
        if isinstance(slo.indicator, LatencyIndicator):
            [severe] = [
                a
                for a in rules.alerts(slo, service_conditions(POLICY.for_service(slo.service)))
                if a.alert == "SloctlLatencySevere"
            ]
            expected = max(Decimal("0.5"), slo.indicator.threshold_seconds)
            assert unsilenced(severe.expr).endswith(f" > {promql.decimal_text(expected)}")
            assert f"above {seconds_text(expected)} over" in severe.annotations["summary"]


@pytest.mark.parametrize("service", SERVICES)
def test_error_ratio_alerts(service: str) -> None:
    ratio = f'sloctl:error_ratio:rate5m{{service="{service}",slo="availability"}}'
    found = {
        rule["alert"]: (rule["expr"], rule["for"])
        for s, rule in shipped_alerts()
        if s == service and rule["alert"].startswith("SloctlErrorRatio")
    }
    [budget] = [s.error_budget for s in shipped() if s.key == f"{service}/availability"]
    sustained = promql.decimal_text(10 * budget)  # the shipped policy's 10x the budget
    assert found == {
        "SloctlErrorRatioOutage": (f"{ratio} > 0.5", "0s"),
        "SloctlErrorRatioMajor": (f"{ratio} > 0.1", "30m"),
        "SloctlErrorRatioSustained": (f"{ratio} > {sustained}", "5m"),
    }


@pytest.mark.parametrize("service", SERVICES)
def test_no_data_is_absent_of_the_total_selector(service: str) -> None:
    found = {
        rule["labels"]["slo"]: rule["expr"]
        for s, rule in shipped_alerts()
        if s == service and rule["alert"] == "SloctlNoData"
    }
    assert found == {
        "availability": f'absent(http_requests_total{{service="{service}"}})',
        "latency": f'absent(http_request_duration_seconds_count{{service="{service}"}})',
    }
    for slo in shipped():
        if slo.service == service:
            assert found[slo.name] == f"absent({slo.indicator.total.render()})"


def test_rendering_is_deterministic() -> None:
    first = rules.render_rules(shipped(), POLICY)
    second = rules.render_rules(load_definitions(SHIPPED), POLICY)
    assert first == second
    assert rules.render_rules(list(shipped()), POLICY) == first


@pytest.mark.parametrize("service", SERVICES)
def test_no_yaml_anchors_or_aliases(service: str) -> None:
    text = shipped_rules()[f"{service}.yaml"]
    assert re.search(r"[&*]id\d", text) is None
    for event in yaml.parse(text):
        assert not isinstance(event, yaml.AliasEvent)
        assert getattr(event, "anchor", None) is None


def test_multi_line_expressions_use_block_style() -> None:
    text = shipped_rules()["api.yaml"]
    assert "    expr: |-\n      (\n      (\n        sloctl:error_ratio:rate1h{" in text


# Windows other than the shipped 30 days


WINDOWS = [
    pytest.param({"rolling": "30d"}, ["1d", "3d", "30d"], id="30d"),
    pytest.param({"rolling": "28d"}, ["1d", "3d", "4w"], id="28d"),
    pytest.param({"rolling": "7d"}, ["1d", "3d", "1w"], id="7d"),
    pytest.param({"calendar": "month"}, ["1d", "3d", "30d"], id="calendar"),
]


@pytest.mark.parametrize(("window", "budget_ranges"), WINDOWS)
def test_records_per_window(
    tmp_path: Path, window: dict[str, str], budget_ranges: list[str]
) -> None:
    write_service(
        tmp_path, "api", ratio_spec("api", window=window), latency_spec("api", window=window)
    )
    [slis, budget, _] = parsed(rules.render_rules(load_definitions(tmp_path), POLICY)["api.yaml"])
    short = ["5m", "30m", "1h", "2h", "6h"]
    assert [(r["record"], r["labels"]["slo"]) for r in slis["rules"]] == [
        *(
            (name, "availability")
            for name in (
                "sloctl:events:rate5m",
                "sloctl:bad_events:rate5m",
                *(f"sloctl:error_ratio:rate{w}" for w in short),
            )
        ),
        *(
            (name, "latency")
            for name in (
                "sloctl:events:rate5m",
                "sloctl:bad_events:rate5m",
                *(f"sloctl:error_ratio:rate{w}" for w in short),
                "sloctl:latency_p95:seconds5m",
            )
        ),
    ]
    expected_budget = [
        *(f"sloctl:error_ratio:rate{w}" for w in budget_ranges),
        "sloctl:slo_objective:ratio",
        "sloctl:error_budget_remaining:ratio",
    ]
    assert [r["record"] for r in budget["rules"]] == expected_budget * 2
    remaining = budget["rules"][len(expected_budget) - 1]
    assert remaining["expr"] == (
        f'1 - sloctl:error_ratio:rate{budget_ranges[-1]}{{service="api",slo="availability"}}'
        " / 0.001"
    )
    assert budget["rules"][len(expected_budget) - 2]["expr"] == "vector(0.999)"


@pytest.mark.parametrize(("window", "budget_ranges"), WINDOWS)
def test_every_series_an_expression_reads_is_recorded_in_the_file(
    tmp_path: Path, window: dict[str, str], budget_ranges: list[str]
) -> None:
    write_service(
        tmp_path, "api", ratio_spec("api", window=window), latency_spec("api", window=window)
    )
    text = rules.render_rules(load_definitions(tmp_path), POLICY)["api.yaml"]
    recorded = {(r["record"], r["labels"]["slo"]) for r in all_rules(text) if "record" in r}
    for rule in all_rules(text):
        for name in RECORDED.findall(code_of(rule["expr"])):
            assert (name, rule["labels"]["slo"]) in recorded, (name, rule["expr"])
    assert {f"sloctl:error_ratio:rate{w}" for w in budget_ranges} <= {n for n, _ in recorded}


@pytest.mark.parametrize(
    "window",
    [
        pytest.param({"rolling": "30d"}, id="30d"),
        pytest.param({"rolling": "28d"}, id="28d"),
        pytest.param({"rolling": "7d"}, id="7d"),
        pytest.param({"rolling": "2d12h"}, id="2d12h"),
        pytest.param({"calendar": "month"}, id="calendar"),
        pytest.param({"rolling": "6h"}, id="6h"),
    ],
)
def test_no_series_is_recorded_twice(tmp_path: Path, window: dict[str, str]) -> None:
    write_service(tmp_path, "api", ratio_spec("api", window=window), latency_spec("api"))
    text = rules.render_rules(load_definitions(tmp_path), POLICY)["api.yaml"]
    keys = [
        (r["record"], tuple(sorted(r["labels"].items()))) for r in all_rules(text) if "record" in r
    ]
    assert len(keys) == len(set(keys))


# Hostile service names


HOSTILE = [
    pytest.param('api"} or vector(1) or {x="', id="selector-injection"),
    pytest.param("line\nbreak\\back", id="newline-backslash"),
    pytest.param('tail\\"} or on() vector(1) #', id="backslash-quote"),
    pytest.param("cr\rhere", id="carriage-return"),
]


@pytest.mark.parametrize("service", HOSTILE)
def test_hostile_service_names_reach_promql_only_escaped(tmp_path: Path, service: str) -> None:
    write_service(tmp_path, service, ratio_spec(service), latency_spec(service))
    slos = load_definitions(tmp_path)
    assert {slo.service for slo in slos} == {service}
    files = rules.render_rules(slos, POLICY)
    assert list(files) == [f"{rules.file_stem(service)}.yaml"]
    text = files[f"{rules.file_stem(service)}.yaml"]
    recovered: list[str] = []
    for rule in all_rules(text):
        assert rule["labels"]["service"] == service
        expr = rule["expr"]
        assert service not in expr
        values = string_values(expr, "service")
        if not expr.startswith("vector("):
            assert values, expr
        recovered += values
        if rule.get("alert") == "SloctlNoData":
            inner = parse_selector(expr.removeprefix("absent(").removesuffix(")"))
            assert inner.equal_values() == {"service": service}
    assert len(recovered) > 30
    assert set(recovered) == {service}


@pytest.mark.parametrize("service", HOSTILE)
def test_hostile_service_names_survive_in_labels_and_annotations(
    tmp_path: Path, service: str
) -> None:
    write_service(tmp_path, service, ratio_spec(service))
    text = next(iter(rules.render_rules(load_definitions(tmp_path), POLICY).values()))
    groups = parsed(text)
    assert [g["name"] for g in groups] == [
        f"sloctl-{service}-slis",
        f"sloctl-{service}-budget",
        f"sloctl-{service}-alerts",
    ]
    for rule in groups[2]["rules"]:
        assert rule["annotations"]["summary"].startswith(f"{service} availability: ")


def test_string_values_helper_unescapes() -> None:
    expr = 'a{service="x\\"y",code=~"5.."} / b{slo="s", service="p\\nq"}'
    assert string_values(expr, "service") == ['x"y', "p\nq"]
    assert string_values(expr, "code") == ["5.."]


@pytest.mark.parametrize(
    ("service", "stem"),
    [
        pytest.param("api", "api", id="plain"),
        pytest.param("ai-worker", "ai-worker", id="dash"),
        pytest.param("a.b_c-D9", "a.b_c-D9", id="allowed-punctuation"),
        pytest.param('api"} or vector(1) or {x="', "api___or_vector_1__or__x__", id="injection"),
        pytest.param("line\nbreak\\back", "line_break_back", id="newline-backslash"),
        pytest.param("../../etc/passwd", "_.._etc_passwd", id="path-traversal"),
        pytest.param("..", "_", id="dots-only"),
        pytest.param(".hidden", "hidden", id="leading-dot"),
        pytest.param("a/b", "a_b", id="slash"),
        pytest.param("café", "caf_", id="non-ascii"),
        pytest.param("", "_", id="empty"),
    ],
)
def test_file_stem(service: str, stem: str) -> None:
    assert rules.file_stem(service) == stem
    assert re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9._-]*", stem)
    assert "/" not in stem
    assert stem not in {".", ".."}


@pytest.mark.parametrize(
    ("first", "second"),
    [
        pytest.param("a b", "a_b", id="space-and-underscore"),
        pytest.param("a/b", "a\\b", id="slash-and-backslash"),
        pytest.param(".api", "api", id="leading-dot"),
    ],
)
def test_services_sharing_a_file_name_are_refused(first: str, second: str) -> None:
    slos = [
        Slo(
            name, "availability", RatioIndicator(_sel(name), _sel(name, bad=True)), Decimal("0.999")
        )
        for name in (first, second)
    ]
    assert rules.file_stem(first) == rules.file_stem(second)
    with pytest.raises(GenerationError, match=re.escape(f"{rules.file_stem(first)}.yaml")):
        rules.render_rules(slos, POLICY)


def _sel(service: str, *, bad: bool = False) -> Selector:
    extra = ',code=~"5.."' if bad else ""
    return parse_selector(f"http_requests_total{{service={quote(service)}{extra}}}")


def test_services_with_distinct_file_names_each_get_a_file() -> None:
    slos = [
        Slo(
            name, "availability", RatioIndicator(_sel(name), _sel(name, bad=True)), Decimal("0.999")
        )
        for name in ("b", "a", "c")
    ]
    assert list(rules.render_rules(slos, POLICY)) == ["a.yaml", "b.yaml", "c.yaml"]


API_OVERRIDE = replace(
    Thresholds(),
    major_error_ratio=Decimal("0.2"),
    major_for=timedelta(minutes=10),
    sustained_burn_rate=Decimal("5"),
    sustained_for=timedelta(minutes=8),
    severe_p95_seconds=Decimal("0.3"),
)
"""A policy override for api only: the generated alerts of api follow it, no one else's."""


def alerts_by_name(files: dict[str, str], service: str) -> dict[tuple[str, str], Rule]:
    return {
        (rule["labels"]["slo"], rule["alert"]): rule
        for rule in all_rules(files[f"{service}.yaml"])
        if "alert" in rule
    }


def test_a_service_override_changes_that_services_alerts_only() -> None:
    overridden = rules.render_rules(shipped(), Policy(services={"api": API_OVERRIDE}))
    api = alerts_by_name(overridden, "api")
    ratio = 'sloctl:error_ratio:rate5m{service="api",slo="availability"}'
    p95 = 'sloctl:latency_p95:seconds5m{service="api",slo="latency"}'
    major = api[("availability", "SloctlErrorRatioMajor")]
    assert (major["expr"], major["for"]) == (f"{ratio} > 0.2", "10m")
    assert "above 20% over 5 min for more than 10 min" in major["annotations"]["summary"]
    sustained = api[("availability", "SloctlErrorRatioSustained")]
    assert (sustained["expr"], sustained["for"]) == (f"{ratio} > 0.005", "8m")
    assert "(5x the error budget)" in sustained["annotations"]["summary"]
    assert api[("latency", "SloctlLatencySevere")]["expr"] == f"{p95} > 0.3"
    for service in ("ai-worker", "auth", "database"):
        assert overridden[f"{service}.yaml"] == shipped_rules()[f"{service}.yaml"]
    assert overridden["api.yaml"] != shipped_rules()["api.yaml"]


def test_defaults_of_a_policy_reach_every_service() -> None:
    strict = Policy(defaults=replace(Thresholds(), outage_error_ratio=Decimal("0.3")))
    files = rules.render_rules(shipped(), strict)
    for service in SERVICES:
        outage = alerts_by_name(files, service)[("availability", "SloctlErrorRatioOutage")]
        assert outage["expr"].endswith(" > 0.3")


def test_a_signal_window_the_rules_do_not_record_is_refused() -> None:
    odd = Policy(services={"auth": replace(Thresholds(), signal_window=timedelta(minutes=7))})
    with pytest.raises(GenerationError, match=r"service 'auth'.*over 7m"):
        rules.render_rules(shipped(), odd)
