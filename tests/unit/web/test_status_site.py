"""The status page through real sockets: Statuspage's JSON field by field, the Atom feed, no
cookies, no writes, nothing internal, hostile names escaped, the store read sparingly."""

from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from io import StringIO
from pathlib import Path

import pytest
import requests

from sloctl.core.severity import Severity
from sloctl.daemon.exporter import Snapshot
from sloctl.daemon.loop import Daemon, loaded_from
from sloctl.incidents.cadence import Status, apply_update
from sloctl.incidents.lifecycle import State, declare, move
from sloctl.incidents.policy import Cause, Finding
from sloctl.incidents.public_summary import PublicSummary
from sloctl.incidents.roles import Assignment, Role
from sloctl.runtime.logs import make_logger
from sloctl.store.database import open_store
from sloctl.web.request import Request
from sloctl.web.response import Response, text
from sloctl.web.status_site import StatusPages, StatusView, stable_id, status_site
from tests.paths import ROOT
from tests.web_site import serving

NOW = datetime(2026, 12, 10, 12, 0, tzinfo=UTC)
HOSTILE = '<script>alert("x")</script> & "API"'
PROMQL = 'sum(rate(http_requests_total{service="api",code=~"5.."}[5m]))'
THRESHOLD = "error ratio above 50% over 5m"
HANDLE = "@mallory.oncall"
NOTE = "internal: db-7 primary failed over, see ticket OPS-4711"
ATOM = "{http://www.w3.org/2005/Atom}"


def setup(tmp_path: Path, status_page: str) -> Daemon:
    shutil.copytree(ROOT / "slo-definitions", tmp_path / "definitions")
    config = tmp_path / "sloctl.yaml"
    config.write_text(
        "prometheus: {url: 'http://127.0.0.1:9'}\n"
        "definitions: definitions\n"
        f"store: {tmp_path / 'incidents.db'}\n"
        "listen: 127.0.0.1:0\n" + status_page
    )
    logger = make_logger("info", stream=StringIO())
    daemon = Daemon(loaded_from(config, {}, logger), {}, logger)
    daemon.check_store(create=True)
    return daemon


def record(daemon: Daemon) -> None:
    """A resolved P2 two days ago and an open P1 now, each with internal details planted."""
    store = open_store(daemon.loaded.config.relative(daemon.loaded.config.spec.store))
    try:
        store.note_watching(NOW - timedelta(days=30))
        old = declare(
            "INC-0001",
            "auth",
            Finding(Cause.LATENCY, Severity.P2, f"{THRESHOLD} ({PROMQL})"),
            NOW - timedelta(days=2),
            impact_started_at=NOW - timedelta(days=2, minutes=5),
        )
        old = move(
            old,
            State.ACKNOWLEDGED,
            NOW - timedelta(days=2) + timedelta(minutes=2),
            actor=HANDLE,
            note=NOTE,
        )
        old = move(
            old,
            State.MONITORING,
            NOW - timedelta(days=2) + timedelta(minutes=30),
            actor="sloctl",
            note=THRESHOLD,
        )
        old = move(
            old,
            State.RESOLVED,
            NOW - timedelta(days=2) + timedelta(minutes=45),
            actor=HANDLE,
            note=NOTE,
        )
        current = declare(
            "INC-0002",
            "api",
            Finding(Cause.ERRORS, Severity.P1, f"{THRESHOLD} ({PROMQL})"),
            NOW - timedelta(minutes=20),
            impact_started_at=NOW - timedelta(minutes=21),
        )
        current, update = apply_update(
            current,
            Status.MITIGATING,
            "A faulty release is being rolled back",
            (f"{HANDLE} drains pods",),
            NOW - timedelta(minutes=10),
            by=HANDLE,
        )
        with store.transaction() as connection:
            store.save(old, connection=connection, now=NOW)
            store.save(current, connection=connection, now=NOW)
            store.save_update(update, connection=connection)
            store.save_assignment(
                Assignment(current.id, Role.COMMANDER, HANDLE, NOW - timedelta(minutes=19), HANDLE),
                connection=connection,
            )
            store.save_summary(
                PublicSummary(
                    current.id,
                    NOW - timedelta(minutes=8),
                    "Some requests to the API fail",
                    ("api",),
                    HANDLE,
                ),
                connection=connection,
            )
    finally:
        store.close()


@pytest.fixture
def site_url(tmp_path: Path) -> Iterator[str]:
    daemon = setup(
        tmp_path,
        "status_page:\n  title: IntelliFlow status\n  url: https://status.example.test/\n"
        "  components: {api: API, auth: Sign-in}\n",
    )
    record(daemon)
    with serving(status_site(daemon, clock=lambda: NOW)) as url:
        yield url


