"""Re-running an ingest changes nothing, new ranges append, a killed ingest is harmless."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import duckdb
import pytest

from counterflow.cli import main
from counterflow.demo import demo_data_dir
from counterflow.ingest import ingest
from counterflow.query import store_stats
from counterflow.store.datadir import DataDirectory

DEMO = demo_data_dir()
BTC_LINES = (DEMO / "bitcoin" / "transactions.json").read_text(encoding="utf-8").splitlines()
TOKEN_HEADER = (
    "token_address,from_address,to_address,value,transaction_hash,log_index,block_number\n"
)


def tree(root: Path) -> dict[str, bytes | None]:
    """Every path under ``root``, with its bytes (None for a folder)."""
    return {
        str(p.relative_to(root)): (p.read_bytes() if p.is_file() else None)
        for p in sorted(root.rglob("*"))
    }


def write_lines(path: Path, lines: list[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def cli_json(capsys: pytest.CaptureFixture[str], *argv: str) -> Any:
    capsys.readouterr()
    assert main(list(argv)) == 0
    return json.loads(capsys.readouterr().out)


def transfer_rows(store: Path, chain: str) -> list[tuple[Any, ...]]:
    """The rows of the chain's transfers table, read from the parts its manifest lists."""
    chain_dir = store / "chains" / chain
    manifest = json.loads((chain_dir / "manifest.json").read_text(encoding="utf-8"))
    files = [str(chain_dir / rel) for rel in manifest["parts"]["transfers"]]
    con = duckdb.connect()
    try:
        return con.execute("SELECT * FROM read_parquet(?) ORDER BY ALL", [files]).fetchall()
    finally:
        con.close()


# -- idempotence ----------------------------------------------------------------------------
def test_second_ingest_of_demo_is_a_byte_identical_no_op(data_dir: Path) -> None:
    first = {c: ingest(c, [DEMO / c], data_dir=data_dir) for c in ("bitcoin", "ethereum")}
    assert all(r.stored > 0 and r.commit is not None for r in first.values())
    before = tree(data_dir)
    for chain in ("bitcoin", "ethereum"):
        again = ingest(chain, [DEMO / chain], data_dir=data_dir)
        assert again.read == first[chain].read
        assert again.stored == 0
        assert again.skipped == again.read
        assert again.rejected == 0
        assert again.commit is None
        assert (again.new_addresses, again.new_transactions, again.new_blocks) == (0, 0, 0)
    assert tree(data_dir) == before


def test_same_data_in_another_file_and_format_is_not_stored_twice(
    data_dir: Path, tmp_path: Path
) -> None:
    """Coverage is by (export, block), not by file name: a renamed copy adds nothing."""
    ingest("bitcoin", [DEMO / "bitcoin" / "transactions.json"], data_dir=data_dir)
    before = tree(data_dir)
    copy = write_lines(tmp_path / "copy" / "transactions_50000_50002.jsonl", BTC_LINES)
    again = ingest("bitcoin", [copy], data_dir=data_dir)
    assert again.stored == 0 and again.commit is None
    assert tree(data_dir) == before


def test_reference_export_reingest_is_a_no_op(data_dir: Path, shared_data: Path) -> None:
    """The real two-block ethereum-etl export (with a logs file that is not read)."""
    folder = shared_data / "chain" / "ethereum-mainnet-17173049-17173050"
    if not folder.is_dir():
        pytest.skip(f"{folder} not found")
    first = ingest("ethereum", [folder], data_dir=data_dir)
    assert first.stored > 0
    assert [Path(p).name for p in first.ignored_files] == ["logs.json"]
    before = tree(data_dir)
    again = ingest("ethereum", [folder], data_dir=data_dir)
    assert (again.stored, again.skipped, again.commit) == (0, again.read, None)
    assert tree(data_dir) == before


