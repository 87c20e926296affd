"""Bitcoin Core JSON-RPC as an ingest source, replaying real recorded node responses.

The recordings are bitcoind's answers (``getblockhash``, ``getblock``, ``getrawtransaction``)
kept with bitcoin-etl's tests, served over HTTP by a loopback server. What the ingest stores
from them is compared with what the export path stores from bitcoin-etl's export of the same
blocks, so the expected side is never computed by the code under test.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest

from counterflow import ingest
from counterflow.chains.registry import get_chain
from counterflow.errors import ConfigError, InputError, NodeError
from counterflow.ingest.bitcoin_rpc import BitcoinNode
from counterflow.ingest.jsonrpc import JsonRpcClient
from counterflow.ingest.node import NodeChain
from counterflow.ingest.pipeline import IngestReport, ingest_source
from counterflow.store import DataDirectory
from counterflow.store.schema import ALL_TABLES, UTXO_OUTPUT_SEQ_BASE
from rpc_server import RpcReplyError, rpc_server


@pytest.fixture(scope="module")
def samples(shared_data: Path) -> Path:
    path = shared_data / "chain" / "bitcoin-etl-samples" / "test_export_blocks_job"
    if not path.is_dir():
        pytest.skip(f"reference data not present: {path}")
    return path


class Recordings:
    """A node made of recorded answers: block hashes by height, blocks and transactions."""

    def __init__(self, folders: Sequence[Path]) -> None:
        self.hashes: dict[int, str] = {}
        self.blocks: dict[str, dict[str, Any]] = {}
        self.txs: dict[str, dict[str, Any]] = {}
        self.calls: list[tuple[str, list[Any]]] = []
        for folder in folders:
            for path in sorted(folder.glob("rpc_response_*.json")):
                answer = json.loads(path.read_text())
                if isinstance(answer, dict) and "result" in answer:
                    answer = answer["result"]
                name = path.stem.removeprefix("rpc_response_")
                if name.startswith("getblockhash_"):
                    self.hashes[int(name.split("_")[1])] = answer
                elif name.startswith("getblock_"):
                    self.blocks.setdefault(answer["hash"], answer)
                elif name.startswith("getrawtransaction_"):
                    self.txs[answer["txid"]] = answer

    def answer(self, method: str, params: list[Any]) -> Any:
        self.calls.append((method, params))
        if method == "getblockcount":
            return max(self.hashes)
        if method == "getblockhash":
            if params[0] not in self.hashes:
                raise RpcReplyError(-8, "Block height out of range")
            return self.hashes[params[0]]
        if method == "getrawtransaction":
            if params[0] not in self.txs:
                raise RpcReplyError(-5, "No such mempool or blockchain transaction")
            return self.txs[params[0]]
        if method == "getblock":
            block = self.blocks.get(params[0])
            if block is None:
                raise RpcReplyError(-5, "Block not found")
            return self.block(block, params[1])
        raise RpcReplyError(-32601, "Method not found")

    def block(self, block: dict[str, Any], verbosity: Any) -> dict[str, Any]:
        """The block as bitcoind answers at ``verbosity`` (3 adds ``prevout`` to inputs)."""
        txs = [tx if isinstance(tx, dict) else self.txs[tx] for tx in block["tx"]]
        if verbosity is True or verbosity == 1:
            return {**block, "tx": [tx["txid"] for tx in txs]}
        if verbosity == 3:
            txs = [{**tx, "vin": [self.prevout(i) for i in tx["vin"]]} for tx in txs]
        return {**block, "tx": txs}

    def prevout(self, entry: dict[str, Any]) -> dict[str, Any]:
        if "coinbase" in entry:
            return entry
        spent = self.txs[entry["txid"]]["vout"][entry["vout"]]
        return {
            **entry,
            "prevout": {"value": spent["value"], "scriptPubKey": spent["scriptPubKey"]},
        }


@contextmanager
def node(
    recordings: Recordings, chain: str = "bitcoin", verbosity: int = 2, **options: Any
) -> Iterator[BitcoinNode]:
    with (
        rpc_server(recordings.answer) as url,
        JsonRpcClient(url, backoff=0.001, retries=1, **options) as client,
    ):
        yield BitcoinNode(client, get_chain(chain), verbosity=verbosity)


def rpc_ingest(
    recordings: Recordings,
    data_dir: Path,
    first: int,
    last: int,
    *,
    chain: str = "bitcoin",
    verbosity: int = 2,
    **options: Any,
) -> IngestReport:
    with node(recordings, chain, verbosity, **options) as bitcoin:
        return ingest_source(chain, bitcoin.source(first, last), data_dir=data_dir)


def rows(data_dir: Path, table: str, chain: str) -> list[tuple[Any, ...]]:
    files = [str(p) for p in DataDirectory(data_dir).table_files(chain, table)]
    if not files:
        return []
    columns = ", ".join(ALL_TABLES[table].column_names)
    return duckdb.sql(f"SELECT {columns} FROM read_parquet({files!r}) ORDER BY ALL").fetchall()


def assert_same_store(node_store: Path, export_store: Path, chain: str = "bitcoin") -> None:
    """Every table equal, except that exports do not give a block's parent hash."""
    for table in ALL_TABLES:
        if table == "commits":
            continue
        ours, theirs = rows(node_store, table, chain), rows(export_store, table, chain)
        if table == "blocks":
            names = ALL_TABLES[table].column_names
            parent = names.index("parent_hash") if "parent_hash" in names else None
            if parent is not None:
                ours = [r[:parent] + r[parent + 1 :] for r in ours]
                theirs = [r[:parent] + r[parent + 1 :] for r in theirs]
        assert ours == theirs, table
    assert rows(node_store, "transfers", chain), "nothing was stored"


