"""When blocks happen and how busy each one is.

Bitcoin blocks arrive as a Poisson process (exponential gaps averaging ten minutes); Ethereum
has a 12-second slot and about 1% of slots go empty. Activity follows the clock: a daily cycle
(services are busy around the clock, people less at night) times hourly bursts drawn from a
log-normal, so some hours carry several times the average. Each block's budget of transfers
is proportional to the activity over its interval and the budgets add up exactly to the total.

A block holds only so much (Bitcoin's weight limit, Ethereum's gas limit): what a burst asks
beyond that waits, as in a mempool, for the next blocks. The capacity is stated in transfers
(about 52 virtual bytes each on Bitcoin, 44,000 gas per transaction on Ethereum); a scenario
denser than a real chain gets at least twice its mean block, so the backlog always drains.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DAY = 86_400
HOUR = 3_600
BITCOIN_INTERVAL = 600.0
ETHEREUM_SLOT = 12
ETHEREUM_MISSED_SLOTS = 0.01
BITCOIN_BLOCK_TRANSFERS = 16_000  # ~1 M virtual bytes of 2-in, 2-out segwit spends
ETHEREUM_BLOCK_TRANSFERS = 1_200  # well inside a 60 M gas block at ~44 k gas a transaction


@dataclass(frozen=True)
class Blocks:
    numbers: np.ndarray
    times: np.ndarray  # UTC seconds
    budgets: np.ndarray  # transfers to generate in each block


def bitcoin_blocks(rng: np.random.Generator, start: int, end: int) -> np.ndarray:
    """Block times in [start, end): exponential gaps, at least one second apart."""
    expected = int((end - start) / BITCOIN_INTERVAL * 1.2) + 16
    gaps = np.maximum(1, rng.exponential(BITCOIN_INTERVAL, expected).astype(np.int64))
    times = start + np.cumsum(gaps) - gaps[0]
    while times[-1] < end:
        more = np.maximum(1, rng.exponential(BITCOIN_INTERVAL, expected).astype(np.int64))
        times = np.concatenate([times, times[-1] + np.cumsum(more)])
    return np.asarray(times[times < end], np.int64)


def ethereum_blocks(rng: np.random.Generator, start: int, end: int) -> np.ndarray:
    slots = np.arange(start, end, ETHEREUM_SLOT, dtype=np.int64)
    return slots[rng.random(len(slots)) >= ETHEREUM_MISSED_SLOTS]


def activity(rng: np.random.Generator, start: int, end: int) -> np.ndarray:
    """Relative activity per hour from ``start``: a daily cycle times log-normal bursts."""
    hours = int(np.ceil((end - start) / HOUR)) + 1
    clock = (start // HOUR + np.arange(hours)) % 24
    daily = 1.0 + 0.35 * np.sin(2 * np.pi * (clock - 9) / 24)  # busiest mid-afternoon UTC
    bursts = rng.lognormal(0.0, 0.55, hours)
    return np.asarray(daily * bursts, np.float64)


def budgets(
    times: np.ndarray, end: int, hourly: np.ndarray, start: int, total: int, capacity: int
) -> np.ndarray:
    """Split ``total`` transfers over blocks at ``times`` in proportion to their activity.

    No block gets more than ``capacity`` (or twice the mean block, if that is more); the
    excess moves to the following blocks, and what is still waiting at the end fills the
    last blocks' spare room.
    """
    if len(times) == 0:
        return np.zeros(0, np.int64)
    intervals = np.diff(np.append(times, end)).astype(np.float64)
    weight = intervals * hourly[(times - start) // HOUR]
    cumulative = np.floor(np.cumsum(weight) / weight.sum() * total).astype(np.int64)
    cumulative[-1] = total  # not left to floating point
    wanted = np.diff(np.concatenate([[0], cumulative]))
    cap = max(capacity, 2 * -(-total // len(times)))
    return _carry_over(wanted, cap)


def _carry_over(wanted: np.ndarray, cap: int) -> np.ndarray:
    # Sequential by nature (a backlog), but only where a block overflows: between
    # overflows the budgets pass through unchanged.
    budget = wanted.copy()
    over = np.flatnonzero(budget > cap)
    waiting = 0
    i = int(over[0]) if len(over) else len(budget)
    while i < len(budget):
        total = int(budget[i]) + waiting
        budget[i] = min(total, cap)
        waiting = total - int(budget[i])
        if waiting == 0:
            k = int(np.searchsorted(over, i, side="right"))
            i = int(over[k]) if k < len(over) else len(budget)
        else:
            i += 1
    for j in range(len(budget) - 1, -1, -1):
        if waiting == 0:
            break
        room = min(cap - int(budget[j]), waiting)
        budget[j] += room
        waiting -= room
    return budget


def plan(
    rng: np.random.Generator,
    *,
    start: int,
    end: int,
    first_bitcoin: int,
    first_ethereum: int,
    bitcoin_transfers: int,
    ethereum_transfers: int,
) -> tuple[Blocks, Blocks]:
    hourly = activity(rng, start, end)
    btc_times = bitcoin_blocks(rng, start, end)
    eth_times = ethereum_blocks(rng, start, end)
    return (
        Blocks(
            first_bitcoin + np.arange(len(btc_times), dtype=np.int64),
            btc_times,
            budgets(btc_times, end, hourly, start, bitcoin_transfers, BITCOIN_BLOCK_TRANSFERS),
        ),
        Blocks(
            first_ethereum + np.arange(len(eth_times), dtype=np.int64),
            eth_times,
            budgets(eth_times, end, hourly, start, ethereum_transfers, ETHEREUM_BLOCK_TRANSFERS),
        ),
    )
