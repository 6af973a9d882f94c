"""Benchmark: what the generated rule groups cost Prometheus, beside naive raw-window rules.

Run from the repository root:

    .venv/bin/python -m bench.rules_bench [--slos 4 100] [--days 2]

For each SLO count it backfills two days of 15-second samples for the runbook's four
services, backfills the generated 5-minute rate recordings over them, and starts a real
Prometheus that evaluates, every 10 seconds, both the generated rule groups and "naive" groups
that compute the same error ratios straight from the raw counters
(`sum(increase(bad[W])) / sum(increase(total[W]))` for every window). It reports, per group
kind, the evaluation time Prometheus measured (`prometheus_rule_group_last_duration_seconds`)
and the samples each rule reads (query statistics of its expression), both normalised to one
minute of real evaluation (the generated budget group runs every 2 minutes, the rest every
minute), and the naive / generated ratio measured in the same run.
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import tempfile
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests
import yaml

from sloctl.core import conventions
from sloctl.core.slo import Slo, by_service
from sloctl.demo.history import History, Scenario, runbook_profiles
from sloctl.demo.local_prometheus import CONFIG, LocalPrometheus, backfill
from sloctl.generate.rules import SLI_WINDOWS, ratio_windows, render_rules
from sloctl.loading.definitions import load_definitions
from sloctl.loading.policy_file import shipped_policy
from sloctl.promql import build as promql

END = datetime(2026, 11, 1, tzinfo=UTC)
SERVICES = ("api", "auth", "ai-worker", "database")
MEASURE_INTERVAL = "10s"
REAL_INTERVAL_SECONDS = {"slis": 60, "budget": 120, "alerts": 60, "naive": 60}


def write_definitions(directory: Path, count: int, days: int) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    per_service: dict[str, list[str]] = {s: [] for s in SERVICES}
    for index in range(count):
        service = SERVICES[index % len(SERVICES)]
        per_service[service].append(
            f"""  - name: availability-{index}
    indicator:
      ratio:
        total: http_requests_total{{service="{service}"}}
        bad: http_requests_total{{service="{service}",code=~"5.."}}
    objective: {{target: 99.9%}}
    window: {{rolling: {days}d}}
