"""The answer to an HTTP/1.x request, read from a connection: the status line, the headers
and the body as it arrives (chunked, ``Content-Length`` or up to the close), without
:mod:`http.client` (whose import, with :mod:`email` and :mod:`ssl`, costs every start).

- Interim ``1xx`` answers (``100 Continue``) are read and skipped; ``101`` is final.
- Header names are case-insensitive; an obs-fold continuation line (one starting with a
  space or a tab) continues the previous header's value, joined by a space.
- The head (status line and headers, interim answers included) is at most :data:`MAX_HEAD`
  bytes and :data:`MAX_HEADERS` headers; each line of a chunked body's framing (sizes and
  trailers) at most :data:`MAX_LINE` bytes. A peer going past them, or sending a status line
  or a header that is not HTTP, fails as :class:`~sloctl.errors.ConnectionLostError`; so does
  one closing before the body's end (``the answer ended early``).
- HTTP/1.1 keeps the connection unless ``Connection: close``; HTTP/1.0 closes it unless
  ``Connection: keep-alive``; a body read up to the close closes it too.
- ``HEAD``, a ``2xx`` to ``CONNECT``, ``204`` and ``304`` have no body.

Every read goes through the ``recv_into`` of the connection given, which bounds each wait.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from sloctl.errors import ConnectionLostError

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

MAX_HEAD = 65536
"""The most bytes the status lines and headers of one answer may take."""
MAX_HEADERS = 100
"""The most header lines one answer (or one chunked body's trailers) may have."""
MAX_LINE = 4096
"""The longest line of a chunked body's framing: a chunk size (with extensions) or a trailer."""
RECV_SIZE = 65536
"""The most bytes one read of the connection asks for."""


class Receiver(Protocol):
    """What an answer is read from: the connection, each read bounded by its deadline."""

    def recv_into(self, buffer: WriteableBuffer) -> int: ...


class Answer:
    """An answer read from ``connection`` to a request of ``method``: :attr:`status`,
    :attr:`version`, :meth:`header` are known once built; :meth:`read1` gives the body.

    Raises :class:`ConnectionLostError` when the peer does not speak HTTP/1.x within the
    limits, or closes before the head's end; what ``recv_into`` raises (``OSError``, the
    deadline's errors) goes through as is."""

    def __init__(self, connection: Receiver, method: str) -> None:
        self._connection = connection
        self._buffer = bytearray()
        self._chunk = bytearray(RECV_SIZE)
        self._head_left = MAX_HEAD
        self.received_any = False
        """Whether any byte of the answer came (a reused connection closed while idle sends
        none)."""
        while True:
            self.version, self.status = self._status_line()
            self._headers = self._fields(what="header")
            if not 100 <= self.status < 200 or self.status == 101:
                break
        self.will_close = self._closes()
        self.chunked = False
        self.length: int | None = None
        """Body bytes still to come when ``Content-Length`` framed it; None otherwise."""
        self._chunk_left = 0
        self.ended = False
        """Whether the whole body was read."""
        no_body = (
            method == "HEAD"
            or (method == "CONNECT" and 200 <= self.status < 300)
            or self.status in (101, 204, 304)
        )
        codings = self.header("Transfer-Encoding")
        if no_body:
            self.length = 0
            self.ended = True
        elif codings is not None and codings.split(",")[-1].strip().lower() == "chunked":
            self.chunked = True
        else:
            self.length = self._content_length()
            if self.length is None:
                self.will_close = True  # the body ends with the connection
            elif self.length == 0:
                self.ended = True

    def header(self, name: str) -> str | None:
        """The value of header ``name`` (any case); several of one name joined by ``, ``."""
        values = self._headers.get(name.lower())
        return ", ".join(values) if values else None

    @property
    def leftover(self) -> bool:
        """Whether bytes came past the end of the body (the connection must not be reused)."""
        return bool(self._buffer)

    def read1(self, size: int) -> bytes:
        """Up to ``size`` bytes of the body, as soon as some are there; ``b""`` at its end."""
        if self.ended or size <= 0:
            return b""
        if self.chunked:
            if self._chunk_left == 0:
                self._chunk_left = self._chunk_size()
                if self._chunk_left == 0:
                    self._fields(what="trailer")
                    self.ended = True
                    return b""
            data = self._some(min(size, self._chunk_left))
            self._chunk_left -= len(data)
            if self._chunk_left == 0:
                self._chunk_end()
            return data
        if self.length is None:
            data = self._some(size, to_close=True)
            if not data:
                self.ended = True
            return data
        data = self._some(min(size, self.length))
        self.length -= len(data)
        if self.length == 0:
            self.ended = True
        return data

    def _fill(self) -> int:
        """Read once more from the connection into the buffer; the bytes read (0 at its end)."""
        got = self._connection.recv_into(self._chunk)
        if got:
            self.received_any = True
            self._buffer += memoryview(self._chunk)[:got]
        return got

    def _some(self, size: int, *, to_close: bool = False) -> bytes:
        """Up to ``size`` bytes, those buffered first; the connection's end is the answer's
        end only ``to_close``."""
        if not self._buffer and not self._fill():
            if to_close:
                return b""
            raise ConnectionLostError("the answer ended early")
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        return data

    def _line(self, limit: int, *, first: bool = False) -> bytes:
        """The next line, without its line end, at most ``limit`` bytes with it."""
        start = 0
        while (end := self._buffer.find(b"\n", start)) < 0:
            if len(self._buffer) >= limit:
                raise ConnectionLostError("LineTooLong")
            start = len(self._buffer)
            if not self._fill():
                if first and not self.received_any:
                    raise ConnectionLostError("closed before the answer")
                raise ConnectionLostError("the answer ended early")
        if end + 1 > limit:
            raise ConnectionLostError("LineTooLong")
        line = bytes(self._buffer[:end])
        del self._buffer[: end + 1]
        return line.removesuffix(b"\r")

    def _head_line(self, *, first: bool = False) -> bytes:
        """A line of the head, counted against :data:`MAX_HEAD`."""
        if self._head_left <= 0:
            raise ConnectionLostError("LineTooLong")
        line = self._line(self._head_left, first=first)
        self._head_left -= len(line) + 2
        return line

    def _status_line(self) -> tuple[str, int]:
        line = self._head_line(first=True)
        parts = line.split(b" ", 2)
        if (
            len(parts) < 2
            or len(parts[0]) != 8
            or not parts[0].startswith(b"HTTP/1.")
            or not parts[0][7:].isdigit()
            or len(parts[1]) != 3
            or not parts[1].isdigit()
            or parts[1].startswith(b"0")
        ):
            raise ConnectionLostError("BadStatusLine")
        return parts[0].decode("ascii"), int(parts[1])

    def _fields(self, *, what: str) -> dict[str, list[str]]:
        """The header lines up to the empty one (trailers are read like headers, under
        :data:`MAX_LINE` each and dropped by the caller)."""
        fields: dict[str, list[str]] = {}
        last: list[str] | None = None
        count = 0
        while True:
            line = self._head_line() if what == "header" else self._line(MAX_LINE)
            if not line:
                return fields
            if line[:1] in (b" ", b"\t"):  # obs-fold: the previous value goes on
                if last is None:
                    raise ConnectionLostError(f"bad {what} line")
                last[-1] = f"{last[-1]} {line.strip().decode('latin-1')}"
                continue
            count += 1
            if count > MAX_HEADERS:
                raise ConnectionLostError(f"more than {MAX_HEADERS} {what}s")
            name, colon, value = line.partition(b":")
            if not colon or not name or name != name.strip():
                raise ConnectionLostError(f"bad {what} line")
            last = fields.setdefault(name.decode("latin-1").lower(), [])
            last.append(value.strip().decode("latin-1"))

    def _closes(self) -> bool:
        """Whether the peer closes the connection after this answer, by its version and its
        ``Connection`` header."""
        tokens = {t.strip().lower() for t in (self.header("Connection") or "").split(",")}
        if self.version == "HTTP/1.0":
            return "keep-alive" not in tokens
        return "close" in tokens

    def _content_length(self) -> int | None:
        values = {v.strip() for v in (self.header("Content-Length") or "").split(",") if v}
        if not values:
            return None
        if len(values) > 1 or not all(v.isdigit() and v.isascii() for v in values):
            raise ConnectionLostError("bad Content-Length")
        return int(values.pop())

    def _chunk_size(self) -> int:
        line = self._line(MAX_LINE)
        size = line.partition(b";")[0].strip()  # extensions are ignored
        if not size or size.strip(b"0123456789abcdefABCDEF"):
            raise ConnectionLostError("bad chunk size")
        return int(size, 16)

    def _chunk_end(self) -> None:
        if self._line(MAX_LINE):
            raise ConnectionLostError("bad chunk end")
