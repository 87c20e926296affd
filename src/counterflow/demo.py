"""The demo: ingest the bundled real exports into a data directory and summarise it.

Later capabilities (trace, screen, alert, share) extend this same entry point.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

from counterflow.ingest import ingest
from counterflow.query import address_summary, store_stats
from counterflow.store.datadir import DataDirectory
from counterflow.store.reader import StoreReader


def demo_data_dir() -> Path:
    """Where the bundled exports are installed."""
    return Path(str(resources.files("counterflow") / "demo_data"))


def run_demo(directory: DataDirectory, progress: Any = None) -> dict[str, Any]:
    data = demo_data_dir()
    steps = []
    for chain, folder in (("bitcoin", "bitcoin"), ("ethereum", "ethereum")):
        report = ingest(chain, [data / folder], data_dir=directory, progress=progress)
        steps.append(report.to_json())
    with StoreReader(directory) as reader:
        row = reader.rows(
            f"""
            SELECT a.address, count(*) AS n
            FROM {reader.table("ethereum", "transfers")} AS f
            JOIN {reader.table("ethereum", "addresses")} AS a
              ON a.address_id = f.src_id OR a.address_id = f.dst_id
            GROUP BY a.address ORDER BY n DESC, a.address LIMIT 1
            """
        )
    busiest = address_summary(directory, row[0][0], chain="ethereum") if row else None
    return {"ingest": steps, "stats": store_stats(directory), "busiest_address": busiest}
