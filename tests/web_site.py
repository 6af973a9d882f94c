"""A :class:`~sloctl.runtime.http_server.Site` served on loopback, for the web pages' tests:
requests go through real sockets and the real handler, as they do under ``sloctl run``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sloctl.runtime.http_server import QuietHandler, Site, start_server


@contextmanager
def serving(site: Site) -> Iterator[str]:
    """``site`` on 127.0.0.1 at a free port; yields its base URL (``http://127.0.0.1:N``)."""

    class Handler(QuietHandler):
        def do_GET(self) -> None:
            if not site.answer(self):
                self.reply(404, b"not found\n")

        do_HEAD = do_GET

        def do_POST(self) -> None:
            if not site.answer(self):
                self.reply(404, b"not found\n")

    server = start_server(("127.0.0.1", 0), Handler)
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
