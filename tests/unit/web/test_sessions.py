"""Logins and sessions of the SRE UI through real requests: the cookie's attributes, expiry on
an injected clock, CSRF refusals, the rate limit on failed logins, bearer tokens, and a login
removed from the configuration ending its sessions."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import requests

from sloctl.incidents.policy import Cause
from sloctl.loading.config import UiLogin
from sloctl.runtime.logs import make_logger
from sloctl.web.request import Request
from sloctl.web.sessions import (
    COOKIE,
    FAILURE_WINDOW_SECONDS,
    MAX_FAILURES,
    NAME_FAILURES_FACTOR,
    Sessions,
    Throttle,
    Throttled,
    Viewer,
)
from tests.unit.web.incident_ui import PASSWORD, TOKEN, Served, csrf_of, serving_ui


class Clock:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _declared(served: Served) -> tuple[requests.Session, str]:
    """A logged-in browser and an incident it declared; returns the browser and its CSRF."""
    browser = served.login()
    csrf = csrf_of(browser.get(f"{served.base}/incidents/declare", timeout=10).text)
    answer = browser.post(
        f"{served.base}/incidents/declare",
        data={
            "csrf": csrf,
            "service": "api",
            "severity": "P2",
            "cause": Cause.OTHER.value,
            "summary": "queue stuck",
        },
        allow_redirects=False,
        timeout=10,
    )
    assert answer.status_code == 303, answer.text
    assert answer.headers["Location"] == "/incidents/INC-0001"
    return browser, csrf


def _events(log: StringIO, name: str) -> list[dict[str, object]]:
    return [r for line in log.getvalue().splitlines() if (r := json.loads(line))["event"] == name]


def test_the_session_cookie_is_httponly_strict_and_secure_behind_https(tmp_path: Path) -> None:
    with serving_ui(tmp_path) as served:
        plain = requests.post(
            f"{served.base}/login",
            data={"name": "alice", "password": PASSWORD},
            allow_redirects=False,
            timeout=10,
        )
        assert plain.status_code == 303
        cookie = plain.headers["Set-Cookie"]
        parts = [p.strip() for p in cookie.split(";")]
        assert parts[0].startswith(f"{COOKIE}=")
        assert len(parts[0]) > len(COOKIE) + 30
        assert {"HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=3600"} <= set(parts)
        assert "Secure" not in parts
        proxied = requests.post(
            f"{served.base}/login",
            data={"name": "alice", "password": PASSWORD},
            headers={"X-Forwarded-Proto": "https"},
            allow_redirects=False,
            timeout=10,
        )
        assert "Secure" in [p.strip() for p in proxied.headers["Set-Cookie"].split(";")]
        # two logins, two sessions: tokens are never reused
        assert proxied.headers["Set-Cookie"].split(";")[0] != parts[0]


def test_a_session_expires_after_its_lifetime(tmp_path: Path) -> None:
    clock = Clock()
    with serving_ui(tmp_path, clock=clock) as served:
        browser = served.login()
        assert "Signed in as" in browser.get(f"{served.base}/incidents", timeout=10).text
        clock.now += 3599
        assert "Signed in as" in browser.get(f"{served.base}/incidents", timeout=10).text
        clock.now += 2
        page = browser.get(f"{served.base}/incidents", timeout=10).text
        assert "Signed in as" not in page
        assert 'href="/login"' in page
        assert served.ui.sessions.table == {}  # the expired session is gone, not just hidden


def test_logout_ends_the_session_and_needs_the_csrf_token(tmp_path: Path) -> None:
    with serving_ui(tmp_path) as served:
        browser = served.login()
        page = browser.get(f"{served.base}/incidents", timeout=10).text
        refused = browser.post(
            f"{served.base}/logout", data={"note": ""}, allow_redirects=False, timeout=10
        )
        assert refused.status_code == 403
        assert "Signed in as" in browser.get(f"{served.base}/incidents", timeout=10).text
        out = browser.post(
            f"{served.base}/logout",
            data={"csrf": csrf_of(page)},
            allow_redirects=False,
            timeout=10,
        )
        assert out.status_code == 303
        assert "Max-Age=0" in out.headers["Set-Cookie"]
        assert served.ui.sessions.table == {}


def test_state_changing_posts_without_the_right_csrf_token_are_refused(tmp_path: Path) -> None:
    with serving_ui(tmp_path) as served:
        browser, csrf = _declared(served)
        url = f"{served.base}/incidents/INC-0001/acknowledge"
        for data, headers in (
            ({"note": ""}, {}),
            ({"csrf": "not-the-token"}, {}),
            ({"csrf": csrf + "x"}, {}),
            ({"csrf": csrf}, {"Origin": "http://evil.example"}),
            ({"csrf": csrf}, {"Origin": "null"}),
            ({"csrf": csrf}, {"Sec-Fetch-Site": "cross-site"}),
        ):
            answer = browser.post(
                url, data=data, headers=headers, allow_redirects=False, timeout=10
            )
            assert answer.status_code == 403, (data, headers)
        nobody = requests.post(url, data={"csrf": csrf}, allow_redirects=False, timeout=10)
        assert nobody.status_code == 403  # no session: the token alone is nothing
        page = browser.get(f"{served.base}/incidents/INC-0001", timeout=10).text
        assert "acknowledged" not in page.split('id="incident-state"')[1][:40]
        same_site = browser.post(
            url,
            data={"csrf": csrf, "note": "mine"},
            headers={"Origin": served.base, "Sec-Fetch-Site": "same-origin"},
            allow_redirects=False,
            timeout=10,
        )
        assert same_site.status_code == 303


def test_failed_logins_are_rate_limited_logged_and_never_log_the_password(
    tmp_path: Path,
) -> None:
    clock = Clock()
    with serving_ui(tmp_path, clock=clock) as served:
        for _ in range(MAX_FAILURES):
            wrong = requests.post(
                f"{served.base}/login",
                data={"name": "alice", "password": "hunter2-wrong"},
                allow_redirects=False,
                timeout=10,
            )
            assert wrong.status_code == 401
            assert "Wrong name or password." in wrong.text
        throttled = requests.post(
            f"{served.base}/login",
            data={"name": "alice", "password": PASSWORD},  # right, but too late
            allow_redirects=False,
            timeout=10,
        )
        assert throttled.status_code == 429
        assert int(throttled.headers["Retry-After"]) == int(FAILURE_WINDOW_SECONDS)
        assert "Set-Cookie" not in throttled.headers
        clock.now += FAILURE_WINDOW_SECONDS
        assert served.login().cookies.get(COOKIE)
        failed = _events(served.log, "ui_login_failed")
        assert len(failed) == MAX_FAILURES
        assert failed[0]["name"] == "alice"
        assert failed[0]["client"] == "127.0.0.1"
        assert "hunter2" not in served.log.getvalue()
        assert PASSWORD not in served.log.getvalue()
        assert TOKEN not in served.log.getvalue()


def _sessions(logins: list[UiLogin], clock: Clock) -> Sessions:
    return Sessions(
        logins=lambda: tuple(logins),
        lifetime=lambda: 60.0,
        logger=make_logger("info", stream=StringIO()),
        clock=clock,
    )


def _request(viewer: Viewer, **form: str) -> Request:
    return Request(
        "POST",
        "/x",
        headers={"host": "h"},
        cookies={COOKIE: viewer.token},
        form={k: [v] for k, v in form.items()},
    )


def test_the_rate_limit_counts_per_client_and_per_name() -> None:
    clock = Clock()
    sessions = _sessions([UiLogin("alice", "pw"), UiLogin("bob", "pw2")], clock)
    for _ in range(MAX_FAILURES):
        assert sessions.login("alice", "wrong", "10.0.0.1") is None  # one guesser
    assert isinstance(sessions.login("alice", "pw", "10.0.0.1"), Throttled)
    assert isinstance(sessions.login("alice", "pw", "10.0.0.99"), Viewer)  # not locked out
    for n in range(MAX_FAILURES * (NAME_FAILURES_FACTOR - 1)):  # with the 5 above: the limit
        assert sessions.login("alice", "wrong", f"10.1.{n // 250}.{n % 250}") is None
    assert isinstance(sessions.login("alice", "pw", "10.0.0.99"), Throttled)  # a spread guess
    assert isinstance(sessions.login("bob", "pw2", "10.0.0.99"), Viewer)  # another name is fine
    for n in range(MAX_FAILURES):
        assert sessions.login(f"nobody{n}", "x", "10.9.9.9") is None  # one client, many names
    assert isinstance(sessions.login("bob", "pw2", "10.9.9.9"), Throttled)
    assert isinstance(sessions.login("bob", "pw2", "10.0.0.98"), Viewer)


def test_the_failure_counts_are_bounded() -> None:
    clock = Clock()
    throttle = Throttle(clock, capacity=100)
    for n in range(1000):
        throttle.fail(f"client:{n}")
    assert len(throttle.failures) == 100
    assert "client:999" in throttle.failures
    assert "client:0" not in throttle.failures


def test_a_login_removed_or_changed_in_the_configuration_ends_its_sessions() -> None:
    clock = Clock()
    logins = [UiLogin("alice", "pw"), UiLogin("bob", "pw2")]
    sessions = _sessions(logins, clock)
    alice = sessions.login("alice", "pw", "c")
    bob = sessions.login("bob", "pw2", "c")
    assert isinstance(alice, Viewer)
    assert isinstance(bob, Viewer)
    assert sessions.viewer(_request(alice)) == alice
    logins[:] = [UiLogin("bob", "new password")]  # what a SIGHUP reload swaps in
    assert sessions.viewer(_request(alice)) is None  # removed
    assert sessions.viewer(_request(bob)) is None  # its password changed
    assert sessions.table == {}


def test_a_reload_without_the_login_logs_it_out(tmp_path: Path) -> None:
    with serving_ui(tmp_path) as served:
        browser = served.login()
        assert "Signed in as" in browser.get(f"{served.base}/incidents", timeout=10).text
        config = served.daemon.loaded.config.source
        config.write_text(
            config.read_text(encoding="utf-8").replace(
                "    - {name: alice, password_env: UI_ALICE}\n",
                "    - {name: carol, password_env: UI_ALICE}\n",
            ),
            encoding="utf-8",
        )
        served.daemon.reload()
        assert served.daemon.snapshot.reload_successful
        page = browser.get(f"{served.base}/incidents", timeout=10).text
        assert "Signed in as" not in page


def test_a_program_acts_with_its_bearer_token_and_no_cookie_or_csrf(tmp_path: Path) -> None:
    with serving_ui(tmp_path) as served:
        _declared(served)
        url = f"{served.base}/incidents/INC-0001/acknowledge"
        acked = requests.post(
            url,
            data={"note": "ci saw it"},
            headers={"Authorization": f"Bearer {TOKEN}"},
            allow_redirects=False,
            timeout=10,
        )
        assert acked.status_code == 303
        assert "Set-Cookie" not in acked.headers
        for wrong in ("Bearer not-the-token", f"Bearer {PASSWORD}", f"Basic {TOKEN}"):
            refused = requests.post(
                f"{served.base}/incidents/INC-0001/resolve",
                data={"note": ""},
                headers={"Authorization": wrong},
                allow_redirects=False,
                timeout=10,
            )
            assert refused.status_code == 403, wrong
        as_password = requests.post(
            f"{served.base}/login",
            data={"name": "ci-bot", "password": TOKEN},
            allow_redirects=False,
            timeout=10,
        )
        assert as_password.status_code == 401  # a token login has no password to log in with
        page = requests.get(f"{served.base}/incidents/INC-0001", timeout=10).text
        assert "ci-bot" in page
        assert "ci saw it" in page


def test_without_logins_the_ui_is_read_only_and_offers_no_form(tmp_path: Path) -> None:
    with serving_ui(tmp_path, extra="") as served:
        login = requests.get(f"{served.base}/login", timeout=10)
        assert login.status_code == 200
        assert "read-only" in login.text
        assert 'name="password"' not in login.text
        posted = requests.post(
            f"{served.base}/login",
            data={"name": "alice", "password": PASSWORD},
            allow_redirects=False,
            timeout=10,
        )
        assert posted.status_code == 403
        page = requests.get(f"{served.base}/incidents", timeout=10).text
        assert "Read-only" in page
        assert 'href="/login"' not in page


def test_logging_in_goes_back_to_the_page_asked_for_on_this_site_only(tmp_path: Path) -> None:
    with serving_ui(tmp_path) as served:
        form = requests.get(f"{served.base}/login?next=/incidents/INC-0001", timeout=10).text
        assert 'name="next" value="/incidents/INC-0001"' in form
        for wanted, location in (
            ("/incidents/INC-0001", "/incidents/INC-0001"),
            ("//evil.example/", "/incidents"),
            ("https://evil.example/", "/incidents"),
            ("/\\evil.example", "/incidents"),
            ("/\t/evil.example/", "/incidents"),  # browsers drop the tab: //evil.example/
            ("/incidents\r\nSet-Cookie: sloctl_session=forged", "/incidents"),
            ("/incidents/\N{SNOWMAN}", "/incidents"),
        ):
            answer = requests.post(
                f"{served.base}/login",
                data={"name": "alice", "password": PASSWORD, "next": wanted},
                allow_redirects=False,
                timeout=10,
            )
            assert answer.headers["Location"] == location, wanted
            assert "forged" not in answer.headers.get("Set-Cookie", ""), wanted


def test_wrong_bearer_tokens_are_throttled_like_failed_logins() -> None:
    clock = Clock()
    token = "t" * 40
    sessions = _sessions([UiLogin("ci-bot", token, is_token=True)], clock)

    def bearer(given: str) -> Viewer | None:
        return sessions.viewer(Request("POST", "/", headers={"authorization": f"Bearer {given}"}))

    for _ in range(MAX_FAILURES):
        assert bearer("guess") is None
    assert bearer(token) is None  # throttled: not even compared
    clock.now += FAILURE_WINDOW_SECONDS + 1
    assert bearer(token) == Viewer("ci-bot", bearer=True)
