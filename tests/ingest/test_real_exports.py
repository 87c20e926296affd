"""Real blockchain-etl exports ingest exactly: totals checked against the source files."""

from __future__ import annotations

import json
from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest

from counterflow import ingest
from counterflow.store import DataDirectory
from counterflow.store.schema import TransferKind

REPO = Path(__file__).resolve().parents[2]
CHAIN_DATA = REPO / ".." / "shared" / "data" / "chain"
DEMO = REPO / "src" / "counterflow" / "demo_data"
BTC_SAMPLES = CHAIN_DATA / "bitcoin-etl-samples" / "test_export_blocks_job"
ETH_SAMPLES = CHAIN_DATA / "ethereum-etl-samples"
ETH_MAINNET = CHAIN_DATA / "ethereum-mainnet-17173049-17173050"


def needs(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"reference data not present: {path}")
    return path


def json_lines(path: Path) -> list[dict[str, Any]]:
    import gzip

    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def table(data_dir: Path, chain: str, name: str) -> duckdb.DuckDBPyRelation:
    files = [str(p) for p in DataDirectory(data_dir).table_files(chain, name)]
    return duckdb.sql(f"SELECT * FROM read_parquet({files!r})")


def sums_by_kind(data_dir: Path, chain: str, where: str = "true") -> dict[int, int]:
    rows = (
        table(data_dir, chain, "transfers")
        .filter(where)
        .aggregate("kind, sum(amount) AS total, count(*) AS n", "kind")
        .fetchall()
    )
    return {int(kind): int(total or 0) for kind, total, _n in rows}


# -- Bitcoin -------------------------------------------------------------------------------


def test_bitcoin_outputs_inputs_and_coinbase_match_the_export(tmp_path: Path) -> None:
    txs = json_lines(DEMO / "bitcoin" / "transactions.json")
    report = ingest("bitcoin", [DEMO / "bitcoin"], data_dir=tmp_path)
    assert report.rejected == 0
    assert report.pending_inputs == 0

    by_block: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for tx in txs:
        block = by_block[tx["block_number"]]
        block["outputs"] += sum(o["value"] for o in tx["outputs"])
        block["inputs"] += sum(i["value"] for i in tx["inputs"])
        if tx["is_coinbase"]:
            block["coinbase"] += sum(o["value"] for o in tx["outputs"])
    stored = (
        table(tmp_path, "bitcoin", "transfers")
        .aggregate("block_number, kind, sum(amount)", "block_number, kind")
        .fetchall()
    )
    got: dict[int, dict[int, int]] = defaultdict(dict)
    for block_number, kind, total in stored:
        got[int(block_number)][int(kind)] = int(total)
    for number, expected in by_block.items():
        assert got[number].get(TransferKind.OUTPUT, 0) == expected["outputs"]
        assert got[number].get(TransferKind.INPUT, 0) == expected["inputs"]
        assert got[number].get(TransferKind.COINBASE, 0) == expected["coinbase"]
    # one output row per output, one input row per input
    n_out = sum(len(tx["outputs"]) for tx in txs)
    n_in = sum(len(tx["inputs"]) for tx in txs)
    kinds = dict(
        table(tmp_path, "bitcoin", "transfers").aggregate("kind, count(*)", "kind").fetchall()
    )
    assert kinds[TransferKind.OUTPUT] == n_out
    assert kinds[TransferKind.INPUT] == n_in


def test_every_transaction_holder_conserves_value(tmp_path: Path) -> None:
    ingest("bitcoin", [DEMO / "bitcoin"], data_dir=tmp_path)
    rows = (
        table(tmp_path, "bitcoin", "transfers")
        .aggregate(
            "tx_id, sum(CASE WHEN kind IN (1, 3) THEN amount ELSE 0 END) AS entered, "
            "sum(CASE WHEN kind = 2 THEN amount ELSE 0 END) AS left_",
            "tx_id",
        )
        .fetchall()
    )
    assert rows
    for _tx, entered, left in rows:
        assert entered - left >= 0  # what stays behind is the fee


