"""The standard-library transport on loopback: deadlines polled without a thread, kept-alive
connections and their reuse, TLS verification, and HTTP proxies (absolute form and CONNECT).

The servers here are real sockets scripted per connection, so each misbehaves exactly as a
peer can: trickling the status line, holding the body, closing a kept-alive connection."""

from __future__ import annotations

import base64
import contextlib
import http.server
import json
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from sloctl.errors import (
    ConnectError,
    ConnectionLostError,
    DeadlinePassedError,
    RequestNotSentError,
    StoppingError,
    TLSHandshakeError,
)
from sloctl.prometheus.transport import (
    POLL_SECONDS,
    Deadline,
    Proxies,
    Target,
    Transport,
    bypassed,
)
from tests.certificates import self_signed
from tests.fake_prometheus import fake_prometheus

ANSWER = b'{"status":"success"}'
AT = datetime(2026, 11, 2, tzinfo=UTC)


def deadline(seconds: float, cancelled: Callable[[], bool] = lambda: False) -> Deadline:
    return Deadline(time.monotonic() + seconds, time.monotonic, cancelled)


def head(status: str = "200 OK", length: int = len(ANSWER), extra: str = "") -> bytes:
    return f"HTTP/1.1 {status}\r\nContent-Length: {length}\r\n{extra}\r\n".encode()


def read_request(conn: socket.socket, buffered: bytearray) -> bytes | None:
    """One whole request from ``conn`` (None when the client hung up)."""
    while b"\r\n\r\n" not in buffered:
        got = conn.recv(65536)
        if not got:
            return None
        buffered += got
    end = buffered.index(b"\r\n\r\n") + 4
    header = bytes(buffered[:end])
    length = 0
    for line in header.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    while len(buffered) < end + length:
        buffered += conn.recv(65536)
    request = bytes(buffered[: end + length])
    del buffered[: end + length]
    return request


class Scripted:
    """A loopback server calling ``serve(conn, index)`` for each connection, in a thread."""

    def __init__(self, serve: Callable[[socket.socket, int], None]) -> None:
        self.serve = serve
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.connections = 0
        self.requests: list[bytes] = []
        self.done = threading.Event()
        self._open: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self._open.append(conn)
            index, self.connections = self.connections, self.connections + 1
            threading.Thread(target=self._run, args=(conn, index), daemon=True).start()

    def _run(self, conn: socket.socket, index: int) -> None:
        try:
            self.serve(conn, index)
        except OSError:
            pass  # the client gave up: what a misbehaving server is for
        finally:
            conn.close()

    def answer_all(self, conn: socket.socket, reply: bytes) -> None:
        """Answer every request of ``conn`` with ``reply``, keeping it alive."""
        buffered = bytearray()
        while (request := read_request(conn, buffered)) is not None:
            self.requests.append(request)
            conn.sendall(reply)

    def close(self) -> None:
        self.done.set()
        self.listener.close()
        for conn in self._open:
            conn.close()


@pytest.fixture
def scripted() -> Iterator[Callable[[Callable[[socket.socket, int], None]], Scripted]]:
    made: list[Scripted] = []

    def make(serve: Callable[[socket.socket, int], None]) -> Scripted:
        made.append(Scripted(serve))
        return made[-1]

    yield make
    for server in made:
        server.close()


def post(transport: Transport, url: str, limit: Deadline | None = None) -> tuple[int, bytes]:
    with transport.post(f"{url}/api/v1/query", b"query=up", {}, deadline=limit or deadline(5)) as r:
        body = b""
        while chunk := r.read1(65536):
            body += chunk
        return r.status, body


@pytest.mark.parametrize(
    ("now", "cancelled", "expected"),
    [
        (0.0, False, POLL_SECONDS),
        (9.95, False, pytest.approx(0.05)),
        (10.0, False, DeadlinePassedError),
        (11.0, False, DeadlinePassedError),
        (0.0, True, StoppingError),
        (11.0, True, StoppingError),  # stopping says more than late
    ],
)
def test_each_wait_is_a_poll_at_most_and_never_past_the_deadline(
    now: float, cancelled: bool, expected: object
) -> None:
    bound = Deadline(10.0, lambda: now, lambda: cancelled)
    if isinstance(expected, type):
        with pytest.raises(expected):
            bound.wait(POLL_SECONDS)
    else:
        assert bound.wait(POLL_SECONDS) == expected


