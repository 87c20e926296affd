"""Ingest throughput: Counterflow's export ingest against a plain DuckDB COPY of the same files.

Generates an Ethereum export in ethereum-etl's CSV format (enriched transactions and ERC-20
token transfers, heavy-tailed address activity), then measures, in the same run:

- peer: ``COPY (SELECT * FROM read_csv(file)) TO file.parquet`` for each export file, the least
  work that turns the export into a columnar store;
- counterflow: ``counterflow ingest ethereum DIR`` end to end (read, validate, de-duplicate,
  dictionary-encode, write, commit). Exports this large take the columnar path
  (docs/ingest.md); its compiled kernels are loaded from numba's cache, which a warm-up ingest
  of the bundled demo export in another process fills first (compiling them takes about half a
  minute, once per installation).

Reports transfers/s and store bytes per transfer for both and their ratios, and writes
benchmarks/results/ingest.json.

    python benchmarks/ingest.py   # 2.2 M transactions, 1.7 M token transfers: 5.07 M transfers
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

import duckdb

from counterflow import ingest
from counterflow.demo import demo_data_dir

RESULTS = Path(__file__).resolve().parent / "results"


def generate(out: Path, transactions: int, tokens: int, addresses: int, seed: int) -> None:
    """Write transactions.csv and token_transfers.csv with Zipf-like address popularity."""
    out.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    con.execute(f"SELECT setseed({seed / 1000:.6f})")
    # An address index drawn from a heavy-tailed distribution: a few hubs, a long tail.
    pick = f"CAST(floor(pow(random(), 3) * {addresses}) AS BIGINT)"
    address = "'0x' || md5(CAST({x} AS VARCHAR)) || substr(md5(CAST({x} AS VARCHAR) || 'x'), 1, 8)"
    a_from = address.format(x="f")
    a_to = address.format(x="t")
    tx_hash = "'0x' || md5(CAST(i AS VARCHAR)) || md5(CAST(i AS VARCHAR) || 'h')"
    con.execute(
        f"""
        COPY (
            SELECT {tx_hash} AS hash, i % 200 AS nonce,
                   '0x' || md5(CAST(i // 150 AS VARCHAR)) || md5('b' || CAST(i // 150 AS VARCHAR))
                       AS block_hash,
                   15000000 + i // 150 AS block_number, i % 150 AS transaction_index,
                   {a_from} AS from_address, {a_to} AS to_address,
                   CAST(CASE WHEN random() < 0.45 THEN 0
                        ELSE floor(pow(random(), 4) * 1e22) END AS DECIMAL(38,0)) AS value,
                   21000 + CAST(random() * 200000 AS BIGINT) AS gas,
                   CAST(1e9 + random() * 1e11 AS BIGINT) AS gas_price,
                   '0x' AS input, 1650000000 + (i // 150) * 12 AS block_timestamp,
                   NULL AS max_fee_per_gas, NULL AS max_priority_fee_per_gas, 2 AS transaction_type,
                   21000 + CAST(random() * 100000 AS BIGINT) AS receipt_gas_used,
                   NULL AS receipt_contract_address,
                   CASE WHEN random() < 0.03 THEN 0 ELSE 1 END AS receipt_status,
                   CAST(1e9 + random() * 1e11 AS BIGINT) AS receipt_effective_gas_price
            FROM (SELECT i, {pick} AS f, {pick} AS t FROM range({transactions}) AS r(i))
        ) TO '{out / "transactions.csv"}' (HEADER)
        """
    )
    con.execute(
        f"""
        COPY (
            SELECT '0x' || md5('token' || CAST(CAST(floor(pow(random(), 4) * 2000) AS BIGINT)
                       AS VARCHAR)) || '00000000' AS token_address,
                   {a_from} AS from_address, {a_to} AS to_address,
                   CAST(floor(pow(random(), 3) * 1e24) AS DECIMAL(38,0)) AS value,
                   {tx_hash.replace("i", "tx")} AS transaction_hash,
                   i AS log_index, 15000000 + tx // 150 AS block_number
            FROM (SELECT i, CAST(floor(random() * {transactions}) AS BIGINT) AS tx,
                         {pick} AS f, {pick} AS t
                  FROM range({tokens}) AS r(i))
            ORDER BY block_number, log_index
        ) TO '{out / "token_transfers.csv"}' (HEADER)
        """
    )


def folder_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def run_peer(exports: Path, work: Path) -> dict[str, float]:
    target = work / "peer"
    target.mkdir(parents=True)
    con = duckdb.connect()
    started = time.perf_counter()
    for csv in sorted(exports.glob("*.csv")):
        con.execute(
            f"COPY (SELECT * FROM read_csv('{csv}')) TO '{target / (csv.stem + '.parquet')}' "
            "(FORMAT parquet, COMPRESSION zstd)"
        )
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "bytes": folder_bytes(target)}


def warm_up(scratch: Path) -> None:
    """Fill numba's cache of the columnar kernels, in another process.

    The measured ingest still imports numba and loads the kernels from the cache, as every
    ``counterflow ingest`` does; it does not compile them, which happens once per installation.
    """
    print("warm-up: compiling or loading the columnar kernels …", file=sys.stderr)
    code = (
        "import sys; from counterflow import ingest; "
        "ingest('ethereum', [sys.argv[1]], data_dir=sys.argv[2], columnar=True)"
    )
    demo = str(demo_data_dir() / "ethereum")
    subprocess.run([sys.executable, "-c", code, demo, str(scratch)], check=True)
    shutil.rmtree(scratch, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transactions", type=int, default=2_200_000)
    parser.add_argument("--tokens", type=int, default=1_700_000)
    parser.add_argument("--addresses", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    # a folder of its own: without --keep it is removed at the end
    parser.add_argument(
        "--work", type=Path, default=Path(__file__).resolve().parent / "work" / "ingest"
    )
    parser.add_argument("--keep", action="store_true", help="keep the generated exports")
    args = parser.parse_args(argv)

    exports = args.work / "exports"
    if not (exports / "transactions.csv").exists():
        print(f"generating exports in {exports} …", file=sys.stderr)
        generate(exports, args.transactions, args.tokens, args.addresses, args.seed)
    for leftover in ("peer", "store"):
        shutil.rmtree(args.work / leftover, ignore_errors=True)
    export_bytes = folder_bytes(exports)

    print("peer: duckdb COPY to parquet …", file=sys.stderr)
    peer = run_peer(exports, args.work)
    warm_up(args.work / "warmup")
    # The peer's Parquet files are flushed before the next measurement starts, not during it.
    os.sync()
    print("counterflow ingest …", file=sys.stderr)
    started = time.perf_counter()
    report = ingest("ethereum", [exports], data_dir=args.work / "store")
    seconds = time.perf_counter() - started
    store_bytes = folder_bytes(args.work / "store" / "chains")
    transfers = report.stored
    peer_rows = int(
        duckdb.sql(
            f"SELECT (SELECT count(*) FROM read_parquet('{args.work}/peer/*.parquet'))"
        ).fetchall()[0][0]
    )
    result = {
        "benchmark": "ingest",
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "input": {
            "format": "ethereum-etl CSV (transactions with receipts, token_transfers)",
            "transactions": args.transactions,
            "token_transfers": args.tokens,
            "export_bytes": export_bytes,
        },
        "counterflow": {
            "seconds": round(seconds, 3),
            "transfers": transfers,
            "transfers_per_second": round(transfers / seconds),
            "store_bytes": store_bytes,
            "bytes_per_transfer": round(store_bytes / transfers, 2),
        },
        "peer_duckdb_copy": {
            "seconds": round(peer["seconds"], 3),
            "rows": peer_rows,
            "transfers_per_second": round(transfers / peer["seconds"]),
            "store_bytes": int(peer["bytes"]),
            "bytes_per_transfer": round(peer["bytes"] / transfers, 2),
        },
        "ratios": {
            "time_vs_peer": round(seconds / peer["seconds"], 2),
            "store_size_vs_peer": round(store_bytes / peer["bytes"], 3),
        },
        "goals": {"transfers_per_second": 500_000, "store_size_vs_peer": 1.2},
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "ingest.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    if not args.keep:
        shutil.rmtree(args.work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
