"""Prometheus recording and alerting rules generated from the SLO definitions.

Per service, one file with three groups:

- ``sloctl-<service>-slis`` (every minute): 5-minute event rates per SLO, error ratios over
  5m to 6h built from them, and the p95 of latency SLOs;
- ``sloctl-<service>-budget`` (every 2 minutes): error ratios over 1d, 3d and the SLO window,
  again from the 5-minute rates, so no raw selector ever sits under a window of a day or more;
- ``sloctl-<service>-alerts``: multiwindow multi-burn-rate alerts with factors derived from
  each SLO's window, the runbook's severity indicators (7.1 and 2.2), and a no-data alert.

All PromQL comes from :mod:`sloctl.promql`, the builder the report uses too.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import yaml

from sloctl import burn, promql
from sloctl.durations import format_duration
from sloctl.errors import SloctlError
from sloctl.severity import LEVELS, Severity, spoken
from sloctl.slo import LatencyIndicator, RatioIndicator, Slo

SLI_WINDOWS = (1800, 3600, 2 * 3600, 6 * 3600)
BUDGET_INTERVAL = "2m"
"""Under the 5-minute lookback, so a late or skipped evaluation never leaves alerts without
their 1d and 3d ratios."""
BUDGET_WINDOWS = (86400, 3 * 86400)
RUNBOOK = "incident-response-runbook.md"
OUTAGE_RATIO = Decimal("0.5")
MAJOR_RATIO = Decimal("0.1")
SEVERE_LATENCY = Decimal("0.5")
P95 = Decimal("0.95")
NO_DATA_FOR = "10m"


@dataclass(frozen=True)
class Record:
    record: str
    expr: str
    labels: dict[str, str]

    def as_dict(self) -> dict[str, Any]:
        return {"record": self.record, "expr": self.expr, "labels": self.labels}


@dataclass(frozen=True)
class Alert:
    alert: str
    expr: str
    duration: str
    labels: dict[str, str]
    annotations: dict[str, str]

    def as_dict(self) -> dict[str, Any]:
        """The rule as Prometheus reads it: label and annotation values are Go templates
        there, so text taken from definitions is written so that it renders as itself."""
        return {
            "alert": self.alert,
            "expr": self.expr,
            "for": self.duration,
            "labels": {k: template_literal(v) for k, v in self.labels.items()},
            "annotations": {k: template_literal(v) for k, v in self.annotations.items()},
        }


def template_literal(text: str) -> str:
    """``text`` as a Go template that renders to exactly ``text`` (``{{`` and ``}}`` quoted)."""
    parts = re.split(r"(\{\{|\}\})", text)
    return "".join(f'{{{{ "{part}" }}}}' if part in ("{{", "}}") else part for part in parts)


@dataclass(frozen=True)
class Group:
    name: str
    interval: str
    rules: list[Record | Alert] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "interval": self.interval,
            "rules": [rule.as_dict() for rule in self.rules],
        }


def slo_labels(slo: Slo) -> dict[str, str]:
    return {"service": slo.service, "slo": slo.name}


def window_seconds(slo: Slo) -> int:
    """The SLO window as a rolling length; a calendar month is recorded over 30 days."""
    return int(slo.rolling_length().total_seconds())


def ratio_windows(slo: Slo) -> tuple[int, ...]:
    """Windows the budget group records: 1d, 3d and the SLO window, unless the slis group
    records that window already."""
    recorded_often = {promql.SLICE_SECONDS, *SLI_WINDOWS}
    return tuple(sorted({*BUDGET_WINDOWS, window_seconds(slo)} - recorded_often))


def rate_seconds(slo: Slo) -> int:
    """The range of the 5-minute rates: five minutes plus one scrape interval.

    Summed over the window, rates recorded every minute count each scrape interval's events
    in a number of windows equal to (range - scrape interval) / 1 minute. With exactly five
    minutes there, every event counts five times whatever its phase; with a bare 5m range it
    would count four or five times, which turns into sampling noise on few bad events.
    """
    return promql.SLICE_SECONDS + slo.scrape_seconds


def sli_records(slo: Slo) -> list[Record]:
    indicator = slo.indicator
    labels = slo_labels(slo)
    seconds = rate_seconds(slo)
    records = [
        Record(promql.EVENTS_RATE, promql.summed_rate(indicator.total, seconds), labels),
        Record(
            promql.BAD_EVENTS_RATE,
            promql.bad_rate(
                indicator.total,
                indicator.bad,
                indicator.good,
                seconds,
                good_may_be_absent=not isinstance(indicator, LatencyIndicator),
            ),
            labels,
        ),
        Record(
            promql.error_ratio_name(promql.SLICE_SECONDS),
            promql.short_ratio(slo.service, slo.name),
            labels,
        ),
    ]
    records += [
        Record(promql.error_ratio_name(w), promql.window_ratio(slo.service, slo.name, w), labels)
        for w in SLI_WINDOWS
    ]
    if isinstance(indicator, LatencyIndicator):
        buckets = indicator.histogram.with_metric(f"{indicator.histogram.metric}_bucket")
        records.append(Record(promql.LATENCY_P95, promql.quantile(buckets, P95, seconds), labels))
    return records


def budget_records(slo: Slo) -> list[Record]:
    """Long-window ratios, the objective itself, and the share of the budget left.

    The objective is recorded as a constant so that dashboards can compute every SLO's burn
    rate with one query.
    """
    labels = slo_labels(slo)
    window = window_seconds(slo)
    records = [
        Record(promql.error_ratio_name(w), promql.window_ratio(slo.service, slo.name, w), labels)
        for w in ratio_windows(slo)
    ]
    records.append(Record(promql.OBJECTIVE, promql.constant(slo.target), labels))
    if slo.timeslices is not None:
        return records  # the budget left of a timeslice SLO comes from `sloctl report`
    records.append(
        Record(
            promql.BUDGET_REMAINING,
            promql.budget_remaining(slo.service, slo.name, window, slo.error_budget),
            labels,
        )
    )
    return records


def _annotations(slo: Slo, severity: Severity | None, summary: str, section: str) -> dict[str, str]:
    notes = {
        "summary": f"{slo.service} {slo.name}: {summary}",
        "runbook": f"{RUNBOOK} section {section}",
    }
    if severity is not None:
        level = LEVELS[severity]
        notes["response_target"] = spoken(level.response)
        notes["resolution_target"] = spoken(level.resolution)
    if slo.description:
        notes["description"] = slo.description
    return notes


def _ratio(slo: Slo, seconds: int) -> str:
    return promql.slo_selector(promql.error_ratio_name(seconds), slo.service, slo.name).render()


def burn_alerts(slo: Slo) -> list[Alert]:
    """One paging and one ticket alert, each an ``or`` of its two window pairs."""
    alerts = []
    for urgency, name, severity in (
        (burn.Urgency.PAGE, "SloctlBudgetBurnFast", Severity.P3),
        (burn.Urgency.TICKET, "SloctlBudgetBurnSlow", None),
    ):
        pairs = [b for b in burn.STANDARD_WINDOWS if b.urgency is urgency and burn.can_fire(slo, b)]
        if not pairs:
            continue
        clauses = []
        factors = []
        for pair in pairs:
            limit = burn.threshold(slo, pair)
            clauses.append(
                f"(\n  {promql.above(_ratio(slo, pair.long_seconds), limit)}\n  and\n"
                f"  {promql.above(_ratio(slo, pair.short_seconds), limit)}\n)"
            )
            factor = burn.factor(burn.budget_window_seconds(slo), pair)
            factors.append(
                f"{promql.decimal_text(factor)}x over {format_duration(pair.long_seconds)}"
            )
        labels = {
            **slo_labels(slo),
            "severity": severity.value if severity else "ticket",
            "urgency": urgency.value,
        }
        summary = f"error budget burning at {' or '.join(factors)}"
        alerts.append(
            Alert(
                name,
                "\nor\n".join(clauses),
                "2m" if urgency is burn.Urgency.PAGE else "15m",
                labels,
                _annotations(slo, severity, summary, "2.2 (P3 indicators)" if severity else "7.2"),
            )
        )
    return alerts


def _severity_labels(slo: Slo, severity: Severity) -> dict[str, str]:
    return {**slo_labels(slo), "severity": severity.value, "urgency": "page"}


def error_alerts(slo: Slo) -> list[Alert]:
    """The runbook's error-rate indicators: P1 above 50 %, P2 above 10 % for 30 minutes."""
    ratio = _ratio(slo, promql.SLICE_SECONDS)
    return [
        Alert(
            "SloctlErrorRatioOutage",
            promql.above(ratio, OUTAGE_RATIO),
            "1m",
            _severity_labels(slo, Severity.P1),
            _annotations(
                slo,
                Severity.P1,
                "error ratio above 50% (complete or partial outage)",
                "2.2 (P1 indicators), 7.1",
            ),
        ),
        Alert(
            "SloctlErrorRatioMajor",
            promql.above(ratio, MAJOR_RATIO),
            "30m",
            _severity_labels(slo, Severity.P2),
            _annotations(
                slo,
                Severity.P2,
                "error ratio above 10% for 30 minutes (major feature down)",
                "7.1",
            ),
        ),
    ]