def test_summary_json_has_statuspages_shape_field_by_field(site_url: str) -> None:
    answer = requests.get(f"{site_url}/api/v2/summary.json", timeout=5)
    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == "application/json"
    assert answer.headers["Cache-Control"] == "public, max-age=30"
    summary = answer.json()
    assert set(summary) == {"page", "status", "components", "incidents", "scheduled_maintenances"}
    page = summary["page"]
    assert set(page) == {"id", "name", "url", "time_zone", "updated_at"}
    assert (page["name"], page["url"], page["time_zone"]) == (
        "IntelliFlow status",
        "https://status.example.test",
        "Etc/UTC",
    )
    assert page["updated_at"] == "2026-12-10T11:52:00Z"  # the latest public update
    assert summary["status"] == {"indicator": "critical", "description": "Major System Outage"}
    components = summary["components"]
    assert [(c["name"], c["status"], c["position"]) for c in components] == [
        ("API", "major_outage", 1),
        ("Sign-in", "operational", 2),
        ("ai-worker", "operational", 3),
        ("database", "operational", 4),
    ]
    api = components[0]
    assert set(api) == {
        "id", "name", "status", "created_at", "updated_at", "position", "description",
        "showcase", "group_id", "page_id", "group", "only_show_if_degraded", "start_date",
    }  # fmt: skip
    assert api["page_id"] == page["id"]
    assert (api["group"], api["group_id"], api["only_show_if_degraded"], api["showcase"]) == (
        False,
        None,
        False,
        True,
    )
    assert (api["created_at"], api["start_date"]) == ("2026-11-10T12:00:00Z", "2026-11-10")
    assert api["updated_at"] == "2026-12-10T11:39:00Z"  # when the outage started
    assert len({c["id"] for c in components}) == 4
    [incident] = summary["incidents"]  # only the unresolved one
    assert set(incident) == {
        "id", "name", "status", "impact", "created_at", "updated_at", "monitoring_at",
        "resolved_at", "shortlink", "started_at", "page_id", "incident_updates", "components",
    }  # fmt: skip
    assert (incident["name"], incident["status"], incident["impact"]) == (
        "Elevated error rates on API",
        "identified",
        "critical",
    )
    assert (incident["created_at"], incident["started_at"]) == (
        "2026-12-10T11:40:00Z",
        "2026-12-10T11:39:00Z",
    )
    assert (incident["monitoring_at"], incident["resolved_at"]) == (None, None)
    assert incident["shortlink"] == f"https://status.example.test/#incident-{incident['id']}"
    assert [c["id"] for c in incident["components"]] == [api["id"]]
    updates = incident["incident_updates"]
    assert [(u["status"], u["body"], u["created_at"]) for u in updates] == [
        ("identified", "Some requests to the API fail", "2026-12-10T11:52:00Z"),
        ("identified", "A faulty release is being rolled back", "2026-12-10T11:50:00Z"),
        ("investigating", "We are investigating a problem with API.", "2026-12-10T11:40:00Z"),
    ]
    assert all(set(u) >= {"id", "incident_id", "display_at", "updated_at"} for u in updates)
    assert {u["incident_id"] for u in updates} == {incident["id"]}
    assert summary["scheduled_maintenances"] == []


def test_ids_are_stable_and_do_not_give_away_incident_numbers(site_url: str) -> None:
    first = requests.get(f"{site_url}/api/v2/summary.json", timeout=5).json()
    again = requests.get(f"{site_url}/api/v2/summary.json", timeout=5).json()
    assert first == again
    assert first["incidents"][0]["id"] != "INC-0002"
    assert len(first["incidents"][0]["id"]) == 12
    assert (
        stable_id("component", "x", "api")
        == stable_id("component", "x", "api")
        != stable_id("component", "x", "auth")
    )


def test_status_json_is_the_page_and_its_status(site_url: str) -> None:
    status = requests.get(f"{site_url}/api/v2/status.json", timeout=5).json()
    assert set(status) == {"page", "status"}
    assert status["status"]["indicator"] == "critical"


def test_the_page_shows_components_bars_and_incidents(site_url: str) -> None:
    answer = requests.get(site_url, timeout=5)
    assert answer.status_code == 200
    page = answer.text
    assert '<link rel="alternate" type="application/atom+xml"' in page
    assert page.count('<rect class="day') == 4 * 90
    assert "Major System Outage" in page
    assert "Elevated error rates on API" in page
    assert "Slow responses from Sign-in" in page  # resolved two days ago: past incidents
    assert "2026-12-08: 99.27% uptime; Slow responses from Sign-in" in page  # 35 min at 30%
    assert "2026-11-01: no data" in page
    assert "2026-12-10: 97.08% uptime; Elevated error rates on API" in page  # 21 of 720 min
    assert "style=" not in page
    assert "<script" not in page


