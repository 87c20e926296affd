"""Tracing against peers on the same ingested 20 M-transfer scenario, in one run.

    python benchmarks/trace.py [TRANSFERS]     # default 20,000,000; writes results/trace.json

The scenario (benchmarks/scenario_store.py) holds a bybit-2025-style heist in a background
economy, both chains ingested. Measured:

- index: ``load_index(rebuild=True)`` per chain (build time, bytes per transfer), then a reload;
- ours: ``trace`` forward from the T+0 inject's addresses, 10 hops, haircut and poison, with the
  scenario's labels and the bridge ledger (so it crosses to Bitcoin and stops at services):
  the whole call (address lookups, kernel, result assembly: totals, destinations, holders,
  the transfers as columns), the compiled kernel alone, and the call followed by
  ``to_json()`` (every transfer named: addresses, hashes, times), timed in a fresh process
  after ``load_index`` of the saved indexes, as a server would;
- peers, on the holder graph of both chains (trace_peers.py), poison within 10 hops from the
  same seeds and the same start: a DuckDB recursive CTE, a Python loop of DuckDB joins, and
  networkx on a subsample (the first ``--sample`` edges in time order, with the CTE on the same
  subsample for the ratio); igraph and scipy plain 10-step BFS (no time, no amounts) as a
  reference for graph work.

Ratios are peer time over ours. The poison reach of the peers is also computed by our kernel
without labels or links, and the reached sets are compared.
"""

from __future__ import annotations

import argparse
import importlib
import json
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import trace_peers
from counterflow.graph import TraceParams, load_index, trace
from counterflow.store.datadir import DataDirectory
from counterflow.store.reader import StoreReader
from scenario_store import scenario_store

# the package exports the function `trace`, which hides the module of the same name
trace_module = importlib.import_module("counterflow.graph.trace")

RESULTS = Path(__file__).resolve().parent / "results" / "trace.json"
HOPS = 10


def timed(fn: Callable[[], Any], repeat: int = 5) -> tuple[float, Any]:
    """Median wall time of ``repeat`` calls, and the last result."""
    times, out = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), out


class KernelClock:
    """Adds up the time spent in the compiled propagation kernel during a trace."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._forward = trace_module.forward

        def clocked(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return self._forward(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - started

        trace_module.forward = clocked  # type: ignore[assignment]


def seeds_and_start(folder: Path) -> tuple[str, list[str], str]:
    injects = json.loads((folder / "injects.json").read_text())["injects"]
    first = next(i for i in injects if i["kind"] == "victim-report")
    truth = json.loads((folder / "ground_truth.json").read_text())
    heist = next(h for h in truth["heists"] if h["name"] == first["heist"])
    addresses = [i["address"] for i in first["indicators"] if "address" in i]
    return first["indicators"][0]["chain"], addresses, heist["theft_time"]


def holder_ids(data_dir: Path, chain: str, addresses: list[str]) -> list[int]:
    """The peers' node ids of ``addresses`` (chains laid out as trace_peers does)."""
    offset = 0
    with StoreReader(DataDirectory(data_dir)) as reader:
        for name in ("bitcoin", "ethereum"):
            if name == chain:
                marks = ", ".join("?" for _ in addresses)
                rows = reader.rows(
                    f"SELECT address_id FROM {reader.table(name, 'addresses')} "
                    f"WHERE address IN ({marks})",
                    addresses,
                )
                return sorted(offset + int(r[0]) for r in rows)
            n_addr = reader.rows(
                f"SELECT max(address_id) + 1 FROM {reader.table(name, 'addresses')}"
            )
            n_tx = reader.rows(f"SELECT max(tx_id) + 1 FROM {reader.table(name, 'transactions')}")
            offset += int(n_addr[0][0]) + int(n_tx[0][0])
    raise SystemExit(f"chain {chain} not in the benchmark's layout")


