"""Grafana dashboards generated from the SLO definitions with grafana-foundation-sdk.

An overview of every SLO (budget left, burn rates, open incidents) and one dashboard per
service (budget burn-down, error ratio or p95 against their thresholds, burn rates with the
alert factors drawn, and sloctl's incidents as annotations). Queries read the recorded series
of the generated rules, built by :mod:`sloctl.promql.build`; the data source is a template variable.
A last dashboard shows ``sloctl run`` itself, from the metrics it exports.
"""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from functools import partial
from typing import Any, Self

from grafana_foundation_sdk.builders import bargauge, prometheus, stat, timeseries
from grafana_foundation_sdk.builders import common as common_builder
from grafana_foundation_sdk.builders import dashboard as dashboard_builder
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import common
from grafana_foundation_sdk.models import dashboard as model

from sloctl.core import burn, conventions
from sloctl.core.conventions import (
    BUCKET_LABEL,
    CHANGE_METRIC,
    CONFIG_LAST_RELOAD_SUCCESSFUL,
    EVALUATION_DURATION_SECONDS,
    INCIDENT_LABEL,
    INCIDENT_OPEN,
    INCIDENTS_OPEN,
    LAST_SUCCESSFUL_EVALUATION_TIMESTAMP_SECONDS,
    NOTIFICATIONS_TOTAL,
    QUERY_ERRORS_TOTAL,
    REASON_LABEL,
    RESULT_LABEL,
    SERVICE_LABEL,
    SEVERITY_LABEL,
    SINK_LABEL,
    SLO_LABEL,
    SLO_LATENCY_P95_SECONDS,
    SLO_SLI_ERROR_RATIO,
    SLO_STALE,
    WINDOW_LABEL,
    buckets,
)
from sloctl.core.durations import format_duration
from sloctl.core.selector import quote
from sloctl.core.slo import LatencyIndicator, Slo, by_service
from sloctl.generate.rules import file_stem, unique_name, window_seconds
from sloctl.incidents.conditions import Bound, ConditionSpec, Measure, bounds, service_conditions
from sloctl.incidents.policy import Policy
from sloctl.promql import build as promql


def shown(label: str) -> str:
    """A label's value in a Grafana legend or annotation title."""
    return "{{" + label + "}}"


SLO_LEGEND = f"{shown(SERVICE_LABEL)} / {shown(SLO_LABEL)}"
DATASOURCE = model.DataSourceRef(type_val="prometheus", uid="${datasource}")
TAGS = ["sloctl", "slo"]
Panel = stat.Panel | timeseries.Panel | bargauge.Panel


class _PrometheusAnnotation(model.AnnotationQuery):
    """The SDK's annotation model lacks the Prometheus fields Grafana reads; add them."""

    step: str | None = None
    title_format: str | None = None
    text_format: str | None = None
    tag_keys: str | None = None
    use_value_for_time: bool | None = None

    def to_json(self) -> dict[str, object]:
        payload = super().to_json()
        extra: dict[str, object] = {
            "step": self.step,
            "titleFormat": self.title_format,
            "textFormat": self.text_format,
            "tagKeys": self.tag_keys,
            "useValueForTime": self.use_value_for_time,
        }
        payload.update({k: v for k, v in extra.items() if v is not None})
        return payload


class PrometheusAnnotation(dashboard_builder.AnnotationQuery):
    _internal: _PrometheusAnnotation

    def __init__(self) -> None:
        self._internal = _PrometheusAnnotation()

    def build(self) -> _PrometheusAnnotation:
        return self._internal

    def step(self, step: str) -> Self:
        self._internal.step = step
        return self

    def title_format(self, text: str) -> Self:
        self._internal.title_format = text
        return self

    def text_format(self, text: str) -> Self:
        self._internal.text_format = text
        return self

    def tag_keys(self, keys: str) -> Self:
        self._internal.tag_keys = keys
        return self

    def use_value_for_time(self) -> Self:
        """The series' value (milliseconds) is the annotation's time, not the sample's."""
        self._internal.use_value_for_time = True
        return self


