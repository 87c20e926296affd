"""Entity clustering: rules on hand-built transfers, engines, incremental runs, ground truth."""

from __future__ import annotations

import json
import shutil
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pytest

from counterflow.cli import main
from counterflow.errors import ConfigError, StoreError
from counterflow.graph.clustering import cluster, pairwise_scores, rules
from counterflow.graph.clustering.union_find import components
from counterflow.ingest import ingest
from counterflow.store.datadir import DataDirectory
from counterflow.store.duckdb_engine import DuckDBEngine
from counterflow.store.schema import TRANSFERS

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "exercise"))
from exercise_scenario import CONFIG

from counterflow.exercise import run_scenario

ENGINES = ["duckdb", pytest.param("spark", marks=[pytest.mark.spark, pytest.mark.slow])]
T0 = datetime(2026, 1, 5, tzinfo=UTC)


# -- hand-built transfers -------------------------------------------------------------------
def _links(
    transfers: list[dict[str, Any]], addresses: dict[int, str], sql: list[str], utxo: bool
) -> set[tuple[int, int, str]]:
    """Run rule SQL on transfers given as dicts: the links it makes."""
    eng = DuckDBEngine()
    try:
        columns = {c.name: [t.get(c.name) for t in transfers] for c in TRANSFERS.columns}
        eng.register_arrow("raw_t", pa.table(columns))
        eng.view(
            "transfers",
            "SELECT " + ", ".join(f"CAST({c.name} AS {c.sql_type}) AS {c.name}"
                                  for c in TRANSFERS.columns) + " FROM raw_t",
        )  # fmt: skip
        eng.register_arrow(
            "addresses",
            pa.table({
                "address_id": list(addresses), "address": list(addresses.values()),
                "first_block": [min((t["block_number"] for t in transfers
                                     if a in (t.get("src_id"), t.get("dst_id"))), default=0)
                                for a in addresses],
            }),
        )  # fmt: skip
        if utxo:
            eng.view("scope", "SELECT DISTINCT tx_id FROM transfers")
            for name, body in rules.utxo_prelude():
                eng.materialize(name, body)
        found: set[tuple[int, int, str]] = set()
        for body in sql:
            found |= {(int(a), int(b), str(r)) for a, b, r in
                      eng.query(f"SELECT address_id, linked_id, rule FROM ({body}) x")}  # fmt: skip
        return found
    finally:
        eng.close()


def _utxo_tx(
    tx: int, block: int, inputs: list[int], outputs: list[tuple[int, int]]
) -> list[dict[str, Any]]:
    rows = [
        {"block_number": block, "tx_index": tx, "seq": i, "kind": 1, "tx_id": tx, "src_id": a,
         "asset_id": 0, "amount": 50_000_000 + i}
        for i, a in enumerate(inputs)
    ]  # fmt: skip
    rows += [
        {"block_number": block, "tx_index": tx, "seq": (1 << 20) + i, "kind": 2, "tx_id": tx,
         "dst_id": a, "asset_id": 0, "amount": v}
        for i, (a, v) in enumerate(outputs)
    ]  # fmt: skip
    return rows


BECH = {i: f"bc1q{'a' * 38}{i:02d}" for i in range(40)}  # same type: prefix, version, length
BECH[30] = "1BoatSLRHtKNngkdXEeobR76b53LETtpyT"  # a P2PKH address


def test_multi_input_links_inputs_to_the_smallest() -> None:
    t = _utxo_tx(1, 10, [5, 3, 7], [(20, 123_456_789)])
    assert _links(t, BECH, [rules.multi_input_links()], True) == {
        (5, 3, "multi-input"),
        (7, 3, "multi-input"),
    }


