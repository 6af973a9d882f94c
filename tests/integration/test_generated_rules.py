"""The generated rules and dashboards against real promtool and a real Prometheus.

Recording rules are backfilled over the integration scenario with
`promtool tsdb create-blocks-from rules`, stage by stage (a rule that reads another rule's
series needs those blocks loaded first), then every rule expression and every dashboard query
is run against the result.
"""

from __future__ import annotations

import json
import re
import shutil
import statistics
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from sloctl.core import conventions
from sloctl.core.budget import Counts
from sloctl.core.durations import parse_duration
from sloctl.core.slo import Slo
from sloctl.core.window import span_for
from sloctl.demo.local_prometheus import LocalPrometheus
from sloctl.generate.dashboards import DAEMON_FILE, queries, render_dashboards
from sloctl.generate.rules import render_rules
from sloctl.loading.definitions import load_definitions
from sloctl.loading.policy_file import shipped_policy
from sloctl.prometheus.client import PrometheusReader
from sloctl.promql import build as promql
from sloctl.web.history import RANGES, HistoryCache, Points, SloHistory
from tests.integration.conftest import Served, build_data
from tests.integration.definitions import THRESHOLDS, write_definitions
from tests.integration.fixture import AI_WORKER_GAP, AI_WORKER_MAJOR, API_OUTAGE, END, START

POLICY = shipped_policy()
pytestmark = pytest.mark.integration
TOLERANCE = 1e-3
BEFORE_QUIET = END - timedelta(hours=3)
"""Queries run before the database's last two hours without traffic, where ratios have no
value (no data, never NaN)."""
RECORDED = re.compile(r"\bsloctl:[a-z0-9_]+:[a-z0-9_]+")
PARTS = 2
"""promtool backfills of one stage run side by side, each evaluating on about one core."""


@dataclass(frozen=True)
class Recorded:
    url: str
    slos: tuple[Slo, ...]
    rules: dict[str, str]


def stage_of(record: dict[str, Any], stages: dict[str, int]) -> int:
    needs = RECORDED.findall(record["expr"])
    return 1 + max((stages[name] for name in needs), default=0)


def staged_rule_files(rules: dict[str, str], directory: Path) -> list[list[list[Path]]]:
    """Recording rules split into stages, each reading only series of earlier stages; each
    stage in :data:`PARTS` parts of about the same number of evaluations (a file per group
    interval in each), for promtool runs side by side."""
    groups: dict[int, list[dict[str, Any]]] = {}
    stages: dict[str, int] = {}
    for text in rules.values():
        for group in yaml.safe_load(text)["groups"]:
            for rule in group["rules"]:
                if "record" not in rule:
                    continue
                stage = stage_of(rule, stages)
                stages[rule["record"]] = max(stages.get(rule["record"], 0), stage)
                groups.setdefault(stage, []).append({**rule, "_interval": group["interval"]})
    files = []
    for stage in sorted(groups):
        parts: list[list[dict[str, Any]]] = [[] for _ in range(PARTS)]
        load = [0.0] * PARTS
        # The costliest first, each to the lightest part: evaluations go as 1 / interval.
        for rule in sorted(groups[stage], key=lambda r: parse_duration(r["_interval"])):
            lightest = load.index(min(load))
            parts[lightest].append(rule)
            load[lightest] += 1 / parse_duration(rule["_interval"])
        stage_parts = []
        for index, part in enumerate(p for p in parts if p):
            by_interval: dict[str, list[dict[str, Any]]] = {}
            for rule in part:
                by_interval.setdefault(rule["_interval"], []).append(
                    {k: v for k, v in rule.items() if k != "_interval"}
                )
            part_files = []
            for interval, rules_of in by_interval.items():
                path = directory / f"stage{stage}-part{index}-{interval}.yaml"
                document = {
                    "groups": [{"name": path.stem, "interval": interval, "rules": rules_of}]
                }
                path.write_text(yaml.safe_dump(document, sort_keys=False))
                part_files.append(path)
            stage_parts.append(part_files)
        files.append(stage_parts)
    return files


