"""A real daemon (configuration loaded from a file, store created) behind the SRE UI on
loopback, for the session and incident page tests: requests go through real sockets."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from io import StringIO
from pathlib import Path

import requests

from sloctl.daemon.loop import Daemon, loaded_from
from sloctl.runtime.logs import make_logger
from sloctl.web import incident_pages, login_pages
from sloctl.web.site import WebSite, routes_of
from sloctl.web.ui import SreUi
from tests.paths import ROOT
from tests.web_site import serving

PASSWORD = "correct horse battery staple"
TOKEN = "t0ken-for-the-ci-bot-0123456789abcdef"

LOGINS = """\
ui:
  logins:
    - {name: alice, password_env: UI_ALICE}
    - {name: ci-bot, token_env: UI_CI_TOKEN}
  session: 1h
"""


@dataclass
class Served:
    base: str
    daemon: Daemon
    ui: SreUi
    log: StringIO
    tmp: Path

    def login(self, name: str = "alice", password: str = PASSWORD) -> requests.Session:
        """A browser-like session logged in (the answer's cookie kept)."""
        browser = requests.Session()
        answer = browser.post(
            f"{self.base}/login",
            data={"name": name, "password": password},
            allow_redirects=False,
            timeout=10,
        )
        assert answer.status_code == 303, answer.text
        return browser


def csrf_of(page: str) -> str:
    """The CSRF token of the first form of ``page``."""
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found is not None, "no CSRF field on the page"
    return found.group(1)


def write_config(tmp: Path, extra: str = LOGINS, slack: str | None = None) -> Path:
    if not (tmp / "definitions").exists():
        shutil.copytree(ROOT / "slo-definitions", tmp / "definitions")
    notifications = (
        "" if slack is None else "notifications:\n  slack: {webhook_url_env: UI_SLACK_HOOK}\n"
    )
    config = tmp / "sloctl.yaml"
    config.write_text(
        "prometheus: {url: 'http://127.0.0.1:9'}\n"
        "definitions: definitions\n"
        f"store: {tmp / 'incidents.db'}\n"
        "listen: 127.0.0.1:0\n" + notifications + extra,
        encoding="utf-8",
    )
    return config


def make_daemon(
    tmp: Path, extra: str = LOGINS, slack: str | None = None
) -> tuple[Daemon, StringIO]:
    """A daemon configured with ``extra`` (logins by default), its store created."""
    config = write_config(tmp, extra, slack)
    env = {"UI_ALICE": PASSWORD, "UI_CI_TOKEN": TOKEN}
    if slack is not None:
        env["UI_SLACK_HOOK"] = f"{slack}/services/T0/B0/secret"
    log = StringIO()
    logger = make_logger("info", stream=log)
    daemon = Daemon(loaded_from(config, env, logger), env, logger)
    daemon.check_store(create=True)
    return daemon, log


@contextmanager
def serving_ui(
    tmp: Path,
    extra: str = LOGINS,
    slack: str | None = None,
    clock: Callable[[], float] | None = None,
) -> Iterator[Served]:
    """The login and incident pages of a fresh daemon on loopback (the sessions' clock
    ``clock`` when given)."""
    daemon, log = make_daemon(tmp, extra, slack)
    ui = SreUi(daemon)
    if clock is not None:
        ui.sessions = replace(ui.sessions, clock=clock)
    site = WebSite(
        routes_of(login_pages.routes(ui), incident_pages.routes(ui)), ui.assets, daemon.logger
    )
    with serving(site) as base:
        yield Served(base, daemon, ui, log, tmp)
