"""The column-wise pieces of index building and result assembly give what the per-value code
they replace gives: exact amounts, times, lookups, service membership and record dictionaries."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import Traced
from counterflow.graph import lookup
from counterflow.graph.boundaries import ServiceMap
from counterflow.graph.evidence import result_text
from counterflow.graph.index import (
    GraphIndex,
    _key_order,
    _radix_order,
    _spent_outputs,
    load_index,
)
from counterflow.graph.lookup import build_lookups
from counterflow.graph.policies import TraceParams
from counterflow.graph.trace import _first_at, trace
from counterflow.graph.traced import Scale, iso_many
from counterflow.store.schema import UTXO_OUTPUT_SEQ_BASE, TransferKind


def _iso(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _index(shifts: dict[int, int], asset: list[int]) -> GraphIndex:
    empty = np.zeros(0, np.int64)
    return GraphIndex(
        "ethereum", False, 0, 0, shifts, [], "", empty, empty, empty, empty,
        np.asarray(asset, np.int16), empty, empty, empty, empty, empty,
        np.zeros(1, np.int64), empty, np.zeros(1, np.int64), empty,
    )  # fmt: skip


def test_base_units_match_the_scalar_conversion() -> None:
    shifts = {0: 9, 1: 0, 2: 23, 3: 6}
    rows = [0, 1, 2, 3, 0, 2, 4, 0, 1, 3]
    ix = _index(shifts, rows)
    units = np.array(
        [0.0, 12.75, 3.3333333333, 4503599627370495.9, 1e-9, 1e30, 7.5, 2.0**62, 1e300, 0.999],
        np.float64,
    )
    expected = [ix.to_base_units(a, float(u)) for a, u in zip(rows, units.tolist(), strict=True)]
    assert Scale(ix, np.asarray(rows, np.int64)).base_units(units).tolist() == expected


_SHIFTS = {0: 0, 1: 7, 2: 18, 3: 23}


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 3), st.integers(0, 2**63 - 1), st.integers(0, 10**23 - 1)),
        min_size=0,
        max_size=40,
    )
)
def test_exact_amounts_match_the_scalar_conversion(rows: list[tuple[int, int, int]]) -> None:
    """Rows that fit 64 bits and rows that overflow them give ``exact_amount``'s integers."""
    asset = [a for a, _, _ in rows]
    units = np.array([u for _, u, _ in rows], np.int64)
    rem = np.array([r % min(10 ** _SHIFTS[a], 2**63) for a, _, r in rows], np.int64)
    ix = _index(_SHIFTS, asset)
    expected = [
        u * 10 ** _SHIFTS[a] + r
        for a, u, r in zip(asset, units.tolist(), rem.tolist(), strict=True)
    ]
    assert Scale(ix, np.asarray(asset, np.int64)).exact(units, rem).tolist() == expected


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 3),
            st.floats(min_value=0.0, max_value=1e30, allow_nan=False, allow_infinity=False),
        ),
        min_size=0,
        max_size=40,
    )
)
def test_base_units_match_for_any_amount(rows: list[tuple[int, float]]) -> None:
    asset = [a for a, _ in rows]
    units = np.array([u for _, u in rows], np.float64)
    ix = _index(_SHIFTS, asset)
    expected = [ix.to_base_units(a, u) for a, u in rows]
    assert Scale(ix, np.asarray(asset, np.int64)).base_units(units).tolist() == expected


def test_times_match_the_scalar_format() -> None:
    epochs = np.array([0, 1, 1_767_225_600, 1_767_225_600, 2**32 - 1, 951_782_400], np.uint32)
    assert iso_many(epochs) == [_iso(int(t)) for t in epochs.tolist()]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 2**32 - 1), max_size=50))
def test_any_time_is_formatted_as_the_scalar_format(epochs: list[int]) -> None:
    """Leap days, century years and month ends included: the whole uint32 range."""
    assert iso_many(np.array(epochs, np.uint32)) == [_iso(t) for t in epochs]


@pytest.mark.parametrize("epoch", [-5, 0, 1, 9, 10, 11, 30, 31, 2**32 - 1, 2**32, 10**12])
def test_first_edge_at_a_time(epoch: int) -> None:
    times = np.array([0, 10, 10, 20, 30, 2**32 - 1], np.uint32)
    assert _first_at(times, epoch) == int(np.searchsorted(times.astype(np.int64), epoch))


