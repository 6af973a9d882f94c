"""Grafana dashboards generated from the definitions (sloctl/generate/dashboards.py)."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from decimal import Decimal
from functools import cache
from typing import Any

import pytest
import yaml

from sloctl.core import burn
from sloctl.core.selector import parse_selector, quote
from sloctl.core.slo import CalendarWindow, RatioIndicator, RollingWindow, Slo, Window
from sloctl.daemon.exporter import CycleDurations, exposition
from sloctl.errors import GenerationError
from sloctl.generate import dashboards, rules
from sloctl.incidents.policy import Policy, Thresholds
from sloctl.loading.definitions import load_definitions
from sloctl.loading.policy_file import shipped_policy
from sloctl.promql import build as promql
from tests.paths import ROOT
from tests.unit.daemon.test_exporter import snapshot as full_snapshot

POLICY = shipped_policy()
SHIPPED = ROOT / "slo-definitions"
SERVICES = ("ai-worker", "api", "auth", "database")
FILES = ("overview.json", *(f"{service}.json" for service in SERVICES))
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
DAY = 86400
RECORDED = re.compile(r"\bsloctl:[a-z0-9_]+:[a-z0-9_]+")
STRING = re.compile(r'"(?:[^"\\\n]|\\.)*"')
SLOCTL_METRIC = re.compile(r"\bsloctl_[a-z0-9_]+")
ANNOTATION = re.compile(r"max by \(service, severity, incident\) \((?P<selector>.*)\) > 0")
GRAFANA_UID = re.compile(r"[A-Za-z0-9_-]{1,40}")
"""What Grafana accepts as a dashboard uid (util.IsValidShortUID, at most 40 characters)."""

Json = dict[str, Any]


@cache
def shipped() -> tuple[Slo, ...]:
    return load_definitions(SHIPPED)


@cache
def shipped_files() -> dict[str, str]:
    return dashboards.render_dashboards(shipped(), POLICY)


def board(name: str) -> Json:
    loaded = json.loads(shipped_files()[name])
    assert isinstance(loaded, dict)
    return loaded


def panels(doc: Json) -> Iterator[Json]:
    """Every panel, rows included, and panels inside collapsed rows."""
    for panel in doc.get("panels", []):
        yield panel
        yield from panel.get("panels", [])


def query_panels(doc: Json) -> list[Json]:
    return [p for p in panels(doc) if p.get("type") != "row"]


def panel(doc: Json, title: str) -> Json:
    [found] = [p for p in query_panels(doc) if p.get("title") == title]
    return found


def steps(found: Json) -> list[tuple[float | None, str]]:
    thresholds = found["fieldConfig"]["defaults"]["thresholds"]
    assert thresholds["mode"] == "absolute"
    return [(step["value"], step["color"]) for step in thresholds["steps"]]


def ratio_slo(service: str, target: str = "0.999", window: Window | None = None) -> Slo:
    total = parse_selector(f"http_requests_total{{service={quote(service)}}}")
    bad = parse_selector(f'http_requests_total{{service={quote(service)},code=~"5.."}}')
    return Slo(
        service,
        "availability",
        RatioIndicator(total, bad),
        Decimal(target),
        window or RollingWindow(30 * DAY),
    )


def render_one(slo: Slo) -> Json:
    files = dashboards.render_dashboards([slo], POLICY)
    loaded = json.loads(files[f"{rules.file_stem(slo.service)}.json"])
    assert isinstance(loaded, dict)
    return loaded


def test_overview_and_one_dashboard_per_service() -> None:
    assert sorted(shipped_files()) == sorted((*FILES, dashboards.DAEMON_FILE))
    assert next(iter(shipped_files())) == "overview.json"


@pytest.mark.parametrize("name", FILES)
def test_json_is_valid_with_sorted_keys(name: str) -> None:
    text = shipped_files()[name]
    assert json.dumps(json.loads(text), sort_keys=True, indent=2) + "\n" == text


@pytest.mark.parametrize("name", FILES)
def test_datasource_is_a_template_variable(name: str) -> None:
    variables = board(name)["templating"]["list"]
    [variable] = [v for v in variables if v["name"] == "datasource"]
    assert variable["type"] == "datasource"
    assert variable["query"] == "prometheus"


@pytest.mark.parametrize("name", FILES)
def test_every_panel_target_and_annotation_uses_the_variable(name: str) -> None:
    doc = board(name)
    found = query_panels(doc)
    assert found
    targets = 0
    for item in found:
        assert item["datasource"] == DATASOURCE, item.get("title")
        assert item["targets"]
        for target in item["targets"]:
            targets += 1
            # A target without its own data source uses its panel's.
            assert target.get("datasource", item["datasource"])["uid"] == "${datasource}"
    assert targets >= len(found)
    for annotation in doc["annotations"]["list"]:
        assert annotation["datasource"] == DATASOURCE
    assert "${datasource}" in json.dumps(doc)
    uids = {
        json.dumps(value, sort_keys=True)
        for value in _all_values(doc, "datasource")
        if isinstance(value, dict)
    }
    assert uids == {json.dumps(DATASOURCE, sort_keys=True)}


def _all_values(document: Any, key: str) -> Iterator[Any]:
    if isinstance(document, dict):
        for name, value in document.items():
            if name == key:
                yield value
            yield from _all_values(value, key)
    elif isinstance(document, list):
        for item in document:
            yield from _all_values(item, key)


def test_uids_are_unique_and_short() -> None:
    uids = [board(name)["uid"] for name in FILES]
    assert uids[0] == "sloctl-overview"
    for uid, service in zip(uids[1:], SERVICES, strict=True):
        assert uid.startswith(f"sloctl-{service}-")
    assert len(set(uids)) == len(uids)
    assert all(GRAFANA_UID.fullmatch(uid) for uid in uids)


def test_titles() -> None:
    assert [board(name)["title"] for name in FILES] == [
        "SLOs / overview",
        *(f"SLOs / {service}" for service in SERVICES),
    ]


@pytest.mark.parametrize("service", SERVICES)
def test_service_dashboard_shows_that_services_incidents(service: str) -> None:
    [annotation] = [
        a
        for a in board(f"{service}.json")["annotations"]["list"]
        if a["name"] == "sloctl incidents"
    ]
    assert annotation["expr"] == (
        f'max by (service, severity, incident) (sloctl_incident_open{{service="{service}"}}) > 0'
    )
    assert annotation["name"] == "sloctl incidents"
    assert annotation["enable"] is True
    assert annotation["step"] == "60s"
    assert annotation["tagKeys"] == "service,severity"
    assert annotation["titleFormat"] == "{{severity}} incident {{incident}} ({{service}})"


def test_overview_shows_every_incident() -> None:
    [annotation] = [
        a for a in board("overview.json")["annotations"]["list"] if a["name"] == "sloctl incidents"
    ]
    assert annotation["expr"] == "max by (service, severity, incident) (sloctl_incident_open) > 0"


HOSTILE = [
    pytest.param('api"} or vector(1) or {x="', id="selector-injection"),
    pytest.param("line\nbreak\\back", id="newline-backslash"),
    pytest.param('tail\\"} or on() vector(1) #', id="backslash-quote"),
]


def service_values(expr: str) -> list[str]:
    values = []
    for match in STRING.finditer(expr):
        if re.search(r"[{,]\s*service\s*=\s*$", expr[: match.start()]):
            values.append(parse_selector(f"x{{service={match.group(0)}}}").matchers[0].value)
    return values


@pytest.mark.parametrize("service", HOSTILE)
def test_hostile_service_is_escaped_in_the_annotation_and_queries(service: str) -> None:
    doc = render_one(ratio_slo(service))
    [annotation] = [a for a in doc["annotations"]["list"] if a["name"] == "sloctl incidents"]
    match = ANNOTATION.fullmatch(annotation["expr"])
    assert match
    selector = parse_selector(match["selector"])
    assert selector.metric == "sloctl_incident_open"
    assert selector.equal_values() == {"service": service}
    recovered = []
    for expr in dashboards.queries(doc):
        assert service not in expr
        values = service_values(expr)
        assert values, expr
        recovered += values
    assert set(recovered) == {service}
    assert doc["title"] == f"SLOs / {service}"


def test_service_values_helper() -> None:
    assert service_values('a{service="x\\"y"} / b{slo="s",service="p\\nq"}') == ['x"y', "p\nq"]


def burn_steps(doc: Json, slo_name: str) -> list[tuple[float | None, str]]:
    return steps(panel(doc, f"{slo_name}: burn rate"))


@pytest.mark.parametrize("service", SERVICES)
def test_burn_rate_panels_draw_the_30_day_factors(service: str) -> None:
    doc = board(f"{service}.json")
    for slo_name in ("availability", "latency"):
        assert burn_steps(doc, slo_name) == [
            (None, "green"),
            (1.0, "blue"),
            (3.0, "yellow"),
            (6.0, "orange"),
            (14.4, "red"),
        ]


@pytest.mark.parametrize(
    ("target", "window", "factors"),
    [
        pytest.param("0.999", RollingWindow(30 * DAY), [1, 3, 6, 14.4], id="30d"),
        pytest.param("0.999", RollingWindow(28 * DAY), [1, 2.8, 5.6, 13.44], id="28d"),
        pytest.param("0.999", RollingWindow(7 * DAY), [1, 1, 1.4, 3.36], id="7d"),
        pytest.param("0.999", CalendarWindow(), [1, 2.8, 5.6, 13.44], id="calendar"),
        pytest.param("0.9", RollingWindow(30 * DAY), [1, 3, 6], id="90%-without-14.4x"),
    ],
)
def test_burn_rate_thresholds_are_the_derived_factors(
    target: str, window: Window, factors: list[float]
) -> None:
    slo = ratio_slo("api", target, window)
    found = burn_steps(render_one(slo), "availability")
    assert found[0] == (None, "green")
    assert [value for value, _ in found[1:]] == factors
    derived = sorted(
        float(burn.factor(burn.budget_window_seconds(slo), pair))
        for pair in burn.STANDARD_WINDOWS
        if burn.can_fire(slo, pair)
    )
    assert [value for value, _ in found[1:]] == derived


@pytest.mark.parametrize("service", SERVICES)
def test_burn_rate_panel_queries_every_alerting_window(service: str) -> None:
    budget = {s.service: s.error_budget for s in shipped() if s.name == "availability"}[service]
    burn_panel = panel(board(f"{service}.json"), "availability: burn rate")
    labels = f'{{service="{service}",slo="availability"}}'
    assert [(t["expr"], t["legendFormat"]) for t in burn_panel["targets"]] == [
        (f"sloctl:error_ratio:rate{w}{labels} / {promql.decimal_text(budget)}", w)
        for w in ("1h", "6h", "1d", "3d")
    ]


@pytest.mark.parametrize(
    ("service", "lines"),
    [
        pytest.param("api", [(None, "green"), (0.2, "orange"), (0.5, "red")], id="api"),
        pytest.param("auth", [(None, "green"), (0.2, "orange"), (0.5, "red")], id="auth"),
        pytest.param("database", [(None, "green"), (0.2, "orange"), (0.5, "red")], id="db"),
        # 2.5 s is above 0.5 s: the severe line is the SLO's own threshold, as in the rules.
        pytest.param("ai-worker", [(None, "green"), (2.5, "orange")], id="ai-worker"),
    ],
)
def test_latency_panel_draws_the_threshold_and_the_severe_line(
    service: str, lines: list[tuple[float | None, str]]
) -> None:
    p95 = panel(board(f"{service}.json"), "latency: p95 latency")
    assert steps(p95) == lines
    assert p95["fieldConfig"]["defaults"]["unit"] == "s"
    [target] = p95["targets"]
    assert target["expr"] == f'sloctl:latency_p95:seconds5m{{service="{service}",slo="latency"}}'


@pytest.mark.parametrize("service", SERVICES)
def test_error_ratio_panel_draws_budget_p3_p2_and_p1_lines(service: str) -> None:
    budget = {s.service: s.error_budget for s in shipped() if s.name == "availability"}[service]
    ratio = panel(board(f"{service}.json"), "availability: error ratio")
    assert steps(ratio) == [
        (None, "green"),
        (float(budget), "yellow"),
        (float(10 * budget), "orange"),  # P3: the shipped policy's 10x the error budget
        (0.1, "red"),  # P2
        (0.5, "dark-red"),  # P1
    ]


@pytest.mark.parametrize("service", SERVICES)
def test_service_dashboard_panels(service: str) -> None:
    titles = [(p["type"], p["title"]) for p in panels(board(f"{service}.json"))]
    per_slo = [
        ("stat", "{}: budget left (30d)"),
        ("timeseries", "{}: error budget burn-down"),
        ("stat", "{}: burn rate (1h)"),
    ]
    assert titles == [
        ("row", "availability: error ratio"),
        *((kind, title.format("availability")) for kind, title in per_slo),
        ("timeseries", "availability: error ratio"),
        ("timeseries", "availability: burn rate"),
        ("row", titles[6][1]),
        *((kind, title.format("latency")) for kind, title in per_slo),
        ("timeseries", "latency: p95 latency"),
        ("timeseries", "latency: burn rate"),
    ]
    assert titles[6][1].startswith("latency: latency <= ")


def test_overview_panels() -> None:
    found = [(p["type"], p["title"]) for p in panels(board("overview.json"))]
    assert found == [
        ("stat", "Open incidents"),
        ("bargauge", "Error budget left"),
        ("bargauge", "Burn rate (1h)"),
        ("bargauge", "Burn rate (6h)"),
    ]


@pytest.mark.parametrize("name", FILES)
def test_queries_extracts_every_target_and_annotation_expr(name: str) -> None:
    doc = board(name)
    expected = [a["expr"] for a in doc["annotations"]["list"]] + [
        t["expr"] for p in query_panels(doc) for t in p["targets"]
    ]
    found = dashboards.queries(doc)
    assert Counter(found) == Counter(expected)
    assert len(found) == len(expected) > 1


def test_queries_walks_nested_documents() -> None:
    document = {
        "expr": "a",
        "panels": [{"targets": [{"expr": "b"}, {"expr": 3}]}, {"panels": [{"expr": "c"}]}],
        "other": {"list": [[{"expr": "d"}]], "exprs": "not this"},
    }
    assert dashboards.queries(document) == ["a", "b", "c", "d"]
    assert dashboards.queries([]) == []
    assert dashboards.queries("expr") == []


def test_every_recorded_series_a_query_reads_is_recorded_by_the_rules() -> None:
    recorded = set()
    for text in rules.render_rules(shipped(), POLICY).values():
        for group in yaml.safe_load(text)["groups"]:
            recorded |= {r["record"] for r in group["rules"] if "record" in r}
    read = {
        name
        for file in FILES
        for expr in dashboards.queries(board(file))
        for name in RECORDED.findall(expr)
    }
    assert read
    assert read <= recorded


def test_rendering_twice_is_byte_identical() -> None:
    first = dashboards.render_dashboards(shipped(), POLICY)
    second = dashboards.render_dashboards(load_definitions(SHIPPED), POLICY)
    assert first == second
    assert all(text.endswith("}\n") for text in first.values())


def test_encode_is_sorted_and_indented() -> None:
    text = shipped_files()["api.json"]
    assert text.startswith('{\n  "annotations": {\n')
    keys = list(json.loads(text))
    assert keys == sorted(keys)


# Collisions, uids and paging lines


@pytest.mark.parametrize(
    "services",
    [
        pytest.param(("overview", "api"), id="service-named-overview"),
        pytest.param(("a b", "a_b"), id="same-file-stem"),
    ],
)
def test_no_dashboard_is_silently_dropped(services: tuple[str, str]) -> None:
    try:
        files = dashboards.render_dashboards([ratio_slo(s) for s in services], POLICY)
    except GenerationError:
        return  # refusing, as render_rules does, is fine too
    docs = [json.loads(text) for text in files.values()]
    assert len(docs) == len(services) + 2  # with the overview and the daemon's
    assert len({doc["uid"] for doc in docs}) == len(docs)


def test_long_service_names_get_distinct_uids() -> None:
    services = ("payments-" + "x" * 40 + "-eu", "payments-" + "x" * 40 + "-us")
    files = dashboards.render_dashboards([ratio_slo(s) for s in services], POLICY)
    uids = [json.loads(text)["uid"] for text in files.values()]
    assert len(uids) == 4
    assert all(len(uid) <= 40 for uid in uids)
    assert len(set(uids)) == 4


@pytest.mark.parametrize("service", ["api.v2", "payments.eu-west"])
def test_uids_are_valid_grafana_uids(service: str) -> None:
    assert GRAFANA_UID.fullmatch(render_one(ratio_slo(service))["uid"])


def red_line_of_burn_stat(slo: Slo) -> list[float | None]:
    found = steps(panel(render_one(slo), "availability: burn rate (1h)"))
    return [value for value, color in found if color == "red"]


def test_burn_rate_stat_turns_red_at_the_30_day_paging_factor() -> None:
    assert red_line_of_burn_stat(ratio_slo("api")) == [14.4]


@pytest.mark.parametrize(
    "window",
    [
        pytest.param(RollingWindow(7 * DAY), id="7d"),
        pytest.param(RollingWindow(28 * DAY), id="28d"),
    ],
)
def test_burn_rate_stat_turns_red_at_the_slos_own_paging_factor(window: Window) -> None:
    slo = ratio_slo("api", window=window)
    page = burn.factor(burn.budget_window_seconds(slo), burn.STANDARD_WINDOWS[0])
    assert red_line_of_burn_stat(slo) == [float(page)]


def test_the_daemon_dashboard_reads_only_what_sloctl_exports() -> None:
    document = json.loads(shipped_files()[dashboards.DAEMON_FILE])
    assert document["uid"] == "sloctl-daemon"
    read = {m for expr in dashboards.queries(document) for m in SLOCTL_METRIC.findall(expr)}
    assert read == set(dashboards.DAEMON_METRICS)
    measured = replace(full_snapshot(), cycle_durations=CycleDurations().observe(0.1))
    page = exposition(lambda: measured).decode()
    exported = {line.split("{")[0].split()[0] for line in page.splitlines() if line[:1] != "#"}
    assert read - exported == set()


def test_the_dashboards_draw_the_thresholds_of_the_policy_in_force() -> None:
    override = replace(
        Thresholds(),
        major_error_ratio=Decimal("0.2"),
        sustained_burn_rate=Decimal("4"),
        severe_p95_seconds=Decimal("0.35"),
    )
    files = dashboards.render_dashboards(shipped(), Policy(services={"api": override}))
    api = json.loads(files["api.json"])
    assert steps(panel(api, "availability: error ratio")) == [
        (None, "green"),
        (0.001, "yellow"),
        (0.004, "orange"),  # 4x the budget
        (0.2, "red"),
        (0.5, "dark-red"),
    ]
    assert steps(panel(api, "latency: p95 latency")) == [
        (None, "green"),
        (0.2, "orange"),
        (0.35, "red"),
    ]
    assert files["auth.json"] == shipped_files()["auth.json"]


def test_changes_are_annotated_for_the_service_and_its_dependencies() -> None:
    files = shipped_files()
    by_name = {a["name"]: a for a in json.loads(files["api.json"])["annotations"]["list"]}
    changes = by_name["sloctl changes"]
    assert changes["expr"] == (
        'max by (service, kind, ref) (sloctl_change_timestamp_seconds{service="api"} or '
        'sloctl_change_timestamp_seconds{service="database"}) * 1000'
    )
    assert changes["useValueForTime"] is True
    assert changes["titleFormat"] == "{{kind}} {{ref}} ({{service}})"
    overview = json.loads(files["overview.json"])["annotations"]["list"]
    [every] = [a for a in overview if a["name"] == "sloctl changes"]
    assert every["expr"] == "max by (service, kind, ref) (sloctl_change_timestamp_seconds) * 1000"