def test_unenriched_inputs_wait_for_their_funding_transaction(tmp_path: Path) -> None:
    unenriched = needs(BTC_SAMPLES / "bitcoin" / "block_with_transactions")
    report = ingest("bitcoin", [unenriched], data_dir=tmp_path)
    txs = json_lines(unenriched / "expected_transactions.json")
    spends = sum(len(tx["inputs"]) for tx in txs)
    assert report.pending_inputs == spends
    assert sums_by_kind(tmp_path, "bitcoin").get(TransferKind.INPUT) is None


def _tx(txid: str, block: int, index: int, inputs: list[Any], outputs: list[Any]) -> str:
    return json.dumps(
        {
            "hash": txid,
            "block_number": block,
            "block_hash": f"{block:064x}",
            "block_timestamp": 1_300_000_000 + block * 600,
            "is_coinbase": not inputs,
            "index": index,
            "inputs": inputs,
            "outputs": outputs,
        }
    )


def _out(index: int, address: str, value: int) -> dict[str, Any]:
    return {"index": index, "type": "pubkeyhash", "addresses": [address], "value": value}


def test_pending_input_is_resolved_when_the_funding_block_arrives(tmp_path: Path) -> None:
    a, b, c = (
        "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa",
        "12c6DSiU4Rq3P4ZxziKxzrL5LmMBrzjrJX",
        "1HaHTfmvoUW6i6nhJf8jJs6tU4cHNmBQHQ",
    )
    fund = "aa" * 32
    spend = "bb" * 32
    block1 = tmp_path / "b1" / "transactions.json"
    block2 = tmp_path / "b2" / "transactions.json"
    block1.parent.mkdir()
    block2.parent.mkdir()
    block1.write_text(_tx(fund, 1, 0, [], [_out(0, a, 5_000_000_000)]) + "\n")
    unenriched_input = {
        "index": 0,
        "spent_transaction_hash": fund,
        "spent_output_index": 0,
        "type": None,
        "addresses": [],
        "value": None,
    }
    block2.write_text(
        _tx(spend, 2, 1, [unenriched_input], [_out(0, b, 3_000_000_000), _out(1, c, 1_999_990_000)])
        + "\n"
    )
    late = tmp_path / "late"
    first = ingest("bitcoin", [block2], data_dir=late)
    assert first.pending_inputs == 1
    second = ingest("bitcoin", [block1], data_dir=late)
    assert second.pending_inputs == 0
    together = tmp_path / "together"
    ingest("bitcoin", [block1, block2], data_dir=together)

    def rows(d: Path) -> list[tuple[Any, ...]]:
        return (
            table(d, "bitcoin", "transfers")
            .join(
                table(d, "bitcoin", "addresses").set_alias("s"), "src_id = s.address_id", how="left"
            )
            .project("block_number, seq, kind, s.address, amount")
            .order("block_number, seq, kind")
            .fetchall()
        )

    assert rows(late) == rows(together)
    spent = [r for r in rows(together) if r[2] == TransferKind.INPUT]
    assert spent == [(2, 0, TransferKind.INPUT, a, Decimal(5_000_000_000))]


def test_bitcoin_cash_duplicate_txid_and_cashaddr(tmp_path: Path) -> None:
    sample = needs(BTC_SAMPLES / "bitcoin_cash" / "block_with_duplicate_txid")
    report = ingest("bitcoin-cash", [sample], data_dir=tmp_path)
    assert report.stored == 2  # coinbase mint + its output
    addresses = [
        r[0] for r in table(tmp_path, "bitcoin-cash", "addresses").project("address").fetchall()
    ]
    assert addresses == ["bitcoincash:qzkddwa6hgh03skr4qsrygk7e087zjydxgqkpjnsw7"]
    # The same coinbase txid again in a later block (as BIP30 allowed) is a new transfer.
    tx = json_lines(sample / "expected_transactions.json")[0]
    tx.update(
        block_number=91880, block_hash="11" * 32, block_timestamp=tx["block_timestamp"] + 60000
    )
    again = tmp_path / "again" / "transactions.json"
    again.parent.mkdir()
    again.write_text(json.dumps(tx) + "\n")
    second = ingest("bitcoin-cash", [again], data_dir=tmp_path)
    assert second.stored == 2
    assert second.new_transactions == 0  # one txid, one transaction holder
    blocks = (
        table(tmp_path, "bitcoin-cash", "transfers").project("block_number").distinct().fetchall()
    )
    assert sorted(b[0] for b in blocks) == [91722, 91880]


