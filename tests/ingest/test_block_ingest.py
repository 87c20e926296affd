"""``ingest --blocks``: real block files into the store, checked against independent computations.

Expected figures come from python-bitcoinlib's decoding of the same bytes (or from the
bitcoin-etl exports of the same blocks), never from what the ingest reports.
"""

from __future__ import annotations

import bz2
import json
import struct
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import bitcoin.core as bc
import duckdb
import pytest
from bitcoin.core.script import CScript
from bitcoin.core.serialize import VarIntSerializer

from counterflow import BlockFileError, ConfigError, InputError, ingest
from counterflow.chains.registry import get_chain
from counterflow.cli import main
from counterflow.ingest.bitcoin_blocks import read_blocks
from counterflow.store import DataDirectory
from counterflow.store.schema import ALL_TABLES, TransferKind

CHAIN_DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "chain"
BTCD = CHAIN_DATA / "bitcoin-blocks" / "btcd"
BLOCKS_1_255 = BTCD / "database/testdata/blocks1-256.bz2"
BLOCKS_0_4 = BTCD / "blockchain/testdata/blk_0_to_4.dat.bz2"
BLOCK_574200 = (
    BTCD
    / "wire/testdata/block-0000000000000000001602407ac49862a7bca9d00f7f402db20b7be2f5de59d2.blk"
)
SAMPLES = CHAIN_DATA / "bitcoin-etl-samples" / "test_export_blocks_job" / "bitcoin"
MAINNET = get_chain("bitcoin").block_networks
COIN = 100_000_000


def needs(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"reference data not present: {path}")
    return path


def frame(blocks: Iterable[bytes], magic: bytes = MAINNET[0].magic) -> bytes:
    return b"".join(magic + struct.pack("<I", len(b)) + b for b in blocks)


