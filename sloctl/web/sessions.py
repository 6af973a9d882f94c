"""Who may act on incidents from the web UI: logins, sessions, CSRF and the rate limit.

A person logs in with the name and password of one of the configuration's ``ui.logins``; the
answer sets a random session token in a cookie (``HttpOnly; SameSite=Strict; Path=/``, plus
``Secure`` when the request came over https, as a TLS-terminating proxy says with
``X-Forwarded-Proto: https``). Sessions are held in memory: they last
``ui.session`` (:attr:`Config.session_seconds`), a restart of the daemon logs everyone out,
and a session ends as soon as its login is no longer in the configuration (or its password
changed) after a reload. Every state-changing form carries the session's CSRF token in the
hidden field :data:`CSRF_FIELD`, compared in constant time, and a cross-site ``Origin`` or
``Sec-Fetch-Site`` is refused. A program (a ``token_env`` / ``token_file`` login) sends
``Authorization: Bearer <token>`` instead: no cookie, no CSRF token.

Failed logins are counted per client address, per name from one address, and per name from
all addresses together: :data:`MAX_FAILURES` (for the last, :data:`NAME_FAILURES_FACTOR` times
as many) within :data:`FAILURE_WINDOW_SECONDS`, and further attempts are refused (429) until
the oldest failure is that old. So one guesser cannot lock a person out of their own login,
and only a guess spread over many addresses locks a name. A wrong bearer token counts against
its client as a failed login does. Counts are in memory, for at most :data:`MAX_TRACKED` keys.
A failed login is logged as ``ui_login_failed`` with the name and client, never the password.
Behind a proxy every client has the proxy's address: the per-address limits then count the
proxy's clients together.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from sloctl.loading.config import LOGIN_NAME_MAX, UiLogin
from sloctl.runtime.logs import Logger
from sloctl.web.request import Request

COOKIE = "sloctl_session"
CSRF_FIELD = "csrf"
MAX_FAILURES = 5
NAME_FAILURES_FACTOR = 10
FAILURE_WINDOW_SECONDS = 300.0
MAX_TRACKED = 10_000
"""Clients and names whose failures are remembered; the stalest are forgotten beyond it."""
MAX_SESSIONS = 10_000
"""Sessions held at once; the oldest is ended beyond it."""
TOKEN_BYTES = 32
MAX_SECRET_CHARS = 1024
"""A longer password or token is refused unread (nothing is hashed for it)."""


def _fingerprint(secret: str) -> bytes:
    return hashlib.sha256(secret.encode("utf-8")).digest()


def _same(given: str, expected: str) -> bool:
    """Constant-time comparison of two secrets (their digests: lengths leak nothing)."""
    return hmac.compare_digest(_fingerprint(given), _fingerprint(expected))


@dataclass(frozen=True)
class Viewer:
    """Who a request comes from."""

    name: str
    csrf: str = field(repr=False, default="")
    """The session's CSRF token (empty for a bearer token: it needs none)."""
    bearer: bool = False
    token: str = field(repr=False, default="")
    """The session token (empty for a bearer token)."""


@dataclass
class _Session:
    name: str
    csrf: str
    expires: float
    secret: bytes
    """The login's password fingerprint when the session began: a changed password ends it."""


@dataclass(frozen=True)
class Throttled:
    """Too many failed logins: try again in ``retry_after`` seconds."""

    retry_after: int


@dataclass
class Throttle:
    """Failed attempts per key (a client address or a name) within a sliding window."""

    clock: Callable[[], float]
    limit: int = MAX_FAILURES
    window: float = FAILURE_WINDOW_SECONDS
    capacity: int = MAX_TRACKED
    failures: OrderedDict[str, deque[float]] = field(default_factory=OrderedDict)

    def _recent(self, key: str, now: float) -> deque[float] | None:
        found = self.failures.get(key)
        if found is None:
            return None
        while found and found[0] <= now - self.window:
            found.popleft()
        if not found:
            del self.failures[key]
            return None
        return found

    def wait(self, key: str) -> float:
        """Seconds until ``key`` may try again (0: now)."""
        now = self.clock()
        found = self._recent(key, now)
        if found is None or len(found) < self.limit:
            return 0.0
        return found[-self.limit] + self.window - now

    def fail(self, key: str) -> None:
        now = self.clock()
        found = self._recent(key, now)
        if found is None:
            found = self.failures[key] = deque(maxlen=self.limit)
        found.append(now)
        self.failures.move_to_end(key)
        while len(self.failures) > self.capacity:
            self.failures.popitem(last=False)