def query(expr: str, legend: str, ref_id: str, *, instant: bool = False) -> prometheus.Dataquery:
    built = prometheus.Dataquery().expr(expr).legend_format(legend).ref_id(ref_id)
    return built.instant() if instant else built.range()


def steps(*pairs: tuple[float | None, str]) -> dashboard_builder.ThresholdsConfig:
    return (
        dashboard_builder.ThresholdsConfig()
        .mode(model.ThresholdsMode.ABSOLUTE)
        .steps([model.Threshold(value=value, color=color) for value, color in pairs])
    )


BUDGET_STEPS = ((None, "red"), (0.0, "orange"), (0.25, "green"))


def incidents_annotation(service: str | None) -> PrometheusAnnotation:
    selector = f"{INCIDENT_OPEN}{{{SERVICE_LABEL}={quote(service)}}}" if service else INCIDENT_OPEN
    return (
        PrometheusAnnotation()
        .name("sloctl incidents")
        .datasource(DATASOURCE)
        .enable(True)
        .icon_color("red")
        .expr(f"max by ({SERVICE_LABEL}, {SEVERITY_LABEL}, {INCIDENT_LABEL}) ({selector}) > 0")
        .step("60s")
        .title_format(
            f"{shown(SEVERITY_LABEL)} incident {shown(INCIDENT_LABEL)} ({shown(SERVICE_LABEL)})"
        )
        .text_format("declared by sloctl")
        .tag_keys(f"{SERVICE_LABEL},{SEVERITY_LABEL}")
    )


def changes_annotation(services: Sequence[str]) -> PrometheusAnnotation:
    """Recent changes (``sloctl changes record`` or the daemon's endpoint) of ``services``
    (a service and what it depends on; every service when empty), at the time each was made."""
    selectors = [f"{CHANGE_METRIC}{{service={quote(s)}}}" for s in services] or [CHANGE_METRIC]
    return (
        PrometheusAnnotation()
        .name("sloctl changes")
        .datasource(DATASOURCE)
        .enable(True)
        .icon_color("blue")
        .expr(f"max by (service, kind, ref) ({' or '.join(selectors)}) * 1000")
        .step("60s")
        .use_value_for_time()
        .title_format("{{kind}} {{ref}} ({{service}})")
        .text_format("change recorded in sloctl")
        .tag_keys("service,kind")
    )


def dashboard_uid(service: str) -> str:
    """A Grafana uid: letters, digits, ``-`` and ``_``, at most 40 characters, one per service.

    The readable part is cut to fit; a hash of the full name keeps similar names apart.
    """
    readable = re.sub(r"[^A-Za-z0-9_-]", "_", service)[:22]
    digest = hashlib.sha256(service.encode("utf-8")).hexdigest()[:10]
    return f"sloctl-{readable}-{digest}"


def page_factor(slo: Slo, found: Sequence[Bound]) -> float:
    """The burn rate at which the fastest page fires for ``slo`` (14.4 for 30 days)."""
    pages = [
        bound.factor(row)
        for bound in found
        if bound.spec.measure is Measure.BURN_PAIRS and bound.spec.severity is not None
        for row in bound.rows
    ]
    return float(max(pages)) if pages else 1.0


LINE_COLOURS = ("orange", "red", "dark-red", "purple", "dark-purple")
"""Threshold lines above the SLO's own, from the lowest limit up."""


def _lines(limits: Iterable[Decimal]) -> list[tuple[float | None, str]]:
    ordered = sorted(set(limits))
    return [
        (float(limit), LINE_COLOURS[min(i, len(LINE_COLOURS) - 1)])
        for i, limit in enumerate(ordered)
    ]


def _base(title: str, uid: str, description: str) -> dashboard_builder.Dashboard:
    return (
        dashboard_builder.Dashboard(title)
        .uid(uid)
        .description(description)
        .tags(TAGS)
        .time("now-7d", "now")
        .refresh("1m")
        .timezone("utc")
        .readonly()
        .tooltip(model.DashboardCursorSync.CROSSHAIR)
        .with_variable(
            dashboard_builder.DatasourceVariable("datasource")
            .label("Data source")
            .type("prometheus")
        )
    )


