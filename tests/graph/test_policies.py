"""Hand-computed policy cases and properties, on small account graphs built in memory."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from counterflow.graph.index import _layout
from counterflow.graph.policies import ROLE_SINK, Policy
from counterflow.graph.propagation import forward

S, A, B, C = 0, 1, 2, 3


def _run(
    edges: list[tuple[int, int, int]], n: int, policy: Policy, seeds: list[int]
) -> dict[int, float]:
    columns = {
        "src_id": np.array([e[0] for e in edges], np.int64),
        "dst_id": np.array([e[1] for e in edges], np.int64),
        "tx_id": np.arange(len(edges), dtype=np.int64),
        "kind": np.full(len(edges), 4, np.int8),
        "asset_id": np.zeros(len(edges), np.int16),
        "units": np.array([e[2] for e in edges], np.int64),
        "rem": np.zeros(len(edges), np.int64),
        "block_number": np.arange(len(edges), dtype=np.int64),
        "time": np.arange(len(edges), dtype=np.int64),
        "prev_tx_id": np.full(len(edges), -1, np.int64),
        "prev_vout": np.full(len(edges), -1, np.int64),
        "seq": np.zeros(len(edges), np.int64),
    }
    ix = _layout(columns, False, n, len(edges))
    role = np.zeros(n + 1, np.int8)
    role[n] = ROLE_SINK
    out = forward(
        ix["src"],
        ix["dst"],
        ix["units"],
        ix["asset"],
        ix["tx"],
        ix["link"],
        ix["out_ptr"],
        ix["out_edges"],
        ix["in_ptr"],
        ix["in_edges"],
        role,
        n,
        False,
        int(policy),
        64,
        np.zeros(1),
        0.0,
        np.array(seeds, np.int64),
        np.zeros(len(seeds), np.int64),
        np.zeros(0, np.int64),
        np.zeros(0),
        np.zeros(0, np.int64),
        np.zeros(0, np.int64),
        np.zeros(0, np.int32),
        np.zeros(0),
    )
    return {int(e): float(t) for e, t in zip(out[0], out[1], strict=True)}


# 0: C->A 100 (clean)  1: A->C 30 (before the taint)  2: S->A 100 (seed)
# 3: A->B 85  4: A->C 85
CASE = [(C, A, 100), (A, C, 30), (S, A, 100), (A, B, 85), (A, C, 85)]


def test_haircut_by_hand() -> None:
    # A holds 170 of which 100 tainted: 85 carries 50; then 85 of which 50 tainted: all 50
    assert _run(CASE, 4, Policy.HAIRCUT, [S]) == {2: 100.0, 3: 50.0, 4: 50.0}


def test_poison_by_hand() -> None:
    assert _run(CASE, 4, Policy.POISON, [S]) == {2: 100.0, 3: 85.0, 4: 85.0}


def test_fifo_by_hand() -> None:
    # lots: 70 clean (100 - 30), then 100 tainted: the first 85 take 70 clean + 15 tainted
    assert _run(CASE, 4, Policy.FIFO, [S]) == {2: 100.0, 3: 15.0, 4: 85.0}


def test_a_payment_before_any_receipt_does_not_count_against_later_ones() -> None:
    # the store starts after A was funded: A pays C 30 first, then receives 20 clean and
    # 100 tainted, so it holds 120 (not 90) when it pays B 60: 100 x 60 / 120 = 50
    edges = [(A, C, 30), (C, A, 20), (S, A, 100), (A, B, 60)]
    assert _run(edges, 4, Policy.HAIRCUT, [S]) == {2: 100.0, 3: 50.0}


def test_a_payment_beyond_the_balance_leaves_nothing_behind() -> None:
    # A pays 300 holding 200 (all of its taint leaves, its balance is 0, not -100); then
    # 100 tainted and 100 clean arrive: 50 paid carries 100 x 50 / 200 = 25
    edges = [(S, A, 100), (C, A, 100), (A, B, 300), (S, A, 100), (C, A, 100), (A, B, 50)]
    assert _run(edges, 4, Policy.HAIRCUT, [S]) == {0: 100.0, 2: 100.0, 3: 100.0, 5: 25.0}


def test_nothing_goes_back_in_time() -> None:
    assert 1 not in _run(CASE, 4, Policy.POISON, [S])


graphs = st.lists(
    st.tuples(st.integers(0, 5), st.integers(0, 5), st.integers(1, 1000)), min_size=1, max_size=40
).map(lambda es: [e for e in es if e[0] != e[1]])


@settings(max_examples=60, deadline=None)
@given(graphs)
def test_properties(edges: list[tuple[int, int, int]]) -> None:
    if not edges:
        return
    n = 6
    haircut = _run(edges, n, Policy.HAIRCUT, [0])
    poison = _run(edges, n, Policy.POISON, [0])
    fifo = _run(edges, n, Policy.FIFO, [0])
    assert set(haircut) <= set(poison)
    for tainted in (haircut, fifo):
        received: dict[int, float] = {}
        sent: dict[int, float] = {}
        for e, t in sorted(tainted.items()):
            s, d, amount = edges[e]
            assert t <= amount * (1 + 1e-9)
            if s != 0:
                # temporal causality: taint left s only after taint reached it
                assert received.get(s, 0.0) > 0
                sent[s] = sent.get(s, 0.0) + t
                # never more out than in (conservation, no fees here)
                assert sent[s] <= received[s] * (1 + 1e-9) + 1e-6
            received[d] = received.get(d, 0.0) + t
