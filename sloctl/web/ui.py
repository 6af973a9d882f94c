"""The SRE web UI on the daemon's own address: the SLOs, their budgets and burn rates, and the
incidents, read from the daemon's snapshot and store; acting on an incident needs a login.

Each group of pages is a module with a ``routes(ui)`` function; :func:`sre_ui` puts them
together with the package's assets.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sloctl.daemon.loop import Daemon
from sloctl.web import incident_pages, login_pages, slo_pages
from sloctl.web.assets import Assets
from sloctl.web.request import Request
from sloctl.web.response import Response, html, redirect
from sloctl.web.sessions import CSRF_FIELD, Sessions
from sloctl.web.site import Route, WebSite, route, routes_of
from sloctl.web.templates import Templates


@dataclass
class SreUi:
    """What every page of the UI reads: the daemon (its snapshot, configuration and store),
    the templates, and a clock."""

    daemon: Daemon
    assets: Assets = field(default_factory=Assets)
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    templates: Templates = field(init=False)
    sessions: Sessions = field(init=False)
    """Who is logged in (in memory: a restart logs everyone out)."""

    def __post_init__(self) -> None:
        self.templates = Templates(self.assets)
        self.sessions = Sessions(
            logins=lambda: self.daemon.loaded.logins,
            lifetime=lambda: float(self.daemon.loaded.config.session_seconds),
            logger=self.daemon.logger,
        )

    def viewer(self, request: Request) -> str | None:
        """Who is logged in on ``request`` (None: nobody; the pages are read-only)."""
        found = self.sessions.viewer(request)
        return None if found is None else found.name

    def render(self, request: Request, template: str, status: int = 200, **values: Any) -> Response:
        """``template`` with what the layout needs: who is logged in, when the daemon last
        evaluated, and whether that is stale."""
        snapshot = self.daemon.snapshot
        session = self.sessions.viewer(request)
        page = self.templates.render(
            template,
            viewer=None if session is None else session.name,
            csrf=None if session is None else session.csrf,
            csrf_field=CSRF_FIELD,
            logins_enabled=self.sessions.enabled,
            last_success=snapshot.last_success,
            now=self.clock(),
            request_path=request.path,
            **values,
        )
        return html(page, status)


def _home(_request: Request, _match: object) -> Response:
    return redirect("/slos")


def sre_ui(daemon: Daemon) -> WebSite:
    """The UI's site, for :attr:`Daemon.site`."""
    ui = SreUi(daemon)
    pages: tuple[Route, ...] = (route("GET", r"/", _home),)
    return WebSite(
        routes_of(
            pages,
            login_pages.routes(ui),
            slo_pages.routes(ui),
            incident_pages.routes(ui),
        ),
        ui.assets,
        daemon.logger,
        name="ui",
    )
