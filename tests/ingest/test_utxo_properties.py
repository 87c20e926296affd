"""Property: any well-formed chain of Bitcoin transactions ingests with value conserved.

Hypothesis builds a small chain: a coinbase, then transactions that each spend earlier
unspent outputs (enriched or not) and pay new outputs no larger than what they spend. Whatever
the order of files, every transaction holder ends with inputs − outputs = its fee ≥ 0, every
input is resolved, and the stored amounts equal the generated ones.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import duckdb
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from counterflow import ingest
from counterflow.chains.base58 import b58check_encode
from counterflow.store import DataDirectory

KEYS = [b58check_encode(b"\x00" + bytes([i]) * 20) for i in range(1, 9)]


@st.composite
def chains(draw: st.DrawFn) -> list[dict[str, Any]]:
    unspent: list[tuple[str, int, str, int]] = []  # (txid, vout, address, value)
    txs: list[dict[str, Any]] = []
    height = 100
    coinbase = f"{height:064x}"
    reward = draw(st.integers(min_value=1, max_value=50 * 10**8))
    address = draw(st.sampled_from(KEYS))
    txs.append(_tx(coinbase, height, 0, [], [(address, reward)]))
    unspent.append((coinbase, 0, address, reward))
    for n in range(draw(st.integers(min_value=1, max_value=6))):
        height += draw(st.integers(min_value=0, max_value=1))
        take = draw(st.integers(min_value=1, max_value=min(3, len(unspent))))
        spent = [unspent.pop(0) for _ in range(take)]
        total = sum(v for *_, v in spent)
        fee = draw(st.integers(min_value=0, max_value=total))
        parts = draw(st.integers(min_value=1, max_value=3))
        amounts = [(total - fee) // parts] * parts
        amounts[0] += (total - fee) - sum(amounts)
        outputs = [(draw(st.sampled_from(KEYS)), a) for a in amounts]
        enriched = draw(st.booleans())
        txid = f"{height:032x}{n + 1:032x}"
        inputs = [
            {
                "index": i,
                "spent_transaction_hash": prev,
                "spent_output_index": vout,
                "type": "pubkeyhash" if enriched else None,
                "addresses": [addr] if enriched else [],
                "value": value if enriched else None,
            }
            for i, (prev, vout, addr, value) in enumerate(spent)
        ]
        txs.append(_tx(txid, height, n + 1, inputs, outputs))
        unspent.extend((txid, i, a, v) for i, (a, v) in enumerate(outputs))
    return txs


def _tx(
    txid: str, height: int, index: int, inputs: list[Any], outputs: list[Any]
) -> dict[str, Any]:
    return {
        "hash": txid,
        "block_number": height,
        "block_hash": f"{height:064x}",
        "block_timestamp": 1_400_000_000 + height * 600,
        "is_coinbase": not inputs,
        "index": index,
        "inputs": inputs,
        "outputs": [
            {"index": i, "type": "pubkeyhash", "addresses": [a], "value": v}
            for i, (a, v) in enumerate(outputs)
        ],
    }


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(chains(), st.booleans())
def test_value_is_conserved_and_every_input_resolved(
    txs: list[dict[str, Any]], reverse: bool
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        store = Path(tmp) / "store"
        # One file per block, ingested in chain order or backwards (inputs then wait).
        blocks: dict[int, list[dict[str, Any]]] = {}
        for tx in txs:
            blocks.setdefault(tx["block_number"], []).append(tx)
        order = sorted(blocks, reverse=reverse)
        report = None
        for height in order:
            path = Path(tmp) / f"b{height}" / "transactions.json"
            path.parent.mkdir()
            path.write_text("".join(json.dumps(t) + "\n" for t in blocks[height]))
            report = ingest("bitcoin", [path], data_dir=store)
        assert report is not None and report.pending_inputs == 0
        files = [str(p) for p in DataDirectory(store).table_files("bitcoin", "transfers")]
        rows = duckdb.sql(
            f"""SELECT tx_id, sum(CASE WHEN kind IN (1, 3) THEN amount ELSE 0 END),
                       sum(CASE WHEN kind = 2 THEN amount ELSE 0 END),
                       count(*) FILTER (WHERE kind = 1)
                FROM read_parquet({files!r}) GROUP BY tx_id"""
        ).fetchall()
        assert len(rows) == len(txs)
        assert sum(n for *_, n in rows) == sum(len(t["inputs"]) for t in txs)
        for _tx_id, entered, left, _n in rows:
            assert entered >= left
        outputs = sum(o["value"] for t in txs for o in t["outputs"])
        assert sum(left for _t, _e, left, _n in rows) == outputs
