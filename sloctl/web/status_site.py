"""The public status page, on its own address (``status_page.listen``): safe to expose.

Pages: ``/`` (components, overall status, 90-day uptime bars, active and recent incidents),
``/api/v2/summary.json`` and ``/api/v2/status.json`` in Atlassian Statuspage's documented
shape, and ``/history.atom`` (an Atom feed of the incidents). The page sets no cookies and
accepts no writes (:meth:`sloctl.daemon.loop.Daemon.serve_public` answers every other method
405), and shows nothing internal (no timeline notes, PromQL, thresholds, people, incident ids
or severities) unless ``status_page.show_internal`` is true, when the ids and severities are
added to the incidents' names.

**What it reads.** What the page says (:class:`StatusView`) is computed from the store
(opened read-only, without the integrity check) and the maintenance windows in force, and
kept: it is read again only after the daemon finished a new cycle (its snapshot changed), at
most once every :data:`READ_EVERY_SECONDS`, and at least every :data:`STALE_SECONDS`. However
many requests arrive, SQLite is read at most once a second, and each answer's body is
rendered once per reading. The pure rules are :mod:`sloctl.incidents.public_status` and
:mod:`sloctl.incidents.uptime`.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sloctl.core.maintenance import MaintenanceWindow
from sloctl.daemon.loop import Daemon
from sloctl.errors import StoreError
from sloctl.incidents.public_status import (
    ComponentStatus,
    IncidentStatus,
    PageStatus,
    PublicUpdate,
    Reported,
    component_statuses,
    impact,
    incident_name,
    incident_status,
    page_status,
    public_updates,
    status_changed_at,
)
from sloctl.incidents.uptime import DAYS, Day, daily_uptime, grade, outages, period_uptime
from sloctl.loading.config import StatusPageSpec
from sloctl.store.database import open_store
from sloctl.web.assets import Assets
from sloctl.web.request import Request
from sloctl.web.response import Response, json_response, text
from sloctl.web.site import WebSite, route
from sloctl.web.templates import Templates, iso, percent

READ_EVERY_SECONDS = 1.0
"""The store is read at most this often, whatever the request rate."""
STALE_SECONDS = 30.0
"""...and at least this often, even when the daemon's cycles fail."""
RECENT = timedelta(days=7)
"""Resolved incidents shown on the page."""
FEED_ENTRIES = 50
MAINTENANCE_AHEAD = timedelta(days=7)
"""Scheduled maintenances listed: those in progress and those starting within this."""
JSON_CACHE = "public, max-age=30"
PAGE_CACHE = "no-cache"
ATOM = "application/atom+xml; charset=utf-8"
TIME_ZONE = "Etc/UTC"
UNAVAILABLE = "The status page cannot read its history right now; try again in a minute."


def stable_id(*parts: str) -> str:
    """A Statuspage-like id (12 lower-case letters and digits) derived from ``parts``: the same
    service or incident always has the same id, and an incident's id does not give away its
    number."""
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()
    return digest[:12]


@dataclass(frozen=True)
class Bar:
    """One day of a component's uptime bar."""

    x: int
    grade: str
    tooltip: str


@dataclass(frozen=True)
class Component:
    service: str
    id: str
    name: str
    status: ComponentStatus
    position: int
    days: tuple[Day, ...]
    uptime: float | None
    bars: tuple[Bar, ...]
    updated_at: datetime


@dataclass(frozen=True)
class Told:
    """An incident as the public sees it."""

    id: str
    name: str
    status: IncidentStatus
    impact: str
    created_at: datetime
    updated_at: datetime
    started_at: datetime
    monitoring_at: datetime | None
    resolved_at: datetime | None
    updates: tuple[PublicUpdate, ...]
    """Newest first, as status pages list them."""
    components: tuple[str, ...]
    """The services it affects that are components of the page."""


@dataclass(frozen=True)
class Maintenance:
    id: str
    name: str
    status: str
    """``in_progress`` or ``scheduled``."""
    scheduled_for: datetime
    scheduled_until: datetime
    components: tuple[str, ...]


@dataclass(frozen=True)
class StatusView:
    """Everything the status page says at one reading."""

    title: str
    url: str
    page_id: str
    now: datetime
    updated_at: datetime
    started: datetime
    status: PageStatus
    components: tuple[Component, ...]
    active: tuple[Told, ...]
    recent: tuple[Told, ...]
    history: tuple[Told, ...]
    maintenances: tuple[Maintenance, ...]
    show_internal: bool

    def component(self, service: str) -> Component | None:
        return next((c for c in self.components if c.service == service), None)