@pytest.fixture(scope="module")
def recorded(served: Served, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Recorded]:
    work = tmp_path_factory.mktemp("recorded")
    data = build_data(served.history, work)
    slos = load_definitions(write_definitions(work / "defs", "rolling: 30d"))
    rules = render_rules(slos, POLICY)
    for stage in staged_rule_files(rules, work):
        outputs = [work / f"blocks-{part[0].stem}" for part in stage]
        with LocalPrometheus(data) as server:
            running = [
                subprocess.Popen(
                    [
                        "promtool",
                        "tsdb",
                        "create-blocks-from",
                        "rules",
                        "--quiet",
                        f"--start={int(START.timestamp())}",
                        f"--end={int(END.timestamp())}",
                        f"--url={server.url}",
                        f"--output-dir={blocks}",
                        *(str(f) for f in part),
                    ],
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    text=True,
                )
                for part, blocks in zip(stage, outputs, strict=True)
            ]
            try:
                for process in running:
                    output, _ = process.communicate(timeout=600)
                    assert process.returncode == 0, output[-3000:]
            finally:
                for process in running:
                    process.kill()  # a failure above leaves none of them running
                    process.wait()
        for blocks in outputs:
            for block in blocks.iterdir():
                if block.is_dir():
                    shutil.move(str(block), data / block.name)
    with LocalPrometheus(data) as server:
        yield Recorded(server.url, slos, rules)


def counts(served: Served, slo: Slo, start: datetime, end: datetime) -> Counts:
    if slo.name == "latency":
        return served.history.latency(slo.service, THRESHOLDS[slo.service], start, end)
    return served.history.availability(slo.service, start, end)


def truth(served: Served, slo: Slo, *, seen_only: bool = False) -> float:
    """The exact error ratio; ``seen_only`` leaves out the events inside the scrape gap.

    Rates over 5-minute windows cannot see events that happened while nothing was scraped for
    longer than that; the report, which reads raw counters, does.
    """
    if seen_only and slo.service == "ai-worker":
        gap_start, gap_end = AI_WORKER_GAP
        before = counts(served, slo, START, gap_start)
        after = counts(served, slo, gap_end + timedelta(minutes=5), END)
        return (before.bad + after.bad) / (before.total + after.total)
    whole = counts(served, slo, START, END)
    return whole.bad / whole.total


def relative(measured: float, expected: float) -> float:
    difference = abs(measured - expected)
    return difference / expected if expected else difference


def test_recorded_window_ratio_matches_truth(served: Served, recorded: Recorded) -> None:
    """Within 0.1 % of the exact truth; for the service with a 30-minute scrape gap, of the
    truth outside the gap (the gap itself moves it by up to about 0.2 %)."""
    reader = PrometheusReader(recorded.url)
    name = conventions.error_ratio_name(30 * 86400)
    errors = {}
    for slo in recorded.slos:
        expr = promql.slo_selector(name, slo.service, slo.name).render()
        [sample] = reader.instant(expr, END)
        errors[slo.key] = relative(sample.value, truth(served, slo, seen_only=True))
        if slo.service != "ai-worker":
            assert truth(served, slo, seen_only=True) == truth(served, slo)
    assert max(errors.values()) <= TOLERANCE, errors


def rule_exprs(rules: dict[str, str]) -> list[tuple[str, str]]:
    found = []
    for text in rules.values():
        for group in yaml.safe_load(text)["groups"]:
            for rule in group["rules"]:
                found.append((rule.get("record") or rule["alert"], rule["expr"]))
    return found


def test_every_rule_expression_runs_on_real_data(recorded: Recorded) -> None:
    reader = PrometheusReader(recorded.url)
    empty = []
    for name, expr in rule_exprs(recorded.rules):
        samples = reader.instant(expr, BEFORE_QUIET)
        if not samples and name not in ALERTS_QUIET_AT_THE_END:
            empty.append(name)
    assert not empty


ALERTS_QUIET_AT_THE_END = {
    "SloctlBudgetBurnFast",
    "SloctlBudgetBurnSlow",
    "SloctlErrorRatioOutage",
    "SloctlErrorRatioMajor",
    "SloctlErrorRatioSustained",
    "SloctlLatencySevere",
    "SloctlLatencyDegraded",
    "SloctlLatencyDegradedLong",
    "SloctlNoData",
}


