"""The background economy looks like a real one where tracing and clustering care.

Measures (docs/exercise.md states them with the bounds):

- heavy tails: the Hill estimate of the tail index over the top 2% of per-address activity
  (transfers touching the address) and of amounts is below 2.5 (a light, exponential-like
  tail gives large values), and the busiest 1% of addresses touch at least a fifth of all
  transfers;
- Bitcoin address reuse: 10% to 70% of outputs pay an address that had already been paid;
- change: 40% to 95% of ordinary Bitcoin payments return change to the spender (known from the
  true owners), and most of that change goes to a fresh address;
- blocks: every Ethereum block's gas fits its gas limit, and each block header counts the
  transactions the exports put in it;
- value keeps moving: a 10-hop time-ordered trace from a busy user reaches hundreds of
  addresses (on a uniformly random graph it dies out after a few dozen).
"""

from __future__ import annotations

from collections import defaultdict

import duckdb
import numpy as np
import pyarrow.parquet as pq
import pytest
from exercise_scenario import Scenario

from counterflow.store.reader import StoreReader
from counterflow.store.schema import TransferKind


def hill_tail_index(values: np.ndarray, share: float = 0.02) -> float:
    ordered = np.sort(values[values > 0].astype(np.float64))[::-1]
    k = max(10, int(len(ordered) * share))
    return float(k / np.log(ordered[:k] / ordered[k]).sum())


def activity_and_amounts(scenario: Scenario, chain: str) -> tuple[np.ndarray, np.ndarray]:
    with StoreReader(scenario.store) as reader:
        f = reader.table(chain, "transfers")
        degree = reader.rows(
            f"""SELECT count(*) FROM (SELECT src_id AS a FROM {f} WHERE src_id IS NOT NULL
                UNION ALL SELECT dst_id FROM {f} WHERE dst_id IS NOT NULL) GROUP BY a"""
        )
        kinds = (TransferKind.OUTPUT, TransferKind.NATIVE)
        amounts = reader.rows(
            f"SELECT CAST(amount AS DOUBLE) FROM {f} WHERE kind IN (?, ?) AND amount > 0",
            [int(k) for k in kinds],
        )
    return np.array([r[0] for r in degree]), np.array([r[0] for r in amounts])


@pytest.mark.parametrize("chain", ["bitcoin", "ethereum"])
def test_activity_and_amounts_are_heavy_tailed(scenario: Scenario, chain: str) -> None:
    degree, amounts = activity_and_amounts(scenario, chain)
    assert hill_tail_index(degree) < 2.5
    assert hill_tail_index(amounts) < 2.5
    top = np.sort(degree)[::-1][: max(1, len(degree) // 100)]
    assert top.sum() >= 0.2 * degree.sum()
    # Amounts span many orders of magnitude, as real payments do.
    assert np.log10(amounts.max() / np.median(amounts)) > 3


def test_bitcoin_address_reuse_and_change(scenario: Scenario) -> None:
    owners = pq.read_table(scenario.folder / "ground_truth" / "owners.parquet")
    owner = {
        a: o
        for c, a, o in zip(
            owners["chain"].to_pylist(),
            owners["address"].to_pylist(),
            owners["owner"].to_pylist(),
            strict=True,
        )
        if c == "bitcoin"
    }
    with StoreReader(scenario.store) as reader:
        f, a = reader.table("bitcoin", "transfers"), reader.table("bitcoin", "addresses")
        rows = reader.rows(
            f"""SELECT f.tx_id, f.kind, ad.address FROM {f} AS f JOIN {a} AS ad
                ON ad.address_id = coalesce(f.src_id, f.dst_id)
                WHERE f.kind IN (1, 2) ORDER BY f.block_number, f.tx_index, f.kind, f.seq"""
        )
    inputs: dict[int, list[str]] = defaultdict(list)
    outputs: dict[int, list[str]] = defaultdict(list)
    for tx, kind, address in rows:
        (inputs if kind == TransferKind.INPUT else outputs)[tx].append(address)
    seen: set[str] = set()
    reused = total = 0
    for tx in sorted(outputs):
        for address in outputs[tx]:
            total += 1
            reused += address in seen
            seen.add(address)
    assert 0.10 <= reused / total <= 0.70
    payments = with_change = fresh_change = 0
    known: set[str] = set()
    for tx in sorted(outputs):
        spent = inputs.get(tx)
        spender = owner[spent[0]] if spent else ""
        # An ordinary payment: a user's coins, one payee and perhaps change.
        if (
            spender.startswith("user-")
            and len(outputs[tx]) <= 2
            and {owner[i] for i in spent} == {spender}
        ):
            change = [o for o in outputs[tx] if owner[o] == spender]
            if len(change) < len(outputs[tx]):
                payments += 1
                if change:
                    with_change += 1
                    fresh_change += change[-1] not in known
        known.update(outputs[tx])
    assert payments > 100
    assert 0.40 <= with_change / payments <= 0.95
    assert fresh_change / with_change >= 0.5


def test_value_keeps_moving(scenario: Scenario) -> None:
    """Ten time-ordered hops from a busy user reach a large part of the economy."""
    with StoreReader(scenario.store) as reader:
        f = reader.table("ethereum", "transfers")
        edges = reader.rows(
            f"""SELECT src_id, dst_id, block_number FROM {f}
                WHERE kind IN (4, 5, 6) AND src_id IS NOT NULL AND dst_id IS NOT NULL
                ORDER BY block_number"""
        )
    out: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for src, dst, block in edges:
        out[src].append((block, dst))
    first_block = edges[0][2]
    busiest = sorted(out, key=lambda a: len(out[a]), reverse=True)[5:10]
    reach = []
    for start in busiest:
        arrival = {start: first_block}
        frontier = {start}
        for _ in range(10):
            nxt = set()
            for holder in frontier:
                for block, dst in out.get(holder, ()):
                    if block >= arrival[holder] and block < arrival.get(dst, 1 << 62):
                        arrival[dst] = block
                        nxt.add(dst)
            frontier = nxt
        reach.append(len(arrival))
    assert np.median(reach) >= 300


def test_blocks_hold_what_their_headers_say(scenario: Scenario) -> None:
    eth, btc = scenario.folder / "ethereum", scenario.folder / "bitcoin"
    db = duckdb.connect()
    over = db.execute(f"SELECT count(*) FROM '{eth}/blocks.csv' WHERE gas_used > gas_limit")
    assert over.fetchone() == (0,)
    for blocks, transactions, number in (
        (f"'{eth}/blocks.csv'", f"read_csv('{eth}/transactions.csv')", "block_number"),
        (
            f"read_json('{btc}/blocks.json')",
            f"read_json('{btc}/transactions.json')",
            "block_number",
        ),
    ):
        mismatched = db.execute(
            f"""SELECT count(*) FROM {blocks} AS b
                LEFT JOIN (SELECT {number} AS n, count(*) AS c FROM {transactions} GROUP BY 1) t
                  ON t.n = b.number
                WHERE coalesce(t.c, 0) <> b.transaction_count"""
        )
        assert mismatched.fetchone() == (0,), blocks
