"""Exercise scenario generation: throughput and peak memory, against blockchain-etl's writers.

Each size in ``--transfers`` runs ``counterflow exercise run`` in a child process, so its peak
resident memory (``ru_maxrss`` from ``wait4``) is the generator's alone. Measured in the same run:

- ours: the whole scenario, wall clock: the two economies, the heists, the export text, the
  ground truth, owners, labels and injects;
- storage floor: writing the same number of bytes to the same disk in 16 MiB blocks, the
  least any generator of these files spends;
- peer: blockchain-etl's own item exporters (``CompositeItemExporter``, ``JsonLinesItemExporter``
  for Bitcoin, ``CsvItemExporter`` for Ethereum, from ethereum-etl 2.4.2) writing the same
  items: a sample of ``--sample`` rows of each file, parsed back into the dicts its mappers
  produce (numbers as ints), timed and extrapolated to every row. This is only the writing
  that bitcoin-etl and ethereum-etl do after their RPC calls; ours includes the simulation.

The peer is installed on first use into benchmarks/work/peers (``pip install --no-deps``: only
the exporters are imported). Results go to benchmarks/results/simulate.json.

    python benchmarks/simulate.py --transfers 2000000 20000000
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent
RESULTS = ROOT / "results"
WORK = ROOT / "work"
PEERS = WORK / "peers"
PEER_PACKAGE = "ethereum-etl==2.4.2"
CHUNK = 16 << 20

#: item type -> (file in the scenario, format)
ITEMS = {
    "bitcoin_block": ("bitcoin/blocks.json", "json"),
    "bitcoin_transaction": ("bitcoin/transactions.json", "json"),
    "block": ("ethereum/blocks.csv", "csv"),
    "transaction": ("ethereum/transactions.csv", "csv"),
    "token_transfer": ("ethereum/token_transfers.csv", "csv"),
    "trace": ("ethereum/traces.csv", "csv"),
}


def run_generator(transfers: int, seed: int, out: Path) -> dict[str, Any]:
    command = [
        sys.executable, "-m", "counterflow", "exercise", "run", "--seed", str(seed),
        "--transfers", str(transfers), "--out", str(out), "--json",
    ]  # fmt: skip
    started = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert child.stdout is not None and child.stderr is not None
    stdout, stderr = child.stdout.read(), child.stderr.read()
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise SystemExit(f"exercise run failed ({child.returncode}): {stderr.decode()[-2000:]}")
    summary = json.loads(stdout)
    sizes = {name: (out / path).stat().st_size for name, (path, _) in ITEMS.items()}
    total_bytes = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    return {
        "transfers": summary["transfers"],
        "bitcoin": summary["bitcoin"],
        "ethereum": summary["ethereum"],
        "seconds": round(seconds, 3),
        "generator_seconds": summary["seconds"],
        "transfers_per_second": round(summary["transfers"] / seconds),
        "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 2),
        "peak_memory_megabytes": round(usage.ru_maxrss / 1024),
        "output_megabytes": round(total_bytes / 1e6, 1),
        "bytes_per_transfer": round(total_bytes / summary["transfers"], 1),
        "file_megabytes": {k: round(v / 1e6, 1) for k, v in sizes.items()},
    }


def storage_floor(folder: Path, size: int) -> float:
    """Seconds to write ``size`` bytes to ``folder``'s disk, the way the generator does."""
    block = os.urandom(CHUNK)
    target = folder / "floor.bin"
    started = time.perf_counter()
    with open(target, "wb") as f:
        for offset in range(0, size, CHUNK):
            f.write(block[: min(CHUNK, size - offset)])
    seconds = time.perf_counter() - started
    target.unlink()
    return seconds


def load_peer() -> Any:
    if not (PEERS / "blockchainetl").is_dir():
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
             "--target", str(PEERS), PEER_PACKAGE],
            check=True,
        )  # fmt: skip
    sys.path.insert(0, str(PEERS))
    from blockchainetl.jobs.exporters.composite_item_exporter import CompositeItemExporter

    return CompositeItemExporter


def _number(value: str) -> Any:
    return int(value) if value.isdigit() else value