@pytest.mark.parametrize(
    ("url", "authority", "address", "path"),
    [
        ("http://u:p@Prom.Example:9090/api", "prom.example:9090", "prom.example:9090", "/api"),
        ("https://prom/x y?a=b c", "prom", "prom:443", "/x%20y?a=b%20c"),
        ("http://[::1]:80", "[::1]", "[::1]:80", "/"),
    ],
)
def test_a_target_leaves_out_credentials_and_default_ports(
    url: str, authority: str, address: str, path: str
) -> None:
    target = Target.of(url)
    assert (target.authority, target.address, target.path) == (authority, address, path)


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("ftp://prom/", "URL scheme 'ftp' is not supported"),
        ("http:///api", "the URL has no host"),
        ("http://prom:99999/", "the URL is not valid"),
    ],
)
def test_a_url_that_cannot_be_requested_is_refused_at_once(url: str, problem: str) -> None:
    with pytest.raises(RequestNotSentError, match=problem):
        Transport().post(url, b"", {}, deadline=deadline(5))


def test_proxies_are_read_as_curl_and_requests_read_them() -> None:
    env = {
        "HTTP_PROXY": "http://upper:3128",
        "https_proxy": "",  # set but empty: off, whatever HTTPS_PROXY says
        "HTTPS_PROXY": "http://upper-tls:3128",
        "ALL_PROXY": "http://every:3128",
        "NO_PROXY": " .internal, ,10.0.0.0/8 ",
    }
    found = Proxies.from_environment(env)
    assert found == Proxies("http://upper:3128", "http://every:3128", (".internal", "10.0.0.0/8"))
    assert Proxies.from_environment({**env, "http_proxy": "http://lower:3128"}).http == (
        "http://lower:3128"
    )
    assert Proxies.from_environment({"HTTP_PROXY": "http://x:1", "REQUEST_METHOD": "GET"}) == (
        Proxies()
    )


@pytest.mark.parametrize(
    ("host", "port", "entries", "direct"),
    [
        ("prom.internal", 9090, ("*",), True),
        ("prom.internal", 9090, ("internal",), True),
        ("prom.internal", 9090, (".internal",), True),
        ("internal", 9090, (".internal",), True),
        ("notinternal", 9090, ("internal",), False),
        ("prom.internal", 9090, ("prom.internal:9090",), True),
        ("prom.internal", 9091, ("prom.internal:9090",), False),
        ("10.1.2.3", 9090, ("10.0.0.0/8",), True),
        ("11.1.2.3", 9090, ("10.0.0.0/8",), False),
        ("prom", 9090, ("10.0.0.0/8",), False),
        ("::1", 9090, ("[::1]:9090",), True),
        ("::1", 9090, ("::1",), True),
        ("prom.other", 9090, ("internal", "example.com"), False),
    ],
)
def test_no_proxy_entries(host: str, port: int, entries: tuple[str, ...], direct: bool) -> None:
    assert bypassed(host, port, entries) is direct


def test_kept_alive_connections_are_reused(scripted: Callable[..., Scripted]) -> None:
    server: Scripted = scripted(lambda conn, _: server.answer_all(conn, head() + ANSWER))
    transport = Transport()
    for _ in range(3):
        assert post(transport, server.url) == (200, ANSWER)
    assert server.connections == 1
    assert transport.connections_made == 1
    first = server.requests[0].decode()
    assert first.startswith("POST /api/v1/query HTTP/1.1\r\n")
    assert f"Host: {urlsplit(server.url).netloc}\r\n" in first
    assert "Content-Length: 8\r\n" in first


