"""A scenario is what real users ingest, and its ground truth is exactly what happened in it."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import yaml
from exercise_scenario import CONFIG, Scenario

from counterflow.attribution.tagpack import load_tagpack
from counterflow.chains.registry import normalize_address
from counterflow.exercise import load_ground_truth
from counterflow.exercise.truth import GroundTruth
from counterflow.exercise.world import satoshi_for_held
from counterflow.store.reader import StoreReader
from counterflow.store.schema import TransferKind

KINDS = {
    "input": TransferKind.INPUT,
    "output": TransferKind.OUTPUT,
    "native": TransferKind.NATIVE,
    "internal": TransferKind.INTERNAL,
    "token": TransferKind.TOKEN,
    "fee": TransferKind.FEE,
}


def truth(scenario: Scenario) -> GroundTruth:
    return load_ground_truth(scenario.folder)


def test_the_ingest_reads_every_file_without_rejects(scenario: Scenario) -> None:
    for chain in ("bitcoin", "ethereum"):
        report = scenario.reports[chain]
        assert report.rejected == 0 and report.rejected_rows == 0
        assert not report.ignored_files
        # The simulator counts transfers as the value-flow model stores them.
        assert report.stored == getattr(scenario.summary, chain)["transfers"]
    total = scenario.summary.transfers
    assert abs(total - CONFIG.transfers) / CONFIG.transfers < 0.05


def test_every_ground_truth_transfer_is_in_the_store(scenario: Scenario) -> None:
    t = truth(scenario)
    rows = [
        (tr.chain, tr.tx_hash, int(KINDS[tr.kind]), tr.source, tr.target, str(tr.amount))
        for h in t.heists
        for tr in h.transfers
    ]
    assert len(rows) > 1_000
    names = ("chain", "tx_hash", "kind", "source", "target", "amount")
    table = pa.table({n: [r[i] for r in rows] for i, n in enumerate(names)})
    with StoreReader(scenario.store) as reader:
        reader.con.register("truth", table)
        missing = 0
        for chain in ("bitcoin", "ethereum"):
            f, tx, a = (reader.table(chain, n) for n in ("transfers", "transactions", "addresses"))
            missing += reader.rows(
                f"""
                SELECT count(*) FROM truth AS t WHERE t.chain = ? AND NOT EXISTS (
                    SELECT 1 FROM {f} AS f
                    JOIN {tx} AS x ON x.tx_id = f.tx_id
                    LEFT JOIN {a} AS s ON s.address_id = f.src_id
                    LEFT JOIN {a} AS d ON d.address_id = f.dst_id
                    WHERE x.tx_hash = t.tx_hash AND f.kind = t.kind
                      AND s.address IS NOT DISTINCT FROM t.source
                      AND d.address IS NOT DISTINCT FROM t.target
                      AND CAST(f.amount AS VARCHAR) = t.amount)
                """,
                [chain],
            )[0][0]
    assert missing == 0


def test_stolen_value_is_conserved_through_every_hop(scenario: Scenario) -> None:
    """Per laundering holder and asset: stolen in = stolen out + fees paid + still held."""
    for heist in truth(scenario).heists:
        laundering = {a["address"] for a in heist.addresses}
        balance: dict[tuple[str, str], int] = defaultdict(int)
        per_tx: dict[str, int] = defaultdict(int)
        for tr in heist.transfers:
            if tr.chain == "bitcoin":
                # A Bitcoin transaction holds value between its inputs and outputs.
                per_tx[tr.tx_hash] += tr.stolen if tr.kind == "input" else -tr.stolen
                if tr.kind == "input":
                    balance[(tr.source, "BTC")] -= tr.stolen
                elif tr.target in laundering:
                    balance[(tr.target, "BTC")] += tr.stolen
                continue
            if tr.source in laundering:
                balance[(tr.source, tr.asset)] -= tr.stolen
            if tr.target in laundering:
                balance[(tr.target, tr.asset)] += tr.stolen
        held = defaultdict(int)
        for h in heist.held:
            held[(h["address"], h["asset"])] += h["amount"]
        for key, value in balance.items():
            assert value == held.get(key, 0), (heist.name, key)
        # What a heist transaction keeps is its fee, never more than a few thousand sat/vB.
        # (Bridge releases are paid by the bridge: they have outputs only.)
        released = {link.target_tx for link in heist.links}
        for tx_hash, kept in per_tx.items():
            assert kept >= 0 or tx_hash in released
            assert kept < 1_000_000 or tx_hash in released


def test_conversions_keep_their_rates(scenario: Scenario) -> None:
    for heist in truth(scenario).heists:
        assert heist.links, heist.name
        for link in heist.links:
            assert link.target_amount == satoshi_for_held(link.source_amount // 10**6)
        deposits = [t for t in heist.transfers if t.step == "mixer-deposit" and t.kind == "native"]
        withdrawals = [t for t in heist.transfers if t.step == "mixer-withdrawal"]
        # Each withdrawal pays the denomination back: to the fresh account and to the relayer.
        assert sum(t.stolen for t in withdrawals) == sum(t.stolen for t in deposits)


def test_no_laundering_transfer_goes_back_in_time(scenario: Scenario) -> None:
    """A laundering address never sends on more stolen value than it had received by then."""
    for heist in truth(scenario).heists:
        theft = min(t.timestamp for t in heist.transfers)
        laundering = {(a["chain"], a["address"]) for a in heist.addresses}
        received: dict[tuple[str, str, str], list[tuple[int, int]]] = defaultdict(list)
        sent: dict[tuple[str, str, str], list[tuple[int, int]]] = defaultdict(list)
        for tr in heist.transfers:
            assert tr.timestamp >= theft
            if (tr.chain, tr.target) in laundering:
                received[(tr.chain, tr.target, tr.asset)].append((tr.block, tr.stolen))
            if (tr.chain, tr.source) in laundering:
                sent[(tr.chain, tr.source, tr.asset)].append((tr.block, tr.stolen))
        assert sent
        for key, outs in sent.items():
            ins = received[key]
            for block, _ in outs:
                arrived = sum(v for b, v in ins if b <= block)
                left = sum(v for b, v in outs if b <= block)
                assert left <= arrived, (heist.name, key, block)


def test_destinations_are_exchange_deposits_or_the_otc_desk(scenario: Scenario) -> None:
    owners = pq.read_table(scenario.folder / "ground_truth" / "owners.parquet").to_pylist()
    owner = {(r["chain"], r["address"]): (r["owner"], r["owner_kind"]) for r in owners}
    t = truth(scenario)
    exchanges = set(t.scenario["exchanges"])
    for heist in t.heists:
        assert heist.destinations, heist.name
        for d in heist.destinations:
            name, kind = owner[(d.chain, d.address)]
            assert kind == ("exchange" if d.kind == "exchange" else "otc")
            assert name == d.service and (d.kind == "otc" or name in exchanges)
        # Every laundering address belongs to the heist.
        for a in heist.addresses:
            assert owner[(a["chain"], a["address"])] == (f"heist:{heist.name}", "heist")
        victim = heist.victims[0]["address"]
        assert owner[("ethereum", victim)][1] in ("exchange", "bridge", "victim")


def test_every_stored_address_has_a_true_owner(scenario: Scenario) -> None:
    owners = pq.read_table(scenario.folder / "ground_truth" / "owners.parquet")
    known = set(zip(owners["chain"].to_pylist(), owners["address"].to_pylist(), strict=True))
    assert len(known) == owners.num_rows  # no address twice
    with StoreReader(scenario.store) as reader:
        for chain in ("bitcoin", "ethereum"):
            stored = {
                r[0] for r in reader.rows(f"SELECT address FROM {reader.table(chain, 'addresses')}")
            }
            assert stored and stored <= {a for c, a in known if c == chain}


def test_labels_are_a_tagpack_of_valid_service_addresses(scenario: Scenario) -> None:
    path = scenario.folder / "labels" / "services.yaml"
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert {"title", "creator", "tags"} <= set(document)
    # Every address is text in its chain's canonical form, so any YAML reader gets it as is.
    for entry in document["tags"]:
        chain = "bitcoin" if entry["currency"] == "BTC" else "ethereum"
        assert isinstance(entry["address"], str)
        assert normalize_address(chain, entry["address"]) == entry["address"]
    pack = load_tagpack(path)
    assert len(pack.tags) == len(document["tags"])
    categories = {tag.category for tag in pack.tags}
    assert {"exchange", "bridge", "mixing_service", "defi_dex", "otc_broker"} <= categories


def test_injects_point_at_the_heists_and_come_in_time_order(scenario: Scenario) -> None:
    document = json.loads((scenario.folder / "injects.json").read_text(encoding="utf-8"))
    injects = document["injects"]
    assert [i["time"] for i in injects] == sorted(i["time"] for i in injects)
    t = truth(scenario)
    known = set()
    for h in t.heists:
        known |= {(a["chain"], a["address"]) for a in h.addresses + h.victims}
    assert {i["kind"] for i in injects} >= {"victim-report", "partner-share", "designation"}
    for inject in injects:
        assert inject["at"].startswith("T+")
        for indicator in inject["indicators"]:
            if "address" in indicator:
                assert (indicator["chain"], indicator["address"]) in known


def test_scenario_files_are_where_the_cli_documents_them(scenario: Scenario) -> None:
    files = set(scenario.summary.files)
    assert {
        "bitcoin/blocks.json",
        "bitcoin/transactions.json",
        "ethereum/blocks.csv",
        "ethereum/transactions.csv",
        "ethereum/token_transfers.csv",
        "ethereum/traces.csv",
        "ethereum/tokens.csv",
        "labels/services.yaml",
        "ground_truth.json",
        "ground_truth/owners.parquet",
        "injects.json",
    } <= files
    assert not list(Path(scenario.folder).parent.glob(".scenario.*"))  # no staging left over