def sample_items(scenario: Path, sample: int) -> dict[str, list[dict[str, Any]]]:
    """The first rows of each file as the dicts blockchain-etl's mappers hand its exporters."""
    items: dict[str, list[dict[str, Any]]] = {}
    for item_type, (path, kind) in ITEMS.items():
        with open(scenario / path, encoding="utf-8", newline="") as f:
            rows: Iterator[dict[str, Any]]
            if kind == "json":
                rows = (json.loads(line) for line in f)
            else:
                rows = ({k: _number(v) for k, v in row.items()} for row in csv.DictReader(f))
            items[item_type] = [
                {"type": item_type, **row} for row in itertools.islice(rows, sample)
            ]
    return items


def peer_rates(items: dict[str, list[dict[str, Any]]], folder: Path) -> dict[str, float]:
    """Rows per second blockchain-etl's exporters write, per item type."""
    exporter_class = load_peer()
    rates = {}
    for item_type, rows in items.items():
        fields = [k for k in rows[0] if k != "type"]
        suffix = ".json" if ITEMS[item_type][1] == "json" else ".csv"
        exporter = exporter_class(
            filename_mapping={item_type: str(folder / f"peer-{item_type}{suffix}")},
            field_mapping={item_type: fields},
        )
        exporter.open()
        started = time.perf_counter()
        for row in rows:
            exporter.export_item(row)
        exporter.close()
        rates[item_type] = len(rows) / (time.perf_counter() - started)
        (folder / f"peer-{item_type}{suffix}").unlink()
    return rates


def row_counts(scenario: Path) -> dict[str, int]:
    counts = {}
    for item_type, (path, kind) in ITEMS.items():
        lines = 0
        with open(scenario / path, "rb") as f:
            while chunk := f.read(CHUNK):
                lines += chunk.count(b"\n")
        counts[item_type] = lines - (kind == "csv")  # the header line
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--transfers", type=int, nargs="+", default=[2_000_000, 20_000_000])
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--sample", type=int, default=100_000, help="rows per file for the peer")
    parser.add_argument("--keep", action="store_true", help="keep the scenarios")
    args = parser.parse_args()

    WORK.mkdir(exist_ok=True)
    # Compile (or load the cached) kernels first, so no size pays for it.
    warm = WORK / "simulate-warm-up"
    shutil.rmtree(warm, ignore_errors=True)
    warm_up = run_generator(20_000, args.seed, warm)
    shutil.rmtree(warm)
    print(f"warm-up (kernels compiled or loaded): {warm_up['seconds']:.1f} s", file=sys.stderr)

    runs = []
    for n in sorted(args.transfers):
        out = WORK / f"simulate-{n}"
        shutil.rmtree(out, ignore_errors=True)
        run = run_generator(n, args.seed, out)
        size = int(run["output_megabytes"] * 1e6)
        run["storage_floor_seconds"] = round(storage_floor(WORK, size), 3)
        print(
            f"{run['transfers']:,} transfers: {run['seconds']:.1f} s, "
            f"{run['transfers_per_second']:,}/s, peak {run['peak_memory_megabytes']:,} MB, "
            f"{run['output_megabytes']:,} MB written (floor {run['storage_floor_seconds']:.1f} s)",
            file=sys.stderr,
        )
        if n == max(args.transfers):
            rates = peer_rates(sample_items(out, args.sample), WORK)
            counts = row_counts(out)
            peer_seconds = sum(counts[t] / rates[t] for t in ITEMS)
            run["peer"] = {
                "what": f"blockchain-etl exporters ({PEER_PACKAGE}), writing only",
                "rows": counts,
                "rows_per_second": {t: round(r) for t, r in rates.items()},
                "seconds": round(peer_seconds, 1),
                "ratio": round(peer_seconds / run["seconds"], 2),
            }
            print(
                f"peer, writing the same rows: {peer_seconds:.1f} s ({run['peer']['ratio']}× ours)",
                file=sys.stderr,
            )
        runs.append(run)
        if not args.keep:
            shutil.rmtree(out)

    document = {
        "benchmark": "simulate",
        "goal": "≥ 500,000 transfers/s at ≥ 20 M transfers",
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "warm_up_seconds": warm_up["seconds"],
        "runs": runs,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "simulate.json").write_text(json.dumps(document, indent=2) + "\n")
    print(json.dumps(document, indent=2))


if __name__ == "__main__":
    main()