def _thresholded(
    panel: timeseries.Panel, pairs: Sequence[tuple[float | None, str]]
) -> timeseries.Panel:
    return panel.thresholds(steps(*pairs)).thresholds_style(
        common_builder.GraphThresholdsStyleConfig().mode(common.GraphThresholdsStyleMode.DASHED)
    )


def _legend() -> common_builder.VizLegendOptions:
    return (
        common_builder.VizLegendOptions()
        .show_legend(True)
        .display_mode(common.LegendDisplayMode.TABLE)
        .placement(common.LegendPlacement.BOTTOM)
        .calcs(["lastNotNull", "max"])
    )


def _ratio(slo: Slo, seconds: int) -> str:
    return promql.slo_selector(
        conventions.error_ratio_name(seconds), slo.service, slo.name
    ).render()


def big_number(
    title: str,
    expr: str,
    legend: str,
    unit: str,
    pairs: Sequence[tuple[float | None, str]],
    *,
    height: int = 4,
    span: int,
) -> stat.Panel:
    """One value, its background coloured by ``pairs``: the latest of an instant query."""
    return (
        stat.Panel()
        .title(title)
        .datasource(DATASOURCE)
        .with_target(query(expr, legend, "A", instant=True))
        .unit(unit)
        .thresholds(steps(*pairs))
        .color_mode(common.BigValueColorMode.BACKGROUND)
        .reduce_options(common_builder.ReduceDataOptions().calcs(["lastNotNull"]))
        .height(height)
        .span(span)
    )


def budget_stat(slo: Slo) -> stat.Panel:
    expr = promql.slo_selector(conventions.BUDGET_REMAINING, slo.service, slo.name).render()
    window = format_duration(window_seconds(slo))
    return (
        big_number(
            f"{slo.name}: budget left ({window})",
            expr,
            "budget left",
            "percentunit",
            BUDGET_STEPS,
            height=7,
            span=4,
        )
        .description(
            f"{slo.indicator.describe()}, objective {promql.decimal_text(slo.target * 100)}%"
        )
        .decimals(1)
        .graph_mode(common.BigValueGraphMode.AREA)
    )


def burn_down(slo: Slo) -> timeseries.Panel:
    expr = promql.slo_selector(conventions.BUDGET_REMAINING, slo.service, slo.name).render()
    panel = (
        timeseries.Panel()
        .title(f"{slo.name}: error budget burn-down")
        .datasource(DATASOURCE)
        .with_target(query(expr, "budget left", "A"))
        .unit("percentunit")
        .max(1)
        .legend(_legend())
        .height(7)
        .span(8)
    )
    return _thresholded(panel, BUDGET_STEPS)


def signal(slo: Slo, found: Sequence[Bound]) -> timeseries.Panel:
    """Error ratio against the objective and the policy's error-ratio limits (the runbook's
    P3, P2 and P1 lines), or p95 latency against its limits."""
    panel = timeseries.Panel().datasource(DATASOURCE).legend(_legend()).height(7).span(8)
    single = [b.rows[0].limit for b in found if b.spec.measure is not Measure.BURN_PAIRS]
    if isinstance(slo.indicator, LatencyIndicator):
        expr = promql.slo_selector(conventions.LATENCY_P95, slo.service, slo.name).render()
        panel = (
            panel.title(f"{slo.name}: p95 latency")
            .with_target(query(expr, "p95", "A"))
            .unit("s")
            .min(0)
        )
        return _thresholded(panel, [(None, "green"), *_lines(single)])
    panel = (
        panel.title(f"{slo.name}: error ratio")
        .with_target(query(_ratio(slo, promql.SLICE_SECONDS), "5m", "A"))
        .with_target(query(_ratio(slo, 3600), "1h", "B"))
        .unit("percentunit")
        .min(0)
    )
    above = [limit for limit in single if limit > slo.error_budget]
    return _thresholded(
        panel, [(None, "green"), (float(slo.error_budget), "yellow"), *_lines(above)]
    )