def test_closing_the_transport_closes_its_idle_connections(
    scripted: Callable[..., Scripted],
) -> None:
    server: Scripted = scripted(lambda conn, _: server.answer_all(conn, head() + ANSWER))
    transport = Transport()
    post(transport, server.url)
    transport.close()
    post(transport, server.url)
    assert server.connections == transport.connections_made == 2


def test_chunked_answers_are_read_whole_and_the_connection_reused(
    scripted: Callable[..., Scripted],
) -> None:
    chunked = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
    )
    server: Scripted = scripted(lambda conn, _: server.answer_all(conn, chunked))
    transport = Transport()
    assert post(transport, server.url) == (200, b"hello world")
    assert post(transport, server.url) == (200, b"hello world")
    assert server.connections == 1


def test_an_answer_not_read_whole_closes_its_connection(scripted: Callable[..., Scripted]) -> None:
    server: Scripted = scripted(lambda conn, _: server.answer_all(conn, head() + ANSWER))
    transport = Transport()
    with transport.post(server.url, b"", {}, deadline=deadline(5)) as answer:
        assert answer.read1(3) == ANSWER[:3]
    assert post(transport, server.url) == (200, ANSWER)
    assert server.connections == 2


def test_connection_close_is_honoured(scripted: Callable[..., Scripted]) -> None:
    server: Scripted = scripted(
        lambda conn, _: server.answer_all(conn, head(extra="Connection: close\r\n") + ANSWER)
    )
    transport = Transport()
    post(transport, server.url)
    post(transport, server.url)
    assert server.connections == 2


@pytest.mark.parametrize(
    ("version", "extra", "connections"),
    [
        ("HTTP/1.0", "", 2),
        ("HTTP/1.0", "Connection: keep-alive\r\n", 1),
        ("HTTP/1.1", "", 1),
    ],
)
def test_http_1_0_keeps_the_connection_only_when_it_says_keep_alive(
    scripted: Callable[..., Scripted], version: str, extra: str, connections: int
) -> None:
    reply = head(extra=extra).replace(b"HTTP/1.1", version.encode(), 1) + ANSWER
    server: Scripted = scripted(lambda conn, _: server.answer_all(conn, reply))
    transport = Transport()
    assert post(transport, server.url) == (200, ANSWER)
    assert post(transport, server.url) == (200, ANSWER)
    assert server.connections == connections


def test_a_100_continue_is_skipped_and_the_connection_reused(
    scripted: Callable[..., Scripted],
) -> None:
    reply = b"HTTP/1.1 100 Continue\r\n\r\n" + head() + ANSWER
    server: Scripted = scripted(lambda conn, _: server.answer_all(conn, reply))
    transport = Transport()
    assert post(transport, server.url) == (200, ANSWER)
    assert post(transport, server.url) == (200, ANSWER)
    assert server.connections == 1


def test_an_answer_read_to_the_close_is_not_reused(scripted: Callable[..., Scripted]) -> None:
    def serve(conn: socket.socket, _: int) -> None:
        read_request(conn, bytearray())
        conn.sendall(b"HTTP/1.1 200 OK\r\n\r\n" + ANSWER)

    server = scripted(serve)
    transport = Transport()
    assert post(transport, server.url) == (200, ANSWER)
    assert post(transport, server.url) == (200, ANSWER)
    assert server.connections == 2


def test_bytes_past_the_body_keep_the_connection_from_reuse(
    scripted: Callable[..., Scripted],
) -> None:
    server: Scripted = scripted(lambda conn, _: server.answer_all(conn, head() + ANSWER + b"XX"))
    transport = Transport()
    assert post(transport, server.url) == (200, ANSWER)
    assert post(transport, server.url) == (200, ANSWER)
    assert server.connections == 2


