"""A small instrumented service for demos and end-to-end tests.

It simulates traffic for one or more service names and exposes the conventional metrics
(``http_requests_total{service,code}`` and the ``http_request_duration_seconds`` histogram)
on ``/metrics``. ``POST /control`` with ``{"service": "api", "error_ratio": 1.0,
"latency_seconds": 0.8}`` changes how a service behaves from then on, so a demo or a test can
inject an outage or a slowdown and take it back.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from http.server import ThreadingHTTPServer
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from sloctl.errors import InvalidRequestError, ListenError
from sloctl.runtime.http_server import QuietHandler, start_server

BUCKETS = (0.05, 0.1, 0.2, 0.25, 0.5, 1.0, 2.0, 2.5, 5.0)


@dataclass
class Behaviour:
    error_ratio: float = 0.0005
    latency_seconds: float = 0.08


class DemoService:
    """Simulated traffic for ``services`` at ``rate`` requests per second each."""

    def __init__(self, services: Sequence[str], rate: float = 20.0, seed: int = 1) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "http_requests", "Requests answered.", ["service", "code"], registry=self.registry
        )
        self.duration = Histogram(
            "http_request_duration_seconds",
            "Time taken to answer.",
            ["service"],
            buckets=BUCKETS,
            registry=self.registry,
        )
        self.behaviour = {name: Behaviour() for name in services}
        self.rate = rate
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        for name in services:  # every series exists from the start, as real clients make them
            self.requests.labels(name, "200")
            self.duration.labels(name)

    def control(self, change: dict[str, Any]) -> Behaviour:
        """Change one service's behaviour; raises ValueError on a bad request."""
        name = change.get("service")
        if name not in self.behaviour:
            raise ValueError(f"unknown service {name!r}")
        with self.lock:
            current = self.behaviour[name]
            ratio = float(change.get("error_ratio", current.error_ratio))
            latency = float(change.get("latency_seconds", current.latency_seconds))
            if not 0 <= ratio <= 1 or latency <= 0:
                raise ValueError("error_ratio must be within 0..1 and latency_seconds above 0")
            self.behaviour[name] = Behaviour(ratio, latency)
            return self.behaviour[name]

    def tick(self, seconds: float) -> None:
        """Simulate ``seconds`` of traffic."""
        with self.lock:
            for name, behaviour in self.behaviour.items():
                count = int(self.rate * seconds + self.rng.random())
                for _ in range(count):
                    failed = self.rng.random() < behaviour.error_ratio
                    self.requests.labels(name, "500" if failed else "200").inc()
                    jitter = self.rng.uniform(0.7, 1.3)
                    self.duration.labels(name).observe(behaviour.latency_seconds * jitter)

    def metrics(self) -> bytes:
        with self.lock:
            return generate_latest(self.registry)


def serve(
    service: DemoService, host: str, port: int, stop: threading.Event, *, traffic: bool = True
) -> ThreadingHTTPServer:
    """Serve ``/metrics`` and ``/control`` and, with ``traffic``, simulate requests in real
    time until ``stop`` is set (tests leave it off and call :meth:`DemoService.tick`)."""

    class Handler(QuietHandler):
        def do_GET(self) -> None:
            if self.path != "/metrics":
                self.reply(404, b"not found\n", "text/plain")
                return
            self.reply(200, service.metrics(), CONTENT_TYPE_LATEST)

        def do_POST(self) -> None:
            if self.path != "/control":
                self.reply(404, b"not found\n", "text/plain")
                return
            try:
                length = int(self.headers.get("Content-Length", "0"))
                change = json.loads(self.rfile.read(min(length, 65536)) or b"{}")
                behaviour = service.control(change if isinstance(change, dict) else {})
            except (ValueError, TypeError) as exc:
                self.reply(400, f"{exc}\n".encode(), "text/plain")
                return
            body = json.dumps(behaviour.__dict__).encode() + b"\n"
            self.reply(200, body, "application/json")

    try:
        server = start_server((host, port), Handler)
    except ListenError as exc:
        raise InvalidRequestError(f"--listen {host}:{port}: cannot listen ({exc.reason})") from exc

    def simulate() -> None:
        last = time.monotonic()
        while not stop.wait(0.2):
            now = time.monotonic()
            service.tick(now - last)
            last = now

    if traffic:
        threading.Thread(target=simulate, daemon=True).start()
    return server
