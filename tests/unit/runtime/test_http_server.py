"""sloctl's small HTTP servers: one-call replies, no access log, one clear error for an
address that cannot be listened on."""

from __future__ import annotations

import socket

import pytest
import requests

from sloctl.errors import ListenError
from sloctl.runtime.http_server import QuietHandler, start_server


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
