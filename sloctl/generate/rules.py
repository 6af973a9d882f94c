"""Prometheus recording and alerting rules generated from the SLO definitions.

Per service, one file with three groups:

- ``sloctl-<service>-slis`` (every minute): 5-minute event rates per SLO, error ratios over
  5m to 6h built from them, and the p95 of latency SLOs;
- ``sloctl-<service>-budget`` (every 2 minutes): error ratios over 1d, 3d and the SLO window,
  again from the 5-minute rates, so no raw selector ever sits under a window of a day or more;
- ``sloctl-<service>-alerts``: one alert per condition of :mod:`sloctl.incidents.conditions` that
  can hold for the SLO (the multiwindow multi-burn-rate pairs with factors derived from its
  window, and the runbook's severity indicators of 7.1 and 2.2, with the thresholds and
  durations of the policy in force for the service), and a no-data alert.

All PromQL comes from :mod:`sloctl.promql.build`, the builder the report uses too.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import yaml

from sloctl.core import burn, conventions
from sloctl.core.conventions import (
    MAINTENANCE_METRIC,
    P95,
    SERVICE_LABEL,
    SEVERITY_LABEL,
    SLO_LABEL,
    URGENCY_LABEL,
)
from sloctl.core.durations import format_duration, format_elapsed
from sloctl.core.severity import LEVELS, Severity, spoken
from sloctl.core.slo import LatencyIndicator, Slo, by_service
from sloctl.errors import GenerationError
from sloctl.incidents.conditions import Bound, ConditionSpec, Measure, bounds, service_conditions
from sloctl.incidents.policy import Policy
from sloctl.promql import build as promql

SLI_WINDOWS = (1800, 3600, 2 * 3600, 6 * 3600)
BUDGET_INTERVAL = "2m"
"""Under the 5-minute lookback, so a late or skipped evaluation never leaves alerts without
their 1d and 3d ratios."""
BUDGET_WINDOWS = (86400, 3 * 86400)
RUNBOOK = "incident-response-runbook.md"
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
    bound: Bound | None = field(default=None, compare=False)
    """The condition the alert fires on (None for the no-data alert)."""

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
    return {SERVICE_LABEL: slo.service, SLO_LABEL: slo.name}


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
        Record(conventions.EVENTS_RATE, promql.summed_rate(indicator.total, seconds), labels),
        Record(
            conventions.BAD_EVENTS_RATE,
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
            conventions.error_ratio_name(promql.SLICE_SECONDS),
            promql.short_ratio(slo.service, slo.name),
            labels,
        ),
    ]
    records += [
        Record(
            conventions.error_ratio_name(w), promql.window_ratio(slo.service, slo.name, w), labels
        )
        for w in SLI_WINDOWS
    ]
    if isinstance(indicator, LatencyIndicator):
        buckets = indicator.histogram.with_metric(f"{indicator.histogram.metric}_bucket")
        records.append(
            Record(conventions.LATENCY_P95, promql.quantile(buckets, P95, seconds), labels)
        )
    return records


def budget_records(slo: Slo) -> list[Record]:
    """Long-window ratios, the objective itself, and the share of the budget left.

    The objective is recorded as a constant so that dashboards can compute every SLO's burn
    rate with one query.
    """
    labels = slo_labels(slo)
    window = window_seconds(slo)
    records = [
        Record(
            conventions.error_ratio_name(w), promql.window_ratio(slo.service, slo.name, w), labels
        )
        for w in ratio_windows(slo)
    ]
    records.append(Record(conventions.OBJECTIVE, promql.constant(slo.target), labels))
    if slo.timeslices is not None:
        return records  # the budget left of a timeslice SLO comes from `sloctl report`
    records.append(
        Record(
            conventions.BUDGET_REMAINING,
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


def _measured(bound: Bound, seconds: int) -> str:
    """The recorded series a bound compares over ``seconds``: an error ratio, or the p95."""
    slo = bound.slo
    recorded = (
        (promql.SLICE_SECONDS,)
        if bound.on_p95
        else tuple(sorted({promql.SLICE_SECONDS, *SLI_WINDOWS, *ratio_windows(slo)}))
    )
    if seconds not in recorded:
        raise GenerationError(
            f"service {slo.service!r}: its policy measures {bound.spec.condition.value} over "
            f"{format_duration(seconds)}, but the generated rules record "
            f"{'the p95' if bound.on_p95 else 'error ratios'} over "
            f"{', '.join(format_duration(w) for w in recorded)} only; set signal_window to 5m"
        )
    name = conventions.LATENCY_P95 if bound.on_p95 else conventions.error_ratio_name(seconds)
    return promql.slo_selector(name, slo.service, slo.name).render()


def condition_expr(bound: Bound) -> str:
    """``measure > limit``, and for burn-rate pairs ``(long > limit and short > limit)``, the
    rows joined by ``or``."""
    clauses = []
    for row in bound.rows:
        long = promql.above(_measured(bound, row.window_seconds), row.limit)
        if row.short_seconds is None:
            clauses.append(long)
            continue
        short = promql.above(_measured(bound, row.short_seconds), row.limit)
        clauses.append(f"(\n  {long}\n  and\n  {short}\n)")
    return "\nor\n".join(clauses)


def silenced(expr: str) -> str:
    """``expr``, silent while its service is in a maintenance window (sloctl exports
    ``sloctl_maintenance_active{service} 1`` then; without that series nothing is silenced)."""
    return f"(\n{expr}\n)\nunless on({SERVICE_LABEL})\n({MAINTENANCE_METRIC} == 1)"


def condition_alert(bound: Bound) -> Alert:
    spec, slo = bound.spec, bound.slo
    urgency = burn.Urgency.PAGE if spec.severity is not None else burn.Urgency.TICKET
    labels = {
        **slo_labels(slo),
        SEVERITY_LABEL: spec.severity.value if spec.severity else "ticket",
        URGENCY_LABEL: urgency.value,
    }
    summary = f"{bound.summary()} ({spec.meaning})"
    return Alert(
        spec.alert,
        silenced(condition_expr(bound)),
        format_elapsed(spec.duration),
        labels,
        _annotations(slo, spec.severity, summary, spec.runbook),
        bound,
    )


def no_data_alert(slo: Slo) -> Alert:
    return Alert(
        "SloctlNoData",
        f"absent({slo.indicator.total.render()})",
        NO_DATA_FOR,
        {**slo_labels(slo), SEVERITY_LABEL: "ticket", URGENCY_LABEL: "ticket"},
        _annotations(
            slo,
            None,
            "no series for the SLO's total events: the exporter or its scrape is down",
            "2.1 (automated detection)",
        ),
    )


def alerts(slo: Slo, specs: Sequence[ConditionSpec]) -> list[Alert]:
    """One alert per condition of the service that can hold for ``slo``, and a no-data alert.

    Burn-rate alerts come first (the page, then the ticket), then the runbook's indicators
    from the highest severity down, in the order of ``specs``.
    """
    found = [
        bound
        for bound in bounds(slo, specs)
        # A timeslice budget counts bad slices, which these event-ratio rules cannot; its burn
        # alerts would disagree with `sloctl report`, so it gets the other indicators only.
        if slo.timeslices is None or bound.spec.measure is not Measure.BURN_PAIRS
    ]
    found.sort(key=lambda b: (b.spec.measure is not Measure.BURN_PAIRS, specs.index(b.spec)))
    return [*(condition_alert(bound) for bound in found), no_data_alert(slo)]


def service_groups(service: str, slos: Sequence[Slo], policy: Policy) -> list[Group]:
    return [
        Group(name, interval, [rule for slo in slos for rule in rules_of(slo)])
        for name, interval, rules_of in _group_layout(service, policy)
    ]


def _group_layout(
    service: str, policy: Policy
) -> list[tuple[str, str, Callable[[Slo], Sequence[Record | Alert]]]]:
    """Each group of a service's rule file: its name, interval and the rules of one SLO."""
    specs = service_conditions(policy.for_service(service))
    return [
        (f"sloctl-{service}-slis", "1m", sli_records),
        (f"sloctl-{service}-budget", BUDGET_INTERVAL, budget_records),
        (f"sloctl-{service}-alerts", "1m", partial(alerts, specs=specs)),
    ]


