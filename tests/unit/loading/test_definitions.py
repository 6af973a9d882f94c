"""Loading and validating SLO definition files (sloctl/loading/definitions.py)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from sloctl.core.budget import budget_minutes
from sloctl.core.selector import Matcher, Selector
from sloctl.core.slo import (
    BudgetingMethod,
    CalendarWindow,
    LatencyIndicator,
    RatioIndicator,
    RollingWindow,
    Slo,
    Timeslices,
    dependencies,
)
from sloctl.errors import DefinitionError, Problem
from sloctl.loading.definitions import load_definitions
from tests.paths import ROOT

SHIPPED = ROOT / "slo-definitions"
THIRTY_DAYS = timedelta(days=30)

RATIO: dict[str, Any] = {
    "ratio": {
        "total": 'http_requests_total{service="api"}',
        "bad": 'http_requests_total{service="api",code=~"5.."}',
    }
}
LATENCY: dict[str, Any] = {
    "latency": {
        "histogram": 'http_request_duration_seconds{service="api"}',
        "threshold": "200ms",
    }
}


def slo_spec(**fields: Any) -> dict[str, Any]:
    """One entry of ``slos:``; ``fields`` replace or add keys, a value of None drops one."""
    spec: dict[str, Any] = {
        "name": "availability",
        "indicator": RATIO,
        "objective": {"target": "99.9%"},
        "window": {"rolling": "30d"},
    }
    spec.update(fields)
    return {key: value for key, value in spec.items() if value is not None}


def write(path: Path, *slos: dict[str, Any], service: str = "api") -> Path:
    document = {"service": service, "slos": list(slos)}
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path


def load_one(tmp_path: Path, **fields: Any) -> Slo:
    write(tmp_path / "api.yaml", slo_spec(**fields))
    (slo,) = load_definitions(tmp_path)
    return slo


def problems_of(tmp_path: Path, **fields: Any) -> tuple[Problem, ...]:
    write(tmp_path / "api.yaml", slo_spec(**fields))
    with pytest.raises(DefinitionError) as info:
        load_definitions(tmp_path)
    return info.value.problems


def only_problem(tmp_path: Path, **fields: Any) -> Problem:
    (problem,) = problems_of(tmp_path, **fields)
    return problem


# --- the shipped definitions ---------------------------------------------------------------


def test_shipped_definitions_load() -> None:
    slos = load_definitions(SHIPPED)
    assert sorted(slo.key for slo in slos) == [
        f"{service}/{name}"
        for service in ("ai-worker", "api", "auth", "database")
        for name in ("availability", "latency")
    ]
    assert all(slo.window == RollingWindow(30 * 86400) for slo in slos)
    assert all(slo.method is BudgetingMethod.OCCURRENCES for slo in slos)


@pytest.mark.parametrize(
    ("service", "target", "minutes"),
    [
        pytest.param("api", "0.999", Decimal("43.2"), id="api"),
        pytest.param("auth", "0.9995", Decimal("21.6"), id="auth"),
        pytest.param("ai-worker", "0.995", Decimal("216"), id="ai-worker"),
        pytest.param("database", "0.9999", Decimal("4.32"), id="database"),
    ],
)
def test_shipped_budgets_match_runbook(service: str, target: str, minutes: Decimal) -> None:
    slos = {slo.key: slo for slo in load_definitions(SHIPPED)}
    slo = slos[f"{service}/availability"]
    assert str(slo.target) == target
    assert slo.target == Decimal(target)
    assert budget_minutes(slo.error_budget, THIRTY_DAYS) == minutes


@pytest.mark.parametrize(
    ("service", "threshold"),
    [
        pytest.param("api", Decimal("0.2"), id="api"),
        pytest.param("auth", Decimal("0.2"), id="auth"),
        pytest.param("database", Decimal("0.2"), id="database"),
        pytest.param("ai-worker", Decimal("2.5"), id="ai-worker"),
    ],
)
def test_shipped_latency_slos(service: str, threshold: Decimal) -> None:
    slos = {slo.key: slo for slo in load_definitions(SHIPPED)}
    slo = slos[f"{service}/latency"]
    assert isinstance(slo.indicator, LatencyIndicator)
    assert slo.indicator.histogram == Selector(
        "http_request_duration_seconds", (Matcher("service", "=", service),)
    )
    assert slo.indicator.threshold_seconds == threshold
    assert str(slo.target) == "0.95"


# --- objectives ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "target",
    [
        pytest.param("99.9%", id="percentage"),
        pytest.param(0.999, id="float"),
        pytest.param("0.999", id="string-fraction"),
        pytest.param(" 99.9 % ", id="spaced-percentage"),
    ],
)
def test_target_forms(tmp_path: Path, target: Any) -> None:
    slo = load_one(tmp_path, objective={"target": target})
    assert slo.target == Decimal("0.999")
    assert str(slo.target) == "0.999"
    assert budget_minutes(slo.error_budget, THIRTY_DAYS) == Decimal("43.2")


@pytest.mark.parametrize(
    ("target", "reason"),
    [
        pytest.param(99.9, "above 1", id="number-above-1"),
        pytest.param("99.9", "write a fraction", id="string-above-1"),
        pytest.param("100%", "strictly between 0% and 100%", id="100-percent"),
        pytest.param("0%", "strictly between 0% and 100%", id="0-percent"),
        pytest.param(1, "strictly between 0% and 100%", id="one"),
        pytest.param(0, "strictly between 0% and 100%", id="zero"),
        pytest.param(True, "expected a number", id="boolean"),
        pytest.param("high", "not a number or percentage", id="word"),
        pytest.param("nan", "write a fraction", id="nan-string"),
        pytest.param(float("inf"), "is not a number", id="infinity"),
        pytest.param([0.999], "expected a number", id="list"),
    ],
)
def test_bad_targets_rejected(tmp_path: Path, target: Any, reason: str) -> None:
    problem = only_problem(tmp_path, objective={"target": target})
    assert problem.location == "slos[0].objective.target"
    assert reason in problem.message


@pytest.mark.parametrize("value", [float("nan"), float("inf")], ids=["nan", "inf"])
def test_non_finite_target_is_a_definition_error(tmp_path: Path, value: float) -> None:
    problem = only_problem(tmp_path, objective={"target": value})  # YAML: target: .nan
    assert problem.location == "slos[0].objective.target"
    assert "is not a number" in problem.message


@pytest.mark.parametrize(
    ("budget", "window", "target"),
    [
        pytest.param("43.2m", "30d", "0.999", id="minutes"),
        pytest.param("21.6m", "30d", "0.9995", id="auth"),
        pytest.param("3.6h", "30d", "0.995", id="hours"),
        pytest.param("2592s", "30d", "0.999", id="seconds"),
        pytest.param("10.08m", "1w", "0.999", id="one-week"),
    ],
)
def test_budget_only_derives_exact_target(
    tmp_path: Path, budget: str, window: str, target: str
) -> None:
    slo = load_one(tmp_path, objective={"budget": budget}, window={"rolling": window})
    assert slo.target == Decimal(target)
    assert str(slo.target) == target


@pytest.mark.parametrize(
    ("target", "budget"),
    [
        pytest.param("99.9%", "43.2m", id="exact"),
        pytest.param("99.99%", "4.3m", id="rounded-within-precision"),
        pytest.param("99.99%", "4.32m", id="exact-two-decimals"),
        pytest.param("99.5%", "3.6h", id="hours"),
        pytest.param("99.99%", "4m", id="whole-minutes-rounded"),
    ],
)
def test_consistent_budget_and_target_accepted(tmp_path: Path, target: str, budget: str) -> None:
    slo = load_one(tmp_path, objective={"target": target, "budget": budget})
    assert slo.target == Decimal(target.rstrip("%")) / 100


@pytest.mark.parametrize(
    ("target", "budget"),
    [
        pytest.param("99.9%", "40m", id="off-by-minutes"),
        pytest.param("99.99%", "4.0m", id="written-precision-excludes-4.32"),
        pytest.param("99.99%", "4.4m", id="just-over"),
        pytest.param("99.9%", "43.2h", id="wrong-unit"),
    ],
)
def test_inconsistent_budget_and_target_rejected(tmp_path: Path, target: str, budget: str) -> None:
    problem = only_problem(tmp_path, objective={"target": target, "budget": budget})
    assert problem.location == "slos[0]"
    assert "disagrees" in problem.message
    assert budget in problem.message
    assert target.rstrip("%") in problem.message


def test_budget_not_shorter_than_window_rejected(tmp_path: Path) -> None:
    problem = only_problem(tmp_path, objective={"budget": "7d"}, window={"rolling": "7d"})
    assert "not shorter than the window" in problem.message


def test_budget_with_calendar_window_rejected(tmp_path: Path) -> None:
    problem = only_problem(
        tmp_path, objective={"target": "99.9%", "budget": "43.2m"}, window={"calendar": "month"}
    )
    assert problem.location == "slos[0]"
    assert "needs a rolling window" in problem.message


def test_objective_needs_target_or_budget(tmp_path: Path) -> None:
    problem = only_problem(tmp_path, objective={})
    assert problem.location == "slos[0].objective"
    assert "give a 'target'" in problem.message


# --- windows -------------------------------------------------------------------------------


def test_default_window_is_rolling_30_days(tmp_path: Path) -> None:
    slo = load_one(tmp_path, window=None)
    assert slo.window == RollingWindow(30 * 86400)


@pytest.mark.parametrize(
    ("window", "expected"),
    [
        pytest.param({"rolling": "28d"}, RollingWindow(28 * 86400), id="rolling"),
        pytest.param({"calendar": "month"}, CalendarWindow("UTC"), id="calendar-utc"),
        pytest.param(
            {"calendar": "month", "timezone": "Europe/Berlin"},
            CalendarWindow("Europe/Berlin"),
            id="calendar-berlin",
        ),
    ],
)
def test_windows(tmp_path: Path, window: dict[str, str], expected: object) -> None:
    assert load_one(tmp_path, window=window).window == expected


@pytest.mark.parametrize(
    ("window", "location", "reason"),
    [
        pytest.param(
            {"calendar": "month", "timezone": "Mars/Olympus"},
            "slos[0].window",
            "unknown time zone 'Mars/Olympus'",
            id="unknown-zone",
        ),
        pytest.param(
            {"calendar": "month", "timezone": "../../etc/passwd"},
            "slos[0].window",
            "unknown time zone",
            id="path-as-zone",
        ),
        pytest.param(
            {"rolling": "30d", "timezone": "Europe/Berlin"},
            "slos[0].window",
            "calendar windows only",
            id="zone-on-rolling",
        ),
        pytest.param(
            {"rolling": "30d", "calendar": "month"},
            "slos[0].window",
            "exactly one of",
            id="both-kinds",
        ),
        pytest.param({}, "slos[0].window", "exactly one of", id="neither-kind"),
        pytest.param(
            {"calendar": "week"}, "slos[0].window.calendar", "'month'", id="calendar-week"
        ),
        pytest.param(
            {"rolling": "1.5h"}, "slos[0].window.rolling", "not a duration", id="bad-duration"
        ),
    ],
)
def test_bad_windows_rejected(
    tmp_path: Path, window: dict[str, str], location: str, reason: str
) -> None:
    problem = only_problem(tmp_path, window=window)
    assert problem.location == location
    assert reason in problem.message


# --- budgeting method ----------------------------------------------------------------------


def test_timeslices(tmp_path: Path) -> None:
    slo = load_one(
        tmp_path, budgetingMethod="Timeslices", timeSliceTarget="95%", timeSliceWindow="5m"
    )
    assert slo.method is BudgetingMethod.TIMESLICES
    assert slo.timeslices == Timeslices(Decimal("0.95"), 300)


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        pytest.param(
            {"budgetingMethod": "Timeslices"},
            "Timeslices needs both 'timeSliceTarget' and 'timeSliceWindow'",
            id="timeslices-without-either",
        ),
        pytest.param(
            {"budgetingMethod": "Timeslices", "timeSliceTarget": "95%"},
            "Timeslices needs both",
            id="timeslices-without-window",
        ),
        pytest.param(
            {"budgetingMethod": "Timeslices", "timeSliceWindow": "5m"},
            "Timeslices needs both",
            id="timeslices-without-target",
        ),
        pytest.param(
            {"budgetingMethod": "Occurrences", "timeSliceTarget": "95%", "timeSliceWindow": "5m"},
            "need budgetingMethod: Timeslices",
            id="occurrences-with-both",
        ),
        pytest.param(
            {"timeSliceWindow": "5m"},
            "need budgetingMethod: Timeslices",
            id="default-method-with-window",
        ),
        pytest.param(
            {"budgetingMethod": "Timeslices", "timeSliceTarget": "95%", "timeSliceWindow": "2h"},
            "must be from 1m to 1h",
            id="coarse-slices",
        ),
        pytest.param(
            {"budgetingMethod": "Timeslices", "timeSliceTarget": "95%", "timeSliceWindow": "30s"},
            "must be from 1m to 1h",
            id="fine-slices",
        ),
        pytest.param(
            {"budgetingMethod": "Timeslices", "timeSliceTarget": "95%", "timeSliceWindow": "7m"},
            "whole number of time slices",
            id="slices-do-not-divide-window",
        ),
    ],
)
def test_budgeting_method_fields(tmp_path: Path, fields: dict[str, str], reason: str) -> None:
    problem = only_problem(tmp_path, **fields)
    assert problem.location == "slos[0]"
    assert reason in problem.message


def test_unknown_budgeting_method_rejected(tmp_path: Path) -> None:
    problem = only_problem(tmp_path, budgetingMethod="Events")
    assert problem.location == "slos[0].budgetingMethod"


# --- indicators ----------------------------------------------------------------------------


def test_ratio_with_good(tmp_path: Path) -> None:
    indicator = {"ratio": {"total": "requests_total", "good": 'requests_total{code="200"}'}}
    slo = load_one(tmp_path, indicator=indicator)
    assert slo.indicator == RatioIndicator(
        total=Selector("requests_total"),
        good=Selector("requests_total", (Matcher("code", "=", "200"),)),
    )


def test_latency_indicator(tmp_path: Path) -> None:
    slo = load_one(tmp_path, name="latency", indicator=LATENCY)
    assert slo.indicator == LatencyIndicator(
        Selector("http_request_duration_seconds", (Matcher("service", "=", "api"),)),
        Decimal("0.2"),
    )


@pytest.mark.parametrize(
    ("indicator", "location", "reason"),
    [
        pytest.param(
            {"ratio": {"total": "t", "bad": "b", "good": "g"}},
            "slos[0].indicator.ratio",
            "exactly one of 'bad' or 'good'",
            id="ratio-bad-and-good",
        ),
        pytest.param(
            {"ratio": {"total": "t"}},
            "slos[0].indicator.ratio",
            "exactly one of 'bad' or 'good'",
            id="ratio-neither",
        ),
        pytest.param(
            {"ratio": {"total": 't{a="b"', "bad": "b"}},
            "slos[0].indicator.ratio.total",
            "missing closing }",
            id="ratio-bad-selector",
        ),
        pytest.param(
            {"ratio": {"total": 5, "bad": "b"}},
            "slos[0].indicator.ratio.total",
            "expected a PromQL selector",
            id="ratio-selector-not-a-string",
        ),
        pytest.param(
            {"latency": {"histogram": "http_request_duration_seconds_bucket", "threshold": "1s"}},
            "slos[0].indicator.latency",
            "without its _bucket/_count/_sum suffix",
            id="latency-bucket-suffix",
        ),
        pytest.param(
            {"latency": {"histogram": "http_request_duration_seconds_count", "threshold": "1s"}},
            "slos[0].indicator.latency",
            "without its _bucket/_count/_sum suffix",
            id="latency-count-suffix",
        ),
        pytest.param(
            {"latency": {"histogram": 'duration_seconds{le="0.2"}', "threshold": "200ms"}},
            "slos[0].indicator.latency",
            "do not match 'le' yourself",
            id="latency-le-matcher",
        ),
        pytest.param(
            {"latency": {"histogram": "duration_seconds", "threshold": "1m"}},
            "slos[0].indicator.latency.threshold",
            "is not a latency",
            id="latency-bad-threshold",
        ),
        pytest.param({}, "slos[0].indicator", "exactly one indicator", id="no-indicator"),
        pytest.param(
            {**RATIO, **LATENCY}, "slos[0].indicator", "exactly one indicator", id="two-indicators"
        ),
    ],
)
def test_bad_indicators_rejected(
    tmp_path: Path, indicator: dict[str, Any], location: str, reason: str
) -> None:
    problem = only_problem(tmp_path, indicator=indicator)
    assert problem.location == location
    assert reason in problem.message


# --- names, keys and files -----------------------------------------------------------------


def test_hostile_service_name_kept_verbatim(tmp_path: Path) -> None:
    service = 'api"} or vector(1) #\n{evil="1"}'
    write(tmp_path / "evil.yaml", slo_spec(), service=service)
    (slo,) = load_definitions(tmp_path)
    assert slo.service == service
    assert slo.key == f"{service}/availability"


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("a/b", id="slash"),
        pytest.param('x"}', id="quote-brace"),
        pytest.param("-lead", id="leading-dash"),
        pytest.param("x" * 129, id="too-long"),
    ],
)
def test_bad_slo_names_rejected(tmp_path: Path, name: str) -> None:
    assert only_problem(tmp_path, name=name).location == "slos[0].name"


def test_unknown_keys_rejected_at_their_location(tmp_path: Path) -> None:
    path = tmp_path / "api.yaml"
    path.write_text(
        "service: api\n"
        "owner: team-a\n"
        "slos:\n"
        "  - name: availability\n"
        "    indicator:\n"
        "      ratio: {total: t, bad: b, bda: c}\n"
        "    objective: {target: 99.9%, budgte: 43.2m}\n"
        "    widow: {rolling: 30d}\n",
        encoding="utf-8",
    )
    with pytest.raises(DefinitionError) as info:
        load_definitions(tmp_path)
    found = {(p.location, p.line) for p in info.value.problems}
    assert found == {
        ("owner", 2),
        ("slos[0].indicator.ratio.bda", 6),
        ("slos[0].objective.budgte", 7),
        ("slos[0].widow", 8),
    }
    assert all("unknown key" in p.message for p in info.value.problems)


BAD_SCHEMA = """\
service: api
slos:
  - name: availability
    indicator:
      ratio:
        total: http_requests_total{service="api"}
        bad: http_requests_total{service="api",code=~"5.."}
    objective:
      target: 100%
    window:
      rolling: 1.5h
  - name: latency
    descripton: typo
    indicator:
      latency:
        histogram: http_request_duration_seconds_bucket{service="api"}
        threshold: 200ms
    objective:
      target: 95%
