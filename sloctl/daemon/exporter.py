"""sloctl's own metrics: a prometheus-client collector that reads one snapshot per scrape.

Whoever evaluates builds a new :class:`Snapshot` and swaps it in whole; a scrape reads the
snapshot that is current when it starts, so it never sees half a cycle. Nothing is
registered globally: :func:`exposition` renders a private registry.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from sloctl.core import conventions
from sloctl.core.budget import Status
from sloctl.core.changes import Change
from sloctl.core.conventions import CHANGE_METRIC, MAINTENANCE_METRIC, SERVICE_LABEL
from sloctl.core.durations import format_duration
from sloctl.core.severity import Severity
from sloctl.core.slo import Slo
from sloctl.incidents.lifecycle import Incident
from sloctl.incidents.signals import Sli
from sloctl.reading.evaluation import SloResult

CHANGES_EXPORTED_FOR = timedelta(hours=24)
"""How long a change stays exported (and so annotated on the dashboards)."""


@dataclass(frozen=True)
class Snapshot:
    """Everything one cycle of the daemon knows, frozen for scrapes."""

    results: Sequence[SloResult] = ()
    stale: frozenset[str] = frozenset()
    """SLO keys whose signals could not be read this cycle."""
    slis: Mapping[str, Sli] = field(default_factory=dict)
    """Each SLO's indicator over its service's signal window, as the severity policy saw it."""
    open_incidents: Sequence[Incident] = ()
    last_success: datetime | None = None
    query_errors: Mapping[str, int] = field(default_factory=dict)
    notifications: Mapping[tuple[str, str], int] = field(default_factory=dict)
    outbox_backlog: Mapping[str, tuple[int, float]] = field(default_factory=dict)
    """Per sink: messages still pending, and the age in seconds of the oldest (0 when none)."""
    reload_successful: bool = True
    cycle_durations: CycleDurations | None = None
    slos: Sequence[Slo] = ()
    """Every configured SLO, read this cycle or not (default: those in ``results``)."""
    last_data: Mapping[str, datetime] = field(default_factory=dict)
    """Per SLO key, the last cycle that saw its events series over the signal window (or
    the first cycle that looked, while none has)."""
    maintenance: Mapping[str, bool] = field(default_factory=dict)
    """Per service: whether it is in a maintenance window now (the generated alerts are
    silenced while it is)."""
    changes: Sequence[Change] = ()
    """The changes recorded over the last :data:`CHANGES_EXPORTED_FOR` (dashboard
    annotations)."""


DURATION_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


@dataclass(frozen=True)
class CycleDurations:
    """How long the daemon's cycles took: cumulative bucket counts, sum and count."""

    buckets: tuple[int, ...] = (0,) * len(DURATION_BUCKETS)
    total_seconds: float = 0.0
    count: int = 0

    def observe(self, seconds: float) -> CycleDurations:
        counts = tuple(
            n + (1 if seconds <= bound else 0)
            for n, bound in zip(self.buckets, DURATION_BUCKETS, strict=True)
        )
        return CycleDurations(counts, self.total_seconds + seconds, self.count + 1)


def _gauge(name: str, documentation: str, labels: Sequence[str]) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, labels=list(labels))


