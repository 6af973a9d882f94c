"""``sloctl run``: the long-running loop, its HTTP endpoint, reloads and graceful stops.

A *cycle* is one iteration of the loop, every interval, at one pinned time: the budget
evaluation of every SLO (:mod:`sloctl.reading.evaluation`, as ``sloctl report`` computes
them), then the incident pass (:mod:`sloctl.daemon.incident_pass`: signals, policy,
lifecycle, store, outbox, reminders). The result is frozen into a
:class:`~sloctl.daemon.exporter.Snapshot` that ``/metrics`` reads. Cycles never overlap, and each
has a deadline derived from the interval (:func:`cycle_seconds`): a query that would run past it
fails, and only the SLOs it was for go stale. Delivery runs in a thread of its own
(:class:`Delivery`), woken by every cycle and every second, so a receiver that hangs or trickles
never slows evaluation. SIGHUP reloads the configuration (an invalid one keeps the old one, logs
every problem with its file and line, and sets ``sloctl_config_last_reload_successful`` to 0).
SIGTERM stops the cycle in progress (queries fail at once; the cycle runs in a thread of its own and
is given up after :data:`STOP_GRACE_SECONDS` whatever a peer does), lets delivery use what is left
of :data:`STOP_FLUSH_SECONDS`, and exits 0 within :data:`STOP_SECONDS`.
"""

from __future__ import annotations

import functools
import gc
import signal
import sqlite3
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from http.server import ThreadingHTTPServer
from pathlib import Path

from prometheus_client.exposition import CONTENT_TYPE_LATEST

from sloctl.core.maintenance import MaintenanceWindow, in_maintenance
from sloctl.core.slo import Slo
from sloctl.daemon.changes_endpoint import PATH as CHANGES_PATH
from sloctl.daemon.changes_endpoint import ChangesEndpoint
from sloctl.daemon.exporter import CHANGES_EXPORTED_FOR, CycleDurations, Snapshot, exposition
from sloctl.daemon.incident_pass import (
    escalate_missed_targets,
    evaluate_incidents,
    remind_overdue,
    write_customer_drafts,
)
from sloctl.daemon.notifications import delivery_policy, sinks, webhook_verify
from sloctl.errors import (
    ConfigError,
    DefinitionError,
    ListenError,
    Problem,
    SloctlError,
    StoreError,
)
from sloctl.incidents.events import EventKind
from sloctl.incidents.lifecycle import Incident
from sloctl.incidents.policy import Policy
from sloctl.incidents.schedule import Schedule
from sloctl.incidents.signals import SignalPlan, Sli, signal_plan
from sloctl.loading.config import Config, UiLogin, changes_token, load_config, ui_logins
from sloctl.loading.definitions import load_definitions
from sloctl.loading.maintenance_file import maintenance_in_force
from sloctl.loading.policy_file import policy_in_force
from sloctl.loading.schedule_file import load_schedule
from sloctl.notify.outbox import Courier
from sloctl.prometheus.client import PrometheusReader
from sloctl.prometheus.transport import Transport
from sloctl.promql.slices import QueryBudget
from sloctl.reading.evaluation import Remembered, Slicing, evaluate
from sloctl.runtime.http_server import QuietHandler, Site, start_server
from sloctl.runtime.logs import Logger
from sloctl.store.database import Store, open_store

STOP_SECONDS = 10.0
"""SIGTERM to exit, at most, whatever the receivers do (what the README promises)."""
STOP_FLUSH_SECONDS = 8.0
"""How long after SIGTERM delivery may go on; the rest of STOP_SECONDS is for shutting down."""
STOP_GRACE_SECONDS = 2.0
"""How long a stopping daemon waits for the cycle in progress before leaving it behind."""
DELIVERY_TICK_SECONDS = 1.0
"""How often the delivery thread looks for due messages when no cycle wakes it."""
READY_CYCLES = 3
"""/readyz fails when Prometheus has not answered any query for this many intervals."""
MIN_CYCLE_SECONDS = 5.0
"""The shortest cycle deadline, so that a one-second interval still leaves a slow
Prometheus time to answer."""
JOIN_POLL_SECONDS = 0.1
GC_YOUNG_THRESHOLD = 10_000
"""New objects the garbage collector lets pile up before it looks at the youngest ones, once
the daemon's long-lived objects are frozen (Python's default is 700). A cycle makes and drops
hundreds of thousands of small objects; at 700 it ran a few full collections per cycle over
whatever survived the cycle before, at this threshold about one in six cycles."""
READ_ONLY = b"the status page is read-only\n"


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
class Delivery:
    """The delivery thread: flushes the outbox whenever woken (after each cycle's commit) and
    every second, re-sends open incidents to Alertmanager every ``refresh_seconds``, and when
    stopping makes one last flush that ends by the cutoff."""

    courier: Courier
    store_path: Path
    logger: Logger
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