def snapshot(data_dir: Path) -> dict[str, bytes]:
    if not data_dir.exists():
        return {}
    return {
        str(p.relative_to(data_dir)): p.read_bytes()
        for p in sorted(data_dir.rglob("*"))
        if p.is_file() and p.name != "lock"
    }


# -- bitcoin, the node answering as the export was made --------------------------------------


def test_the_node_reports_its_tip_and_block_hashes(samples: Path) -> None:
    recordings = Recordings([samples / "bitcoin" / "block_0", samples / "bitcoin" / "block_1"])
    with node(recordings) as bitcoin:
        chain: NodeChain = bitcoin
        assert chain.tip() == 1
        assert chain.block_hashes([1, 0]) == [recordings.hashes[1], recordings.hashes[0]]
        assert chain.url.startswith("http://127.0.0.1:")
        with pytest.raises(NodeError, match="Block height out of range"):
            chain.block_hashes([2])


def test_blocks_0_and_1_store_what_their_exports_store(samples: Path, tmp_path: Path) -> None:
    folders = [samples / "bitcoin" / "block_0", samples / "bitcoin" / "block_1"]
    report = rpc_ingest(Recordings(folders), tmp_path / "node", 0, 1)
    assert (report.new_blocks, report.pending_inputs) == (2, 0)
    ingest("bitcoin", folders, data_dir=tmp_path / "export")
    assert_same_store(tmp_path / "node", tmp_path / "export")


def test_blocks_50000_to_50002_store_what_their_exports_store(
    samples: Path, tmp_path: Path
) -> None:
    """Verbosity 2: inputs spend outputs of earlier blocks, not stored, and wait as pending."""
    empty = samples / "bitcoin" / "block_without_transactions"
    full = samples / "bitcoin" / "block_with_transactions"
    recordings = Recordings([empty, full])
    rpc_ingest(recordings, tmp_path / "node", 50000, 50000)
    report = rpc_ingest(recordings, tmp_path / "node", 50001, 50002, batch_size=1, concurrency=3)
    assert report.pending_inputs == 3
    ingest("bitcoin", [empty], data_dir=tmp_path / "export")
    exported = ingest("bitcoin", [full], data_dir=tmp_path / "export")
    assert exported.pending_inputs == report.pending_inputs
    assert (report.stored, report.new_blocks) == (exported.stored, exported.new_blocks)
    assert_same_store(tmp_path / "node", tmp_path / "export")
    # Asking again for the same blocks stores nothing new.
    again = rpc_ingest(recordings, tmp_path / "node", 50000, 50002)
    assert again.new_blocks == 0
    assert_same_store(tmp_path / "node", tmp_path / "export")


def enriched_export(samples: Path, recordings: Recordings, folder: Path) -> Path:
    """The export with its inputs enriched from the recorded funding transactions."""
    source = samples / "bitcoin" / "block_with_transactions"
    folder.mkdir()
    (folder / "expected_blocks.json").write_text((source / "expected_blocks.json").read_text())
    lines = []
    for line in (source / "expected_transactions.json").read_text().splitlines():
        tx = json.loads(line)
        for entry in tx["inputs"]:
            spent = recordings.txs[entry["spent_transaction_hash"]]["vout"]
            output = spent[entry["spent_output_index"]]
            entry["type"] = output["scriptPubKey"]["type"]
            entry["addresses"] = output["scriptPubKey"]["addresses"]
            entry["value"] = int(Decimal(str(output["value"])) * 10**8)
        lines.append(json.dumps(tx))
    (folder / "expected_transactions.json").write_text("\n".join(lines) + "\n")
    return folder


