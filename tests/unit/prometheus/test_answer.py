"""The answer reader on a real socket pair: status lines, interim answers, headers and their
limits, the three ways a body is framed, and when the connection may carry another request.

Each test writes the peer's bytes into one end of a socket pair and reads them through the
transport's :class:`Connection` (so every read is bounded by a deadline), with no sleep."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import pytest

from sloctl.errors import ConnectionLostError
from sloctl.prometheus.answer import MAX_HEAD, MAX_HEADERS, Answer
from sloctl.prometheus.transport import Connection, Deadline


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, Connection]]:
    """The peer's end, and the connection an answer is read from."""
    ours, theirs = socket.socketpair()
    connection = Connection(ours, Deadline(time.monotonic() + 10), 0.1)
    yield theirs, connection
    ours.close()
    theirs.close()


def sent(pair: tuple[socket.socket, Connection], data: bytes, *, close: bool = True) -> Connection:
    """The connection after the peer sent ``data`` (and closed its side when ``close``)."""
    peer, connection = pair
    peer.sendall(data)
    if close:
        peer.shutdown(socket.SHUT_WR)
    return connection


def body(answer: Answer, size: int = 7) -> bytes:
    """The whole body, read ``size`` bytes at a time at most."""
    parts = []
    while chunk := answer.read1(size):
        assert len(chunk) <= size
        parts.append(chunk)
    return b"".join(parts)


def test_a_content_length_body_is_read_whole_and_the_connection_kept(
    pair: tuple[socket.socket, Connection],
) -> None:
    connection = sent(
        pair, b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\nhello world", close=False
    )
    answer = Answer(connection, "POST")
    assert (answer.version, answer.status) == ("HTTP/1.1", 200)
    assert body(answer, 4) == b"hello world"
    assert answer.ended
    assert not answer.will_close
    assert not answer.leftover


def test_a_body_ending_before_its_content_length_ended_early(
    pair: tuple[socket.socket, Connection],
) -> None:
    answer = Answer(sent(pair, b"HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\nshort"), "POST")
    assert answer.read1(100) == b"short"
    with pytest.raises(ConnectionLostError, match="the answer ended early"):
        answer.read1(100)
    assert not answer.ended


def test_a_chunked_body_ignores_extensions_and_drops_trailers(
    pair: tuple[socket.socket, Connection],
) -> None:
    data = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5;name=value\r\nhello\r\n"
        b"6 ; other\r\n world\r\n"
        b"0;last\r\nExpires: never\r\nX-Trailer: dropped\r\n\r\n"
    )
    answer = Answer(sent(pair, data, close=False), "POST")
    assert answer.chunked
    assert answer.length is None
    assert body(answer, 3) == b"hello world"
    assert answer.ended
    assert not answer.will_close
    assert not answer.leftover
    assert answer.header("X-Trailer") is None  # trailers are not headers


@pytest.mark.parametrize(
    ("chunks", "why"),
    [
        (b"zz\r\nhello\r\n0\r\n\r\n", "bad chunk size"),
        (b"-5\r\nhello\r\n0\r\n\r\n", "bad chunk size"),
        (b"5\r\nhelloXX0\r\n\r\n", "bad chunk end"),
        (b"A" * 5000 + b"\r\n", "LineTooLong"),
        (b"5\r\nhel", "the answer ended early"),
    ],
)
def test_a_broken_chunked_body_is_a_lost_connection(
    pair: tuple[socket.socket, Connection], chunks: bytes, why: str
) -> None:
    head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    answer = Answer(sent(pair, head + chunks), "POST")
    with pytest.raises(ConnectionLostError, match=why):
        body(answer, 100)


def test_neither_length_nor_chunked_reads_to_the_close_and_closes(
    pair: tuple[socket.socket, Connection],
) -> None:
    answer = Answer(sent(pair, b"HTTP/1.1 200 OK\r\nServer: x\r\n\r\nall of it"), "POST")
    assert answer.will_close
    assert body(answer) == b"all of it"
    assert answer.ended


def test_interim_answers_are_skipped(pair: tuple[socket.socket, Connection]) -> None:
    data = (
        b"HTTP/1.1 100 Continue\r\n\r\n"
        b"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"
        b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\nRetry-After: 1\r\n\r\nbusy"
    )
    answer = Answer(sent(pair, data), "POST")
    assert answer.status == 503
    assert answer.header("link") is None
    assert answer.header("retry-after") == "1"
    assert body(answer) == b"busy"


@pytest.mark.parametrize(
    ("status", "method"),
    [("204 No Content", "POST"), ("304 Not Modified", "POST"), ("200 OK", "HEAD")],
)
def test_answers_without_a_body(
    pair: tuple[socket.socket, Connection], status: str, method: str
) -> None:
    data = f"HTTP/1.1 {status}\r\nContent-Length: 50\r\n\r\n".encode()
    answer = Answer(sent(pair, data, close=False), method)
    assert answer.ended
    assert answer.read1(10) == b""
    assert not answer.will_close


def test_header_names_are_case_insensitive_and_repeats_joined(
    pair: tuple[socket.socket, Connection],
) -> None:
    data = (
        b"HTTP/1.1 200 OK\r\ncontent-ENCODING: gzip\r\nVary: a\r\nVARY:b \r\n"
        b"X-Folded: one\r\n\t two\r\nContent-Length: 0\r\n\r\n"
    )
    answer = Answer(sent(pair, data), "POST")
    assert answer.header("Content-Encoding") == "gzip"
    assert answer.header("vary") == "a, b"
    assert answer.header("x-folded") == "one two"
    assert answer.header("missing") is None


