"""sloctl's small HTTP servers: one-call replies, no access log, one clear error for an
address that cannot be listened on."""

from __future__ import annotations

import socket
import threading
import time

import pytest
import requests

from sloctl.errors import ListenError
from sloctl.runtime.http_server import BoundedServer, QuietHandler, start_server


class Hello(QuietHandler):
    def do_GET(self) -> None:
        self.reply(200 if self.path == "/hello" else 404, b"hi\n")


def test_a_reply_has_its_type_and_length(capsys: pytest.CaptureFixture[str]) -> None:
    server = start_server(("127.0.0.1", 0), Hello)
    try:
        answer = requests.get(f"http://127.0.0.1:{server.server_port}/hello", timeout=5)
        missing = requests.get(f"http://127.0.0.1:{server.server_port}/other", timeout=5)
    finally:
        server.shutdown()
        server.server_close()
    assert (answer.status_code, answer.text) == (200, "hi\n")
    assert answer.headers["Content-Type"] == "text/plain"
    assert answer.headers["Content-Length"] == "3"
    assert missing.status_code == 404
    assert capsys.readouterr().err == ""  # no access log lines


def test_a_taken_port_is_a_listen_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ListenError) as caught:
            start_server(("127.0.0.1", port), Hello)
    assert (caught.value.host, caught.value.port) == ("127.0.0.1", port)
    assert str(caught.value) == f"cannot listen on 127.0.0.1:{port} (Address already in use)"


def test_an_impossible_port_is_a_listen_error() -> None:
    with pytest.raises(ListenError, match=r"cannot listen on 127\.0\.0\.1:99999"):
        start_server(("127.0.0.1", 99999), Hello)


class Impatient(Hello):
    timeout = 0.5


def _serve(server: BoundedServer) -> threading.Thread:
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return thread


def test_a_client_that_sends_nothing_is_cut_off_and_the_server_goes_on() -> None:
    server = BoundedServer(("127.0.0.1", 0), Impatient)
    _serve(server)
    try:
        with socket.create_connection(("127.0.0.1", server.server_port), timeout=5) as idle:
            idle.sendall(b"GET /hello HTTP/1.1\r\n")  # and never the rest of the headers
            started = time.monotonic()
            assert idle.recv(100) == b""  # closed by the server, unanswered
            assert time.monotonic() - started < 4
        answer = requests.get(f"http://127.0.0.1:{server.server_port}/hello", timeout=5)
        assert answer.status_code == 200
    finally:
        server.shutdown()
        server.server_close()


def test_connections_beyond_the_limit_are_closed_unanswered() -> None:
    server = BoundedServer(("127.0.0.1", 0), Hello, max_connections=2)
    _serve(server)
    held = [socket.create_connection(("127.0.0.1", server.server_port), timeout=5) for _ in "ab"]
    try:
        time.sleep(0.3)  # both are being served (waiting for their headers)
        with socket.create_connection(("127.0.0.1", server.server_port), timeout=5) as extra:
            extra.sendall(b"GET /hello HTTP/1.0\r\n\r\n")
            assert extra.recv(100) == b""
        for sock in held:
            sock.close()
        time.sleep(0.3)  # their threads end and give their places back
        answer = requests.get(f"http://127.0.0.1:{server.server_port}/hello", timeout=5)
        assert answer.status_code == 200
    finally:
        server.shutdown()
        server.server_close()


def test_head_is_answered_without_a_body_and_the_banner_names_no_python() -> None:
    class Both(Hello):
        do_HEAD = Hello.do_GET

    server = start_server(("127.0.0.1", 0), Both)
    try:
        answer = requests.head(f"http://127.0.0.1:{server.server_port}/hello", timeout=5)
    finally:
        server.shutdown()
        server.server_close()
    assert answer.status_code == 200
    assert answer.headers["Content-Length"] == "3"
    assert answer.content == b""
    assert answer.headers["Server"] == "sloctl"
