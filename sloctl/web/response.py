"""What a page answers, and the headers every answer carries.

Every answer forbids framing (``frame-ancestors 'none'``), sniffing and referrers, and sets a
Content-Security-Policy that admits only the package's own styles, scripts and images: no
inline script runs, so an escaped-too-little string still cannot execute.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from sloctl.runtime.http_server import QuietHandler

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)

SECURITY_HEADERS: Mapping[str, str] = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}

HTML = "text/html; charset=utf-8"


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes
    content_type: str = HTML
    headers: Mapping[str, str] = field(default_factory=dict)
    cookies: tuple[str, ...] = ()
    """``Set-Cookie`` values, each whole."""
    cache: str = "no-store"
    """``Cache-Control``: pages are never cached (they change every cycle, and hold logins)."""


def html(body: str, status: int = 200, cookies: tuple[str, ...] = ()) -> Response:
    return Response(status, body.encode("utf-8"), HTML, cookies=cookies)


def json_response(document: object, status: int = 200, cache: str = "no-store") -> Response:
    text = json.dumps(document, indent=2, sort_keys=True) + "\n"
    return Response(status, text.encode("utf-8"), "application/json", cache=cache)


def site_path(wanted: str, default: str = "/") -> str:
    """``wanted`` if it is a path of this site, else ``default``.

    A path here is ASCII without control characters or backslashes (browsers drop tabs and
    newlines from URLs and read a backslash as ``/``, so ``/`` TAB ``/evil.example`` would
    leave the site), starts with one ``/``, and names no scheme or host.
    """
    if (
        not wanted.startswith("/")
        or not wanted.isascii()
        or any(ord(c) < 0x20 or c in "\\\x7f" for c in wanted)
    ):
        return default
    parts = urlsplit(wanted)
    if parts.scheme or parts.netloc or wanted.startswith("//"):
        return default
    return wanted


def redirect(location: str, cookies: tuple[str, ...] = ()) -> Response:
    """A 303 to ``location``, a path of this site (anything else goes to ``/``)."""
    return Response(
        303, b"", "text/plain", headers={"Location": site_path(location)}, cookies=cookies
    )


def text(body: str, status: int) -> Response:
    return Response(status, (body.rstrip("\n") + "\n").encode("utf-8"), "text/plain; charset=utf-8")


def send(handler: QuietHandler, response: Response) -> None:
    """Write ``response`` with the security headers; a body the client does not want (HEAD)
    is left out."""
    headers = {**SECURITY_HEADERS, **response.headers}
    values = [*headers.values(), *response.cookies, response.content_type, response.cache]
    if any("\r" in value or "\n" in value or not value.isascii() for value in values):
        raise ValueError("a response header holds a line break or a non-ASCII character")
    handler.send_response(response.status)
    handler.send_header("Content-Type", response.content_type)
    handler.send_header("Content-Length", str(len(response.body)))
    handler.send_header("Cache-Control", response.cache)
    for name, value in headers.items():
        handler.send_header(name, value)
    for cookie in response.cookies:
        handler.send_header("Set-Cookie", cookie)
    if response.status >= 400:
        handler.send_header("Connection", "close")  # an unread body is dropped with it
        handler.close_connection = True
    handler.end_headers()
    if handler.command != "HEAD":
        handler.wfile.write(response.body)