"""

BAD_MEANING = """\
service: auth
slos:
  - name: availability
    indicator:
      ratio: {total: requests_total, bad: errors_total}
    objective: {target: 99.95%, budget: 30m}
  - name: monthly
    indicator:
      ratio: {total: requests_total, bad: errors_total}
    objective: {budget: 21.6m}
    window: {calendar: month}
"""


def test_every_problem_in_every_file_reported(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(BAD_SCHEMA, encoding="utf-8")
    (tmp_path / "b.yaml").write_text(BAD_MEANING, encoding="utf-8")
    (tmp_path / "c.yaml").write_text("service: db\nslos: [\n", encoding="utf-8")
    write(tmp_path / "d.yaml", slo_spec(), service="fine")
    with pytest.raises(DefinitionError) as info:
        load_definitions(tmp_path)
    error = info.value
    found = sorted((Path(p.file).name, p.location, p.line) for p in error.problems)
    assert found == [
        ("a.yaml", "slos[0].objective.target", 9),
        ("a.yaml", "slos[0].window.rolling", 11),
        ("a.yaml", "slos[1].descripton", 13),
        ("a.yaml", "slos[1].indicator.latency", 16),
        ("b.yaml", "slos[0]", 3),
        ("b.yaml", "slos[1]", 7),
        ("c.yaml", "", 3),
    ]
    assert str(error) == "7 problems in SLO definitions"
    rendered = error.render()
    for problem in error.problems:
        assert str(problem) in rendered
    a_file = str(tmp_path / "a.yaml")
    assert f"{a_file}:9: slos[0].objective.target: '100%' must lie strictly" in rendered
    assert f"{tmp_path / 'b.yaml'}:3: slos[0]: budget 30m disagrees" in rendered
    assert f"{tmp_path / 'b.yaml'}:7: slos[1]: a budget in minutes needs" in rendered


def test_duplicate_slo_across_files(tmp_path: Path) -> None:
    first = write(tmp_path / "a.yaml", slo_spec())
    second = write(tmp_path / "b.yaml", slo_spec(), slo_spec(name="latency", indicator=LATENCY))
    with pytest.raises(DefinitionError) as info:
        load_definitions(tmp_path)
    (problem,) = info.value.problems
    assert problem.file == str(second)
    assert "'api/availability'" in problem.message
    assert str(first) in problem.message


def test_same_slo_name_in_different_services_is_fine(tmp_path: Path) -> None:
    write(tmp_path / "a.yaml", slo_spec(), service="api")
    write(tmp_path / "b.yaml", slo_spec(), service="auth")
    assert {slo.key for slo in load_definitions(tmp_path)} == {
        "api/availability",
        "auth/availability",
    }


def test_single_file_can_be_loaded(tmp_path: Path) -> None:
    path = write(tmp_path / "api.yaml", slo_spec())
    (slo,) = load_definitions(path)
    assert slo.source == str(path)


def test_hostile_yaml_reported_as_problem(tmp_path: Path) -> None:
    marker = tmp_path / "executed"
    (tmp_path / "evil.yaml").write_text(
        f'service: !!python/object/apply:os.system ["touch {marker}"]\nslos: []\n',
        encoding="utf-8",
    )
    with pytest.raises(DefinitionError) as info:
        load_definitions(tmp_path)
    (problem,) = info.value.problems
    assert "only plain data" in problem.message
    assert problem.line == 1
    assert not marker.exists()


@pytest.mark.parametrize(
    ("text", "location"),
    [
        pytest.param("", "", id="empty-file"),
        pytest.param("- just\n- a list\n", "", id="not-a-mapping"),
        pytest.param("service: api\nslos: []\n", "slos", id="no-slos"),
        pytest.param("slos: []\n", "service", id="no-service"),
    ],
)
def test_incomplete_files_rejected(tmp_path: Path, text: str, location: str) -> None:
    (tmp_path / "api.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(DefinitionError) as info:
        load_definitions(tmp_path)
    assert location in {p.location for p in info.value.problems}


def test_empty_directory_rejected(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text("not a definition\n", encoding="utf-8")
    with pytest.raises(DefinitionError) as info:
        load_definitions(tmp_path)
    (problem,) = info.value.problems
    assert problem.file == str(tmp_path)
    assert "no .yaml definition files" in problem.message


def test_missing_directory_rejected(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    with pytest.raises(DefinitionError) as info:
        load_definitions(missing)
    (problem,) = info.value.problems
    assert problem.file == str(missing)
    assert "no such directory" in problem.message


@pytest.mark.parametrize(
    "objective",
    [
        pytest.param({"target": "0.99999999999999999999999999999"}, id="rounds-to-one"),
        pytest.param({"target": "1e999999999%"}, id="overflowing-percent"),
        pytest.param({"target": 10**400}, id="huge-integer"),
        pytest.param({"budget": "0.000000000000000000000000000001s"}, id="vanishing-budget"),
    ],
)
def test_targets_that_cannot_be_exact_are_problems_not_crashes(
    tmp_path: Path, objective: dict[str, Any]
) -> None:
    problem = only_problem(tmp_path, objective=objective)
    assert problem.location.startswith("slos[0]")


@pytest.mark.parametrize(
    ("window", "message"),
    [
        pytest.param({"rolling": "99999999999999999999d"}, "longer than 3650 days", id="huge-days"),
        pytest.param({"rolling": "1000000w"}, "longer than 3650 days", id="huge-weeks"),
        pytest.param({"calendar": "month", "timezone": "Etc"}, "unknown time zone", id="zone-dir"),
    ],
)
def test_windows_that_would_crash_later_are_refused(
    tmp_path: Path, window: dict[str, str], message: str
) -> None:
    problem = only_problem(tmp_path, window=window)
    assert message in problem.message


# --- dependsOn --------------------------------------------------------------------------------


def service_file(directory: Path, service: str, depends: list[str] | None = None) -> Path:
    path = directory / f"{service}.yaml"
    depends_line = "" if depends is None else f"dependsOn: [{', '.join(depends)}]\n"
    path.write_text(
        f"service: {service}\n{depends_line}slos:\n"
        "  - name: availability\n"
        "    indicator:\n"
        "      ratio:\n"
        f'        total: http_requests_total{{service="{service}"}}\n'
        f'        bad: http_requests_total{{service="{service}",code=~"5.."}}\n'
        "    objective: {target: 99.9%}\n",
        encoding="utf-8",
    )
    return path


def test_depends_on_is_carried_by_every_slo_of_the_service(tmp_path: Path) -> None:
    service_file(tmp_path, "database")
    service_file(tmp_path, "api", ["database"])
    slos = {slo.service: slo for slo in load_definitions(tmp_path)}
    assert slos["api"].depends_on == ("database",)
    assert slos["database"].depends_on == ()
    assert dependencies(slos.values()) == {"api": ("database",)}


def test_shipped_dependencies() -> None:
    assert dependencies(load_definitions(SHIPPED)) == {
        "ai-worker": ("database",),
        "api": ("database",),
        "auth": ("database",),
    }


def test_unknown_self_and_cyclic_dependencies_are_located(tmp_path: Path) -> None:
    service_file(tmp_path, "api", ["database", "billing"])
    service_file(tmp_path, "auth", ["auth"])
    service_file(tmp_path, "database", ["queue"])
    service_file(tmp_path, "queue", ["api"])
    with pytest.raises(DefinitionError) as caught:
        load_definitions(tmp_path)
    found = sorted(str(p).replace(str(tmp_path) + "/", "") for p in caught.value.problems)
    assert found == [
        "api.yaml:2: dependsOn[0]: dependency cycle: api -> database -> queue -> api",
        "api.yaml:2: dependsOn[1]: unknown service 'billing': no definition describes it",
        "auth.yaml:2: dependsOn[0]: 'auth' cannot depend on itself",
    ]


def test_a_dependency_listed_twice_is_a_problem(tmp_path: Path) -> None:
    service_file(tmp_path, "database")
    service_file(tmp_path, "api", ["database", "database"])
    with pytest.raises(DefinitionError) as caught:
        load_definitions(tmp_path)
    (problem,) = caught.value.problems
    assert (problem.location, problem.message) == ("dependsOn[1]", "'database' is listed twice")