@pytest.mark.parametrize(
    ("reply", "why"),
    [
        (b"SSH-2.0-OpenSSH_9.6\r\n", "BadStatusLine"),
        (b"HTTP/1.1 200 OK\r\nX: " + b"v" * 70000, "LineTooLong"),
    ],
)
def test_an_answer_that_is_not_http_is_a_lost_connection(
    scripted: Callable[..., Scripted], reply: bytes, why: str
) -> None:
    def serve(conn: socket.socket, _: int) -> None:
        read_request(conn, bytearray())
        conn.sendall(reply)

    server = scripted(serve)
    with pytest.raises(ConnectionLostError, match=why):
        post(Transport(), server.url)


def test_a_reused_connection_the_server_closed_is_replaced_transparently(
    scripted: Callable[..., Scripted],
) -> None:
    """The first connection answers once, then takes the next request and hangs up without a
    word (as a server closing an idle connection just as a request arrives): that request is
    sent again on a new connection, and nobody sees a failure."""

    def serve(conn: socket.socket, index: int) -> None:
        buffered = bytearray()
        while (request := read_request(conn, buffered)) is not None:
            server.requests.append(request)
            if index == 0 and len(server.requests) == 2:
                return  # closed, nothing answered
            conn.sendall(head() + ANSWER)

    server: Scripted = scripted(serve)
    transport = Transport()
    assert post(transport, server.url) == (200, ANSWER)
    assert post(transport, server.url) == (200, ANSWER)
    assert server.connections == 2
    assert len(server.requests) == 3  # the request lost with the closed connection, again


def test_an_idle_connection_closed_meanwhile_is_not_used(scripted: Callable[..., Scripted]) -> None:
    closed = threading.Event()

    def serve(conn: socket.socket, index: int) -> None:
        read_request(conn, bytearray())
        conn.sendall(head() + ANSWER)  # keep-alive promised, then closed at once
        conn.close()
        closed.set()

    server: Scripted = scripted(serve)
    transport = Transport()
    assert post(transport, server.url) == (200, ANSWER)
    assert closed.wait(5)
    assert post(transport, server.url) == (200, ANSWER)
    assert server.connections == 2


def test_a_new_connection_closed_without_an_answer_is_a_lost_connection(
    scripted: Callable[..., Scripted],
) -> None:
    server = scripted(lambda conn, _: read_request(conn, bytearray()))
    with pytest.raises(ConnectionLostError, match="closed before the answer"):
        post(Transport(), server.url)
    assert server.connections == 1  # not sent again: only a reused connection is


def test_a_body_shorter_than_its_length_is_a_lost_connection(
    scripted: Callable[..., Scripted],
) -> None:
    def serve(conn: socket.socket, _: int) -> None:
        read_request(conn, bytearray())
        conn.sendall(head(length=100) + ANSWER)

    server = scripted(serve)
    with pytest.raises(ConnectionLostError, match="ended early"):
        post(Transport(), server.url)


@pytest.mark.parametrize("fault", ["status_line", "headers", "hung_body", "trickled_body"])
def test_a_trickled_or_held_answer_ends_at_the_deadline_without_a_thread(
    scripted: Callable[..., Scripted], fault: str
) -> None:
    seen: list[set[threading.Thread]] = []

    def others() -> set[threading.Thread]:
        return set(threading.enumerate()) - {threading.current_thread()}

    def serve(conn: socket.socket, _: int) -> None:
        read_request(conn, bytearray())
        seen.append(others())
        whole = head(length=1000) + b"x" * 1000
        if fault == "headers":
            conn.sendall(whole[:17])  # the status line
            whole = whole[17:]
        elif fault in ("hung_body", "trickled_body"):
            conn.sendall(whole[:-1000])
            whole = whole[-1000:]
        if fault == "hung_body":
            server.done.wait()
            return
        for index in range(len(whole)):
            if server.done.wait(0.05):
                return
            conn.sendall(whole[index : index + 1])
            seen.append(others())

    server: Scripted = scripted(serve)
    before = set(threading.enumerate())
    started = time.monotonic()
    with pytest.raises(DeadlinePassedError):
        post(Transport(), server.url, deadline(0.6))
    elapsed = time.monotonic() - started
    assert 0.6 <= elapsed < 0.6 + 1.0, elapsed
    assert seen
    assert all(alive <= before for alive in seen)  # no thread beside the request, ever


