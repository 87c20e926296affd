"""The demo: real exports, then a simulated heist laundered through a simulated economy.

It ingests the bundled real Bitcoin and Ethereum exports, generates an exercise scenario (a
Lazarus-style heist in a background economy, with its ground truth) into the data directory,
ingests the scenario's exports the way a deployment ingests a node's, then investigates as a
team would after the victim's report (the scenario's first inject): clusters both chains,
traces the stolen funds forward from the reported addresses to the services where they land
(writing a replayable evidence bundle), scores the trace against the ground truth, and shows
the received exposure of the deposit that took the most. Then it works as an exchange's
compliance desk: it imports real sanctions and law-enforcement lists (bundled) and the
scenario's injects into the tag store, screens every deposit address of the scenario's
exchanges, raises an alert for each high or severe one, and scores the alerts against the
ground truth. Later capabilities (share) extend this same entry point.
"""

from __future__ import annotations

import json
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import yaml

from counterflow.attribution.formats import parse_list
from counterflow.attribution.tagstore import TagStore
from counterflow.exercise import ScenarioConfig, load_ground_truth, run_scenario, score
from counterflow.exercise.scoring import parse_answers
from counterflow.exercise.truth import HeistTruth
from counterflow.graph import TraceParams, exposure, trace
from counterflow.graph.clustering import cluster
from counterflow.graph.evidence import write_bundle
from counterflow.ingest import ingest
from counterflow.query import address_summary, store_stats
from counterflow.screening import RiskLevel, Screener
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
    screening = _screen_deposits(directory, Path(scenario["folder"]), progress)
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
        "screening": screening,
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


def _screen_deposits(directory: DataDirectory, folder: Path, progress: Any) -> dict[str, Any]:
    """Screen every deposit address the scenario's exchanges hold; alert on high and severe."""
    if progress:
        progress("importing lists")
    tags = TagStore(directory)
    truth = load_ground_truth(folder)
    start = min(h.theft_time for h in truth.heists)[:10]
    lists = demo_data_dir() / "lists"
    services = parse_list("tagpack", [folder / "labels" / "services.yaml"], source="services")
    imports = [
        tags.import_list(
            parse_list("ofac-tickers", [lists / "sanctioned_addresses_ETH.txt"]),
            published=date(2024, 9, 27),
        ),
        tags.import_list(
            parse_list(
                "address-list",
                [lists / "fbi-psa-2025-02-26-bybit-eth.txt"],
                chain="ethereum",
                category="stolen_funds",
                label="TraderTraitor (Bybit)",
                source="fbi-bybit",
                published=date(2025, 2, 26),
            )
        ),
        # the services' labels were known before the heist; the injects arrive during it
        tags.import_list(services, published=date.fromisoformat(start)),
        tags.import_list(parse_list("exercise-injects", [folder / "injects.json"])),
    ]
    if progress:
        progress("screening every exchange deposit")
    screener = Screener(directory)
    deposits = _exchange_deposits(folder, {a.address for a in services.addresses})
    alerts: list[dict[str, Any]] = []
    review: set[tuple[str, str]] = set()
    levels: dict[str, int] = {}
    screened = 0
    for chain, addresses in sorted(deposits.items()):
        table, results = screener.screen_table(addresses, chain)
        screened += table.num_rows
        for risk in table["risk"].to_pylist():
            levels[risk] = levels.get(risk, 0) + 1
        for result in results:
            if result.risk >= RiskLevel.HIGH:
                alerts.append(result.to_json())
            elif result.risk >= RiskLevel.MEDIUM:
                review.add((result.chain, result.address))
    positives = {
        (d.chain, d.address) for h in truth.heists for d in h.destinations if d.kind == "exchange"
    }
    flagged = {(a["chain"], a["address"]) for a in alerts}
    return {
        "lists": [r.to_json() | {"rejects": len(r.rejects)} for r in imports],
        "deposits_screened": screened,
        "levels": dict(sorted(levels.items())),
        "alerts": sorted(alerts, key=lambda a: (a["risk"] != "severe", a["chain"], a["address"])),
        "review": len(review),
        "score": {
            "deposits_that_received_stolen_funds": len(positives),
            "alerts": _precision_recall(flagged, positives),
            "alerts_and_review": _precision_recall(flagged | review, positives),
        },
    }


def _precision_recall(found: set[Any], positives: set[Any]) -> dict[str, Any]:
    hits = len(found & positives)
    return {
        "flagged": len(found),
        "recall": round(hits / len(positives), 4) if positives else None,
        "precision": round(hits / len(found), 4) if found else None,
    }


def _exchange_deposits(folder: Path, wallets: set[str]) -> dict[str, list[str]]:
    """The deposit addresses each exchange knows it holds: its own, minus its labelled wallets."""
    owners = pq.read_table(folder / "ground_truth" / "owners.parquet")
    found: dict[str, list[str]] = {}
    for chain, address, kind in zip(
        owners["chain"].to_pylist(),
        owners["address"].to_pylist(),
        owners["owner_kind"].to_pylist(),
        strict=True,
    ):
        if kind == "exchange" and address not in wallets:
            found.setdefault(chain, []).append(address)
    return found
