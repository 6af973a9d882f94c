"""``POST /api/changes`` on the daemon's endpoint: change events from CI pipelines.

A pipeline posts one JSON object (``service``, ``kind``, ``ref``, optional ``by`` and
``at``) with ``Authorization: Bearer TOKEN``, the token the configuration's ``changes_api``
names by variable or file. The token is compared in constant time and never logged. The body
must say its length, is at most :data:`MAX_BODY_BYTES` and is read within
:data:`READ_SECONDS` however slowly it trickles. Answers are JSON: 201 with the change
recorded; 400 with one line per problem; 401 without a valid token; 404 when the
configuration names no token (the endpoint is off); 408, 411, 413 and 415 for a body too
slow, without a length, too big, or not JSON.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sloctl.core.changes import Change, validate_change
from sloctl.errors import BodyError
from sloctl.runtime.http_server import QuietHandler, read_body
from sloctl.store.database import open_store

PATH = "/api/changes"
MAX_BODY_BYTES = 16 * 1024
READ_SECONDS = 5.0
"""The whole body must arrive within this (a trickling client is cut off)."""


class _RefusedError(Exception):
    def __init__(self, status: int, errors: Sequence[str]) -> None:
        super().__init__(status)
        self.status, self.errors = status, list(errors)


@dataclass(frozen=True)
class ChangesEndpoint:
    """What one request needs: the token (None: endpoint off), where to keep changes, the
    services known now, a logger and a clock."""

    token: str | None
    store_path: Path
    services: Sequence[str]
    logger: Any
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)

    def handle(self, handler: QuietHandler) -> None:
        try:
            change = self._accept(handler)
        except _RefusedError as refused:
            self.logger.warning("change_refused", status=refused.status, errors=refused.errors)
            headers = {"WWW-Authenticate": "Bearer"} if refused.status == 401 else {}
            _answer(handler, refused.status, {"errors": refused.errors}, headers)
            return
        self.logger.info(
            "change_recorded", service=change.service, kind=change.kind, ref=change.ref
        )
        _answer(handler, 201, {"recorded": change.document()})

    def _accept(self, handler: QuietHandler) -> Change:
        if self.token is None:
            raise _RefusedError(404, ["no changes_api token is configured: the endpoint is off"])
        if not _authorised(handler.headers.get("Authorization", ""), self.token):
            raise _RefusedError(401, ["a valid bearer token is required"])
        kind = handler.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if kind != "application/json":
            raise _RefusedError(415, ["the body must be application/json"])
        length_text = handler.headers.get("Content-Length")
        if length_text is None or not length_text.strip().isdigit():
            raise _RefusedError(411, ["Content-Length is required"])
        length = int(length_text)
        if length > MAX_BODY_BYTES:
            raise _RefusedError(413, [f"the body must be at most {MAX_BODY_BYTES} bytes"])
        try:
            body = read_body(handler, length, READ_SECONDS)
        except BodyError as exc:
            raise _RefusedError(exc.status, [exc.reason]) from exc
        try:
            fields = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise _RefusedError(400, [f"the body is not JSON ({exc})"]) from exc
        if not isinstance(fields, dict):
            raise _RefusedError(400, ["the body must be a JSON object"])
        now = self.clock()
        found = validate_change(fields, now=now, services=self.services)
        if isinstance(found, list):
            raise _RefusedError(400, [str(problem) for problem in found])
        store = open_store(self.store_path, check=False)
        try:
            store.record_change(found, recorded_at=now, source="api")
        finally:
            store.close()
        return found


def _authorised(header: str, token: str) -> bool:
    scheme, _, given = header.partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(given.strip().encode("utf-8"), token.encode("utf-8"))


def _answer(
    handler: QuietHandler, status: int, document: object, headers: dict[str, str] | None = None
) -> None:
    body = (json.dumps(document, sort_keys=True) + "\n").encode("utf-8")
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(body)))
    for name, value in (headers or {}).items():
        handler.send_header(name, value)
    if status >= 400:
        handler.send_header("Connection", "close")  # the unread rest of the body is dropped
        handler.close_connection = True
    handler.end_headers()
    handler.wfile.write(body)
