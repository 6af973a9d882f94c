"""Synthetic metric history for the runbook's services, with its exact truth.

The generator writes what instrumented services would have exposed (``http_requests_total``
by code and an ``http_request_duration_seconds`` histogram), in OpenMetrics text that
``promtool tsdb create-blocks-from openmetrics`` turns into TSDB blocks. While generating it
keeps every step's increments, so the true event counts of any window are known exactly,
including across counter resets and scrape gaps. The demo and the integration tests both use it.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TextIO

from sloctl.core.budget import Counts
from sloctl.core.selector import quote

BUCKETS: tuple[str, ...] = ("0.05", "0.1", "0.2", "0.25", "0.5", "1", "2", "2.5", "5")
REQUESTS = "http_requests_total"
DURATION = "http_request_duration_seconds"

# Cumulative share of requests at or below each bucket bound, in BUCKETS order.
FAST_API = (0.30, 0.72, 0.985, 0.99, 0.997, 0.9995, 1.0, 1.0, 1.0)
SLOW_API = (0.02, 0.05, 0.20, 0.35, 0.70, 0.92, 0.99, 0.997, 1.0)
INFERENCE = (0.0, 0.0, 0.01, 0.02, 0.15, 0.62, 0.985, 0.997, 1.0)
QUICK_DB = (0.80, 0.95, 0.995, 0.998, 0.9995, 1.0, 1.0, 1.0, 1.0)


@dataclass(frozen=True)
class Profile:
    """A service's normal behaviour."""

    service: str
    requests_per_second: float
    error_ratio: float
    latency: tuple[float, ...]
    unavailable_share: float = 0.0
    """Share of 5xx answered 503 rather than 500, so that two error series exist."""


@dataclass(frozen=True)
class Injection:
    """Something that happened to one service from ``start`` (inclusive) to ``end``."""

    service: str
    start: datetime
    end: datetime
    error_ratio: float | None = None
    latency: tuple[float, ...] | None = None
    traffic: float | None = None
    """Multiplier on the normal traffic; 0 means no requests at all."""


@dataclass(frozen=True)
class Scenario:
    start: datetime
    end: datetime
    step: int
    profiles: tuple[Profile, ...]
    injections: tuple[Injection, ...] = ()
    resets: tuple[tuple[str, datetime], ...] = ()
    """(service, time): the service restarted and its counters started again from zero."""
    gaps: tuple[tuple[str, datetime, datetime], ...] = ()
    """(service, start, end): no scrape succeeded in [start, end); the service kept working."""
    seed: int = 7
    pods: int = 1
    """Instances per service: each counter is written once per ``pod`` label, the service's
    increments shared out among them (the truth, per service, stays the same)."""

    def times(self) -> list[datetime]:
        count = int((self.end - self.start).total_seconds()) // self.step + 1
        return [self.start + timedelta(seconds=i * self.step) for i in range(count)]


@dataclass
class ServiceSeries:
    """Per-step increments of one service (index 0 is the first sample, with no increment)."""

    requests: list[int] = field(default_factory=list)
    errors_500: list[int] = field(default_factory=list)
    errors_503: list[int] = field(default_factory=list)
    within: dict[str, list[int]] = field(default_factory=dict)
    reset_steps: set[int] = field(default_factory=set)
    missing_steps: set[int] = field(default_factory=set)

    def successes(self) -> list[int]:
        pairs = zip(self.requests, self.errors_500, self.errors_503, strict=True)
        return [total - e500 - e503 for total, e500, e503 in pairs]


def _diurnal(moment: datetime) -> float:
    hour = moment.hour + moment.minute / 60
    return 1.0 + 0.5 * math.sin((hour - 9) / 24 * 2 * math.pi)