def test_verbosity_3_resolves_inputs_from_prevout(samples: Path, tmp_path: Path) -> None:
    """With ``prevout`` every input is stored at once, as from an enriched export."""
    empty = samples / "bitcoin" / "block_without_transactions"
    recordings = Recordings([empty, samples / "bitcoin" / "stream_50001_50002"])
    rpc_ingest(recordings, tmp_path / "node", 50000, 50000, verbosity=3)
    report = rpc_ingest(recordings, tmp_path / "node", 50001, 50002, verbosity=3)
    assert report.pending_inputs == 0
    assert not any(m == "getrawtransaction" for m, _ in recordings.calls)
    ingest("bitcoin", [empty], data_dir=tmp_path / "export")
    export = enriched_export(samples, recordings, tmp_path / "enriched")
    exported = ingest("bitcoin", [export], data_dir=tmp_path / "export")
    assert exported.pending_inputs == 0
    assert_same_store(tmp_path / "node", tmp_path / "export")


def test_verbosity_3_on_a_node_without_prevout_says_so(samples: Path, tmp_path: Path) -> None:
    recordings = Recordings([samples / "bitcoin" / "block_with_transactions"])
    recordings.block = lambda block, _verbosity: block  # type: ignore[method-assign]
    with pytest.raises(InputError, match=r"input 0: no prevout .*verbosity 3"):
        rpc_ingest(recordings, tmp_path / "node", 50001, 50001, verbosity=3)
    assert not any(name.endswith(".parquet") for name in snapshot(tmp_path / "node"))


# -- other chains ----------------------------------------------------------------------------


def test_bitcoin_cash_block_with_a_duplicate_txid_at_verbosity_1(
    samples: Path, tmp_path: Path
) -> None:
    folder = samples / "bitcoin_cash" / "block_with_duplicate_txid"
    recordings = Recordings([folder])
    rpc_ingest(recordings, tmp_path / "node", 91722, 91722, chain="bitcoin-cash", verbosity=1)
    assert ("getblock", [recordings.hashes[91722], True]) in recordings.calls
    ingest("bitcoin-cash", [folder], data_dir=tmp_path / "export")
    assert_same_store(tmp_path / "node", tmp_path / "export", "bitcoin-cash")


def test_dogecoin_block_at_verbosity_1(samples: Path, tmp_path: Path) -> None:
    folder = samples / "dogecoin" / "block_without_transactions"
    rpc_ingest(Recordings([folder]), tmp_path / "node", 2, 2, chain="dogecoin", verbosity=1)
    ingest("dogecoin", [folder], data_dir=tmp_path / "export")
    assert_same_store(tmp_path / "node", tmp_path / "export", "dogecoin")


def test_dogecoin_amounts_that_a_float_would_round_are_stored_exactly(
    samples: Path, tmp_path: Path
) -> None:
    """Block 107212, answered as a node writes it: amounts as JSON numbers of whole DOGE."""
    folder = samples / "dogecoin" / "block_with_float_precision_loss"
    exported_block = json.loads((folder / "expected_blocks.json").read_text())
    exported_txs = [json.loads(line) for line in (folder / "expected_transactions.json").open()]
    txs = [
        {
            "txid": tx["hash"],
            "vin": (
                [{"coinbase": exported_block["coinbase_param"]}]
                if tx["is_coinbase"]
                else [
                    {"txid": i["spent_transaction_hash"], "vout": i["spent_output_index"]}
                    for i in tx["inputs"]
                ]
            ),
            "vout": [
                {
                    "n": o["index"],
                    "value": float(Decimal(o["value"]) / 10**8),
                    "scriptPubKey": {"hex": o["script_hex"]},
                }
                for o in tx["outputs"]
            ],
        }
        for tx in exported_txs
    ]
    values = [o["value"] for tx in exported_txs for o in tx["outputs"]]
    assert any(int(float(Decimal(v) / 10**8) * 10**8) != v for v in values)
    recordings = Recordings([])
    recordings.hashes[107212] = exported_block["hash"]
    recordings.blocks[exported_block["hash"]] = {
        "hash": exported_block["hash"],
        "height": 107212,
        "version": exported_block["version"],
        "merkleroot": exported_block["merkle_root"],
        "time": exported_block["timestamp"],
        "bits": exported_block["bits"],
        "nonce": int(exported_block["nonce"], 16),
        "previousblockhash": "00" * 32,
        "tx": txs,
    }
    report = rpc_ingest(recordings, tmp_path / "node", 107212, 107212, chain="dogecoin")
    assert report.new_blocks == 1
    stored = duckdb.sql(
        "SELECT t.tx_hash, f.seq, f.amount FROM read_parquet($transfers) AS f "
        "JOIN read_parquet($txs) AS t USING (tx_id) WHERE f.kind = 2 ORDER BY ALL",
        params={
            "transfers": [
                str(p)
                for p in DataDirectory(tmp_path / "node").table_files("dogecoin", "transfers")
            ],
            "txs": [
                str(p)
                for p in DataDirectory(tmp_path / "node").table_files("dogecoin", "transactions")
            ],
        },
    ).fetchall()
    expected = sorted(
        (tx["hash"], o["index"], o["value"]) for tx in exported_txs for o in tx["outputs"]
    )
    assert [(h, s - UTXO_OUTPUT_SEQ_BASE, int(a)) for h, s, a in stored] == expected