def services_in_order(services: Sequence[str], public_names: Mapping[str, str]) -> list[str]:
    """The configured components first, in the configuration's order, then the rest by name."""
    known = set(services)
    named = [service for service in public_names if service in known]
    return named + sorted(known - set(named))


def build_view(
    spec: StatusPageSpec,
    url: str,
    installation: str,
    services: Sequence[str],
    reported: Sequence[Reported],
    windows: Sequence[MaintenanceWindow],
    first_record: datetime | None,
    now: datetime,
) -> StatusView:
    """What the page says, from what the store holds (``reported``: the incidents open or
    resolved within the uptime history, with their updates and summaries)."""
    names = dict(spec.components)
    ordered = services_in_order(services, names)
    page_id = stable_id("page", installation)
    started = first_record or now
    statuses = component_statuses(ordered, reported, windows, now)
    all_outages = [o for item in reported for o in outages(item, now)]
    told = {
        item.incident.id: _told(item, names, set(ordered), installation, spec) for item in reported
    }
    titles = {incident_id: t.name for incident_id, t in told.items()}
    components = []
    for position, service in enumerate(ordered, start=1):
        days = tuple(daily_uptime(service, all_outages, first_record, now, DAYS))
        changed = [o.start for o in all_outages if o.service == service and o.start <= now]
        changed += [o.end for o in all_outages if o.service == service and o.end < now]
        components.append(
            Component(
                service=service,
                id=stable_id("component", installation, service),
                name=names.get(service, service),
                status=statuses[service],
                position=position,
                days=days,
                uptime=period_uptime(days),
                bars=tuple(_bar(index, day, titles) for index, day in enumerate(days)),
                updated_at=max(changed, default=started),
            )
        )
    by_start = sorted(told.values(), key=lambda t: t.started_at, reverse=True)
    open_ids = {item.incident.id for item in reported if item.incident.open}
    active = tuple(
        told[i] for i in sorted(open_ids, key=lambda i: told[i].started_at, reverse=True)
    )
    recent = tuple(
        t
        for t in by_start
        if t.resolved_at is not None
        and t.status is IncidentStatus.RESOLVED
        and now - t.resolved_at <= RECENT
    )
    updated = [t.updated_at for t in told.values()]
    return StatusView(
        title=spec.title,
        url=url,
        page_id=page_id,
        now=now,
        updated_at=max(updated, default=started),
        started=started,
        status=page_status(statuses.values(), reported),
        components=tuple(components),
        active=active,
        recent=recent,
        history=tuple(by_start[:FEED_ENTRIES]),
        maintenances=tuple(_maintenances(windows, ordered, names, installation, spec, now)),
        show_internal=spec.show_internal,
    )


def _told(
    item: Reported,
    names: Mapping[str, str],
    components: set[str],
    installation: str,
    spec: StatusPageSpec,
) -> Told:
    incident = item.incident
    updates = public_updates(item, names)
    name = incident_name(item, names)
    if spec.show_internal:
        name = f"{name} ({incident.id}, {incident.severity.value})"
    started = incident.impact_started_at or incident.detected_at
    return Told(
        id=stable_id("incident", installation, incident.id),
        name=name,
        status=incident_status(item),
        impact=impact(incident).value,
        created_at=incident.detected_at,
        updated_at=max([incident.detected_at, *(u.at for u in updates)]),
        started_at=started,
        monitoring_at=status_changed_at(item, IncidentStatus.MONITORING),
        resolved_at=incident.resolved_at,
        updates=tuple(reversed(updates)),
        components=tuple(s for s in item.services if s in components),
    )


def _bar(index: int, day: Day, titles: Mapping[str, str]) -> Bar:
    if day.uptime is None:
        text = f"{day.day.isoformat()}: no data"
    else:
        text = f"{day.day.isoformat()}: {percent(day.uptime)} uptime"
    if day.incidents:
        text += "; " + "; ".join(titles.get(i, "incident") for i in day.incidents)
    elif day.uptime is not None:
        text += "; no incidents"
    return Bar(x=index * 10, grade=grade(day), tooltip=text)