@dataclass(frozen=True)
class Loaded:
    """Everything the configuration file names, loaded and checked together. A reload makes a
    new one and swaps it in whole, so a cycle (or a scrape) sees one configuration, never
    parts of two."""

    config: Config
    slos: tuple[Slo, ...]
    policy: Policy
    plan: SignalPlan
    schedule: Schedule | None = None
    """The on-call schedule the configuration names (``schedule``), if any."""
    windows: tuple[MaintenanceWindow, ...] = ()
    """The maintenance windows in force (the configuration's ``maintenance`` file)."""
    change_token: str | None = None
    """The bearer token of ``POST /api/changes`` (None: the endpoint is off)."""
    logins: tuple[UiLogin, ...] = ()
    """Who may act on incidents from the web UI, secrets read (none: it is read-only)."""

    @functools.cached_property
    def services(self) -> tuple[str, ...]:
        """The services of the SLOs, in name order (made once per configuration)."""
        return tuple(sorted({slo.service for slo in self.slos}))


def loaded_from(path: Path, env: Mapping[str, str], logger: Logger) -> Loaded:
    """Load the configuration at ``path`` and what it names, and check every secret it names
    can be read now. Raises the :class:`~sloctl.errors.SloctlError` it found, after logging
    it with every problem (file:line, location, what)."""
    try:
        config = load_config(path)
        config.credentials(env)  # every secret it names must be readable now
        sinks(config, env)
        token = changes_token(config, env)
        logins = ui_logins(config, env)
        slos = tuple(load_definitions(config.relative(config.spec.definitions)))
        windows = tuple(maintenance_in_force(config, slos))
        policy = policy_in_force(
            config.relative(config.spec.policy) if config.spec.policy else None
        )
        schedule = (
            None
            if config.spec.schedule is None
            else load_schedule(config.relative(config.spec.schedule))
        )
    except SloctlError as exc:
        problems = exc.problems if isinstance(exc, DefinitionError) else ()
        logger.error(
            "config_reload_failed",
            error=str(exc).splitlines()[0],
            problems=[str(problem) for problem in problems],
        )
        raise
    logger.info("config_loaded", path=str(path))
    plan = signal_plan(slos, policy)
    return Loaded(config, slos, policy, plan, schedule, windows, token, logins)


