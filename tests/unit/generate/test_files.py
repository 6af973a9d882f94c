"""Writing and checking the generated files (sloctl/generate/files.py and `sloctl generate`)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from dataclasses import replace
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result

from sloctl.cli.main import main
from sloctl.core.slo import Slo
from sloctl.errors import GenerationError
from sloctl.generate.dashboards import render_dashboards
from sloctl.generate.files import TESTS_DIR, Output, Rendered, dashboards_output, rules_output
from sloctl.generate.rule_tests import render_tests
from sloctl.generate.rules import HEADER, render_rules
from sloctl.loading.definitions import load_definitions
from sloctl.loading.policy_file import shipped_policy
from tests.paths import ROOT

POLICY = shipped_policy()
SHIPPED = ROOT / "slo-definitions"
SERVICES = ("ai-worker", "api", "auth", "database")
RULE_FILES = sorted(
    [f"{s}.yaml" for s in (*SERVICES, "sloctl-watchdog")]
    + [f"{TESTS_DIR}/{s}.test.yaml" for s in (*SERVICES, "sloctl-watchdog")]
)
DASHBOARD_FILES = sorted(["overview.json", "sloctl-daemon.json", *(f"{s}.json" for s in SERVICES)])
OLD = 1_000_000_000  # a modification time long past, in seconds


@cache
def shipped() -> tuple[Slo, ...]:
    return load_definitions(SHIPPED)


def tree(directory: Path) -> dict[str, str]:
    """Every file under ``directory`` by relative path, with its content."""
    if not directory.exists():
        return {}
    return {
        str(p.relative_to(directory)): p.read_text(encoding="utf-8")
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


def populate(directory: Path, files: dict[str, str]) -> None:
    for name, content in files.items():
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")


# Output


def sample_output(directory: Path) -> Output:
    return Output(
        directory,
        {"a.yaml": "A\n", "b.yaml": "B\n", "tests/t.test.yaml": "T\n"},
        ("*.yaml", "tests/*.yaml"),
        lambda text: "never touched" not in text,
    )


UNRELATED = {"README.md": "# read me\n", "notes.txt": "mine\n", "tests/README.md": "# tests\n"}


def test_drift_of_a_missing_directory_lists_every_file(tmp_path: Path) -> None:
    output = sample_output(tmp_path / "out")
    assert output.owned() == set()
    assert output.drift() == [
        f"{tmp_path / 'out' / 'a.yaml'}: missing",
        f"{tmp_path / 'out' / 'b.yaml'}: missing",
        f"{tmp_path / 'out' / 'tests/t.test.yaml'}: missing",
    ]


def test_drift_reports_missing_changed_and_no_longer_generated_files(tmp_path: Path) -> None:
    populate(
        tmp_path,
        {
            "a.yaml": "A\n",
            "b.yaml": "edited by hand\n",
            "old.yaml": "gone\n",
            "tests/old.test.yaml": "gone\n",
            "nested/deeper.yaml": "not matched by the patterns\n",
            **UNRELATED,
        },
    )
    output = sample_output(tmp_path)
    assert output.owned() == {"a.yaml", "b.yaml", "old.yaml", "tests/old.test.yaml"}
    assert output.drift() == [
        f"{tmp_path / 'b.yaml'}: differs from a fresh generation",
        f"{tmp_path / 'tests/t.test.yaml'}: missing",
        f"{tmp_path / 'old.yaml'}: not generated any more",
        f"{tmp_path / 'tests/old.test.yaml'}: not generated any more",
    ]


def test_drift_is_empty_when_current(tmp_path: Path) -> None:
    populate(tmp_path, {"a.yaml": "A\n", "b.yaml": "B\n", "tests/t.test.yaml": "T\n", **UNRELATED})
    assert sample_output(tmp_path).drift() == []


def test_a_directory_matching_a_pattern_is_not_owned(tmp_path: Path) -> None:
    (tmp_path / "dir.yaml").mkdir()
    populate(tmp_path, {"a.yaml": "A\n"})
    assert sample_output(tmp_path).owned() == {"a.yaml"}


def test_write_creates_updates_and_removes_but_leaves_other_files(tmp_path: Path) -> None:
    populate(
        tmp_path,
        {
            "a.yaml": "A\n",
            "b.yaml": "edited by hand\n",
            "old.yaml": "gone\n",
            "tests/old.test.yaml": "gone\n",
            **UNRELATED,
        },
    )
    output = sample_output(tmp_path)
    before = output.drift()
    assert output.write() == before
    assert tree(tmp_path) == {
        "a.yaml": "A\n",
        "b.yaml": "B\n",
        "tests/t.test.yaml": "T\n",
        **UNRELATED,
    }
    assert output.drift() == []
    assert output.write() == []


def test_write_creates_the_directory(tmp_path: Path) -> None:
    output = sample_output(tmp_path / "new" / "out")
    assert len(output.write()) == 3
    assert tree(tmp_path / "new" / "out") == dict(output.files)


def test_write_leaves_current_files_untouched(tmp_path: Path) -> None:
    populate(tmp_path, {"a.yaml": "A\n", "b.yaml": "old\n"})
    for name in ("a.yaml", "b.yaml"):
        os.utime(tmp_path / name, (OLD, OLD))
    sample_output(tmp_path).write()
    assert (tmp_path / "a.yaml").stat().st_mtime == OLD
    assert (tmp_path / "b.yaml").stat().st_mtime != OLD
    assert (tmp_path / "b.yaml").read_text(encoding="utf-8") == "B\n"


def test_rules_output_holds_rules_and_their_tests(tmp_path: Path) -> None:
    output = rules_output(shipped(), tmp_path, POLICY)
    assert sorted(output.files) == RULE_FILES
    assert output.patterns == ("*.yaml", "tests/*.yaml")
    assert output.warnings == ()
    assert output.directory == tmp_path
    rules = render_rules(shipped(), POLICY)
    tests, _ = render_tests(shipped(), POLICY)
    for name, content in rules.items():
        assert output.files[name] == content
    for name, content in tests.items():
        assert output.files[f"tests/{name}"] == content


def test_dashboards_output_holds_the_dashboards(tmp_path: Path) -> None:
    output = dashboards_output(shipped(), tmp_path, POLICY)
    assert dict(output.files) == render_dashboards(shipped(), POLICY)
    assert sorted(output.files) == DASHBOARD_FILES
    assert output.patterns == ("*.json",)


def write_definitions(directory: Path, *extra: dict[str, Any]) -> Path:
    shutil.copytree(SHIPPED, directory)
    for index, document in enumerate(extra):
        (directory / f"extra-{index}.yaml").write_text(yaml.safe_dump(document), encoding="utf-8")
    return directory


UNSUPPORTED: dict[str, Any] = {
    "service": "odd",
    "slos": [
        {
            "name": "availability",
            "indicator": {
                "ratio": {
                    "total": 'odd_total{service="odd"}',
                    "bad": 'odd_total{service="odd",code=~"q[0-9]{12}"}',
                }
            },
            "objective": {"target": "99%"},
        }
    ],
}


def test_rules_output_warns_about_slos_without_generated_tests(tmp_path: Path) -> None:
    definitions = write_definitions(tmp_path / "defs", UNSUPPORTED)
    output = rules_output(load_definitions(definitions), tmp_path / "out", POLICY)
    [warning] = output.warnings
    assert warning.startswith("no generated rule tests for odd/availability: ")
    assert "odd.yaml" in output.files
    assert "tests/odd.test.yaml" in output.files


# The command line


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run from an empty directory, so that a default path could never reach the repository."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def invoke(args: Sequence[str]) -> Result:
    return CliRunner().invoke(main, list(args))


def generate_args(root: Path, *extra: str) -> list[str]:
    return [
        "generate",
        "--definitions",
        str(SHIPPED),
        "--rules-dir",
        str(root / "rules"),
        "--dashboards-dir",
        str(root / "grafana"),
        *extra,
    ]


def test_generate_writes_rules_and_dashboards(workdir: Path) -> None:
    result = invoke(generate_args(workdir))
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        f"{workdir / 'rules'}: 10 files, 10 changed",
        f"{workdir / 'grafana'}: 6 files, 6 changed",
    ]
    assert result.stderr == ""
    assert tree(workdir / "rules") == dict(rules_output(shipped(), workdir, POLICY).files)
    assert tree(workdir / "grafana") == render_dashboards(shipped(), POLICY)
    assert sorted(p.name for p in workdir.iterdir()) == ["grafana", "rules"]


def test_generate_check_passes_when_current(workdir: Path) -> None:
    assert invoke(generate_args(workdir)).exit_code == 0
    result = invoke(generate_args(workdir, "--check"))
    assert result.exit_code == 0, result.output
    assert result.stdout == "generated files are up to date\n"


def test_generate_check_lists_drift_and_writes_nothing(workdir: Path) -> None:
    assert invoke(generate_args(workdir)).exit_code == 0
    rules_dir, grafana = workdir / "rules", workdir / "grafana"
    populate(
        rules_dir,
        {
            "api.yaml": "# edited by hand\n",
            "retired.yaml": HEADER + "groups: []\n",
            "tests/retired.test.yaml": HEADER + "tests: []\n",
            "team.yaml": "groups: []  # written by hand, never touched\n",
            "README.md": "# alert rules\n",
        },
    )
    populate(grafana, {"README.md": "# dashboards\n", "notes.txt": "mine\n"})
    (grafana / "auth.json").unlink()
    before = {**tree(rules_dir), **{f"g/{k}": v for k, v in tree(grafana).items()}}

    result = invoke(generate_args(workdir, "--check"))
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "sloctl: generated files are out of date (run `sloctl generate`):",
        f"  {rules_dir / 'api.yaml'}: differs from a fresh generation",
        f"  {rules_dir / 'retired.yaml'}: not generated any more",
        f"  {rules_dir / 'tests/retired.test.yaml'}: not generated any more",
        f"  {grafana / 'auth.json'}: missing",
    ]
    assert result.stdout == ""
    assert {**tree(rules_dir), **{f"g/{k}": v for k, v in tree(grafana).items()}} == before

    result = invoke(generate_args(workdir))
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        f"{rules_dir}: 10 files, 3 changed",
        f"{grafana}: 6 files, 1 changed",
    ]
    assert not (rules_dir / "retired.yaml").exists()
    assert not (rules_dir / "tests/retired.test.yaml").exists()
    assert (rules_dir / "README.md").read_text(encoding="utf-8") == "# alert rules\n"
    assert (grafana / "README.md").read_text(encoding="utf-8") == "# dashboards\n"
    assert (grafana / "notes.txt").read_text(encoding="utf-8") == "mine\n"
    assert invoke(generate_args(workdir, "--check")).exit_code == 0


def test_generate_rules_writes_only_rules(workdir: Path) -> None:
    out = workdir / "only-rules"
    result = invoke([*generate_args(workdir), "rules", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert result.stdout == f"{out}: 10 files, 10 changed\n"
    assert sorted(tree(out)) == RULE_FILES
    assert sorted(p.name for p in workdir.iterdir()) == ["only-rules"]

    check = invoke([*generate_args(workdir, "--check"), "rules", "--out", str(out)])
    assert check.exit_code == 0, check.output
    (out / "api.yaml").write_text("stale\n", encoding="utf-8")
    check = invoke([*generate_args(workdir, "--check"), "rules", "--out", str(out)])
    assert check.exit_code == 1
    assert f"  {out / 'api.yaml'}: differs from a fresh generation" in check.stderr.splitlines()


def test_generate_dashboards_writes_only_dashboards(workdir: Path) -> None:
    out = workdir / "only-dashboards"
    result = invoke([*generate_args(workdir), "dashboards", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert result.stdout == f"{out}: 6 files, 6 changed\n"
    assert sorted(tree(out)) == DASHBOARD_FILES
    assert sorted(p.name for p in workdir.iterdir()) == ["only-dashboards"]
    check = invoke([*generate_args(workdir, "--check"), "dashboards", "--out", str(out)])
    assert check.exit_code == 0, check.output
    assert check.stdout == "generated files are up to date\n"


def test_generate_check_of_one_kind_ignores_the_other(workdir: Path) -> None:
    rules_out, dashboards_out = workdir / "r", workdir / "d"
    assert invoke([*generate_args(workdir), "rules", "--out", str(rules_out)]).exit_code == 0
    # No dashboards at all, yet the rules alone are current.
    check = invoke([*generate_args(workdir, "--check"), "rules", "--out", str(rules_out)])
    assert check.exit_code == 0, check.output
    check = invoke([*generate_args(workdir, "--check"), "dashboards", "--out", str(dashboards_out)])
    assert check.exit_code == 1
    assert f"  {dashboards_out / 'overview.json'}: missing" in check.stderr.splitlines()


def test_generate_prints_warnings_for_slos_without_tests(workdir: Path) -> None:
    definitions = write_definitions(workdir / "defs", UNSUPPORTED)
    result = invoke(
        [
            "generate",
            "--definitions",
            str(definitions),
            "rules",
            "--out",
            str(workdir / "out"),
        ]
    )
    assert result.exit_code == 0, result.output
    [warning] = result.stderr.splitlines()
    assert warning.startswith("sloctl: warning: no generated rule tests for odd/availability: ")
    assert (workdir / "out" / "odd.yaml").is_file()


def test_generate_refuses_invalid_definitions_clearly(workdir: Path) -> None:
    definitions = workdir / "defs"
    definitions.mkdir()
    (definitions / "api.yaml").write_text("service: api\nslos: []\n", encoding="utf-8")
    result = invoke(
        [
            "generate",
            "--definitions",
            str(definitions),
            "--rules-dir",
            str(workdir / "r"),
            "--dashboards-dir",
            str(workdir / "d"),
        ]
    )
    assert result.exit_code == 2
    assert isinstance(result.exception, SystemExit)
    assert result.stderr.startswith("sloctl: 1 problem in SLO definitions")
    assert not (workdir / "r").exists()
    assert not (workdir / "d").exists()


def test_generate_reports_services_sharing_a_file_name_clearly(workdir: Path) -> None:
    definitions = workdir / "defs"
    definitions.mkdir()
    for index, service in enumerate(("a b", "a_b")):
        document = {
            "service": service,
            "slos": [
                {
                    "name": "availability",
                    "indicator": {"ratio": {"total": "x_total", "bad": 'x_total{code="500"}'}},
                    "objective": {"target": "99%"},
                }
            ],
        }
        (definitions / f"{index}.yaml").write_text(yaml.safe_dump(document), encoding="utf-8")
    result = invoke(
        [
            "generate",
            "--definitions",
            str(definitions),
            "--rules-dir",
            str(workdir / "r"),
            "--dashboards-dir",
            str(workdir / "d"),
        ]
    )
    assert result.exit_code != 0
    assert isinstance(result.exception, SystemExit), result.exception
    assert result.stderr.startswith("sloctl: ")
    assert "a_b" in result.stderr


def test_a_service_cannot_take_the_watchdogs_file(tmp_path: Path) -> None:
    slo = replace(shipped()[0], service="sloctl-watchdog")
    with pytest.raises(GenerationError, match=r"sloctl-watchdog\.yaml"):
        rules_output([slo], tmp_path, POLICY)


API_OVERRIDE = "services:\n  api:\n    major_error_ratio: 0.2\n    major_for: 10m\n"


def test_generate_uses_the_policy_it_is_given(workdir: Path) -> None:
    (workdir / "policy.yaml").write_text(API_OVERRIDE)
    result = invoke(generate_args(workdir, "--policy", str(workdir / "policy.yaml")))
    assert result.exit_code == 0, result.output
    written = (workdir / "rules" / "api.yaml").read_text(encoding="utf-8")
    assert 'sloctl:error_ratio:rate5m{service="api",slo="availability"} > 0.2' in written
    shipped_rules = rules_output(shipped(), workdir, POLICY).files
    assert (workdir / "rules" / "auth.yaml").read_text(encoding="utf-8") == shipped_rules[
        "auth.yaml"
    ]
    # Without --policy, the shipped policy is in force: the files above are out of date.
    result = invoke(generate_args(workdir, "--check"))
    assert result.exit_code == 1
    assert f"{workdir / 'rules' / 'api.yaml'}: differs" in result.stderr
    for sub in ("rules", "dashboards"):
        args = ["generate", "--definitions", str(SHIPPED), "--policy", "policy.yaml"]
        args += [sub, "--out", str(workdir / sub / "again")]
        assert invoke(args).exit_code == 0


def test_generate_names_a_policy_mistake(workdir: Path) -> None:
    (workdir / "policy.yaml").write_text("services:\n  api:\n    major_for: soon\n")
    result = invoke(generate_args(workdir, "--policy", "policy.yaml"))
    assert result.exit_code == 2
    assert "policy.yaml:3" in result.stderr
    assert "services.api.major_for" in result.stderr
    assert "Traceback" not in result.output


@pytest.mark.parametrize("where", ["a-file", "a-file/below", "no-dir/../a-file/x"])
def test_generate_into_a_path_that_cannot_be_a_directory_is_one_error(
    workdir: Path, where: str
) -> None:
    (workdir / "a-file").write_text("not a directory\n")
    result = invoke(
        [
            "generate",
            "--definitions",
            str(SHIPPED),
            "--rules-dir",
            str(workdir / where),
            "--dashboards-dir",
            str(workdir / "grafana"),
        ]
    )
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith(f"sloctl: cannot write {workdir}")
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert (workdir / "a-file").read_text() == "not a directory\n"


def test_a_generation_failing_half_way_writes_nothing(tmp_path: Path) -> None:
    """Files are generated a part at a time; one part failing leaves every file as it was
    and no staged file behind."""
    populate(tmp_path, {"a.yaml": "old A\n", "gone.yaml": "old, generated\n"})
    renders: list[str] = []

    def part(name: str, fails: bool = False) -> Any:
        def render() -> dict[str, str]:
            renders.append(name)
            if fails:
                raise GenerationError(f"{name} cannot be generated")
            return {name: f"new {name}\n"}

        return render

    files = Rendered([(("a.yaml",), part("a.yaml")), (("b.yaml",), part("b.yaml", fails=True))])
    output = Output(tmp_path, files, ("*.yaml",), lambda text: True)
    assert len(output.files) == 2
    assert list(output.files) == ["a.yaml", "b.yaml"]
    assert renders == []  # nothing is generated until it is read
    with pytest.raises(GenerationError, match=r"b\.yaml cannot be generated"):
        output.write()
    assert tree(tmp_path) == {"a.yaml": "old A\n", "gone.yaml": "old, generated\n"}
    working = Output(
        tmp_path, Rendered([(("a.yaml",), part("a.yaml"))]), ("*.yaml",), lambda _: True
    )
    assert working.write() == [
        f"{tmp_path / 'a.yaml'}: differs from a fresh generation",
        f"{tmp_path / 'gone.yaml'}: not generated any more",
    ]
    assert tree(tmp_path) == {"a.yaml": "new a.yaml\n"}