def test_stopping_cuts_a_waiting_request_short(scripted: Callable[..., Scripted]) -> None:
    server: Scripted = scripted(lambda conn, _: server.done.wait())
    stop = threading.Event()
    timer = threading.Timer(0.3, stop.set)
    timer.start()
    started = time.monotonic()
    with pytest.raises(StoppingError):
        post(Transport(), server.url, deadline(30, stop.is_set))
    timer.join()
    assert time.monotonic() - started < 0.3 + POLL_SECONDS + 0.5


def test_a_refused_connection_cannot_connect() -> None:
    closed = socket.create_server(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    with pytest.raises(ConnectError, match="Connection refused"):
        post(Transport(), f"http://127.0.0.1:{port}")


def test_an_unknown_host_cannot_connect() -> None:
    with pytest.raises(ConnectError):
        post(Transport(), "http://no-such-host.invalid")


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, and its key."""
    return self_signed(tmp_path_factory.mktemp("tls"))


class Answering(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        asked = self.rfile.read(length).decode()
        body = json.dumps({"path": self.path, "form": asked, "host": self.headers["Host"]})
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def https(certificate: tuple[Path, Path]) -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Answering)
    server.daemon_threads = True
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    yield f"https://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def plain() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Answering)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_tls_is_verified_against_the_ca_file_of_the_request(
    https: str, certificate: tuple[Path, Path]
) -> None:
    cert = str(certificate[0])
    transport = Transport(ca_bundle="/etc/ssl/certs/ca-certificates.crt")
    with transport.post(https, b"a=1", {}, deadline=deadline(5), ca_file=cert) as answer:
        assert answer.status == 200
    with pytest.raises(TLSHandshakeError, match="certificate verify failed"):
        transport.post(https, b"a=1", {}, deadline=deadline(5))  # the bundle lacks the test CA


def test_a_tls_connection_is_kept_alive_and_reused(
    https: str, certificate: tuple[Path, Path]
) -> None:
    transport = Transport(ca_bundle=str(certificate[0]))
    for _ in range(3):
        status, body = post(transport, https)
        assert status == 200
        assert json.loads(body)["form"] == "query=up"
    assert transport.connections_made == 1


def test_without_a_ca_file_the_bundle_is_trusted(
    https: str, certificate: tuple[Path, Path]
) -> None:
    transport = Transport(ca_bundle=str(certificate[0]))
    with transport.post(https, b"", {}, deadline=deadline(5)) as answer:
        assert answer.status == 200


def test_the_host_name_is_checked(https: str, certificate: tuple[Path, Path]) -> None:
    as_localhost = https.replace("127.0.0.1", "localhost")
    with pytest.raises(TLSHandshakeError, match="certificate verify failed"):
        Transport().post(as_localhost, b"", {}, deadline=deadline(5), ca_file=str(certificate[0]))


def test_a_missing_ca_file_is_a_tls_failure(https: str, tmp_path: Path) -> None:
    with pytest.raises(TLSHandshakeError, match="CA file not readable"):
        Transport().post(https, b"", {}, deadline=deadline(5), ca_file=str(tmp_path / "none"))


class ForwardingProxy:
    """A tiny HTTP proxy on loopback: absolute-form requests are forwarded in origin form,
    ``CONNECT`` opens a tunnel. Records each request line and its Proxy-Authorization."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str | None]] = []
        self._server = Scripted(lambda conn, _: self._serve(conn))
        self.url = self._server.url

    def _serve(self, conn: socket.socket) -> None:
        buffered = bytearray()
        request = read_request(conn, buffered)
        if request is None:
            return
        line, _, rest = request.partition(b"\r\n")
        method, target, version = line.decode().split(" ")
        authorization = None
        for header in rest.decode().split("\r\n"):
            if header.lower().startswith("proxy-authorization:"):
                authorization = header.split(":", 1)[1].strip()
        self.seen.append((line.decode(), authorization))
        if method == "CONNECT":
            host, _, port = target.rpartition(":")
            upstream = socket.create_connection((host, int(port)))
            conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            upstream.sendall(buffered)
        else:
            parts = urlsplit(target)
            upstream = socket.create_connection((parts.hostname, parts.port or 80))
            kept = [h for h in rest.split(b"\r\n") if not h.lower().startswith(b"proxy-")]
            upstream.sendall(
                f"{method} {parts.path} {version}\r\n".encode() + b"\r\n".join(kept) + buffered
            )
        threading.Thread(target=self._pipe, args=(conn, upstream), daemon=True).start()
        self._pipe(upstream, conn)

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self._server.close()


@pytest.fixture
def proxy() -> Iterator[ForwardingProxy]:
    running = ForwardingProxy()
    yield running
    running.close()


def test_an_http_url_goes_through_the_proxy_in_absolute_form(
    plain: str, proxy: ForwardingProxy
) -> None:
    with_credentials = proxy.url.replace("://", "://pu:p%40ss@")
    transport = Transport(Proxies.from_environment({"http_proxy": with_credentials}))
    with transport.post(f"{plain}/api/v1/query", b"query=up", {}, deadline=deadline(5)) as r:
        answer = json.loads(r.read1(65536))
    assert proxy.seen == [
        (f"POST {plain}/api/v1/query HTTP/1.1", "Basic " + base64.b64encode(b"pu:p@ss").decode())
    ]
    assert answer == {"path": "/api/v1/query", "form": "query=up", "host": urlsplit(plain).netloc}


def test_an_https_url_goes_through_a_connect_tunnel(
    https: str, proxy: ForwardingProxy, certificate: tuple[Path, Path]
) -> None:
    transport = Transport(Proxies.from_environment({"HTTPS_PROXY": proxy.url}))
    with transport.post(
        f"{https}/api/v1/query", b"q=1", {}, deadline=deadline(5), ca_file=str(certificate[0])
    ) as r:
        answer = json.loads(r.read1(65536))
    assert proxy.seen == [(f"CONNECT {urlsplit(https).netloc} HTTP/1.1", None)]
    assert answer["path"] == "/api/v1/query"  # in origin form, inside the tunnel


@pytest.mark.parametrize("no_proxy", ["*", "127.0.0.1", "127.0.0.0/8", "PORT"])
def test_no_proxy_goes_direct(plain: str, proxy: ForwardingProxy, no_proxy: str) -> None:
    entry = urlsplit(plain).netloc if no_proxy == "PORT" else no_proxy
    env = {"http_proxy": proxy.url, "no_proxy": f"example.com,{entry}"}
    with Transport.from_environment(env).post(plain, b"", {}, deadline=deadline(5)) as r:
        assert r.status == 200
    assert proxy.seen == []


def test_an_unsupported_proxy_scheme_is_refused(plain: str) -> None:
    transport = Transport(Proxies.from_environment({"http_proxy": "socks5://127.0.0.1:1080"}))
    with pytest.raises(RequestNotSentError, match="proxy scheme 'socks5' is not supported"):
        transport.post(plain, b"", {}, deadline=deadline(5))


def test_a_header_with_a_line_break_is_never_sent(plain: str) -> None:
    with pytest.raises(RequestNotSentError, match="Authorization header"):
        Transport().post(plain, b"", {"Authorization": "Bearer a\r\nX: y"}, deadline=deadline(5))


def test_a_reader_goes_through_the_proxy_the_environment_named_when_it_was_made(
    proxy: ForwardingProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("no_proxy", "NO_PROXY", "HTTP_PROXY", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    with fake_prometheus() as server:
        monkeypatch.setenv("http_proxy", proxy.url)
        client = server.reader()
        monkeypatch.delenv("http_proxy")  # read once, when the reader was made
        assert client.instant("up", AT) == []
        assert server.received[0].path == "/api/v1/query"
    assert proxy.seen == [(f"POST {server.url}/api/v1/query HTTP/1.1", None)]
