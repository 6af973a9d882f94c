"""The policy file: the shipped one is the runbook's, and a mistake is located."""

from __future__ import annotations

from dataclasses import fields, replace
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from sloctl.errors import DefinitionError
from sloctl.incidents.policy import Thresholds
from sloctl.loading.policy_file import load_policy, policy_in_force, shipped_policy
from tests.paths import ROOT


def test_the_shipped_policy_is_the_runbook_with_one_override() -> None:
    policy = load_policy(ROOT / "deploy" / "policy.yaml")
    assert policy.defaults == Thresholds()
    assert policy.for_service("ai-worker") == replace(
        Thresholds(), healthy_error_ratio=Decimal("0.005")
    )
    assert policy.for_service("api") == Thresholds()


def test_deploy_policy_is_the_built_in_default() -> None:
    deploy = ROOT / "deploy" / "policy.yaml"
    packaged = ROOT / "sloctl" / "loading" / "policy.yaml"
    assert deploy.read_bytes() == packaged.read_bytes(), (
        "copy sloctl/loading/policy.yaml to deploy/"
    )
    assert shipped_policy() == load_policy(deploy)
    assert policy_in_force(None) == shipped_policy()
    assert policy_in_force(None).for_service("ai-worker").healthy_error_ratio == Decimal("0.005")


def test_the_shipped_defaults_state_every_threshold() -> None:
    """The shipped file writes every value out, so that reading it tells the whole policy."""
    text = (ROOT / "sloctl" / "loading" / "policy.yaml").read_text()
    written = {
        line.split(":")[0].strip()
        for line in text.split("services:")[0].splitlines()
        if line.startswith("  ") and not line.strip().startswith("#")
    }
    assert written == {f.name for f in fields(Thresholds)}


def test_a_policy_file_sets_the_sustained_errors_indicator(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(
        "defaults: {sustained_burn_rate: 6, sustained_for: 10m}\n"
        "services: {api: {sustained_burn_rate: 2.5}}\n"
    )
    policy = load_policy(path)
    assert policy.defaults.sustained_burn_rate == Decimal(6)
    assert policy.defaults.sustained_for == timedelta(minutes=10)
    assert policy.for_service("api").sustained_burn_rate == Decimal("2.5")
    assert policy.for_service("api").sustained_for == timedelta(minutes=10)


@pytest.mark.parametrize(
    ("text", "location"),
    [
        pytest.param("defaults: {signal_window: 0s}\n", "defaults.signal_window", id="zero"),
        pytest.param(
            "defaults: {signal_window: 1500ms}\n", "defaults.signal_window", id="fraction"
        ),
        pytest.param(
            "defaults: {outage_error_ratio: 1.5}\n", "defaults.outage_error_ratio", id="ratio"
        ),
        pytest.param(
            "services: {api: {stable_for: soon}}\n", "services.api.stable_for", id="service-span"
        ),
        pytest.param("defaults: {colour: blue}\n", "defaults.colour", id="unknown"),
        pytest.param(
            "defaults: {sustained_burn_rate: 0.5}\n",
            "defaults.sustained_burn_rate",
            id="burn-rate-below-1",
        ),
        pytest.param(
            "services: {api: {sustained_burn_rate: lots}}\n",
            "services.api.sustained_burn_rate",
            id="burn-rate-text",
        ),
        pytest.param(
            "defaults: {sustained_burn_rate: true}\n",
            "defaults.sustained_burn_rate",
            id="burn-rate-bool",
        ),
    ],
)
def test_policy_mistakes_are_located(tmp_path: Path, text: str, location: str) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text("# policy\n" + text)
    with pytest.raises(DefinitionError) as caught:
        load_policy(path)
    [problem] = caught.value.problems
    assert problem.location == location
    assert problem.line == 2


def test_a_signal_window_per_service(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text("defaults: {signal_window: 2m}\nservices: {api: {signal_window: 30s}}\n")
    policy = load_policy(path)
    assert policy.defaults.signal_window == timedelta(minutes=2)
    assert policy.for_service("api").signal_window == timedelta(seconds=30)
    assert policy.for_service("auth").signal_window == timedelta(minutes=2)
