"""The ``counterflow`` command line, end to end, through ``counterflow.cli.main``.

Expected figures are computed here from the bundled demo exports themselves, never copied from
what the program prints.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from counterflow.cli import main
from counterflow.demo import DEMO_SCENARIO, demo_data_dir, ingest_bundled_exports
from counterflow.store.datadir import DataDirectory

DEMO = demo_data_dir()
BTC = [
    json.loads(line)
    for line in (DEMO / "bitcoin" / "transactions.json").read_text(encoding="utf-8").splitlines()
]


def json_lines_gz(path: Path) -> list[dict[str, Any]]:
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


ETH_TXS = json_lines_gz(DEMO / "ethereum" / "transactions.json.gz")
ETH_TOKENS = json_lines_gz(DEMO / "ethereum" / "token_transfers.json.gz")
ETH_BLOCKS = json_lines_gz(DEMO / "ethereum" / "blocks.json.gz")

TXID = "7940cdde4d713e171849efc6bd89939185be270266c94e92369e3877ad89455a"
ADDRESS = "1HaHTfmvoUW6i6nhJf8jJs6tU4cHNmBQHQ"
#: The genesis block's coinbase address: valid, and not in the demo.
ABSENT_ADDRESS = "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"
INGEST_KEYS = {"chain", "read", "stored", "rejected", "skipped", "rejected_rows", "seconds"}


def btc_legs(record: dict[str, Any]) -> int:
    return len(record["inputs"]) + len(record["outputs"]) + (1 if record["is_coinbase"] else 0)


def btc_addresses() -> set[str]:
    return {
        a
        for r in BTC
        for side in (r["inputs"], r["outputs"])
        for item in side
        for a in item["addresses"]
    }


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> Any:
    """Run a ``--json`` command: it succeeds and prints exactly one JSON document, nothing else."""
    code, out, err = run(capsys, *argv)
    assert code == 0, err
    assert err == ""
    return json.loads(out)  # json.loads refuses anything after the first document


def assert_error(code: int, out: str, err: str, *fragments: str) -> None:
    assert code != 0
    assert out == ""
    assert err.startswith("error: ")
    assert len(err.strip().splitlines()) == 1
    for fragment in fragments:
        assert fragment in err


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A data directory holding the bundled real exports, shared by the read-only tests."""
    store = tmp_path_factory.mktemp("cli") / "data"
    ingest_bundled_exports(DataDirectory(store))
    return str(store)


