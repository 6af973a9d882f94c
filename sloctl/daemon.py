"""``sloctl run``: the long-running loop, its HTTP endpoint, reloads and graceful stops.

Each cycle, at one pinned time: the budgets of every SLO (as ``sloctl report`` computes
them), then the incident cycle (signals, policy, lifecycle, store, outbox), then delivery.
The result is frozen into a :class:`~sloctl.exporter.Snapshot` that ``/metrics`` reads.
Cycles never overlap; SIGHUP reloads the configuration (an invalid one keeps the old one and
sets ``sloctl_config_last_reload_successful`` to 0); SIGTERM finishes the cycle, flushes the
outbox and exits 0.
"""

from __future__ import annotations

import signal
import sqlite3
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

from prometheus_client.exposition import CONTENT_TYPE_LATEST

from sloctl.config import CONFIGURATION, Config, load_config, sinks
from sloctl.cycle import escalate_missed_targets, evaluate_incidents
from sloctl.definitions import load_definitions
from sloctl.errors import DefinitionError, Problem, PrometheusError, SloctlError
from sloctl.evaluation import Remembered, Slicing, evaluate
from sloctl.exporter import CycleDurations, Snapshot, exposition
from sloctl.outbox import Courier
from sloctl.policy import Policy, load_policy
from sloctl.prometheus import PrometheusReader
from sloctl.quiet_http import ListenError, QuietHandler, start_server
from sloctl.signals import SignalPlan, signal_plan
from sloctl.slices import QueryBudget
from sloctl.slo import Slo
from sloctl.store import Store, open_store

STOP_FLUSH_SECONDS = 10.0
"""How long a stopping daemon spends delivering what is still due."""
READY_CYCLES = 3
"""/readyz fails when Prometheus has not answered for this many intervals."""


@dataclass(frozen=True)
class CycleReport:
    seconds: float
    requests: int
    """HTTP requests sent to Prometheus, retries included."""
    stale: int
    events: int


