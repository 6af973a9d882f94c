"""The one retry policy: full jitter under a capped exponential ceiling."""

from __future__ import annotations

import random
from typing import Any

import pytest

from sloctl.runtime.retry import RetryPolicy


@pytest.mark.parametrize("attempt", range(8))
def test_retry_delay_is_full_jitter_under_the_ceiling(attempt: int) -> None:
    policy = RetryPolicy(attempts=9, base_delay=1.0, max_delay=60.0)
    rng = random.Random(attempt)
    ceiling = min(60.0, 2.0**attempt)
    pauses = [policy.delay(attempt, rng) for _ in range(200)]
    assert all(0 <= pause <= ceiling for pause in pauses)
    assert min(pauses) < ceiling / 4  # spread over the whole range, not pinned to the ceiling
    assert max(pauses) > ceiling * 3 / 4


def test_a_pause_after_very_many_attempts_is_the_cap() -> None:
    """The outbox retries for as long as a message is relevant: thousands of attempts."""
    policy = RetryPolicy(base_delay=1.0, max_delay=300.0)
    pauses = [policy.delay(5000, random.Random(seed)) for seed in range(50)]
    assert all(0 <= pause <= 300.0 for pause in pauses)
    assert max(pauses) > 200.0


def test_the_defaults_are_the_prometheus_readers() -> None:
    assert RetryPolicy() == RetryPolicy(attempts=4, base_delay=0.5, max_delay=8.0)


@pytest.mark.parametrize("changes", [{"attempts": 0}, {"base_delay": -1.0}, {"max_delay": -1.0}])
def test_retry_policy_refuses_nonsense(changes: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=r"."):
        RetryPolicy(**changes)