def test_every_dashboard_query_runs_and_panels_have_data(recorded: Recorded) -> None:
    reader = PrometheusReader(recorded.url)
    without_data = []
    for name, text in render_dashboards(recorded.slos, POLICY).items():
        if name == DAEMON_FILE:
            continue  # sloctl's own metrics: the end-to-end test runs those queries
        for expr in queries(json.loads(text)):
            samples = reader.instant(expr, BEFORE_QUIET)
            # sloctl's own series (incidents, changes) are not in this history
            if not samples and not any(
                m in expr for m in (conventions.INCIDENT_OPEN, conventions.CHANGE_METRIC)
            ):
                without_data.append((name, expr))
    assert not without_data


def test_no_traffic_records_no_ratio_rather_than_nan(recorded: Recorded) -> None:
    reader = PrometheusReader(recorded.url)
    quiet = END - timedelta(hours=1)  # the database has had no requests for an hour
    ratio = promql.slo_selector(conventions.error_ratio_name(300), "database", "availability")
    assert reader.instant(ratio.render(), quiet) == []
    left = promql.slo_selector(conventions.BUDGET_REMAINING, "database", "availability")
    [sample] = reader.instant(left.render(), quiet)
    assert sample.value == sample.value  # a number, not NaN: the 30-day window has traffic


def test_the_sustained_errors_alert_holds_only_during_the_injected_errors(
    recorded: Recorded,
) -> None:
    """Three days of noise, quiet nights, a counter reset and a scrape gap: the generated P3
    condition holds only while an injected event makes errors far above normal."""
    reader = PrometheusReader(recorded.url)
    events = [API_OUTAGE, AI_WORKER_MAJOR]
    held = []
    for name, expr in rule_exprs(recorded.rules):
        if name != "SloctlErrorRatioSustained":
            continue
        for series in reader.range(expr, START, END, timedelta(minutes=1)):
            for stamp, _ in series.points:
                moment = datetime.fromtimestamp(stamp, UTC)
                # the 5-minute ratio stays up for one window after an event ends
                inside = any(b <= moment <= e + timedelta(minutes=6) for b, e in events)
                held.append((series.labels["service"], inside, moment))
    assert {(service, inside) for service, inside, _ in held} == {
        ("api", True),
        ("ai-worker", True),
    }, [h for h in held if not h[1]][:5]


def test_the_slo_pages_chart_the_recorded_series_as_the_raw_counters_count(
    served: Served, recorded: Recorded
) -> None:
    """The SLO pages' history prefers the recorded series where Prometheus has them; over the
    scenario they give the error ratios and the budget burn-down the raw counters give."""
    at = END - timedelta(hours=3)  # before the database's quiet hours

    def charts(url: str, slo: Slo) -> tuple[Points, Points]:
        view = SloHistory(lambda: PrometheusReader(url), HistoryCache(60.0)).view(at)
        ratio = view.error_ratio(slo, RANGES["24h"])
        burn_down = view.burn_down(slo, span_for(slo, at))
        assert isinstance(ratio, Points), ratio
        assert isinstance(burn_down, Points), burn_down
        return ratio, burn_down

    compared = {}
    for slo in recorded.slos:
        (ratio, burn_down), (raw, raw_burn_down) = (
            charts(recorded.url, slo),
            charts(served.url, slo),
        )
        assert (ratio.recorded, burn_down.recorded) == (True, True)
        assert (raw.recorded, raw_burn_down.recorded) == (False, False)
        assert min(ratio.drawn, raw.drawn) >= 280  # of 289 (ai-worker's scrape gap has none)
        compared[slo.key] = (
            relative(
                statistics.fmean(v for _, v in ratio.points if v is not None),
                statistics.fmean(v for _, v in raw.points if v is not None),
            ),
            relative(
                1 - (burn_down.points[-1][1] or 0.0), 1 - (raw_burn_down.points[-1][1] or 0.0)
            ),
        )
    assert all(max(differences) < 0.05 for differences in compared.values()), compared
