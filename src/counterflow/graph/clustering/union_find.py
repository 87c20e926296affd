"""Connected components on one machine: a compiled union-find over dense address ids.

Roots always link to the smaller root, so every parent pointer points to a smaller id and the
root of a set is its smallest member: the entity id is deterministic (the same on any engine,
in any edge order) and a finished labelling is itself a valid forest. That is what makes
clustering incremental: yesterday's labels are today's starting forest, and new links are
unioned into it.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from numba import njit

Labels = npt.NDArray[np.int64]


@njit(cache=True, nogil=True)
def _find(parent: Labels, x: int) -> int:
    while parent[x] != x:
        parent[x] = parent[parent[x]]  # path halving
        x = parent[x]
    return x


@njit(cache=True, nogil=True)
def _union_edges(parent: Labels, a: Labels, b: Labels) -> int:
    merges = 0
    for i in range(a.shape[0]):
        ra = _find(parent, a[i])
        rb = _find(parent, b[i])
        if ra == rb:
            continue
        if ra < rb:
            parent[rb] = ra
        else:
            parent[ra] = rb
        merges += 1
    return merges


@njit(cache=True, nogil=True)
def _flatten(parent: Labels) -> None:
    # parent[i] <= i, so one ascending pass sees every parent already flattened.
    for i in range(parent.shape[0]):
        parent[i] = parent[parent[i]]


def components(
    count: int,
    a: npt.ArrayLike,
    b: npt.ArrayLike,
    *,
    start: Labels | None = None,
) -> tuple[Labels, int]:
    """Entity id (smallest member) of each of ``count`` ids, after uniting every pair (a, b).

    ``start``: labels of an earlier run (shorter than ``count`` when ids were added since),
    which the new links merge into. Returns the labels and the number of merges the links made.
    """
    parent = np.arange(count, dtype=np.int64)
    if start is not None:
        if start.shape[0] > count:
            raise ValueError(f"earlier labels cover {start.shape[0]} ids, more than {count}")
        parent[: start.shape[0]] = start
    left = np.ascontiguousarray(a, dtype=np.int64)
    right = np.ascontiguousarray(b, dtype=np.int64)
    if left.shape != right.shape:
        raise ValueError("link endpoints differ in length")
    if left.size and (min(left.min(), right.min()) < 0 or max(left.max(), right.max()) >= count):
        raise ValueError(f"a link names an address id outside 0…{count - 1}")
    merges = int(_union_edges(parent, left, right))
    _flatten(parent)
    return parent, merges
