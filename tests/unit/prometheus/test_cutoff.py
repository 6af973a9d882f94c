"""Cutting a request short: the verdict, the cutoff on real sockets, the watchdog's thread,
and the adapter recording the socket of a real HTTP request on loopback."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest
import requests

from sloctl.prometheus.cutoff import (
    LATE,
    STOPPING,
    Cutoff,
    CutoffAdapter,
    Watchdog,
    cutoff_session,
    verdict,
)


@pytest.mark.parametrize(
    ("now", "ends", "cancelled", "expected"),
    [
        (1.0, 2.0, False, None),
        (2.0, 2.0, False, LATE),
        (3.0, 2.0, False, LATE),
        (1.0, 2.0, True, STOPPING),
        (3.0, 2.0, True, STOPPING),  # stopping says more than late
    ],
)
def test_verdict(now: float, ends: float, cancelled: bool, expected: str | None) -> None:
    assert verdict(now, ends, cancelled) == expected


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    left, right = socket.socketpair()
    yield left, right
    left.close()
    right.close()


def test_a_cut_ends_a_blocked_read_at_once(pair: tuple[socket.socket, socket.socket]) -> None:
    reading, _ = pair
    cutoff = Cutoff()
    cutoff.record(reading)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(reading.recv(10)))
    reader.start()
    time.sleep(0.1)
    assert cutoff.cut(LATE)
    reader.join(2.0)
    assert not reader.is_alive()
    assert got == [b""]  # end of stream, as a peer that hung up
    assert cutoff.reason == LATE
    assert not cutoff.cut(STOPPING)  # the first reason stays


def test_a_socket_recorded_after_the_cut_is_shut_at_once(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    reading, _ = pair
    cutoff = Cutoff()
    cutoff.cut(STOPPING)
    cutoff.record(reading)
    reading.settimeout(2.0)
    assert reading.recv(10) == b""


def test_a_closed_cutoff_never_cuts(pair: tuple[socket.socket, socket.socket]) -> None:
    reading, writing = pair
    cutoff = Cutoff()
    cutoff.record(reading)
    cutoff.close()
    assert not cutoff.cut(LATE)
    assert cutoff.reason is None
    writing.sendall(b"x")
    assert reading.recv(10) == b"x"  # the socket, perhaps pooled again, is untouched


def test_the_watchdog_cuts_at_the_deadline_and_leaves_no_thread(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    reading, _ = pair
    before = set(threading.enumerate())
    cutoff = Cutoff()
    started = time.monotonic()
    with Watchdog(cutoff, started + 0.3, lambda: False, time.monotonic):
        cutoff.record(reading)
        assert reading.recv(10) == b""
    assert 0.3 <= time.monotonic() - started < 1.5
    assert cutoff.reason == LATE
    assert not set(threading.enumerate()) - before  # the watchdog left no thread behind


def test_the_watchdog_cuts_when_cancelled(pair: tuple[socket.socket, socket.socket]) -> None:
    reading, _ = pair
    stop = threading.Event()
    cutoff = Cutoff()
    timer = threading.Timer(0.2, stop.set)
    timer.start()
    started = time.monotonic()
    with Watchdog(cutoff, started + 30, stop.is_set, time.monotonic):
        cutoff.record(reading)
        assert reading.recv(10) == b""
    timer.join()
    assert time.monotonic() - started < 1.5
    assert cutoff.reason == STOPPING


def test_a_finished_attempt_ends_its_watchdog_at_once() -> None:
    cutoff = Cutoff()
    started = time.monotonic()
    with Watchdog(cutoff, started + 30, lambda: False, time.monotonic, poll=10.0):
        pass
    assert time.monotonic() - started < 1.0  # not the poll, not the deadline
    assert cutoff.reason is None


@pytest.fixture
def held() -> Iterator[str]:
    """A server that accepts, reads the request and sends nothing until the test ends."""
    listener = socket.create_server(("127.0.0.1", 0))
    done = threading.Event()
    accepted: list[socket.socket] = []

    def serve() -> None:
        while not done.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            accepted.append(conn)
            conn.recv(65536)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    done.set()
    listener.close()
    for conn in accepted:
        conn.close()


def test_the_adapter_records_the_request_socket_so_a_cut_ends_it(held: str) -> None:
    session = cutoff_session()
    adapter = session.get_adapter(held)
    assert isinstance(adapter, CutoffAdapter)
    cutoff = Cutoff()
    started = time.monotonic()
    with (
        Watchdog(cutoff, started + 0.5, lambda: False, time.monotonic),
        adapter.watching(cutoff),
        pytest.raises(requests.ConnectionError),
    ):
        session.get(held, timeout=(5, 30))  # requests alone would wait 30 s
    assert time.monotonic() - started < 2.0
    assert cutoff.reason == LATE
    session.close()


def test_requests_of_another_thread_are_not_recorded(held: str) -> None:
    """Only the thread that is watching a cutoff records into it."""
    session = cutoff_session()
    adapter = session.get_adapter(held)
    assert isinstance(adapter, CutoffAdapter)
    mine = Cutoff()
    failed: list[BaseException] = []

    def other() -> None:
        try:
            session.get(held, timeout=(5, 1.0))
        except requests.RequestException as exc:
            failed.append(exc)

    with adapter.watching(mine):
        thread = threading.Thread(target=other)
        thread.start()
        time.sleep(0.3)
        mine.cut(LATE)  # has no socket of the other thread's to shut
        thread.join(5.0)
    assert len(failed) == 1
    assert isinstance(failed[0], requests.ReadTimeout)
    session.close()