BURN_COLOURS = ("red", "orange", "yellow", "blue")
"""From the fastest pair to the slowest."""


def burn_rates(
    slo: Slo, specs: Sequence[ConditionSpec], found: Sequence[Bound]
) -> timeseries.Panel:
    """Burn rates over the alerting windows, with the alert factors drawn as thresholds."""
    budget = promql.decimal_text(slo.error_budget)
    panel = (
        timeseries.Panel()
        .title(f"{slo.name}: burn rate")
        .description(
            "Alert factors derived from the SLO window: page on the upper two, ticket below."
        )
        .datasource(DATASOURCE)
        .unit("x")
        .min(0)
        .legend(_legend())
        .height(7)
        .span(24)
    )
    pairs = [
        pair
        for spec in specs
        if spec.measure is Measure.BURN_PAIRS and spec.applies_to(slo)
        for pair in spec.pairs
    ]
    for index, pair in enumerate(pairs):
        expr = f"{_ratio(slo, pair.long_seconds)} / {budget}"
        legend = format_duration(pair.long_seconds)
        panel = panel.with_target(query(expr, legend, chr(ord("A") + index)))
    long_windows = [pair.long_seconds for pair in pairs]
    factors = sorted(
        (
            float(bound.factor(row)),
            BURN_COLOURS[min(long_windows.index(row.window_seconds), len(BURN_COLOURS) - 1)],
        )
        for bound in found
        if bound.spec.measure is Measure.BURN_PAIRS
        for row in bound.rows
    )
    return _thresholded(panel, [(None, "green"), *factors])


def service_dashboard(
    service: str, slos: Sequence[Slo], specs: Sequence[ConditionSpec]
) -> model.Dashboard:
    board = _base(
        f"SLOs / {service}",
        dashboard_uid(service),
        f"Error budgets, SLIs and burn rates of {service}, generated by sloctl.",
    ).annotation(incidents_annotation(service))
    related = [service, *sorted({d for slo in slos for d in slo.depends_on} - {service})]
    board = board.annotation(changes_annotation(related))
    for slo in slos:
        found = bounds(slo, specs)
        board = board.with_row(dashboard_builder.Row(f"{slo.name}: {slo.indicator.describe()}"))
        board = board.with_panel(budget_stat(slo)).with_panel(burn_down(slo))
        board = board.with_panel(
            stat.Panel()
            .title(f"{slo.name}: burn rate (1h)")
            .datasource(DATASOURCE)
            .with_target(
                query(
                    f"{_ratio(slo, 3600)} / {promql.decimal_text(slo.error_budget)}",
                    "1h",
                    "A",
                    instant=True,
                )
            )
            .unit("x")
            .decimals(2)
            .thresholds(steps((None, "green"), (1.0, "orange"), (page_factor(slo, found), "red")))
            .color_mode(common.BigValueColorMode.VALUE)
            .reduce_options(common_builder.ReduceDataOptions().calcs(["lastNotNull"]))
            .height(7)
            .span(4)
        )
        board = board.with_panel(signal(slo, found)).with_panel(burn_rates(slo, specs, found))
    return board.build()


def overview_factors(slos: Sequence[Slo]) -> tuple[float, float]:
    """The 1 h and 6 h paging factors of the SLOs' window, or of the runbook's 30 days when
    their windows differ: one set of colours has to serve every SLO in the overview."""
    windows = {burn.budget_window_seconds(slo) for slo in slos}
    window = windows.pop() if len(windows) == 1 else RUNBOOK_MONTH_SECONDS
    fast, slow = burn.PAGE_PAIRS
    return float(burn.factor(window, fast)), float(burn.factor(window, slow))


RUNBOOK_MONTH_SECONDS = 30 * 86400