@dataclass
class Daemon:
    """The daemon, given its loaded configuration (see :func:`loaded_from`); :meth:`run` runs it."""

    loaded: Loaded
    env: Mapping[str, str]
    logger: Logger
    snapshot: Snapshot = field(default_factory=Snapshot)
    stop: threading.Event = field(default_factory=threading.Event)
    reload_wanted: threading.Event = field(default_factory=threading.Event)
    query_errors: dict[str, int] = field(default_factory=dict)
    delivery: Delivery = field(init=False)
    """Built from the first configuration; its thread starts with :meth:`run`."""
    last_contact: datetime | None = None
    """When Prometheus last answered a query (any answer that shows it evaluating)."""
    last_data: dict[str, datetime] = field(default_factory=dict)
    """Per SLO, the last cycle whose signal window had its events series (or, until one
    has, the first cycle that looked)."""
    crashed: BaseException | None = None
    slices: dict[str, Remembered] = field(default_factory=dict)
    """Stored slice counts read so far, by metric family (see :class:`Slicing`)."""
    site: Site | None = None
    """Pages served on ``listen`` beside the daemon's own paths (the web UI)."""
    public_site: Site | None = None
    """The status page, served on the configuration's ``status_page.listen`` when it has one."""
    frozen: bool = False
    """Whether the garbage collector skips the objects of the configuration in force (see
    :meth:`freeze_long_lived`)."""
    transport: Transport = field(init=False)
    """Every cycle's queries go through it, so its kept-alive connections to Prometheus
    serve cycle after cycle instead of being opened again every interval."""

    def __post_init__(self) -> None:
        self.transport = Transport.from_environment(self.env)
        config = self.loaded.config
        courier = Courier(
            sinks(config, self.env),
            delivery_policy(config),
            webhook_verify(config),
            logger=self.logger,
        )
        self.delivery = Delivery(
            courier,
            config.relative(config.spec.store),
            self.logger,
            refresh_seconds=float(config.interval_seconds),
        )

    def reload(self) -> None:
        """Load the configuration again and swap it in whole; keep the old one if the new one
        is invalid (its problems are logged, and the snapshot says the reload failed)."""
        try:
            loaded = loaded_from(self.loaded.config.source, self.env, self.logger)
        except SloctlError:
            self.snapshot = replace(self.snapshot, reload_successful=False)
            return
        if self.frozen:
            # The old configuration's objects become the collector's again, so that whatever
            # of them is only held in reference cycles is freed, not kept for ever.
            gc.unfreeze()
            self.frozen = False
        self.loaded = loaded
        self.delivery.courier.policy = delivery_policy(loaded.config)
        self.delivery.courier.verify = webhook_verify(loaded.config)
        self.delivery.courier.sinks = sinks(loaded.config, self.env)
        self.snapshot = replace(self.snapshot, reload_successful=True)

    def freeze_long_lived(self) -> None:
        """After the first complete cycle with the configuration in force, move everything
        alive (the definitions, the plans, the remembered families and slices, the snapshot)
        out of the garbage collector's reach.

        Those objects live from cycle to cycle; every full collection walked all of them
        (a third of a 10,000-SLO cycle). Frozen objects are still freed when nothing refers
        to them; what a cycle throws away is collected as before, the youngest generation
        every :data:`GC_YOUNG_THRESHOLD` objects. Garbage is collected first, so that none
        of it is kept; a reload unfreezes before swapping the configuration (see
        :meth:`reload`), so each configuration is frozen once.
        """
        if self.frozen or self.snapshot.slos is not self.loaded.slos:
            return  # frozen already, or no cycle has completed with this configuration
        gc.collect()
        gc.freeze()
        young, middle, oldest = gc.get_threshold()
        gc.set_threshold(max(GC_YOUNG_THRESHOLD, young), middle, oldest)
        self.frozen = True

    def check_store(self, *, create: bool) -> None:
        """Open the configured store once and check it (integrity and schema); a corrupt or
        foreign file is refused now, not found out cycle after cycle. Without ``create`` a
        missing store is fine (the first cycle creates it) if its directory exists."""
        config = self.loaded.config
        path = config.relative(config.spec.store)
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
            config.spec.prometheus.url,
            credentials=config.credentials(self.env),
            limits=config.limits,
            logger=self.logger,
            timeout=float(config.timeout_seconds),
            deadline=deadline,
            cancelled=self.stop.is_set,
            sleep=self._pause,
            failures=self.query_errors,  # counted as they happen, even in a cycle that fails
            transport=self.transport,
        )

    def _pause(self, seconds: float) -> None:
        self.stop.wait(seconds)

    def slicing(self, store: Store, reader: PrometheusReader) -> Slicing | None:
        """Where this cycle's whole slices come from: the store, remembered between cycles."""
        return Slicing(store, reader, remembered=self.slices)

    def cycle(self, at: datetime, deadline: float | None = None) -> CycleReport:
        """One evaluation at ``at``; Prometheus trouble marks the SLOs of the failed queries
        stale and changes nothing about them."""
        loaded = self.loaded  # the configuration as it is now, for the whole cycle
        config, slos, policy = loaded.config, loaded.slos, loaded.policy
        reader = self.reader(config, deadline)
        started = time.monotonic()
        # Checked whole when the daemon started (check_store); every cycle reopens it.
        store = open_store(config.relative(config.spec.store), check=False)
        budget = QueryBudget(config.spec.query_max_samples)
        slicing = self.slicing(store, reader)
        try:
            store.note_watching(at)  # where the status page's uptime history starts
            evaluation = evaluate(slos, reader, at, isolate=True, budget=budget, slicing=slicing)
            results = evaluation.results  # every SLO, in order, when every query answered
            if evaluation.failed or len(results) != len(slos):
                previous = {result.slo.key: result for result in self.snapshot.results}
                fresh = {result.slo.key: result for result in results}
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
                    "evaluation_stale",
                    slos=len(evaluation.failed),
                    error=errors[0],
                    errors=errors,
                )
            configured = sinks(config, self.env)
            outcome = evaluate_incidents(
                store,
                configured,
                policy,
                loaded.plan,
                reader,
                at,
                slicing=slicing,
                budget=budget,
                schedule=loaded.schedule,
                windows=loaded.windows,
            )
            stale |= set(outcome.failed_slos)
            for service, reason in outcome.skipped.items():
                self.logger.warning("incidents_skipped", service=service, reason=reason)
            outcome.events += escalate_missed_targets(store, configured, at)
            outcome.events += remind_overdue(store, configured, at)
            self._write_drafts(
                config, [e.incident for e in outcome.events if e.kind is EventKind.RESOLVED]
            )
            for event in outcome.events:
                self.logger.info(
                    "incident_event",
                    incident=event.incident.id,
                    kind=event.kind.value,
                    service=event.incident.service,
                    severity=event.incident.severity.value,
                    state=event.incident.state.value,
                )
            # Delivery runs in its own thread: a receiver that hangs never slows a cycle.
            self.delivery.courier.sinks = configured
            self.delivery.wake.set()
            notifications = self.delivery.courier.by_sink
            backlog = dict.fromkeys(configured, (0, 0.0)) | {
                sink: (count, max(0.0, (at - oldest).total_seconds()))
                for sink, (count, oldest) in store.backlog().items()
            }
            open_incidents = tuple(store.incidents(open_only=True))
            changes = tuple(store.changes(since=at - CHANGES_EXPORTED_FOR, until=at))
        finally:
            store.close()
        if reader.answered:
            self.last_contact = at
        data_seen = self._note_data(slos, outcome.slis, at)
        durations = self.snapshot.cycle_durations or CycleDurations()
        self.snapshot = Snapshot(
            results=results,
            stale=frozenset(stale),
            slis=outcome.slis,
            open_incidents=open_incidents,
            last_success=last_success,
            query_errors=dict(self.query_errors),
            notifications=notifications,
            outbox_backlog=backlog,
            reload_successful=self.snapshot.reload_successful,
            cycle_durations=durations.observe(time.monotonic() - started),
            slos=slos,
            last_data=data_seen,
            maintenance={
                service: in_maintenance(loaded.windows, service, at) is not None
                for service in loaded.services
            },
            changes=changes,
        )
        report = CycleReport(
            seconds=time.monotonic() - started,
            requests=reader.requests_made,
            stale=len(stale),
            events=len(outcome.events),
        )
        self.logger.info(
            "cycle",
            at=at.isoformat(),
            seconds=round(report.seconds, 3),
            slos=len(slos),
            stale=report.stale,
            open_incidents=len(open_incidents),
            requests=report.requests,
        )
        return report

    def _note_data(
        self, slos: Sequence[Slo], slis: Mapping[str, Sli], at: datetime
    ) -> dict[str, datetime]:
        """Note in :attr:`last_data` which SLOs had their events series at ``at``; returns
        the configured SLOs' part of it, for the snapshot."""
        last_data = self.last_data
        last_data.update({key: at for key, sli in slis.items() if sli.has_data})
        return {slo.key: last_data.setdefault(slo.key, at) for slo in slos}

    def _write_drafts(self, config: Config, resolved: list[Incident]) -> None:
        """The P1 customer communications of the incidents resolved this cycle; a directory
        that cannot be written is logged, and the cycle goes on."""
        try:
            for path in write_customer_drafts(config.drafts, resolved):
                self.logger.info("customer_draft_written", path=str(path))
        except OSError as exc:
            self.logger.error(
                "customer_draft_failed", directory=str(config.drafts), error=exc.strerror
            )

    def changes_endpoint(self, loaded: Loaded) -> ChangesEndpoint:
        """``POST /api/changes`` as the configuration in force says."""
        services = sorted({slo.service for slo in loaded.slos})
        path = loaded.config.relative(loaded.config.spec.store)
        return ChangesEndpoint(loaded.change_token, path, services, self.logger)

    def ready(self, now: datetime) -> bool:
        """Prometheus answered a query within the last :data:`READY_CYCLES` intervals (one
        refused query does not make the daemon unready; Prometheus being unreachable does)."""
        if self.last_contact is None:
            return False
        age = (now - self.last_contact).total_seconds()
        return age <= READY_CYCLES * self.loaded.config.interval_seconds

    def serve(self) -> ThreadingHTTPServer:
        config = self.loaded.config
        daemon = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:
                if daemon.site is not None and daemon.site.answer(self):
                    return
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

            do_HEAD = do_GET

            def do_POST(self) -> None:
                if self.path == CHANGES_PATH:
                    daemon.changes_endpoint(daemon.loaded).handle(self)
                elif daemon.site is not None and daemon.site.answer(self):
                    return
                else:
                    self.reply(404, b"not found\n", "text/plain")

        try:
            return start_server(config.listen, Handler)
        except ListenError as exc:
            problem = Problem(str(config.source), "listen", str(exc))
            raise ConfigError([problem]) from exc

    def serve_public(self) -> ThreadingHTTPServer | None:
        """The status page on its own address (None without one configured, or no site)."""
        config = self.loaded.config
        address = config.status_listen
        if address is None or self.public_site is None:
            return None
        site = self.public_site

        class Handler(QuietHandler):
            def do_GET(self) -> None:
                if not site.answer(self):
                    self.reply(404, b"not found\n", "text/plain")

            do_HEAD = do_GET

            def do_POST(self) -> None:  # the status page accepts no writes
                self.refuse()

            def do_PUT(self) -> None:  # noqa: N802
                self.refuse()

            def do_DELETE(self) -> None:  # noqa: N802
                self.refuse()

            def do_PATCH(self) -> None:  # noqa: N802
                self.refuse()

            def do_OPTIONS(self) -> None:  # noqa: N802
                self.refuse()

            def refuse(self) -> None:
                self.close_connection = True  # an unread body is dropped with it
                headers = {"Allow": "GET, HEAD", "Connection": "close"}
                self.reply(405, READ_ONLY, "text/plain", headers)

        try:
            return start_server(address, Handler)
        except ListenError as exc:
            problem = Problem(str(config.source), "status_page.listen", str(exc))
            raise ConfigError([problem]) from exc

    def run(self) -> None:
        """Check the store, serve, and evaluate every interval until SIGTERM or SIGINT."""
        self.check_store(create=True)
        stop_at: list[float] = []

        def stop(*_: object) -> None:
            if not stop_at:
                stop_at.append(time.monotonic())
                self.delivery.stop(stop_at[0] + STOP_FLUSH_SECONDS)
            self.stop.set()

        signal.signal(signal.SIGHUP, lambda *_: self.reload_wanted.set())
        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        server = self.serve()
        public = self.serve_public()
        self.delivery.start()
        host, port = self.loaded.config.listen
        self.logger.info("listening", address=f"{host}:{server.server_port or port}")
        if public is not None:
            public_host, public_port = public.server_address[:2]
            self.logger.info("status_page_listening", address=f"{public_host!s}:{public_port}")
        try:
            while not self.stop.is_set():
                started = time.monotonic()
                if self.reload_wanted.is_set():
                    self.reload_wanted.clear()
                    self.reload()
                interval = self.loaded.config.interval_seconds
                self.run_cycle(started + cycle_seconds(interval))
                self.freeze_long_lived()
                pause = interval - (time.monotonic() - started)
                self.stop.wait(max(0.0, pause))
        finally:
            stop()  # the loop may also end on an error: delivery stops within the same bound
            finished = self.delivery.join(stop_at[0] + STOP_FLUSH_SECONDS + 0.5)
            server.shutdown()
            if public is not None:
                public.shutdown()
            self.transport.close()  # its idle connections; a cycle left behind keeps its own
            self.logger.info(
                "stopped",
                seconds=round(time.monotonic() - stop_at[0], 3),
                unanswered=self.delivery.courier.in_flight(),
                delivery_finished=finished,
            )

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
                    self.logger.warning(
                        "cycle_abandoned", at=at.isoformat(), grace_seconds=STOP_GRACE_SECONDS
                    )
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