def test_nothing_internal_appears_on_any_answer(site_url: str) -> None:
    for path in ("/", "/api/v2/summary.json", "/api/v2/status.json", "/history.atom"):
        body = requests.get(site_url + path, timeout=5).text
        for internal in (
            PROMQL,
            "rate(",
            THRESHOLD,
            "50%",
            HANDLE,
            "mallory",
            NOTE,
            "OPS-4711",
            "INC-000",
            "P1",
            "P2",
        ):
            assert internal not in body, (path, internal)


def test_no_cookies_and_no_writes(site_url: str) -> None:
    for path in ("/", "/api/v2/summary.json", "/api/v2/status.json", "/history.atom", "/nothing"):
        answer = requests.get(site_url + path, timeout=5)
        assert "Set-Cookie" not in answer.headers
        refused = requests.post(site_url + path, data={"a": "b"}, timeout=5)
        assert "Set-Cookie" not in refused.headers
        if path != "/nothing":
            assert refused.status_code == 405
            assert refused.headers["Allow"] == "GET"


def test_the_atom_feed_parses_and_holds_public_texts(site_url: str) -> None:
    answer = requests.get(f"{site_url}/history.atom", timeout=5)
    assert answer.headers["Content-Type"] == "application/atom+xml; charset=utf-8"
    feed = ET.fromstring(answer.content)
    assert feed.tag == f"{ATOM}feed"
    for name in ("id", "title", "updated"):
        assert (feed.findtext(f"{ATOM}{name}") or "").strip()
    entries = feed.findall(f"{ATOM}entry")
    assert [e.findtext(f"{ATOM}title") for e in entries] == [
        "Elevated error rates on API (identified)",
        "Slow responses from Sign-in (resolved)",
    ]
    for entry in entries:
        for name in ("id", "title", "updated", "content"):
            assert (entry.findtext(f"{ATOM}{name}") or "").strip()
    assert "This incident has been resolved." in (entries[1].findtext(f"{ATOM}content") or "")


def test_a_hostile_public_name_is_escaped_everywhere(tmp_path: Path) -> None:
    daemon = setup(
        tmp_path, f"status_page:\n  title: '{HOSTILE}'\n  components: {{api: '{HOSTILE}'}}\n"
    )
    record(daemon)
    with serving(status_site(daemon, clock=lambda: NOW)) as url:
        page = requests.get(url, timeout=5).text
        assert HOSTILE not in page
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &#34;API&#34;" in page
        feed = requests.get(f"{url}/history.atom", timeout=5).content
        titles = [e.findtext(f"{ATOM}title") for e in ET.fromstring(feed).iter(f"{ATOM}entry")]
        assert titles[0] == f"Elevated error rates on {HOSTILE} (identified)"  # parsed back whole
        summary = requests.get(f"{url}/api/v2/summary.json", timeout=5).json()
        assert summary["components"][0]["name"] == HOSTILE


def test_show_internal_adds_ids_and_severities(tmp_path: Path) -> None:
    daemon = setup(tmp_path, "status_page:\n  show_internal: true\n")
    record(daemon)
    with serving(status_site(daemon, clock=lambda: NOW)) as url:
        summary = requests.get(f"{url}/api/v2/summary.json", timeout=5).json()
        assert summary["incidents"][0]["name"] == "Elevated error rates on api (INC-0002, P1)"
        assert HANDLE not in requests.get(url, timeout=5).text  # people: never


def test_maintenance_in_force_and_coming(tmp_path: Path) -> None:
    windows = tmp_path / "maintenance.yaml"
    windows.write_text(
        "windows:\n"
        "  - {service: database, name: primary-upgrade,\n"
        "     start: '2026-12-10T11:00:00Z', end: '2026-12-10T13:00:00Z'}\n"
        "  - {service: auth, name: cert-rotation,\n"
        "     start: '2026-12-12T01:00:00Z', end: '2026-12-12T02:00:00Z'}\n"
    )
    daemon = setup(tmp_path, "maintenance: maintenance.yaml\nstatus_page: {}\n")
    with serving(status_site(daemon, clock=lambda: NOW)) as url:
        summary = requests.get(f"{url}/api/v2/summary.json", timeout=5).json()
    assert summary["status"] == {"indicator": "none", "description": "Service Under Maintenance"}
    statuses = {c["name"]: c["status"] for c in summary["components"]}
    assert statuses["database"] == "under_maintenance"
    assert [
        (m["name"], m["status"], m["scheduled_for"], m["scheduled_until"])
        for m in summary["scheduled_maintenances"]
    ] == [
        (
            "Scheduled maintenance of database",
            "in_progress",
            "2026-12-10T11:00:00Z",
            "2026-12-10T13:00:00Z",
        ),
        (
            "Scheduled maintenance of auth",
            "scheduled",
            "2026-12-12T01:00:00Z",
            "2026-12-12T02:00:00Z",
        ),
    ]
    assert all(m["impact"] == "maintenance" for m in summary["scheduled_maintenances"])


