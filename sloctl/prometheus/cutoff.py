"""Cutting an HTTP request short from another thread, at its deadline or when sloctl stops.

requests bounds each socket read, not a whole request: a peer that trickles the status line
and the headers a byte at a time keeps ``session.post`` waiting for as long as it likes. A
read blocked in one thread ends at once when another thread shuts its socket down, so:

- :class:`CutoffAdapter`, mounted on a session, opens connections that tell it which socket
  each request is sent on, and hands that socket to the :class:`Cutoff` the calling thread
  is :meth:`~CutoffAdapter.watching` (kept per thread and per adapter: two threads' requests
  never mix, and nothing is shared between adapters);
- :class:`Watchdog` runs beside one attempt and cuts its :class:`Cutoff` when the attempt's
  deadline passes or ``cancelled()`` turns true (:func:`verdict`); it ends with the attempt,
  its thread joined, so no thread outlives the attempt it watched.

A cut socket is only shut down, never closed here: its owner (urllib3) closes it when the
failed read returns, so its file descriptor cannot be reused under anyone's feet.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from types import TracebackType
from typing import TYPE_CHECKING, Any

import requests
import requests.adapters
import urllib3.connection
import urllib3.response
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

LATE = "late"
"""Why a request was cut: its deadline passed."""
STOPPING = "stopping"
"""Why a request was cut: sloctl is stopping."""
POLL_SECONDS = 0.1
"""How often a watchdog asks whether sloctl is stopping."""


def verdict(now: float, ends: float, cancelled: bool) -> str | None:
    """Why a request must be cut at ``now`` (:data:`STOPPING` first, then :data:`LATE`), or
    None while it may go on."""
    if cancelled:
        return STOPPING
    if now >= ends:
        return LATE
    return None


def _shut(sock: socket.socket) -> None:
    # Already closed or never connected: nothing is waiting on it.
    with suppress(OSError):
        # The plain socket's shutdown, also for a TLS socket: SSLSocket.shutdown would drop
        # the TLS state that the reading thread is still using.
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


class Cutoff:
    """The sockets one request in progress is sent on, and whether (and why) it was cut.

    Thread-safe: the requesting thread records sockets, a watchdog cuts, the requesting
    thread closes it when the attempt is over (after which nothing is recorded or cut).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._closed = False
        self.reason: str | None = None

    def record(self, sock: socket.socket) -> None:
        """``sock`` carries this request; one recorded after the cut is shut down at once."""
        with self._lock:
            if self._closed:
                return
            if self.reason is not None:
                _shut(sock)
            elif all(sock is not known for known in self._sockets):
                self._sockets.append(sock)

    def cut(self, reason: str) -> bool:
        """Shut down every socket of the request, so that a blocked read fails at once;
        False when it was already cut or is over."""
        with self._lock:
            if self._closed or self.reason is not None:
                return False
            self.reason = reason
            for sock in self._sockets:
                _shut(sock)
            return True

    def close(self) -> None:
        """The request is over: forget its sockets (they may go back to the pool)."""
        with self._lock:
            self._closed = True
            self._sockets.clear()


class Watchdog:
    """``with Watchdog(cutoff, ends, cancelled, clock): ...``: cuts ``cutoff`` when ``clock()``
    reaches ``ends`` or ``cancelled()`` turns true, until the block is left."""

    def __init__(
        self,
        cutoff: Cutoff,
        ends: float,
        cancelled: Callable[[], bool],
        clock: Callable[[], float],
        poll: float = POLL_SECONDS,
    ) -> None:
        self.cutoff, self.ends, self.cancelled, self.clock = cutoff, ends, cancelled, clock
        self.poll = poll
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="sloctl-cutoff", daemon=True)

    def __enter__(self) -> Cutoff:
        self._thread.start()
        return self.cutoff

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._done.set()
        self._thread.join()
        self.cutoff.close()

    def _watch(self) -> None:
        while True:
            why = verdict(self.clock(), self.ends, self.cancelled())
            if why is not None:
                self.cutoff.cut(why)
                return
            if self._done.wait(min(self.poll, max(0.0, self.ends - self.clock()))):
                return


