"""Takes the README's screenshots of the web UI and the status page, in Debian's headless
Chromium, from a real stack: a Prometheus holding thirty days of the demo's history, a real
``sloctl run`` serving the UI and the status page, and one incident declared and updated
through the command line.

Run from the repository root (after ``bash .ci/setup``)::

    PYTHONPATH=. .venv/bin/python docs/screenshots.py

It writes ``docs/screenshots/*.png``.
"""

from __future__ import annotations

import base64
import os
import secrets
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import requests
from selenium.webdriver.chrome.webdriver import WebDriver

from sloctl.demo.history import History, demo_scenario
from sloctl.demo.local_prometheus import LocalPrometheus, backfill, free_port
from tests.integration.browser import chromium

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "screenshots"
SLOCTL = [sys.executable, "-m", "sloctl"]


def _wait(url: str, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    raise SystemExit(f"{url} did not answer within {seconds:g} s")


def _whole_page(browser: WebDriver, most: int = 2400) -> bytes:
    """The page as a PNG, as tall as its content (at most ``most`` pixels)."""
    size = browser.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]
    clip = {"x": 0, "y": 0, "width": size["width"], "height": min(size["height"], most)}
    shot = browser.execute_cdp_cmd(
        "Page.captureScreenshot",
        {"format": "png", "captureBeyondViewport": True, "clip": clip | {"scale": 1}},
    )
    return base64.b64decode(shot["data"])


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="sloctl-screenshots-") as tmp:
        work = Path(tmp)
        scenario = demo_scenario(datetime.now(UTC), days=30)
        History.generate(scenario).write_file(work / "history.om")
        backfill(work / "history.om", work / "data", 31 * 86400)
        ui_port, status_port = free_port(), free_port()
        with LocalPrometheus(work / "data") as prometheus:
            config = work / "sloctl.yaml"
            config.write_text(
                f"prometheus: {{url: '{prometheus.url}', timeout: 20s}}\n"
                "interval: 30s\n"
                f"definitions: {ROOT / 'slo-definitions'}\n"
                f"policy: {ROOT / 'deploy' / 'policy.yaml'}\n"
                f"store: {work / 'incidents.db'}\n"
                f"listen: 127.0.0.1:{ui_port}\n"
                "ui: {logins: [{name: alice, password_env: SCREENSHOT_PASSWORD}]}\n"
                f"status_page: {{listen: '127.0.0.1:{status_port}', title: IntelliFlow status,"
                " components: {api: API, auth: Sign-in, ai-worker: AI features,"
                " database: Data storage}}\n",
                encoding="utf-8",
            )
            env = {k: v for k, v in os.environ.items() if not k.startswith("SLOCTL_")}
            env["SCREENSHOT_PASSWORD"] = secrets.token_urlsafe(16)  # nobody logs in
            incidents = [*SLOCTL, "incidents", "--config", str(config)]
            with (work / "sloctl.log").open("wb") as log:
                daemon = subprocess.Popen(
                    [*SLOCTL, "run", "--config", str(config)],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    env=env,
                )
            try:
                base, status = f"http://127.0.0.1:{ui_port}", f"http://127.0.0.1:{status_port}"
                _wait(f"{base}/readyz")
                subprocess.run(
                    [
                        *incidents,
                        "declare",
                        "--service",
                        "ai-worker",
                        "--severity",
                        "P2",
                        "--cause",
                        "errors",
                        "--summary",
                        "Summaries fail for one request in five",
                        "--by",
                        "@alice",
                    ],
                    check=True,
                    env=env,
                )
                for command in (
                    ["ack", "INC-0001", "--by", "@alice", "--note", "Looking at the workers"],
                    [
                        "summary",
                        "INC-0001",
                        "--text",
                        "Some AI summaries fail; we are working on a fix.",
                        "--services",
                        "ai-worker",
                        "--by",
                        "@alice",
                    ],
                ):
                    subprocess.run([*incidents, *command], check=True, env=env)
                time.sleep(35)  # one more cycle: the snapshot holds the incident
                with chromium(width=1400, height=1000) as browser:
                    for name, url in (
                        ("slo-list", f"{base}/slos"),
                        ("slo-detail", f"{base}/slos/api/availability?range=7d"),
                        ("incident", f"{base}/incidents/INC-0001"),
                        ("status-page", f"{status}/"),
                    ):
                        browser.get(url)
                        time.sleep(0.5)
                        (OUT / f"{name}.png").write_bytes(_whole_page(browser))
                        print(f"wrote {OUT / f'{name}.png'}")
            finally:
                daemon.terminate()
                daemon.wait(timeout=30)


if __name__ == "__main__":
    main()
