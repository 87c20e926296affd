"""Rollback on real blocks: the store after rollback + re-ingest equals a fresh ingest."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import duckdb
import pytest

from counterflow import ConfigError, ingest
from counterflow.chains.registry import get_chain
from counterflow.ingest import ingest_source
from counterflow.ingest.bitcoin_blocks import read_blocks
from counterflow.ingest.block_files import BlockFileSource
from counterflow.store import DataDirectory
from counterflow.store.rollback import rollback
from counterflow.store.schema import TransferKind
from reorg_blocks import ALT, MAIN, REORGTEST, read_reorgtest, snapshot, write_blk


@pytest.fixture(scope="module")
def reorg(shared_data: Path) -> dict[str, bytes]:
    path = shared_data / REORGTEST
    if not path.exists():
        pytest.skip(f"reference data not present: {path}")
    return read_reorgtest(path)


def ingest_blocks(data_dir: Path, blocks: list[bytes], tmp: Path, name: str) -> None:
    ingest_source(
        "bitcoin", BlockFileSource([write_blk(blocks, tmp / f"{name}.dat")]), data_dir=data_dir
    )


def test_rollback_then_winning_branch_equals_fresh_ingest(
    reorg: dict[str, bytes], tmp_path: Path
) -> None:
    store, fresh, fork_only = tmp_path / "store", tmp_path / "fresh", tmp_path / "fork"
    ingest_blocks(store, [reorg[k] for k in MAIN], tmp_path, "main")
    report = rollback(store, "bitcoin", 2)
    assert (report.blocks, report.renumbered) == (2, None)
    ingest_blocks(fork_only, [reorg[k] for k in MAIN[:3]], tmp_path, "common")
    assert snapshot(store, "bitcoin") == snapshot(fork_only, "bitcoin")

    ingest_blocks(store, [reorg[k] for k in ALT[3:]], tmp_path, "alt")
    ingest_blocks(fresh, [reorg[k] for k in ALT], tmp_path, "alt-whole")
    assert snapshot(store, "bitcoin") == snapshot(fresh, "bitcoin")


def test_outputs_spent_by_orphaned_blocks_are_unspent_again(
    reorg: dict[str, bytes], tmp_path: Path
) -> None:
    store = tmp_path / "store"
    ingest_blocks(store, [reorg[k] for k in MAIN], tmp_path, "main")

    def spends_of_block_2() -> list[tuple[int, int]]:
        files = [str(p) for p in DataDirectory(store).table_files("bitcoin", "transfers")]
        return duckdb.sql(
            f"""
            SELECT i.block_number, i.prev_vout FROM read_parquet({files!r}) AS i
            JOIN read_parquet({files!r}) AS o ON o.tx_id = i.prev_tx_id
            WHERE i.kind = {int(TransferKind.INPUT)} AND o.block_number = 2
              AND o.kind = {int(TransferKind.OUTPUT)} AND o.seq = 1048576 + i.prev_vout
            ORDER BY ALL
            """
        ).fetchall()

    assert spends_of_block_2() == [(3, 0), (3, 1)]  # block 3 spends both outputs of block 2
    rollback(store, "bitcoin", 2)
    assert spends_of_block_2() == []
    ingest_blocks(store, [reorg[k] for k in ALT[3:]], tmp_path, "alt")
    assert spends_of_block_2() == [(3, 0), (3, 1)]  # and so does 3A, to other outputs


def test_rollback_within_one_ingest_renumbers_like_a_fresh_ingest(
    demo_data: Path, tmp_path: Path
) -> None:
    """Bitcoin exports with enriched inputs name transactions only as spent from; one
    ingest numbers those after all its blocks, so a rollback into the middle renumbers."""
    source = demo_data / "bitcoin"
    store, fresh = tmp_path / "store", tmp_path / "fresh"
    ingest("bitcoin", [source], data_dir=store)
    report = rollback(store, "bitcoin", 50001)
    assert report.renumbered == ["transaction"]
    assert (report.blocks, report.transactions) == (1, 1)
    ingest("bitcoin", [filtered(source, tmp_path / "upto", 50001)], data_dir=fresh)
    assert snapshot(store, "bitcoin") == snapshot(fresh, "bitcoin")


def test_ethereum_rollback_removes_tokens_and_addresses_first_seen_above(
    demo_data: Path, tmp_path: Path
) -> None:
    source = demo_data / "ethereum"
    store, fresh, whole = tmp_path / "store", tmp_path / "fresh", tmp_path / "whole"
    ingest("ethereum", [source], data_dir=store)
    report = rollback(store, "ethereum", 17173049)
    assert report.blocks == 1 and report.assets > 0 and report.addresses > 0
    ingest("ethereum", [filtered(source, tmp_path / "upto", 17173049)], data_dir=fresh)
    assert snapshot(store, "ethereum") == snapshot(fresh, "ethereum")
    ingest("ethereum", [source], data_dir=store)
    ingest("ethereum", [source], data_dir=whole)
    assert snapshot(store, "ethereum") == snapshot(whole, "ethereum")


def test_rollback_of_real_mainnet_blocks(shared_data: Path, tmp_path: Path) -> None:
    """Block 170 spends block 9's coinbase: rolling back below it leaves that output unspent."""
    btcd = shared_data / "chain/bitcoin-blocks/btcd"
    networks = get_chain("bitcoin").block_networks
    genesis = next(read_blocks(btcd / "blockchain/testdata/blk_0_to_4.dat.bz2", networks)).data
    rest = [r.data for r in read_blocks(btcd / "database/testdata/blocks1-256.bz2", networks)]
    chain = [genesis, *rest]
    store, fresh = tmp_path / "store", tmp_path / "fresh"
    ingest_blocks(store, chain[:100], tmp_path, "a")
    ingest_blocks(store, chain[100:], tmp_path, "b")
    report = rollback(store, "bitcoin", 169)
    assert report.blocks == len(chain) - 170
    ingest_blocks(fresh, chain[:100], tmp_path, "c")
    ingest_blocks(fresh, chain[100:170], tmp_path, "d")
    assert snapshot(store, "bitcoin") == snapshot(fresh, "bitcoin")
    ingest_blocks(store, chain[170:], tmp_path, "e")
    ingest_blocks(fresh, chain[170:], tmp_path, "f")
    assert snapshot(store, "bitcoin") == snapshot(fresh, "bitcoin")


