"""``sloctl generate``: write the rule and dashboard files, or check that they are current.

Both are generated from the definitions and the severity policy in force (by default the
shipped one), so an alert's thresholds are the ones the daemon judges with.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from sloctl.core.slo import Slo
from sloctl.errors import GenerationError
from sloctl.generate.dashboards import render_dashboards
from sloctl.generate.rule_tests import render_tests
from sloctl.generate.rules import HEADER, dump, render_rules
from sloctl.generate.watchdog import FILE_STEM, watchdog_rules, watchdog_tests
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
        for name, content in sorted(self.files.items()):
            path = self.directory / name
            if not path.is_file():
                changes.append(f"{path}: missing")
            elif path.read_text(encoding="utf-8") != content:
                changes.append(f"{path}: differs from a fresh generation")
        changes += [
            f"{self.directory / n}: not generated any more"
            for n in sorted(self.owned() - set(self.files))
        ]
        return changes

    def write(self) -> list[str]:
        """Write every file and remove owned files no longer generated; returns what changed.

        A directory that cannot be created or written (a file in the way, no permission) is
        one error naming the path, not a traceback.
        """
        changed = self.drift()
        path = self.directory
        try:
            if path.exists() and not path.is_dir():
                raise NotADirectoryError(20, "it is a file, not a directory", str(path))
            for name in self.owned() - set(self.files):
                path = self.directory / name
                path.unlink()
            for name, content in self.files.items():
                path = self.directory / name
                path.parent.mkdir(parents=True, exist_ok=True)
                if not path.is_file() or path.read_text(encoding="utf-8") != content:
                    path.write_text(content, encoding="utf-8")
        except OSError as exc:
            where = exc.filename or path
            raise GenerationError(f"cannot write {where}: {exc.strerror or exc}") from exc
        return changed


def rules_output(slos: Iterable[Slo], directory: Path, policy: Policy) -> Output:
    """Every service's rules and tests, with the thresholds of ``policy``, and the watchdog's
    (alerts on sloctl itself)."""
    every = list(slos)
    files = dict(render_rules(every, policy))
    if f"{FILE_STEM}.yaml" in files:
        raise GenerationError(
            f"a service would be written to {FILE_STEM}.yaml, which holds sloctl's own "
            "alerts; rename the service"
        )
    files[f"{FILE_STEM}.yaml"] = dump(watchdog_rules())
    tests, skipped = render_tests(every, policy)
    tests[f"{FILE_STEM}.test.yaml"] = dump(watchdog_tests())
    files.update({f"{TESTS_DIR}/{name}": content for name, content in tests.items()})
    warnings = tuple(f"no generated rule tests for {item}" for item in skipped)
    return Output(directory, files, ("*.yaml", f"{TESTS_DIR}/*.yaml"), _generated_yaml, warnings)


def dashboards_output(slos: Iterable[Slo], directory: Path, policy: Policy) -> Output:
    return Output(directory, render_dashboards(slos, policy), ("*.json",), _generated_dashboard)


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
