"""The incident pages through real requests: the list (open first, bounded), one incident with
its timeline, roles, notifications and drafts, the forms (shown only when logged in) and their
refusals, and acting through the daemon's own delivery."""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Iterator
from contextlib import closing
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests

from sloctl.core.severity import Severity
from sloctl.incidents.lifecycle import State, declare, move
from sloctl.incidents.policy import Cause, Finding
from sloctl.incidents.public_summary import set_summary
from sloctl.incidents.roles import Role, assign
from sloctl.store.database import open_store
from sloctl.web.incident_pages import RECENT_RESOLVED
from sloctl.web.ui import sre_ui
from tests.integration.receivers import SLACK_OK, FaultReceiver, receiver
from tests.unit.web.incident_ui import Served, csrf_of, make_daemon, serving_ui
from tests.web_site import serving

HOSTILE = '<script>alert("x")</script>'
ESCAPED = "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;"


@pytest.fixture
def slack() -> Iterator[FaultReceiver]:
    with receiver(SLACK_OK) as started:
        yield started


def _seed(served: Served, resolved: int = 0) -> None:
    """Two open incidents (a P2 first, then a P1 in a maintenance window) and ``resolved``
    resolved ones, written to the store as the daemon writes them."""
    now = datetime.now(UTC).replace(microsecond=0)
    store = open_store(served.daemon.loaded.config.relative(served.daemon.loaded.config.spec.store))
    try:
        with store.transaction() as connection:
            for n in range(resolved):
                at = now - timedelta(days=2, minutes=n)
                old = declare(
                    store.allocate_id(connection),
                    "auth",
                    Finding(Cause.ERRORS, Severity.P3, f"old trouble {n}"),
                    at,
                )
                old = move(old, State.RESOLVED, at + timedelta(minutes=30), actor="sloctl")
                store.save(old, connection=connection, now=at)
            p2 = declare(
                store.allocate_id(connection),
                "api",
                Finding(Cause.LATENCY, Severity.P2, HOSTILE),
                now - timedelta(minutes=20),
            )
            p2, commander = assign(p2, (), Role.COMMANDER, "@ann", now, by="@ann")
            store.save(p2, connection=connection, now=now)
            store.save_assignment(commander, connection=connection)
            summary = set_summary(p2, [commander], "Checkout is slow.", ("api",), now, by="@ann")
            store.save_summary(summary, connection=connection)
            p1 = declare(
                store.allocate_id(connection),
                "auth",
                Finding(Cause.ERRORS, Severity.P1, "logins failing"),
                now - timedelta(minutes=5),
            )
            p1 = replace(p1, suppressed_by="db-upgrade")
            store.save(p1, connection=connection, now=now)
    finally:
        store.close()


def _ids(page: str) -> list[str]:
    return re.findall(r'<td><a href="/incidents/(INC-\d+)">', page)


def test_the_list_shows_open_incidents_first_then_recent_resolved_ones(tmp_path: Path) -> None:
    with serving_ui(tmp_path) as served:
        _seed(served, resolved=RECENT_RESOLVED + 2)
        page = requests.get(f"{served.base}/incidents", timeout=10).text
        ids = _ids(page)
        open_p2, open_p1 = f"INC-{RECENT_RESOLVED + 3:04d}", f"INC-{RECENT_RESOLVED + 4:04d}"
        assert ids[:2] == [open_p1, open_p2]  # open first, the most severe first
        assert len(ids) == 2 + RECENT_RESOLVED  # then the most recent resolved, bounded
        assert ids[2] == "INC-0001"  # the most recently resolved
        assert "INC-0052" not in ids
        assert "no (maintenance window db-upgrade)" in page
        assert "@ann" in page
        assert HOSTILE not in page
        assert ESCAPED in page
        everything = _ids(requests.get(f"{served.base}/incidents?all=1", timeout=10).text)
        assert len(everything) == RECENT_RESOLVED + 4


def test_an_empty_store_and_an_unknown_incident(tmp_path: Path) -> None:
    with serving_ui(tmp_path) as served:
        empty = requests.get(f"{served.base}/incidents", timeout=10)
        assert empty.status_code == 200
        assert "No incident is open" in empty.text
        missing = requests.get(f"{served.base}/incidents/INC-0404", timeout=10)
        assert missing.status_code == 404
        assert "No incident INC-0404" in missing.text
        assert str(tmp_path) not in missing.text  # no path of the server's


def test_a_store_that_cannot_be_read_is_a_clear_503(tmp_path: Path) -> None:
    with serving_ui(tmp_path) as served:
        store = served.daemon.loaded.config.relative(served.daemon.loaded.config.spec.store)
        store.write_bytes(b"this is not a database" * 100)
        answer = requests.get(f"{served.base}/incidents", timeout=10)
        assert answer.status_code == 503
        assert "cannot be read right now" in answer.text


