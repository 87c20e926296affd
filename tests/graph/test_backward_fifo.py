"""Backward tracing by hand on small account graphs built in memory: FIFO slices, the holder
expanded at its latest payment toward the seed, one expansion per asset, and properties."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from counterflow.graph.index import _layout
from counterflow.graph.policies import ROLE_SINK, Policy
from counterflow.graph.propagation import backward

S, A, B, C, X, Y, Z, W, V = range(9)
N = 9


def _run(
    edges: list[tuple[int, int, float] | tuple[int, int, float, int]],
    policy: Policy,
    seeds: list[int],
    *,
    max_hops: int = 64,
    min_fraction: float = 0.0,
) -> dict[int, float]:
    """Edge id -> attributed amount; edges are (source, target, amount[, asset]) in time order."""
    columns = {
        "src_id": np.array([e[0] for e in edges], np.int64),
        "dst_id": np.array([e[1] for e in edges], np.int64),
        "tx_id": np.arange(len(edges), dtype=np.int64),
        "kind": np.full(len(edges), 4, np.int8),
        "asset_id": np.array([e[3] if len(e) > 3 else 0 for e in edges], np.int16),  # type: ignore[misc]
        "units": np.zeros(len(edges), np.int64),
        "rem": np.zeros(len(edges), np.int64),
        "block_number": np.arange(len(edges), dtype=np.int64),
        "time": np.arange(len(edges), dtype=np.int64),
        "prev_tx_id": np.full(len(edges), -1, np.int64),
        "prev_vout": np.full(len(edges), -1, np.int64),
        "seq": np.zeros(len(edges), np.int64),
    }
    ix = _layout(columns, False, N, len(edges))
    value = np.array([float(e[2]) for e in edges], np.float64)
    role = np.zeros(N + 1, np.int8)
    role[N] = ROLE_SINK
    out = backward(
        ix["src"],
        ix["dst"],
        value,
        ix["asset"],
        ix["link"],
        ix["out_ptr"],
        ix["out_edges"],
        ix["in_ptr"],
        ix["in_edges"],
        role,
        N,
        False,
        int(policy),
        max_hops,
        min_fraction,
        np.array(seeds, np.int64),
    )
    return {int(e): float(t) for e, t in zip(out[0], out[1], strict=True)}


# 0: X->A 50   1: Y->A 50   2: A->C 20 (A's first 20 units: X's)
# 3: A->B 60   (A's units 20..80: X's 20..50 and Y's 0..30)
# 4: W->Z 25   5: V->Z 25   6: Z->B 40 (Z's units 0..40: W's 25, V's 15)
# 7: B->S 70   (B's units 0..70: A's 60 and Z's 0..10)
# 8: B->C 30   (not toward the seed)
CHAIN = [
    (X, A, 50),
    (Y, A, 50),
    (A, C, 20),
    (A, B, 60),
    (W, Z, 25),
    (V, Z, 25),
    (Z, B, 40),
    (B, S, 70),
    (B, C, 30),
]


def test_fifo_slices_by_hand() -> None:
    # S's 70 is B's first 70 units: all of A's 60, the first 10 of Z's 40; those 10 are Z's
    # first 10 units, W's; A's 60 are A's units 20..80: 30 of X's 50, then 30 of Y's 50
    assert _run(CHAIN, Policy.FIFO, [S]) == {7: 70, 3: 60, 6: 10, 4: 10, 0: 30, 1: 30}


def test_fifo_hop_limit() -> None:
    assert _run(CHAIN, Policy.FIFO, [S], max_hops=2) == {7: 70, 3: 60, 6: 10}


def test_fifo_min_fraction() -> None:
    # Z's 10 of 40 is 25% of that transfer: below 0.3 it is not followed (nor W's part)
    assert _run(CHAIN, Policy.FIFO, [S], min_fraction=0.3) == {7: 70, 3: 60, 0: 30, 1: 30}


def test_fifo_a_later_payment_takes_later_receipts() -> None:
    # B pays C first this time: C takes B's units 0..30 (A's), S the next 70: A's last 30
    # (A's units 50..80, all Y's) and all of Z's 40 (W's 25 and V's 15)
    edges = [*CHAIN[:7], (B, C, 30), (B, S, 70)]
    assert _run(edges, Policy.FIFO, [S]) == {8: 70, 3: 30, 6: 40, 4: 25, 5: 15, 1: 30}


def test_fifo_payment_beyond_the_balance_takes_what_there_is() -> None:
    # A pays 80 holding 50: the 30 it did not hold come from no receipt (as the forward lot
    # queue has it); the later 50 from X are then A's next units, all of which S receives
    edges = [(X, A, 50), (A, C, 80), (X, A, 50), (A, S, 50)]
    assert _run(edges, Policy.FIFO, [S]) == {3: 50, 2: 50}


def test_fifo_two_routes_to_one_receipt_count_once() -> None:
    # S and its co-seed C both received from A; A's one receipt funds both, within its 100
    edges = [(X, A, 100), (A, S, 60), (A, C, 40), (C, S, 40)]
    assert _run(edges, Policy.FIFO, [S, C]) == {0: 100, 1: 60, 2: 40, 3: 40}


def test_fifo_assets_apart() -> None:
    # A paid S in ETH (asset 0) and USDX (asset 1): each payment maps onto its own asset's
    # receipts, replayed without the other asset's payments
    edges = [(X, A, 100, 0), (Y, A, 500, 1), (A, C, 30, 0), (A, S, 50, 0), (A, S, 200, 1)]
    assert _run(edges, Policy.FIFO, [S]) == {3: 50, 4: 200, 0: 50, 1: 200}


# A paid the seed twice: 10 at 1, 20 at 3; B's receipt at 2 came between the two payments
LATEST = [(X, A, 30), (A, S, 10), (Y, A, 30), (A, S, 20)]


def test_expanded_at_the_latest_payment_toward_the_seed() -> None:
    # haircut: the 30 A passed on split over its receipts before the later payment, 30 and 30
    assert _run(LATEST, Policy.HAIRCUT, [S]) == {0: 15, 1: 10, 2: 15, 3: 20}
    assert _run(LATEST, Policy.POISON, [S]) == {0: 30, 1: 10, 2: 30, 3: 20}
    # FIFO: the 10 are X's first 10, the 20 X's next 20
    assert _run(LATEST, Policy.FIFO, [S]) == {0: 30, 1: 10, 3: 20}


def test_expanded_per_asset() -> None:
    # A paid S in ETH and in USDX: both assets' receipts are expanded
    edges = [(X, A, 100, 0), (Y, A, 500, 1), (A, S, 60, 0), (A, S, 150, 1)]
    assert _run(edges, Policy.HAIRCUT, [S]) == {2: 60, 3: 150, 0: 60, 1: 150}
    assert _run(edges, Policy.POISON, [S]) == {2: 60, 3: 150, 0: 100, 1: 500}


graphs = st.lists(
    st.tuples(st.integers(0, 5), st.integers(0, 5), st.integers(1, 1000), st.integers(0, 1)),
    min_size=1,
    max_size=40,
).map(lambda es: [e for e in es if e[0] != e[1]])


@settings(max_examples=80, deadline=None)
@given(graphs, st.integers(1, 6))
def test_fifo_never_attributes_more_than_traced(
    edges: list[tuple[int, int, int, int]], max_hops: int
) -> None:
    if not edges:
        return
    got = _run(edges, Policy.FIFO, [0], max_hops=max_hops)  # type: ignore[arg-type]
    traced = sum(amount for _, d, amount, _ in edges if d == 0)
    received: dict[tuple[int, int], float] = {}
    paid: dict[tuple[int, int], float] = {}
    last_paid: dict[tuple[int, int], int] = {}
    for e, t in got.items():
        s, d, amount, a = edges[e]
        # what a funding receipt is attributed never exceeds the receipt
        assert 0 < t <= amount * (1 + 1e-9)
        if d != 0:
            received[(d, a)] = received.get((d, a), 0.0) + t
        paid[(s, a)] = paid.get((s, a), 0.0) + t
        last_paid[(s, a)] = max(last_paid.get((s, a), -1), e)
    # the seed's receipts in full; nothing attributed beyond what was traced
    assert sum(t for e, t in got.items() if edges[e][1] == 0) == traced
    for (h, a), t in received.items():
        # a holder's receipts are attributed no more than its payments toward the seed
        assert t <= paid.get((h, a), 0.0) * (1 + 1e-9) + 1e-6
    for e in got:
        s, d, _, a = edges[e]
        if d != 0:
            # temporal causality: a receipt funded only a later payment
            assert e < last_paid[(d, a)]
