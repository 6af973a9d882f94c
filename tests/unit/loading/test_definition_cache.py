"""Validated definitions kept between runs (sloctl/loading/definition_cache.py)."""

from __future__ import annotations

import json
import shutil
import stat
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from sloctl.errors import DefinitionError
from sloctl.loading import definition_cache
from sloctl.loading.definition_cache import (
    CACHE_ENV,
    cache_directory,
    code_digest,
    definitions_key,
    kept_file,
    load_validated,
    slo_form,
    slo_from_form,
)
from sloctl.loading.definitions import load_definitions
from sloctl.loading.files import MAX_FILE_BYTES, definition_files
from tests.paths import ROOT

SHIPPED = ROOT / "slo-definitions"

VARIED: dict[str, Any] = {
    "service": "checkout",
    "description": "Takes the money.",
    "dependsOn": ["api", "database"],
    "scrapeInterval": "15s",
    "slos": [
        {
            "name": "availability",
            "description": "Orders that go through.",
            "indicator": {
                "ratio": {
                    "total": 'orders_total{service="checkout",path!~"/health.*"}',
                    "good": 'orders_total{service="checkout",code="200",region!="x\\"y"}',
                }
            },
            "objective": {"budget": "43.2m"},
            "window": {"rolling": "30d"},
        },
        {
            "name": "latency",
            "indicator": {
                "latency": {
                    "histogram": 'order_seconds{service="checkout"}',
                    "threshold": "1.5s",
                }
            },
            "objective": {"target": "99.25%"},
            "window": {"calendar": "month", "timezone": "Europe/Berlin"},
        },
        {
            "name": "slices",
            "indicator": {"ratio": {"total": "orders_total", "bad": 'orders_total{code=~"5.."}'}},
            "objective": {"target": "99%"},
            "window": {"rolling": "7d"},
            "budgetingMethod": "Timeslices",
            "timeSliceTarget": "95.5%",
            "timeSliceWindow": "5m",
        },
    ],
}


def write_varied(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "checkout.yaml").write_text(yaml.safe_dump(VARIED, sort_keys=False))
    for path in SHIPPED.glob("*.yaml"):
        shutil.copy(path, directory / path.name)
    return directory


@pytest.fixture
def definitions(tmp_path: Path) -> Path:
    return write_varied(tmp_path / "definitions")


def test_every_kind_of_slo_reads_back_equal(definitions: Path) -> None:
    slos = load_definitions(definitions)
    assert {slo.method.value for slo in slos} == {"Occurrences", "Timeslices"}
    for slo in slos:
        assert slo_from_form(json.loads(json.dumps(slo_form(slo)))) == slo