@dataclass
class History:
    """Generated increments for every service of a scenario, and the truth about them."""

    scenario: Scenario
    series: dict[str, ServiceSeries]
    timestamps: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.timestamps:
            self.timestamps = [int(t.timestamp()) for t in self.scenario.times()]

    @classmethod
    def generate(cls, scenario: Scenario) -> History:
        rng = random.Random(scenario.seed)
        times = scenario.times()
        series: dict[str, ServiceSeries] = {}
        for profile in scenario.profiles:
            data = ServiceSeries(within={le: [] for le in BUCKETS})
            injections = [i for i in scenario.injections if i.service == profile.service]
            for index, moment in enumerate(times):
                requests, bad, slow_503, within = 0, 0, 0, [0] * len(BUCKETS)
                if index:
                    error_ratio, latency, traffic = profile.error_ratio, profile.latency, 1.0
                    for injection in injections:
                        if injection.start <= moment < injection.end:
                            error_ratio = _pick(injection.error_ratio, error_ratio)
                            latency = injection.latency or latency
                            traffic = _pick(injection.traffic, traffic)
                    expected = profile.requests_per_second * scenario.step * _diurnal(moment)
                    requests = int(expected * traffic * rng.uniform(0.95, 1.05))
                    bad = min(requests, int(requests * error_ratio + rng.random()))
                    slow_503 = int(bad * profile.unavailable_share + rng.random())
                    jitter = rng.random()
                    within = [min(requests, int(requests * share + jitter)) for share in latency]
                data.requests.append(requests)
                data.errors_500.append(bad - min(bad, slow_503))
                data.errors_503.append(min(bad, slow_503))
                for le, count in zip(BUCKETS, within, strict=True):
                    data.within[le].append(count)
            for service, moment in scenario.resets:
                if service == profile.service:
                    data.reset_steps.add(_index(scenario, moment))
            for service, gap_start, gap_end in scenario.gaps:
                if service == profile.service:
                    data.missing_steps.update(
                        i for i, t in enumerate(times) if gap_start <= t < gap_end
                    )
            series[profile.service] = data
        return cls(scenario, series)

    def _steps(self, start: datetime, end: datetime) -> range:
        """Indices of steps whose time lies in (start, end]."""
        scenario = self.scenario
        first = max(0, math.floor((start - scenario.start).total_seconds() / scenario.step) + 1)
        last = min(
            len(self.timestamps) - 1,
            math.floor((end - scenario.start).total_seconds() / scenario.step),
        )
        return range(first, last + 1)

    def availability(self, service: str, start: datetime, end: datetime) -> Counts:
        """True requests and 5xx responses in (start, end]."""
        data = self.series[service]
        steps = self._steps(start, end)
        total = sum(data.requests[i] for i in steps)
        bad = sum(data.errors_500[i] + data.errors_503[i] for i in steps)
        return Counts(total=float(total), bad=float(bad))

    def latency(self, service: str, threshold: str, start: datetime, end: datetime) -> Counts:
        """True requests and requests slower than ``threshold`` (a bucket bound) in (start, end]."""
        data = self.series[service]
        steps = self._steps(start, end)
        total = sum(data.requests[i] for i in steps)
        fast = sum(data.within[threshold][i] for i in steps)
        return Counts(total=float(total), bad=float(total - fast))

    def bad_slices(
        self,
        service: str,
        start: datetime,
        end: datetime,
        slice_seconds: int,
        slice_target: Decimal,
    ) -> Counts:
        """Availability timeslices ending in (start, end]: slices with traffic and bad ones.

        A slice is bad when its share of good requests is below ``slice_target``. Slices must
        not touch a scrape gap: what Prometheus extrapolates there is not modelled.
        """
        if slice_seconds % self.scenario.step:
            raise ValueError("slices must be a whole number of steps")
        per_slice = slice_seconds // self.scenario.step
        data = self.series[service]
        with_data = bad_count = 0
        for last in self._steps(start, end):
            moment = self.scenario.start + timedelta(seconds=last * self.scenario.step)
            if int(moment.timestamp()) % slice_seconds:
                continue
            steps = range(last - per_slice + 1, last + 1)
            if steps.start < 1 or any(i in data.missing_steps for i in (steps.start - 1, *steps)):
                raise ValueError(f"slice ending {moment} touches missing data")
            total = sum(data.requests[i] for i in steps)
            bad = sum(data.errors_500[i] + data.errors_503[i] for i in steps)
            if total == 0:
                continue
            with_data += 1
            if Decimal(total - bad) / Decimal(total) < slice_target:
                bad_count += 1
        return Counts(total=float(with_data), bad=float(bad_count))

    def write_openmetrics(self, out: TextIO) -> None:
        """Every sample, as OpenMetrics text with timestamps in seconds."""
        out.write("# TYPE http_requests counter\n")
        for service, data in self.series.items():
            for code, increments in (
                ("200", data.successes()),
                ("500", data.errors_500),
                ("503", data.errors_503),
            ):
                labels = f"code={quote(code)},service={quote(service)}"
                self._write_counter(out, f"{REQUESTS}{{{labels}}}", increments, data)
        out.write(f"# TYPE {DURATION} histogram\n")
        for service, data in self.series.items():
            name = quote(service)
            for le in (*BUCKETS, "+Inf"):
                counts = data.within[le] if le != "+Inf" else data.requests
                labels = f"le={quote(le)},service={name}"
                self._write_counter(out, f"{DURATION}_bucket{{{labels}}}", counts, data)
            self._write_counter(out, f"{DURATION}_count{{service={name}}}", data.requests, data)
            sums = [_latency_sum(data, i) for i in range(len(data.requests))]
            self._write_counter(out, f"{DURATION}_sum{{service={name}}}", sums, data)
        out.write("# EOF\n")

    def _write_counter(
        self, out: TextIO, series: str, increments: list[int] | list[float], data: ServiceSeries
    ) -> None:
        pods = self.scenario.pods
        if pods > 1:
            name, _, labels = series.partition("{")
            for pod in range(pods):
                share = [_share(increment, pod, pods) for increment in increments]
                pod_label = f"pod={quote(f'pod-{pod}')}"
                self._write_counter_of(out, f"{name}{{{pod_label},{labels}", share, data)
            return
        self._write_counter_of(out, series, increments, data)

    def _write_counter_of(
        self, out: TextIO, series: str, increments: list[int] | list[float], data: ServiceSeries
    ) -> None:
        if not any(increments):
            return  # a labelled child that never counted anything is never exposed
        value: float = 0
        lines = []
        for index, (stamp, increment) in enumerate(zip(self.timestamps, increments, strict=True)):
            value = increment if index in data.reset_steps else value + increment
            if index not in data.missing_steps:
                lines.append(f"{series} {value:.15g} {stamp}\n")
        out.writelines(lines)

    def write_file(self, path: Path) -> None:
        with path.open("w", encoding="utf-8") as out:
            self.write_openmetrics(out)