def overview_dashboard(slos: Sequence[Slo]) -> model.Dashboard:
    def gauge(
        title: str, expr: str, unit: str, pairs: Sequence[tuple[float | None, str]]
    ) -> bargauge.Panel:
        return (
            bargauge.Panel()
            .title(title)
            .datasource(DATASOURCE)
            .with_target(query(expr, SLO_LEGEND, "A", instant=True))
            .unit(unit)
            .thresholds(steps(*pairs))
            .display_mode(common.BarGaugeDisplayMode.GRADIENT)
            .orientation(common.VizOrientation.HORIZONTAL)
            .reduce_options(common_builder.ReduceDataOptions().calcs(["lastNotNull"]))
            .height(max(6, 2 + len(slos)))
            .span(8)
        )

    fast, slow = overview_factors(slos)
    burn_steps = ((None, "green"), (1.0, "yellow"), (slow, "orange"), (fast, "red"))
    open_incidents = big_number(
        "Open incidents",
        f"sum({INCIDENT_OPEN}) or vector(0)",
        "open",
        "none",
        ((None, "green"), (1.0, "red")),
        span=24,
    )
    return (
        _base(
            "SLOs / overview",
            "sloctl-overview",
            "Every SLO's error budget at a glance, generated by sloctl.",
        )
        .annotation(incidents_annotation(None))
        .annotation(changes_annotation(()))
        .with_panel(open_incidents)
        .with_panel(
            gauge("Error budget left", conventions.BUDGET_REMAINING, "percentunit", BUDGET_STEPS)
        )
        .with_panel(
            gauge(
                "Burn rate (1h)",
                promql.burn_rate(conventions.error_ratio_name(3600)),
                "x",
                burn_steps,
            )
        )
        .with_panel(
            gauge(
                "Burn rate (6h)",
                promql.burn_rate(conventions.error_ratio_name(21600)),
                "x",
                burn_steps,
            )
        )
        .build()
    )


DAEMON_FILE = "sloctl-daemon.json"
DAEMON_METRICS = (
    INCIDENT_OPEN,
    LAST_SUCCESSFUL_EVALUATION_TIMESTAMP_SECONDS,
    SLO_STALE,
    CONFIG_LAST_RELOAD_SUCCESSFUL,
    INCIDENTS_OPEN,
    buckets(EVALUATION_DURATION_SECONDS),
    QUERY_ERRORS_TOTAL,
    NOTIFICATIONS_TOTAL,
    SLO_SLI_ERROR_RATIO,
    SLO_LATENCY_P95_SECONDS,
)
"""Every metric of sloctl's own the daemon dashboard reads (a test checks they exist)."""