def test_an_empty_store_is_operational_with_no_data(tmp_path: Path) -> None:
    daemon = setup(tmp_path, "status_page: {}\n")
    with serving(status_site(daemon, clock=lambda: NOW)) as url:
        summary = requests.get(f"{url}/api/v2/summary.json", timeout=5).json()
        page = requests.get(url, timeout=5).text
    assert summary["status"] == {"indicator": "none", "description": "All Systems Operational"}
    assert summary["incidents"] == []
    assert "no data yet" in page


def test_the_store_is_read_once_per_cycle_at_most_once_a_second(tmp_path: Path) -> None:
    daemon = setup(tmp_path, "status_page: {}\n")
    ticks = [100.0]
    pages = StatusPages(daemon, clock=lambda: NOW, monotonic=lambda: ticks[0])

    def made(view: StatusView) -> Response:
        return text(view.title, 200)

    for name in ("a", "b", "c"):
        pages.answer(name, made)
    assert pages.readings == 1
    daemon.snapshot = Snapshot()  # a new cycle, but within the second
    pages.answer("a", made)
    assert pages.readings == 1
    ticks[0] += 1.5
    pages.answer("a", made)
    assert pages.readings == 2
    ticks[0] += 10  # no new cycle: the view is kept...
    pages.answer("a", made)
    assert pages.readings == 2
    ticks[0] += 30  # ...until it is too old
    pages.answer("a", made)
    assert pages.readings == 3


def test_serve_public_answers_head_and_refuses_every_write(tmp_path: Path) -> None:
    daemon = setup(tmp_path, "status_page:\n  listen: 127.0.0.1:0\n")
    daemon.public_site = status_site(daemon, clock=lambda: NOW)
    server = daemon.serve_public()
    assert server is not None
    url = f"http://127.0.0.1:{server.server_port}"
    try:
        head = requests.head(url, timeout=5)
        assert head.status_code == 200
        assert head.content == b""
        assert int(head.headers["Content-Length"]) > 0
        assert "Set-Cookie" not in head.headers
        for method in ("POST", "PUT", "DELETE", "PATCH", "OPTIONS"):
            refused = requests.request(method, f"{url}/api/v2/summary.json", timeout=5)
            assert (refused.status_code, refused.headers["Allow"]) == (405, "GET, HEAD"), method
            assert "Set-Cookie" not in refused.headers
        assert requests.get(f"{url}/missing", timeout=5).status_code == 404
    finally:
        server.shutdown()
        server.server_close()


def test_an_open_incident_resolved_later_turns_the_page_operational(tmp_path: Path) -> None:
    daemon = setup(tmp_path, "status_page: {}\n")
    record(daemon)
    path = daemon.loaded.config.relative(daemon.loaded.config.spec.store)
    store = open_store(path)
    try:
        current = store.get("INC-0002")
        assert current is not None
        with store.transaction() as connection:
            store.save(
                replace(move(current, State.RESOLVED, NOW - timedelta(minutes=1), actor="sloctl")),
                connection=connection,
                now=NOW,
            )
    finally:
        store.close()
    with serving(status_site(daemon, clock=lambda: NOW)) as url:
        summary = requests.get(f"{url}/api/v2/summary.json", timeout=5).json()
    assert summary["status"]["indicator"] == "none"
    assert summary["incidents"] == []
    assert {c["status"] for c in summary["components"]} == {"operational"}


def test_an_unreadable_store_is_503_never_operational(tmp_path: Path) -> None:
    daemon = setup(tmp_path, "status_page: {}\n")
    (tmp_path / "incidents.db").write_bytes(b"this is not a database" * 100)
    with serving(status_site(daemon, clock=lambda: NOW)) as url:
        for path in ("/", "/api/v2/summary.json", "/history.atom"):
            answer = requests.get(url + path, timeout=5)
            assert answer.status_code == 503
            assert "operational" not in answer.text.lower()
    ticks = [0.0]
    pages = StatusPages(daemon, clock=lambda: NOW, monotonic=lambda: ticks[0])
    ticks[0] = 100.0
    for _ in range(5):
        assert pages.home(Request("GET", "/"), None).status == 503
    assert pages.readings == 1  # not once per request
    ticks[0] += 1.5
    pages.home(Request("GET", "/"), None)
    assert pages.readings == 2
