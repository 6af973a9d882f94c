"""The Prometheus HTTP API reader: the only code in sloctl that talks to Prometheus.

Bounded in time and memory, whatever the peer does:

- every attempt has a total deadline (``timeout``), from connecting to the last byte: the
  transport (:mod:`sloctl.prometheus.transport`) waits on its socket a short poll at a time and
  asks the deadline and the ``cancelled`` check between polls, so a peer trickling the status
  line, the headers or the body a byte at a time is cut off on time, and a stop cuts a waiting
  request short within about the poll, with no thread beside the request;
  a reader may also carry an overall ``deadline`` (the daemon's cycle) and a ``cancelled``
  check (SIGTERM), after which queries fail at once;
- bodies are streamed into a buffer capped at ``limits.max_body_bytes`` (decompressed size,
  so a gzip bomb is cut off too), and an answer with more than ``limits.max_series`` series
  is refused: that query fails, nothing else;
- 503s and network errors are retried with exponential backoff and full jitter, within the
  deadline; 400 and 422 are the query's fault and are reported at once with the SLOs and the
  query they concern. Only a failure to connect at all makes the rest of the reader's queries
  fail at once: one overloaded or refused query does not blind the others;
- credentials (:class:`Credentials`) are applied to each request, and a configured CA file
  is the only trust of each HTTPS request, so ``REQUESTS_CA_BUNDLE`` / ``CURL_CA_BUNDLE``
  cannot override it (without one they apply, else the system's store); every configured
  secret is scrubbed from every message the reader makes, including error bodies a proxy
  echoes back;
- connections are kept alive between queries, and several threads may query through one
  reader at once: its counters are kept under a lock.

Range queries are split so that no request asks for more than 11,000 points per series.
Each failed query is counted in ``failures`` by reason (see :data:`QUERY_ERROR_REASONS`).
"""

from __future__ import annotations

import base64
import json
import os
import random
import re
import threading
import time
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

from sloctl.core.series import Sample, Series
from sloctl.errors import (
    ConnectError,
    ConnectionLostError,
    DeadlinePassedError,
    PrometheusError,
    PrometheusUnavailableError,
    QueryError,
    StoppingError,
    TLSHandshakeError,
    TooManySamplesError,
    TransportError,
)
from sloctl.prometheus.transport import Deadline, Response, Transport, basic
from sloctl.runtime.logs import Logger, make_logger
from sloctl.runtime.retry import RetryPolicy

MAX_POINTS = 11_000
RETRY_STATUS = frozenset({503})
TOO_MANY_SAMPLES = "too many samples"
"""What Prometheus says (HTTP 422) when a query would exceed ``--query.max-samples``."""
ANSWERED_STATUS = frozenset({200, 400, 422})
"""Statuses that show Prometheus is up and evaluating queries (readiness)."""
DEFAULT_MAX_BODY_BYTES = 8 * 2**20
"""8 MiB: a batched answer for a thousand SLOs is a few kilobytes; parsed, 8 MiB of JSON is
still well under the memory of a 256 MiB pod."""
DEFAULT_MAX_SERIES = 10_000
ERROR_BODY_BYTES = 4096
"""How much of a refusal's body is read to quote its error."""
READ_SIZE = 65536
MASK = "***"
QUERY_FAULTS = frozenset({"too_large", "bad_answer"})
"""Reasons an attempt fails that concern the query's answer, not the connection."""


@dataclass(frozen=True)
class Limits:
    """How much one answer may weigh."""

    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    max_series: int = DEFAULT_MAX_SERIES


@dataclass(frozen=True)
class Credentials:
    """How to authenticate to Prometheus and which CA to trust, applied to every request."""

    bearer_token: str | None = None
    basic_auth: tuple[str, str] | None = None
    ca_file: str | None = None

    @property
    def verify(self) -> str | bool:
        return self.ca_file if self.ca_file is not None else True


def secrets_of(url: str, credentials: Credentials) -> tuple[str, ...]:
    """Every string that must never appear in a message: the token, the password, the
    user-information and query values of the URL, and the forms they take on the wire
    (percent-encoded, and base64 in a ``Basic`` header that a proxy may echo back)."""
    found: set[str] = set()
    if credentials.bearer_token:
        found.add(credentials.bearer_token)
    pairs: list[tuple[str, str]] = []
    if credentials.basic_auth is not None:
        pairs.append(credentials.basic_auth)
    match = re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://([^/?#]*)@", url)
    if match is not None:
        user, _, password = match.group(1).partition(":")
        pairs.append((unquote(user), unquote(password)))
        found |= {password, unquote(password)} if password else {user, unquote(user)}
    for user, password in pairs:
        if password:
            found |= {password, quote(password, safe="")}
        found.add(base64.b64encode(f"{user}:{password}".encode()).decode())
    try:
        query = urlsplit(url).query
    except ValueError:
        query = url.partition("?")[2]
    for _, value in parse_qsl(query, keep_blank_values=False):
        found |= {value, quote(value, safe="")}
    return tuple(sorted((s for s in found if s), key=len, reverse=True))


