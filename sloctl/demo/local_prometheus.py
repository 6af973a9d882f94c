"""A real Prometheus on loopback, with backfilled history: for the demo, tests and benchmarks."""

from __future__ import annotations

import math
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

import requests

from sloctl.errors import LocalPrometheusError

CONFIG = """\
global:
  scrape_interval: 15s
  evaluation_interval: 15s
"""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def stop_process(process: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    """SIGTERM, and SIGKILL if it has not exited within ``timeout`` seconds."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def find_binary(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise LocalPrometheusError(
            f"{name} is not installed; install the Debian package: apt-get install prometheus"
        )
    return found


def backfill(
    openmetrics: Path, data_dir: Path, span_seconds: int, promtool: str = "promtool"
) -> None:
    """Turn an OpenMetrics file into TSDB blocks in ``data_dir``.

    One block spans the whole history instead of promtool's default 2 h blocks, which makes
    the backfill a hundred times faster on month-long data.
    """
    hours = max(2, 2 * math.ceil(span_seconds / 7200) + 2)
    data_dir.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [
            find_binary(promtool),
            "tsdb",
            "create-blocks-from",
            "openmetrics",
            f"--max-block-duration={hours}h",
            str(openmetrics),
            str(data_dir),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        tail = (result.stderr or result.stdout).strip().splitlines()[-3:]
        raise LocalPrometheusError(f"promtool backfill failed: {' / '.join(tail)}")


@dataclass
class LocalPrometheus:
    """``prometheus`` serving ``data_dir`` on 127.0.0.1; use as a context manager."""

    data_dir: Path
    port: int = 0
    binary: str = "prometheus"
    extra_args: tuple[str, ...] = ()
    config: str = CONFIG
    process: subprocess.Popen[bytes] | None = field(default=None, init=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> LocalPrometheus:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if not self.port:
            self.port = free_port()
        config_file = self.data_dir / "prometheus.yml"
        config_file.write_text(self.config, encoding="utf-8")
        log = (self.data_dir / "prometheus.log").open("wb")
        self.process = subprocess.Popen(
            [
                find_binary(self.binary),
                f"--config.file={config_file}",
                f"--storage.tsdb.path={self.data_dir}",
                "--storage.tsdb.retention.time=3650d",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--log.level=warn",
                *self.extra_args,
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        self._wait_ready(timeout)
        return self

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                log = (self.data_dir / "prometheus.log").read_text(errors="replace")
                raise LocalPrometheusError(
                    f"prometheus exited with code {self.process.returncode}: {log.strip()[-300:]}"
                )
            try:
                if requests.get(f"{self.url}/-/ready", timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        self.stop()
        raise LocalPrometheusError(f"prometheus did not become ready within {timeout:g} s")

    def stop(self) -> None:
        if self.process is None:
            return
        stop_process(self.process)
        self.process = None

    def __enter__(self) -> LocalPrometheus:
        return self.start() if self.process is None else self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
