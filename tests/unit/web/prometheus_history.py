"""A Prometheus for the SLO pages' tests (on :mod:`tests.fake_prometheus`): range queries are
answered with steady traffic per service, a share of it bad; instant queries as the incident
signals are (:class:`~tests.fake_prometheus.ServiceTraffic`). With ``recorded``, the series of
the recording rules exist; without, only the raw counters do (as in the demo)."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from sloctl.core.conventions import QUERY_PART_LABEL, QUERY_PIECE_LABEL
from sloctl.core.series import Sample
from tests.fake_prometheus import Query, Reply, ServiceTraffic, refusal, vector

WINDOWS = (300, 1800, 3600, 7200, 21600, 86400, 259200)
"""Every window of the shipped SLOs' burn-rate pairs."""


def matrix(series: list[tuple[dict[str, str], list[tuple[float, float]]]]) -> Reply:
    result = [
        {"metric": labels, "values": [[t, repr(v)] for t, v in points]} for labels, points in series
    ]
    return Reply(200, {"status": "success", "data": {"resultType": "matrix", "result": result}})


@dataclass
class HistoryTraffic:
    """``errors[service]`` is the bad share; each step counts 1,000 events, its bad ones the
    share of them (the p95 is ``p95`` seconds). ``down`` answers every query 503."""

    errors: Mapping[str, float]
    recorded: bool = False
    p95: float = 0.12
    down: bool = False
    without_bad: bool = False
    """Answer range queries without their bad side (a latency bucket that does not exist)."""
    ranges: list[Query] = field(default_factory=list)

    def __call__(self, query: Query) -> Reply:
        if self.down:
            return refusal(503, "query timed out", "timeout")
        if query.path != "/api/v1/query_range":
            if QUERY_PIECE_LABEL in query.expr:
                return self._pieces(query.expr)
            return ServiceTraffic(dict(self.errors), p95=self.p95, windows=WINDOWS)(query)
        self.ranges.append(query)
        expr = query.expr
        if "sloctl:" in expr and not self.recorded:
            return matrix([])
        service = next((s for s in self.errors if f'service="{s}"' in expr), None)
        if service is None:
            return matrix([])
        start, end = float(query.params["start"][0]), float(query.params["end"][0])
        step = float(query.params["step"][0])
        stamps = [start + i * step for i in range(math.floor((end - start) / step) + 1)]
        parts = set(re.findall(rf'"{QUERY_PART_LABEL}", "(\w+)"', expr))
        series = []
        if self.without_bad:
            parts.discard("bad")
        for part in sorted(parts):
            value = {"total": 1000.0, "bad": 1000.0 * self.errors[service], "value": self.p95}[part]
            series.append(({QUERY_PART_LABEL: part}, [(t, value) for t in stamps]))
        return matrix(series)

    def _pieces(self, expr: str) -> Reply:
        """The evaluator's counts, piece by piece: 1,000 events per piece per service, the bad
        side (5xx) or the good side (a histogram bucket) by the service's share."""
        pieces = re.findall(rf'"{QUERY_PIECE_LABEL}", "([0-9:]+)"', expr)
        if 'code=~"5.."' in expr:
            side = "bad"
        elif "_bucket" in expr:
            side = "good"
        else:
            side = "total"
        samples = []
        for service, share in self.errors.items():
            value = {"bad": 1000.0 * share, "good": 1000.0 * (1 - share), "total": 1000.0}[side]
            for piece in pieces:
                samples.append(Sample({"service": service, QUERY_PIECE_LABEL: piece}, value))
        return vector(samples)