@pytest.fixture(scope="module")
def genesis_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real genesis block alone (blk_0_to_4 continues with synthetic blocks)."""
    genesis = next(read_blocks(needs(BLOCKS_0_4), MAINNET)).data
    path = tmp_path_factory.mktemp("genesis") / "blk00000.dat"
    path.write_bytes(frame([genesis]))
    return path


@pytest.fixture(scope="module")
def mainnet_blocks() -> list[bc.CBlock]:
    """Blocks 0-255 as python-bitcoinlib decodes them: the independent side of the checks."""
    genesis = next(read_blocks(needs(BLOCKS_0_4), MAINNET)).data
    rest = [r.data for r in read_blocks(needs(BLOCKS_1_255), MAINNET)]
    return [bc.CBlock.deserialize(b) for b in [genesis, *rest]]


def rows(data_dir: Path, table: str, chain: str = "bitcoin") -> list[tuple[Any, ...]]:
    files = [str(p) for p in DataDirectory(data_dir).table_files(chain, table)]
    if not files:
        return []
    columns = ", ".join(ALL_TABLES[table].column_names)
    return duckdb.sql(f"SELECT {columns} FROM read_parquet({files!r}) ORDER BY ALL").fetchall()


def query(data_dir: Path, sql: str) -> list[tuple[Any, ...]]:
    con = duckdb.connect()
    for table in ALL_TABLES:
        files = [str(p) for p in DataDirectory(data_dir).table_files("bitcoin", table)]
        if files:
            con.execute(f"CREATE VIEW {table} AS SELECT * FROM read_parquet({files!r})")
    return con.execute(sql).fetchall()


def snapshot(data_dir: Path) -> dict[str, bytes]:
    if not data_dir.exists():
        return {}
    return {
        str(p.relative_to(data_dir)): p.read_bytes()
        for p in sorted(data_dir.rglob("*"))
        if p.is_file() and p.name != "lock"
    }


# -- the mainnet chain 0-255 -----------------------------------------------------------------


@pytest.fixture(scope="module")
def chain_store(tmp_path_factory: pytest.TempPathFactory, genesis_file: Path) -> Path:
    data_dir = tmp_path_factory.mktemp("chain") / "data"
    report = ingest("bitcoin", [genesis_file, needs(BLOCKS_1_255)], blocks=True, data_dir=data_dir)
    assert report.warnings == []
    assert (report.new_blocks, report.new_transactions, report.pending_inputs) == (256, 263, 0)
    return data_dir


def test_blocks_0_to_255_are_stored_as_a_contiguous_chain(
    chain_store: Path, mainnet_blocks: list[bc.CBlock]
) -> None:
    stored = rows(chain_store, "blocks")
    assert [r[0] for r in stored] == list(range(256))
    assert [r[1] for r in stored] == [bc.b2lx(b.GetHash()) for b in mainnet_blocks]
    assert [r[2] for r in stored[1:]] == [r[1] for r in stored[:-1]]
    assert [r[4] for r in stored] == [len(b.vtx) for b in mainnet_blocks]
    txids = {bc.b2lx(t.GetTxid()) for b in mainnet_blocks for t in b.vtx}
    assert {r[1] for r in rows(chain_store, "transactions")} == txids
    assert {tuple(r) for r in rows(chain_store, "coverage")} == {
        (source, n) for source in ("blocks", "transactions") for n in range(256)
    }


def test_every_input_resolves_to_the_output_it_spends(
    chain_store: Path, mainnet_blocks: list[bc.CBlock]
) -> None:
    funding = {
        (bc.b2lx(t.GetTxid()), n): o.nValue
        for b in mainnet_blocks
        for t in b.vtx
        for n, o in enumerate(t.vout)
    }
    expected = sorted(
        (bc.b2lx(i.prevout.hash), i.prevout.n, funding[(bc.b2lx(i.prevout.hash), i.prevout.n)])
        for b in mainnet_blocks
        for t in b.vtx[1:]
        for i in t.vin
    )
    assert len(expected) > 0
    stored = query(
        chain_store,
        f"""
        SELECT p.tx_hash, f.prev_vout, CAST(f.amount AS BIGINT)
        FROM transfers AS f JOIN transactions AS p ON p.tx_id = f.prev_tx_id
        WHERE f.kind = {int(TransferKind.INPUT)} AND f.src_id IS NOT NULL
        ORDER BY ALL
        """,
    )
    assert stored == expected
    assert rows(chain_store, "pending_inputs") == []


def test_output_totals_and_coinbase_bounds_per_block(
    chain_store: Path, mainnet_blocks: list[bc.CBlock]
) -> None:
    outputs = dict(
        query(
            chain_store,
            f"SELECT block_number, CAST(sum(amount) AS BIGINT) FROM transfers "
            f"WHERE kind = {int(TransferKind.OUTPUT)} GROUP BY 1",
        )
    )
    fees: dict[int, int] = defaultdict(int)
    for number, fee in query(
        chain_store,
        f"""
        SELECT block_number, CAST(sum(CASE WHEN kind = {int(TransferKind.INPUT)} THEN amount
                                            ELSE -amount END) AS BIGINT)
        FROM transfers WHERE kind IN ({int(TransferKind.INPUT)}, {int(TransferKind.OUTPUT)})
          AND tx_index > 0
        GROUP BY block_number, tx_id
        """,
    ):
        assert fee >= 0
        fees[number] += fee
    minted = dict(
        query(
            chain_store,
            f"SELECT block_number, CAST(amount AS BIGINT) FROM transfers "
            f"WHERE kind = {int(TransferKind.COINBASE)}",
        )
    )
    for number, block in enumerate(mainnet_blocks):
        assert outputs[number] == sum(o.nValue for t in block.vtx for o in t.vout)
        coinbase = sum(o.nValue for o in block.vtx[0].vout)
        assert minted[number] == coinbase
        assert coinbase <= 50 * COIN + fees[number]


def test_outputs_are_paid_to_the_addresses_of_their_scripts(
    chain_store: Path, mainnet_blocks: list[bc.CBlock]
) -> None:
    from embit.ec import PublicKey
    from embit.networks import NETWORKS
    from embit.script import p2pkh

    expected: dict[str, int] = defaultdict(int)
    for block in mainnet_blocks:
        for tx in block.vtx:
            for out in tx.vout:
                script = bytes(out.scriptPubKey)
                if script[0] == 0x41 and script[-1] == 0xAC:  # P2PK: early blocks pay keys
                    key = PublicKey.parse(script[1:-1])
                    expected[p2pkh(key).address(NETWORKS["main"])] += out.nValue
                else:
                    expected[str(bc.b2x(script))] += out.nValue
    stored = dict(
        query(
            chain_store,
            f"SELECT a.address, CAST(sum(f.amount) AS BIGINT) FROM transfers AS f "
            f"JOIN addresses AS a ON a.address_id = f.dst_id "
            f"WHERE f.kind = {int(TransferKind.OUTPUT)} GROUP BY 1",
        )
    )
    p2pk = {a: v for a, v in expected.items() if a.startswith("1")}
    assert p2pk
    assert {a: stored.get(a) for a in p2pk} == p2pk
    assert sum(stored.values()) == sum(expected.values())


def test_rerun_is_a_no_op_and_bad_input_stores_nothing(tmp_path: Path, genesis_file: Path) -> None:
    data_dir = tmp_path / "data"
    ingest("bitcoin", [genesis_file], blocks=True, data_dir=data_dir)
    before = snapshot(data_dir)
    again = ingest("bitcoin", [genesis_file], blocks=True, data_dir=data_dir)
    assert (again.stored, again.skipped, again.commit) == (0, 2, None)  # output, coinbase
    assert snapshot(data_dir) == before
    good = bz2.decompress(needs(BLOCKS_1_255).read_bytes())
    broken = tmp_path / "blk00001.dat"
    broken.write_bytes(good[:-50])  # the last block's frame runs past the end
    with pytest.raises(BlockFileError, match="remain in the file") as err:
        ingest("bitcoin", [broken], blocks=True, data_dir=data_dir)
    assert err.value.path == str(broken) and err.value.block == 254
    assert snapshot(data_dir) == before


def test_the_branch_with_most_work_wins_and_stale_blocks_are_reported(tmp_path: Path) -> None:
    """blk_0_to_4 holds the real genesis and 4 synthetic blocks on it; mainnet 1-255 outweigh."""
    report = ingest(
        "bitcoin", [needs(BLOCKS_0_4), needs(BLOCKS_1_255)], blocks=True, data_dir=tmp_path
    )
    assert report.new_blocks == 256
    assert len(report.warnings) == 1 and "4 stale block(s)" in report.warnings[0]
    block_1 = next(read_blocks(BLOCKS_1_255, MAINNET)).data
    assert rows(tmp_path, "blocks")[1][1] == bc.b2lx(bc.CBlock.deserialize(block_1).GetHash())


def test_a_block_competing_with_a_stored_one_is_refused(tmp_path: Path) -> None:
    ingest("bitcoin", [needs(BLOCKS_0_4)], blocks=True, data_dir=tmp_path)  # synthetic 1-4
    before = snapshot(tmp_path)
    with pytest.raises(InputError, match="reorganisation"):
        ingest("bitcoin", [needs(BLOCKS_1_255)], blocks=True, data_dir=tmp_path)
    assert snapshot(tmp_path) == before


def test_a_block_that_cannot_be_placed_is_refused(tmp_path: Path) -> None:
    raws = [r.data for r in read_blocks(needs(BLOCKS_1_255), MAINNET)]
    orphaned = tmp_path / "blk00009.dat"
    orphaned.write_bytes(frame(raws[10:20]))  # blocks 11-20, version 1: no height inside
    with pytest.raises(InputError, match="cannot tell the height of block"):
        ingest("bitcoin", [orphaned], blocks=True, data_dir=tmp_path / "data")


def test_bip34_blocks_stand_alone(tmp_path: Path) -> None:
    report = ingest("bitcoin", [needs(BLOCK_574200)], blocks=True, data_dir=tmp_path)
    assert [r[0] for r in rows(tmp_path, "blocks")] == [574200]
    assert report.new_transactions >= 3315
    assert report.pending_inputs > 0  # it spends outputs of blocks the store has not seen
    segwit = query(tmp_path, "SELECT count(*) FROM addresses WHERE address LIKE 'bc1q%'")
    assert segwit[0][0] > 100


# -- the same blocks through the export path ------------------------------------------------


def assert_same_store(blocks_path: Path, export_path: Path) -> None:
    """Every table equal, except that block files also give each block's parent.

    bitcoin-etl's blocks export has no previous-block column, so its parent hashes are empty;
    the block files fill them in (the genesis block has none).
    """
    for table in ALL_TABLES:
        if table == "blocks":
            raw = rows(blocks_path, table)
            exported = rows(export_path, table)
            assert [r[:2] + r[3:] for r in raw] == [r[:2] + r[3:] for r in exported]
            assert {r[2] for r in exported} == {None}
            parents = {r[0]: r[2] for r in raw}
            for number, block_hash, *_ in raw:
                if number + 1 in parents:
                    assert parents[number + 1] == block_hash
            if 0 in parents:
                assert parents[0] is None
        else:
            assert rows(blocks_path, table) == rows(export_path, table), table


def test_blocks_and_exports_of_blocks_0_and_1_store_the_same(
    tmp_path: Path, genesis_file: Path
) -> None:
    block_1 = next(read_blocks(needs(BLOCKS_1_255), MAINNET)).data
    blocks_file = tmp_path / "blk00001.dat"
    blocks_file.write_bytes(frame([block_1]))
    ingest("bitcoin", [genesis_file, blocks_file], blocks=True, data_dir=tmp_path / "raw")
    ingest(
        "bitcoin",
        [needs(SAMPLES / "block_0"), needs(SAMPLES / "block_1")],
        data_dir=tmp_path / "export",
    )
    assert len(rows(tmp_path / "raw", "transfers")) == 4
    assert_same_store(tmp_path / "raw", tmp_path / "export")


def raw_block_from_rpc(path: Path) -> bytes:
    """Re-serialise a block from bitcoind's recorded ``getblock`` (verbosity 2) response."""
    block = json.loads(path.read_text())
    if "result" in block:
        block = block["result"]
    header = (
        struct.pack("<i", block["version"])
        + bytes.fromhex(block["previousblockhash"])[::-1]
        + bytes.fromhex(block["merkleroot"])[::-1]
        + struct.pack("<III", block["time"], int(block["bits"], 16), block["nonce"])
    )
    txs = b"".join(bytes.fromhex(tx["hex"]) for tx in block["tx"])
    return header + VarIntSerializer.serialize(len(block["tx"])) + txs