def daemon_dashboard() -> model.Dashboard:
    """sloctl run itself: is it evaluating, how fast, what fails, what it is looking at."""

    def graph(title: str, unit: str, *targets: tuple[str, str]) -> timeseries.Panel:
        panel = (
            timeseries.Panel()
            .title(title)
            .datasource(DATASOURCE)
            .unit(unit)
            .legend(_legend())
            .height(8)
            .span(12)
        )
        for index, (expr, legend) in enumerate(targets):
            panel = panel.with_target(query(expr, legend, chr(ord("A") + index)))
        return panel

    durations = buckets(EVALUATION_DURATION_SECONDS)
    signal_legend = f"{SLO_LEGEND} ({shown(WINDOW_LABEL)})"
    return (
        _base(
            "sloctl / daemon",
            "sloctl-daemon",
            "sloctl run itself: evaluations, errors, notifications and the signals it judges.",
        )
        .annotation(incidents_annotation(None))
        .with_panel(
            big_number(
                "Since the last good evaluation",
                f"time() - max({LAST_SUCCESSFUL_EVALUATION_TIMESTAMP_SECONDS})",
                "",
                "s",
                ((None, "green"), (120.0, "orange"), (300.0, "red")),
                span=6,
            )
        )
        .with_panel(
            big_number(
                "Stale SLOs",
                f"sum({SLO_STALE})",
                "",
                "none",
                ((None, "green"), (1.0, "red")),
                span=6,
            )
        )
        .with_panel(
            big_number(
                "Configuration reload",
                f"min({CONFIG_LAST_RELOAD_SUCCESSFUL})",
                "",
                "bool_yes_no",
                ((None, "red"), (1.0, "green")),
                span=6,
            )
        )
        .with_panel(
            big_number(
                "Open incidents",
                f"sum({INCIDENTS_OPEN})",
                "",
                "none",
                ((None, "green"), (1.0, "red")),
                span=6,
            )
        )
        .with_panel(
            graph(
                "Evaluation cycle",
                "s",
                (
                    f"histogram_quantile(0.5, sum by ({BUCKET_LABEL}) (rate({durations}[5m])))",
                    "p50",
                ),
                (
                    f"histogram_quantile(0.95, sum by ({BUCKET_LABEL}) (rate({durations}[5m])))",
                    "p95",
                ),
            )
        )
        .with_panel(
            graph(
                "Query errors per second",
                "reqps",
                (
                    f"sum by ({REASON_LABEL}) (rate({QUERY_ERRORS_TOTAL}[5m]))",
                    shown(REASON_LABEL),
                ),
            )
        )
        .with_panel(
            graph(
                "Notification attempts (15 min)",
                "none",
                (
                    f"sum by ({SINK_LABEL}, {RESULT_LABEL}) (increase({NOTIFICATIONS_TOTAL}[15m]))",
                    f"{shown(SINK_LABEL)} {shown(RESULT_LABEL)}",
                ),
            )
        )
        .with_panel(
            graph(
                "Open incidents by severity",
                "none",
                (f"sum by ({SEVERITY_LABEL}) ({INCIDENTS_OPEN})", shown(SEVERITY_LABEL)),
            )
        )
        .with_panel(
            graph(
                "Error ratio the policy judges",
                "percentunit",
                (SLO_SLI_ERROR_RATIO, signal_legend),
            )
        )
        .with_panel(
            graph(
                "p95 the policy judges",
                "s",
                (SLO_LATENCY_P95_SECONDS, signal_legend),
            )
        )
        .build()
    )


def encode(dashboard: model.Dashboard) -> str:
    """Deterministic JSON: sorted keys, two-space indent, trailing newline.

    The text of ``json.dumps``, gathered as it is encoded: ``json.dumps`` keeps every piece
    (millions for a service of thousands of SLOs) in a list before joining them.
    """
    text = io.StringIO()
    for chunk in JSONEncoder(sort_keys=True, indent=2).iterencode(dashboard):
        text.write(chunk)
    text.write("\n")
    return text.getvalue()


def render_dashboards(slos: Iterable[Slo], policy: Policy) -> dict[str, str]:
    """File name to JSON: the overview, sloctl's own, and one dashboard per service, with the
    thresholds of ``policy``."""
    return {name: render() for name, render in dashboard_parts(slos, policy)}


def dashboard_parts(slos: Iterable[Slo], policy: Policy) -> list[tuple[str, Callable[[], str]]]:
    """Every dashboard file's name, and how to render it (one at a time, for a large set of
    definitions): the overview, sloctl's own, and one per service."""
    every = list(slos)
    parts: dict[str, Callable[[], str]] = {
        "overview.json": lambda: encode(overview_dashboard(every)),
        DAEMON_FILE: lambda: encode(daemon_dashboard()),
    }
    for service, service_slos in by_service(every).items():
        name = unique_name(service, f"{file_stem(service)}.json", parts)
        parts[name] = partial(_service_file, service, service_slos, policy)
    return list(parts.items())


def _service_file(service: str, slos: Sequence[Slo], policy: Policy) -> str:
    specs = service_conditions(policy.for_service(service))
    return encode(service_dashboard(service, slos, specs))


def queries(document: Any) -> list[str]:
    """Every PromQL expression in a dashboard's JSON: panel targets and annotations."""
    found: list[str] = []
    if isinstance(document, dict):
        for key, value in document.items():
            if key == "expr" and isinstance(value, str):
                found.append(value)
            else:
                found.extend(queries(value))
    elif isinstance(document, list):
        for item in document:
            found.extend(queries(item))
    return found