def file_stem(service: str) -> str:
    """A file name for ``service``: characters other than letters, digits, ``._-`` become ``_``."""
    stem = re.sub(r"[^A-Za-z0-9._-]", "_", service).strip(".")
    return stem or "_"


def unique_name(service: str, name: str, taken: Iterable[str]) -> str:
    if name in taken:
        raise GenerationError(
            f"service {service!r} would be written to {name}, which another service uses; "
            "rename one of them"
        )
    return name


try:
    from yaml import CSafeDumper as _Emitter  # libyaml: the same text, many times faster
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    from yaml import SafeDumper as _Emitter  # type: ignore[assignment]


class _Dumper(_Emitter):
    """Block style for multi-line expressions and no anchors, so files read as if handwritten."""

    def ignore_aliases(self, data: Any) -> bool:
        return True

    def emit_data(self, data: Any) -> None:
        """The events the serializer would emit for the node of ``data``."""
        kind = type(data)
        if kind is dict:
            implicit = self.resolve(yaml.MappingNode, None, True) == _MAP_TAG
            self.emit(yaml.MappingStartEvent(None, _MAP_TAG, implicit, flow_style=False))
            for key, value in data.items():
                self.emit_data(key)
                self.emit_data(value)
            self.emit(yaml.MappingEndEvent())
            return
        if kind is list:
            listed = self.resolve(yaml.SequenceNode, None, True) == _SEQ_TAG
            self.emit(yaml.SequenceStartEvent(None, _SEQ_TAG, listed, flow_style=False))
            for item in data:
                self.emit_data(item)
            self.emit(yaml.SequenceEndEvent())
            return
        node = _str_node(data) if kind is str else self.represent_data(data)
        if not isinstance(node, yaml.ScalarNode):
            raise TypeError(f"cannot write {kind.__name__} in generated YAML")
        plain = self.resolve(yaml.ScalarNode, node.value, (True, False)) == node.tag
        quoted = self.resolve(yaml.ScalarNode, node.value, (False, True)) == node.tag
        self.emit(yaml.ScalarEvent(None, node.tag, (plain, quoted), node.value, style=node.style))

    def resolve(self, kind: type[yaml.Node], value: Any, implicit: Any) -> str:
        """The implicit tag of a scalar, remembered per text: the emitter asks twice for
        every scalar, and the same label values come back thousands of times."""
        if kind is not yaml.ScalarNode:
            return str(super().resolve(kind, value, implicit))  # type: ignore[no-untyped-call]
        key = (value, implicit)
        found = self.resolved.get(key)
        if found is None:
            found = str(super().resolve(kind, value, implicit))  # type: ignore[no-untyped-call]
            self.resolved[key] = found
        return found

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.resolved: dict[tuple[Any, Any], str] = {}


