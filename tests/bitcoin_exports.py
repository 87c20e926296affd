"""Small Bitcoin stores for tests, made through the real ingest of blockchain-etl JSON."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path

from counterflow.chains.base58 import b58check_encode
from counterflow.ingest import ingest


def p2pkh(name: str) -> str:
    """A valid P2PKH address derived from ``name``."""
    return b58check_encode(b"\x00" + hashlib.sha256(name.encode()).digest()[:20])


def txid(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()


#: Time of block 0 of these stores; block ``b`` is mined ``600 * b`` seconds later.
T0 = 1_767_000_000


def utxo_tx(
    name: str,
    block: int,
    inputs: Sequence[tuple[str, int, str, int]],
    outputs: Sequence[tuple[str, int]],
    *,
    t0: int = T0,
) -> dict[str, object]:
    """One blockchain-etl Bitcoin transaction: inputs (funding tx, vout, address, value)."""
    return {
        "hash": txid(name),
        "block_number": block,
        "block_hash": f"{block:064x}",
        "block_timestamp": t0 + 600 * block,
        "is_coinbase": not inputs,
        "index": 0,
        "inputs": [
            {
                "index": i,
                "spent_transaction_hash": txid(tx),
                "spent_output_index": vout,
                "addresses": [address],
                "value": value,
                "type": "pubkeyhash",
            }
            for i, (tx, vout, address, value) in enumerate(inputs)
        ],
        "outputs": [
            {"index": i, "addresses": [a], "value": v, "type": "pubkeyhash"}
            for i, (a, v) in enumerate(outputs)
        ],
    }


def bitcoin_store(root: Path, txs: list[dict[str, object]]) -> Path:
    """Ingest ``txs`` as an export into ``root/store`` and return the store's path."""
    exports = root / "exports"
    exports.mkdir(parents=True, exist_ok=True)
    (exports / "transactions.json").write_text("".join(json.dumps(t) + "\n" for t in txs))
    ingest("bitcoin", [exports], data_dir=root / "store")
    return root / "store"