def _spread(data: ServiceSeries, index: int) -> Iterator[int]:
    """Requests per bucket (not cumulative) in one step, for a plausible ``_sum``."""
    previous = 0
    for le in BUCKETS:
        current = data.within[le][index]
        yield current - previous
        previous = current


def _latency_sum(data: ServiceSeries, index: int) -> float:
    """Seconds spent in one step, taking every request at its bucket's upper bound."""
    pairs = zip(_spread(data, index), BUCKETS, strict=True)
    return round(sum(count * float(le) for count, le in pairs), 3)


def _share(increment: float, pod: int, pods: int) -> float:
    """Pod ``pod``'s part of one step's increment: equal parts, the remainder to the first pods
    (sums stay exact; ``_sum`` seconds are split evenly)."""
    if isinstance(increment, int):
        base, rest = divmod(increment, pods)
        return base + (1 if pod < rest else 0)
    return round(increment / pods, 6)


def _pick(value: float | None, default: float) -> float:
    return default if value is None else value


def _index(scenario: Scenario, moment: datetime) -> int:
    offset = (moment - scenario.start).total_seconds()
    if offset % scenario.step:
        raise ValueError(f"{moment} is not on the scenario's {scenario.step}s grid")
    return int(offset // scenario.step)


def runbook_profiles() -> tuple[Profile, ...]:
    """The runbook's four services as they normally behave."""
    return (
        Profile("api", 40.0, 0.0003, FAST_API, unavailable_share=0.3),
        Profile("auth", 15.0, 0.0002, FAST_API),
        Profile("ai-worker", 2.0, 0.002, INFERENCE),
        Profile("database", 80.0, 0.0, QUICK_DB),
    )


def demo_scenario(end: datetime, days: int = 30) -> Scenario:
    """Thirty days up to ``end`` with a few incidents worth reading about in the report."""
    step = 60
    end = end.astimezone(UTC).replace(second=0, microsecond=0)
    start = end - timedelta(days=days)

    def ago(**kwargs: float) -> datetime:
        return (end - timedelta(**kwargs)).replace(second=0)

    return Scenario(
        start=start,
        end=end,
        step=step,
        profiles=runbook_profiles(),
        injections=(
            Injection(
                "api", ago(days=12, hours=3), ago(days=12, hours=2, minutes=40), error_ratio=0.4
            ),
            Injection("auth", ago(days=4), ago(days=3, hours=23), latency=SLOW_API),
            Injection("auth", ago(days=2), ago(days=2) + timedelta(minutes=6), error_ratio=1.0),
            Injection("ai-worker", ago(minutes=50), end + timedelta(minutes=1), error_ratio=0.03),
            Injection("database", ago(days=9), ago(days=9) + timedelta(minutes=3), error_ratio=1.0),
        ),
        resets=(("api", ago(days=6, hours=5)),),
        gaps=(("ai-worker", ago(days=20), ago(days=20) + timedelta(minutes=25)),),
    )
