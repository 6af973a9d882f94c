"""``sloctl generate``: write the rule and dashboard files, or check that they are current.

Both are generated from the definitions and the severity policy in force (by default the
shipped one), so an alert's thresholds are the ones the daemon judges with.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from sloctl.core.slo import Slo, by_service
from sloctl.errors import GenerationError
from sloctl.generate.dashboards import dashboard_parts
from sloctl.generate.rule_tests import Coverage, coverage, test_file, test_file_name
from sloctl.generate.rules import (
    HEADER,
    dump,
    rule_file_name,
    service_rules,
    unique_name,
)
from sloctl.generate.watchdog import FILE_STEM, watchdog_rules, watchdog_tests
from sloctl.incidents.conditions import service_conditions
from sloctl.incidents.policy import Policy

TESTS_DIR = "tests"


@dataclass(frozen=True)
class Output:
    """Generated files for one directory; ``patterns`` say which existing files it owns."""

    directory: Path
    files: Mapping[str, str]
    patterns: tuple[str, ...]
    made_by_sloctl: Callable[[str], bool]
    warnings: tuple[str, ...] = ()

    def owned(self) -> set[str]:
        """Files already in the directory that sloctl generated (and may rewrite or remove).

        A file is sloctl's only if its content says so; a hand-written rule file or dashboard
        next to the generated ones is never touched.
        """
        if not self.directory.is_dir():
            return set()
        owned = set()
        for pattern in self.patterns:
            for path in self.directory.glob(pattern):
                try:
                    text = path.read_text(encoding="utf-8") if path.is_file() else ""
                except (OSError, UnicodeDecodeError):
                    continue
                if text and self.made_by_sloctl(text):
                    owned.add(str(path.relative_to(self.directory)))
        return owned

    def drift(self) -> list[str]:
        """What differs between the directory and a fresh generation, one line per file."""
        changes = []
        for name, content in self.files.items():
            change = _change(self.directory / name, content)
            if change is not None:
                changes.append((name, change))
        return [line for _, line in sorted(changes)] + self._gone_lines(self._gone())

    def _gone(self) -> list[str]:
        return sorted(self.owned() - set(self.files))

    def _gone_lines(self, names: list[str]) -> list[str]:
        return [f"{self.directory / n}: not generated any more" for n in names]

    def write(self) -> list[str]:
        """Write every file and remove owned files no longer generated; returns what changed.

        Files are generated one part at a time (a service's rules and tests, a dashboard) and
        each changed one is staged beside its place; only when every part is generated do the
        staged files take their places, so a generation that fails half-way changes nothing.
        A directory that cannot be created or written (a file in the way, no permission) is
        one error naming the path, not a traceback.
        """
        changes: list[tuple[str, str]] = []
        staged: list[tuple[Path, Path]] = []
        path = self.directory
        try:
            if path.exists() and not path.is_dir():
                raise NotADirectoryError(20, "it is a file, not a directory", str(path))
            for name, content in self.files.items():
                path = self.directory / name
                change = _change(path, content)
                if change is None:
                    continue
                changes.append((name, change))
                path.parent.mkdir(parents=True, exist_ok=True)
                stage = path.with_name(path.name + STAGED)
                staged.append((stage, path))
                stage.write_text(content, encoding="utf-8")
            gone = self._gone()
            for name in gone:
                path = self.directory / name
                path.unlink()
            while staged:
                stage, path = staged[-1]
                stage.replace(path)
                staged.pop()
        except OSError as exc:
            where = exc.filename or path
            raise GenerationError(f"cannot write {where}: {exc.strerror or exc}") from exc
        finally:
            for stage, _ in staged:
                stage.unlink(missing_ok=True)
        return [line for _, line in sorted(changes)] + self._gone_lines(gone)


STAGED = ".sloctl-staged"
"""Suffix of a generated file written beside its place until every file is generated."""


def _change(path: Path, content: str) -> str | None:
    if not path.is_file():
        return f"{path}: missing"
    if path.read_text(encoding="utf-8") != content:
        return f"{path}: differs from a fresh generation"
    return None


class Rendered(Mapping[str, str]):
    """Generated files by name, rendered a part at a time when first read.

    A part is a group of files rendered together (a service's rules and their tests); only
    the part read last is kept, so reading the files in order holds one part in memory, not
    every file of a large set of definitions.
    """

    def __init__(self, parts: Sequence[tuple[tuple[str, ...], Callable[[], Mapping[str, str]]]]):
        self._parts = parts
        self._part_of = {name: index for index, (names, _) in enumerate(parts) for name in names}
        self._last: tuple[int, Mapping[str, str]] | None = None

    def __getitem__(self, name: str) -> str:
        index = self._part_of[name]
        if self._last is None or self._last[0] != index:
            self._last = None  # the part held before is dropped before the next is made
            names, render = self._parts[index]
            files = render()
            if set(files) != set(names):
                raise AssertionError(f"a generated part made {sorted(files)}, not {names}")
            self._last = (index, files)
        return self._last[1][name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._part_of)

    def __len__(self) -> int:
        return len(self._part_of)


def rules_output(slos: Iterable[Slo], directory: Path, policy: Policy) -> Output:
    """Every service's rules and tests, with the thresholds of ``policy``, and the watchdog's
    (alerts on sloctl itself)."""
    parts: list[tuple[tuple[str, ...], Callable[[], Mapping[str, str]]]] = []
    taken: set[str] = set()
    skipped: list[str] = []
    for service, service_slos in by_service(slos).items():
        name = unique_name(service, rule_file_name(service), taken)
        taken.add(name)
        if name == WATCHDOG_RULES:
            raise GenerationError(
                f"a service would be written to {WATCHDOG_RULES}, which holds sloctl's own "
                "alerts; rename the service"
            )
        specs = service_conditions(policy.for_service(service))
        covered = coverage(service, service_slos, specs)
        skipped += covered.skipped
        tests_name = f"{TESTS_DIR}/{test_file_name(service)}"
        parts.append(
            ((name, tests_name), partial(_service, service, service_slos, policy, covered))
        )
    parts.append(((WATCHDOG_RULES, WATCHDOG_TESTS), _watchdog))
    warnings = tuple(f"no generated rule tests for {item}" for item in skipped)
    return Output(
        directory, Rendered(parts), ("*.yaml", f"{TESTS_DIR}/*.yaml"), _generated_yaml, warnings
    )


WATCHDOG_RULES = f"{FILE_STEM}.yaml"
WATCHDOG_TESTS = f"{TESTS_DIR}/{FILE_STEM}.test.yaml"


def _watchdog() -> dict[str, str]:
    return {WATCHDOG_RULES: dump(watchdog_rules()), WATCHDOG_TESTS: dump(watchdog_tests())}


def _service(
    service: str, slos: Sequence[Slo], policy: Policy, covered: Coverage
) -> dict[str, str]:
    specs = service_conditions(policy.for_service(service))
    return {
        rule_file_name(service): service_rules(service, slos, policy),
        f"{TESTS_DIR}/{test_file_name(service)}": test_file(service, slos, specs, covered),
    }


def dashboards_output(slos: Iterable[Slo], directory: Path, policy: Policy) -> Output:
    parts = [((name,), _one(name, render)) for name, render in dashboard_parts(slos, policy)]
    return Output(directory, Rendered(parts), ("*.json",), _generated_dashboard)


def _one(name: str, render: Callable[[], str]) -> Callable[[], Mapping[str, str]]:
    return lambda: {name: render()}


def _generated_yaml(text: str) -> bool:
    return text.startswith(HEADER)


def _generated_dashboard(text: str) -> bool:
    try:
        document = json.loads(text)
    except ValueError:
        return False
    return (
        isinstance(document, dict)
        and str(document.get("uid", "")).startswith("sloctl-")
        and "sloctl" in (document.get("tags") or [])
    )
