"""A Prometheus query API on loopback, for the tests of everything that reads Prometheus.

One :class:`FakePrometheus` serves ``/api/v1/query`` and ``/api/v1/query_range`` on 127.0.0.1 as
the reader calls them (form-encoded POSTs), so the code under test talks to it through a real
:class:`~sloctl.prometheus.client.PrometheusReader`, sockets and all. What it answers is either

- scripted: :meth:`FakePrometheus.play` hands out :class:`Reply` values in turn (the last one
  repeats), for the reader's own tests (retries, refusals, gzip, slow answers); or
- computed from each query by an ``answer`` function, for code that asks many queries:
  :class:`ServiceTraffic` answers the incident signal queries from per-service error shares.

Every request is recorded (:attr:`FakePrometheus.received`) before it is answered. It speaks
HTTP/1.0 (a connection per request) unless made with ``keep_alive``: then HTTP/1.1, as
Prometheus does, and each request records the client port it came from.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

from sloctl.core.conventions import QUERY_WINDOW_LABEL
from sloctl.core.series import Sample
from sloctl.prometheus.client import PrometheusReader
from sloctl.runtime.retry import RetryPolicy

SIGNAL_WINDOWS = (300, 1800, 3600, 21600)
"""The windows of the shipped SLOs' signal queries: the signal window and the paging pairs'."""


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: object = None
    """Sent as JSON."""
    delay: float = 0.0
    """Seconds to wait before answering."""
    raw: bytes | None = None
    """Sent as is instead of ``body`` (with ``encoding`` as its Content-Encoding)."""
    encoding: str | None = None


@dataclass(frozen=True)
class Query:
    """One request received: its path and its form parameters."""

    path: str
    params: Mapping[str, list[str]]
    peer: int = 0
    """The client's port: one per connection."""
    headers: Mapping[str, str] = field(default_factory=dict)

    @property
    def expr(self) -> str:
        return self.params["query"][0]


def _number(value: float) -> str:
    """A sample value as Prometheus writes it: NaN and the infinities as words."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(value)


def vector(samples: Iterable[Sample], at: float = 0.0) -> Reply:
    """A successful instant query answering ``samples``."""
    result = [{"metric": dict(s.labels), "value": [at, _number(s.value)]} for s in samples]
    return Reply(200, {"status": "success", "data": {"resultType": "vector", "result": result}})


def refusal(status: int, error: str, error_type: str = "bad_data") -> Reply:
    """An error answer as Prometheus gives it (400 bad_data, 422 execution, 503 timeout)."""
    return Reply(status, {"status": "error", "errorType": error_type, "error": error})


class FakePrometheus:
    def __init__(
        self, answer: Callable[[Query], Reply] | None = None, *, keep_alive: bool = False
    ) -> None:
        self.answer = answer
        self.replies: list[Reply] = [vector([])]
        self.received: list[Query] = []
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1" if keep_alive else "HTTP/1.0"

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                form = parse_qs(self.rfile.read(length).decode())
                query = Query(self.path, form, self.client_address[1], dict(self.headers))
                reply = fake._reply(query)
                if reply.delay:
                    time.sleep(reply.delay)
                payload = json.dumps(reply.body).encode() if reply.raw is None else reply.raw
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", "application/json")
                    if reply.encoding:
                        self.send_header("Content-Encoding", reply.encoding)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    return  # the reader gave up first: what slow answers are for

            def log_message(self, format: str, *args: object) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        self.url = f"http://127.0.0.1:{self._server.server_port}"

    def _reply(self, query: Query) -> Reply:
        with self._lock:
            self.received.append(query)
            if self.answer is not None:
                return self.answer(query)
            return self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]

    def play(self, replies: Iterable[Reply]) -> None:
        """Answer the next requests with ``replies`` in turn, then with the last one."""
        with self._lock:
            self.replies = list(replies)

    @property
    def queries(self) -> list[str]:
        """The expressions asked so far, in order."""
        with self._lock:
            return [q.expr for q in self.received]

    def reader(self, **options: Any) -> PrometheusReader:
        """A real reader of this Prometheus; one attempt per query unless told otherwise."""
        return PrometheusReader(self.url, **{"retry": RetryPolicy(attempts=1), **options})

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@contextmanager
def fake_prometheus(
    answer: Callable[[Query], Reply] | None = None, *, keep_alive: bool = False
) -> Iterator[FakePrometheus]:
    started = FakePrometheus(answer, keep_alive=keep_alive)
    try:
        yield started
    finally:
        started.close()


@dataclass
class ServiceTraffic:
    """Answers the incident signal queries (instant queries only): in every signal window, 1,000
    requests per service of which ``errors[service]`` (a share) failed, with a p95 latency of
    ``p95`` seconds. A query containing ``refuse`` is refused as bad data (HTTP 400); with
    ``down``, every query is answered 503."""

    errors: Mapping[str, float]
    p95: float = 0.05
    refuse: str | None = None
    down: bool = False
    windows: tuple[int, ...] = SIGNAL_WINDOWS
    range_asked: list[str] = field(default_factory=list)

    def __call__(self, query: Query) -> Reply:
        if self.down:
            return refusal(503, "query timed out", "timeout")
        if query.path != "/api/v1/query":
            self.range_asked.append(query.expr)
            return refusal(400, f"not an instant query: {query.path}")
        expr = query.expr
        if self.refuse is not None and self.refuse in expr:
            return refusal(400, "refused")
        if expr.startswith("histogram_quantile"):
            return vector(Sample({"service": service}, self.p95) for service in self.errors)
        bad = 'code=~"5.."' in expr
        return vector(
            Sample(
                {"service": service, QUERY_WINDOW_LABEL: str(window)},
                1000.0 * share if bad else 1000.0,
            )
            for service, share in self.errors.items()
            for window in self.windows
        )
