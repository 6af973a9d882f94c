"""``sloctl run``: the long-running loop, its HTTP endpoint, reloads and graceful stops.

Each cycle, at one pinned time: the budgets of every SLO (as ``sloctl report`` computes
them), then the incident cycle (signals, policy, lifecycle, store, outbox), then delivery.
The result is frozen into a :class:`~sloctl.exporter.Snapshot` that ``/metrics`` reads.
Cycles never overlap, and each has a deadline derived from the interval
(:func:`cycle_seconds`): a query that would run past it fails, and only the SLOs it was for
go stale. SIGHUP reloads the configuration (an invalid one keeps the old one, logs every
problem with its file and line, and sets ``sloctl_config_last_reload_successful`` to 0).
SIGTERM stops the cycle in progress (queries fail at once; the cycle runs in a thread of its
own and is given up after :data:`STOP_GRACE_SECONDS` whatever a peer does), flushes the
outbox once, within :data:`STOP_FLUSH_SECONDS`, and exits 0.
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
from sloctl.errors import DefinitionError, Problem, SloctlError
from sloctl.evaluation import evaluate
from sloctl.exporter import CycleDurations, Snapshot, exposition
from sloctl.outbox import Courier
from sloctl.policy import Policy, load_policy
from sloctl.prometheus import PrometheusReader
from sloctl.quiet_http import ListenError, QuietHandler, start_server
from sloctl.signals import SignalPlan, signal_plan
from sloctl.slo import Slo
from sloctl.store import StoreError, open_store

STOP_FLUSH_SECONDS = 10.0
"""How long a stopping daemon spends delivering what is still due."""
STOP_GRACE_SECONDS = 2.0
"""How long a stopping daemon waits for the cycle in progress before leaving it behind."""
READY_CYCLES = 3
"""/readyz fails when Prometheus has not answered any query for this many intervals."""
MIN_CYCLE_SECONDS = 5.0
"""The shortest cycle deadline, so that a one-second interval still leaves a slow
Prometheus time to answer."""
JOIN_POLL_SECONDS = 0.1


def cycle_seconds(interval_seconds: float) -> float:
    """How long one cycle may take: its interval, but at least :data:`MIN_CYCLE_SECONDS`."""
    return max(float(interval_seconds), MIN_CYCLE_SECONDS)


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
    last_contact: datetime | None = None
    """When Prometheus last answered a query (any answer that shows it evaluating)."""
    last_data: dict[str, datetime] = field(default_factory=dict)
    """Per SLO, the last cycle whose signal window had its events series (or, until one
    has, the first cycle that looked)."""
    crashed: BaseException | None = None

    def load(self) -> None:
        """(Re)load the configuration; keep the old one if the new one is invalid."""
        try:
            config = load_config(self.config_path)
            config.credentials(self.env)  # every secret it names must be readable now
            sinks(config, self.env)
            slos = tuple(load_definitions(config.relative(config.spec.definitions)))
            policy = (
                load_policy(config.relative(config.spec.policy)) if config.spec.policy else Policy()
            )
        except SloctlError as exc:
            problems = exc.problems if isinstance(exc, DefinitionError) else ()
            self.logger.error(
                "config_reload_failed",
                error=str(exc).splitlines()[0],
                problems=[str(problem) for problem in problems],
            )
            self.snapshot = replace(self.snapshot, reload_successful=False)
            if self.config is None:
                raise
            return
        self.config, self.slos, self.policy = config, slos, policy
        self.planned = signal_plan(slos, policy)
        self.snapshot = replace(self.snapshot, reload_successful=True)
        self.logger.info("config_loaded", path=str(self.config_path))

    def check_store(self, *, create: bool) -> None:
        """Open the configured store once and check it (integrity and schema); a corrupt or
        foreign file is refused now, not found out cycle after cycle. Without ``create`` a
        missing store is fine (the first cycle creates it) if its directory exists."""
        assert self.config is not None
        path = self.config.relative(self.config.spec.store)
        if not create and not path.exists():
            if not path.parent.is_dir():
                raise StoreError(f"incident store {path}: directory {path.parent} does not exist")
            return
        open_store(path, read_only=not create).close()

    def reader(self, config: Config, deadline: float | None = None) -> PrometheusReader:
        """A reader for one cycle, with the credentials as they are now; it stops asking at
        ``deadline`` (a ``time.monotonic()`` value) or when the daemon is told to stop, and
        counts its failed queries into the daemon's ``query_errors``."""
        return PrometheusReader(
            config.spec.prometheus.url, credentials=config.credentials(self.env),
            limits=config.limits, logger=self.logger, timeout=float(config.timeout_seconds),
            deadline=deadline, cancelled=self.stop.is_set, sleep=self._pause,
            failures=self.query_errors,  # counted as they happen, even in a cycle that fails
        )  # fmt: skip

    def _pause(self, seconds: float) -> None:
        self.stop.wait(seconds)

    def cycle(self, at: datetime, deadline: float | None = None) -> CycleReport:
        """One evaluation at ``at``; Prometheus trouble marks the SLOs of the failed queries
        stale and changes nothing about them."""
        assert self.config is not None
        config, slos, policy = self.config, self.slos, self.policy
        reader = self.reader(config, deadline)
        started = time.monotonic()
        evaluation = evaluate(slos, reader, at, isolate=True)
        previous = {result.slo.key: result for result in self.snapshot.results}
        fresh = {result.slo.key: result for result in evaluation.results}
        # An SLO that could not be read keeps its last judgement, marked stale.
        results = tuple(
            fresh.get(slo.key) or previous[slo.key]
            for slo in slos
            if slo.key in fresh or slo.key in previous
        )
        stale = set(evaluation.failed)
        last_success = self.snapshot.last_success if evaluation.failed else at
        if evaluation.failed:
            errors = sorted({str(error) for error in evaluation.failed.values()})
            self.logger.warning(
                "evaluation_stale", slos=len(evaluation.failed), error=errors[0], errors=errors
            )
        store = open_store(config.relative(config.spec.store))
        try:
            configured = sinks(config, self.env)
            outcome = evaluate_incidents(store, configured, policy, self.planned, reader, at)
            stale |= set(outcome.failed_slos)
            for service, reason in outcome.skipped.items():
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
        if reader.answered:
            self.last_contact = at
        for slo in slos:
            sli = outcome.slis.get(slo.key)
            if sli is not None and sli.has_data:
                self.last_data[slo.key] = at
            else:
                self.last_data.setdefault(slo.key, at)
        durations = self.snapshot.cycle_durations or CycleDurations()
        self.snapshot = Snapshot(
            results=results, stale=frozenset(stale), slis=outcome.slis,
            open_incidents=open_incidents, last_success=last_success,
            query_errors=dict(self.query_errors), notifications=notifications,
            reload_successful=self.snapshot.reload_successful,
            cycle_durations=durations.observe(time.monotonic() - started),
            slos=slos, last_data={slo.key: self.last_data[slo.key] for slo in slos},
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
        """Prometheus answered a query within the last :data:`READY_CYCLES` intervals (one
        refused query does not make the daemon unready; Prometheus being unreachable does)."""
        if self.config is None or self.last_contact is None:
            return False
        age = (now - self.last_contact).total_seconds()
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
        """Load, check the store, serve, and evaluate every interval until SIGTERM or SIGINT."""
        self.load()
        self.check_store(create=True)
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
                self.run_cycle(started + cycle_seconds(self.config.interval_seconds))
                pause = self.config.interval_seconds - (time.monotonic() - started)
                self.stop.wait(max(0.0, pause))
        finally:
            self.final_flush()
            server.shutdown()
            self.logger.info("stopped")

    def run_cycle(self, deadline: float) -> None:
        """One cycle in a thread of its own, so that SIGTERM is obeyed within
        :data:`STOP_GRACE_SECONDS` even while a peer holds a read; the next cycle starts only
        when this one has ended (or, when stopping, been left behind)."""
        at = datetime.now(UTC).replace(microsecond=0)
        worker = threading.Thread(
            target=self._guarded_cycle, args=(at, deadline), name="sloctl-cycle", daemon=True
        )
        worker.start()
        overran = False
        while worker.is_alive():
            if self.stop.is_set():
                worker.join(STOP_GRACE_SECONDS)
                if worker.is_alive():
                    self.logger.warning("cycle_abandoned", at=at.isoformat(),
                                        grace_seconds=STOP_GRACE_SECONDS)  # fmt: skip
                break
            worker.join(JOIN_POLL_SECONDS)
            if not overran and time.monotonic() > deadline + JOIN_POLL_SECONDS:
                overran = True
                self.logger.warning("cycle_overran", at=at.isoformat())
        if self.crashed is not None:
            raise self.crashed

    def _guarded_cycle(self, at: datetime, deadline: float) -> None:
        try:
            self.cycle(at, deadline)
        except SloctlError as exc:
            self.logger.error("cycle_failed", error=str(exc).splitlines()[0])
        except (OSError, sqlite3.Error) as exc:
            # A full disk or a store locked for too long: this cycle is lost (and
            # /readyz will say so), the daemon is not.
            self.logger.error("cycle_failed", error=f"{type(exc).__name__}: {exc}")
        except BaseException as exc:  # a bug: stop the daemon with it, as before
            self.crashed = exc
            self.stop.set()

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