def test_blocks_50001_and_50002_store_what_their_exports_store(tmp_path: Path) -> None:
    """Rebuilt from real bitcoind responses; their inputs spend outputs not in the store."""
    folder = needs(SAMPLES / "block_with_transactions")
    raws = [
        raw_block_from_rpc(p)
        for p in sorted(folder.glob("rpc_response_getblock_*.json"))
        if "000000001c920d49" in p.name or "000000002066d7f9" in p.name
    ]
    assert len(raws) == 2
    blocks_file = tmp_path / "blk50001.dat"
    blocks_file.write_bytes(frame(raws))
    for store in ("raw", "export"):
        ingest(
            "bitcoin", [needs(SAMPLES / "block_without_transactions")], data_dir=tmp_path / store
        )
    raw = ingest("bitcoin", [blocks_file], blocks=True, data_dir=tmp_path / "raw")
    export = ingest("bitcoin", [folder], data_dir=tmp_path / "export")
    assert raw.pending_inputs == export.pending_inputs > 0
    assert (raw.stored, raw.new_blocks) == (export.stored, export.new_blocks)
    assert_same_store(tmp_path / "raw", tmp_path / "export")


# -- unresolved inputs, resolved when their funding block arrives ----------------------------


def regtest_chain() -> list[bytes]:
    """Three version-4 regtest blocks (heights in their coinbases); block 3 spends block 1's."""
    genesis = bc.lx(get_chain("bitcoin-regtest").block_networks[0].genesis_hash)
    pay = [
        CScript(bytes.fromhex("0014") + bytes([n]) * 20) for n in range(1, 4)
    ]  # P2WPKH outputs, one per block

    def coinbase(height: int, value: int, script: CScript) -> bc.CTransaction:
        sig = CScript(bytes([1, height]) + b"counterflow")
        return bc.CTransaction([bc.CTxIn(bc.COutPoint(), sig)], [bc.CTxOut(value, script)], 0, 2)

    blocks: list[bytes] = []
    prev = genesis
    first_coinbase: bc.CTransaction | None = None
    for height in (1, 2, 3):
        vtx = [coinbase(height, 50 * COIN + (1000 if height == 3 else 0), pay[height - 1])]
        if height == 3:
            assert first_coinbase is not None
            spend = bc.CTransaction(
                [bc.CTxIn(bc.COutPoint(first_coinbase.GetTxid(), 0), CScript(b"\x51"))],
                [
                    bc.CTxOut(
                        30 * COIN, CScript(bytes.fromhex("76a914") + b"\x07" * 20 + b"\x88\xac")
                    ),
                    bc.CTxOut(20 * COIN - 1000, CScript(bytes.fromhex("5120") + b"\x09" * 32)),
                ],
                0,
                2,
            )
            vtx.append(spend)
        draft = bc.CBlock(4, prev, b"\x00" * 32, 1_700_000_000 + height, 0x207FFFFF, 0, vtx)
        block = bc.CBlock(
            4, prev, draft.calc_merkle_root(), 1_700_000_000 + height, 0x207FFFFF, 0, vtx
        )
        blocks.append(block.serialize())
        prev = block.GetHash()
        if height == 1:
            first_coinbase = vtx[0]
    return blocks


