"""HTTP/1.1 on the standard library for the Prometheus reader, bounded by a deadline without
any thread of its own.

- Every read and write of a connection waits at most for a short poll (:data:`POLL_SECONDS`)
  at a time and, between polls, asks the exchange's :class:`Deadline` whether time is up
  (:class:`~sloctl.errors.DeadlinePassedError`) or sloctl is stopping
  (:class:`~sloctl.errors.StoppingError`): a peer trickling the status line, the headers or the
  body, or holding its answer, is cut off on time, and a stop cuts a waiting request short
  within about the poll. Connecting waits at most ``CONNECT_TIMEOUT`` seconds
  (and never past the deadline), polled the same way; so is the TLS handshake. Resolving the
  host name (``getaddrinfo``) is the one wait that is not polled.
- Connections are kept alive and reused for the next request to the same Prometheus (the same
  scheme, host, port, proxy and CA file), one request in flight per connection, and only after
  the previous answer was read whole. Up to :data:`POOL_SIZE` idle ones are kept per
  destination, under a lock, so several threads may send requests through one transport at
  once. A reused connection that the server had closed meanwhile (nothing of an answer came
  back) is replaced by a new one and the request sent once more, transparently.
- HTTPS verifies the certificate and the host name, against the CA file of the request when
  it has one, else against ``REQUESTS_CA_BUNDLE`` / ``CURL_CA_BUNDLE`` when set, else the
  system's default trust store.
- ``http_proxy`` / ``https_proxy`` / ``all_proxy`` and ``no_proxy`` (or their upper-case forms)
  are honoured: an ``http://`` URL goes through an HTTP proxy in absolute form, an ``https://``
  one through a ``CONNECT`` tunnel; ``no_proxy`` holds ``*``, host names (matching their
  subdomains too, with or without a leading dot), ``host:port`` and IP networks.

The environment is read once, by :meth:`Transport.from_environment`, into plain values.
Statuses, headers, chunked bodies and ``Content-Length`` are read by
:mod:`sloctl.prometheus.answer`; the body comes out as sent (still compressed): limits and
decoding are the reader's. :mod:`ssl` is imported only when an HTTPS connection is made.
"""

from __future__ import annotations

import base64
import errno
import os
import select
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, cast
from urllib.parse import quote, unquote, urlsplit

from sloctl.errors import (
    ConnectError,
    ConnectionLostError,
    DeadlinePassedError,
    RequestNotSentError,
    StoppingError,
    TLSHandshakeError,
    TransportError,
)
from sloctl.prometheus.answer import Answer
from sloctl.runtime.errno_text import errno_text

if TYPE_CHECKING:
    import ssl

    from _typeshed import WriteableBuffer

POLL_SECONDS = 0.1
"""The longest one wait on a socket lasts before the deadline and the stop are asked again."""
CONNECT_TIMEOUT = 5.0
"""The longest connecting may take (the deadline of the request may end it sooner)."""
POOL_SIZE = 10
"""Idle connections kept per destination."""
SEND_SIZE = 65536
DEFAULT_PORTS = {"http": 80, "https": 443}
PATH_SAFE = "/%:@!$&'()*+,;=~"
"""Characters a request path keeps as they are; any other is percent-encoded."""


@dataclass(frozen=True)
class Deadline:
    """When an exchange must be over, and whether sloctl is stopping."""

    ends: float
    """A ``clock()`` time."""
    clock: Callable[[], float] = time.monotonic
    cancelled: Callable[[], bool] = lambda: False

    def wait(self, poll: float) -> float:
        """How long the next wait may last: at most ``poll`` and never past ``ends``; raises
        :class:`StoppingError` once cancelled, :class:`DeadlinePassedError` once ``ends`` has
        passed."""
        if self.cancelled():
            raise StoppingError
        left = self.ends - self.clock()
        if left <= 0:
            raise DeadlinePassedError
        return min(poll, left)


@dataclass(frozen=True)
class Target:
    """Where a request goes: ``scheme``, ``host`` (lower case, no brackets), ``port`` and the
    request ``path`` (with its query)."""

    scheme: str
    host: str
    port: int
    path: str

    @classmethod
    def of(cls, url: str) -> Target:
        """The target of ``url`` (user information is left out: credentials are headers)."""
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError as exc:
            raise RequestNotSentError("the URL is not valid") from exc
        scheme = parts.scheme.lower()
        if scheme not in DEFAULT_PORTS:
            raise RequestNotSentError(f"URL scheme {scheme!r:.20} is not supported")
        if not parts.hostname:
            raise RequestNotSentError("the URL has no host")
        path = quote(parts.path or "/", safe=PATH_SAFE)
        if parts.query:
            path += "?" + quote(parts.query, safe=PATH_SAFE + "?")
        return cls(scheme, parts.hostname, port or DEFAULT_PORTS[scheme], path)

    @property
    def authority(self) -> str:
        """``host[:port]`` as the ``Host`` header writes it (the port only when not the
        scheme's own)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == DEFAULT_PORTS[self.scheme] else f"{host}:{self.port}"

    @property
    def address(self) -> str:
        """``host:port``, always with the port (what ``CONNECT`` asks for)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


