"""Webhook receivers on loopback that misbehave on purpose, for delivery tests and benchmarks.

One :class:`FaultReceiver` stands in for Slack, PagerDuty or Alertmanager. What it does with
the next request is its :class:`Answer`, which a test changes at any time:

- answer with a status, headers and a body (``SLACK_OK``, ``PAGERDUTY_OK``,
  ``ALERTMANAGER_OK``, a 429 with ``Retry-After``, a 200 with an error body...), or ``echo``
  the request's path and body back, as a careless server might;
- ``hang``: read the request, then say nothing until released (or closed);
- ``trickle``: send the status line and headers, then the body one byte a second;
  ``trickle_headers``: the status line and headers too;
- :meth:`FaultReceiver.down` closes the listening socket (connections are refused) and
  :meth:`FaultReceiver.up` listens again on the same port.

:meth:`FaultReceiver.play` hands out several answers in turn (the last one repeats). Every
request is recorded, with the time it arrived and its headers, before it is answered (or not).
"""

from __future__ import annotations

import json
import ssl
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from sloctl.core.severity import Severity
from sloctl.incidents.events import Event, EventKind
from sloctl.incidents.lifecycle import State, acknowledge, declare, move
from sloctl.incidents.policy import Cause, Finding
from sloctl.notify.outbox import payload
from sloctl.store.database import Store
from tests.certificates import self_signed


@dataclass(frozen=True)
class Answer:
    status: int = 200
    body: bytes = b"ok"
    headers: Mapping[str, str] = field(default_factory=dict)
    hang: bool = False
    trickle: bool = False
    """Send the status line and headers, then the body one byte a second."""
    trickle_headers: bool = False
    """Send everything, status line first, byte by byte."""
    every: float = 1.0
    """Seconds between two trickled bytes (the first goes at once)."""
    echo: bool = False
    """Answer with ``refused <path>: <body>`` instead of ``body``."""


SLACK_OK = Answer(200, b"ok")
PAGERDUTY_OK = Answer(
    202,
    b'{"status":"success","message":"Event processed","dedup_key":"x"}',
    {"Content-Type": "application/json"},
)
ALERTMANAGER_OK = Answer(200, b"")
HANG = Answer(hang=True)
TRICKLE = Answer(200, b"ok" + b" " * 120, trickle=True)
TRICKLE_HEADERS = Answer(200, b"ok", trickle_headers=True, every=0.3)
"""Faster than a second: each socket read gets a byte before a 1 s read timeout."""


@dataclass(frozen=True)
class Received:
    at: float
    """``time.monotonic()`` when the request had been read."""
    path: str
    body: Any
    headers: Mapping[str, str] = field(default_factory=dict)

    @property
    def text(self) -> str:
        """A Slack message's text; empty for other bodies."""
        return str(self.body.get("text", "")) if isinstance(self.body, dict) else ""


