"""A set of pages behind one address: routes matched on method and path, the answer written
with the security headers, and a page's failure logged and answered 500 (the daemon goes on).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sloctl.errors import RequestRefusedError
from sloctl.runtime.http_server import QuietHandler
from sloctl.runtime.logs import Logger
from sloctl.web.assets import Assets
from sloctl.web.request import Request, parse_request
from sloctl.web.response import Response, send, text

Page = Callable[[Request, re.Match[str]], Response]


@dataclass(frozen=True)
class Route:
    method: str
    """``GET`` (which answers HEAD too) or ``POST``."""
    pattern: re.Pattern[str]
    """Matched against the whole path."""
    page: Page


def route(method: str, pattern: str, page: Page) -> Route:
    return Route(method, re.compile(pattern), page)


@dataclass(frozen=True)
class WebSite:
    """The :class:`~sloctl.runtime.http_server.Site` of some routes and the package's assets."""

    routes: Sequence[Route]
    assets: Assets
    logger: Logger
    name: str = "ui"
    """For the logs: ``ui`` or ``status_page``."""

    def answer(self, handler: QuietHandler) -> bool:
        path = handler.path.split("?", 1)[0]
        method = "GET" if handler.command == "HEAD" else handler.command
        if method == "GET" and (asset := self.assets.answer(path)) is not None:
            send(handler, asset)
            return True
        matched = [(r, m) for r in self.routes if (m := r.pattern.fullmatch(path)) is not None]
        if not matched:
            return False
        chosen = next(((r, m) for r, m in matched if r.method == method), None)
        if chosen is None:
            allowed = ", ".join(sorted({r.method for r, _ in matched}))
            response = text(f"{handler.command} is not allowed here", 405)
            send(handler, Response(405, response.body, response.content_type, {"Allow": allowed}))
            return True
        page_route, match = chosen
        try:
            request = parse_request(handler, read_form=method == "POST")
            response = page_route.page(request, match)
        except RequestRefusedError as refused:
            response = text(refused.reason, refused.status)
        except Exception as exc:  # a page's bug must not take the daemon's thread with it
            self.logger.error(
                "page_failed", site=self.name, path=path, error=f"{type(exc).__name__}: {exc}"
            )
            response = text("sloctl could not render this page (see its log)", 500)
        try:
            send(handler, response)
        except ValueError as exc:  # a header no client may be sent (a line break, say)
            self.logger.error("page_failed", site=self.name, path=path, error=str(exc))
            send(handler, text("sloctl could not answer this request (see its log)", 500))
        return True


def routes_of(*groups: Sequence[Route]) -> tuple[Route, ...]:
    return tuple(r for group in groups for r in group)
