"""Entity clustering against peers, on the same input edges, in one run.

    python benchmarks/cluster.py [TRANSFERS]      # default 20,000,000; writes results/cluster.json

Builds (or reuses) a simulated scenario under benchmarks/work/, runs ``counterflow cluster``
on Bitcoin (multi-input, then with change) and Ethereum, then times the connected-components
step of three implementations on the same Bitcoin multi-input links:

- ours: the compiled union-find (counterflow.graph.clustering.union_find.components);
- scipy 1.17 ``csgraph.connected_components`` (building the sparse matrix included);
- graphsense-clustering 0.2.0 (Rust union-find), its input grouping (one list of input
  addresses per transaction) included, as its API takes it.

Each is run three times; the best time counts. Pairwise precision and recall against
``ground_truth/owners.parquet`` are reported per rule set.
"""

from __future__ import annotations

import json
import platform
import sys
import time
from pathlib import Path
from typing import Any

import duckdb
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from counterflow.graph.clustering import cluster, pairwise_scores
from counterflow.graph.clustering.union_find import components
from counterflow.store.datadir import DataDirectory
from scenario_store import scenario_store

RESULTS = Path(__file__).resolve().parent / "results" / "cluster.json"


def best(fn: Any, repeat: int = 3) -> tuple[float, Any]:
    times, out = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - started)
    return min(times), out


def scores(store: DataDirectory, owners: Path, chain: str) -> dict[str, Any]:
    ent = [str(p) for p in store.table_files(chain, "entities")]
    adr = [str(p) for p in store.table_files(chain, "addresses")]
    rows = duckdb.sql(
        f"SELECT e.entity_id, hash(o.owner) AS owner FROM read_parquet({ent!r}) e "
        f"JOIN read_parquet({adr!r}) a USING (address_id) JOIN read_parquet('{owners}') o "
        f"ON o.chain = '{chain}' AND o.address = a.address"
    ).fetchnumpy()
    return pairwise_scores(rows["entity_id"], rows["owner"].astype(np.int64)).to_json()


def compare_components(count: int, a: Any, b: Any, tx: Any) -> dict[str, Any]:
    """Best-of-three seconds of each implementation on the same links; same partition?"""
    from gs_clustering import Clustering
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    def ours() -> Any:
        return components(count, a, b)[0]

    def scipy_cc() -> Any:
        m = coo_matrix((np.ones(a.size, np.int8), (a, b)), shape=(count, count)).tocsr()
        return connected_components(m, directed=False)[1]

    def gs_cc() -> Any:
        # its input: one list of input addresses per transaction, grouped here
        cut = np.flatnonzero(np.diff(tx)) + 1
        groups = [
            [int(r[0]), *g.tolist()]
            for r, g in zip(np.split(b, cut), np.split(a, cut), strict=True)
        ]
        c = Clustering(max_address_id=count)
        c.process_transactions(groups)
        return c.get_mapping()

    t_ours, labels = best(ours)
    t_scipy, scipy_labels = best(scipy_cc)
    t_gs, _ = best(gs_cc)
    _, first = np.unique(scipy_labels, return_index=True)
    return {
        "ours_s": round(t_ours, 4),
        "scipy_s": round(t_scipy, 4),
        "graphsense_clustering_s": round(t_gs, 4),
        "scipy_over_ours": round(t_scipy / t_ours, 1),
        "graphsense_over_ours": round(t_gs / t_ours, 1),
        "same_partition_as_scipy": bool(np.array_equal(labels[first][scipy_labels], labels)),
    }


def main() -> None:
    transfers = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000_000
    data = scenario_store(transfers)
    store = DataDirectory(data.data_dir)
    owners = data.folder / "ground_truth" / "owners.parquet"
    result: dict[str, Any] = {
        "transfers": transfers,
        "machine": f"{platform.machine()}, {platform.python_version()}",
        "runs": {},
    }
    for name, chain, change in (
        ("bitcoin multi-input", "bitcoin", False),
        ("bitcoin multi-input + change", "bitcoin", True),
        ("ethereum deposit", "ethereum", False),
    ):
        report = cluster(store, chain, change=change, full=True)
        result["runs"][name] = {**report.to_json(), "scores": scores(store, owners, chain)}
        print(name, report.seconds, result["runs"][name]["scores"], flush=True)
        if name == "bitcoin multi-input":
            links = [str(p) for p in store.table_files(chain, "cluster_links")]
            edges = duckdb.sql(
                f"SELECT address_id, linked_id, tx_id FROM read_parquet({links!r}) ORDER BY tx_id"
            ).fetchnumpy()
            a, b, tx = edges["address_id"], edges["linked_id"], edges["tx_id"]
            result["edges"] = int(a.size)
            result["components"] = compare_components(report.addresses, a, b, tx)
            print(result["components"], flush=True)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