def test_the_incident_page_shows_timeline_roles_summary_and_drafts(tmp_path: Path) -> None:
    with serving_ui(tmp_path) as served:
        _seed(served)
        page = requests.get(f"{served.base}/incidents/INC-0001", timeout=10).text
        assert "Incident Commander" in page
        assert "@ann" in page
        assert "Checkout is slow." in page  # the public summary
        assert "Post-mortem draft" in page
        assert "# Incident Post-Mortem: INC-0001" in page
        assert "sloctl incidents postmortem INC-0001" in page  # where the budgets come from
        assert HOSTILE not in page
        assert ESCAPED in page
        # read-only to someone not logged in: no form, a way to log in
        assert 'action="/incidents/INC-0001/acknowledge"' not in page
        assert 'href="/login?next=/incidents/INC-0001"' in page


def test_logged_in_the_forms_carry_the_csrf_token(tmp_path: Path) -> None:
    with serving_ui(tmp_path) as served:
        _seed(served)
        browser = served.login()
        page = browser.get(f"{served.base}/incidents/INC-0001", timeout=10).text
        token = csrf_of(page)
        for action in ("acknowledge", "update", "resolve"):
            form = page.split(f'action="/incidents/INC-0001/{action}"')[1].split("</form>")[0]
            assert f'name="csrf" value="{token}"' in form
        assert 'action="/incidents/INC-0001/mitigate"' in page


def test_acknowledging_queues_for_the_daemons_courier_and_wakes_it(
    tmp_path: Path, slack: FaultReceiver
) -> None:
    with serving_ui(tmp_path, slack=slack.url) as served:
        _seed(served)
        served.daemon.delivery.wake.clear()
        browser = served.login()
        token = csrf_of(browser.get(f"{served.base}/incidents/INC-0001", timeout=10).text)
        acked = browser.post(
            f"{served.base}/incidents/INC-0001/acknowledge",
            data={"csrf": token, "note": "looking at the database"},
            allow_redirects=False,
            timeout=10,
        )
        assert acked.status_code == 303
        assert acked.headers["Location"] == "/incidents/INC-0001"
        assert served.daemon.delivery.wake.is_set()
        assert slack.received == []  # nothing is sent from the request's thread
        page = browser.get(f"{served.base}/incidents/INC-0001", timeout=10).text
        timeline = page.split('id="timeline"')[1].split("</table>")[0]
        assert "detected &rarr; acknowledged" in timeline
        assert "looking at the database" in timeline
        assert ">alice<" in timeline
        notifications = page.split('id="notifications"')[1].split("</table>")[0]
        assert "acknowledged" in notifications
        assert "pending" in notifications
        served.daemon.delivery.start()
        try:
            slack.wait_for(
                "the acknowledgement",
                lambda got: any("looking at the database" in r.text for r in got),
                timeout=20,
            )
        finally:
            served.daemon.delivery.stop(time.monotonic() + 3)
            served.daemon.delivery.join(time.monotonic() + 5)
        deadline = time.monotonic() + 10
        while "delivered" not in browser.get(f"{served.base}/incidents/INC-0001", timeout=10).text:
            assert time.monotonic() < deadline, "the delivery was never shown"
            time.sleep(0.1)


def test_an_update_mitigates_and_resolving_writes_the_customer_draft(tmp_path: Path) -> None:
    with serving_ui(tmp_path) as served:
        _seed(served)
        browser = served.login()
        token = csrf_of(browser.get(f"{served.base}/incidents/INC-0002", timeout=10).text)
        updated = browser.post(
            f"{served.base}/incidents/INC-0002/update",
            data={
                "csrf": token,
                "status": "mitigating",
                "text": "failing over",
                "actions": "fail over\n\nwatch logins\n",
            },
            allow_redirects=False,
            timeout=10,
        )
        assert updated.status_code == 303
        page = browser.get(f"{served.base}/incidents/INC-0002", timeout=10).text
        assert ">mitigating<" in page
        assert "<li>fail over</li>" in page
        assert "<li>watch logins</li>" in page
        resolved = browser.post(
            f"{served.base}/incidents/INC-0002/resolve",
            data={"csrf": token, "note": "failed over"},
            allow_redirects=False,
            timeout=10,
        )
        assert resolved.status_code == 303
        page = browser.get(f"{served.base}/incidents/INC-0002", timeout=10).text
        assert "Customer communication draft" in page
        draft = served.daemon.loaded.config.drafts / "INC-0002-customer.md"
        assert draft.is_file()
        assert f"Written to {draft}" in page
        assert 'action="/incidents/INC-0002/' not in page  # resolved: nothing left to do


