"""One HTTP request as the web pages see it: parsed once, bounded, with nothing left to read.

A form body must say its length, is at most :data:`MAX_FORM_BYTES` and must arrive within
:data:`READ_SECONDS`; anything else is a :class:`RequestRefusedError` with the status to answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from http.cookies import CookieError, SimpleCookie
from urllib.parse import parse_qs, urlsplit

from sloctl.errors import BodyError, RequestRefusedError
from sloctl.runtime.http_server import QuietHandler, read_body

MAX_FORM_BYTES = 16 * 1024
MAX_FIELDS = 100
"""Query parameters, and form fields, one request may carry."""
READ_SECONDS = 5.0


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: Mapping[str, list[str]] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    """Header names in lower case."""
    cookies: Mapping[str, str] = field(default_factory=dict)
    form: Mapping[str, list[str]] = field(default_factory=dict)
    client: str = ""
    """The peer's address (for rate limits)."""

    def arg(self, name: str, default: str = "") -> str:
        """The first value of query parameter ``name``."""
        values = self.query.get(name)
        return values[0] if values else default

    def field(self, name: str, default: str = "") -> str:
        """The first value of form field ``name``."""
        values = self.form.get(name)
        return values[0] if values else default

    def fields(self, name: str) -> list[str]:
        """Every non-empty value of form field ``name``."""
        return [value for value in self.form.get(name, []) if value.strip()]


def parse_request(handler: QuietHandler, *, read_form: bool) -> Request:
    """The request ``handler`` holds; a POST's url-encoded form is read when ``read_form``."""
    target = urlsplit(handler.path)
    headers = {name.lower(): value for name, value in handler.headers.items()}
    cookies: dict[str, str] = {}
    try:
        jar = SimpleCookie(headers.get("cookie", ""))
    except CookieError:
        jar = SimpleCookie()
    for name, morsel in jar.items():
        cookies[name] = morsel.value
    form: dict[str, list[str]] = {}
    if read_form and handler.command == "POST":
        form = _form(handler, headers)
    return Request(
        method=handler.command,
        path=target.path or "/",
        query=_fields(target.query, keep_blank_values=False),
        headers=headers,
        cookies=cookies,
        form=form,
        client=str(handler.client_address[0]),
    )


def _form(handler: QuietHandler, headers: Mapping[str, str]) -> dict[str, list[str]]:
    kind = headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/x-www-form-urlencoded":
        raise RequestRefusedError(415, "the body must be a url-encoded form")
    length_text = headers.get("content-length", "")
    if not length_text.strip().isdigit():
        raise RequestRefusedError(411, "Content-Length is required")
    length = int(length_text)
    if length > MAX_FORM_BYTES:
        raise RequestRefusedError(413, f"the form must be at most {MAX_FORM_BYTES} bytes")
    try:
        body = read_body(handler, length, READ_SECONDS)
    except BodyError as exc:
        raise RequestRefusedError(exc.status, exc.reason) from exc
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RequestRefusedError(400, "the form is not UTF-8") from exc
    return _fields(text, keep_blank_values=True)


def _fields(text: str, *, keep_blank_values: bool) -> dict[str, list[str]]:
    try:
        return parse_qs(text, keep_blank_values=keep_blank_values, max_num_fields=MAX_FIELDS)
    except ValueError as exc:  # more fields than that
        raise RequestRefusedError(400, f"at most {MAX_FIELDS} fields are taken") from exc