"""
        )
    for service, slos in per_service.items():
        if slos:
            text = f"service: {service}\nscrapeInterval: 15s\nslos:\n{''.join(slos)}"
            (directory / f"{service}.yaml").write_text(text)


def naive_rules(slos: tuple[Slo, ...]) -> str:
    """The same error ratios computed from raw counters over every window, every minute."""
    groups = []
    for service, service_slos in by_service(slos).items():
        rules = []
        for slo in service_slos:
            total, bad = slo.indicator.total, slo.indicator.bad
            assert bad is not None
            for seconds in (promql.SLICE_SECONDS, *SLI_WINDOWS, *ratio_windows(slo)):
                expr = (
                    f"{promql.summed_increase(bad, (), seconds)} "
                    f"/ {promql.summed_increase(total, (), seconds)}"
                )
                rules.append(
                    {
                        "record": f"naive:error_ratio:rate{seconds}s",
                        "expr": expr,
                        "labels": {"service": slo.service, "slo": slo.name},
                    }
                )
        groups.append({"name": f"naive-{service}", "interval": MEASURE_INTERVAL, "rules": rules})
    return yaml.safe_dump({"groups": groups}, sort_keys=False)


def fast_intervals(text: str) -> str:
    """The generated rules, evaluated every 10 seconds so that a run takes a minute."""
    document = yaml.safe_load(text)
    for group in document["groups"]:
        group["interval"] = MEASURE_INTERVAL
    return yaml.safe_dump(document, sort_keys=False)


def kind_of(group: str) -> str:
    for kind in ("slis", "budget", "alerts", "naive"):
        if kind in group:
            return kind
    raise ValueError(group)


def samples_read(url: str, expr: str, at: datetime) -> int:
    response = requests.post(
        f"{url}/api/v1/query",
        data={"query": expr, "time": f"{at.timestamp():.3f}", "stats": "all"},
        timeout=120,
    )
    response.raise_for_status()
    stats: dict[str, Any] = response.json()["data"]["stats"]
    return int(stats["samples"]["totalQueryableSamples"])


def group_durations(url: str) -> dict[str, float]:
    text = requests.get(f"{url}/metrics", timeout=30).text
    found = {}
    pattern = r'prometheus_rule_group_last_duration_seconds\{rule_group="[^"]*;([^"]+)"\} (\S+)'
    for match in re.finditer(pattern, text):
        found[match.group(1)] = float(match.group(2))
    return found


def run(count: int, days: int, work: Path) -> dict[str, dict[str, float]]:
    start = END - timedelta(days=days)
    history = History.generate(Scenario(start, END, 15, runbook_profiles()))
    history.write_file(work / "history.om")
    data = work / "data"
    backfill(work / "history.om", data, days * 86400)
    (work / "history.om").unlink()
    definitions = work / "defs"
    write_definitions(definitions, count, days)
    slos = load_definitions(definitions)
    generated = render_rules(slos, shipped_policy())
    rates = work / "rates.yaml"
    rates.write_text(
        yaml.safe_dump(
            {
                "groups": [
                    {
                        "name": f"rates-{service}",
                        "interval": "1m",
                        "rules": [
                            r
                            for g in yaml.safe_load(text)["groups"]
                            for r in g["rules"]
                            if r.get("record")
                            in (conventions.EVENTS_RATE, conventions.BAD_EVENTS_RATE)
                        ],
                    }
                    for service, text in (
                        (n.removesuffix(".yaml"), t) for n, t in generated.items()
                    )
                ]
            },
            sort_keys=False,
        )
    )
    with LocalPrometheus(data) as server:
        subprocess.run(
            [
                "promtool",
                "tsdb",
                "create-blocks-from",
                "rules",
                "--quiet",
                f"--start={int(start.timestamp())}",
                f"--end={int(END.timestamp())}",
                f"--url={server.url}",
                f"--output-dir={work / 'blocks'}",
                str(rates),
            ],
            check=True,
            capture_output=True,
            timeout=3600,
        )
    for block in (work / "blocks").iterdir():
        block.rename(data / block.name)
    rule_files = []
    for name, text in generated.items():
        path = work / f"generated-{name}"
        path.write_text(fast_intervals(text))
        rule_files.append(path)
    naive = work / "naive.yaml"
    naive.write_text(naive_rules(slos))
    rule_files.append(naive)
    config = CONFIG + "rule_files:\n" + "".join(f"  - {p}\n" for p in rule_files)
    server = LocalPrometheus(data, config=config)
    with server:
        reads: dict[str, int] = defaultdict(int)
        for path in rule_files:
            for group in yaml.safe_load(path.read_text())["groups"]:
                for rule in group["rules"]:
                    reads[kind_of(group["name"])] += samples_read(server.url, rule["expr"], END)
        time.sleep(40)  # a few 10-second evaluations of every group
        durations: dict[str, list[float]] = defaultdict(list)
        for _ in range(5):
            for group, seconds in group_durations(server.url).items():
                durations[kind_of(group)].append(seconds)
            time.sleep(10)
    result: dict[str, dict[str, float]] = {}
    for kind in ("slis", "budget", "alerts", "naive"):
        per_minute = 60 / REAL_INTERVAL_SECONDS[kind]
        groups = len(SERVICES) if count >= len(SERVICES) else count
        result[kind] = {
            "seconds_per_minute": statistics.median(durations[kind]) * groups * per_minute
            if durations[kind]
            else 0.0,
            "samples_per_minute": reads[kind] * per_minute,
        }
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slos", type=int, nargs="+", default=[4, 100])
    parser.add_argument("--days", type=int, default=2)
    args = parser.parse_args()
    print("| SLOs | rules | eval s per minute | samples read per minute |")
    print("|---:|---|---:|---:|")
    for count in args.slos:
        with tempfile.TemporaryDirectory(prefix="sloctl-rules-bench-") as tmp:
            result = run(count, args.days, Path(tmp))
        generated = {
            key: sum(result[k][key] for k in ("slis", "budget", "alerts"))
            for key in ("seconds_per_minute", "samples_per_minute")
        }
        rows = [(f"generated {kind}", result[kind]) for kind in ("slis", "budget", "alerts")]
        rows += [("**generated, all**", generated), ("naive raw windows", result["naive"])]
        for label, row in rows:
            seconds, samples = row["seconds_per_minute"], row["samples_per_minute"]
            print(f"| {count} | {label} | {seconds:.4f} | {samples:,.0f} |")
        naive = result["naive"]
        time_ratio = naive["seconds_per_minute"] / generated["seconds_per_minute"]
        sample_ratio = naive["samples_per_minute"] / generated["samples_per_minute"]
        print(f"| {count} | naive / generated | {time_ratio:.1f}x | {sample_ratio:.1f}x |")


if __name__ == "__main__":
    main()
