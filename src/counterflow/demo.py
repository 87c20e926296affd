"""The demo: real exports, then a simulated heist laundered through a simulated economy.

It ingests the bundled real Bitcoin and Ethereum exports, generates an exercise scenario (a
Lazarus-style heist in a background economy, with its ground truth) into the data directory,
ingests the scenario's exports the way a deployment ingests a node's, then investigates as a
team would after the victim's report (the scenario's first inject): clusters both chains,
traces the stolen funds forward from the reported addresses to the services where they land
(writing a replayable evidence bundle), scores the trace against the ground truth, and shows
the received exposure of the deposit that took the most. Later capabilities (screen, alert,
share) extend this same entry point.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from counterflow.exercise import ScenarioConfig, load_ground_truth, run_scenario, score
from counterflow.exercise.scoring import parse_answers
from counterflow.exercise.truth import HeistTruth
from counterflow.graph import TraceParams, exposure, trace
from counterflow.graph.clustering import cluster
from counterflow.graph.evidence import write_bundle
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
    investigation = _investigate(directory, Path(scenario["folder"]), progress)
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
        "investigation": investigation,
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


def _investigate(directory: DataDirectory, folder: Path, progress: Any) -> dict[str, Any]:
    """What a team does with the victim's report: cluster, trace, score, check exposure."""
    injects = json.loads((folder / "injects.json").read_text(encoding="utf-8"))["injects"]
    report = next(i for i in injects if i["kind"] == "victim-report")
    chain = report["indicators"][0]["chain"]
    victims = [i["address"] for i in report["indicators"] if "address" in i]
    if progress:
        progress("clustering")
    clusters = {c: cluster(directory, c).to_json() for c in ("bitcoin", "ethereum")}
    if progress:
        progress("tracing the stolen funds")
    labels: list[str | Path] = [folder / "labels" / "services.yaml"]
    links: list[str | Path] = [folder / "bridge" / "crossings.csv"]
    params = TraceParams(chain, tuple(victims), policy="haircut", since=report["time"])
    result = trace(directory, params, labels=labels, links=links)
    evidence = folder / "evidence.json"
    write_bundle(result, evidence)
    scores = score(load_ground_truth(folder), parse_answers(result.answers("demo")))
    destinations: dict[tuple[str, str, str], int] = {}
    for d in result.destinations:
        key = (d.service, d.chain, d.asset)
        destinations[key] = destinations.get(key, 0) + d.amount
    top = max(result.destinations, key=lambda d: d.amount, default=None)
    exposed = None
    if top is not None:
        if progress:
            progress("exposure of the largest deposit")
        # The investigator's own label after the report: the drained wallets are a theft.
        case = folder / "case-labels.yaml"
        case.write_text(
            yaml.safe_dump(
                {
                    "title": "Reported theft",
                    "creator": "counterflow demo",
                    "confidence": "victim_report",
                    "category": "theft",
                    "currency": "ETH" if chain == "ethereum" else "BTC",
                    "tags": [{"address": a, "label": "drained wallet"} for a in victims],
                },
                sort_keys=False,
            ),
            encoding="utf-8",
        )
        report_ = exposure(
            directory, top.chain, top.address, direction="received", max_hops=6,
            labels=[*labels, case], links=links,
        )  # fmt: skip
        exposed = {"address": top.address, "chain": top.chain, **report_.to_json()}
    return {
        "seeds": victims,
        "chain": chain,
        "since": report["time"],
        "clusters": clusters,
        "trace": {
            "policy": "haircut",
            "holders": len(result.holders),
            "transfers": len(result.transfers),
            "evidence": str(evidence),
            "destinations": [
                {"service": k[0], "chain": k[1], "asset": k[2], "amount": v}
                for k, v in sorted(destinations.items())
            ],
        },
        "score": scores.to_json(),
        "exposure": exposed,
    }