def latency_alerts(slo: Slo, indicator: LatencyIndicator) -> list[Alert]:
    """The runbook's latency indicators, at the service's own threshold where that is higher."""
    p95 = promql.slo_selector(promql.LATENCY_P95, slo.service, slo.name).render()
    threshold = indicator.threshold_seconds
    severe = max(SEVERE_LATENCY, threshold)
    alerts_found = [
        Alert(
            "SloctlLatencySevere",
            promql.above(p95, severe),
            "5m",
            _severity_labels(slo, Severity.P2),
            _annotations(
                slo,
                Severity.P2,
                f"p95 latency above {promql.decimal_text(severe)}s "
                "(significant performance degradation)",
                "2.2 (P2 indicators)",
            ),
        ),
        Alert(
            "SloctlLatencyDegradedLong",
            promql.above(p95, threshold),
            "1h",
            _severity_labels(slo, Severity.P2),
            _annotations(
                slo,
                Severity.P2,
                f"p95 latency above {promql.decimal_text(threshold)}s for over an hour",
                "7.1 (performance issue > 1 hour)",
            ),
        ),
    ]
    if severe > threshold:  # at a threshold of 500 ms or more the P2 alert already covers it
        alerts_found.append(
            Alert(
                "SloctlLatencyDegraded",
                promql.above(p95, threshold),
                "5m",
                _severity_labels(slo, Severity.P3),
                _annotations(
                    slo,
                    Severity.P3,
                    f"p95 latency above {promql.decimal_text(threshold)}s "
                    "(performance degradation)",
                    "2.2 (P3 indicators), 2.4",
                ),
            )
        )
    return alerts_found


