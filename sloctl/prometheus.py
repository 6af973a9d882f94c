"""The Prometheus HTTP API reader: the only code in sloctl that talks to Prometheus.

Every call has a timeout. 503s and network errors are retried with exponential backoff and
full jitter; 400 and 422 are the query's fault and are reported at once with the SLOs and the
query they concern. Range queries are split so that no request asks for more than 11,000
points per series.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import requests

from sloctl.errors import PrometheusUnavailableError, QueryError, TooManySamplesError
from sloctl.logs import make_logger
from sloctl.plan import Sample

MAX_POINTS = 11_000
RETRY_STATUS = frozenset({503})
TOO_MANY_SAMPLES = "too many samples"
"""What Prometheus says (HTTP 422) when a query would exceed ``--query.max-samples``."""


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4
    base_delay: float = 0.5
    max_delay: float = 8.0

    def delay(self, attempt: int, rng: random.Random) -> float:
        """Full jitter: a uniform pick below the exponential ceiling for this attempt."""
        ceiling = min(self.max_delay, self.base_delay * 2**attempt)
        return rng.uniform(0, ceiling)


@dataclass(frozen=True)
class Series:
    labels: Mapping[str, str]
    points: tuple[tuple[float, float], ...]


def _unix(moment: datetime) -> str:
    return f"{moment.timestamp():.3f}"


def _seconds(step: timedelta) -> str:
    """A step in seconds, exactly (``1234567`` and ``0.5``, never ``1.23457e+06``)."""
    return format(Decimal(step.total_seconds()).normalize(), "f")


def _value(raw: Any, expr: str) -> float:
    try:
        return float(raw)  # NaN and +Inf arrive as strings, which float() reads
    except (TypeError, ValueError) as exc:
        raise QueryError(f"Prometheus returned a non-numeric value {raw!r}", query=expr) from exc


def range_chunks(
    start: datetime, end: datetime, step: timedelta, max_points: int = MAX_POINTS
) -> list[tuple[datetime, datetime]]:
    """Split [start, end] into consecutive ranges of at most ``max_points`` points each."""
    if step <= timedelta(0):
        raise ValueError("step must be positive")
    if end < start:
        raise ValueError("end must not be before start")
    chunks = []
    span = step * (max_points - 1)
    cursor = start
    while True:
        chunk_end = min(cursor + span, end)
        chunks.append((cursor, chunk_end))
        if chunk_end >= end:
            return chunks
        cursor = chunk_end + step


@dataclass
class PrometheusReader:
    """Instant and range queries against one Prometheus-compatible API.

    ``session``, ``sleep`` and ``rng`` are passed in so tests and the daemon decide about
    connections, waiting and randomness; ``requests_made`` counts HTTP requests sent.
    """

    url: str
    session: requests.Session = field(default_factory=requests.Session)
    timeout: float = 30.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    sleep: Callable[[float], None] = time.sleep
    rng: random.Random = field(default_factory=random.Random)
    logger: Any = field(default_factory=make_logger)
    requests_made: int = 0
    stats: bool = False
    """Ask for ``stats=all`` and add up what Prometheus reports in ``samples_read`` (samples
    loaded, all queries) and ``peak_samples`` (the largest peak of any one query)."""
    samples_read: int = 0
    peak_samples: int = 0
    shown_url: str = field(init=False, default="")
    gave_up: str | None = field(init=False, default=None)
    """Why the last query failed after every retry; later queries fail at once with it, so
    a Prometheus that is down costs one query's retries, not every query's."""

    def __post_init__(self) -> None:
        self.url = self.url.rstrip("/")
        self.shown_url = redact(self.url)

    def instant(self, expr: str, at: datetime, *, slos: Sequence[str] = ()) -> list[Sample]:
        """Evaluate ``expr`` at exactly ``at``; the result must be an instant vector."""
        data = self._get("/api/v1/query", {"query": expr, "time": _unix(at)}, expr, slos)
        self._count(data)
        try:
            if data["resultType"] != "vector":
                raise QueryError(
                    f"expected an instant vector, got {data['resultType']!r}", query=expr, slos=slos
                )
            return [
                Sample(dict(item.get("metric") or {}), _value(item["value"][1], expr))
                for item in data["result"]
            ]
        except (KeyError, TypeError, IndexError, AttributeError) as exc:
            raise QueryError("Prometheus answered in an unexpected shape", query=expr) from exc

    def range(
        self,
        expr: str,
        start: datetime,
        end: datetime,
        step: timedelta,
        *,
        slos: Sequence[str] = (),
    ) -> list[Series]:
        """Evaluate ``expr`` every ``step`` from ``start`` to ``end``, in chunks under the limit."""
        merged: dict[tuple[tuple[str, str], ...], list[tuple[float, float]]] = {}
        labels_of: dict[tuple[tuple[str, str], ...], Mapping[str, str]] = {}
        for chunk_start, chunk_end in range_chunks(start, end, step):
            params = {
                "query": expr,
                "start": _unix(chunk_start),
                "end": _unix(chunk_end),
                "step": _seconds(step),
            }
            data = self._get("/api/v1/query_range", params, expr, slos)
            self._count(data)
            try:
                if data["resultType"] != "matrix":
                    kind = data["resultType"]
                    raise QueryError(
                        f"expected a range vector, not {kind!r}", query=expr, slos=slos
                    )
                for item in data["result"]:
                    metric = dict(item.get("metric") or {})
                    key = tuple(sorted(metric.items()))
                    labels_of[key] = metric
                    merged.setdefault(key, []).extend(
                        (float(ts), _value(v, expr)) for ts, v in item["values"]
                    )
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                raise QueryError("Prometheus answered in an unexpected shape", query=expr) from exc
        return [Series(labels_of[k], tuple(merged[k])) for k in sorted(merged)]

    def _count(self, data: dict[str, Any]) -> None:
        samples = (data.get("stats") or {}).get("samples") or {}
        if isinstance(samples, dict):
            self.samples_read += int(samples.get("totalQueryableSamples") or 0)
            self.peak_samples = max(self.peak_samples, int(samples.get("peakSamples") or 0))

    def _get(
        self, path: str, params: dict[str, str], expr: str, slos: Sequence[str]
    ) -> dict[str, Any]:
        if self.stats:
            params = {**params, "stats": "all"}
        if self.gave_up is not None:
            raise PrometheusUnavailableError(self.gave_up)
        last_problem = ""
        for attempt in range(self.retry.attempts):
            if attempt:
                pause = self.retry.delay(attempt - 1, self.rng)
                self.logger.info(
                    "prometheus_retry",
                    attempt=attempt,
                    pause_seconds=round(pause, 3),
                    problem=last_problem,
                    path=path,
                )
                self.sleep(pause)
            self.requests_made += 1
            try:
                response = self.session.post(
                    f"{self.url}{path}",
                    data=params,
                    timeout=(min(5.0, self.timeout), self.timeout),
                )
            except requests.Timeout:
                last_problem = f"no answer within {self.timeout:g} s"
                continue
            except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as exc:
                last_problem = f"cannot connect ({_reason(exc)})"
                continue
            except requests.RequestException as exc:
                raise PrometheusUnavailableError(
                    f"Prometheus at {self.shown_url}: request failed ({_reason(exc)})"
                ) from exc
            if response.status_code in RETRY_STATUS:
                last_problem = f"HTTP {response.status_code} {_error_text(response)}".strip()
                continue
            return self._data(response, expr, slos)
        self.gave_up = (
            f"Prometheus at {self.shown_url} is unavailable after {self.retry.attempts} attempts: "
            f"{last_problem}"
        )
        raise PrometheusUnavailableError(self.gave_up)

    def _data(self, response: requests.Response, expr: str, slos: Sequence[str]) -> dict[str, Any]:
        if response.status_code == 422 and TOO_MANY_SAMPLES in _error_text(response):
            raise TooManySamplesError(
                f"Prometheus refused the query as too large (HTTP 422: {_error_text(response)})",
                query=expr,
                slos=slos,
            )
        if response.status_code in (400, 422):
            raise QueryError(
                f"Prometheus rejected the query (HTTP {response.status_code}: "
                f"{_error_text(response)})",
                query=expr,
                slos=slos,
            )
        if response.status_code != 200:
            raise PrometheusUnavailableError(
                f"Prometheus at {self.shown_url} answered HTTP {response.status_code} "
                f"{_error_text(response)}".strip()
            )
        try:
            body = response.json()
        except ValueError as exc:
            raise QueryError(
                "Prometheus answered with something that is not JSON", query=expr, slos=slos
            ) from exc
        if not isinstance(body, dict) or body.get("status") != "success":
            raise QueryError(f"Prometheus reported an error: {body!r:.200}", query=expr, slos=slos)
        data = body.get("data")
        if not isinstance(data, dict):
            raise QueryError("Prometheus answer has no data", query=expr, slos=slos)
        return data


def _error_text(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200].strip()
    if isinstance(body, dict) and "error" in body:
        return str(body["error"])[:300]
    return ""


def _reason(exc: Exception) -> str:
    """A short reason (``Connection refused``), without URLs that could hold credentials."""
    text = str(exc)
    errno = re.search(r"\[Errno -?\d+\] ([^'\"()]+)", text)
    if errno is not None:
        return errno.group(1).strip()
    return type(exc).__name__


def redact(url: str) -> str:
    """``url`` without user information or query string, either of which may hold a secret.

    Done on the text, not through a URL parser: a password with ``/`` or ``#`` in it would
    stop the parser early and leave part of the password in the "host".
    """
    match = re.match(r"^([A-Za-z][A-Za-z0-9+.-]*://)(?:.*@)?(.*)$", url, re.DOTALL)
    scheme, rest = (match.group(1), match.group(2)) if match else ("", url)
    return scheme + re.split(r"[?#]", rest, maxsplit=1)[0]