@dataclass
class Sessions:
    """The session table of one UI, and the logins it checks against (read on every request,
    so a reload that removes a login ends its sessions)."""

    logins: Callable[[], Sequence[UiLogin]]
    lifetime: Callable[[], float]
    """Seconds a session lasts (``ui.session``)."""
    logger: Logger
    clock: Callable[[], float] = time.monotonic
    table: OrderedDict[str, _Session] = field(default_factory=OrderedDict)
    throttle: Throttle = field(init=False)
    """Failures per client, and per name from one client."""
    name_throttle: Throttle = field(init=False)
    """Failures per name from every client: only many clients together lock a name out."""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.throttle = Throttle(self.clock)
        self.name_throttle = Throttle(self.clock, limit=MAX_FAILURES * NAME_FAILURES_FACTOR)

    @property
    def enabled(self) -> bool:
        """Whether anyone can log in with a password (else the UI is read-only to people)."""
        return any(not login.is_token for login in self.logins())

    def _login(self, name: str, *, token: bool) -> UiLogin | None:
        return next((x for x in self.logins() if x.name == name and x.is_token == token), None)

    def login(self, name: str, password: str, client: str) -> Viewer | Throttled | None:
        """A new session for ``name`` when ``password`` is its password; None when it is not
        (logged, and counted against ``client`` and ``name``); :class:`Throttled` when either
        has failed too often (the password is not even checked)."""
        with self.lock:
            wait = max(
                self.throttle.wait(f"client:{client}"),
                self.throttle.wait(_pair(name, client)),
                self.name_throttle.wait(f"name:{name[:LOGIN_NAME_MAX]}"),
            )
            if wait > 0:
                self.logger.warning("ui_login_throttled", name=name[:LOGIN_NAME_MAX], client=client)
                return Throttled(max(1, math.ceil(wait)))
            found = self._login(name, token=False)
            expected = found.secret if found is not None else secrets.token_hex(16)
            ok = len(password) <= MAX_SECRET_CHARS and _same(password, expected)
            if found is None or not ok:
                self.throttle.fail(f"client:{client}")
                self.throttle.fail(_pair(name, client))
                self.name_throttle.fail(f"name:{name[:LOGIN_NAME_MAX]}")
                self.logger.warning("ui_login_failed", name=name[:LOGIN_NAME_MAX], client=client)
                return None
            token = secrets.token_urlsafe(TOKEN_BYTES)
            session = _Session(
                found.name,
                secrets.token_urlsafe(TOKEN_BYTES),
                self.clock() + self.lifetime(),
                _fingerprint(found.secret),
            )
            self._prune()
            self.table[token] = session
            while len(self.table) > MAX_SESSIONS:
                self.table.popitem(last=False)
        self.logger.info("ui_login", name=found.name, client=client)
        return Viewer(found.name, session.csrf, token=token)

    def _prune(self) -> None:
        """End the sessions that have expired."""
        now = self.clock()
        expired = [token for token, session in self.table.items() if session.expires <= now]
        for token in expired:
            del self.table[token]

    def logout(self, viewer: Viewer) -> None:
        with self.lock:
            self.table.pop(viewer.token, None)
        self.logger.info("ui_logout", name=viewer.name)

    def viewer(self, request: Request) -> Viewer | None:
        """Who ``request`` comes from: a bearer token's login, a live session's, or None."""
        header = request.headers.get("authorization", "")
        scheme, _, given = header.partition(" ")
        if scheme.lower() == "bearer" and given.strip():
            return self._bearer(given.strip(), request.client)
        token = request.cookies.get(COOKIE, "")
        if not token:
            return None
        with self.lock:
            session = self.table.get(token)
            if session is None:
                return None
            login = self._login(session.name, token=False)
            if (
                self.clock() >= session.expires
                or login is None
                or not hmac.compare_digest(_fingerprint(login.secret), session.secret)
            ):
                del self.table[token]  # expired, or its login is gone from the configuration
                return None
        return Viewer(session.name, session.csrf, token=token)

    def _bearer(self, given: str, client: str) -> Viewer | None:
        """The token login ``given`` is; a wrong token counts against ``client`` as a failed
        login does, and a throttled client's tokens are not even compared (nor logged)."""
        key = f"client:{client}"
        with self.lock:
            if self.throttle.wait(key) > 0:
                return None
        matched = None
        if len(given) <= MAX_SECRET_CHARS:
            for login in self.logins():  # every token compared: the time says nothing of which
                if login.is_token and _same(given, login.secret) and matched is None:
                    matched = login
        if matched is None:
            with self.lock:
                self.throttle.fail(key)
            self.logger.warning("ui_token_refused", client=client)
            return None
        return Viewer(matched.name, bearer=True)

    def forged(self, request: Request, viewer: Viewer | None) -> str | None:
        """Why a state-changing ``request`` from ``viewer`` must be refused as a cross-site
        forgery (None: it may go on). A bearer token needs no CSRF token."""
        site = request.headers.get("sec-fetch-site")
        if site is not None and site not in {"same-origin", "none"}:
            return f"a {site} request cannot change anything here"
        origin = request.headers.get("origin")
        # The pages' Referrer-Policy (same-origin) has browsers name this site's origin on
        # its own forms; "null" (a sandboxed frame, a privacy setting) is not this site.
        if origin is not None:
            host = request.headers.get("host", "")
            if origin == "null" or urlsplit(origin).netloc != host:
                return "the request came from another site"
        if viewer is not None and viewer.bearer:
            return None
        if viewer is None:
            return None  # the login form: no session yet
        given = request.field(CSRF_FIELD)
        if not given or not hmac.compare_digest(given.encode(), viewer.csrf.encode()):
            return "the form's CSRF token is missing or wrong: reload the page and try again"
        return None


def _pair(name: str, client: str) -> str:
    """The throttle's key for one name tried from one client: someone else's failures can
    never lock a person out of their own login."""
    return f"name:{name[:LOGIN_NAME_MAX]}@{client}"


def cookie(viewer: Viewer, lifetime: float, request: Request) -> str:
    """The ``Set-Cookie`` value of ``viewer``'s session."""
    return _cookie(viewer.token, int(lifetime), request)


def cleared(request: Request) -> str:
    """A ``Set-Cookie`` that ends the session cookie."""
    return _cookie("", 0, request)


def _cookie(value: str, max_age: int, request: Request) -> str:
    secure = "; Secure" if secure_request(request) else ""
    return f"{COOKIE}={value}; Max-Age={max_age}; Path=/; HttpOnly; SameSite=Strict{secure}"


def secure_request(request: Request) -> bool:
    """Whether the request reached the daemon over https: through a proxy that terminates TLS
    and says so (``X-Forwarded-Proto: https``); sloctl itself serves plain http."""
    return request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower() == "https"