class SnapshotCollector(Collector):
    """Turns the current snapshot into metric families at each scrape."""

    def __init__(self, current: Callable[[], Snapshot]) -> None:
        self.current = current

    def collect(self) -> Iterator[Metric]:
        snapshot = self.current()
        yield from self._slos(snapshot)
        yield from self._incidents(snapshot)
        yield from self._self(snapshot)
        yield from self._planned(snapshot)

    def _planned(self, snapshot: Snapshot) -> Iterator[Metric]:
        active = _gauge(
            MAINTENANCE_METRIC,
            "1 while the service is in a maintenance window (its generated alerts are silenced).",
            (SERVICE_LABEL,),
        )
        for service, on in sorted(snapshot.maintenance.items()):
            active.add_metric([service], 1.0 if on else 0.0)
        change = _gauge(
            CHANGE_METRIC,
            "When each recent change to a service was made (Unix seconds; dashboard annotations).",
            ("service", "kind", "ref"),
        )
        latest: dict[tuple[str, str, str], float] = {}
        for one in snapshot.changes:
            key = (one.service, one.kind, one.ref)
            latest[key] = max(latest.get(key, 0.0), one.at.timestamp())
        for key, seconds in sorted(latest.items()):
            change.add_metric(list(key), seconds)
        yield from (active, change)

    def _slos(self, snapshot: Snapshot) -> Iterator[Metric]:
        slo = (conventions.SERVICE_LABEL, conventions.SLO_LABEL)
        left_ratio = _gauge(
            conventions.SLO_ERROR_BUDGET_REMAINING_RATIO,
            "Share of the error budget left over the SLO window.",
            slo,
        )
        left_seconds = _gauge(
            conventions.SLO_ERROR_BUDGET_REMAINING_SECONDS,
            "Full outage the error budget still allows.",
            slo,
        )
        consumed = _gauge(
            conventions.SLO_ERROR_BUDGET_CONSUMED_SECONDS,
            "Full outage spent over the SLO window.",
            slo,
        )
        budget = _gauge(
            conventions.SLO_ERROR_BUDGET_SECONDS,
            "Full outage the objective allows over the window.",
            slo,
        )
        ratio = _gauge(conventions.SLO_ERROR_RATIO, "Share of bad events over the SLO window.", slo)
        burn = _gauge(
            conventions.SLO_BURN_RATE,
            "Error ratio over (1 - objective) per window; 1 spends the budget "
            "exactly over the SLO window.",
            (*slo, conventions.WINDOW_LABEL),
        )
        status = _gauge(
            conventions.SLO_STATUS,
            "1 for the SLO's current status, 0 for the others.",
            (*slo, conventions.STATUS_LABEL),
        )
        stale = _gauge(
            conventions.SLO_STALE, "1 when this cycle could not read the SLO's signals.", slo
        )
        sli_ratio = _gauge(
            conventions.SLO_SLI_ERROR_RATIO,
            "Share of bad events over the signal window the severity policy judges.",
            (*slo, conventions.WINDOW_LABEL),
        )
        p95 = _gauge(
            conventions.SLO_LATENCY_P95_SECONDS,
            "95th percentile latency over the signal window (latency SLOs).",
            (*slo, conventions.WINDOW_LABEL),
        )
        fresh = _gauge(
            conventions.SLO_LAST_DATA_TIMESTAMP_SECONDS,
            "When sloctl last saw the SLO's events series over the signal window (zero traffic "
            "counts; a vanished exporter does not), or when it first looked, while it has not.",
            slo,
        )
        for each in snapshot.slos or [result.slo for result in snapshot.results]:
            labels = [each.service, each.name]
            # An SLO never read yet has no result, but is stale all the same.
            stale.add_metric(labels, 1.0 if each.key in snapshot.stale else 0.0)
            seen = snapshot.last_data.get(each.key)
            if seen is not None:
                fresh.add_metric(labels, seen.timestamp())
        for result in snapshot.results:
            labels = [result.slo.service, result.slo.name]
            b = result.budget
            budget.add_metric(labels, float(b.budget_minutes) * 60)
            if b.consumed_minutes is not None and b.remaining_minutes is not None:
                consumed.add_metric(labels, b.consumed_minutes * 60)
                left_seconds.add_metric(labels, b.remaining_minutes * 60)
            if b.remaining_share is not None:
                left_ratio.add_metric(labels, b.remaining_share)
            if b.error_ratio is not None:
                ratio.add_metric(labels, b.error_ratio)
            for window, rate in sorted(result.burn_rates.items()):
                if rate is not None:
                    burn.add_metric([*labels, window], rate)
            for value in Status:
                status.add_metric([*labels, value.value], 1.0 if b.status is value else 0.0)
            sli = snapshot.slis.get(result.slo.key)
            if sli is None or result.slo.key in snapshot.stale:
                continue  # last cycle's reading would pass for a current one
            window = format_duration(sli.window_seconds)
            if sli.error_ratio is not None:
                sli_ratio.add_metric([*labels, window], sli.error_ratio)
            if sli.p95_seconds is not None:
                p95.add_metric([*labels, window], sli.p95_seconds)
        yield from (left_ratio, left_seconds, consumed, budget, ratio, burn, status, stale)
        yield from (sli_ratio, p95, fresh)

    def _incidents(self, snapshot: Snapshot) -> Iterator[Metric]:
        each = _gauge(
            conventions.INCIDENT_OPEN,
            "1 for each open incident.",
            (conventions.SERVICE_LABEL, conventions.SEVERITY_LABEL, conventions.INCIDENT_LABEL),
        )
        counts = _gauge(
            conventions.INCIDENTS_OPEN,
            "Open incidents by service and severity.",
            (conventions.SERVICE_LABEL, conventions.SEVERITY_LABEL),
        )
        missed = _gauge(
            conventions.INCIDENTS_TARGET_MISSED,
            "Open incidents past their response or resolution target (runbook 1.2).",
            (conventions.SERVICE_LABEL, conventions.TARGET_LABEL),
        )
        tally: dict[tuple[str, str], int] = {}
        breaches: dict[tuple[str, str], int] = {}
        for incident in snapshot.open_incidents:
            each.add_metric([incident.service, incident.severity.value, incident.id], 1.0)
            key = (incident.service, incident.severity.value)
            tally[key] = tally.get(key, 0) + 1
            for target, breached in (
                ("response", incident.ack_breached),
                ("resolution", incident.resolution_breached),
            ):
                if breached:
                    breaches[(incident.service, target)] = (
                        breaches.get((incident.service, target), 0) + 1
                    )
        # Every service known to this cycle, with zeros: "no incident" is 0, not absent.
        services = sorted(
            {i.service for i in snapshot.open_incidents} | {r.slo.service for r in snapshot.results}
        )
        for service in services:
            for severity in Severity:
                counts.add_metric(
                    [service, severity.value], tally.get((service, severity.value), 0)
                )
            for target in ("response", "resolution"):
                missed.add_metric([service, target], breaches.get((service, target), 0))
        yield from (each, counts, missed)

    def _self(self, snapshot: Snapshot) -> Iterator[Metric]:
        last = _gauge(
            conventions.LAST_SUCCESSFUL_EVALUATION_TIMESTAMP_SECONDS,
            "When the last evaluation that read every SLO finished.",
            (),
        )
        if snapshot.last_success is not None:
            last.add_metric([], snapshot.last_success.timestamp())
        errors = CounterMetricFamily(
            conventions.QUERY_ERRORS_TOTAL,
            "Failed Prometheus queries (budget and signal queries, after retries), by reason.",
            labels=[conventions.REASON_LABEL],
        )
        for reason, count in sorted(snapshot.query_errors.items()):
            errors.add_metric([reason], count)
        sent = CounterMetricFamily(
            conventions.NOTIFICATIONS_TOTAL,
            "Notification attempts.",
            labels=[conventions.SINK_LABEL, conventions.RESULT_LABEL],
        )
        for (sink, result), count in sorted(snapshot.notifications.items()):
            sent.add_metric([sink, result], count)
        pending = _gauge(
            conventions.NOTIFICATIONS_PENDING,
            "Notifications queued and not yet delivered, by sink.",
            (conventions.SINK_LABEL,),
        )
        oldest = _gauge(
            conventions.NOTIFICATIONS_OLDEST_PENDING_AGE_SECONDS,
            "Age of the oldest undelivered notification, by sink (0 when none).",
            (conventions.SINK_LABEL,),
        )
        for sink, (count, age) in sorted(snapshot.outbox_backlog.items()):
            pending.add_metric([sink], count)
            oldest.add_metric([sink], age)
        if snapshot.cycle_durations is not None:
            durations = snapshot.cycle_durations
            histogram = HistogramMetricFamily(
                conventions.EVALUATION_DURATION_SECONDS,
                "Time one evaluation cycle took.",
                buckets=[
                    *(
                        (repr(bound), float(count))
                        for bound, count in zip(DURATION_BUCKETS, durations.buckets, strict=True)
                    ),
                    ("+Inf", float(durations.count)),
                ],
                sum_value=durations.total_seconds,
            )
            yield histogram
        reload = _gauge(
            conventions.CONFIG_LAST_RELOAD_SUCCESSFUL,
            "1 if the last configuration (re)load succeeded.",
            (),
        )
        reload.add_metric([], 1.0 if snapshot.reload_successful else 0.0)
        yield from (last, errors, sent, pending, oldest, reload)


def exposition(current: Callable[[], Snapshot]) -> bytes:
    """The text a /metrics scrape gets, from a registry of its own."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(SnapshotCollector(current))
    return generate_latest(registry)
