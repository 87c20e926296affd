"""Ethereum JSON-RPC ingest: real recorded node answers, and a real node (ganache).

The recorded answers are ethereum-etl's test resources, served by a loopback JSON-RPC server
under the names ethereum-etl gives them (method and parameters); what the node source makes of
them is compared with the export files ethereum-etl made of the same answers, row by row and,
through the pipeline, store table by store table.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ganache import Ganache, Token

from counterflow import ingest
from counterflow.chains.registry import get_chain
from counterflow.errors import ConfigError, NodeError
from counterflow.ingest.ethereum_rpc import (
    TRANSFER_TOPIC,
    EthereumNode,
    block_row,
    geth_trace_rows,
    parity_trace_rows,
    token_transfer_rows,
    transaction_rows,
)
from counterflow.ingest.jsonrpc import JsonRpcClient
from counterflow.ingest.pipeline import ingest_source
from counterflow.store import DataDirectory
from counterflow.store.reader import StoreReader
from counterflow.store.schema import ALL_TABLES, TransferKind
from rpc_server import RpcReplyError, rpc_server

ETH = get_chain("ethereum")


def samples(shared_data: Path) -> Path:
    path = shared_data / "chain" / "ethereum-etl-samples"
    if not path.is_dir():
        pytest.skip(f"reference data not present: {path}")
    return path


# -- replaying recorded answers -------------------------------------------------------------


def param_text(param: Any) -> str:
    """ethereum-etl's spelling of one parameter in a recorded answer's file name."""
    if isinstance(param, dict):
        return "_".join(f"{key}_{param_text(param[key])}" for key in sorted(param))
    if isinstance(param, list):
        return "_".join(param_text(p) for p in param)
    return str(param).lower()


def recorded_name(method: str, params: list[Any]) -> str:
    return f"web3_response.{method}_{'_'.join(param_text(p) for p in params)}.json"


class Recording:
    """Answers from the recorded files of some folders, as a node would give them.

    ethereum-etl recorded ``eth_newFilter``/``eth_getFilterLogs`` and receipts rather than
    ``eth_getLogs``, and full blocks rather than hash-only ones; those answers are derived
    from the recorded ones (the logs a filter matches, the block with its hashes only). A
    method with no recording is answered as a node without it answers.
    """

    def __init__(self, *folders: Path) -> None:
        self.files: dict[str, Path] = {}
        for folder in folders:
            for path in folder.glob("web3_response.*.json"):
                self.files[path.name.lower()] = path
        self.calls: list[str] = []

    def load(self, name: str) -> Any:
        path = self.files.get(name.lower())
        if path is None:
            raise KeyError(name)
        return json.loads(path.read_text(encoding="utf-8"))["result"]

    def __call__(self, method: str, params: list[Any]) -> Any:
        self.calls.append(method)
        try:
            return self.load(recorded_name(method, params))
        except KeyError:
            pass
        if method == "eth_getBlockByNumber" and params[1] is False:
            block = self.load(recorded_name(method, [params[0], True]))
            return {**block, "transactions": [tx["hash"] for tx in block["transactions"]]}
        if method == "eth_getLogs":
            return self.logs(params[0])
        raise RpcReplyError(-32601, f"the method {method} does not exist/is not available")

    def logs(self, query: dict[str, Any]) -> list[dict[str, Any]]:
        first, last = int(query["fromBlock"], 16), int(query["toBlock"], 16)
        filtered = f"eth_newFilter_fromBlock_{query['fromBlock']}_toBlock_{query['toBlock']}"
        if any(name.startswith(f"web3_response.{filtered.lower()}") for name in self.files):
            found: list[dict[str, Any]] = self.load("web3_response.eth_getFilterLogs_0x0.json")
        else:
            found = [
                log
                for name in sorted(self.files)
                if name.startswith("web3_response.eth_gettransactionreceipt_")
                for log in self.load(name)["logs"]
            ]
        topics = query.get("topics") or []
        return [
            log
            for log in found
            if first <= int(log["blockNumber"], 16) <= last
            and (not topics or (log["topics"] and log["topics"][0] == topics[0]))
        ]


def store_tables(data_dir: Path, chain: str = "ethereum") -> dict[str, list[tuple[Any, ...]]]:
    with StoreReader(DataDirectory(data_dir)) as reader:
        return {
            name: reader.rows(f"SELECT * FROM {reader.table(chain, name)} ORDER BY ALL")
            for name in ALL_TABLES
        }


@pytest.fixture
def stream_1755634(shared_data: Path) -> Path:
    return samples(shared_data) / "test_stream" / "blocks_1755634_1755635"


def test_recorded_blocks_store_exactly_what_the_export_stores(
    stream_1755634: Path, tmp_path: Path
) -> None:
    folder = stream_1755634
    recording = Recording(folder)
    with rpc_server(recording) as url, JsonRpcClient(url) as client:
        node = EthereumNode(client, ETH)
        assert node.block_hashes([1755634, 1755635]) == [
            "0xa06fc36a7144c4bbb1f7ab13b541144414fa7808c119e8a4635e392ea544c178",
            "0x1dec87ec1ba8e65b7773bb6f62249468948a28a427efd3d896a2ff7d7c591a67",
        ]
        report = ingest_source("ethereum", node.source(1755634, 1755635), data_dir=tmp_path / "rpc")
    exported = ingest(
        "ethereum",
        [
            folder / f"expected_{kind}.json"
            for kind in ("blocks", "transactions", "token_transfers")
        ],
        data_dir=tmp_path / "export",
    )
    assert report.rejected == exported.rejected == 0
    assert report.stored == exported.stored > 0
    rpc, export = store_tables(tmp_path / "rpc"), store_tables(tmp_path / "export")
    for name in ALL_TABLES:
        assert rpc[name] == export[name], name
    assert len(rpc["transfers"]) == exported.stored
    # No receipts method per block here, so receipts were asked one by one; no trace method.
    assert "eth_getTransactionReceipt" in recording.calls
    (note,) = [w for w in report.warnings if "trace" in w]
    assert "neither trace_block nor debug_traceBlockByNumber" in note
    assert "internal" in note and "1755634..1755635" in note


def test_a_second_run_over_the_node_stores_nothing_new(
    stream_1755634: Path, tmp_path: Path
) -> None:
    with rpc_server(Recording(stream_1755634)) as url, JsonRpcClient(url) as client:
        node = EthereumNode(client, ETH, traces="none")
        first = ingest_source("ethereum", node.source(1755634, 1755635), data_dir=tmp_path)
        again = ingest_source("ethereum", node.source(1755634, 1755635), data_dir=tmp_path)
    assert first.stored > 0
    assert again.stored == 0
    assert any("--traces none" in w for w in first.warnings)


def test_explicit_trace_method_the_node_lacks_is_an_error(
    stream_1755634: Path, tmp_path: Path
) -> None:
    with rpc_server(Recording(stream_1755634)) as url, JsonRpcClient(url) as client:
        node = EthereumNode(client, ETH, traces="trace_block")
        with pytest.raises(NodeError, match="trace_block"):
            ingest_source("ethereum", node.source(1755634, 1755635), data_dir=tmp_path)
    assert not DataDirectory(tmp_path).table_files("ethereum", "transfers")


def test_a_node_of_another_chain_is_refused(stream_1755634: Path, tmp_path: Path) -> None:
    recording = Recording(stream_1755634)

    def answer(method: str, params: list[Any]) -> Any:
        return "0x89" if method == "eth_chainId" else recording(method, params)

    with rpc_server(answer) as url, JsonRpcClient(url) as client:
        node = EthereumNode(client, ETH)
        with pytest.raises(ConfigError, match="chain id 137"):
            ingest_source("ethereum", node.source(1755634, 1755635), data_dir=tmp_path)
    with pytest.raises(ConfigError, match="trace source"):
        EthereumNode(JsonRpcClient("http://127.0.0.1:1/"), ETH, traces="parity")


# -- row by row against ethereum-etl's outputs ----------------------------------------------


def csv_rows(path: Path) -> list[dict[str, str | None]]:
    with open(path, encoding="utf-8", newline="") as fh:
        return [{k: (v if v != "" else None) for k, v in row.items()} for row in csv.DictReader(fh)]


def json_rows(path: Path) -> list[dict[str, str | None]]:
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            record = json.loads(line)
            rows.append(
                {
                    k: (
                        None
                        if v is None or v == []
                        else ",".join(map(str, v))
                        if isinstance(v, list)
                        else str(v)
                    )
                    for k, v in record.items()
                }
            )
    return rows


TRACE_COLUMNS = (
    "block_number",
    "transaction_hash",
    "transaction_index",
    "from_address",
    "to_address",
    "value",
    "trace_type",
    "call_type",
    "reward_type",
    "trace_address",
    "error",
    "status",
    "trace_id",
)


def pick(rows: list[dict[str, str | None]], columns: tuple[str, ...]) -> list[tuple[Any, ...]]:
    return [tuple(row.get(c) for c in columns) for row in rows]


def trace_cases(root: Path) -> Iterator[tuple[Path, list[dict[str, Any]], list[dict[str, Any]]]]:
    for folder in sorted((root / "test_export_traces_job").iterdir()):
        (recorded,) = folder.glob("web3_response.trace_block_*.json")
        answer = json.loads(recorded.read_text())["result"]
        yield folder, answer, csv_rows(folder / "expected_traces.csv")
    for folder in sorted((root / "test_stream").iterdir()):
        for recorded in folder.glob("web3_response.trace_block_*.json"):
            answer = json.loads(recorded.read_text())["result"]
            yield folder, answer, json_rows(folder / "expected_traces.json")


def test_trace_block_rows_are_ethereum_etl_traces(shared_data: Path) -> None:
    cases = list(trace_cases(samples(shared_data)))
    assert len(cases) == 7
    for folder, answer, expected in cases:
        got = parity_trace_rows(answer)
        assert pick(got, TRACE_COLUMNS) == pick(expected, TRACE_COLUMNS), folder.name


def test_geth_call_tracer_rows_equal_trace_block_rows_but_rewards(shared_data: Path) -> None:
    root = samples(shared_data)
    compared = blinded = 0
    for folder in sorted((root / "test_extract_geth_traces_job").iterdir()):
        (recorded,) = folder.glob("web3_response.debug_traceBlockByNumber_*.json")
        frames = [item["result"] for item in json.loads(recorded.read_text())["result"]]
        parity = root / "test_export_traces_job" / folder.name
        if folder.name == "block_without_transactions":
            assert frames == []
            assert geth_trace_rows(1, [], frames) == []
            continue
        expected = [
            r for r in csv_rows(parity / "expected_traces.csv") if r["trace_type"] != "reward"
        ]
        hashes: dict[int, str] = {}
        for row in expected:
            assert row["transaction_index"] is not None and row["transaction_hash"] is not None
            hashes[int(row["transaction_index"])] = row["transaction_hash"]
        block = int(expected[0]["block_number"] or 0)
        got = geth_trace_rows(block, [hashes[i] for i in range(len(hashes))], frames)
        # geth spells errors its own way ("out of gas" for "Out of gas"); whether there is one
        # is what counts. For a callcode (which moves nothing) geth names the code's address
        # where trace_block names the caller's.
        columns = tuple(c for c in TRACE_COLUMNS if c not in ("error", "to_address", "value"))
        assert pick(got, columns) == pick(expected, columns), folder.name
        # An old geth reports a self-destruct without beneficiary or value: none is stored.
        blind = [r["to_address"] is None and r["trace_type"] == "suicide" for r in got]
        assert [
            (r["to_address"], r["value"])
            for r, b in zip(got, blind, strict=True)
            if r["call_type"] != "callcode" and not b
        ] == [
            (r["to_address"], r["value"])
            for r, b in zip(expected, blind, strict=True)
            if r["call_type"] != "callcode" and not b
        ]
        assert all(r["value"] == "0" for r, b in zip(got, blind, strict=True) if b)
        blinded += sum(blind)
        assert [r["error"] is None for r in got] == [r["error"] is None for r in expected]
        compared += len(got)
    assert compared >= 9
    assert blinded == 1


def test_token_transfers_follow_ethereum_etl_rules(shared_data: Path) -> None:
    root = samples(shared_data)
    columns = (
        "token_address",
        "from_address",
        "to_address",
        "value",
        "transaction_hash",
        "log_index",
        "block_number",
    )
    logs = [
        {
            "address": row["address"],
            "data": row["data"],
            "topics": (row["topics"] or "").split(",") if row["topics"] else [],
            "transactionHash": row["transaction_hash"],
            "logIndex": hex(int(row["log_index"] or 0)),
            "blockNumber": hex(int(row["block_number"] or 0)),
        }
        for row in csv_rows(root / "test_extract_token_transfers_job" / "logs" / "logs.csv")
    ]
    expected = csv_rows(
        root / "test_extract_token_transfers_job" / "logs" / "expected_token_transfers.csv"
    )
    assert pick(token_transfer_rows(logs), columns) == pick(expected, columns)

    folder = root / "test_export_token_transfers_job" / "block_with_transfers"
    recorded = json.loads((folder / "web3_response.eth_getFilterLogs_0x0.json").read_text())
    expected = csv_rows(folder / "expected_token_transfers.csv")
    assert len(expected) > 0
    assert pick(token_transfer_rows(recorded["result"]), columns) == pick(expected, columns)


def test_transfer_events_that_are_not_four_fields_are_not_transfers() -> None:
    word = "0x" + "00" * 12 + "11" * 20
    base = {"address": "0x" + "AB" * 20, "transactionHash": "0x" + "cd" * 32, "blockNumber": "0x1"}
    logs = [
        {
            **base,
            "logIndex": "0x0",
            "topics": [TRANSFER_TOPIC, word, word],
            "data": "0x" + "f" * 64,
        },
        {**base, "logIndex": "0x1", "topics": [TRANSFER_TOPIC, word], "data": "0x" + "0" * 64},
        {**base, "logIndex": "0x2", "topics": [TRANSFER_TOPIC, word, word, "0x05"], "data": "0x"},
        {**base, "logIndex": "0x3", "topics": [], "data": "0x"},
        {
            **base,
            "logIndex": "0x4",
            "topics": [TRANSFER_TOPIC.upper()[:2] + TRANSFER_TOPIC[2:].upper(), word, word],
            "data": "0x01",
        },
    ]
    rows = token_transfer_rows(logs)
    assert [(r["log_index"], r["value"]) for r in rows] == [
        ("0", str(2**256 - 1)),
        ("2", "5"),
        ("4", "1"),
    ]
    assert rows[0]["token_address"] == "0x" + "ab" * 20
    assert rows[0]["from_address"] == "0x" + "11" * 20


def test_block_and_transaction_rows_are_ethereum_etl_rows(shared_data: Path) -> None:
    root = samples(shared_data) / "test_export_blocks_job"
    block_columns = ("number", "hash", "parent_hash", "timestamp", "transaction_count", "miner")
    tx_columns = (
        "hash",
        "block_number",
        "block_hash",
        "transaction_index",
        "from_address",
        "to_address",
        "value",
        "gas_price",
        "block_timestamp",
    )
    checked = 0
    for folder in sorted(root.iterdir()):
        recorded = sorted(folder.glob("web3_response.eth_getBlockByNumber_*.json"))
        if not recorded:
            continue
        blocks = [json.loads(p.read_text())["result"] for p in recorded]
        got_blocks = [block_row(b) for b in blocks]
        got_txs = [row for b in blocks for row in transaction_rows(b, None)]
        assert pick(got_blocks, block_columns) == pick(
            csv_rows(folder / "expected_blocks.csv"), block_columns
        )
        assert pick(got_txs, tx_columns) == pick(
            csv_rows(folder / "expected_transactions.csv"), tx_columns
        )
        checked += len(got_txs)
    assert checked > 0


# -- a real node ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ganache_node() -> Iterator[Ganache]:
    with Ganache.start() as node:
        yield node


def transfers(data_dir: Path) -> list[dict[str, Any]]:
    with StoreReader(DataDirectory(data_dir)) as r:
        return r.records(
            f"""
            SELECT t.kind, s.address AS src, d.address AS dst,
                   coalesce(CAST(t.amount AS VARCHAR), t.amount_raw) AS amount,
                   x.tx_hash, a.contract, t.block_number
            FROM {r.table("ethereum", "transfers")} AS t
            LEFT JOIN {r.table("ethereum", "addresses")} AS s ON s.address_id = t.src_id
            LEFT JOIN {r.table("ethereum", "addresses")} AS d ON d.address_id = t.dst_id
            LEFT JOIN {r.table("ethereum", "transactions")} AS x ON x.tx_id = t.tx_id
            LEFT JOIN {r.table("ethereum", "assets")} AS a ON a.asset_id = t.asset_id
            ORDER BY t.block_number, t.tx_index, t.seq
            """
        )


@pytest.mark.slow
def test_ganache_transfers_statuses_and_amounts_are_stored_exactly(
    ganache_node: Ganache, tmp_path: Path
) -> None:
    node = ganache_node
    a, b, c, d, e = (x.lower() for x in node.accounts[:5])
    start = node.tip() + 1
    native = node.send(a, b, value=10**18 + 12345)
    contract = Token.deploy(node, a)
    deploy, token = contract.deploy_tx, contract.address
    amount = 10**30 + 7
    token_tx = contract.transfer(a, c, amount)
    # Reverts: d holds no tokens, and transfer is not payable either; value must not move.
    failed = contract.transfer(d, b, 1, value=5, gas=100_000)
    forward = node.send(a, token, value=3 * 10**18, data=contract.calldata("forward(address)", e))
    last = node.tip()
    receipts = {h: node.receipt(h) for h in (native, deploy, token_tx, failed, forward)}
    assert [
        int(receipts[h]["status"], 16) for h in (native, deploy, token_tx, failed, forward)
    ] == [1, 1, 1, 0, 1]

    with JsonRpcClient(node.url) as client:
        eth = EthereumNode(client, ETH)
        assert eth.tip() == last
        report = ingest_source("ethereum", eth.source(start, last), data_dir=tmp_path)
        assert eth.trace_method == "none"
    assert report.rejected == 0
    (note,) = [w for w in report.warnings if "trace" in w]
    assert "neither trace_block nor debug_traceBlockByNumber" in note
    assert "does not exist/is not available" in note  # the node's own words

    rows = transfers(tmp_path)
    fees = {r["tx_hash"]: int(r["amount"]) for r in rows if r["kind"] == TransferKind.FEE}
    for tx_hash, receipt in receipts.items():
        expected = int(receipt["gasUsed"], 16) * int(receipt["effectiveGasPrice"], 16)
        assert fees[tx_hash] == expected, tx_hash
    moved = [
        (r["kind"], r["src"], r["dst"], int(r["amount"]), r["tx_hash"], r["contract"])
        for r in rows
        if r["kind"] != TransferKind.FEE
    ]
    assert moved == [
        (TransferKind.NATIVE, a, b, 10**18 + 12345, native, None),
        (TransferKind.TOKEN, "0x" + "0" * 40, a, 2**200, deploy, token),
        (TransferKind.TOKEN, a, c, amount, token_tx, token),
        # The failed transaction paid its fee only; the forwarded ether reached the contract,
        # and its way on to e is not stored: ganache traces neither way.
        (TransferKind.NATIVE, a, token, 3 * 10**18, forward, None),
    ]
    assert node.balance(e) == 1000 * 10**18 + 3 * 10**18
    with StoreReader(DataDirectory(tmp_path)) as r:
        stored = r.rows(f"SELECT tx_hash FROM {r.table('ethereum', 'transactions')} ORDER BY 1")
        blocks = r.rows(
            f"SELECT block_number, block_hash FROM {r.table('ethereum', 'blocks')} ORDER BY 1"
        )
    assert sorted(h for (h,) in stored) == sorted(receipts)
    assert [n for n, _ in blocks] == list(range(start, last + 1))
    with JsonRpcClient(node.url) as client:
        assert EthereumNode(client, ETH).block_hashes([n for n, _ in blocks]) == [
            h for _, h in blocks
        ]


@pytest.mark.slow
def test_ganache_snapshot_and_revert_replace_blocks(ganache_node: Ganache) -> None:
    node = ganache_node
    a, b = node.accounts[:2]
    snap = node.snapshot()
    height = node.tip()
    node.send(a, b, value=1)
    first = node.call("eth_getBlockByNumber", hex(height + 1), False)["hash"]
    node.revert(snap)
    assert node.tip() == height
    node.mine(2)
    assert node.tip() == height + 2
    assert node.call("eth_getBlockByNumber", hex(height + 1), False)["hash"] != first
