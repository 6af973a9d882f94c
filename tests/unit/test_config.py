"""The daemon's configuration: the shipped example validates; mistakes are located."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from sloctl.config import ConfigSpec, load_config
from sloctl.errors import DefinitionError

ROOT = Path(__file__).resolve().parents[2]


def test_the_kubernetes_example_config_is_valid() -> None:
    documents = list(yaml.safe_load_all((ROOT / "deploy" / "kubernetes.yaml").read_text()))
    text = documents[0]["data"]["sloctl.yaml"]
    spec = ConfigSpec.model_validate(yaml.safe_load(text))
    assert spec.listen == "0.0.0.0:9464"


@pytest.mark.parametrize(
    ("text", "location"),
    [
        pytest.param("interval: soon\n", "interval", id="bad-interval"),
        pytest.param("prometheus: {url: ftp://x}\n", "prometheus", id="bad-url"),
        pytest.param("prometheus: {bearer_token_env: A, bearer_token_file: b}\n", "prometheus",
                     id="two-auths"),
        pytest.param("listen: 9464\n", "listen", id="bad-listen"),
        pytest.param("listen: 127.0.0.1:99999\n", "listen", id="port-too-high"),
        pytest.param("colour: blue\n", "colour", id="unknown-key"),
    ],
)  # fmt: skip
def test_mistakes_are_located(tmp_path: Path, text: str, location: str) -> None:
    path = tmp_path / "sloctl.yaml"
    path.write_text(text)
    with pytest.raises(DefinitionError) as caught:
        load_config(path)
    assert caught.value.problems[0].location.startswith(location)
    assert str(caught.value).endswith("in the configuration")


def test_secrets_come_from_the_environment(tmp_path: Path) -> None:
    path = tmp_path / "sloctl.yaml"
    path.write_text("prometheus: {bearer_token_env: PROM_TOKEN}\n")
    config = load_config(path)
    session = config.session({"PROM_TOKEN": "s3cret"})
    assert session.headers["Authorization"] == "Bearer s3cret"
    with pytest.raises(DefinitionError) as caught:
        config.session({})
    assert "PROM_TOKEN is not set" in caught.value.problems[0].message