def test_dogecoin_large_values_are_exact(tmp_path: Path) -> None:
    sample = needs(BTC_SAMPLES / "dogecoin" / "block_with_float_precision_loss")
    txs = json_lines(sample / "expected_transactions.json")
    ingest("dogecoin", [sample], data_dir=tmp_path)
    expected = sorted(o["value"] for tx in txs for o in tx["outputs"])
    stored = sorted(
        int(r[0])
        for r in table(tmp_path, "dogecoin", "transfers")
        .filter("kind = 2")
        .project("amount")
        .fetchall()
    )
    assert stored == expected


def test_zcash_shielded_value_goes_through_the_pool_holder(tmp_path: Path) -> None:
    sample = needs(BTC_SAMPLES / "zcash" / "block_with_shielded_addresses")
    ingest("zcash", [sample], data_dir=tmp_path)
    pool = table(tmp_path, "zcash", "addresses").filter("address = 'x-shielded-pool'").fetchall()
    assert len(pool) == 1


# -- Ethereum ------------------------------------------------------------------------------


def test_ethereum_native_fee_and_token_totals_match_the_export(tmp_path: Path) -> None:
    txs = json_lines(DEMO / "ethereum" / "transactions.json.gz")
    tokens = json_lines(DEMO / "ethereum" / "token_transfers.json.gz")
    report = ingest("ethereum", [DEMO / "ethereum"], data_dir=tmp_path)
    assert report.rejected == 0

    native = sum(t["value"] for t in txs if t["receipt_status"] == 1)
    fees = sum(t["receipt_gas_used"] * t["receipt_effective_gas_price"] for t in txs)
    totals = sums_by_kind(tmp_path, "ethereum")
    assert totals[TransferKind.NATIVE] == native
    assert totals[TransferKind.FEE] == fees
    assert native > 2**64  # the sample really exercises 128-bit amounts

    failed = [t for t in txs if t["receipt_status"] == 0]
    n_native = sum(1 for t in txs if t["receipt_status"] == 1 and t["value"] > 0)
    counts = dict(
        table(tmp_path, "ethereum", "transfers").aggregate("kind, count(*)", "kind").fetchall()
    )
    assert counts[TransferKind.NATIVE] == n_native
    assert counts[TransferKind.FEE] == len(txs)  # failed transactions pay fees too
    assert counts[TransferKind.TOKEN] == len(tokens)
    if failed:  # a failed transaction moves no value but pays its fee
        assert counts[TransferKind.NATIVE] < len(txs)

    by_token: dict[str, int] = defaultdict(int)
    for t in tokens:
        by_token[t["token_address"]] += t["value"]
    stored = (
        table(tmp_path, "ethereum", "transfers")
        .set_alias("f")
        .join(table(tmp_path, "ethereum", "assets").set_alias("a"), "f.asset_id = a.asset_id")
        .filter("kind = 6")
        .aggregate("a.contract, sum(amount)", "a.contract")
        .fetchall()
    )
    assert {c: int(v) for c, v in stored} == dict(by_token)


def test_largest_ethereum_value_is_stored_exactly(tmp_path: Path) -> None:
    txs = json_lines(DEMO / "ethereum" / "transactions.json.gz")
    ingest("ethereum", [DEMO / "ethereum"], data_dir=tmp_path)
    biggest = max(t["value"] for t in txs)
    stored = (
        table(tmp_path, "ethereum", "transfers")
        .filter("kind = 4")
        .aggregate("max(amount)")
        .fetchall()
    )
    assert int(stored[0][0]) == biggest