class FaultReceiver:
    def __init__(
        self, answer: Answer = SLACK_OK, port: int = 0, tls: ssl.SSLContext | None = None
    ) -> None:
        self.answer = answer
        self.queued: list[Answer] = []
        """Answers for the next requests, before ``answer`` (see :meth:`play`)."""
        self.tls = tls
        self.received: list[Received] = []
        self.answered = 0
        self.changed = threading.Condition()
        self.release = threading.Event()
        self._server = self._listen(port)
        self.port = self._server.server_port

    def _listen(self, port: int) -> ThreadingHTTPServer:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                raw = self.rfile.read(length)
                with receiver.changed:
                    answer = receiver.queued.pop(0) if receiver.queued else receiver.answer
                    receiver.received.append(
                        Received(
                            time.monotonic(),
                            self.path,
                            json.loads(raw or b"null"),
                            dict(self.headers),
                        )
                    )
                    receiver.changed.notify_all()
                if answer.echo:
                    answer = replace(answer, body=b"refused " + self.path.encode() + b": " + raw)
                try:
                    self._answer(answer)
                except (BrokenPipeError, ConnectionResetError):
                    return  # the client gave up: what several tests are about
                with receiver.changed:
                    receiver.answered += 1
                    receiver.changed.notify_all()

            def _answer(self, answer: Answer) -> None:
                if answer.hang:
                    receiver.release.wait(600)
                    return
                if answer.trickle_headers:
                    head = (
                        f"HTTP/1.1 {answer.status} OK\r\nContent-Length: {len(answer.body)}\r\n\r\n"
                    )
                    self._trickle(head.encode() + answer.body, answer.every)
                    return
                self.send_response(answer.status)
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                if not answer.trickle:
                    self.wfile.write(answer.body)
                    return
                self.wfile.flush()
                self._trickle(answer.body, answer.every)

            def _trickle(self, data: bytes, every: float) -> None:
                release = receiver.release
                for number, byte in enumerate(data):
                    if number and release.wait(every):
                        return
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()

            def log_message(self, format: str, *args: object) -> None:
                return

        server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        server.daemon_threads = True
        if self.tls is not None:
            server.socket = self.tls.wrap_socket(server.socket, server_side=True)
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        return server

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    def set(self, answer: Answer) -> None:
        """Answer the next requests so; requests hanging now are let go (unanswered)."""
        with self.changed:
            self.queued = []
            self.answer = answer
        hanging, self.release = self.release, threading.Event()
        hanging.set()

    def play(self, answers: Sequence[Answer]) -> None:
        """Answer the next requests with ``answers`` in turn, then with the last one."""
        *first, last = answers
        self.set(last)
        with self.changed:
            self.queued = list(first)

    def down(self) -> None:
        """Stop listening: every connection is refused until :meth:`up`."""
        self._server.shutdown()
        self._server.server_close()

    def up(self) -> None:
        self._server = self._listen(self.port)

    def close(self) -> None:
        self.release.set()
        self._server.shutdown()
        self._server.server_close()

    def bodies(self) -> list[Any]:
        with self.changed:
            return [r.body for r in self.received]

    def wait_for(
        self, what: str, check: Callable[[list[Received]], bool], timeout: float
    ) -> list[Received]:
        """Wait until ``check`` holds for the requests received so far; fail after ``timeout``."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while not check(self.received):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"{what}: not within {timeout:g} s; received {len(self.received)}: "
                        f"{[r.body for r in self.received]!r}"[:3000]
                    )
                self.changed.wait(min(left, 0.2))
            return list(self.received)


def tls_server(directory: Path) -> tuple[Path, ssl.SSLContext]:
    """A certificate for 127.0.0.1 signed by itself (its own CA file), and a server context."""
    cert, key = self_signed(directory, "receiver")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return cert, context


@contextmanager
def receiver(answer: Answer = SLACK_OK) -> Iterator[FaultReceiver]:
    started = FaultReceiver(answer)
    try:
        yield started
    finally:
        started.close()


def first_lines(received: list[Received]) -> list[str]:
    """The first line of each Slack text: ``:rotating_light: INCIDENT DECLARED`` and so on."""
    return [r.text.splitlines()[0] for r in received if r.text]


def pagerduty_actions(received: list[Received]) -> list[str]:
    return [str(r.body.get("event_action")) for r in received if isinstance(r.body, dict)]


# --- Queuing messages as sloctl does ----------------------------------------------------------


def lifecycle(
    store: Store,
    sinks: Sequence[str],
    at: datetime,
    *,
    service: str = "api",
    updates: int = 0,
    resolve: bool = True,
    step: timedelta = timedelta(seconds=1),
) -> str:
    """Declare an incident, acknowledge it, move it ``updates`` times between mitigating and
    monitoring (notes ``update 1``, ``update 2``, ...) and resolve it, committing each change
    with its messages for ``sinks`` as the CLI and the daemon do. Returns the incident id."""
    names = sorted(sinks)
    finding = Finding(Cause.OTHER, Severity.P2, f"{service} is broken")
    with store.transaction() as connection:
        incident = declare(store.allocate_id(connection), service, finding, at, manual=True)
        events = [Event(EventKind.DECLARED, incident, at, ("team-lead",))]
        store.save(
            incident,
            connection=connection,
            events=[(n, payload(e)) for e in events for n in names],
            now=at,
        )
    changes: list[tuple[EventKind, State | None, str]] = [(EventKind.ACKNOWLEDGED, None, "on it")]
    changes += [
        (EventKind.UPDATED, State.MITIGATING if n % 2 else State.MONITORING, f"update {n}")
        for n in range(1, updates + 1)
    ]
    if resolve:
        changes.append((EventKind.RESOLVED, State.RESOLVED, "fixed"))
    for number, (kind, to, note) in enumerate(changes, start=1):
        moment = at + number * step
        if to is None:
            incident = acknowledge(incident, moment, actor="alice", note=note)
        else:
            incident = move(incident, to, moment, actor="alice", note=note)
        event = Event(kind, incident, moment, note=note)
        with store.transaction() as connection:
            store.save(
                incident,
                connection=connection,
                events=[(n, payload(event)) for n in names],
                now=moment,
            )
    return incident.id


def kinds_sent(received: list[Received]) -> list[str]:
    """What each Slack message says happened: declared, update, resolved."""
    words = {
        "INCIDENT DECLARED": "declared",
        "INCIDENT ESCALATED": "escalated",
        "INCIDENT UPDATE": "update",
        "INCIDENT RESOLVED": "resolved",
    }
    found = []
    for line in first_lines(received):
        found += [word for heading, word in words.items() if line.endswith(heading)]
    return found