_STR_TAG = "tag:yaml.org,2002:str"
_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"


def _str_node(value: str) -> yaml.ScalarNode:
    return yaml.ScalarNode(_STR_TAG, value, style="|" if "\n" in value else None)


def _str_representer(dumper: _Emitter, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar(_STR_TAG, value, style=style)


_Dumper.add_representer(str, _str_representer)

HEADER = "# Generated by `sloctl generate rules` from slo-definitions/. Do not edit.\n"


def dump(document: dict[str, Any]) -> str:
    return HEADER + _yaml_text(document)


def dump_item(item: dict[str, Any]) -> str:
    """One item of a top-level mapping's list, as :func:`dump` writes it inside the document
    (block lists are not indented under their key), without the header."""
    return _yaml_text([item])


def _yaml_text(data: Any) -> str:
    """``yaml.dump(data)`` with the options below, its events emitted straight from ``data``:
    no tree of nodes for the whole document is built first (a large service's would weigh
    tens of megabytes)."""
    stream = io.StringIO()
    dumper = _Dumper(
        stream, sort_keys=False, default_flow_style=False, width=100, allow_unicode=True
    )
    try:
        dumper.emit(yaml.StreamStartEvent())
        dumper.emit(yaml.DocumentStartEvent(explicit=False))
        dumper.emit_data(data)
        dumper.emit(yaml.DocumentEndEvent(explicit=False))
        dumper.emit(yaml.StreamEndEvent())
    finally:
        dumper.dispose()
    return stream.getvalue()


def render_rules(slos: Iterable[Slo], policy: Policy) -> dict[str, str]:
    """File name to content, one rule file per service, its alerts from ``policy``."""
    files: dict[str, str] = {}
    for service, service_slos in by_service(slos).items():
        name = unique_name(service, rule_file_name(service), files)
        files[name] = service_rules(service, service_slos, policy)
    return files


def rule_file_name(service: str) -> str:
    return f"{file_stem(service)}.yaml"


def service_rules(service: str, slos: Sequence[Slo], policy: Policy) -> str:
    """The rule file of one service: the text of dumping :func:`service_groups`, made a few
    SLOs at a time so that a service of thousands of SLOs never holds all of its rules.

    The items of a list are written alike whichever items stand beside them: each piece is
    dumped inside its group, and the group's first lines are kept from the first piece only.
    """
    text = [HEADER]
    for index, (name, interval, rules_of) in enumerate(_group_layout(service, policy)):
        top = "" if index == 0 else "groups:\n"  # the document's key, written once
        head = _group_text(name, interval, [{}]).removesuffix("  - {}\n")
        written = False
        for start in range(0, len(slos), RULES_AT_ONCE):
            some = slos[start : start + RULES_AT_ONCE]
            rules = [rule.as_dict() for slo in some for rule in rules_of(slo)]
            if not rules:
                continue
            piece = _group_text(name, interval, rules)
            if not piece.startswith(head):
                raise AssertionError(f"unexpected YAML for the rules of {name}")
            text.append(piece[len(head) :] if written else piece.removeprefix(top))
            written = True
        if not written:
            text.append(_group_text(name, interval, []).removeprefix(top))
    return "".join(text)


def _group_text(name: str, interval: str, rules: list[dict[str, Any]]) -> str:
    return _yaml_text({"groups": [{"name": name, "interval": interval, "rules": rules}]})


RULES_AT_ONCE = 100
"""SLOs whose rules are written together (see :func:`service_rules`)."""
