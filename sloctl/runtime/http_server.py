"""The small HTTP servers sloctl runs: its own endpoint, the web UI, the status page, the demo
service and the live demo's webhook receiver. Each answers in one call, logs no access lines
(they would drown the structured logs), and serves from a background thread."""

from __future__ import annotations

import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Protocol

from sloctl.errors import BodyError, ListenError


class QuietHandler(BaseHTTPRequestHandler):
    def reply(self, status: int, body: bytes, kind: str = "text/plain") -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
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
        connection.settimeout(None)
    return b"".join(chunks)


def start_server(
    address: tuple[str, int], handler: type[BaseHTTPRequestHandler]
) -> ThreadingHTTPServer:
    """Listen on ``address`` and serve from a daemon thread; stop with ``shutdown()``."""
    try:
        server = ThreadingHTTPServer(address, handler)
    except (OSError, OverflowError) as exc:
        raise ListenError(*address, getattr(exc, "strerror", None) or str(exc)) from exc
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server