@pytest.mark.parametrize(
    ("version", "connection", "closes"),
    [
        ("HTTP/1.1", None, False),
        ("HTTP/1.1", "close", True),
        ("HTTP/1.1", "Keep-Alive, Close", True),
        ("HTTP/1.0", None, True),
        ("HTTP/1.0", "keep-alive", False),
        ("HTTP/1.0", "Keep-Alive", False),
        ("HTTP/1.0", "close", True),
    ],
)
def test_whether_the_connection_is_kept_follows_the_version_and_connection_header(
    pair: tuple[socket.socket, Connection], version: str, connection: str | None, closes: bool
) -> None:
    extra = f"Connection: {connection}\r\n" if connection is not None else ""
    data = f"{version} 200 OK\r\n{extra}Content-Length: 2\r\n\r\nok".encode()
    answer = Answer(sent(pair, data, close=False), "POST")
    assert body(answer) == b"ok"
    assert answer.will_close is closes


def test_bytes_past_the_body_are_left_over(pair: tuple[socket.socket, Connection]) -> None:
    data = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokGARBAGE"
    answer = Answer(sent(pair, data), "POST")
    assert body(answer) == b"ok"
    assert answer.leftover  # the transport will not reuse this connection


@pytest.mark.parametrize(
    "line",
    [b"HTTP/1.1", b"HTTP/2 200 OK", b"ICY 200 OK", b"HTTP/1.1 20 OK", b"HTTP/1.1 abc OK", b"junk"],
)
def test_a_malformed_status_line_is_a_lost_connection(
    pair: tuple[socket.socket, Connection], line: bytes
) -> None:
    with pytest.raises(ConnectionLostError, match="BadStatusLine"):
        Answer(sent(pair, line + b"\r\nContent-Length: 0\r\n\r\n"), "POST")


def test_a_status_line_without_a_reason_is_accepted(pair: tuple[socket.socket, Connection]) -> None:
    answer = Answer(sent(pair, b"HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n"), "POST")
    assert answer.status == 200


@pytest.mark.parametrize(
    "headers",
    [b"no colon here\r\n", b" folded first\r\n", b"Bad Name : x\r\n", b"Content-Length: 1, 2\r\n"],
)
def test_a_malformed_header_is_a_lost_connection(
    pair: tuple[socket.socket, Connection], headers: bytes
) -> None:
    with pytest.raises(ConnectionLostError, match="bad "):
        Answer(sent(pair, b"HTTP/1.1 200 OK\r\n" + headers + b"\r\n"), "POST")


def test_nothing_at_all_is_closed_before_the_answer(pair: tuple[socket.socket, Connection]) -> None:
    with pytest.raises(ConnectionLostError, match="closed before the answer"):
        Answer(sent(pair, b""), "POST")


def test_a_head_cut_short_ended_early(pair: tuple[socket.socket, Connection]) -> None:
    with pytest.raises(ConnectionLostError, match="the answer ended early"):
        Answer(sent(pair, b"HTTP/1.1 200 OK\r\nServer: x"), "POST")


def test_more_than_the_most_headers_is_refused(pair: tuple[socket.socket, Connection]) -> None:
    lines = b"".join(b"X-%d: v\r\n" % n for n in range(MAX_HEADERS + 1))
    with pytest.raises(ConnectionLostError, match=f"more than {MAX_HEADERS} headers"):
        Answer(sent(pair, b"HTTP/1.1 200 OK\r\n" + lines + b"\r\n"), "POST")


@pytest.mark.parametrize("shape", ["long_line", "many_folds", "endless_interims"])
def test_an_endless_head_is_refused_within_its_limit(
    pair: tuple[socket.socket, Connection], shape: str
) -> None:
    """The peer keeps sending for as long as it may: the reader gives up past ``MAX_HEAD``
    bytes instead of holding them all."""
    peer, connection = pair
    first = {
        "long_line": b"HTTP/1.1 200 OK\r\nX-Long: ",
        "many_folds": b"HTTP/1.1 200 OK\r\nX-Folded: v\r\n",
        "endless_interims": b"",
    }[shape]
    piece = {
        "long_line": b"v" * 1024,
        "many_folds": b" more\r\n" * 128,
        "endless_interims": b"HTTP/1.1 100 Continue\r\n\r\n" * 64,
    }[shape]
    sent_bytes = [0]

    def flood() -> None:
        try:
            peer.sendall(first)
            while True:  # until the reader gives up and its end is closed
                peer.sendall(piece)
                sent_bytes[0] += len(piece)
        except OSError:
            pass

    sender = threading.Thread(target=flood, daemon=True)
    sender.start()
    with pytest.raises(ConnectionLostError, match="LineTooLong"):
        Answer(connection, "POST")
    connection.close()
    sender.join(10)
    assert not sender.is_alive()
    # It went to the limit before giving up (the last write may have been cut short).
    assert sent_bytes[0] + 2 * len(piece) + len(first) >= MAX_HEAD


def test_the_prometheus_client_imports_neither_http_client_nor_email_nor_ssl() -> None:
    """What an ``sloctl report`` against plain HTTP does not pay for at start."""
    code = (
        "import sys, sloctl.prometheus.client\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in"
        " ('http', 'email', 'ssl', '_ssl')))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert loaded.stdout.strip() == "[]"