def test_the_second_load_reads_what_the_first_kept(definitions: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    first = load_validated(definitions, cache)
    assert first == load_definitions(definitions)
    kept = kept_file(cache, definitions)
    document = json.loads(kept.read_text())
    assert [slo_from_form(form) for form in document["slos"]] == list(first)
    # What the second load returns comes from the file: a mark made in it shows through.
    document["slos"][0]["description"] = "read from the cache"
    kept.write_text(json.dumps(document))
    second = load_validated(definitions, cache)
    assert second[0].description == "read from the cache"
    assert second[1:] == first[1:]


def test_a_changed_file_is_validated_again(definitions: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    load_validated(definitions, cache)
    api = definitions / "api.yaml"
    api.write_text(api.read_text().replace("target: 95%", "target: 97.5%"))
    changed = load_validated(definitions, cache)
    assert changed == load_definitions(definitions)
    assert Decimal("0.975") in {slo.target for slo in changed}
    broken = api.read_text().replace("slos:", "slos: [", 1)
    api.write_text(broken)
    for _ in range(2):  # problems are never kept: reported each time
        with pytest.raises(DefinitionError):
            load_validated(definitions, cache)


def test_the_same_files_by_another_path_are_kept_apart(tmp_path: Path) -> None:
    one, two = write_varied(tmp_path / "one"), write_varied(tmp_path / "two")
    cache = tmp_path / "cache"
    assert {s.source for s in load_validated(one, cache)} == {str(p) for p in one.glob("*.yaml")}
    assert {s.source for s in load_validated(two, cache)} == {str(p) for p in two.glob("*.yaml")}
    assert kept_file(cache, one) != kept_file(cache, two)


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda text: text[: len(text) // 2], id="cut-short"),
        pytest.param(lambda text: "[]", id="not-an-object"),
        pytest.param(lambda text: text.replace('"=~"', '"~~"'), id="unknown-operator"),
        pytest.param(lambda text: text.replace('"target": "0.', '"target": "NaN0.'), id="nan"),
        pytest.param(
            lambda text: text.replace('"scrape_seconds": 15', '"scrape_seconds": "15"'), id="type"
        ),
        pytest.param(lambda text: text.replace('"slos": [', '"slos": [null, ', 1), id="null"),
    ],
)
def test_a_damaged_cache_is_validated_again_and_mended(
    definitions: Path, tmp_path: Path, damage: Any
) -> None:
    cache = tmp_path / "cache"
    expected = load_validated(definitions, cache)
    kept = kept_file(cache, definitions)
    damaged = damage(kept.read_text())
    assert damaged != kept.read_text()
    kept.write_text(damaged)
    assert load_validated(definitions, cache) == expected
    assert json.loads(kept.read_text())["slos"] == [slo_form(slo) for slo in expected]


def test_a_cache_that_cannot_be_written_changes_nothing(definitions: Path, tmp_path: Path) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("not a directory")
    assert load_validated(definitions, blocked / "cache") == load_definitions(definitions)
    assert load_validated(definitions, None) == load_definitions(definitions)


def test_the_cache_is_its_owners_only(definitions: Path, tmp_path: Path) -> None:
    cache = tmp_path / "fresh" / "cache"
    load_validated(definitions, cache)
    assert stat.S_IMODE(cache.stat().st_mode) == 0o700
    assert [p.name for p in cache.iterdir()] == [kept_file(cache, definitions).name]


def test_the_key_follows_every_byte_and_the_code(definitions: Path, tmp_path: Path) -> None:
    files = definition_files(definitions)
    key = definitions_key(files, "code")
    assert key == definitions_key(files, "code")
    assert key != definitions_key(files, "other code")
    assert key != definitions_key(files[1:], "code")
    files[0].write_bytes(files[0].read_bytes() + b"\n")
    assert key != definitions_key(files, "code")
    files[0].write_bytes(b"#" * (MAX_FILE_BYTES + 1))
    assert definitions_key(files, "code") is None  # the validation says why


def test_the_code_digest_follows_the_validating_sources(tmp_path: Path) -> None:
    package = tmp_path / "sloctl"
    shutil.copytree(ROOT / "sloctl", package, ignore=shutil.ignore_patterns("__pycache__"))
    before = code_digest(package)
    assert before == code_digest(package)
    (package / "loading" / "definitions.py").write_text("# another validation\n")
    assert code_digest(package) != before


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({CACHE_ENV: "/var/cache/slo", "XDG_CACHE_HOME": "/x"}, Path("/var/cache/slo")),
        ({CACHE_ENV: "", "HOME": "/home/sre"}, None),
        ({"XDG_CACHE_HOME": "/xdg", "HOME": "/home/sre"}, Path("/xdg/sloctl")),
        ({"HOME": "/home/sre"}, Path("/home/sre/.cache/sloctl")),
        ({}, None),
    ],
)
def test_where_the_cache_lies(env: dict[str, str], expected: Path | None) -> None:
    assert cache_directory(env) == expected


def test_a_validation_too_large_to_read_back_is_not_kept(
    definitions: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(definition_cache, "KEPT_MAX_BYTES", 1000)
    cache = tmp_path / "cache"
    assert load_validated(definitions, cache) == load_definitions(definitions)
    assert not kept_file(cache, definitions).exists()