def test_service_membership_in_one_call() -> None:
    services = ServiceMap(
        {3: ("A", "exchange", "labelled"), 9: ("B", "mixer", "labelled")},
        np.array([7, 1], np.int64),
        np.array([0, 0], np.int64),
        ["A"],
        12,
    )
    holders = np.array([-1, 0, 1, 3, 7, 9, 11, 12, 40], np.int64)
    assert services.contains(holders).tolist() == [int(h) in services for h in holders.tolist()]


def test_result_records_are_the_dataclasses_as_dicts(bybit: Traced) -> None:
    truth = json.loads((bybit.folder / "ground_truth.json").read_text())["heists"][0]
    params = TraceParams("ethereum", (truth["victims"][0]["address"],), since=truth["theft_time"])
    result = trace(
        bybit.store,
        params,
        labels=[bybit.folder / "labels" / "services.yaml"],
        links=[bybit.folder / "bridge" / "crossings.csv"],
    )
    assert result.transfers and result.destinations and result.holders
    document = result.to_json()  # rows written from the columns, before any record exists
    records = list(result.transfers)
    assert document["transfers"] == [asdict(t) for t in records]
    assert document["destinations"] == [asdict(d) for d in result.destinations]
    assert result.to_json() == document  # and again from the records, now made
    assert len(result.transfers) == len(records) and result.transfers[-1] == records[-1]
    assert result.transfers == records and result.transfers[1:3] == records[1:3]
    assert result.answers()["addresses"][0]["time"] == max(t.time for t in records)
    assert document["holders"] == [asdict(h) for h in result.holders]
    # a second trace (labels, ledger and index served from memory) writes the same text
    again = trace(
        bybit.store,
        params,
        labels=[bybit.folder / "labels" / "services.yaml"],
        links=[bybit.folder / "bridge" / "crossings.csv"],
    )
    assert result_text(again) == result_text(result)


def _parquet(path: Path, ids: list[int], texts: list[str], id_name: str, text_name: str) -> Path:
    table = pa.table({id_name: pa.array(ids, pa.int64()), text_name: pa.array(texts, pa.string())})
    pq.write_table(table, path, row_group_size=3)
    return path


@pytest.mark.parametrize(
    "ids",
    [
        [5, 6, 7, 0, 1, 2, 3, 4],  # runs out of order, every id present
        [6, 7, 0, 1, 3],  # runs with gaps (2, 4, 5 absent)
        [2, 0, 2, 1],  # a repeated id: the first row wins
    ],
)
def test_texts_are_placed_in_id_order(tmp_path: Path, ids: list[int]) -> None:
    addresses = [f"addr-{i}-{'x' * (i % 3)}-{k}" for k, i in enumerate(ids)]
    hashes = [f"{k:064x}" for k in range(len(ids))]
    tables = build_lookups(
        "bitcoin",
        [_parquet(tmp_path / "a.parquet", ids, addresses, "address_id", "address")],
        [_parquet(tmp_path / "t.parquet", ids, hashes, "tx_id", "tx_hash")],
    )
    first: dict[int, int] = {}
    for k, i in enumerate(ids):
        first.setdefault(i, k)
    assert tables.address_texts(list(range(-1, max(ids) + 2))) == {
        i: addresses[k] for i, k in first.items()
    }
    assert tables.tx_hashes(list(range(max(ids) + 1))) == {i: hashes[k] for i, k in first.items()}
    assert tables.address_ids([addresses[k] for k in first.values()]) == {
        addresses[k]: i for i, k in first.items()
    }


def test_key_sort_is_stable_and_handles_uneven_keys() -> None:
    rng = np.random.default_rng(7)
    uniform = rng.integers(0, 2**63, 5000, dtype=np.int64).astype(np.uint64) * np.uint64(2)
    uniform[100:110] = uniform[5]  # ties keep their row order
    clustered = np.arange(5000, dtype=np.uint64)  # all in the lowest bucket: sorted another way
    for keys in (uniform, clustered[::-1].copy()):
        rows = np.arange(len(keys), dtype=np.int64)
        got_keys, got_rows = lookup._sorted_keys(keys, rows)
        order = np.argsort(keys, kind="stable")
        assert got_keys.tolist() == keys[order].tolist()
        assert got_rows.tolist() == order.tolist()
        assert got_rows.dtype == np.int32