def test_coinjoin_rounds_are_not_merged() -> None:
    equal = _utxo_tx(1, 10, [1, 2, 3, 4, 5], [(10 + i, 10_000_000) for i in range(5)])
    # one participant takes several mix outputs, others leave change
    lopsided = _utxo_tx(
        2, 10, [6, 7], [(20, 10_000_000), (21, 10_000_000), (22, 10_000_000), (23, 4_321)]
    )
    mix = _utxo_tx(
        3, 10, list(range(1, 11)),
        [(20 + i, [1 << 20, 1 << 21, 3 << 20][i % 3] + (i // 6) * 7) for i in range(12)],
    )  # fmt: skip
    assert _links(equal + lopsided + mix, BECH, [rules.multi_input_links()], True) == set()


def test_batch_payment_is_not_a_coinjoin() -> None:
    # two equal payments among many outputs: outputs > 2 × equal + 1
    t = _utxo_tx(1, 10, [1, 2], [(10, 5_000), (11, 5_000)] + [(12 + i, 777 + i) for i in range(6)])
    assert _links(t, BECH, [rules.multi_input_links()], True) == {(2, 1, "multi-input")}


def test_pseudo_addresses_are_never_linked() -> None:
    addresses = {**BECH, 9: "x-multisig-" + "ab" * 32}
    t = _utxo_tx(1, 10, [4, 9], [(20, 123_456_789)])
    assert _links(t, addresses, [rules.multi_input_links()], True) == set()


def test_change_rule_links_the_one_fresh_non_round_same_type_output() -> None:
    history = _utxo_tx(1, 5, [], [(21, 1)])  # address 21 is not fresh at block 10
    t = _utxo_tx(2, 10, [1, 2], [(20, 30_000_000), (22, 1_234_567), (30, 7_654_321)])
    found = _links(history + t, BECH, [rules.change_links()], True)
    assert found == {(22, 1, "change")}  # 20 is round, 30 is another type
    two = _utxo_tx(3, 11, [3], [(23, 1_234_567), (24, 7_654_321)])
    assert _links(two, BECH, [rules.change_links()], True) == set()  # two candidates
    reused = _utxo_tx(4, 12, [3], [(3, 1_234_567), (25, 50_000_000)])
    assert _links(reused, BECH, [rules.change_links()], True) == set()  # pays an input


def _native(block: int, tx: int, src: int, dst: int, amount: int, kind: int = 4) -> dict[str, Any]:
    return {"block_number": block, "tx_index": 0, "seq": 1, "kind": kind, "tx_id": tx,
            "src_id": src, "dst_id": dst, "asset_id": 0, "amount": amount,
            "block_time": T0 + timedelta(seconds=12 * block)}  # fmt: skip


def test_deposit_rule() -> None:
    hot, rows, tx = 1, [], 100
    rows.append(_native(1, 1, hot, 90, 5))  # the hot wallet pays withdrawals (sends to 2+)
    rows.append(_native(1, 2, hot, 91, 5))
    rows.append({**_native(1, 1, hot, 0, 1, kind=7), "dst_id": None})  # it pays fees: an EOA
    for d in range(10, 16):  # six deposit addresses, each paid by a customer, swept later
        rows.append(_native(10, tx, 50 + d, d, 1_000))
        rows.append(_native(20, tx + 1, d, hot, 990))
        tx += 2
    rows.append(_native(10, tx, 80, 16, 1_000))  # swept too late (> 7 days)
    rows.append(_native(10 + 60_000, tx + 1, 16, hot, 990))
    rows.append(_native(10, tx + 2, 81, 17, 1_000))  # also pays elsewhere
    rows.append(_native(20, tx + 3, 17, hot, 500))
    rows.append(_native(21, tx + 4, 17, 92, 400))
    addresses = {i: f"0x{i:040x}" for i in range(100)}
    found = _links(rows, addresses, [rules.deposit_links()], False)
    assert found == {(d, hot, "deposit") for d in range(10, 16)}
    # with fewer than five depositors, no hot wallet
    few = [r for r in rows if r["src_id"] not in (13, 14, 15) and r["dst_id"] not in (13, 14, 15)]
    assert _links(few, addresses, [rules.deposit_links()], False) == set()


def test_union_find_roots_are_the_smallest_member() -> None:
    labels, merges = components(8, [5, 7, 2], [3, 5, 6])
    assert labels.tolist() == [0, 1, 2, 3, 4, 3, 2, 3]
    assert merges == 3
    more, merges = components(9, [8, 6], [7, 3], start=labels)
    assert more.tolist() == [0, 1, 2, 2, 4, 2, 2, 2, 2]
    assert merges == 2
    with pytest.raises(ValueError, match="outside"):
        components(3, [0], [3])


def test_pairwise_scores() -> None:
    s = pairwise_scores([0, 0, 0, 3], [1, 1, 2, 2])
    assert (s.predicted_pairs, s.true_pairs, s.correct_pairs) == (3, 2, 1)
    assert s.precision == pytest.approx(1 / 3) and s.recall == pytest.approx(1 / 2)


# -- a simulated scenario -------------------------------------------------------------------
@pytest.fixture(scope="session")
def scenario_dirs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The exercise tests' scenario, ingested whole, and its Bitcoin export split in two."""
    root = tmp_path_factory.mktemp("clustering")
    folder = root / "scenario"
    run_scenario(CONFIG, folder)
    for chain in ("bitcoin", "ethereum"):
        ingest(chain, [folder / chain], data_dir=DataDirectory(root / "store"))
    with open(folder / "bitcoin" / "blocks.json") as fh:
        blocks = [json.loads(line) for line in fh]
    middle = blocks[len(blocks) // 2]["number"]
    for half, keep in (("first", lambda b: b < middle), ("second", lambda b: b >= middle)):
        out = root / half
        out.mkdir()
        for name, key in (("blocks.json", "number"), ("transactions.json", "block_number")):
            with open(folder / "bitcoin" / name) as src, open(out / name, "w") as dst:
                dst.writelines(line for line in src if keep(json.loads(line)[key]))
    return root, folder


def _entities(directory: DataDirectory, chain: str) -> np.ndarray[Any, Any]:
    files = [str(p) for p in directory.table_files(chain, "entities")]
    rows = duckdb.sql(f"SELECT entity_id FROM read_parquet({files!r}) ORDER BY address_id")
    return rows.fetchnumpy()["entity_id"]


def _copy_store(root: Path, tmp_path: Path) -> DataDirectory:
    shutil.copytree(root / "store", tmp_path / "store")
    return DataDirectory(tmp_path / "store")


@pytest.mark.parametrize("engine", ENGINES)
def test_engines_give_identical_entities(
    scenario_dirs: tuple[Path, Path], tmp_path: Path, engine: str
) -> None:
    store = _copy_store(scenario_dirs[0], tmp_path)
    reference = _copy_store(scenario_dirs[0], tmp_path / "ref")
    for chain, change in (("bitcoin", True), ("ethereum", False)):
        report = cluster(store, chain, change=change, engine=engine)
        expected = cluster(reference, chain, change=change)
        assert report.entities == expected.entities and report.links == expected.links
        assert np.array_equal(_entities(store, chain), _entities(reference, chain))


@pytest.mark.parametrize("engine", ENGINES)
def test_incremental_equals_full(
    scenario_dirs: tuple[Path, Path], tmp_path: Path, engine: str
) -> None:
    root, _ = scenario_dirs
    store = DataDirectory(tmp_path / "inc")
    ingest("bitcoin", [root / "first"], data_dir=store)
    first = cluster(store, "bitcoin", change=True, engine=engine)
    assert first.mode == "full"
    ingest("bitcoin", [root / "second"], data_dir=store)
    second = cluster(store, "bitcoin", change=True, engine=engine)
    assert second.mode == "incremental" and second.transfer_parts == 1
    again = cluster(store, "bitcoin", change=True, engine=engine)
    assert again.links == {} and again.merges == 0
    full = DataDirectory(tmp_path / "full")
    ingest("bitcoin", [root / "first"], data_dir=full)
    ingest("bitcoin", [root / "second"], data_dir=full)
    cluster(full, "bitcoin", change=True)
    assert np.array_equal(_entities(store, "bitcoin"), _entities(full, "bitcoin"))
    # switching a rule recomputes from scratch
    assert cluster(store, "bitcoin", engine=engine).full_reason == "rules changed"


def _scores(store: DataDirectory, folder: Path, chain: str) -> Any:
    ent = [str(p) for p in store.table_files(chain, "entities")]
    adr = [str(p) for p in store.table_files(chain, "addresses")]
    owners = folder / "ground_truth" / "owners.parquet"
    rows = duckdb.sql(
        f"SELECT e.entity_id, hash(o.owner) AS owner FROM read_parquet({ent!r}) e "
        f"JOIN read_parquet({adr!r}) a USING (address_id) JOIN read_parquet('{owners}') o "
        f"ON o.chain = '{chain}' AND o.address = a.address"
    ).fetchnumpy()
    return pairwise_scores(rows["entity_id"], rows["owner"].astype(np.int64))


def test_against_ground_truth(scenario_dirs: tuple[Path, Path], tmp_path: Path) -> None:
    root, folder = scenario_dirs
    store = _copy_store(root, tmp_path)
    cluster(store, "bitcoin")
    alone = _scores(store, folder, "bitcoin")
    cluster(store, "bitcoin", change=True)
    with_change = _scores(store, folder, "bitcoin")
    cluster(store, "ethereum")
    deposits = _scores(store, folder, "ethereum")
    # CoinJoin rounds (the heists mix with 10-30 users) never merge different owners.
    assert alone.precision >= 0.99 and alone.correct_pairs > 1_000
    assert with_change.precision >= 0.98
    assert with_change.correct_pairs > 1.3 * alone.correct_pairs
    # Exchange deposit addresses join their hot wallet: a sixth of all true Ethereum pairs.
    assert deposits.precision >= 0.99 and deposits.recall >= 0.1


def test_bad_input(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown chain"):
        cluster(tmp_path / "none", "nochain")
    with pytest.raises(StoreError, match="ingest some first"):
        cluster(tmp_path / "none", "bitcoin")
    assert not (tmp_path / "none").exists()  # nothing written


def test_cli(scenario_dirs: tuple[Path, Path], tmp_path: Path, capsys: Any) -> None:
    store = _copy_store(scenario_dirs[0], tmp_path)
    args = ["--data-dir", str(store.root), "cluster", "bitcoin", "--change", "--json"]
    assert main(args) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["entities"] < report["addresses"] and set(report["links"]) == {
        "multi-input",
        "change",
    }
    assert main(["--data-dir", str(tmp_path / "empty"), "cluster", "bitcoin"]) == 4
    assert "ingest some first" in capsys.readouterr().err
    assert main(["--data-dir", str(store.root), "cluster", "nochain"]) == 2
