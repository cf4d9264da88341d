"""The circuit breaker, the retry budget and the backoff on their own."""

from __future__ import annotations

import random

import pytest

from gateway.lac.base import LacAmbiguous, LacRejected, LacUnavailable
from gateway.lac.resilience import (
    BreakerPolicy,
    BreakerState,
    CircuitBreaker,
    CircuitOpen,
    RetryBudget,
    RetryPolicy,
    retryable,
)


class ManualClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def opened(clock: ManualClock) -> CircuitBreaker:
    breaker = CircuitBreaker(BreakerPolicy(failures=2, cooldown=10.0), clock)
    breaker.failure()
    breaker.failure()
    return breaker


def test_breaker_opens_after_consecutive_failures_only() -> None:
    breaker = CircuitBreaker(BreakerPolicy(failures=2, cooldown=10.0), ManualClock())
    breaker.failure()
    breaker.success()
    breaker.failure()
    assert breaker.allow()
    breaker.failure()
    assert breaker.state is BreakerState.OPEN
    assert not breaker.allow()


def test_after_the_cooldown_exactly_one_probe_is_let_through() -> None:
    clock = ManualClock()
    breaker = opened(clock)
    clock.now = 9.9
    assert not breaker.allow()
    clock.now = 10.0
    assert breaker.allow()
    assert not breaker.allow()
    breaker.success()
    assert breaker.allow()
    assert breaker.allow()


def test_a_failed_probe_reopens_for_a_full_cooldown() -> None:
    clock = ManualClock()
    breaker = opened(clock)
    clock.now = 10.0
    assert breaker.allow()
    breaker.failure()
    assert not breaker.allow()
    clock.now = 19.9
    assert not breaker.allow()
    clock.now = 20.0
    assert breaker.allow()


def test_a_cancelled_probe_frees_the_probe_slot() -> None:
    clock = ManualClock()
    breaker = opened(clock)
    clock.now = 10.0
    assert breaker.allow()
    breaker.release()
    assert breaker.allow()


def test_budget_grows_with_calls_and_caps_at_its_burst() -> None:
    budget = RetryBudget(ratio=0.5, burst=1.0)
    assert budget.withdraw()
    assert not budget.withdraw()
    budget.deposit()
    assert not budget.withdraw()
    budget.deposit()
    assert budget.withdraw()
    for _ in range(10):
        budget.deposit()
    assert budget.withdraw()
    assert not budget.withdraw()


def test_backoff_is_jittered_under_an_exponential_ceiling() -> None:
    policy = RetryPolicy(base_delay=0.1, max_delay=0.5)
    rng = random.Random(7)  # noqa: S311 - seeded jitter, not security
    for attempt, ceiling in [(0, 0.1), (1, 0.2), (2, 0.4), (3, 0.5), (8, 0.5)]:
        delays = [policy.delay(attempt, rng) for _ in range(200)]
        assert all(0 <= d <= ceiling for d in delays)
        assert max(delays) > ceiling / 2


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (LacUnavailable(900), True),
        (LacUnavailable(901), True),
        (LacAmbiguous(901), False),
        (CircuitOpen(900), False),
        (LacRejected(102), True),
        (LacRejected(30), True),
        (LacRejected(101), False),
        (LacRejected(10), False),
        (LacRejected(4242), False),
    ],
)
def test_only_transient_failures_are_retryable(
    error: LacUnavailable | LacRejected, expected: bool
) -> None:
    assert retryable(error) is expected