def test_traces_error_suicide_callcode_and_rewards(tmp_path: Path) -> None:
    traces = needs(ETH_SAMPLES / "test_export_traces_job")
    report = ingest("ethereum", [traces], data_dir=tmp_path)
    assert report.rejected == 0
    rows = table(tmp_path, "ethereum", "transfers").project("block_number, kind, amount").fetchall()
    by_block: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for block, kind, amount in rows:
        by_block[int(block)].append((int(kind), int(amount)))
    # block 1011973: a self-destruct sends 0.05 ETH back; plus the block reward
    assert (TransferKind.INTERNAL, 50_000_000_000_000_000) in by_block[1011973]
    # block 1000895: the failing top-level call moves nothing (top-level traces are never
    # counted: the transactions export carries them)
    assert all(kind == TransferKind.REWARD for kind, _ in by_block[1000895])
    # block 1000000: a callcode subtrace moves no value
    assert all(kind == TransferKind.REWARD for kind, _ in by_block[1000000])
    import csv

    rewards = 0
    for path in traces.rglob("expected_traces.csv"):
        with open(path, newline="") as fh:
            rewards += sum(
                int(r["value"]) for r in csv.DictReader(fh) if r["trace_type"] == "reward"
            )
    assert sums_by_kind(tmp_path, "ethereum")[TransferKind.REWARD] == rewards


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_withdrawals_are_credited_in_wei(tmp_path: Path, fmt: str) -> None:
    sample = needs(
        ETH_SAMPLES / "test_export_blocks_job" / "blocks_with_transactions_and_withdrawals"
    )
    blocks = json_lines(sample / "expected_blocks.json")
    expected = sum(w["amount"] for b in blocks for w in b["withdrawals"]) * 10**9
    report = ingest("ethereum", [sample / f"expected_blocks.{fmt}"], data_dir=tmp_path)
    assert report.stored == sum(len(b["withdrawals"]) for b in blocks)
    assert sums_by_kind(tmp_path, "ethereum")[TransferKind.WITHDRAWAL] == expected


def test_csv_and_json_exports_of_the_same_blocks_agree(tmp_path: Path) -> None:
    sample = needs(
        ETH_SAMPLES / "test_export_blocks_job" / "blocks_with_transactions_and_withdrawals"
    )
    ingest(
        "ethereum",
        [sample / "expected_transactions.json", sample / "expected_blocks.json"],
        data_dir=tmp_path / "j",
    )
    ingest(
        "ethereum",
        [sample / "expected_transactions.csv", sample / "expected_blocks.csv"],
        data_dir=tmp_path / "c",
    )
    cols = "block_number, tx_index, seq, kind, tx_id, src_id, dst_id, asset_id, amount, block_time"
    assert (
        table(tmp_path / "j", "ethereum", "transfers").project(cols).order(cols).fetchall()
        == table(tmp_path / "c", "ethereum", "transfers").project(cols).order(cols).fetchall()
    )


def test_mainnet_folder_with_logs_reads_token_transfers_once(tmp_path: Path) -> None:
    folder = needs(ETH_MAINNET)
    report = ingest("ethereum", [folder], data_dir=tmp_path)
    assert any(p.endswith("logs.json") for p in report.ignored_files)
    tokens = json_lines(folder / "token_transfers.json")
    counts = dict(
        table(tmp_path, "ethereum", "transfers").aggregate("kind, count(*)", "kind").fetchall()
    )
    assert counts[TransferKind.TOKEN] == len(tokens)


def test_withdrawal_amount_must_be_whole_gwei(tmp_path: Path) -> None:
    from counterflow.errors import ExportFormatError

    blocks = tmp_path / "blocks.json"
    block = {
        "number": 17000000,
        "hash": "0x" + "ab" * 32,
        "timestamp": 1681338455,
        "withdrawals": [
            {"index": 1, "validator_index": 2, "address": "0x" + "cd" * 20, "amount": "1.5"}
        ],
    }
    blocks.write_text(json.dumps(block) + "\n")
    with pytest.raises(ExportFormatError) as err:
        ingest("ethereum", [blocks], data_dir=tmp_path / "d")
    assert err.value.field == "withdrawals.amount"
    assert err.value.row == 1


