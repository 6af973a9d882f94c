"""Change events posted to a real ``sloctl run`` (the live stack: demo service, Prometheus
scraping it, the daemon, a local Slack receiver): a good token records, a bad one, an
oversized or malformed body and a trickling one are refused, and the outage that follows is
declared with the change in its message."""

from __future__ import annotations

import json
import signal
import socket
import time
from collections.abc import Iterator

import pytest
import requests

from sloctl.daemon.changes_endpoint import MAX_BODY_BYTES, READ_SECONDS
from sloctl.demo.live import LiveStack, live_stack, wait_until
from sloctl.store.database import open_store

pytestmark = pytest.mark.integration
TOKEN = "s3cret-ci-token"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveStack]:
    with live_stack(tmp_path_factory.mktemp("changes")) as started:
        (started.workdir / "changes-token").write_text(TOKEN + "\n")
        with started.config_path.open("a") as config:
            config.write("changes_api: {token_file: changes-token}\n")
        assert started.sloctl is not None
        started.sloctl.send_signal(signal.SIGHUP)
        wait_until("the endpoint", lambda: post(started, {}, TOKEN).status_code != 404, 30)
        yield started


def post(stack: LiveStack, body: object, token: str) -> requests.Response:
    return requests.post(
        f"{stack.sloctl_url}/api/changes",
        data=body if isinstance(body, bytes) else json.dumps(body),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        timeout=10,
    )


def test_refusals_say_why_and_record_nothing(stack: LiveStack) -> None:
    change = {"service": "api", "kind": "deploy", "ref": "v1.4.2"}
    bad = post(stack, change, "wrong-token-value")
    assert (bad.status_code, bad.json()) == (401, {"errors": ["a valid bearer token is required"]})
    assert bad.headers["WWW-Authenticate"] == "Bearer"
    none = requests.post(f"{stack.sloctl_url}/api/changes", json=change, timeout=10)
    assert none.status_code == 401
    big = post(stack, b"{" + b" " * MAX_BODY_BYTES + b"}", TOKEN)
    assert (big.status_code, big.json()) == (
        413,
        {"errors": ["the body must be at most 16384 bytes"]},
    )
    broken = post(stack, b'{"service": "api",', TOKEN)
    assert broken.status_code == 400
    assert broken.json()["errors"][0].startswith("the body is not JSON")
    wrong = post(stack, {"service": "web", "kind": "ship"}, TOKEN)
    assert (wrong.status_code, wrong.json()["errors"]) == (
        400,
        [
            "ref: is required",
            "service: unknown service 'web' (known: api)",
            "kind: must be one of deploy, rollback, config, feature-flag, infrastructure, "
            "dependency",
        ],
    )
    store = open_store(stack.store_path)
    try:
        assert store.changes() == []
    finally:
        store.close()
    log = (stack.workdir / "sloctl.log").read_text()
    assert "change_refused" in log
    assert TOKEN not in log
    assert "wrong-token-value" not in log


def test_a_trickling_body_is_cut_off_at_the_deadline(stack: LiveStack) -> None:
    body = json.dumps({"service": "api", "kind": "deploy", "ref": "v0"}).encode()
    with socket.create_connection(("127.0.0.1", stack.sloctl_port), timeout=30) as conn:
        conn.sendall(
            b"POST /api/changes HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            + f"Authorization: Bearer {TOKEN}\r\nContent-Length: {len(body)}\r\n\r\n".encode()
        )
        started = time.monotonic()
        answer = b""
        for byte in body:
            try:
                conn.sendall(bytes([byte]))
            except OSError:
                break
            conn.settimeout(0.5)
            try:
                answer += conn.recv(4096)
            except TimeoutError:
                continue
            if answer:
                break
        conn.settimeout(30)
        while b"\r\n\r\n" not in answer:
            answer += conn.recv(4096)
    took = time.monotonic() - started
    assert answer.startswith(b"HTTP/1.0 408") or answer.startswith(b"HTTP/1.1 408"), answer
    assert READ_SECONDS - 0.5 <= took < READ_SECONDS + 10


def test_a_posted_change_is_in_the_declaration(stack: LiveStack) -> None:
    change = {"service": "api", "kind": "deploy", "ref": "v1.4.2", "by": "ci-pipeline"}
    good = post(stack, change, TOKEN)
    assert good.status_code == 201, good.text
    recorded = good.json()["recorded"]
    assert {k: recorded[k] for k in ("service", "kind", "ref", "by")} == change
    time.sleep(15)  # the signal window fills with healthy traffic first
    stack.inject("api", error_ratio=1.0)
    wait_until(
        "a declaration at Slack",
        lambda: any("INCIDENT DECLARED" in t for t in stack.receiver.texts()),
        60,
    )
    [declared] = [t for t in stack.receiver.texts() if "INCIDENT DECLARED" in t]
    assert "Recent changes:\n- " in declared
    assert "deploy v1.4.2 of api by ci-pipeline" in declared
    stack.inject("api", error_ratio=0.0)