@dataclass(frozen=True)
class Proxy:
    """An HTTP proxy: where it listens and the ``Proxy-Authorization`` its URL implies."""

    host: str
    port: int
    authorization: str | None

    @classmethod
    def of(cls, url: str) -> Proxy:
        """The proxy of ``url`` (``http://[user:password@]host[:port]``; no scheme is HTTP)."""
        text = url if "://" in url else f"http://{url}"
        try:
            parts = urlsplit(text)
            port = parts.port
        except ValueError as exc:
            raise RequestNotSentError("the proxy URL is not valid") from exc
        if parts.scheme.lower() != "http":
            raise RequestNotSentError(f"proxy scheme {parts.scheme.lower()!r:.20} is not supported")
        if not parts.hostname:
            raise RequestNotSentError("the proxy URL has no host")
        authorization = None
        if parts.username is not None or parts.password is not None:
            authorization = basic(unquote(parts.username or ""), unquote(parts.password or ""))
        return cls(parts.hostname, port or 80, authorization)


def basic(user: str, password: str) -> str:
    """The value of a ``Basic`` authorization header."""
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@dataclass(frozen=True)
class Proxies:
    """The proxies of the environment: ``http`` and ``https`` (each falling back to
    ``all_proxy``) and the ``no_proxy`` entries, which go direct."""

    http: str | None = None
    https: str | None = None
    no_proxy: tuple[str, ...] = ()

    @classmethod
    def from_environment(cls, env: Mapping[str, str]) -> Proxies:
        """As curl and requests read them: the lower-case variable first (set but empty, it
        turns the proxy off), then the upper-case one; ``HTTP_PROXY`` is ignored when
        ``REQUEST_METHOD`` is set (a CGI request may set that header-borne variable)."""

        def variable(name: str) -> str | None:
            if name in env:
                return env[name].strip() or None
            if name == "http_proxy" and "REQUEST_METHOD" in env:
                return None
            return env.get(name.upper(), "").strip() or None

        every = variable("all_proxy")
        entries = (variable("no_proxy") or "").split(",")
        return cls(
            http=variable("http_proxy") or every,
            https=variable("https_proxy") or every,
            no_proxy=tuple(e.strip().lower() for e in entries if e.strip()),
        )

    def for_target(self, target: Target) -> str | None:
        """The proxy URL ``target`` is reached through, or None to go direct."""
        chosen = self.https if target.scheme == "https" else self.http
        if chosen is None or bypassed(target.host, target.port, self.no_proxy):
            return None
        return chosen


def bypassed(host: str, port: int, entries: tuple[str, ...]) -> bool:
    """Whether ``host:port`` goes direct by ``no_proxy``'s ``entries``: ``*``; a host name,
    matching itself and its subdomains (a leading dot changes nothing); either with ``:port``
    for that port only; an IP address, or an IP network in CIDR form."""
    host = host.lower()
    for entry in entries:
        if entry == "*":
            return True
        name, wanted = entry, None
        if entry.startswith("["):  # [v6] or [v6]:port
            name, _, rest = entry[1:].partition("]")
            wanted = rest[1:] if rest.startswith(":") else None
        elif entry.count(":") == 1:
            name, _, wanted = entry.partition(":")
        if wanted is not None and wanted != str(port):
            continue
        if "/" in name:
            if _in_network(host, name):
                return True
            continue
        name = name.lstrip(".")
        if name and (host == name or host.endswith(f".{name}")):
            return True
    return False


def _in_network(host: str, network: str) -> bool:
    # Imported only for a no_proxy entry in CIDR form.
    import ipaddress  # noqa: PLC0415

    try:
        return ipaddress.ip_address(host) in ipaddress.ip_network(network, strict=False)
    except ValueError:
        return False


