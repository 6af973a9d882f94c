"""``sloctl run``: the long-running loop, its HTTP endpoint, reloads and graceful stops.

Each cycle, at one pinned time: the budgets of every SLO (as ``sloctl report`` computes
them), then the incident cycle (signals, policy, lifecycle, store, outbox). The result is
frozen into a :class:`~sloctl.exporter.Snapshot` that ``/metrics`` reads. Delivery runs in a
thread of its own (:class:`Delivery`), woken by every cycle and every second, so a receiver
that hangs or trickles never slows evaluation. Cycles never overlap; SIGHUP reloads the
configuration (an invalid one keeps the old one and sets
``sloctl_config_last_reload_successful`` to 0); SIGTERM finishes the cycle, lets delivery
use what is left of :data:`STOP_FLUSH_SECONDS`, and exits 0 within :data:`STOP_SECONDS`.
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

from sloctl.config import (
    CONFIGURATION,
    Config,
    delivery_policy,
    load_config,
    sinks,
    webhook_verify,
)
from sloctl.cycle import escalate_missed_targets, evaluate_incidents
from sloctl.definitions import load_definitions
from sloctl.errors import DefinitionError, Problem, PrometheusError, SloctlError
from sloctl.evaluation import evaluate
from sloctl.exporter import CycleDurations, Snapshot, exposition
from sloctl.outbox import Courier
from sloctl.policy import Policy, load_policy
from sloctl.prometheus import PrometheusReader
from sloctl.quiet_http import ListenError, QuietHandler, start_server
from sloctl.signals import SignalPlan, signal_plan
from sloctl.slo import Slo
from sloctl.store import Store, open_store

STOP_SECONDS = 10.0
"""SIGTERM to exit, at most, whatever the receivers do (what the README promises)."""
STOP_FLUSH_SECONDS = 8.0
"""How long after SIGTERM delivery may go on; the rest of STOP_SECONDS is for shutting down."""
DELIVERY_TICK_SECONDS = 1.0
"""How often the delivery thread looks for due messages when no cycle wakes it."""
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
class Delivery:
    """The delivery thread: flushes the outbox whenever woken (after each cycle's commit) and
    every second, re-sends open incidents to Alertmanager every ``refresh_seconds``, and when
    stopping makes one last flush that ends by the cutoff."""

    courier: Courier
    store_path: Path
    logger: Any
    refresh_seconds: float
    wake: threading.Event = field(default_factory=threading.Event)
    stopping: threading.Event = field(default_factory=threading.Event)
    last_refresh: float | None = None
    thread: threading.Thread | None = None

    def start(self) -> None:
        self.thread = threading.Thread(target=self._run, name="delivery", daemon=True)
        self.thread.start()

    def stop(self, cutoff: float) -> None:
        """Finish by ``cutoff`` (a ``time.monotonic()`` value)."""
        self.courier.stop_by(cutoff)
        self.stopping.set()
        self.wake.set()

    def join(self, until: float) -> bool:
        """Wait for the thread until ``until``; False when it is still busy (it is a daemon
        thread: it does not keep the process alive)."""
        if self.thread is not None:
            self.thread.join(max(0.0, until - time.monotonic()))
            return not self.thread.is_alive()
        return True

    def _run(self) -> None:
        store: Store | None = None
        try:
            while not self.stopping.is_set():
                self.wake.wait(DELIVERY_TICK_SECONDS)
                self.wake.clear()
                store = self._round(store, final=self.stopping.is_set())
            store = self._round(store, final=True)
        finally:
            if store is not None:
                store.close()

    def _round(self, store: Store | None, *, final: bool) -> Store | None:
        """One flush (and a due Alertmanager refresh); the store stays open between rounds and
        is opened again after trouble."""
        try:
            if store is None:
                store = open_store(self.store_path)
            counts = self.courier.flush(store, datetime.now(UTC))
            if final:
                self.logger.info("final_flush", **counts)
                return store
            if self.last_refresh is None or (
                time.monotonic() - self.last_refresh >= self.refresh_seconds
            ):
                self.last_refresh = time.monotonic()
                self.courier.refresh_alertmanager(store, datetime.now(UTC))
        except Exception as exc:  # the thread must outlive any one round's trouble
            self.logger.error("delivery_failed", error=f"{type(exc).__name__}: {exc}")
            if store is not None:
                store.close()
            return None
        return store


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
    delivery: Delivery | None = None

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
        if self.delivery is not None:
            self.delivery.courier.policy = delivery_policy(config)
            self.delivery.courier.verify = webhook_verify(config)
            self.delivery.courier.sinks = sinks(config, self.env)
        self.snapshot = replace(self.snapshot, reload_successful=True)
        self.logger.info("config_loaded", path=str(self.config_path))

    def reader(self, config: Config) -> PrometheusReader:
        """A reader for one cycle, with the credentials as they are now."""
        return PrometheusReader(
            config.spec.prometheus.url, session=config.session(self.env), logger=self.logger,
            timeout=float(config.timeout_seconds),
        )  # fmt: skip

    def cycle(self, at: datetime) -> CycleReport:
        """One evaluation at ``at``; Prometheus trouble marks SLOs stale and changes nothing."""
        assert self.config is not None
        config, slos, policy = self.config, self.slos, self.policy
        reader = self.reader(config)
        started = time.monotonic()
        results = self.snapshot.results
        stale: frozenset[str] = frozenset()
        last_success = self.snapshot.last_success
        try:
            results = evaluate(slos, reader, at).results
            last_success = at
        except PrometheusError as exc:
            reason = type(exc).__name__
            self.query_errors[reason] = self.query_errors.get(reason, 0) + 1
            stale = frozenset(s.key for s in slos)
            self.logger.warning("evaluation_stale", error=str(exc))
        store = open_store(config.relative(config.spec.store))
        try:
            configured = sinks(config, self.env)
            outcome = evaluate_incidents(store, configured, policy, self.planned, reader, at)
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
            notifications = self.snapshot.notifications
            if self.delivery is not None:
                # Delivery runs in its own thread: a receiver that hangs never slows a cycle.
                self.delivery.courier.sinks = configured
                self.delivery.wake.set()
                notifications = self.delivery.courier.by_sink
            backlog = dict.fromkeys(configured, (0, 0.0)) | {
                sink: (count, max(0.0, (at - oldest).total_seconds()))
                for sink, (count, oldest) in store.backlog().items()
            }
            open_incidents = tuple(store.incidents(open_only=True))
        finally:
            store.close()
        durations = self.snapshot.cycle_durations or CycleDurations()
        self.snapshot = Snapshot(
            results=results, stale=stale, slis=outcome.slis, open_incidents=open_incidents,
            last_success=last_success, query_errors=dict(self.query_errors),
            notifications=notifications, outbox_backlog=backlog,
            reload_successful=self.snapshot.reload_successful,
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
        assert self.config is not None
        stop_at: list[float] = []

        def stop(*_: object) -> None:
            if not stop_at:
                stop_at.append(time.monotonic())
                if self.delivery is not None:
                    self.delivery.stop(stop_at[0] + STOP_FLUSH_SECONDS)
            self.stop.set()

        signal.signal(signal.SIGHUP, lambda *_: self.reload_wanted.set())
        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        server = self.serve()
        self.delivery = Delivery(
            Courier(sinks(self.config, self.env), delivery_policy(self.config),
                    webhook_verify(self.config), logger=self.logger),
            self.config.relative(self.config.spec.store), self.logger,
            refresh_seconds=float(self.config.interval_seconds),
        )  # fmt: skip
        self.delivery.start()
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
            stop()  # the loop may also end on an error: delivery stops within the same bound
            finished = self.delivery.join(stop_at[0] + STOP_FLUSH_SECONDS + 0.5)
            server.shutdown()
            self.logger.info(
                "stopped", seconds=round(time.monotonic() - stop_at[0], 3),
                unanswered=self.delivery.courier.in_flight(), delivery_finished=finished,
            )  # fmt: skip