def _maintenances(
    windows: Sequence[MaintenanceWindow],
    services: Sequence[str],
    names: Mapping[str, str],
    installation: str,
    spec: StatusPageSpec,
    now: datetime,
) -> list[Maintenance]:
    found = []
    for window in windows:
        if window.service not in services:
            continue
        for start, end in window.occurrences(now, now + MAINTENANCE_AHEAD):
            name = f"Scheduled maintenance of {names.get(window.service, window.service)}"
            if spec.show_internal:
                name += f" ({window.name})"
            found.append(
                Maintenance(
                    id=stable_id(
                        "maintenance", installation, window.service, window.name, iso(start)
                    ),
                    name=name,
                    status="in_progress" if start <= now < end else "scheduled",
                    scheduled_for=start,
                    scheduled_until=end,
                    components=(window.service,),
                )
            )
    return sorted(found, key=lambda m: m.scheduled_for)


# --- Statuspage's JSON ---------------------------------------------------------------------


def page_document(view: StatusView) -> dict[str, Any]:
    return {
        "id": view.page_id,
        "name": view.title,
        "url": view.url,
        "time_zone": TIME_ZONE,
        "updated_at": iso(view.updated_at),
    }


def component_document(view: StatusView, component: Component) -> dict[str, Any]:
    return {
        "id": component.id,
        "name": component.name,
        "status": component.status.value,
        "created_at": iso(view.started),
        "updated_at": iso(component.updated_at),
        "position": component.position,
        "description": None,
        "showcase": True,
        "start_date": view.started.date().isoformat(),
        "group_id": None,
        "page_id": view.page_id,
        "group": False,
        "only_show_if_degraded": False,
    }


def incident_document(view: StatusView, told: Told) -> dict[str, Any]:
    components = [view.component(s) for s in told.components]
    return {
        "id": told.id,
        "name": told.name,
        "status": told.status.value,
        "impact": told.impact,
        "created_at": iso(told.created_at),
        "updated_at": iso(told.updated_at),
        "monitoring_at": iso(told.monitoring_at) or None,
        "resolved_at": iso(told.resolved_at) or None,
        "shortlink": f"{view.url}/#incident-{told.id}",
        "started_at": iso(told.started_at),
        "page_id": view.page_id,
        "incident_updates": [
            {
                "id": stable_id(
                    "update", told.id, iso(update.at), update.status.value, update.body
                ),
                "status": update.status.value,
                "body": update.body,
                "incident_id": told.id,
                "created_at": iso(update.at),
                "updated_at": iso(update.at),
                "display_at": iso(update.at),
                "affected_components": None,
                "deliver_notifications": True,
                "custom_tweet": None,
                "tweet_id": None,
            }
            for update in told.updates
        ],
        "components": [component_document(view, c) for c in components if c is not None],
    }


def maintenance_document(view: StatusView, maintenance: Maintenance) -> dict[str, Any]:
    components = [view.component(s) for s in maintenance.components]
    return {
        "id": maintenance.id,
        "name": maintenance.name,
        "status": maintenance.status,
        "impact": "maintenance",
        "created_at": iso(maintenance.scheduled_for),
        "updated_at": iso(maintenance.scheduled_for),
        "monitoring_at": None,
        "resolved_at": None,
        "shortlink": f"{view.url}/#maintenance-{maintenance.id}",
        "started_at": iso(maintenance.scheduled_for),
        "page_id": view.page_id,
        "incident_updates": [],
        "components": [component_document(view, c) for c in components if c is not None],
        "scheduled_for": iso(maintenance.scheduled_for),
        "scheduled_until": iso(maintenance.scheduled_until),
    }


def status_document(view: StatusView) -> dict[str, Any]:
    """``/api/v2/status.json``."""
    return {
        "page": page_document(view),
        "status": {
            "indicator": view.status.indicator.value,
            "description": view.status.description,
        },
    }


def summary_document(view: StatusView) -> dict[str, Any]:
    """``/api/v2/summary.json``: the page, its status, every component, the unresolved
    incidents and the maintenances in progress or coming."""
    return {
        **status_document(view),
        "components": [component_document(view, c) for c in view.components],
        "incidents": [incident_document(view, t) for t in view.active],
        "scheduled_maintenances": [maintenance_document(view, m) for m in view.maintenances],
    }


# --- Reading and serving ----------------------------------------------------------------------


def page_url(daemon: Daemon) -> str:
    """Where the public reaches the page: ``status_page.url``, else its listen address."""
    spec = daemon.loaded.config.spec.status_page or StatusPageSpec()
    if spec.url:
        return spec.url.rstrip("/")
    host, port = daemon.loaded.config.status_listen or ("127.0.0.1", 9465)
    return f"http://{host}:{port}"


