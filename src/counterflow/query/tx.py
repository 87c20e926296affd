"""``counterflow tx``: every transfer of one transaction, with its addresses and fee."""

from __future__ import annotations

import re
from typing import Any

from counterflow.chains.registry import get_chain
from counterflow.errors import InputError
from counterflow.query.common import KIND_NAMES, amount_text, asset_map, iso, resolve_chains
from counterflow.store.datadir import DataDirectory
from counterflow.store.reader import StoreReader
from counterflow.store.schema import TransferKind

_UTXO_TXID = re.compile(r"^[0-9a-f]{64}$")
_ACCOUNT_TXID = re.compile(r"^0x[0-9a-f]{64}$")


def _txid_for(chain: str, txid: str) -> str | None:
    text = txid.strip().lower()
    if get_chain(chain).is_utxo:
        text = text.removeprefix("0x")
        return text if _UTXO_TXID.match(text) else None
    if not text.startswith("0x"):
        text = "0x" + text
    return text if _ACCOUNT_TXID.match(text) else None


def transaction_summary(
    directory: DataDirectory, txid: str, *, chain: str | None = None
) -> dict[str, Any]:
    """The transfers of ``txid`` in store order; on UTXO chains also the fee it left behind."""
    with StoreReader(directory) as reader:
        chains = resolve_chains(reader, chain, lambda c: _txid_for(c, txid), "transaction id")
        for name in chains:
            wanted = _txid_for(name, txid)
            if wanted is None:
                raise InputError(f"{txid!r} is not a {name} transaction id")
            found = reader.records(
                f"SELECT tx_id, block_number, tx_index FROM {reader.table(name, 'transactions')} "
                "WHERE tx_hash = ?",
                [wanted],
            )
            if found:
                return _summary(reader, name, wanted, found)
    raise InputError(f"transaction {txid} is not in the store ({', '.join(chains)})")


def _summary(
    reader: StoreReader, chain: str, txid: str, found: list[dict[str, Any]]
) -> dict[str, Any]:
    tx_id = found[0]["tx_id"]
    assets = asset_map(reader, chain)
    t = reader.table
    rows = reader.records(
        f"""
        SELECT f.block_number, f.block_time, f.kind, f.seq, s.address AS src, d.address AS dst,
               f.asset_id, f.amount, f.amount_raw, p.tx_hash AS prev_tx, f.prev_vout
        FROM {t(chain, "transfers")} AS f
        LEFT JOIN {t(chain, "addresses")} AS s ON s.address_id = f.src_id
        LEFT JOIN {t(chain, "addresses")} AS d ON d.address_id = f.dst_id
        LEFT JOIN {t(chain, "transactions")} AS p ON p.tx_id = f.prev_tx_id
        WHERE f.tx_id = ? ORDER BY f.block_number, f.tx_index, f.seq, f.kind
        """,
        [tx_id],
    )
    pending = reader.rows(
        f"SELECT count(*) FROM {t(chain, 'pending_inputs')} WHERE tx_hash = ?", [txid]
    )[0][0]
    transfers = []
    for row in rows:
        asset = assets.get(row["asset_id"], {})
        item: dict[str, Any] = {
            "kind": KIND_NAMES.get(row["kind"], str(row["kind"])),
            "from": row["src"],
            "to": row["dst"],
            "asset": asset.get("symbol") or asset.get("contract"),
            "decimals": asset.get("decimals"),
            "amount": amount_text(row["amount"], row["amount_raw"]),
        }
        if row["kind"] == TransferKind.INPUT:
            item["spends"] = f"{row['prev_tx'] or '?'}:{row['prev_vout']}"
        if row["kind"] == TransferKind.OUTPUT:
            item["vout"] = row["seq"] - (1 << 20)
        transfers.append(item)
    summary: dict[str, Any] = {
        "chain": chain,
        "txid": txid,
        # A transaction first seen as the funding side of an input has no block in the
        # dictionary; its transfers know it.
        "block": found[0]["block_number"]
        if found[0]["block_number"] is not None
        else (rows[0]["block_number"] if rows else None),
        "position": found[0]["tx_index"],
        "time": iso(rows[0]["block_time"]) if rows else None,
        "transfers": transfers,
        "unresolved_inputs": int(pending),
    }
    if get_chain(chain).is_utxo:
        ins = sum(r["amount"] or 0 for r in rows if r["kind"] == TransferKind.INPUT)
        outs = sum(r["amount"] or 0 for r in rows if r["kind"] == TransferKind.OUTPUT)
        coinbase = any(r["kind"] == TransferKind.COINBASE for r in rows)
        summary["fee"] = None if pending or coinbase else amount_text(ins - outs)
    else:
        fees = [r["amount"] for r in rows if r["kind"] == TransferKind.FEE]
        summary["fee"] = amount_text(fees[0]) if fees else None
    if len(found) > 1:
        summary["also_in_blocks"] = [f["block_number"] for f in found[1:]]
    return summary