@pytest.fixture(autouse=True)
def wide_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rich wraps and truncates to the terminal width; make room for whole addresses."""
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.delenv("COUNTERFLOW_DATA_DIR", raising=False)


# -- demo -----------------------------------------------------------------------------------
@pytest.mark.slow
def test_demo_json_then_human_rerun(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    doc = run_json(capsys, "--data-dir", str(data_dir), "demo", "--json")
    assert set(doc) == {
        "ingest", "scenario", "investigation", "screening", "stats", "busiest_address",
    }  # fmt: skip
    bitcoin, ethereum = doc["ingest"]
    assert (bitcoin["chain"], ethereum["chain"]) == ("bitcoin", "ethereum")
    scenario = doc["scenario"]
    steps = doc["ingest"] + scenario["ingest"]
    for step in steps:
        assert set(step) >= INGEST_KEYS
        assert step["rejected"] == 0 and step["stored"] == step["read"] > 0
        assert isinstance(step["seconds"], float)
    assert bitcoin["stored"] == sum(btc_legs(r) for r in BTC)
    # The scenario's exports are stored transfer for transfer.
    generated = scenario["generated"]
    assert [s["stored"] for s in scenario["ingest"]] == [
        generated["bitcoin"]["transfers"],
        generated["ethereum"]["transfers"],
    ]
    assert doc["stats"]["transfers"] == sum(s["stored"] for s in steps)
    [heist] = scenario["heists"]
    assert heist["name"] == DEMO_SCENARIO.playbooks[0].name
    assert heist["cash_out_deposits"] > 0 and heist["bridge_crossings"] > 0
    assert Path(scenario["folder"], "ground_truth.json").is_file()
    assert doc["busiest_address"]["chain"] == "ethereum"
    assert (data_dir / "chains" / "bitcoin" / "manifest.json").is_file()
    # The investigation: clusters, a trace to the services with evidence, its score, exposure.
    investigation = doc["investigation"]
    assert set(investigation["clusters"]) == {"bitcoin", "ethereum"}
    assert all(c["entities"] > 0 for c in investigation["clusters"].values())
    traced = investigation["trace"]
    assert traced["destinations"] and Path(traced["evidence"]).is_file()
    landed = {d["service"] for d in traced["destinations"]}
    assert landed >= set(heist["cashed_out"])
    score = investigation["score"]
    assert score["addresses"]["recall"] >= 0.95 and score["addresses"]["precision"] >= 0.9
    assert score["deposits"]["recall"] >= 0.95 and score["funds_located"] >= 0.95
    categories = {c["category"] for c in investigation["exposure"]["received"]["categories"]}
    assert "theft" in categories
    # Screening: real lists and the injects imported, every deposit screened, alerts scored.
    screening = doc["screening"]
    assert [step["source"] for step in screening["lists"]] == [
        "ofac-sdn", "fbi-bybit", "services", "exercise-injects",
    ]  # fmt: skip
    assert screening["lists"][0]["addresses"] == 152 and screening["lists"][1]["addresses"] == 51
    assert screening["deposits_screened"] == sum(screening["levels"].values()) > 1000
    alerts = screening["score"]["alerts"]
    assert alerts["flagged"] == len(screening["alerts"]) > 0 and alerts["precision"] >= 0.9
    assert screening["score"]["alerts_and_review"]["recall"] >= alerts["recall"]
    assert all(a["risk"] in ("high", "severe") and a["reasons"] for a in screening["alerts"])

    # A second run reuses the scenario and stores nothing new.
    code, out, err = run(capsys, "--data-dir", str(data_dir), "demo")
    assert code == 0 and err == ""
    expected = sum(btc_legs(r) for r in BTC)
    assert (
        f"ingested bitcoin (real exports): 0 new transfers ({expected} read, "
        f"{expected} already stored)"
    ) in out
    assert "ingested ethereum (exercise scenario): 0 new transfers" in out
    assert "simulated" not in out
    assert f"heist {heist['name']} at {heist['theft_time']}: stole 9,000 ETH, 6,000 LSTX" in out
    assert "cashed out at " in out
    assert "traced (haircut) from the " in out and "landed at " in out
    assert "scored against the ground truth: " in out
    assert "imported list ofac-sdn 2024-09-27: 152 addresses" in out
    assert "screened " in out and " exchange deposit addresses: " in out
    # the second run finds the lists already imported and changes nothing
    assert "imported list fbi-bybit 2025-02-26: 51 addresses" in out
    assert "counterflow trace --replay" in out and "evidence.json" in out
    assert f"busiest address: {doc['busiest_address']['address']} on ethereum" in out
    assert "next: counterflow address ADDRESS" in out
    assert "store size:" in out


def btc_transactions() -> int:
    """Transaction holders: every transaction, and every one an input spends from."""
    funding = {i["spent_transaction_hash"] for r in BTC for i in r["inputs"]}
    return len({r["hash"] for r in BTC} | funding)


# -- ingest ---------------------------------------------------------------------------------
def test_ingest_json_and_rerun(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--data-dir", str(data_dir), "ingest", "bitcoin", str(DEMO / "bitcoin"), "--json"]
    report = run_json(capsys, *argv)
    assert set(report) >= INGEST_KEYS
    expected = sum(btc_legs(r) for r in BTC)
    assert report["chain"] == "bitcoin"
    assert (report["read"], report["stored"], report["rejected"]) == (expected, expected, 0)
    assert report["new_addresses"] == len(btc_addresses())
    # Every transaction, and every transaction an input spends from (a holder too, even
    # before its own block is ingested).
    assert report["new_transactions"] == btc_transactions()
    assert report["new_blocks"] == len({r["block_number"] for r in BTC})
    assert isinstance(report["commit"], str)
    again = run_json(capsys, *argv)
    assert (again["stored"], again["skipped"], again["commit"]) == (0, expected, None)


def test_ingest_human(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(
        capsys, "--data-dir", str(data_dir), "ingest", "bitcoin", str(DEMO / "bitcoin")
    )
    assert code == 0 and err == ""
    n = sum(btc_legs(r) for r in BTC)
    assert f"bitcoin: read {n} transfers, stored {n}, skipped 0 already stored, rejected 0" in out
    blocks = len({r["block_number"] for r in BTC})
    assert (
        f"new: {len(btc_addresses())} addresses, {btc_transactions()} transactions, {blocks} blocks"
        in out
    )


def test_ingest_skip_invalid_with_rejects_file(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = [json.dumps(r) for r in BTC]
    lines[2] = lines[2][:100]  # data row 3 cut short
    export = tmp_path / "in" / "transactions.json"
    export.parent.mkdir()
    export.write_text("\n".join(lines) + "\n", encoding="utf-8")
    rejects = tmp_path / "rejects.jsonl"
    base = ["--data-dir", str(data_dir), "ingest", "bitcoin", str(export)]
    code, out, err = run(capsys, *base, "--json")
    assert_error(code, out, err, str(export), "row 3")
    assert code == 3
    assert not (data_dir / "chains" / "bitcoin" / "manifest.json").exists()

    code, out, err = run(capsys, *base, "--skip-invalid", "--rejects", str(rejects))
    assert code == 0 and err == ""
    assert f"rejected rows written to {rejects}" in out
    rejected = [json.loads(line) for line in rejects.read_text(encoding="utf-8").splitlines()]
    assert [(r["file"], r["row"]) for r in rejected] == [(str(export), n) for n in (2, 3, 4)]
    assert "malformed JSON" in rejected[1]["reason"]
    # The rows beside the malformed one hold their block back, so a fix re-ingests it whole.
    held_block = BTC[2]["block_number"]
    assert all(r["reason"].startswith("held back") for r in (rejected[0], rejected[2]))
    good = [r for r in BTC if r["block_number"] != held_block]
    stats = run_json(capsys, "--data-dir", str(data_dir), "stats", "--json")
    assert stats["transfers"] == sum(btc_legs(r) for r in good)


def test_ingest_unknown_chain(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(
        capsys, "--data-dir", str(data_dir), "ingest", "notachain", str(DEMO / "bitcoin"), "--json"
    )
    assert_error(code, out, err, "unknown chain 'notachain'")
    assert code == 2
    assert not data_dir.exists()


def test_ingest_missing_path(data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    missing = tmp_path / "nope" / "transactions.json"
    code, out, err = run(capsys, "--data-dir", str(data_dir), "ingest", "bitcoin", str(missing))
    assert_error(code, out, err, str(missing))
    assert code == 3


def test_usage_error_returns_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "ingest")
    assert code == 2
    assert "Missing argument" in err


# -- stats ----------------------------------------------------------------------------------
def test_stats_json(demo_store: str, capsys: pytest.CaptureFixture[str]) -> None:
    doc = run_json(capsys, "--data-dir", demo_store, "stats", "--json")
    assert set(doc) == {"data_dir", "chains", "transfers", "store_bytes"}
    assert doc["data_dir"] == demo_store
    chains = {c["chain"]: c for c in doc["chains"]}
    assert list(chains) == ["bitcoin", "ethereum"]
    for c in chains.values():
        assert {"family", "transfers", "transfers_by_kind", "addresses", "transactions"} <= set(c)
        assert {"blocks", "first_block", "last_block", "first_time", "last_time"} <= set(c)
        assert sum(c["transfers_by_kind"].values()) == c["transfers"]
        assert c["commits"] == 1 and c["store_bytes"] > 0
    assert doc["transfers"] == sum(c["transfers"] for c in chains.values())
    assert doc["store_bytes"] == sum(c["store_bytes"] for c in chains.values())

    btc = chains["bitcoin"]
    assert btc["family"] == "utxo"
    assert btc["transfers_by_kind"] == {
        "input": sum(len(r["inputs"]) for r in BTC),
        "output": sum(len(r["outputs"]) for r in BTC),
        "coinbase": sum(1 for r in BTC if r["is_coinbase"]),
    }
    assert btc["addresses"] == len(btc_addresses())
    assert btc["transactions"] == btc_transactions()
    assert (btc["first_block"], btc["last_block"]) == (
        min(r["block_number"] for r in BTC),
        max(r["block_number"] for r in BTC),
    )
    assert btc["first_time"] == "2010-04-10T16:22:18Z"  # 1270916538, block 50000's timestamp
    assert min(r["block_timestamp"] for r in BTC) == 1270916538

    eth = chains["ethereum"]
    assert eth["family"] == "account"
    assert eth["transactions"] == len({t["hash"] for t in ETH_TXS})
    assert eth["blocks"] == len(ETH_BLOCKS)
    kinds = eth["transfers_by_kind"]
    assert kinds["token"] == len(ETH_TOKENS)
    assert kinds["fee"] == sum(1 for t in ETH_TXS if int(t["receipt_gas_used"] or 0) > 0)
    assert kinds["native"] == sum(
        1
        for t in ETH_TXS
        if int(t["value"]) > 0 and t["receipt_status"] == 1 and t["to_address"] is not None
    )
    assert kinds["withdrawal"] == sum(
        1 for b in ETH_BLOCKS for w in b["withdrawals"] if int(w["amount"]) > 0
    )


def test_stats_human(demo_store: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "--data-dir", demo_store, "stats")
    assert code == 0 and err == ""
    assert f"Counterflow store {demo_store}" in out
    assert "bitcoin" in out and "ethereum" in out
    blocks = len({r["block_number"] for r in BTC})
    counts = [sum(btc_legs(r) for r in BTC), len(btc_addresses()), btc_transactions(), blocks]
    row = r"│\s*bitcoin\s*" + "".join(rf"│\s*{n}\s*" for n in counts) + "│"
    assert re.search(row, out), out
    assert "store size:" in out


def test_stats_of_an_empty_store(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    doc = run_json(capsys, "--data-dir", str(data_dir), "stats", "--json")
    assert doc == {"data_dir": str(data_dir), "chains": [], "transfers": 0, "store_bytes": 0}


# -- address --------------------------------------------------------------------------------
def test_address_json(demo_store: str, capsys: pytest.CaptureFixture[str]) -> None:
    paid = [
        (r, o) for r in BTC for o in r["outputs"] if o["addresses"] == [ADDRESS]
    ]  # outputs paying the address, from the export itself
    spent = [i for r in BTC for i in r["inputs"] if i["addresses"] == [ADDRESS]]
    received = sum(o["value"] for _, o in paid)
    assert received == 15_000_000_000 and not spent

    doc = run_json(capsys, "--data-dir", demo_store, "address", ADDRESS, "--json")
    assert {"chain", "address", "first_seen", "last_seen", "flows", "history"} <= set(doc)
    assert (doc["chain"], doc["address"]) == ("bitcoin", ADDRESS)
    [flow] = doc["flows"]
    assert (flow["asset"], flow["decimals"]) == ("BTC", 8)
    assert flow["received"] == str(received)
    assert flow["sent"] == "0"
    assert flow["balance"] == str(received)
    assert (flow["transfers_in"], flow["transfers_out"]) == (len(paid), 0)
    blocks = {r["block_number"] for r, _ in paid}
    assert doc["first_seen"]["block"] == min(blocks)
    assert doc["last_seen"]["block"] == max(blocks)
    assert [h["balance"] for h in doc["history"]] == [str(received)]
    payers = {a for r, _ in paid for i in r["inputs"] for a in i["addresses"]}
    assert {(p["address"], p["direction"]) for p in doc["counterparties"]} == {
        (a, "from") for a in payers
    }

    top = run_json(capsys, "--data-dir", demo_store, "address", ADDRESS, "--top", "1", "--json")
    assert len(top["counterparties"]) == 1


def test_address_human(demo_store: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "--data-dir", demo_store, "address", ADDRESS)
    assert code == 0 and err == ""
    assert f"{ADDRESS} on bitcoin" in out
    assert "first seen block 50001" in out
    assert "│ 150 " in out  # 15,000,000,000 satoshi shown as 150 BTC
    assert "1DoQeKfU3dYhN9bxMpFFcVUnufCPDqSPae" in out


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        ([ADDRESS[:-1] + "R"], "fits no stored chain"),
        (["--chain", "bitcoin", ADDRESS[:-1] + "R"], "checksum"),
        ([ABSENT_ADDRESS], "is not in the store"),
        (["--chain", "notachain", ADDRESS], "unknown chain"),
    ],
)
def test_address_errors(
    demo_store: str, capsys: pytest.CaptureFixture[str], argv: list[str], fragment: str
) -> None:
    code, out, err = run(capsys, "--data-dir", demo_store, "address", *argv, "--json")
    assert_error(code, out, err, fragment)


# -- tx -------------------------------------------------------------------------------------
def test_tx_json_bitcoin(demo_store: str, capsys: pytest.CaptureFixture[str]) -> None:
    [source] = [r for r in BTC if r["hash"] == TXID]
    doc = run_json(capsys, "--data-dir", demo_store, "tx", TXID, "--json")
    assert {"chain", "txid", "block", "position", "time", "transfers", "fee"} <= set(doc)
    assert (doc["chain"], doc["txid"]) == ("bitcoin", TXID)
    assert (doc["block"], doc["position"]) == (source["block_number"], source["index"])
    inputs = [t for t in doc["transfers"] if t["kind"] == "input"]
    outputs = [t for t in doc["transfers"] if t["kind"] == "output"]
    assert len(inputs) + len(outputs) == len(doc["transfers"])
    assert [(t["from"], t["amount"]) for t in inputs] == [
        (i["addresses"][0], str(i["value"])) for i in source["inputs"]
    ]
    assert [(t["to"], t["amount"]) for t in outputs] == [
        (o["addresses"][0], str(o["value"])) for o in source["outputs"]
    ]
    # The brief's figures, checked against the export rather than taken on trust.
    assert [t["amount"] for t in inputs] == ["5000000000", "5000000000"]
    assert [(t["to"], t["amount"]) for t in outputs] == [(ADDRESS, "10000000000")]
    fee = sum(i["value"] for i in source["inputs"]) - sum(o["value"] for o in source["outputs"])
    assert doc["fee"] == str(fee) == "0"
    assert [t["spends"].split(":")[1] for t in inputs] == [
        str(i["spent_output_index"]) for i in source["inputs"]
    ]


def test_tx_accepts_0x_prefix_and_upper_case(
    demo_store: str, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = run_json(capsys, "--data-dir", demo_store, "tx", "0x" + TXID.upper(), "--json")
    assert doc["txid"] == TXID


def test_tx_json_ethereum(demo_store: str, capsys: pytest.CaptureFixture[str]) -> None:
    source = ETH_TXS[0]
    tokens = [t for t in ETH_TOKENS if t["transaction_hash"] == source["hash"]]
    doc = run_json(capsys, "--data-dir", demo_store, "tx", source["hash"], "--json")
    assert (doc["chain"], doc["block"]) == ("ethereum", source["block_number"])
    assert doc["position"] == source["transaction_index"]
    fee = source["receipt_gas_used"] * source["receipt_effective_gas_price"]
    assert doc["fee"] == str(fee)
    kinds = Counter(t["kind"] for t in doc["transfers"])
    assert kinds == Counter({"fee": 1, "native": 1, "token": len(tokens)})
    [native] = [t for t in doc["transfers"] if t["kind"] == "native"]
    assert (native["from"], native["to"], native["amount"]) == (
        source["from_address"],
        source["to_address"],
        str(source["value"]),
    )
    assert sorted((t["asset"], t["amount"]) for t in doc["transfers"] if t["kind"] == "token") == (
        sorted((t["token_address"], str(t["value"])) for t in tokens)
    )


def test_tx_human(demo_store: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "--data-dir", demo_store, "tx", TXID)
    assert code == 0 and err == ""
    assert f"{TXID} on bitcoin, block 50001 position 1" in out
    assert "fee 0" in out
    assert ADDRESS in out and "│ 100 " in out  # the 10,000,000,000 satoshi output, in BTC


@pytest.mark.parametrize(
    ("txid", "fragment"),
    [
        ("0" * 64, "is not in the store"),
        ("zz", "fits no stored chain"),
    ],
)
def test_tx_errors(
    demo_store: str, capsys: pytest.CaptureFixture[str], txid: str, fragment: str
) -> None:
    code, out, err = run(capsys, "--data-dir", demo_store, "tx", txid, "--json")
    assert_error(code, out, err, fragment)
    assert code == 3


# -- where the store is -----------------------------------------------------------------------
def test_environment_variable_names_the_data_dir(
    demo_store: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch
) -> None:
    monkeypatch.setenv("COUNTERFLOW_DATA_DIR", demo_store)
    doc = run_json(capsys, "stats", "--json")
    assert doc["data_dir"] == demo_store and doc["transfers"] > 0
    assert run_json(capsys, "tx", TXID, "--json")["txid"] == TXID

    other = tmp_path / "other"
    override = run_json(capsys, "--data-dir", str(other), "stats", "--json")
    assert override["data_dir"] == str(other) and override["chains"] == []


def test_ingest_writes_where_the_environment_says(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "from-env"
    monkeypatch.setenv("COUNTERFLOW_DATA_DIR", str(target))
    monkeypatch.chdir(tmp_path)
    run_json(capsys, "ingest", "bitcoin", str(DEMO / "bitcoin"), "--json")
    assert (target / "chains" / "bitcoin" / "manifest.json").is_file()
    assert not (tmp_path / "counterflow-data").exists()


def test_default_data_dir_is_in_the_working_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    doc = run_json(capsys, "stats", "--json")
    assert doc["data_dir"] == "counterflow-data"


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--version")
    assert code == 0 and out.startswith("counterflow, version ")


# -- the installed console script -----------------------------------------------------------
def test_console_script(tmp_path: Path) -> None:
    script = Path(sys.executable).parent / "counterflow"
    if not script.is_file():
        pytest.skip(f"console script not installed beside {sys.executable}")
    env = {k: v for k, v in os.environ.items() if k != "COUNTERFLOW_DATA_DIR"}
    shown = subprocess.run(
        [str(script), "--help"], capture_output=True, text=True, timeout=60, env=env
    )
    assert shown.returncode == 0
    for command in ("demo", "ingest", "stats", "address", "tx", "--data-dir"):
        assert command in shown.stdout

    store = tmp_path / "data"
    done = subprocess.run(
        [str(script), "--data-dir", str(store), "demo", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert [s["chain"] for s in doc["ingest"]] == ["bitcoin", "ethereum"]
    assert doc["ingest"][0]["stored"] == sum(btc_legs(r) for r in BTC)
    assert (store / "chains" / "ethereum" / "manifest.json").is_file()