# -- new ranges append ----------------------------------------------------------------------
def test_split_by_block_equals_one_ingest(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    records = [json.loads(line) for line in BTC_LINES]
    blocks = sorted({r["block_number"] for r in records})
    assert len(blocks) == 3
    early = [line for line, r in zip(BTC_LINES, records, strict=True) if r["block_number"] < 50001]
    late = [line for line, r in zip(BTC_LINES, records, strict=True) if r["block_number"] >= 50001]
    assert early and late
    part_a = write_lines(tmp_path / "a" / "transactions.json", early)
    part_b = write_lines(tmp_path / "b" / "transactions.json", late)

    split, whole = tmp_path / "split", tmp_path / "whole"
    one = ingest("bitcoin", [part_a], data_dir=split)
    two = ingest("bitcoin", [part_b], data_dir=split)
    both = ingest("bitcoin", [part_a, part_b], data_dir=whole)
    assert one.stored > 0 and two.stored > 0
    assert one.stored + two.stored == both.stored
    assert two.skipped == 0  # the second range is new, nothing of it was stored before
    # Expected from the export itself: every input and output, plus a coinbase credit.
    expected = sum(
        len(r["inputs"]) + len(r["outputs"]) + (1 if r["is_coinbase"] else 0) for r in records
    )
    assert both.stored == expected

    split_stats = cli_json(capsys, "--data-dir", str(split), "stats", "--json")
    whole_stats = cli_json(capsys, "--data-dir", str(whole), "stats", "--json")
    assert split_stats["transfers"] == whole_stats["transfers"] == expected
    [s], [w] = split_stats["chains"], whole_stats["chains"]
    for key in ("transfers", "transfers_by_kind", "addresses", "transactions", "blocks"):
        assert s[key] == w[key], key
    assert (s["commits"], w["commits"]) == (2, 1)
    assert transfer_rows(split, "bitcoin") == transfer_rows(whole, "bitcoin")
    manifest = DataDirectory(split).manifest("bitcoin")
    assert len(manifest.files("transfers")) == 2  # appended, not rewritten

    # Re-running either half now changes nothing.
    before = tree(split)
    assert ingest("bitcoin", [part_a], data_dir=split).commit is None
    assert ingest("bitcoin", [part_b], data_dir=split).commit is None
    assert tree(split) == before


# -- a killed ingest --------------------------------------------------------------------------
def write_token_transfers(path: Path, rows: int, first_block: int, seed: int) -> Path:
    """A valid ethereum-etl token_transfers CSV: random lowercase addresses, increasing blocks."""
    rng = random.Random(seed)
    tokens = ["0x" + rng.randbytes(20).hex() for _ in range(5)]
    holders = ["0x" + rng.randbytes(20).hex() for _ in range(20_000)]
    per_block = 100
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(TOKEN_HEADER)
        fh.writelines(
            f"{tokens[i % 5]},{rng.choice(holders)},{rng.choice(holders)},{rng.getrandbits(64)},"
            f"0x{rng.randbytes(32).hex()},{i % per_block},{first_block + i // per_block}\n"
            for i in range(rows)
        )
    return path


def live_commits(store: Path, chain: str) -> set[str]:
    manifest = DataDirectory(store).manifest(chain)
    return {Path(rel).parts[1] for files in manifest.parts.values() for rel in files}


def cli_command() -> list[str]:
    """How to start the CLI in a child process: ``python -m counterflow.cli``."""
    probe = subprocess.run(
        [sys.executable, "-m", "counterflow.cli", "--help"], capture_output=True, timeout=60
    )
    if probe.returncode == 0:
        return [sys.executable, "-m", "counterflow.cli"]
    script = Path(sys.executable).parent / "counterflow"
    assert script.is_file(), "neither python -m counterflow.cli nor the console script works"
    return [str(script)]


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_killed_ingest_leaves_store_untouched_and_rerun_completes(tmp_path: Path) -> None:
    rows = 300_000
    store = tmp_path / "data"
    small = write_token_transfers(tmp_path / "small" / "token_transfers.csv", 50, 1_000, seed=1)
    big = write_token_transfers(tmp_path / "big" / "token_transfers.csv", rows, 10_000, seed=2)
    assert ingest("ethereum", [small], data_dir=store).stored == 50
    manifest_path = store / "chains" / "ethereum" / "manifest.json"
    manifest_before = manifest_path.read_bytes()
    stats_before = store_stats(DataDirectory(store))
    live = live_commits(store, "ethereum")
    parts = store / "chains" / "ethereum" / "parts"

    child = subprocess.Popen(
        [*cli_command(), "--data-dir", str(store), "ingest", "ethereum", str(big), "--json"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    orphan: Path | None = None
    deadline = time.monotonic() + 60
    try:
        while child.poll() is None and time.monotonic() < deadline:
            fresh = [p for p in parts.iterdir() if p.name not in live]
            if fresh:
                orphan = fresh[0]
                os.kill(child.pid, signal.SIGKILL)
                break
            time.sleep(0.003)
    finally:
        if child.poll() is None and orphan is None:
            child.kill()
        child.wait(timeout=30)
        assert child.stderr is not None
        child.stderr.close()
    assert orphan is not None, (
        f"the ingest finished (rc {child.returncode}) before its commit folder was seen; "
        "raise `rows` so that it runs long enough to be killed mid-write"
    )
    assert child.returncode == -signal.SIGKILL

    # Killed mid-write: its parts are on disk, but the store is exactly as before.
    assert orphan.is_dir()
    assert manifest_path.read_bytes() == manifest_before
    assert store_stats(DataDirectory(store)) == stats_before
    assert live_commits(store, "ethereum") == live

    # The same ingest again completes, clears the leftover, and stores what a clean run does.
    rerun = ingest("ethereum", [big], data_dir=store)
    assert rerun.stored == rows and rerun.commit is not None
    assert not orphan.exists()
    assert {p.name for p in parts.iterdir()} == live_commits(store, "ethereum")

    fresh_store = tmp_path / "fresh"
    ingest("ethereum", [small], data_dir=fresh_store)
    clean = ingest("ethereum", [big], data_dir=fresh_store)
    assert clean.stored == rerun.stored
    after = store_stats(DataDirectory(store))
    reference = store_stats(DataDirectory(fresh_store))
    assert after["transfers"] == reference["transfers"] == 50 + rows
    for key in ("transfers", "addresses", "transactions", "blocks", "assets"):
        assert after["chains"][0][key] == reference["chains"][0][key], key