def test_inputs_wait_for_their_funding_block_then_resolve(tmp_path: Path) -> None:
    one, two, three = regtest_chain()
    magic = get_chain("bitcoin-regtest").block_networks[0].magic
    (tmp_path / "late").mkdir()
    (tmp_path / "late" / "blk00001.dat").write_bytes(frame([three], magic))
    (tmp_path / "early").mkdir()
    (tmp_path / "early" / "blk00000.dat").write_bytes(frame([one, two], magic))
    data_dir = tmp_path / "data"

    first = ingest("regtest", [tmp_path / "late"], blocks=True, data_dir=data_dir)
    assert first.pending_inputs == 1
    assert [r[0] for r in rows(data_dir, "blocks", "bitcoin-regtest")] == [3]
    unresolved = rows(data_dir, "pending_inputs", "bitcoin-regtest")
    assert [(r[0], r[1], r[5]) for r in unresolved] == [(3, 1, 0)]

    second = ingest("regtest", [tmp_path / "early"], blocks=True, data_dir=data_dir)
    assert second.pending_inputs == 0
    assert [r[0] for r in rows(data_dir, "blocks", "bitcoin-regtest")] == [1, 2, 3]
    con = duckdb.connect()
    for table in ("transfers", "addresses"):
        files = [str(p) for p in DataDirectory(data_dir).table_files("bitcoin-regtest", table)]
        con.execute(f"CREATE VIEW {table} AS SELECT * FROM read_parquet({files!r})")
    spent = con.execute(
        f"SELECT a.address, CAST(f.amount AS BIGINT), f.block_number FROM transfers AS f "
        f"JOIN addresses AS a ON a.address_id = f.src_id WHERE f.kind = {int(TransferKind.INPUT)}"
    ).fetchall()
    from counterflow.chains.bech32 import encode_segwit

    assert spent == [(encode_segwit("bcrt", 0, b"\x01" * 20), 50 * COIN, 3)]


