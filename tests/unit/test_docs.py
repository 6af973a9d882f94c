"""The tests docs/reliability.md cites exist, under the path and name it gives them.

A citation is a code span naming a test file, a test in it (``path::test_name``, with an
optional ``[parameter id]``), or a test in the file cited last on the same line
(``::test_name``). A bare file name (``test_daemon_faults.py::...``) stands for the one file of
that name under tests/.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RELIABILITY = ROOT / "docs" / "reliability.md"
CODE_SPAN = re.compile(r"`([^`\n]+)`")
CITATION = re.compile(
    r"(?P<path>(?:tests/[\w/]+/)?test_\w+\.py)?(?:::(?P<name>test_\w+)(?:\[[^\]]*\])?)?"
)


@dataclass(frozen=True)
class Citation:
    line: int
    text: str
    path: str | None
    name: str | None


def citations(markdown: str) -> list[Citation]:
    """Every test file and test cited in ``markdown``, in order."""
    found = []
    for number, line in enumerate(markdown.splitlines(), 1):
        for span in CODE_SPAN.finditer(line):
            match = CITATION.fullmatch(span.group(1))
            if match is not None and (match["path"] or match["name"]):
                found.append(Citation(number, span.group(1), match["path"], match["name"]))
    return found


def defined_tests(path: Path) -> set[str]:
    """The test functions of a test module, at its top level or in its classes."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {
        node.name
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.name.startswith("test_")
    }


def problems(markdown: str, root: Path) -> list[str]:
    """What is wrong with the citations of ``markdown`` (empty when every one is real)."""
    found: list[str] = []
    current: tuple[int, Path] | None = None  # the file cited last, and on which line
    for citation in citations(markdown):
        where = f"docs/reliability.md:{citation.line}: `{citation.text}`"
        if citation.path is not None:
            if "/" in citation.path:
                files = [root / citation.path] if (root / citation.path).is_file() else []
            else:
                files = sorted((root / "tests").rglob(citation.path))
            if len(files) != 1:
                found.append(f"{where}: {len(files)} files of that name, not one")
                current = None
                continue
            current = (citation.line, files[0])
        if citation.name is None:
            continue
        if current is None or current[0] != citation.line:
            found.append(f"{where}: no test file cited before it on its line")
            continue
        if citation.name not in defined_tests(current[1]):
            found.append(f"{where}: no such test in {current[1].relative_to(root)}")
    return found


def test_every_test_the_reliability_document_cites_exists() -> None:
    markdown = RELIABILITY.read_text(encoding="utf-8")
    assert problems(markdown, ROOT) == []


def test_the_citations_are_found_in_all_their_forms() -> None:
    line = (
        "| x | y | `tests/unit/notify/test_outbox.py::test_retry_after_is_honoured`, "
        "`::test_the_answer_read_is_capped`, `test_prometheus_faults.py::test_a[503-overloaded]`, "
        "`tests/unit/generate/test_watchdog.py`, `sloctl/prometheus/cutoff.py` |"
    )
    assert [(c.path, c.name) for c in citations(line)] == [
        ("tests/unit/notify/test_outbox.py", "test_retry_after_is_honoured"),
        (None, "test_the_answer_read_is_capped"),
        ("test_prometheus_faults.py", "test_a"),
        ("tests/unit/generate/test_watchdog.py", None),
    ]
    assert len(citations(RELIABILITY.read_text(encoding="utf-8"))) > 50


def test_a_missing_file_a_missing_test_and_an_orphan_name_are_each_reported() -> None:
    markdown = (
        "| a | b | `tests/unit/test_store.py::test_a_claim_is_taken_once` |\n"
        "| a | b | `tests/unit/store/test_database.py::test_a_claim_is_taken_once`, "
        "`::test_that_was_never_written` |\n"
        "| a | b | `::test_a_claim_is_taken_once` |\n"
    )
    assert problems(markdown, ROOT) == [
        "docs/reliability.md:1: `tests/unit/test_store.py::test_a_claim_is_taken_once`: "
        "0 files of that name, not one",
        "docs/reliability.md:2: `::test_that_was_never_written`: no such test in "
        "tests/unit/store/test_database.py",
        "docs/reliability.md:3: `::test_a_claim_is_taken_once`: no test file cited before it "
        "on its line",
    ]