# -- errors leave the store as it was --------------------------------------------------------


def test_a_node_error_mid_range_stores_nothing(samples: Path, tmp_path: Path) -> None:
    folders = [samples / "bitcoin" / "block_0", samples / "bitcoin" / "block_1"]
    recordings = Recordings(folders)
    rpc_ingest(recordings, tmp_path / "node", 0, 0)
    before = snapshot(tmp_path / "node")
    broken = recordings.hashes[1]
    original = recordings.answer

    def failing(method: str, params: list[Any]) -> Any:
        if method == "getblock" and params[0] == broken:
            raise RpcReplyError(-1, "database corrupted")
        return original(method, params)

    recordings.answer = failing  # type: ignore[method-assign]
    with pytest.raises(NodeError, match="database corrupted"):
        rpc_ingest(recordings, tmp_path / "node", 0, 1, batch_size=1)
    assert snapshot(tmp_path / "node") == before


def test_an_amount_finer_than_a_satoshi_names_block_tx_and_output(
    samples: Path, tmp_path: Path
) -> None:
    recordings = Recordings([samples / "bitcoin" / "block_1"])
    block = recordings.blocks[recordings.hashes[1]]
    block["tx"][0]["vout"][0]["value"] = 50.000000001
    with pytest.raises(InputError) as bad:
        rpc_ingest(recordings, tmp_path / "node", 1, 1)
    message = str(bad.value)
    assert recordings.hashes[1] in message and block["tx"][0]["txid"] in message
    assert "output 0" in message and "whole number" in message
    assert not any(name.endswith(".parquet") for name in snapshot(tmp_path / "node"))


def test_chains_and_options_a_bitcoin_node_cannot_serve(samples: Path) -> None:
    recordings = Recordings([samples / "bitcoin" / "block_0"])
    with rpc_server(recordings.answer) as url, JsonRpcClient(url) as client:
        for chain in ("ethereum", "zcash"):
            with pytest.raises(ConfigError, match=chain):
                BitcoinNode(client, get_chain(chain))
        with pytest.raises(ConfigError, match="verbosity 0"):
            BitcoinNode(client, get_chain("bitcoin"), verbosity=0)
        bitcoin = BitcoinNode(client, get_chain("bitcoin"))
        with pytest.raises(ConfigError, match="empty"):
            bitcoin.source(2, 1)
        with pytest.raises(ConfigError, match="opened for bitcoin"):
            ingest_source("litecoin", bitcoin.source(0, 0))


def test_blocks_that_do_not_extend_the_store_or_each_other_are_refused(
    samples: Path, tmp_path: Path
) -> None:
    empty = samples / "bitcoin" / "block_without_transactions"
    full = samples / "bitcoin" / "block_with_transactions"
    ingest("bitcoin", [empty], data_dir=tmp_path / "store")
    before = snapshot(tmp_path / "store")
    recordings = Recordings([full])
    first, second = (
        recordings.blocks[recordings.hashes[50001]],
        recordings.blocks[recordings.hashes[50002]],
    )
    real_parent = first["previousblockhash"]
    first["previousblockhash"] = "11" * 32
    with pytest.raises(InputError, match="a chain reorganisation"):
        rpc_ingest(recordings, tmp_path / "store", 50001, 50001)
    first["previousblockhash"] = real_parent
    second["previousblockhash"] = "22" * 32
    with pytest.raises(InputError, match="chain changed while it was read"):
        rpc_ingest(recordings, tmp_path / "store", 50001, 50002)
    assert snapshot(tmp_path / "store") == before