def measure_ours(transfers: int) -> dict[str, Any]:
    """Our traces after ``load_index`` of the saved indexes (the kernels compiled or loaded by
    one untimed call first): the whole call and the kernel alone, median of five."""
    data = scenario_store(transfers)
    directory = DataDirectory(data.data_dir)
    chain, seeds, theft = seeds_and_start(data.folder)
    labels = [data.folder / "labels" / "services.yaml"]
    links = [data.folder / "bridge" / "crossings.csv"]
    for name in ("bitcoin", "ethereum"):
        load_index(directory, name)
    ours: dict[str, Any] = {}
    clock = KernelClock()
    for policy in ("haircut", "poison"):
        params = TraceParams(chain, tuple(seeds), policy=policy, max_hops=HOPS, since=theft)
        trace(directory, params, labels=labels, links=links)  # kernels compiled or loaded
        clock.seconds = 0.0
        seconds, result = timed(
            lambda p=params: trace(directory, p, labels=labels, links=links), repeat=5
        )
        kernel_s = clock.seconds / 5
        # the call returns the transfers as columns; the JSON document names every row
        document_s, _ = timed(
            lambda p=params: trace(directory, p, labels=labels, links=links).to_json(), repeat=5
        )
        ours[policy] = {
            "seconds": round(seconds, 4),
            "kernel_seconds": round(kernel_s, 4),
            "with_json_document_seconds": round(document_s, 4),
            "holders": len(result.holders),
            "transfers": len(result.transfers),
            "destinations": len(result.destinations),
        }
        print(f"ours {policy}: {ours[policy]}", file=sys.stderr)
    plain = TraceParams(
        chain, tuple(seeds), policy="poison", max_hops=HOPS, since=theft, min_fraction=0.0
    )
    seconds, result = timed(lambda: trace(directory, plain), repeat=3)
    ours["poison_no_labels_or_links"] = {
        "seconds": round(seconds, 4),
        "holders": len(result.holders),
    }
    return ours


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("transfers", type=int, nargs="?", default=20_000_000)
    parser.add_argument("--sample", type=int, default=2_000_000, help="edges for networkx")
    parser.add_argument("--ours-only", action="store_true", help="print our traces' timings")
    args = parser.parse_args()
    if args.ours_only:
        print(json.dumps(measure_ours(args.transfers)))
        return

    data = scenario_store(args.transfers)
    directory = DataDirectory(data.data_dir)
    chain, seeds, theft = seeds_and_start(data.folder)
    report: dict[str, Any] = {
        "benchmark": "trace",
        "machine": {"cpus": __import__("os").cpu_count(), "python": platform.python_version()},
        "scenario": {"transfers": data.transfers, "seeds": seeds, "chain": chain, "since": theft},
    }

    # -- our index ------------------------------------------------------------------------
    index: dict[str, Any] = {}
    for name in ("bitcoin", "ethereum"):
        started = time.perf_counter()
        built = load_index(directory, name, rebuild=True)
        seconds = time.perf_counter() - started
        reload_s, _ = timed(lambda name=name: load_index(directory, name), repeat=3)
        index[name] = {
            "transfers": built.n_edges,
            "build_seconds": round(seconds, 2),
            "reload_seconds": round(reload_s, 4),
            "bytes_per_transfer": round(built.nbytes() / built.n_edges, 1),
            # id <-> address / tx hash tables, saved beside the CSR arrays (counted apart)
            "lookup_bytes": built.lookup_nbytes(),
            "lookup_bytes_per_transfer": round(built.lookup_nbytes() / built.n_edges, 1),
        }
        print(f"index {name}: {index[name]}", file=sys.stderr)
    edges = sum(i["transfers"] for i in index.values())
    index["total"] = {
        "transfers": edges,
        "build_seconds": round(sum(i["build_seconds"] for i in index.values()), 2),
        "bytes_per_transfer": round(
            sum(i["bytes_per_transfer"] * i["transfers"] for i in index.values()) / edges, 1
        ),
        "lookup_bytes_per_transfer": round(
            sum(i["lookup_bytes"] for i in index.values()) / edges, 1
        ),
    }
    report["index"] = index

    # -- our traces, in a fresh process that loads the saved index, as a server would -------
    child = subprocess.run(
        [sys.executable, __file__, str(args.transfers), "--ours-only"],
        capture_output=True,
        text=True,
        check=True,
    )
    sys.stderr.write(child.stderr)
    ours = json.loads(child.stdout)
    report["ours"] = ours

    # -- peers ------------------------------------------------------------------------------
    graph = trace_peers.holder_graph(data.data_dir)
    print(f"peer graph: {graph.nodes:,} nodes, {graph.edges:,} edges", file=sys.stderr)
    start = peer_start(data.data_dir, theft)
    seed_ids = holder_ids(data.data_dir, chain, seeds)
    peers: dict[str, Any] = {"graph": {"nodes": graph.nodes, "edges": graph.edges}}
    cte_s, cte = timed(lambda: trace_peers.recursive_cte(graph, seed_ids, start, HOPS), 3)
    loop_s, loop = timed(lambda: trace_peers.join_loop(graph, seed_ids, start, HOPS), 3)
    peers["duckdb_recursive_cte"] = {"seconds": round(cte_s, 3), "reached": len(cte)}
    peers["duckdb_join_loop"] = {"seconds": round(loop_s, 3), "reached": len(loop)}
    print(
        f"peers: cte {cte_s:.2f} s ({len(cte)}), loop {loop_s:.2f} s ({len(loop)})", file=sys.stderr
    )

    # networkx holds a few hundred bytes per edge: it gets the first --sample edges after the
    # theft, and the CTE runs again on exactly those for the ratio.
    src, dst, rank = trace_peers.arrays(graph)
    sub = (rank > start) & (rank <= start + args.sample)
    graph.con.execute("ALTER TABLE edges RENAME TO edges_all")
    graph.con.execute(
        f"CREATE TABLE edges AS SELECT * FROM edges_all WHERE r > {start} "
        f"AND r <= {start + args.sample}"
    )
    cte_sub_s, cte_sub = timed(lambda: trace_peers.recursive_cte(graph, seed_ids, start, HOPS), 3)
    graph.con.execute("DROP TABLE edges")
    graph.con.execute("ALTER TABLE edges_all RENAME TO edges")
    started = time.perf_counter()
    nx_graph = trace_peers.networkx_graph(src[sub], dst[sub], rank[sub])
    nx_build = time.perf_counter() - started
    nx_s, nx_reach = timed(
        lambda g=nx_graph: trace_peers.networkx_temporal_bfs(g, seed_ids, start, HOPS), 3
    )
    peers["networkx_subsample"] = {
        "edges": int(sub.sum()),
        "build_seconds": round(nx_build, 2),
        "seconds": round(nx_s, 4),
        "reached": len(nx_reach),
        "duckdb_recursive_cte_same_subsample_seconds": round(cte_sub_s, 4),
        "same_reach_as_cte": len(nx_reach) == len(cte_sub),
    }
    reached, built, query = trace_peers.igraph_bfs(src, dst, graph.nodes, seed_ids, HOPS)
    peers["igraph_bfs"] = {
        "build_seconds": round(built, 2),
        "seconds": round(query, 4),
        "reached": reached,
    }
    reached, built, query = trace_peers.scipy_bfs(src, dst, graph.nodes, seed_ids, HOPS)
    peers["scipy_bfs"] = {
        "build_seconds": round(built, 2),
        "seconds": round(query, 4),
        "reached": reached,
    }
    report["peers"] = peers

    haircut = ours["haircut"]["seconds"]
    report["ratios"] = {
        "duckdb_cte_poison_over_our_haircut": round(cte_s / haircut, 1),
        "duckdb_loop_poison_over_our_haircut": round(loop_s / haircut, 1),
        "duckdb_cte_poison_over_our_haircut_with_json_document": round(
            cte_s / ours["haircut"]["with_json_document_seconds"], 1
        ),
        "duckdb_cte_poison_over_our_haircut_kernel": round(
            cte_s / max(ours["haircut"]["kernel_seconds"], 1e-6), 1
        ),
    }
    report["goals"] = {
        "index_build_seconds": 10,
        "index_bytes_per_transfer": 64,
        "haircut_10_hops_seconds": 0.1,
        "ratio_vs_duckdb_cte": 50,
    }
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


def peer_start(data_dir: Path, theft: str) -> int:
    """The peers' rank just before the theft: edges at or after it may carry taint."""
    with StoreReader(DataDirectory(data_dir)) as reader:
        total = 0
        for name in ("bitcoin", "ethereum"):
            rows = reader.rows(
                f"SELECT count(*) FROM {reader.table(name, 'transfers')} "
                f"WHERE {trace_peers.MOVE_FILTER} AND block_time < CAST(? AS TIMESTAMPTZ)",
                [theft],
            )
            total += int(rows[0][0])
    return total


if __name__ == "__main__":
    main()