def no_data_alert(slo: Slo) -> Alert:
    return Alert(
        "SloctlNoData",
        f"absent({slo.indicator.total.render()})",
        NO_DATA_FOR,
        {**slo_labels(slo), "severity": "ticket", "urgency": "ticket"},
        _annotations(
            slo,
            None,
            "no series for the SLO's total events: the exporter or its scrape is down",
            "2.1 (automated detection)",
        ),
    )


def alerts(slo: Slo) -> list[Alert]:
    # A timeslice budget counts bad slices, which these event-ratio rules cannot; its burn
    # alerts would disagree with `sloctl report`, so it gets the runbook's indicators only.
    found = burn_alerts(slo) if slo.timeslices is None else []
    if isinstance(slo.indicator, RatioIndicator):
        found += error_alerts(slo)
    else:
        found += latency_alerts(slo, slo.indicator)
    found.append(no_data_alert(slo))
    return found


def service_groups(service: str, slos: Sequence[Slo]) -> list[Group]:
    return [
        Group(f"sloctl-{service}-slis", "1m", [r for s in slos for r in sli_records(s)]),
        Group(
            f"sloctl-{service}-budget",
            BUDGET_INTERVAL,
            [r for s in slos for r in budget_records(s)],
        ),
        Group(f"sloctl-{service}-alerts", "1m", [a for s in slos for a in alerts(s)]),
    ]


def file_stem(service: str) -> str:
    """A file name for ``service``: characters other than letters, digits, ``._-`` become ``_``."""
    stem = re.sub(r"[^A-Za-z0-9._-]", "_", service).strip(".")
    return stem or "_"


class GenerationError(SloctlError):
    """The definitions cannot be turned into files (two services would share one)."""

    exit_code = 2


def unique_name(service: str, name: str, taken: Iterable[str]) -> str:
    if name in taken:
        raise GenerationError(
            f"service {service!r} would be written to {name}, which another service uses; "
            "rename one of them"
        )
    return name


def by_service(slos: Iterable[Slo]) -> dict[str, list[Slo]]:
    grouped: dict[str, list[Slo]] = {}
    for slo in slos:
        grouped.setdefault(slo.service, []).append(slo)
    return dict(sorted(grouped.items()))


class _Dumper(yaml.SafeDumper):
    """Block style for multi-line expressions and no anchors, so files read as if handwritten."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _str_representer(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str_representer)

HEADER = "# Generated by `sloctl generate rules` from slo-definitions/. Do not edit.\n"


def dump(document: dict[str, Any]) -> str:
    return HEADER + yaml.dump(
        document,
        Dumper=_Dumper,
        sort_keys=False,
        default_flow_style=False,
        width=100,
        allow_unicode=True,
    )


def render_rules(slos: Iterable[Slo]) -> dict[str, str]:
    """File name to content, one rule file per service."""
    files: dict[str, str] = {}
    for service, service_slos in by_service(slos).items():
        name = unique_name(service, f"{file_stem(service)}.yaml", files)
        groups = service_groups(service, service_slos)
        files[name] = dump({"groups": [g.as_dict() for g in groups]})
    return files
