"""Token buckets: bursts pass, a steady rate refills, refused calls are told when to retry."""

from __future__ import annotations

import pytest

from counterflow.api.ratelimit import RateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 50.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_passes_then_calls_wait_for_the_refill() -> None:
    clock = Clock()
    limiter = RateLimiter(10.0, 5, clock=clock)
    assert [limiter.acquire(1) for _ in range(5)] == [0.0] * 5
    wait = limiter.acquire(1)
    assert wait == pytest.approx(0.1)
    clock.now += 0.05
    assert limiter.acquire(1) == pytest.approx(0.05)
    clock.now += 0.05
    assert limiter.acquire(1) == 0.0
    assert limiter.acquire(1) > 0


def test_keys_have_their_own_buckets() -> None:
    limiter = RateLimiter(1.0, 2, clock=Clock())
    assert limiter.acquire(1) == 0.0 and limiter.acquire(1) == 0.0
    assert limiter.acquire(1) > 0
    assert limiter.acquire(2) == 0.0


def test_an_idle_bucket_refills_only_to_the_burst() -> None:
    clock = Clock()
    limiter = RateLimiter(100.0, 3, clock=clock)
    limiter.acquire(1)
    clock.now += 3600
    assert [limiter.acquire(1) for _ in range(3)] == [0.0] * 3
    assert limiter.acquire(1) > 0


def test_a_steady_rate_is_what_passes_over_time() -> None:
    clock = Clock()
    limiter = RateLimiter(20.0, 1, clock=clock)
    passed = 0
    for _ in range(10_000):  # 10 s of calls every millisecond
        clock.now += 0.001
        passed += limiter.acquire(9) == 0.0
    assert 199 <= passed <= 201


def test_a_zero_rate_turns_limiting_off() -> None:
    limiter = RateLimiter(0.0, 1, clock=Clock())
    assert not limiter.enabled
    assert all(limiter.acquire(1) == 0.0 for _ in range(1000))