def read_view(daemon: Daemon, now: datetime) -> StatusView:
    """Read the store (read-only) and compute the page; a store that cannot be read raises
    :class:`~sloctl.errors.StoreError` (the page never says "operational" for want of data)."""
    loaded = daemon.loaded
    config = loaded.config
    spec = config.spec.status_page or StatusPageSpec()
    services = sorted({slo.service for slo in loaded.slos})
    reported: list[Reported] = []
    store = open_store(config.relative(config.spec.store), read_only=True, check=False)
    try:
        installation = store.installation
        first_record = store.first_record()
        for incident in store.incidents(resolved_after=now - timedelta(days=DAYS)):
            reported.append(
                Reported(
                    incident,
                    tuple(store.updates(incident.id)),
                    tuple(store.summaries(incident.id)),
                )
            )
    finally:
        store.close()
    return build_view(
        spec, page_url(daemon), installation, services, reported, loaded.windows, first_record, now
    )


@dataclass
class StatusPages:
    """The status page's answers, from a :class:`StatusView` kept between readings."""

    daemon: Daemon
    assets: Assets = field(default_factory=Assets)
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    monotonic: Callable[[], float] = time.monotonic
    templates: Templates = field(init=False)
    lock: threading.Lock = field(default_factory=threading.Lock)
    view: StatusView | None = None
    read_at: float = 0.0
    snapshot: object = None
    rendered: dict[str, Response] = field(default_factory=dict)
    readings: int = 0
    """How many times the store was read (for the tests and the benchmark)."""
    failure: StoreError | None = None
    """Why the last reading failed (tried again a second later, not at every request)."""

    def __post_init__(self) -> None:
        self.templates = Templates(self.assets)

    def answer(self, name: str, make: Callable[[StatusView], Response]) -> Response:
        """The answer ``name`` for the current view, rendered once per reading."""
        with self.lock:
            try:
                view = self._current()
            except StoreError as exc:
                self.daemon.logger.error("status_page_unavailable", error=str(exc).splitlines()[0])
                return text(UNAVAILABLE, 503)
            response = self.rendered.get(name)
            if response is None:
                response = self.rendered[name] = make(view)
            return response

    def _current(self) -> StatusView:
        snapshot = self.daemon.snapshot
        age = self.monotonic() - self.read_at
        fresh = snapshot is self.snapshot or age < READ_EVERY_SECONDS
        if self.failure is not None and age < READ_EVERY_SECONDS:
            raise self.failure  # a failed reading is not tried again at once either
        if self.view is None or self.failure is not None or age >= STALE_SECONDS or not fresh:
            self.snapshot, self.read_at = snapshot, self.monotonic()
            self.readings += 1
            try:
                self.view = read_view(self.daemon, self.clock())
            except StoreError as exc:
                self.view, self.failure = None, exc
                raise
            self.failure = None
            self.rendered = {}
        if self.view is None:
            raise StoreError("the status page has not read the store yet")
        return self.view

    def home(self, _request: Request, _match: object) -> Response:
        return self.answer("home", self._home)

    def _home(self, view: StatusView) -> Response:
        body = self.templates.render("status_page.html", view=view)
        return Response(200, body.encode("utf-8"), cache=PAGE_CACHE)

    def summary(self, _request: Request, _match: object) -> Response:
        return self.answer(
            "summary", lambda v: json_response(summary_document(v), cache=JSON_CACHE)
        )

    def status(self, _request: Request, _match: object) -> Response:
        return self.answer("status", lambda v: json_response(status_document(v), cache=JSON_CACHE))

    def feed(self, _request: Request, _match: object) -> Response:
        return self.answer("feed", self._feed)

    def _feed(self, view: StatusView) -> Response:
        body = self.templates.render("status_feed.xml", view=view)
        return Response(200, body.encode("utf-8"), ATOM, cache=PAGE_CACHE)


def status_site(daemon: Daemon, clock: Callable[[], datetime] | None = None) -> WebSite:
    """The status page's site, for :attr:`Daemon.public_site`."""
    pages = StatusPages(daemon) if clock is None else StatusPages(daemon, clock=clock)
    routes = (
        route("GET", r"/", pages.home),
        route("GET", r"/index\.html", pages.home),
        route("GET", r"/api/v2/summary\.json", pages.summary),
        route("GET", r"/api/v2/status\.json", pages.status),
        route("GET", r"/history\.atom", pages.feed),
    )
    return WebSite(routes, pages.assets, daemon.logger, name="status_page")