def test_wrong_fields_re_render_the_form_with_one_message_each(tmp_path: Path) -> None:
    with serving_ui(tmp_path) as served:
        _seed(served)
        browser = served.login()
        token = csrf_of(browser.get(f"{served.base}/incidents/INC-0001", timeout=10).text)
        update = browser.post(
            f"{served.base}/incidents/INC-0001/update",
            data={"csrf": token, "status": "partying", "text": "   ", "actions": "x" * 400},
            timeout=10,
        )
        assert update.status_code == 400
        errors = re.findall(r'class="field-error" id="update-(\w+)-error">([^<]+)<', update.text)
        assert [name for name, _ in errors] == ["status", "text", "actions"]
        assert 'aria-invalid="true"' in update.text
        note = browser.post(
            f"{served.base}/incidents/INC-0001/acknowledge",
            data={"csrf": token, "note": "n" * 1001},
            timeout=10,
        )
        assert note.status_code == 400
        assert "At most 1000 characters (1001 given)." in note.text
        declare_page = browser.get(f"{served.base}/incidents/declare", timeout=10)
        declared = browser.post(
            f"{served.base}/incidents/declare",
            data={
                "csrf": csrf_of(declare_page.text),
                "service": "not-a-service",
                "severity": "P9",
                "cause": "errors",
                "summary": "",
            },
            timeout=10,
        )
        assert declared.status_code == 400
        errors = re.findall(r'class="field-error" id="declare-(\w+)-error">([^<]+)<', declared.text)
        assert dict(errors) == {
            "service": "Choose one of the configured services.",
            "severity": "Choose P1, P2, P3 or P4.",
            "summary": "Say what is happening, in one line.",
        }
        store = open_store(
            served.daemon.loaded.config.relative(served.daemon.loaded.config.spec.store)
        )
        try:
            assert len(store.incidents()) == 2  # nothing was declared
            assert store.updates("INC-0001") == []
        finally:
            store.close()


def test_a_step_the_lifecycle_refuses_is_a_clear_409(tmp_path: Path) -> None:
    with serving_ui(tmp_path) as served:
        _seed(served)
        browser = served.login()
        token = csrf_of(browser.get(f"{served.base}/incidents/INC-0001", timeout=10).text)
        url = f"{served.base}/incidents/INC-0001/acknowledge"
        first = browser.post(
            url, data={"csrf": token, "note": ""}, allow_redirects=False, timeout=10
        )
        assert first.status_code == 303
        again = browser.post(url, data={"csrf": token, "note": ""}, timeout=10)
        assert again.status_code == 409
        assert "INC-0001 was already acknowledged" in again.text
        twice = browser.post(
            f"{served.base}/incidents/declare",
            data={
                "csrf": token,
                "service": "api",
                "severity": "P3",
                "cause": "latency",
                "summary": "slow again",
            },
            timeout=10,
        )
        assert twice.status_code == 409
        assert "INC-0001 is already open for api (latency); update that one" in twice.text


def test_sre_ui_serves_the_incident_and_login_pages(tmp_path: Path) -> None:
    daemon, _log = make_daemon(tmp_path)
    with serving(sre_ui(daemon)) as base:
        assert requests.get(f"{base}/incidents", timeout=10).status_code == 200
        assert 'name="password"' in requests.get(f"{base}/login", timeout=10).text
        assert requests.get(f"{base}/static/incidents.css", timeout=10).status_code == 200


def test_a_change_the_store_refuses_is_a_clear_409_and_changes_nothing(tmp_path: Path) -> None:
    with serving_ui(tmp_path) as served:
        _seed(served)
        path = served.daemon.loaded.config.relative(served.daemon.loaded.config.spec.store)
        # The store refuses any new timeline line, as it refuses a change that breaks its rules.
        with closing(sqlite3.connect(path)) as connection:
            connection.execute(
                "CREATE TRIGGER refuse BEFORE INSERT ON timeline "
                "BEGIN SELECT RAISE(ABORT, 'refused'); END"
            )
            connection.commit()
        browser = served.login()
        token = csrf_of(browser.get(f"{served.base}/incidents/INC-0001", timeout=10).text)
        refused = browser.post(
            f"{served.base}/incidents/INC-0001/acknowledge",
            data={"csrf": token, "note": "mine"},
            allow_redirects=False,
            timeout=10,
        )
        assert refused.status_code == 409
        assert "The incident changed while this was sent: look again and retry." in refused.text
        store = open_store(path)
        try:
            kept = store.get("INC-0001")
            assert kept is not None
            assert kept.state is State.DETECTED
            assert store.outbox() == []
        finally:
            store.close()
