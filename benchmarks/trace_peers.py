"""The peers of the tracing benchmark: temporal reachability and plain BFS without Counterflow.

All of them read one holder graph of the store, built here in DuckDB: account chains' addresses
and UTXO chains' addresses and transactions as nodes (a Bitcoin input is address → transaction,
an output transaction → address), every value-moving transfer as an edge, and one global rank
per edge ordering both chains by block time and then by each chain's own order (block, position
in block, sequence). Poison reachability: a seed holds taint from rank ``start``; an edge
``u → v`` at rank ``r`` carries it when ``u`` was reached before ``r``; within ``hops`` edges.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np

from counterflow.store.datadir import DataDirectory

#: Transfers that move value between two holders (not fees, not minting).
MOVE_FILTER = (
    "kind IN (1, 2, 4, 5, 6) AND (kind IN (1, 2) OR (src_id IS NOT NULL AND dst_id IS NOT NULL))"
)


@dataclass
class HolderGraph:
    con: duckdb.DuckDBPyConnection
    nodes: int
    edges: int
    build_seconds: float


def holder_graph(data_dir: Path, chains: tuple[str, ...] = ("bitcoin", "ethereum")) -> HolderGraph:
    """Table ``edges(src, dst, r)`` over both chains, node ids offset per chain."""
    started = time.perf_counter()
    con = duckdb.connect()
    directory = DataDirectory(data_dir)
    parts = []
    offset = 0
    for chain in chains:

        def files(table: str, chain: str = chain) -> str:
            return repr([str(f) for f in directory.table_files(chain, table)])

        addresses = con.execute(
            f"SELECT coalesce(max(address_id) + 1, 0) FROM read_parquet({files('addresses')})"
        ).fetchone()
        transactions = con.execute(
            f"SELECT coalesce(max(tx_id) + 1, 0) FROM read_parquet({files('transactions')})"
        ).fetchone()
        assert addresses is not None and transactions is not None
        n_addr, n_tx = int(addresses[0]), int(transactions[0])
        tx_base = offset + n_addr
        parts.append(
            f"""SELECT block_time, '{chain}' AS chain, block_number, tx_index, seq,
                   CASE kind WHEN 2 THEN {tx_base} + tx_id ELSE {offset} + src_id END AS src,
                   CASE kind WHEN 1 THEN {tx_base} + tx_id ELSE {offset} + dst_id END AS dst
                FROM read_parquet({files("transfers")})
                WHERE {MOVE_FILTER}"""
        )
        offset = tx_base + n_tx
    con.execute(
        f"""CREATE TABLE edges AS
            SELECT src, dst, row_number() OVER (ORDER BY block_time, chain, block_number,
                                                tx_index, seq) AS r
            FROM ({" UNION ALL ".join(parts)}) ORDER BY src, r"""
    )
    row = con.execute("SELECT count(*) FROM edges").fetchone()
    assert row is not None
    return HolderGraph(con, offset, int(row[0]), time.perf_counter() - started)


def arrays(graph: HolderGraph) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    table = graph.con.execute("SELECT src, dst, r FROM edges").fetchnumpy()
    return (
        np.asarray(table["src"], np.int64),
        np.asarray(table["dst"], np.int64),
        np.asarray(table["r"], np.int64),
    )


def recursive_cte(graph: HolderGraph, seeds: list[int], start: int, hops: int) -> dict[int, int]:
    """One recursive CTE, keyed by node so each round carries only improved arrivals."""
    values = ", ".join(f"({s})" for s in seeds)
    rows = graph.con.execute(
        f"""
        WITH RECURSIVE reach(node, t, hop) USING KEY (node) AS (
            SELECT s, {start}, 0 FROM (VALUES {values}) v(s)
            UNION
            SELECT e.dst, min(e.r), min(w.hop) + 1
            FROM reach w JOIN edges e ON e.src = w.node AND e.r > w.t
            LEFT JOIN recurring.reach old ON old.node = e.dst
            WHERE w.hop < {hops} AND (old.node IS NULL OR e.r < old.t)
            GROUP BY e.dst
        )
        SELECT node, t FROM reach"""
    ).fetchall()
    return dict(rows)


def join_loop(graph: HolderGraph, seeds: list[int], start: int, hops: int) -> dict[int, int]:
    """A Python loop of DuckDB joins: the frontier table against the edges, one hop a round."""
    con = graph.con
    con.execute("CREATE OR REPLACE TEMP TABLE reached(node BIGINT, t BIGINT)")
    values = ", ".join(f"({s})" for s in seeds)
    con.execute(f"INSERT INTO reached SELECT s, {start} FROM (VALUES {values}) v(s)")
    con.execute("CREATE OR REPLACE TEMP TABLE frontier AS SELECT * FROM reached")
    for _ in range(hops):
        con.execute(
            """CREATE OR REPLACE TEMP TABLE step AS
               SELECT e.dst AS node, min(e.r) AS t
               FROM frontier f JOIN edges e ON e.src = f.node AND e.r > f.t
               GROUP BY e.dst"""
        )
        con.execute(
            """CREATE OR REPLACE TEMP TABLE frontier AS
               SELECT s.node, s.t FROM step s LEFT JOIN reached r USING (node)
               WHERE r.node IS NULL OR s.t < r.t"""
        )
        row = con.execute("SELECT count(*) FROM frontier").fetchone()
        if row is None or row[0] == 0:
            break
        con.execute(
            """CREATE OR REPLACE TEMP TABLE reached AS
               SELECT node, min(t) AS t
               FROM (SELECT * FROM reached UNION ALL SELECT * FROM frontier) GROUP BY node"""
        )
    return dict(con.execute("SELECT node, t FROM reached").fetchall())


def networkx_graph(src: np.ndarray, dst: np.ndarray, r: np.ndarray) -> object:
    import networkx as nx

    g = nx.MultiDiGraph()
    g.add_edges_from(zip(src.tolist(), dst.tolist(), ({"r": x} for x in r.tolist()), strict=True))
    return g


def networkx_temporal_bfs(g: object, seeds: list[int], start: int, hops: int) -> dict[int, int]:
    arrival = {s: start for s in seeds}
    frontier = set(seeds)
    for _ in range(hops):
        improved: dict[int, int] = {}
        for u in frontier:
            if u not in g:  # type: ignore[operator]
                continue
            for _, v, data in g.out_edges(u, data=True):  # type: ignore[attr-defined]
                rank = data["r"]
                if rank > arrival[u] and rank < improved.get(v, arrival.get(v, 1 << 62)):
                    improved[v] = rank
        arrival.update(improved)
        frontier = set(improved)
        if not frontier:
            break
    return arrival


def igraph_bfs(
    src: np.ndarray, dst: np.ndarray, nodes: int, seeds: list[int], hops: int
) -> tuple[int, float, float]:
    """Plain (not temporal) ``hops``-step neighbourhood in igraph: reached, build s, query s."""
    import igraph

    started = time.perf_counter()
    g = igraph.Graph(n=nodes, edges=np.column_stack([src, dst]), directed=True)
    built = time.perf_counter() - started
    started = time.perf_counter()
    reached: set[int] = set()
    for hood in g.neighborhood(seeds, order=hops, mode="out"):
        reached.update(hood)
    return len(reached), built, time.perf_counter() - started


def scipy_bfs(
    src: np.ndarray, dst: np.ndarray, nodes: int, seeds: list[int], hops: int
) -> tuple[int, float, float]:
    """Plain ``hops``-step BFS as sparse frontier expansions over a scipy CSR matrix."""
    from scipy import sparse

    started = time.perf_counter()
    a = sparse.csr_matrix((np.ones(len(src), np.float32), (src, dst)), shape=(nodes, nodes))
    built = time.perf_counter() - started
    started = time.perf_counter()
    seen = np.zeros(nodes, bool)
    frontier = np.zeros(nodes, bool)
    frontier[seeds] = True
    seen |= frontier
    for _ in range(hops):
        step = a.T @ frontier.astype(np.float32) > 0
        frontier = step & ~seen
        if not frontier.any():
            break
        seen |= frontier
    return int(seen.sum()), built, time.perf_counter() - started
