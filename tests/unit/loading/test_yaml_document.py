"""Safe YAML loading with line numbers (sloctl/loading/yaml_document.py)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from sloctl.errors import YamlError
from sloctl.loading.files import MAX_FILE_BYTES
from sloctl.loading.yaml_document import (
    Document,
    Location,
    load_yaml,
    parse_yaml,
)

NESTED = """\
service: api
slos:
  - name: a
    objective:
      target: 1
  - name: b
    tags:
      - x
      - y
"""


def test_data_is_plain_python() -> None:
    assert parse_yaml(NESTED).data == {
        "service": "api",
        "slos": [{"name": "a", "objective": {"target": 1}}, {"name": "b", "tags": ["x", "y"]}],
    }


@pytest.mark.parametrize(
    ("location", "line"),
    [
        pytest.param((), 1, id="root"),
        pytest.param(("service",), 1, id="top-level-key"),
        pytest.param(("slos",), 3, id="list-value"),
        pytest.param(("slos", 0), 3, id="first-item"),
        pytest.param(("slos", 0, "name"), 3, id="key-in-item"),
        pytest.param(("slos", 0, "objective"), 5, id="mapping-value-starts-at-its-first-key"),
        pytest.param(("slos", 0, "objective", "target"), 5, id="nested-key"),
        pytest.param(("slos", 1), 6, id="second-item"),
        pytest.param(("slos", 1, "tags", 0), 8, id="nested-list-item"),
        pytest.param(("slos", 1, "tags", 1), 9, id="second-nested-list-item"),
    ],
)
def test_lines_are_recorded(location: Location, line: int) -> None:
    document = parse_yaml(NESTED)
    assert document.lines[location] == line
    assert document.line_of(location) == line


@pytest.mark.parametrize(
    ("location", "line"),
    [
        pytest.param(("slos", 0, "objective", "budget"), 5, id="missing-key-uses-parent"),
        pytest.param(("slos", 1, "tags", 7), 8, id="missing-index-uses-list"),
        pytest.param(("slos", 4, "name"), 3, id="missing-item-uses-list"),
        pytest.param(("nope", "deeper"), 1, id="unknown-uses-root"),
    ],
)
def test_line_of_falls_back_to_nearest_parent(location: Location, line: int) -> None:
    document = parse_yaml(NESTED)
    assert location not in document.lines
    assert document.line_of(location) == line


def test_line_of_without_lines_is_none() -> None:
    assert Document(None).line_of(("a", 0)) is None


@pytest.mark.parametrize(
    ("text", "line"),
    [
        pytest.param("a: 1\nb: 2\na: 3\n", 3, id="top-level"),
        pytest.param("outer:\n  b: 1\n  c: 2\n  b: 3\n", 4, id="nested"),
        pytest.param("- x: 1\n- x: 2\n  y: 3\n  x: 4\n", 4, id="in-list-item"),
        pytest.param("a: 1\n'a': 2\n", 2, id="quoted-duplicate"),
    ],
)
def test_duplicate_keys_rejected_with_line(text: str, line: int) -> None:
    with pytest.raises(YamlError, match="duplicate key") as info:
        parse_yaml(text)
    assert info.value.line == line


def test_same_key_in_sibling_mappings_is_fine() -> None:
    assert parse_yaml("- a: 1\n- a: 2\n").data == [{"a": 1}, {"a": 2}]


@pytest.mark.parametrize(
    "tagged",
    [
        pytest.param('!!python/object/apply:os.system ["true"]', id="apply"),
        pytest.param("!!python/object/new:os.system [true]", id="new"),
        pytest.param("!!python/name:os.system ''", id="name"),
        pytest.param("!!python/module:os ''", id="module"),
        pytest.param("!custom 1", id="local-tag"),
    ],
)
def test_non_plain_tags_rejected(tagged: str) -> None:
    with pytest.raises(YamlError, match="only plain data is accepted") as info:
        parse_yaml(f"service: api\ncommand: {tagged}\n")
    assert info.value.line == 2


def test_python_tag_is_never_executed(tmp_path: Path) -> None:
    marker = tmp_path / "executed"
    path = tmp_path / "evil.yaml"
    path.write_text(f'x: !!python/object/apply:os.system ["touch {marker}"]\n', encoding="utf-8")
    with pytest.raises(YamlError, match="unsupported YAML"):
        load_yaml(path)
    assert not marker.exists()


def _alias_bomb(levels: int = 9, width: int = 9) -> str:
    lines = [f"l0: &l0 [{', '.join(['lol'] * width)}]"]
    for level in range(1, levels):
        aliases = ", ".join([f"*l{level - 1}"] * width)
        lines.append(f"l{level}: &l{level} [{aliases}]")
    return "\n".join(lines) + "\n"


def test_alias_bomb_rejected_quickly() -> None:
    started = time.perf_counter()
    with pytest.raises(YamlError, match="anchors and aliases"):
        parse_yaml(_alias_bomb())
    assert time.perf_counter() - started < 1.0


def test_a_few_aliases_are_fine() -> None:
    document = parse_yaml("base: &b {a: 1}\ncopy: *b\n")
    assert document.data == {"base": {"a": 1}, "copy": {"a": 1}}


def test_recursive_alias_rejected() -> None:
    with pytest.raises(YamlError, match="nests too deeply"):
        parse_yaml("a: &a [*a]\n")


def test_deep_nesting_rejected() -> None:
    with pytest.raises(YamlError, match="nests too deeply"):
        parse_yaml("- " * 1500 + "x")  # 1500 nested block sequences on one line


def test_oversized_file_rejected(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_bytes(b"#" * (MAX_FILE_BYTES + 1))
    with pytest.raises(YamlError, match="larger than"):
        load_yaml(path)


def test_oversized_text_counted_in_bytes() -> None:
    text = "é" * (MAX_FILE_BYTES // 2 + 1)  # fewer characters than the cap, more bytes
    assert len(text) < MAX_FILE_BYTES
    with pytest.raises(YamlError, match="larger than"):
        parse_yaml(text)


@pytest.mark.parametrize(
    ("text", "line"),
    [
        pytest.param("a: 1\nb: 2\nc: d: e\n", 3, id="mapping-in-plain-scalar"),
        pytest.param("a: [1, 2\nb: 3\n", 2, id="unclosed-flow-list"),
        pytest.param("a: 1\n---\nb: 2\n", 2, id="two-documents"),
        pytest.param("a: 1\nb: *nope\n", 2, id="undefined-alias"),
        pytest.param("a: 1\n\tb: 2\n", 2, id="tab-indent"),
    ],
)
def test_invalid_yaml_gives_line(text: str, line: int) -> None:
    with pytest.raises(YamlError, match="invalid YAML") as info:
        parse_yaml(text)
    assert info.value.line == line


def test_non_utf8_file_rejected(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("service: café\n".encode("latin-1"))
    with pytest.raises(YamlError, match="not UTF-8"):
        load_yaml(path)


@pytest.mark.parametrize(
    "text",
    [pytest.param("", id="empty"), pytest.param("# nothing\n\n", id="comments-only")],
)
def test_empty_document_has_no_data(text: str) -> None:
    document = parse_yaml(text)
    assert document.data is None
    assert document.lines == {}


def test_load_yaml_reads_file(tmp_path: Path) -> None:
    path = tmp_path / "ok.yaml"
    path.write_text(NESTED, encoding="utf-8")
    assert load_yaml(path) == parse_yaml(NESTED)
