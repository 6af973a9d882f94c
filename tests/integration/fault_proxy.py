"""A fault-injecting HTTP proxy between sloctl and a real Prometheus, on loopback.

The proxy forwards every request to its upstream unless a :class:`Fault` is set, and then
misbehaves the way real peers do, for every query or only for queries matching a pattern:

- ``status``: answer that status (503, 400, 422, ...) with a Prometheus-style error body;
- ``hang``: read the request and never answer;
- ``trickle``: send the headers of a 200, then one byte of body a second;
- ``trickle_headers``: send the status line and headers of a 200 one byte every 0.3 s (about
  a minute of them), then a small answer;
- ``huge``: send a 200 whose body is ``size`` bytes of a JSON vector, streamed (the proxy
  never holds it in memory);
- ``echo``: answer 401 with the request's headers and path in the body, as some
  authenticating proxies do (so a careless client would log the credentials).

It runs in the test process, serving from threads; the sloctl under test is a real process
(or a real reader) talking HTTP to it. ``requests_seen`` counts the requests it received.
"""

from __future__ import annotations

import json
import re
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from urllib.parse import parse_qs

import requests

CHUNK = 1 << 16
HEADER_BYTE_SECONDS = 0.3
"""The pause before each byte of the status line and headers for ``trickle_headers``."""


@dataclass(frozen=True)
class Fault:
    kind: str
    """One of ``status``, ``hang``, ``trickle``, ``trickle_headers``, ``huge``, ``echo``."""
    pattern: str | None = None
    """Only queries whose PromQL matches this regular expression misbehave; None: every one."""
    status: int = 503
    size: int = 200 * 2**20
    """Body size for ``huge``."""


class FaultProxy:
    """``with FaultProxy(upstream) as proxy: ... proxy.url ... proxy.fault = Fault(...)``."""

    def __init__(self, upstream: str, *, tls: tuple[Path, Path] | None = None) -> None:
        """``tls``: a certificate and key file to serve HTTPS with."""
        self.upstream = upstream.rstrip("/")
        self.scheme = "https" if tls else "http"
        self.fault: Fault | None = None
        self.requests_seen = 0
        self.faults_served = 0
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        if tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> FaultProxy:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stopping.set()
        self._server.shutdown()
        self._server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                self._serve(b"")

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                self._serve(self.rfile.read(length))

            def _serve(self, body: bytes) -> None:
                with proxy._lock:
                    proxy.requests_seen += 1
                fault = proxy.fault
                if fault is None or not self._matches(fault, body):
                    self._forward(body)
                    return
                with proxy._lock:
                    proxy.faults_served += 1
                getattr(self, f"_fault_{fault.kind}")(fault, body)

            def _matches(self, fault: Fault, body: bytes) -> bool:
                if fault.pattern is None:
                    return True
                form = parse_qs(body.decode("utf-8", "replace"))
                query = " ".join(form.get("query", [])) or self.path
                return re.search(fault.pattern, query) is not None

            def _forward(self, body: bytes) -> None:
                try:
                    answer = requests.request(
                        self.command,
                        f"{proxy.upstream}{self.path}",
                        data=body or None,
                        headers={"Content-Type": self.headers.get("Content-Type", "")},
                        timeout=60,
                    )
                except requests.RequestException:
                    self._reply(502, b'{"status":"error","error":"upstream unreachable"}')
                    return
                self._reply(
                    answer.status_code,
                    answer.content,
                    answer.headers.get("Content-Type", "application/json"),
                )

            def _reply(self, status: int, body: bytes, kind: str = "application/json") -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _fault_status(self, fault: Fault, body: bytes) -> None:
                error = {
                    "status": "error",
                    "errorType": "fault",
                    "error": f"injected {fault.status}",
                }
                self._reply(fault.status, json.dumps(error).encode())

            def _fault_hang(self, fault: Fault, body: bytes) -> None:
                proxy.stopping.wait()

            def _fault_trickle(self, fault: Fault, body: bytes) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", "1000000")
                self.end_headers()
                self.wfile.flush()
                for byte in _vector_body(1_000_000):
                    for single in (byte[i : i + 1] for i in range(len(byte))):
                        if proxy.stopping.wait(1.0):
                            return
                        try:
                            self.wfile.write(single)
                            self.wfile.flush()
                        except OSError:
                            return

            def _fault_trickle_headers(self, fault: Fault, body: bytes) -> None:
                answer = json.dumps(
                    {"status": "success", "data": {"resultType": "vector", "result": []}}
                ).encode()
                head = (
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    f"X-Padding: {'.' * 120}\r\nContent-Length: {len(answer)}\r\n\r\n"
                ).encode()
                try:
                    for index in range(len(head)):
                        if proxy.stopping.wait(HEADER_BYTE_SECONDS):
                            return
                        self.wfile.write(head[index : index + 1])
                        self.wfile.flush()
                    self.wfile.write(answer)
                    self.wfile.flush()
                except OSError:
                    return  # the client hung up, as it should

            def _fault_huge(self, fault: Fault, body: bytes) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(fault.size))
                self.end_headers()
                try:
                    for chunk in _vector_body(fault.size):
                        if proxy.stopping.is_set():
                            return
                        self.wfile.write(chunk)
                except OSError:
                    return  # the client hung up, as it should

            def _fault_echo(self, fault: Fault, body: bytes) -> None:
                lines = [f"Authorization: {self.headers.get('Authorization', '')}"]
                lines += [f"{self.command} {self.path}"]
                lines += [f"{name}: {value}" for name, value in self.headers.items()]
                text = "unauthorized; you sent:\n" + "\n".join(lines) + "\n"
                self._reply(401, text.encode(), "text/plain")

            def log_message(self, format: str, *args: object) -> None:
                return

        return Handler


def _vector_body(size: int) -> Iterator[bytes]:
    """Exactly ``size`` bytes of a JSON instant vector with many series, in chunks."""
    head = b'{"status":"success","data":{"resultType":"vector","result":['
    tail = b"]}}"
    item = b'{"metric":{"service":"svc-%09d"},"value":[1,"1"]}'
    yield head
    left = size - len(head) - len(tail)
    number = 0
    buffer = bytearray()
    while left > 0:
        piece = (b"," if number else b"") + item % number
        number += 1
        if len(piece) > left:
            piece = b" " * left  # whitespace pads the answer to its exact size
        buffer += piece
        left -= len(piece)
        if len(buffer) >= CHUNK:
            yield bytes(buffer)
            buffer.clear()
    yield bytes(buffer)
    yield tail
