"""Compiled random draws shared by the simulated economies.

Both economies draw from numba's generator, seeded once per scenario, and always in the same
order, which is what makes a scenario byte-identical for a given seed.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def seed_compiled_rng(seed: int) -> None:
    np.random.seed(seed)


@njit(cache=True)
def pick(cdf: np.ndarray) -> int:
    """An index drawn with probability proportional to its weight (``cdf`` is cumulative)."""
    return np.searchsorted(cdf, np.random.random() * cdf[-1], side="right")


@njit(cache=True)
def zipf_count(low: int, high: int, exponent: float) -> int:
    """A heavy-tailed count in [low, high]: a discrete Pareto draw, capped."""
    value = low * (1.0 - np.random.random()) ** (-1.0 / exponent)
    return np.int64(min(high, int(value)))


@njit(cache=True)
def pareto(scale: float, alpha: float) -> float:
    """A Pareto(alpha) draw of at least ``scale``: most small, a few enormous."""
    return float(scale * (1.0 - np.random.random()) ** (-1.0 / alpha))


@njit(cache=True)
def lognormal(mu: float, sigma: float) -> float:
    return float(np.exp(mu + sigma * np.random.standard_normal()))


def pareto_weights(rng: np.random.Generator, n: int, alpha: float) -> np.ndarray:
    """Activity weights with a Pareto(alpha) tail: a few actors do most of the work."""
    return np.asarray((1.0 - rng.random(n)) ** (-1.0 / alpha), dtype=np.float64)