def scrub(text: str, secrets: Sequence[str]) -> str:
    """``text`` with every secret masked, longest first (so no part of one survives)."""
    for secret in secrets:
        text = text.replace(secret, MASK)
    return text


class _AttemptError(Exception):
    """One attempt failed; ``retry`` says whether another attempt may help."""

    def __init__(self, problem: str, reason: str, *, retry: bool) -> None:
        super().__init__(problem)
        self.problem, self.reason, self.retry = problem, reason, retry


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

    ``transport``, ``sleep``, ``clock`` and ``rng`` are passed in so tests and the daemon
    decide about connections, waiting, time and randomness; ``requests_made`` counts HTTP
    requests sent, ``answered`` the answers that showed Prometheus evaluating queries, and
    ``failures`` the failed queries by reason. Safe to query from several threads at once.
    """

    url: str
    transport: Transport = field(default_factory=lambda: Transport.from_environment(os.environ))
    """Connections, proxies and the CA bundle: by default those of the environment as it is
    when the reader is made."""
    timeout: float = 30.0
    """Total seconds one attempt may take, from connecting to the last byte."""
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    sleep: Callable[[float], None] = time.sleep
    rng: random.Random = field(default_factory=random.Random)
    logger: Logger = field(default_factory=make_logger)
    credentials: Credentials = field(default_factory=Credentials)
    limits: Limits = field(default_factory=Limits)
    deadline: float | None = None
    """A ``clock()`` time after which no query is started and no answer awaited."""
    cancelled: Callable[[], bool] = lambda: False
    clock: Callable[[], float] = time.monotonic
    requests_made: int = 0
    answered: int = 0
    failures: dict[str, int] = field(default_factory=dict)
    stats: bool = False
    """Ask for ``stats=all`` and add up what Prometheus reports in ``samples_read`` (samples
    loaded, all queries) and ``peak_samples`` (the largest peak of any one query)."""
    samples_read: int = 0
    peak_samples: int = 0
    shown_url: str = field(init=False, default="")
    secrets: tuple[str, ...] = field(init=False, default=())
    gave_up: str | None = field(init=False, default=None)
    """Why Prometheus could not be connected to at all; later queries fail at once with it,
    so a Prometheus that is down costs one query's retries, not every query's."""
    headers: dict[str, str] = field(init=False, default_factory=dict, repr=False)
    """Sent with every request: ``Accept-Encoding`` and the ``Authorization`` of the
    credentials."""
    _lock: threading.Lock = field(
        init=False, default_factory=threading.Lock, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        self.url = self.url.rstrip("/")
        self.shown_url = redact(self.url)
        self.secrets = secrets_of(self.url, self.credentials)
        self.headers = {"Accept-Encoding": "gzip"}
        authorization = _authorization(self.url, self.credentials)
        if authorization is not None:
            self.headers["Authorization"] = authorization

    def instant(self, expr: str, at: datetime, *, slos: Sequence[str] = ()) -> list[Sample]:
        """Evaluate ``expr`` at exactly ``at``; the result must be an instant vector."""
        try:
            return self._instant(expr, at, slos)
        except PrometheusError as exc:
            self._count(exc)
            raise

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
        try:
            return self._range(expr, start, end, step, slos)
        except PrometheusError as exc:
            self._count(exc)
            raise

    def _count(self, exc: PrometheusError) -> None:
        with self._lock:
            self.failures[exc.reason] = self.failures.get(exc.reason, 0) + 1

    def _instant(self, expr: str, at: datetime, slos: Sequence[str]) -> list[Sample]:
        data = self._get("/api/v1/query", {"query": expr, "time": _unix(at)}, expr, slos)
        self._count_samples(data)
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

    def _range(
        self, expr: str, start: datetime, end: datetime, step: timedelta, slos: Sequence[str]
    ) -> list[Series]:
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
            self._count_samples(data)
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
            if len(merged) > self.limits.max_series:
                count = len(merged)
                merged.clear()  # not kept alive by the error's traceback
                raise self._too_many(count, expr, slos)
        return [Series(labels_of[k], tuple(merged[k])) for k in sorted(merged)]

    def _stopped(self) -> str | None:
        """Why no query may be sent now, if so."""
        if self.cancelled():
            return "sloctl is stopping"
        if self.deadline is not None and self.clock() >= self.deadline:
            return "the cycle's time ran out"
        return None

    def _count_samples(self, data: dict[str, Any]) -> None:
        samples = (data.get("stats") or {}).get("samples") or {}
        if isinstance(samples, dict):
            read = int(samples.get("totalQueryableSamples") or 0)
            peak = int(samples.get("peakSamples") or 0)
            with self._lock:
                self.samples_read += read
                self.peak_samples = max(self.peak_samples, peak)

    def _get(
        self, path: str, params: dict[str, str], expr: str, slos: Sequence[str]
    ) -> dict[str, Any]:
        if self.stats:
            params = {**params, "stats": "all"}
        if self.gave_up is not None:
            raise PrometheusUnavailableError(self.gave_up)
        stopped = self._stopped()
        if stopped is not None:
            raise PrometheusUnavailableError(
                f"query to Prometheus at {self.shown_url} not sent: {stopped}", reason="deadline"
            )
        last = _AttemptError("", "unreachable", retry=True)
        attempts = 0
        for attempt in range(self.retry.attempts):
            if attempt:
                pause = self.retry.delay(attempt - 1, self.rng)
                if self.deadline is not None and self.clock() + pause >= self.deadline:
                    break  # no time left for another attempt in this cycle
                self.logger.info(
                    "prometheus_retry",
                    attempt=attempt,
                    pause_seconds=round(pause, 3),
                    problem=last.problem,
                    path=path,
                )
                self.sleep(pause)
                if self._stopped() is not None:
                    break
            attempts += 1
            try:
                status, body = self._attempt(path, params)
            except _AttemptError as refused:
                if refused.reason in QUERY_FAULTS:
                    raise QueryError(
                        self._scrub(refused.problem), query=expr, slos=slos, reason=refused.reason
                    ) from refused
                last = refused
                if refused.retry:
                    continue
                break
            if status in RETRY_STATUS:
                last = _AttemptError(
                    f"HTTP {status} {self._error_text(body)}".strip(), "overloaded", retry=True
                )
                continue
            return self._data(status, body, expr, slos)
        message = self._scrub(
            f"Prometheus at {self.shown_url} is unavailable after {attempts} "
            f"attempt{'s' if attempts != 1 else ''}: {last.problem}"
        )
        if last.reason == "unreachable":
            with self._lock:
                self.gave_up = message
        raise PrometheusUnavailableError(message, reason=last.reason)

    def _attempt(self, path: str, params: dict[str, str]) -> tuple[int, bytes]:
        """One request, bounded in time by ``timeout`` (and the reader's deadline and its
        ``cancelled`` check) and in memory by the limits; returns the status and the (decoded)
        body."""
        ends = self.clock() + self.timeout
        if self.deadline is not None:
            ends = min(ends, self.deadline)
        deadline = Deadline(ends, self.clock, self.cancelled)
        with self._lock:
            self.requests_made += 1
        try:
            response = self.transport.post(
                f"{self.url}{path}",
                urlencode(params).encode(),
                self.headers,
                deadline=deadline,
                ca_file=self.credentials.ca_file,
            )
            with response:
                status = response.status
                limit = self.limits.max_body_bytes if status == 200 else ERROR_BODY_BYTES
                body = self._body(response, limit, truncate=status != 200)
        except TransportError as failed:
            raise self._failed(failed) from failed
        if status in ANSWERED_STATUS:
            with self._lock:
                self.answered += 1
        return status, body

    def _failed(self, failed: TransportError) -> _AttemptError:
        """What a failure of the transport means for this attempt."""
        why = self._scrub(failed.why)
        if isinstance(failed, DeadlinePassedError):
            return _AttemptError(self._late(), "timeout", retry=True)
        if isinstance(failed, StoppingError):
            return _AttemptError("sloctl is stopping", "deadline", retry=False)
        if isinstance(failed, ConnectError):
            return _AttemptError(f"cannot connect ({why})", "unreachable", retry=True)
        if isinstance(failed, TLSHandshakeError):
            return _AttemptError(f"TLS failed ({why})", "unreachable", retry=False)
        if isinstance(failed, ConnectionLostError):
            return _AttemptError(f"connection lost ({why})", "timeout", retry=True)
        return _AttemptError(f"request failed ({why})", "http_error", retry=False)

    def _late(self) -> str:
        """Why an attempt failed when its time ran out (the same wherever it was cut)."""
        return f"no whole answer within {self.timeout:g} s"

    def _body(self, response: Response, limit: int, *, truncate: bool) -> bytes:
        """The body, read as it arrives (each read bounded by the attempt's deadline); more
        than ``limit`` bytes (after decompression) is refused, or cut there when
        ``truncate``."""
        encoding = (response.header("Content-Encoding") or "identity").strip().lower()
        if encoding in ("gzip", "x-gzip"):
            decoder: Any = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif encoding == "deflate":
            decoder = zlib.decompressobj()
        elif encoding in ("", "identity"):
            decoder = None
        else:
            problem = f"answer in an unknown encoding {encoding!r:.40}"
            raise _AttemptError(problem, "bad_answer", retry=False)
        body = bytearray()
        while True:
            chunk = response.read1(READ_SIZE)
            ended = not chunk
            if decoder is not None:
                try:
                    # At most one byte past the limit, so a bomb is never inflated whole.
                    room = limit + 1 - len(body)
                    chunk = decoder.flush(room) if ended else decoder.decompress(chunk, room)
                except zlib.error as exc:
                    problem = "answer does not decompress"
                    raise _AttemptError(problem, "bad_answer", retry=False) from exc
            body += chunk
            if len(body) > limit:
                if truncate:
                    return bytes(body[:limit])
                # The error's traceback keeps this frame: it must not keep the body too.
                del body, chunk
                raise _AttemptError(
                    f"answer larger than {limit} bytes (prometheus max_response_size)",
                    "too_large",
                    retry=False,
                )
            if ended:
                return bytes(body)

    def _data(self, status: int, body: bytes, expr: str, slos: Sequence[str]) -> dict[str, Any]:
        if status == 422 and TOO_MANY_SAMPLES in (text := self._error_text(body)):
            raise TooManySamplesError(
                f"Prometheus refused the query as too large (HTTP 422: {text})",
                query=expr,
                slos=slos,
            )
        if status in (400, 422):
            raise QueryError(
                f"Prometheus rejected the query (HTTP {status}: {self._error_text(body)})",
                query=expr,
                slos=slos,
                reason="rejected",
            )
        if status != 200:
            raise PrometheusUnavailableError(
                self._scrub(
                    f"Prometheus at {self.shown_url} answered HTTP {status} "
                    f"{self._error_text(body)}"
                ).strip(),
                reason="http_error",
            )
        try:
            answer = json.loads(body)
        except ValueError as exc:
            raise QueryError(
                "Prometheus answered with something that is not JSON", query=expr, slos=slos
            ) from exc
        if not isinstance(answer, dict) or answer.get("status") != "success":
            shown = self._scrub(f"{answer!r:.200}")
            raise QueryError(f"Prometheus reported an error: {shown}", query=expr, slos=slos)
        data = answer.get("data")
        if not isinstance(data, dict):
            raise QueryError("Prometheus answer has no data", query=expr, slos=slos)
        result = data.get("result")
        if isinstance(result, list) and len(result) > self.limits.max_series:
            count = len(result)
            del answer, data, result, body  # not kept alive by the error's traceback
            raise self._too_many(count, expr, slos)
        return data

    def _too_many(self, count: int, expr: str, slos: Sequence[str]) -> QueryError:
        return QueryError(
            f"Prometheus answered {count} series, more than the limit of "
            f"{self.limits.max_series} (prometheus max_series)",
            query=expr,
            slos=slos,
            reason="too_large",
        )

    def _error_text(self, body: bytes) -> str:
        """The error a refusal carries (its ``error`` field, or the start of its text),
        with every secret masked."""
        text = body.decode("utf-8", "replace")
        try:
            answer = json.loads(text)
        except ValueError:
            return self._scrub(" ".join(text[:200].split()))
        if isinstance(answer, dict) and "error" in answer:
            return self._scrub(str(answer["error"])[:300])
        return ""

    def _scrub(self, text: str) -> str:
        return scrub(text, self.secrets)


def _authorization(url: str, credentials: Credentials) -> str | None:
    """The ``Authorization`` header of every request: basic auth from the credentials, else
    from the user information of the URL (percent-decoded), else the bearer token."""
    pair = credentials.basic_auth
    if pair is None:
        try:
            parts = urlsplit(url)
            user, password = parts.username, parts.password
        except ValueError:
            user = password = None
        if user or password:
            pair = (unquote(user or ""), unquote(password or ""))
    if pair is not None:
        return basic(*pair)
    if credentials.bearer_token:
        return f"Bearer {credentials.bearer_token}"
    return None


def redact(url: str) -> str:
    """``url`` without user information or query string, either of which may hold a secret.

    Done on the text, not through a URL parser: a password with ``/`` or ``#`` in it would
    stop the parser early and leave part of the password in the "host".
    """
    match = re.match(r"^([A-Za-z][A-Za-z0-9+.-]*://)(?:.*@)?(.*)$", url, re.DOTALL)
    scheme, rest = (match.group(1), match.group(2)) if match else ("", url)
    return scheme + re.split(r"[?#]", rest, maxsplit=1)[0]