def test_interrupted_rollback_leaves_the_store_as_it_was(
    reorg: dict[str, bytes], tmp_path: Path
) -> None:
    store = tmp_path / "store"
    ingest_blocks(store, [reorg[k] for k in MAIN], tmp_path, "main")
    before = snapshot(store, "bitcoin")
    manifest = DataDirectory(store).manifest_path("bitcoin").read_bytes()

    def interrupt(stage: str) -> None:
        if stage == "writing pending inputs":  # every other table is written by then
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        rollback(store, "bitcoin", 2, progress=interrupt)
    assert DataDirectory(store).manifest_path("bitcoin").read_bytes() == manifest
    assert snapshot(store, "bitcoin") == before
    parts = DataDirectory(store).chain_dir("bitcoin") / "parts"
    assert len(list(parts.iterdir())) == 1  # the interrupted commit's folder is gone

    rollback(store, "bitcoin", 2)
    rollback(store, "bitcoin", 1)
    listed = {
        rel for files in DataDirectory(store).manifest("bitcoin").parts.values() for rel in files
    }
    ingest_blocks(store, [reorg["2"]], tmp_path, "again")  # the next writer collects garbage
    listed |= {
        rel for files in DataDirectory(store).manifest("bitcoin").parts.values() for rel in files
    }
    on_disk = {
        str(p.relative_to(DataDirectory(store).chain_dir("bitcoin")))
        for p in parts.rglob("*.parquet")
    }
    assert on_disk <= listed


def test_rollback_above_the_tip_changes_nothing(reorg: dict[str, bytes], tmp_path: Path) -> None:
    store = tmp_path / "store"
    ingest_blocks(store, [reorg[k] for k in MAIN], tmp_path, "main")
    manifest = DataDirectory(store).manifest_path("bitcoin").read_bytes()
    report = rollback(store, "bitcoin", 4)
    assert report.commit is None and report.blocks == 0
    assert DataDirectory(store).manifest_path("bitcoin").read_bytes() == manifest
    with pytest.raises(ConfigError, match="heights start at 0"):
        rollback(store, "bitcoin", -2)


def filtered(source: Path, target: Path, height: int) -> Path:
    """The export rows of blocks up to ``height``: what a fresh ingest of those blocks reads."""
    target.mkdir()
    for path in source.iterdir():
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rt") as fh:
            rows = [line for line in fh if _block(json.loads(line)) <= height]
        (target / path.name.removesuffix(".gz")).write_text("".join(rows), encoding="utf-8")
    return target


def _block(row: dict[str, object]) -> int:
    value = row.get("block_number", row.get("number"))
    assert isinstance(value, int)
    return value