# -- command line ----------------------------------------------------------------------------


def test_cli_ingests_block_files_with_a_json_summary(
    tmp_path: Path, genesis_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir = tmp_path / "data"
    argv = ["--data-dir", str(data_dir), "ingest", "bitcoin", "--blocks"]
    assert main([*argv, str(genesis_file), str(needs(BLOCKS_1_255)), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["files"] == [str(genesis_file), str(BLOCKS_1_255)]
    assert (summary["new_blocks"], summary["pending_inputs"], summary["rejected"]) == (256, 0, 0)
    assert summary["stored"] == summary["read"] == len(rows(data_dir, "transfers"))

    before = snapshot(data_dir)
    broken = tmp_path / "broken.blk"
    broken.write_bytes(next(read_blocks(BLOCK_574200, MAINNET)).data[:5000])
    assert main([*argv, str(broken), "--json"]) == 3
    err = capsys.readouterr()
    assert err.out == ""
    assert f"error: {broken}, byte " in err.err and "(block 0 in the file, transaction" in err.err
    assert snapshot(data_dir) == before


def test_cli_refuses_options_and_chains_block_files_do_not_fit(
    tmp_path: Path, genesis_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = ["--data-dir", str(tmp_path / "d"), "ingest"]
    assert main([*base, "litecoin", "--blocks", str(genesis_file)]) == 2
    assert "block files of litecoin cannot be read" in capsys.readouterr().err
    assert main([*base, "bitcoin", "--blocks", "--skip-invalid", str(genesis_file)]) == 2
    assert "--skip-invalid applies to export rows" in capsys.readouterr().err
    assert main([*base, "bitcoin-testnet", "--blocks", str(genesis_file)]) == 3
    assert "mainnet's, not testnet3" in capsys.readouterr().err
    with pytest.raises(ConfigError):
        ingest("zcash", [genesis_file], blocks=True, data_dir=tmp_path / "z")
