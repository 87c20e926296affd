"""Block times and budgets: every transfer asked for is placed, no block over capacity."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from counterflow.exercise import schedule

START = 1_767_571_200  # 2026-01-05 00:00 UTC


@settings(max_examples=200, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    total=st.integers(0, 5_000_000),
    days=st.floats(0.5, 20),
    capacity=st.integers(1, 20_000),
)
def test_budgets_place_every_transfer_within_capacity(
    seed: int, total: int, days: float, capacity: int
) -> None:
    rng = np.random.default_rng(seed)
    end = START + int(days * schedule.DAY)
    hourly = schedule.activity(rng, START, end)
    times = schedule.bitcoin_blocks(rng, START, end)
    budgets = schedule.budgets(times, end, hourly, START, total, capacity)
    assert len(budgets) == len(times)
    assert int(budgets.sum()) == total
    assert (budgets >= 0).all()
    assert budgets.max() <= max(capacity, 2 * -(-total // len(times)))


def test_quiet_blocks_pass_through_and_a_burst_waits() -> None:
    times = START + 600 * np.arange(6, dtype=np.int64)
    end = int(times[-1]) + 600
    hourly = np.array([1.0, 1.0])
    flat = schedule.budgets(times, end, hourly, START, 600, capacity=500)
    assert flat.tolist() == [100] * 6
    # One long interval asks for most of the total: the blocks after it take the backlog
    # (the cap is twice the mean block here, 2,490, as that is more than the capacity).
    times = np.array([START, START + 60, START + 4_860, START + 4_920], dtype=np.int64)
    end = START + 4_980
    hourly = np.ones(3)
    burst = schedule.budgets(times, end, hourly, START, 4_980, capacity=2_000)
    assert burst.tolist() == [60, 2_490, 2_370, 60]
    assert burst.sum() == 4_980


def test_blocks_follow_each_chains_clock() -> None:
    rng = np.random.default_rng(3)
    end = START + 14 * schedule.DAY
    btc = schedule.bitcoin_blocks(rng, START, end)
    eth = schedule.ethereum_blocks(rng, START, end)
    assert 0.85 < len(btc) / (14 * 144) < 1.15
    gaps = np.diff(eth)
    assert (gaps % schedule.ETHEREUM_SLOT == 0).all()
    assert 0.005 < (gaps > schedule.ETHEREUM_SLOT).mean() < 0.02