def test_spent_outputs_found_by_offset_and_by_search() -> None:
    out, inp = int(TransferKind.OUTPUT), int(TransferKind.INPUT)
    base = UTXO_OUTPUT_SEQ_BASE
    # tx 0 pays vouts 0, 1, 2; tx 1 has vout 0 and 5 (1-4 not stored); tx 2 spends them
    kind = np.array([out, out, out, out, out, inp, inp, inp, inp, inp], np.int8)
    tx = np.array([0, 0, 0, 1, 1, 2, 2, 2, 2, 2], np.int32)
    seq = np.array([base, base + 1, base + 2, base, base + 5, 0, 1, 2, 3, 4], np.int32)
    prev_tx = np.array([-1, -1, -1, -1, -1, 0, 1, 1, 0, 7], np.int32)
    prev_vout = np.array([-1, -1, -1, -1, -1, 2, 5, 3, 0, 0], np.int32)
    inputs, spent = _spent_outputs(kind, tx, seq, prev_tx, prev_vout, 3)
    assert dict(zip(inputs.tolist(), spent.tolist(), strict=True)) == {5: 2, 6: 4, 8: 0}


def test_rebuilt_index_is_byte_identical(bybit: Traced) -> None:
    """The build is deterministic (threads, bucket sorts): a rebuild gives the saved arrays."""
    saved = load_index(bybit.store, "bitcoin")
    built = load_index(bybit.store, "bitcoin", rebuild=True, save=False)
    for name in ("src", "dst", "units", "rem", "link", "out_edges", "in_ptr", "in_edges"):
        assert np.array_equal(np.asarray(getattr(saved, name)), getattr(built, name)), name
    assert saved.lookups is not None and built.lookups is not None
    for name in lookup.LOOKUP_ARRAYS:
        assert np.array_equal(
            np.asarray(getattr(saved.lookups, name)), getattr(built.lookups, name)
        ), name


@pytest.mark.parametrize("high", [1, 3, 2**16, 2**20 + 5, 2**46, 2**62])
def test_radix_order_is_the_stable_argsort(high: int) -> None:
    keys = np.random.default_rng(high).integers(0, high, 20_000, dtype=np.int64)
    before = keys.copy()
    assert _radix_order(keys).tolist() == np.argsort(keys, kind="stable").tolist()
    assert np.array_equal(keys, before)  # the caller's keys are left alone


@pytest.mark.parametrize("big", [0, 400])
def test_key_order_of_blocks_shuffled_by_transaction(big: int) -> None:
    """A UTXO part's layout: whole transactions shuffled within each block, each storing its
    outputs before its inputs (the counting pass and insertion sort); one transaction with
    ``big`` inputs and outputs is too far out of order for them (the comparison sort)."""
    rng = np.random.default_rng(7)
    rows: list[tuple[int, int, int, int, int]] = []
    for b in range(5):
        txs = rng.permutation(60)
        for t in txs.tolist():
            n_in, n_out = (
                (big, big) if (b, t) == (2, 9) else (rng.integers(1, 4), rng.integers(1, 4))
            )
            rows += [(b, t, UTXO_OUTPUT_SEQ_BASE + v, 2, 100 * b + t) for v in range(n_out)]
            rows += [(b, t, i, 1, 100 * b + t) for i in range(n_in)]
    block, tx_index, seq, kind, tx = (np.array(c, np.int64) for c in zip(*rows, strict=True))
    order = _key_order(block, tx_index, seq.astype(np.int32), kind.astype(np.int8), tx)
    expected = np.lexsort((tx, kind, seq, tx_index, block))
    assert order is not None and order.tolist() == expected.tolist()


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 6),  # block
            st.one_of(st.integers(0, 5), st.just(1 << 40)),  # tx_index (a null fills 2**40)
            st.integers(0, 3),  # seq
            st.integers(1, 3),  # kind
            st.integers(0, 4),  # tx id
        ),
        max_size=60,
    ),
    st.integers(0, 10**6),  # first block number
    st.booleans(),  # stored in key order already, as a part of whole sorted blocks
)
def test_key_order_is_the_stable_sort_on_the_five_keys(
    rows: list[tuple[int, int, int, int, int]], first: int, presorted: bool
) -> None:
    """Whatever the stored order (shuffled within blocks, blocks out of order, or sorted),
    the order is the stable sort on (block, tx_index, seq, kind, tx id)."""
    if presorted:
        rows = sorted(rows)
    block = np.array([first + r[0] for r in rows], np.int64)
    tx_index = np.array([r[1] for r in rows], np.int64)
    seq = np.array([r[2] for r in rows], np.int32)
    kind = np.array([r[3] for r in rows], np.int8)
    tx = np.array([r[4] for r in rows], np.int64)
    order = _key_order(block, tx_index, seq, kind, tx)
    expected = np.lexsort((tx, kind, seq, tx_index, block))
    got = np.arange(len(rows)) if order is None else order
    assert got.tolist() == expected.tolist()
