"""The demo: real exports, then a simulated heist laundered through a simulated economy.

It ingests the bundled real Bitcoin and Ethereum exports, generates an exercise scenario (a
Lazarus-style heist in a background economy, with its ground truth) into the data directory,
ingests the scenario's exports the way a deployment ingests a node's, and summarises what the
store holds and what the heist did. Later capabilities (trace, screen, alert, share) extend
this same entry point.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

from counterflow.exercise import ScenarioConfig, load_ground_truth, run_scenario
from counterflow.exercise.truth import HeistTruth
from counterflow.ingest import ingest
from counterflow.query import address_summary, store_stats
from counterflow.store.datadir import DataDirectory
from counterflow.store.reader import StoreReader


def demo_data_dir() -> Path:
    """Where the bundled exports are installed."""
    return Path(str(resources.files("counterflow") / "demo_data"))


#: The demo's scenario: one heist, big enough to show the economy, quick to generate.
DEMO_SCENARIO = ScenarioConfig(seed=1, transfers=100_000, days=14)


def ingest_bundled_exports(directory: DataDirectory, progress: Any = None) -> list[dict[str, Any]]:
    data = demo_data_dir()
    return [
        ingest(chain, [data / chain], data_dir=directory, progress=progress).to_json()
        for chain in ("bitcoin", "ethereum")
    ]


def run_demo(directory: DataDirectory, progress: Any = None) -> dict[str, Any]:
    steps = ingest_bundled_exports(directory, progress)
    scenario = _demo_scenario(directory, progress)
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
    return {
        "ingest": steps,
        "scenario": scenario,
        "stats": store_stats(directory),
        "busiest_address": busiest,
    }


def _demo_scenario(directory: DataDirectory, progress: Any) -> dict[str, Any]:
    """Generate the demo scenario once (it is deterministic) and ingest it."""
    folder = directory.root / "scenarios" / f"demo-seed-{DEMO_SCENARIO.seed}"
    generated = None
    if not (folder / "ground_truth.json").is_file():
        if progress:
            progress("simulating the exercise scenario")
        generated = run_scenario(DEMO_SCENARIO, folder).to_json()
    steps = [
        ingest(chain, [folder / chain], data_dir=directory, progress=progress).to_json()
        for chain in ("bitcoin", "ethereum")
    ]
    truth = load_ground_truth(folder)
    return {
        "folder": str(folder),
        "generated": generated,
        "ingest": steps,
        "heists": [_heist_summary(h) for h in truth.heists],
    }


def _heist_summary(heist: HeistTruth) -> dict[str, Any]:
    cashed: dict[str, dict[str, int]] = {}
    for d in heist.destinations:
        per_asset = cashed.setdefault(d.service, {})
        per_asset[d.asset] = per_asset.get(d.asset, 0) + d.amount
    return {
        "name": heist.name,
        "theft_time": heist.theft_time,
        "stolen": heist.stolen,
        "laundering_addresses": len(heist.addresses),
        "laundering_transfers": len(heist.transfers),
        "bridge_crossings": len(heist.links),
        "cash_out_deposits": len(heist.destinations),
        "cashed_out": cashed,
    }