@pytest.mark.parametrize("number", ["1e2", "0x3", "1_600", "+5", " 7"])
def test_block_numbers_are_digits_only(tmp_path: Path, number: str) -> None:
    from counterflow.errors import ExportFormatError

    export = tmp_path / "token_transfers.csv"
    export.write_text(
        "token_address,from_address,to_address,value,transaction_hash,log_index,block_number\n"
        f'0x{"a" * 40},0x{"b" * 40},0x{"c" * 40},10,0x{"d" * 64},0,"{number}"\n'
    )
    with pytest.raises(ExportFormatError) as err:
        ingest("ethereum", [export], data_dir=tmp_path / "d")
    assert err.value.field == "block_number"


def test_value_of_a_creation_without_receipt_is_reported(tmp_path: Path) -> None:
    export = tmp_path / "transactions.csv"
    export.write_text(
        "hash,block_number,transaction_index,from_address,to_address,value\n"
        f"0x{'1' * 64},5,0,0x{'a' * 40},,1000\n"
        f"0x{'2' * 64},5,1,0x{'a' * 40},0x{'b' * 40},0\n"
    )
    report = ingest("ethereum", [export], data_dir=tmp_path / "d")
    assert report.stored == 0
    assert report.new_transactions == 2  # value-less transactions are still known
    assert any("contract creation" in w for w in report.warnings)


def test_rows_are_records_not_physical_lines(tmp_path: Path) -> None:
    """Blank lines are not rows, in the engine's numbering and in the quarantine alike."""
    from counterflow.errors import ExportFormatError

    def row(i: int, value: str) -> str:
        return json.dumps(
            {
                "token_address": "0x" + "a" * 40,
                "from_address": "0x" + "b" * 40,
                "to_address": "0x" + "c" * 40,
                "value": value,
                "transaction_hash": f"0x{i:064x}",
                "log_index": i,
                "block_number": 10 + i,
            }
        )

    export = tmp_path / "token_transfers.json"
    export.write_text(
        row(0, "1") + "\n\n" + "{broken\n" + row(2, "1.5") + "\n" + row(3, "4") + "\n"
    )
    with pytest.raises(ExportFormatError) as err:
        ingest("ethereum", [export], data_dir=tmp_path / "strict")
    assert err.value.row == 2  # the malformed record, the blank line not counted
    rejects = tmp_path / "rejects.jsonl"
    report = ingest(
        "ethereum",
        [export],
        data_dir=tmp_path / "lenient",
        skip_invalid=True,
        rejects_path=rejects,
    )
    found = {
        (r["row"], r["reason"].split(":")[0])
        for r in map(json.loads, rejects.read_text().splitlines())
    }
    assert (2, "malformed JSON") in found
    assert (3, "amount is not an integer (amounts are integers in base units)") in found
    assert (1, "held back") in found  # beside the malformed record: its block waits
    assert report.stored == 1  # only block 13, untouched by either problem


def test_a_repeated_receipt_does_not_repeat_the_fee(tmp_path: Path) -> None:
    txs = tmp_path / "transactions.csv"
    txs.write_text(
        "hash,block_number,transaction_index,from_address,to_address,value,gas_price\n"
        f"0x{'1' * 64},5,0,0x{'a' * 40},0x{'b' * 40},5,2\n"
    )
    receipt = f"0x{'1' * 64},5,21000,1,2\n"
    receipts = tmp_path / "receipts.csv"
    receipts.write_text(
        "transaction_hash,block_number,gas_used,status,effective_gas_price\n" + receipt * 2
    )
    report = ingest("ethereum", [txs, receipts], data_dir=tmp_path / "d")
    assert report.stored == 2  # one fee, one value transfer
    assert sums_by_kind(tmp_path / "d", "ethereum") == {
        TransferKind.FEE: 21000 * 2,
        TransferKind.NATIVE: 5,
    }
