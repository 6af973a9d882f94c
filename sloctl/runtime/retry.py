"""Pauses between attempts: capped exponential backoff with full jitter.

One policy for everything sloctl retries over HTTP: the Prometheus reader (a few attempts per
query) and the notification outbox (which keeps trying for as long as a message is relevant,
so it asks only for the pauses).
"""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class RetryPolicy:
    """At most ``attempts`` attempts in all, with a pause before each one after the first."""

    attempts: int = 4
    base_delay: float = 0.5
    max_delay: float = 8.0

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("attempts must be at least 1")
        if self.base_delay < 0 or self.max_delay < 0:
            raise ValueError("delays must not be negative")

    def delay(self, attempt: int, rng: random.Random) -> float:
        """Full jitter: a uniform pick below ``min(max_delay, base_delay * 2**attempt)``, the
        exponential ceiling for the ``attempt``-th pause (from 0)."""
        ceiling = min(self.max_delay, self.base_delay * 2 ** min(attempt, 62))
        return rng.uniform(0, ceiling)
