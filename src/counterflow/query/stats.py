"""``counterflow stats``: what the store holds, per chain."""

from __future__ import annotations

from typing import Any

from counterflow.chains.registry import get_chain
from counterflow.query.common import KIND_NAMES, iso
from counterflow.store.datadir import DataDirectory, Manifest
from counterflow.store.reader import StoreReader


def _folder_bytes(directory: DataDirectory, chain: str, manifest: Manifest) -> int:
    base = directory.chain_dir(chain)
    return sum(
        (base / rel).stat().st_size
        for files in manifest.parts.values()
        for rel in files
        if (base / rel).exists()
    )


def store_stats(directory: DataDirectory) -> dict[str, Any]:
    """Counts, ranges and sizes per chain, from one consistent snapshot of the manifests."""
    chains: list[dict[str, Any]] = []
    with StoreReader(directory) as reader:
        for chain in reader.chains:
            t = reader.table
            (transfers, first_block, last_block, first_time, last_time) = reader.rows(
                f"SELECT count(*), min(block_number), max(block_number), min(block_time), "
                f"max(block_time) FROM {t(chain, 'transfers')}"
            )[0]
            by_kind = {
                KIND_NAMES.get(int(kind), str(kind)): int(n)
                for kind, n in reader.rows(
                    f"SELECT kind, count(*) FROM {t(chain, 'transfers')} GROUP BY kind "
                    "ORDER BY kind"
                )
            }
            counts = {
                name: int(reader.rows(f"SELECT count(*) FROM {t(chain, name)}")[0][0])
                for name in ("addresses", "transactions", "blocks", "assets", "pending_inputs")
            }
            manifest = reader.manifests[chain]
            chains.append(
                {
                    "chain": chain,
                    "family": get_chain(chain).family,
                    "transfers": int(transfers),
                    "transfers_by_kind": by_kind,
                    **counts,
                    "first_block": first_block,
                    "last_block": last_block,
                    "first_time": iso(first_time),
                    "last_time": iso(last_time),
                    "commits": len(manifest.commits),
                    "store_bytes": _folder_bytes(directory, chain, manifest),
                }
            )
    return {
        "data_dir": str(directory.root),
        "chains": chains,
        "transfers": sum(c["transfers"] for c in chains),
        "store_bytes": sum(c["store_bytes"] for c in chains),
    }