class _Current(threading.local):
    """The cutoff each thread is watching (per adapter). It holds no reference to the
    adapter, so the adapter, its pools and their sockets are freed as soon as unused."""

    cutoff: Cutoff | None = None

    def sent_on(self, sock: socket.socket) -> None:
        if self.cutoff is not None:
            self.cutoff.record(sock)


if TYPE_CHECKING:
    _Connection = urllib3.connection.HTTPConnection
else:
    _Connection = object


class _Recording(_Connection):
    """A urllib3 connection that reports the socket of each request it sends."""

    def __init__(self, *args: Any, sent_on: Callable[[socket.socket], None], **kwargs: Any):
        self._sent_on = sent_on
        super().__init__(*args, **kwargs)

    def connect(self) -> None:
        super().connect()
        if self.sock is not None:
            self._sent_on(self.sock)

    # urllib3 narrows http.client's return type the same way (and ignores it likewise).
    def getresponse(self) -> urllib3.response.HTTPResponse:  # type: ignore[override]
        if self.sock is not None:  # a kept-alive connection does not connect again
            self._sent_on(self.sock)
        return super().getresponse()


class _RecordingHTTPConnection(_Recording, urllib3.connection.HTTPConnection):
    pass


class _RecordingHTTPSConnection(_Recording, urllib3.connection.HTTPSConnection):
    pass


def _pool_classes(sent_on: Callable[[socket.socket], None]) -> dict[str, type[HTTPConnectionPool]]:
    """Pool classes whose connections report to ``sent_on`` (through the pools' connection
    keywords, which urllib3 passes to every connection it makes)."""

    class HTTPPool(HTTPConnectionPool):
        ConnectionCls = _RecordingHTTPConnection

        def __init__(self, host: str, port: int | None = None, **kwargs: Any) -> None:
            super().__init__(host, port, sent_on=sent_on, **kwargs)

    class HTTPSPool(HTTPSConnectionPool):
        ConnectionCls = _RecordingHTTPSConnection

        def __init__(self, host: str, port: int | None = None, **kwargs: Any) -> None:
            super().__init__(host, port, sent_on=sent_on, **kwargs)

    return {"http": HTTPPool, "https": HTTPSPool}


class CutoffAdapter(requests.adapters.HTTPAdapter):
    """An HTTPAdapter whose requests a :class:`Cutoff` can cut short from another thread:
    inside ``with adapter.watching(cutoff):`` every socket a request of this thread is sent
    on (direct or through an HTTP proxy) is recorded in ``cutoff``. SOCKS proxies are not
    covered: their requests keep requests' per-read bound only."""

    def __init__(self, **kwargs: Any) -> None:
        self._current = _Current()
        self._pools = _pool_classes(self._current.sent_on)
        super().__init__(**kwargs)

    @contextmanager
    def watching(self, cutoff: Cutoff) -> Iterator[Cutoff]:
        before = self._current.cutoff
        self._current.cutoff = cutoff
        try:
            yield cutoff
        finally:
            self._current.cutoff = before

    def init_poolmanager(
        self, connections: int, maxsize: int, block: bool = False, **pool_kwargs: Any
    ) -> None:
        super().init_poolmanager(connections, maxsize, block, **pool_kwargs)
        self.poolmanager.pool_classes_by_scheme = self._pools  # a new dict, not urllib3's

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if not proxy.lower().startswith("socks"):
            manager.pool_classes_by_scheme = self._pools
        return manager


def cutoff_session() -> requests.Session:
    """A session whose HTTP and HTTPS requests can be cut (a :class:`CutoffAdapter`)."""
    session = requests.Session()
    adapter = CutoffAdapter()
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session
