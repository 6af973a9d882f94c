"""``/login`` and ``/logout``: a person's session in the SRE UI (see :mod:`sloctl.web.sessions`).

Without a password login in the configuration there is no login form: the page says the UI is
read-only and how to change that.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from sloctl.loading.config import LOGIN_NAME_MAX
from sloctl.web.request import Request
from sloctl.web.response import Response, redirect, site_path, text
from sloctl.web.sessions import MAX_SECRET_CHARS, Throttled, cleared, cookie
from sloctl.web.site import Route, route

if TYPE_CHECKING:
    from sloctl.web.ui import SreUi


def _next(request: Request) -> str:
    """Where to go after logging in: a path of this site (never another site)."""
    return site_path(request.field("next") or request.arg("next"), "/incidents")


def routes(ui: SreUi) -> Sequence[Route]:
    def form(
        request: Request, _match: re.Match[str], status: int = 200, **values: object
    ) -> Response:
        shown: dict[str, object] = {
            "next": _next(request),
            "error": None,
            "login_name": "",
            "name_limit": LOGIN_NAME_MAX,
            "secret_limit": MAX_SECRET_CHARS,
        }
        return ui.render(request, "login.html", status=status, **(shown | values))

    def log_in(request: Request, _match: re.Match[str]) -> Response:
        if not ui.sessions.enabled:
            return form(request, _match, status=403)
        refused = ui.sessions.forged(request, None)
        if refused is not None:
            return text(refused, 403)
        name = request.field("name").strip()[:LOGIN_NAME_MAX]
        password = request.field("password")
        if not name or not password:
            return form(
                request, _match, status=400, login_name=name, error="Give your name and password."
            )
        found = ui.sessions.login(name, password, request.client)
        if isinstance(found, Throttled):
            answer = form(
                request,
                _match,
                status=429,
                login_name=name,
                error=f"Too many failed logins: try again in {found.retry_after} seconds.",
            )
            return Response(
                answer.status,
                answer.body,
                answer.content_type,
                headers={"Retry-After": str(found.retry_after)},
            )
        if found is None:
            return form(
                request, _match, status=401, login_name=name, error="Wrong name or password."
            )
        lifetime = ui.sessions.lifetime()
        return redirect(_next(request), cookies=(cookie(found, lifetime, request),))

    def log_out(request: Request, _match: re.Match[str]) -> Response:
        viewer = ui.sessions.viewer(request)
        if viewer is None or viewer.bearer:
            return redirect("/login", cookies=(cleared(request),))
        refused = ui.sessions.forged(request, viewer)
        if refused is not None:
            return text(refused, 403)
        ui.sessions.logout(viewer)
        return redirect("/login", cookies=(cleared(request),))

    return (
        route("GET", r"/login", form),
        route("POST", r"/login", log_in),
        route("POST", r"/logout", log_out),
    )
