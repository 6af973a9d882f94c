"""The commands that read Prometheus, as real processes: the daemon's settings through
``--config`` (token, basic auth, CA file), TLS that ``REQUESTS_CA_BUNDLE`` cannot override,
no secret in any error, and a report that says how much of its window had data."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from sloctl.errors import PrometheusUnavailableError
from sloctl.prometheus.client import Credentials, PrometheusReader
from sloctl.runtime.retry import RetryPolicy
from tests.certificates import self_signed
from tests.integration.conftest import Served
from tests.integration.fault_proxy import Fault, FaultProxy
from tests.integration.fixture import END, START

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
TOKEN = "tok-7f3a9-very-secret"
PASSWORD = "pa55/w#rd-secret"


def sloctl(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sloctl", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, made for this test run, and its key."""
    return self_signed(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def tls_proxy(served: Served, certificate: tuple[Path, Path]) -> Iterator[FaultProxy]:
    with FaultProxy(served.url, tls=certificate) as running:
        yield running


def config_file(tmp_path: Path, url: str, extra: str = "") -> Path:
    path = tmp_path / "sloctl.yaml"
    path.write_text(f"prometheus:\n  url: '{url}'\n  timeout: 20s\n{extra}")
    return path


def report(
    config: Path, *more: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return sloctl(
        "report",
        "--config",
        str(config),
        "--definitions",
        str(ROOT / "slo-definitions"),
        "--at",
        END.isoformat(),
        "--output",
        "json",
        *more,
        env=env,
    )


def test_ca_file_is_used_whatever_the_ca_bundle_variables_say(
    tls_proxy: FaultProxy, certificate: tuple[Path, Path], tmp_path: Path
) -> None:
    cert, _ = certificate
    other = tmp_path / "other-ca.pem"
    other.write_text(Path("/etc/ssl/certs/ca-certificates.crt").read_text())
    hostile = {"REQUESTS_CA_BUNDLE": str(other), "CURL_CA_BUNDLE": str(other)}
    with_ca = config_file(tmp_path, tls_proxy.url, f"  ca_file: {cert}\n")
    done = report(with_ca, env=hostile)
    assert done.returncode == 0, done.stderr
    assert len(json.loads(done.stdout)) == 8
    without_ca = config_file(tmp_path, tls_proxy.url)
    refused = report(without_ca, env=hostile)  # the bundle does not hold the test's CA
    assert refused.returncode == 3
    assert "TLS failed" in refused.stderr
    assert "Traceback" not in refused.stderr


def test_report_backtest_and_evaluate_take_the_daemon_settings(
    served: Served, tmp_path: Path
) -> None:
    with FaultProxy(served.url) as proxy:
        config = config_file(tmp_path, proxy.url, "  bearer_token_env: PROM_TOKEN\n")
        env = {"PROM_TOKEN": TOKEN}
        assert report(config, env=env).returncode == 0
        backtest = sloctl(
            "backtest",
            "--config",
            str(config),
            "--definitions",
            str(ROOT / "slo-definitions"),
            "--from",
            START.isoformat(),
            "--to",
            END.isoformat(),
            "--step",
            "30m",
            "--output",
            "json",
            env=env,
        )
        assert backtest.returncode == 0, backtest.stderr
        evaluate = sloctl(
            "incidents",
            "--store",
            str(tmp_path / "incidents.db"),
            "evaluate",
            "--config",
            str(config),
            "--definitions",
            str(ROOT / "slo-definitions"),
            "--at",
            END.isoformat(),
            env=env,
        )
        assert evaluate.returncode == 0, evaluate.stderr
        # And every one of them sent the token: the echoing proxy shows it was there.
        proxy.fault = Fault("echo")
        for done in (
            report(config, env=env),
            sloctl(
                "incidents",
                "--store",
                str(tmp_path / "incidents.db"),
                "evaluate",
                "--config",
                str(config),
                "--definitions",
                str(ROOT / "slo-definitions"),
                env=env,
            ),
        ):
            assert "Authorization: Bearer ***" in done.stderr, done.stderr
            assert TOKEN not in done.stderr + done.stdout


def test_basic_auth_password_is_scrubbed_from_cli_errors(served: Served, tmp_path: Path) -> None:
    (tmp_path / "password").write_text(PASSWORD + "\n")
    with FaultProxy(served.url) as proxy:
        proxy.fault = Fault("echo")
        config = config_file(
            tmp_path, proxy.url, "  basic_auth: {username: sloctl, password_file: password}\n"
        )
        done = sloctl(
            "--log-level",
            "info",
            "report",
            "--config",
            str(config),
            "--definitions",
            str(ROOT / "slo-definitions"),
            "--at",
            END.isoformat(),
        )
    assert done.returncode == 3
    assert "HTTP 401" in done.stderr
    assert "Authorization: Basic ***" in done.stderr
    for secret in (PASSWORD, "c2xvY3RsOnBhNTUvdyNyZC1zZWNyZXQ="):
        assert secret not in done.stderr


def test_config_and_prometheus_url_together_are_refused(tmp_path: Path) -> None:
    config = config_file(tmp_path, "http://127.0.0.1:1")
    done = report(config, "--prometheus-url", "http://127.0.0.1:2")
    assert done.returncode == 2
    assert "give --config or --prometheus-url, not both" in done.stderr


def test_a_window_whose_history_starts_late_is_partial(served: Served) -> None:
    """Three days of history in a 30-day window: about a tenth of it has data."""
    done = sloctl(
        "report",
        "--prometheus-url",
        served.url,
        "--definitions",
        str(ROOT / "slo-definitions"),
        "--at",
        END.isoformat(),
        "--output",
        "json",
    )
    assert done.returncode == 0, done.stderr
    rows = {f"{r['service']}/{r['slo']}": r for r in json.loads(done.stdout)}
    for key, row in rows.items():
        assert 9 <= row["coverage_percent"] <= 11, (key, row["coverage_percent"])
        assert "(partial: data for" in row["status"], (key, row["status"])
    table = sloctl(
        "report",
        "--prometheus-url",
        served.url,
        "--definitions",
        str(ROOT / "slo-definitions"),
        "--month",
        "2026-10",
    )
    assert table.returncode == 0, table.stderr
    assert "Coverage" in table.stdout
    assert "partial" in table.stdout  # October holds only its last two days of history


def test_a_refused_coverage_query_leaves_the_budgets_judged(served: Served) -> None:
    """An API that refuses the coverage subquery: the coverage is unknown, the report stands."""
    with FaultProxy(served.url) as proxy:
        proxy.fault = Fault("status", pattern="count_over_time", status=422)
        done = sloctl(
            "report",
            "--prometheus-url",
            proxy.url,
            "--definitions",
            str(ROOT / "slo-definitions"),
            "--at",
            END.isoformat(),
            "--output",
            "json",
        )
        assert proxy.faults_served == 2
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    assert {r["coverage_percent"] for r in rows} == {None}
    assert all(r["total_events"] for r in rows if r["service"] != "database"), rows
    assert all("partial" not in r["status"] for r in rows)


def test_trickled_headers_over_tls_end_at_the_deadline(
    tls_proxy: FaultProxy, certificate: tuple[Path, Path]
) -> None:
    """The watchdog shuts down a TLS socket too, while the reading thread is inside it."""
    tls_proxy.fault = Fault("trickle_headers")
    client = PrometheusReader(
        tls_proxy.url,
        timeout=2.0,
        retry=RetryPolicy(attempts=1),
        credentials=Credentials(ca_file=str(certificate[0])),
    )
    started = time.monotonic()
    with pytest.raises(PrometheusUnavailableError, match="no whole answer within 2 s") as caught:
        client.instant("up", END)
    assert time.monotonic() - started < 4.0
    assert caught.value.reason == "timeout"
    tls_proxy.fault = None
    assert client.instant("count(up) or vector(1)", END)  # and the next query goes through
