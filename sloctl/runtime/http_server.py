"""The small HTTP servers sloctl runs: its own endpoint, the demo service and the live demo's
webhook receiver. Each answers in one call, logs no access lines (they would drown the
structured logs), and serves from a background thread."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from sloctl.errors import ListenError


class QuietHandler(BaseHTTPRequestHandler):
    def reply(self, status: int, body: bytes, kind: str = "text/plain") -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return


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
