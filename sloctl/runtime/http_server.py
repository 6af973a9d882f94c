"""The small HTTP servers sloctl runs: its own endpoint, the web UI, the status page, the demo
service and the live demo's webhook receiver. Each answers in one call, logs no access lines
(they would drown the structured logs), and serves from a background thread."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol

from sloctl.errors import BodyError, ListenError

IDLE_SECONDS = 10.0
"""How long a connection may sit without sending (headers, body) or reading before it is
closed: a client that trickles cannot hold a thread for ever."""
MAX_CONNECTIONS = 64
"""Connections served at once by one server; more are closed at once, unanswered."""


class QuietHandler(BaseHTTPRequestHandler):
    timeout = IDLE_SECONDS

    def version_string(self) -> str:
        return "sloctl"  # not the Python version: nothing for a scanner to match

    def reply(
        self,
        status: int,
        body: bytes,
        kind: str = "text/plain",
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return


class Site(Protocol):
    """Pages served beside the daemon's own paths (the web UI, the status page)."""

    def answer(self, handler: QuietHandler) -> bool:
        """Answer the request ``handler`` holds and return True, or return False (and send
        nothing) when the path is not the site's."""
        ...


def read_body(handler: QuietHandler, length: int, within: float) -> bytes:
    """``length`` bytes of the request body, all of them within ``within`` seconds however
    slowly the client trickles them (:class:`BodyError` 408 otherwise)."""
    deadline = time.monotonic() + within
    chunks: list[bytes] = []
    left = length
    connection: socket.socket = handler.connection
    too_slow = f"the body did not arrive within {within:g} s"
    try:
        while left > 0:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise BodyError(408, too_slow)
            connection.settimeout(remaining)
            chunk = handler.rfile.read1(left)
            if not chunk:
                raise BodyError(400, "the body ended before its Content-Length")
            chunks.append(chunk)
            left -= len(chunk)
    except TimeoutError as exc:
        raise BodyError(408, too_slow) from exc
    finally:
        connection.settimeout(handler.timeout)
    return b"".join(chunks)


class BoundedServer(ThreadingHTTPServer):
    """A thread per connection, at most ``max_connections`` of them at once."""

    daemon_threads = True

    def __init__(
        self,
        address: tuple[str, int],
        handler: type[BaseHTTPRequestHandler],
        max_connections: int = MAX_CONNECTIONS,
    ) -> None:
        super().__init__(address, handler)
        self.slots = threading.BoundedSemaphore(max_connections)

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self.slots.acquire(blocking=False):
            self.shutdown_request(request)  # full: closed unanswered, nothing queued
            return
        super().process_request(request, client_address)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.slots.release()


def start_server(
    address: tuple[str, int], handler: type[BaseHTTPRequestHandler]
) -> ThreadingHTTPServer:
    """Listen on ``address`` and serve from a daemon thread; stop with ``shutdown()``."""
    try:
        server = BoundedServer(address, handler)
    except (OSError, OverflowError) as exc:
        raise ListenError(*address, getattr(exc, "strerror", None) or str(exc)) from exc
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server