@dataclass
class Daemon:
    config_path: Path
    env: Mapping[str, str]
    logger: Any
    snapshot: Snapshot = field(default_factory=Snapshot)
    config: Config | None = None
    stop: threading.Event = field(default_factory=threading.Event)
    reload_wanted: threading.Event = field(default_factory=threading.Event)
    query_errors: dict[str, int] = field(default_factory=dict)
    slos: tuple[Slo, ...] = ()
    policy: Policy = field(default_factory=Policy)
    planned: SignalPlan = field(default_factory=lambda: signal_plan((), Policy()))
    slices: dict[str, Remembered] = field(default_factory=dict)
    """Stored slice counts read so far, by metric family (see :class:`Slicing`)."""

    def load(self) -> None:
        """(Re)load the configuration; keep the old one if the new one is invalid."""
        try:
            config = load_config(self.config_path)
            config.session(self.env)  # every secret it names must be readable now
            sinks(config, self.env)
            slos = tuple(load_definitions(config.relative(config.spec.definitions)))
            policy = (
                load_policy(config.relative(config.spec.policy)) if config.spec.policy else Policy()
            )
        except SloctlError as exc:
            self.logger.error("config_reload_failed", error=str(exc).splitlines()[0])
            self.snapshot = replace(self.snapshot, reload_successful=False)
            if self.config is None:
                raise
            return
        self.config, self.slos, self.policy = config, slos, policy
        self.planned = signal_plan(slos, policy)
        self.snapshot = replace(self.snapshot, reload_successful=True)
        self.logger.info("config_loaded", path=str(self.config_path))

    def reader(self, config: Config) -> PrometheusReader:
        """A reader for one cycle, with the credentials as they are now."""
        return PrometheusReader(
            config.spec.prometheus.url, session=config.session(self.env), logger=self.logger,
            timeout=float(config.timeout_seconds),
        )  # fmt: skip

    def slicing(self, store: Store, reader: PrometheusReader) -> Slicing | None:
        """Where this cycle's whole slices come from: the store, remembered between cycles."""
        return Slicing(store, reader, remembered=self.slices)

    def cycle(self, at: datetime) -> CycleReport:
        """One evaluation at ``at``; Prometheus trouble marks SLOs stale and changes nothing."""
        assert self.config is not None
        config, slos, policy = self.config, self.slos, self.policy
        reader = self.reader(config)
        started = time.monotonic()
        results = self.snapshot.results
        stale: frozenset[str] = frozenset()
        last_success = self.snapshot.last_success
        store = open_store(config.relative(config.spec.store))
        budget = QueryBudget(config.spec.query_max_samples)
        slicing = self.slicing(store, reader)
        try:
            try:
                results = evaluate(slos, reader, at, budget=budget, slicing=slicing).results
                last_success = at
            except PrometheusError as exc:
                reason = type(exc).__name__
                self.query_errors[reason] = self.query_errors.get(reason, 0) + 1
                stale = frozenset(s.key for s in slos)
                self.logger.warning("evaluation_stale", error=str(exc))
            configured = sinks(config, self.env)
            outcome = evaluate_incidents(
                store, configured, policy, self.planned, reader, at, slicing=slicing, budget=budget
            )
            for service, reason in outcome.skipped.items():
                stale |= {s.key for s in slos if s.service == service}
                self.logger.warning("incidents_skipped", service=service, reason=reason)
            outcome.events += escalate_missed_targets(store, configured, at)
            for event in outcome.events:
                self.logger.info(
                    "incident_event", incident=event.incident.id, kind=event.kind.value,
                    service=event.incident.service, severity=event.incident.severity.value,
                    state=event.incident.state.value,
                )  # fmt: skip
            courier = Courier(configured, logger=self.logger)
            # Slow receivers must not stall evaluation: what is not tried within the
            # interval is handed back for the next cycle.
            courier.flush(store, at, deadline=started + config.interval_seconds)
            courier.refresh_alertmanager(store, at)
            notifications = dict(self.snapshot.notifications)
            for key, count in courier.by_sink.items():
                notifications[key] = notifications.get(key, 0) + count
            open_incidents = tuple(store.incidents(open_only=True))
        finally:
            store.close()
        durations = self.snapshot.cycle_durations or CycleDurations()
        self.snapshot = Snapshot(
            results=results, stale=stale, slis=outcome.slis, open_incidents=open_incidents,
            last_success=last_success, query_errors=dict(self.query_errors),
            notifications=notifications, reload_successful=self.snapshot.reload_successful,
            cycle_durations=durations.observe(time.monotonic() - started),
        )  # fmt: skip
        report = CycleReport(
            seconds=time.monotonic() - started, requests=reader.requests_made, stale=len(stale),
            events=len(outcome.events),
        )  # fmt: skip
        self.logger.info(
            "cycle", at=at.isoformat(), seconds=round(report.seconds, 3), slos=len(slos),
            stale=report.stale, open_incidents=len(open_incidents), requests=report.requests,
        )  # fmt: skip
        return report

    def ready(self, now: datetime) -> bool:
        if self.config is None or self.snapshot.last_success is None:
            return False
        age = (now - self.snapshot.last_success).total_seconds()
        return age <= READY_CYCLES * self.config.interval_seconds

    def serve(self) -> ThreadingHTTPServer:
        assert self.config is not None
        daemon = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:
                if self.path == "/metrics":
                    self.reply(200, exposition(lambda: daemon.snapshot), CONTENT_TYPE_LATEST)
                elif self.path == "/healthz":
                    self.reply(200, b"ok\n", "text/plain")
                elif self.path == "/readyz":
                    ready = daemon.ready(datetime.now(UTC))
                    self.reply(
                        200 if ready else 503, b"ready\n" if ready else b"not ready\n", "text/plain"
                    )
                else:
                    self.reply(404, b"not found\n", "text/plain")

        try:
            return start_server(self.config.listen, Handler)
        except ListenError as exc:
            problem = Problem(str(self.config.source), "listen", str(exc))
            raise DefinitionError([problem], CONFIGURATION) from exc

    def run(self) -> None:
        """Load, serve, and evaluate every interval until SIGTERM or SIGINT."""
        self.load()
        signal.signal(signal.SIGHUP, lambda *_: self.reload_wanted.set())
        signal.signal(signal.SIGTERM, lambda *_: self.stop.set())
        signal.signal(signal.SIGINT, lambda *_: self.stop.set())
        server = self.serve()
        assert self.config is not None
        host, port = self.config.listen
        self.logger.info("listening", address=f"{host}:{server.server_port or port}")
        try:
            while not self.stop.is_set():
                started = time.monotonic()
                if self.reload_wanted.is_set():
                    self.reload_wanted.clear()
                    self.load()
                try:
                    self.cycle(datetime.now(UTC).replace(microsecond=0))
                except SloctlError as exc:
                    self.logger.error("cycle_failed", error=str(exc).splitlines()[0])
                except (OSError, sqlite3.Error) as exc:
                    # A full disk or a store locked for too long: this cycle is lost (and
                    # /readyz will say so), the daemon is not.
                    self.logger.error("cycle_failed", error=f"{type(exc).__name__}: {exc}")
                pause = self.config.interval_seconds - (time.monotonic() - started)
                self.stop.wait(max(0.0, pause))
        finally:
            self.final_flush()
            server.shutdown()
            self.logger.info("stopped")

    def final_flush(self) -> None:
        """On the way out, one bounded attempt at whatever is still due."""
        if self.config is None:
            return
        deadline = time.monotonic() + STOP_FLUSH_SECONDS
        try:
            courier = Courier(
                sinks(self.config, self.env), timeout=STOP_FLUSH_SECONDS / 2, logger=self.logger
            )
            store = open_store(self.config.relative(self.config.spec.store))
            try:
                counts = courier.flush(store, datetime.now(UTC), deadline=deadline)
            finally:
                store.close()
        except SloctlError as exc:
            self.logger.error("final_flush_failed", error=str(exc).splitlines()[0])
            return
        self.logger.info("final_flush", **counts)
