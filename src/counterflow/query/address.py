"""``counterflow address``: an address's flows, balance history and counterparties."""

from __future__ import annotations

from typing import Any

from counterflow.chains.registry import get_chain, normalize_address
from counterflow.errors import InputError, InvalidAddressError
from counterflow.query.common import amount_text, asset_map, iso, resolve_chains
from counterflow.store.datadir import DataDirectory
from counterflow.store.reader import StoreReader
from counterflow.store.schema import TransferKind


def _normalized(chain: str, address: str) -> str | None:
    try:
        return normalize_address(chain, address)
    except InvalidAddressError:
        return None


def address_summary(
    directory: DataDirectory,
    address: str,
    *,
    chain: str | None = None,
    counterparties: int = 10,
) -> dict[str, Any]:
    """Flows of one address per asset, first/last seen, monthly history and top counterparties.

    Figures cover what the store holds: a balance is received minus sent over ingested blocks.
    On UTXO chains the counterparties of a payment are the addresses on the other side of the
    transactions it took part in.
    """
    address = address.strip()
    with StoreReader(directory) as reader:
        if chain is not None:
            normalize_address(chain, address)  # a malformed address is an error, not a miss
        chains = resolve_chains(reader, chain, lambda c: _normalized(c, address), "address")
        for name in chains:
            canonical = _normalized(name, address)
            rows = reader.rows(
                f"SELECT address_id FROM {reader.table(name, 'addresses')} WHERE address = ?",
                [canonical],
            )
            if rows:
                return _summary(reader, name, str(canonical), int(rows[0][0]), counterparties)
    raise InputError(f"address {address} is not in the store ({', '.join(chains)})")


def _summary(
    reader: StoreReader, chain: str, address: str, address_id: int, top: int
) -> dict[str, Any]:
    transfers = reader.table(chain, "transfers")
    addresses = reader.table(chain, "addresses")
    assets = asset_map(reader, chain)
    flows = []
    for asset_id, received, sent, n_in, n_out, too_wide in reader.rows(
        f"""
        SELECT asset_id,
               sum(CASE WHEN dst_id = $1 THEN amount END),
               sum(CASE WHEN src_id = $1 THEN amount END),
               count(*) FILTER (WHERE dst_id = $1), count(*) FILTER (WHERE src_id = $1),
               count(*) FILTER (WHERE amount IS NULL AND amount_raw IS NOT NULL)
        FROM {transfers} WHERE src_id = $1 OR dst_id = $1
        GROUP BY asset_id ORDER BY asset_id
        """,
        [address_id],
    ):
        received = received or 0
        sent = sent or 0
        asset = assets.get(asset_id, {})
        flows.append(
            {
                "asset_id": asset_id,
                "asset": asset.get("symbol") or asset.get("contract"),
                "contract": asset.get("contract"),
                "decimals": asset.get("decimals"),
                "received": amount_text(received),
                "sent": amount_text(sent),
                "balance": amount_text(received - sent),
                "transfers_in": int(n_in),
                "transfers_out": int(n_out),
                # Amounts wider than 38 digits (spam tokens) are kept as text, not summed.
                "unsummed_transfers": int(too_wide),
            }
        )
    first_block, last_block, first_time, last_time = reader.rows(
        f"SELECT min(block_number), max(block_number), min(block_time), max(block_time) "
        f"FROM {transfers} WHERE src_id = $1 OR dst_id = $1",
        [address_id],
    )[0]
    history = [
        {
            "month": month,
            "received": amount_text(received or 0),
            "sent": amount_text(sent or 0),
            "balance": amount_text(balance or 0),
        }
        for month, received, sent, balance in reader.rows(
            f"""
            SELECT month, received, sent,
                   sum(coalesce(received, 0) - coalesce(sent, 0)) OVER (ORDER BY month)
            FROM (
                SELECT strftime(block_time, '%Y-%m') AS month,
                       sum(CASE WHEN dst_id = $1 THEN amount END) AS received,
                       sum(CASE WHEN src_id = $1 THEN amount END) AS sent
                FROM {transfers}
                WHERE (src_id = $1 OR dst_id = $1) AND asset_id = 0
                GROUP BY month
            ) AS m ORDER BY month
            """,
            [address_id],
        )
    ]
    if get_chain(chain).is_utxo:
        pairs = f"""
            SELECT o.src_id AS other, 'from' AS direction, o.amount
            FROM {transfers} AS mine JOIN {transfers} AS o
              ON o.tx_id = mine.tx_id AND o.kind = {int(TransferKind.INPUT)}
            WHERE mine.dst_id = $1 AND mine.kind = {int(TransferKind.OUTPUT)}
            UNION ALL
            SELECT o.dst_id, 'to', o.amount
            FROM {transfers} AS mine JOIN {transfers} AS o
              ON o.tx_id = mine.tx_id AND o.kind = {int(TransferKind.OUTPUT)}
            WHERE mine.src_id = $1 AND mine.kind = {int(TransferKind.INPUT)}
        """
    else:
        pairs = f"""
            SELECT src_id AS other, 'from' AS direction, amount FROM {transfers}
            WHERE dst_id = $1 AND src_id IS NOT NULL AND asset_id = 0
            UNION ALL
            SELECT dst_id, 'to', amount FROM {transfers}
            WHERE src_id = $1 AND dst_id IS NOT NULL AND asset_id = 0
        """
    parties = [
        {
            "address": other,
            "direction": direction,
            "transfers": int(n),
            "amount": amount_text(total or 0),
        }
        for other, direction, n, total in reader.rows(
            f"""
            SELECT a.address, p.direction, count(*) AS n, sum(p.amount) AS total
            FROM ({pairs}) AS p JOIN {addresses} AS a ON a.address_id = p.other
            WHERE p.other <> $1
            GROUP BY a.address, p.direction
            ORDER BY n DESC, total DESC, a.address LIMIT {int(top)}
            """,
            [address_id],
        )
    ]
    return {
        "chain": chain,
        "address": address,
        "address_id": address_id,
        "first_seen": {"block": first_block, "time": iso(first_time)},
        "last_seen": {"block": last_block, "time": iso(last_time)},
        "flows": flows,
        "history": history,
        "counterparties": parties,
    }