class Connection:
    """One open connection (plain or TLS, direct or through a proxy) whose every read and write
    waits at most for ``poll`` at a time, and never past its :attr:`deadline`."""

    def __init__(self, sock: socket.socket, deadline: Deadline, poll: float) -> None:
        self.sock = sock
        self.deadline = deadline
        """That of the exchange in progress (set anew for each request)."""
        self.poll = poll
        self.received = 0
        """Bytes received since :meth:`start`."""

    def start(self, deadline: Deadline) -> None:
        """A new exchange begins, bounded by ``deadline``."""
        self.deadline, self.received = deadline, 0

    def recv_into(self, buffer: WriteableBuffer) -> int:
        while True:
            self.sock.settimeout(self.deadline.wait(self.poll))
            try:
                got = self.sock.recv_into(buffer)
            except TimeoutError:
                continue  # nothing yet: ask the deadline again
            self.received += got
            return got

    def sendall(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            self.sock.settimeout(self.deadline.wait(self.poll))
            try:
                # The same slice again after a timeout, as TLS wants a write retried.
                sent = self.sock.send(view[:SEND_SIZE])
            except TimeoutError:
                continue
            view = view[sent:]

    def answer(self, method: str) -> Answer:
        """The answer coming on this connection, its status line and headers read."""
        return Answer(self, method)

    def dropped(self) -> bool:
        """Whether the idle connection was closed by the peer (or has bytes nobody asked for):
        then it must not carry another request."""
        # By the module of its type: an SSLSocket without importing ssl for plain HTTP.
        tls = type(self.sock).__module__ == "ssl"
        if tls and cast("ssl.SSLSocket", self.sock).pending():
            return True
        try:
            poller = select.poll()
            poller.register(self.sock, select.POLLIN)
            return bool(poller.poll(0))
        except (OSError, ValueError):
            return True

    def close(self) -> None:
        self.sock.close()


class Response:
    """An answer: its ``status``, its headers and its body as it arrives, as sent (not
    decoded). :meth:`close` gives the connection back for reuse when the body was read whole,
    and closes it otherwise."""

    def __init__(
        self,
        answer: Answer,
        connection: Connection,
        give_back: Callable[[Connection], None],
    ) -> None:
        self._answer, self._connection, self._give_back = answer, connection, give_back
        self._broken = False
        self._closed = False

    @property
    def status(self) -> int:
        return self._answer.status

    def header(self, name: str) -> str | None:
        return self._answer.header(name)

    def read1(self, size: int) -> bytes:
        """Up to ``size`` bytes of the body, as soon as some are there; ``b""`` at its end.
        Raises :class:`DeadlinePassedError`, :class:`StoppingError` or
        :class:`ConnectionLostError`."""
        try:
            chunk = self._answer.read1(size)
        except TransportError:
            self._broken = True
            raise
        except OSError as exc:
            self._broken = True
            raise ConnectionLostError(errno_text(exc)) from exc
        return chunk

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        answer = self._answer
        whole = answer.ended and not self._broken and not answer.will_close and not answer.leftover
        if whole:
            self._give_back(self._connection)
        else:
            self._connection.close()

    def __enter__(self) -> Response:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


class _StaleConnectionError(Exception):
    """A reused connection turned out closed before any of the answer came."""


_Key = tuple[str, str, int, str | None, str | None]


@dataclass
class Transport:
    """Sends requests and hands back their :class:`Response`; safe to share between threads.

    ``proxies`` and ``ca_bundle`` (the CA file or directory used when a request names none)
    come from :meth:`from_environment` or are given; the default is to go direct and trust
    the system's store."""

    proxies: Proxies = field(default_factory=Proxies)
    ca_bundle: str | None = None
    poll: float = POLL_SECONDS
    pool_size: int = POOL_SIZE
    connections_made: int = field(init=False, default=0)
    """Connections opened so far (what reuse saves)."""
    _idle: dict[_Key, list[Connection]] = field(
        init=False, default_factory=dict, repr=False, compare=False
    )
    _contexts: dict[str | None, ssl.SSLContext] = field(
        init=False, default_factory=dict, repr=False, compare=False
    )
    _lock: threading.Lock = field(
        init=False, default_factory=threading.Lock, repr=False, compare=False
    )

    @classmethod
    def from_environment(cls, env: Mapping[str, str]) -> Transport:
        """The proxies and the CA bundle that ``env`` sets (read now, once)."""
        bundle = env.get("REQUESTS_CA_BUNDLE") or env.get("CURL_CA_BUNDLE") or None
        return cls(Proxies.from_environment(env), bundle)

    def post(
        self,
        url: str,
        form: bytes,
        headers: Mapping[str, str],
        *,
        deadline: Deadline,
        ca_file: str | None = None,
    ) -> Response:
        """POST ``form`` (``application/x-www-form-urlencoded``) to ``url`` with ``headers``;
        the answer's status line and headers are read, its body is left to read.

        Raises a :class:`~sloctl.errors.TransportError`: :class:`DeadlinePassedError`,
        :class:`StoppingError`, :class:`ConnectError`, :class:`TLSHandshakeError`,
        :class:`ConnectionLostError` or :class:`RequestNotSentError`."""
        target = Target.of(url)
        proxy_url = self.proxies.for_target(target)
        proxy = Proxy.of(proxy_url) if proxy_url is not None else None
        request = _request(target, proxy, form, headers)
        key: _Key = (target.scheme, target.host, target.port, proxy_url, ca_file)
        reused = self._take(key)
        if reused is not None:
            try:
                return self._exchange(reused, key, request, deadline, reused=True)
            except _StaleConnectionError:
                pass  # closed by the server while idle: once more, on a new connection
        connection = self._connect(target, proxy, ca_file, deadline)
        return self._exchange(connection, key, request, deadline, reused=False)

    def close(self) -> None:
        """Close every idle connection."""
        with self._lock:
            idle = [c for connections in self._idle.values() for c in connections]
            self._idle.clear()
        for connection in idle:
            connection.close()

    def _take(self, key: _Key) -> Connection | None:
        while True:
            with self._lock:
                connections = self._idle.get(key)
                if not connections:
                    return None
                connection = connections.pop()
            if not connection.dropped():
                return connection
            connection.close()

    def _put(self, key: _Key, connection: Connection) -> None:
        with self._lock:
            connections = self._idle.setdefault(key, [])
            if len(connections) < self.pool_size:
                connections.append(connection)
                return
        connection.close()

    def _exchange(
        self, connection: Connection, key: _Key, request: bytes, deadline: Deadline, *, reused: bool
    ) -> Response:
        connection.start(deadline)
        try:
            connection.sendall(request)
            answer = connection.answer("POST")
        except ConnectionLostError as exc:
            connection.close()
            if reused and connection.received == 0:  # closed before any of the answer
                raise _StaleConnectionError from exc
            raise
        except TransportError:
            connection.close()
            raise
        except OSError as exc:
            connection.close()
            if reused and isinstance(exc, ConnectionError) and connection.received == 0:
                raise _StaleConnectionError from exc
            raise ConnectionLostError(errno_text(exc)) from exc
        return Response(answer, connection, lambda done: self._put(key, done))

    def _connect(
        self, target: Target, proxy: Proxy | None, ca_file: str | None, deadline: Deadline
    ) -> Connection:
        host, port = (proxy.host, proxy.port) if proxy is not None else (target.host, target.port)
        sock = self._dial(host, port, deadline)
        with self._lock:
            self.connections_made += 1
        connection = Connection(sock, deadline, self.poll)
        try:
            if target.scheme == "https":
                if proxy is not None:
                    _tunnel(connection, target, proxy)
                connection.sock = self._secure(sock, target.host, ca_file, deadline)
        except BaseException:
            connection.close()
            raise
        return connection

    def _dial(self, host: str, port: int, deadline: Deadline) -> socket.socket:
        """A connected socket to ``host:port``, trying each of its addresses in turn, within
        ``CONNECT_TIMEOUT`` and the deadline."""
        connecting = Deadline(
            min(deadline.ends, deadline.clock() + CONNECT_TIMEOUT),
            deadline.clock,
            deadline.cancelled,
        )
        try:
            # An ASCII name goes as bytes: a str is encoded with the IDNA codec, whose
            # import costs a millisecond of every start for names that never need it.
            name: str | bytes = host.encode("ascii") if host.isascii() else host
            found = socket.getaddrinfo(name, port, type=socket.SOCK_STREAM)
        except (OSError, ValueError) as exc:  # ValueError: a name IDNA cannot encode
            raise ConnectError(errno_text(exc)) from exc
        last: OSError = OSError(errno.EHOSTUNREACH, "no address")
        for family, kind, protocol, _, address in found:
            sock = socket.socket(family, kind, protocol)
            try:
                self._connect_within(sock, address, connecting)
            except DeadlinePassedError as late:
                sock.close()
                if deadline.clock() >= deadline.ends:
                    raise  # the request's time is up, not only the connect timeout's
                raise ConnectError("connect timeout") from late
            except TransportError:
                sock.close()
                raise
            except OSError as exc:
                sock.close()
                last = exc
                continue
            return sock
        raise ConnectError(errno_text(last)) from last

    def _connect_within(
        self, sock: socket.socket, address: tuple[object, ...], connecting: Deadline
    ) -> None:
        sock.setblocking(False)
        code = sock.connect_ex(address)
        if code in (errno.EINPROGRESS, errno.EWOULDBLOCK, errno.EALREADY):
            poller = select.poll()
            poller.register(sock, select.POLLOUT)
            while not poller.poll(connecting.wait(self.poll) * 1000):
                pass
            code = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if code:
            raise OSError(code, os.strerror(code))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _secure(
        self, sock: socket.socket, host: str, ca_file: str | None, deadline: Deadline
    ) -> ssl.SSLSocket:
        """``sock`` after a TLS handshake with ``host``, certificate and host name checked."""
        import ssl  # noqa: PLC0415  (only HTTPS needs it; it costs plain HTTP's start)

        context = self._context(ca_file)
        try:
            tls = context.wrap_socket(sock, server_hostname=host, do_handshake_on_connect=False)
        except ssl.SSLError as exc:
            raise TLSHandshakeError(_tls_text(exc)) from exc
        except OSError as exc:
            raise ConnectionLostError(errno_text(exc)) from exc
        while True:
            tls.settimeout(deadline.wait(self.poll))
            try:
                tls.do_handshake()
            except TimeoutError:
                continue
            except ssl.SSLError as exc:
                raise TLSHandshakeError(_tls_text(exc)) from exc
            except OSError as exc:
                raise ConnectionLostError(errno_text(exc)) from exc
            return tls

    def _context(self, ca_file: str | None) -> ssl.SSLContext:
        import ssl  # noqa: PLC0415

        with self._lock:
            context = self._contexts.get(ca_file)
        if context is not None:
            return context
        trusted = ca_file if ca_file is not None else self.ca_bundle
        try:
            if trusted is None:
                context = ssl.create_default_context()
            elif os.path.isdir(trusted):
                context = ssl.create_default_context(capath=trusted)
            else:
                context = ssl.create_default_context(cafile=trusted)
        except ssl.SSLError as exc:
            raise TLSHandshakeError(f"CA file not usable: {_tls_text(exc)}") from exc
        except OSError as exc:
            raise TLSHandshakeError(f"CA file not readable: {errno_text(exc)}") from exc
        with self._lock:
            return self._contexts.setdefault(ca_file, context)


def _request(target: Target, proxy: Proxy | None, form: bytes, headers: Mapping[str, str]) -> bytes:
    """The bytes of a POST of ``form`` to ``target``: in absolute form through an HTTP proxy
    (a tunnelled HTTPS request is sent as to the server itself)."""
    through = proxy is not None and target.scheme == "http"
    start = f"{target.scheme}://{target.authority}{target.path}" if through else target.path
    lines = {
        "Host": target.authority,
        "User-Agent": "sloctl",
        "Accept": "application/json",
        "Content-Type": "application/x-www-form-urlencoded",
        "Content-Length": str(len(form)),
    }
    if through and proxy is not None and proxy.authorization is not None:
        lines["Proxy-Authorization"] = proxy.authorization
    lines.update(headers)
    head = [f"POST {start} HTTP/1.1"]
    for name, value in lines.items():
        if any(c in value for c in "\r\n\0") or value != value.strip():
            raise RequestNotSentError(f"the {name} header holds a character a header may not")
        head.append(f"{name}: {value}")
    try:
        return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + form
    except UnicodeEncodeError as exc:
        raise RequestNotSentError("a header holds a character outside Latin-1") from exc


def _tunnel(connection: Connection, target: Target, proxy: Proxy) -> None:
    """Ask the HTTP proxy on ``connection`` for a tunnel to ``target``."""
    lines = [f"CONNECT {target.address} HTTP/1.1", f"Host: {target.address}"]
    if proxy.authorization is not None:
        lines.append(f"Proxy-Authorization: {proxy.authorization}")
    try:
        connection.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        answer = connection.answer("CONNECT")
    except ConnectionLostError as exc:
        raise ConnectError(f"proxy: {exc.why}") from exc
    except OSError as exc:
        raise ConnectError(f"proxy: {errno_text(exc)}") from exc
    if answer.status != 200:
        raise ConnectError(f"the proxy answered HTTP {answer.status} to CONNECT")


def _tls_text(exc: ssl.SSLError) -> str:
    import ssl  # noqa: PLC0415  (already loaded: exc is one of its errors)

    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"certificate verify failed: {exc.verify_message}"
    return str(exc.reason or type(exc).__name__)
