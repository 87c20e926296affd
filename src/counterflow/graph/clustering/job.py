"""``counterflow cluster``: apply the rules, find entities, store them in one atomic commit.

A run is incremental when the store holds an earlier clustering made with the same rules and
nothing it was computed from has gone since (no rollback): UTXO rules then evaluate only the
transactions that new transfer parts touch, and their links are unioned into the stored
entities, whose ids are the smallest member address so yesterday's labels are a valid starting
forest. The deposit rule (account chains) depends on an address never sending elsewhere, which a
later transfer can break; it is re-evaluated over the chain's aggregates, and if a link made
earlier no longer holds, the run falls back to a full recomputation, so an incremental run
always equals a full one.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from counterflow.chains.registry import ChainSpec, get_chain
from counterflow.errors import StoreError
from counterflow.graph.clustering import rules
from counterflow.graph.clustering.rules import LINK_COLUMNS, RuleSet
from counterflow.graph.clustering.union_find import components
from counterflow.store.datadir import DataDirectory, Manifest, PendingCommit
from counterflow.store.engine import Engine, open_engine
from counterflow.store.schema import ADDRESSES, CLUSTER_LINKS, ENTITIES, TRANSFERS

Progress = Callable[[str], None]
OPERATION = "cluster"


@dataclass
class ClusterReport:
    """What one clustering run did. ``links`` counts the links it added, per rule."""

    chain: str
    engine: str
    mode: str
    rules: list[str]
    addresses: int = 0
    entities: int = 0
    largest_entity: int = 0
    clustered_addresses: int = 0
    merges: int = 0
    links: dict[str, int] = field(default_factory=dict)
    transfer_parts: int = 0
    full_reason: str | None = None
    commit: str | None = None
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def cluster(
    directory: str | os.PathLike[str] | DataDirectory | None,
    chain: str | ChainSpec,
    *,
    change: bool = False,
    engine: str = "duckdb",
    full: bool = False,
    progress: Progress | None = None,
    engine_options: dict[str, Any] | None = None,
) -> ClusterReport:
    """Cluster the addresses of ``chain`` into entities and store them (docs/clustering.md).

    ``change`` adds the change-address rule (UTXO chains); ``full`` ignores the stored state and
    recomputes everything. The result is the same on either ``engine``.
    """
    started = time.perf_counter()
    spec = get_chain(chain)
    data = directory if isinstance(directory, DataDirectory) else DataDirectory(directory)
    if spec.name not in data.chains() or not data.manifest(spec.name).files(TRANSFERS.name):
        raise StoreError(
            f"{data.root}: no {spec.name} transfers are stored; "
            f"ingest some first: counterflow ingest {spec.name} PATH…"
        )
    utxo = spec.family == "utxo"
    ruleset = RuleSet(multi_input=utxo, change=utxo and change, deposit=not utxo)
    report = ClusterReport(chain=spec.name, engine=engine, mode="full", rules=ruleset.names())
    note = progress or (lambda _stage: None)
    with data.writer(spec.name) as commit:
        eng = open_engine(engine, **(engine_options or {}))
        try:
            _Run(commit, eng, ruleset, utxo, note, report).run(force_full=full)
        finally:
            eng.close()
    report.seconds = round(time.perf_counter() - started, 3)
    return report


def last_state(manifest: Manifest) -> dict[str, Any] | None:
    """The record of the latest clustering commit, or None; rollbacks after it void it."""
    state: dict[str, Any] | None = None
    for record in manifest.commits:
        if record.get("operation") == OPERATION:
            state = record
        elif state is not None and "rollback_to" in record:
            state = None
    return state


class _Run:
    def __init__(
        self,
        commit: PendingCommit,
        engine: Engine,
        ruleset: RuleSet,
        utxo: bool,
        note: Progress,
        report: ClusterReport,
    ) -> None:
        self.commit = commit
        self.engine = engine
        self.ruleset = ruleset
        self.utxo = utxo
        self.note = note
        self.report = report
        self.manifest = commit.base
        self.directory = commit.directory
        self.chain = commit.chain

    def files(self, table: str) -> list[Path]:
        return self.directory.table_files(self.chain, table, self.manifest)

    def _full_reason(self, force_full: bool) -> tuple[str | None, dict[str, Any] | None]:
        state = last_state(self.manifest)
        if force_full:
            return "asked for", None
        if state is None:
            return "no earlier clustering", None
        if state.get("rules") != self.ruleset.names():
            return "rules changed", None
        done = set(state.get("transfer_parts", []))
        if not done <= set(self.manifest.files(TRANSFERS.name)):
            return "transfers clustered earlier were rewritten", None
        if not self.manifest.files(ENTITIES.name):
            return "no stored entities", None
        return None, state

    def run(self, *, force_full: bool) -> None:
        eng = self.engine
        count = self.manifest.next_id("address")
        all_parts = self.manifest.files(TRANSFERS.name)
        reason, state = self._full_reason(force_full)
        done = set(state.get("transfer_parts", [])) if state else set()
        new_parts = [p for p in all_parts if p not in done]
        self.note("reading the store")
        eng.read_table("transfers", TRANSFERS, self.files(TRANSFERS.name))
        eng.read_table("addresses", ADDRESSES, self.files(ADDRESSES.name))
        prior_links = self.files(CLUSTER_LINKS.name) if state else []
        eng.read_table("prior_links", CLUSTER_LINKS, prior_links)
        eng.read_table("prior_entities", ENTITIES, self.files(ENTITIES.name) if state else [])

        self.note("applying the rules")
        parts: list[str] = []
        if self.utxo:
            if state is not None:  # only the new transactions' inputs and outputs are read
                chain_dir = self.directory.chain_dir(self.chain)
                eng.read_table("new_transfers", TRANSFERS, [chain_dir / p for p in new_parts])
                eng.materialize(
                    "scope", "SELECT DISTINCT tx_id FROM new_transfers WHERE kind IN (1, 2)"
                )
            for name, sql in rules.utxo_prelude(scoped=state is not None):
                eng.materialize(name, sql)
            parts.append(rules.multi_input_links())
            if self.ruleset.change:
                parts.append(rules.change_links())
        elif self.ruleset.deposit:
            eng.materialize("deposit_now", rules.deposit_links())
            if state is not None:
                withdrawn = eng.query(
                    "SELECT count(*) FROM prior_links p LEFT JOIN deposit_now d "
                    "ON d.address_id = p.address_id AND d.linked_id = p.linked_id "
                    f"WHERE p.rule = '{rules.DEPOSIT}' AND d.address_id IS NULL"
                )[0][0]
                if withdrawn:
                    reason, state = "a later transfer broke an earlier deposit link", None
                    eng.read_table("prior_links", CLUSTER_LINKS, [])
                    eng.read_table("prior_entities", ENTITIES, [])
            parts.append(
                "SELECT d.* FROM deposit_now d LEFT JOIN prior_links p "
                "ON p.address_id = d.address_id AND p.linked_id = d.linked_id "
                f"AND p.rule = '{rules.DEPOSIT}' WHERE p.address_id IS NULL"
            )
        if not parts:  # pragma: no cover - every family has a rule
            parts.append("SELECT * FROM prior_links WHERE false")
        union = " UNION ALL ".join(f"SELECT {LINK_COLUMNS} FROM ({p}) r" for p in parts)
        eng.materialize("links", union)
        for rule, n in eng.query("SELECT rule, count(*) FROM links GROUP BY rule ORDER BY rule"):
            self.report.links[str(rule)] = int(n)

        self.note("finding entities")
        before = (
            (int(state.get("entities", 0)) + count - int(state.get("addresses", 0)))
            if (state)
            else count
        )
        if eng.name == "duckdb":
            sizes = self._components_embedded(count)
        else:
            sizes = self._components_spark(count)
        self.report.mode = "full" if state is None else "incremental"
        self.report.full_reason = reason
        self.report.addresses = count
        self.report.entities = int(sizes[0])
        self.report.largest_entity = int(sizes[1])
        self.report.clustered_addresses = int(sizes[2])
        self.report.merges = before - self.report.entities
        self.report.transfer_parts = len(new_parts) if state is not None else len(all_parts)

        self.note("writing")
        folder = self.commit.table_folder(CLUSTER_LINKS.name)
        files = eng.write_parquet(
            f"SELECT {LINK_COLUMNS} FROM links ORDER BY address_id, linked_id, tx_id", folder
        )
        if state is None:
            self.commit.drop_part_files(CLUSTER_LINKS.name, self.manifest.files(CLUSTER_LINKS.name))
        self.commit.add_part_files(CLUSTER_LINKS.name, files)
        record = {
            "at": datetime.now(UTC).isoformat(timespec="seconds"),
            "operation": OPERATION,
            "engine": eng.name,
            "rules": self.ruleset.names(),
            "mode": self.report.mode,
            "transfer_parts": all_parts,
            "addresses": count,
            "entities": self.report.entities,
        }
        self.commit.publish({}, record)
        self.report.commit = self.commit.commit_id

    def _components_embedded(self, count: int) -> tuple[int, int, int]:
        from counterflow.store.duckdb_engine import DuckDBEngine

        assert isinstance(self.engine, DuckDBEngine)
        con = self.engine.con
        start = None
        prior_rows = con.execute("SELECT count(*) FROM prior_entities").fetchone()
        if prior_rows and prior_rows[0]:
            start = (
                con.execute("SELECT entity_id FROM prior_entities ORDER BY address_id")
                .fetchnumpy()["entity_id"]
                .astype(np.int64)
            )
        edges = con.execute("SELECT address_id, linked_id FROM links").fetchnumpy()
        labels, _ = components(count, edges["address_id"], edges["linked_id"], start=start)
        table = pa.table({"address_id": np.arange(count, dtype=np.int64), "entity_id": labels})
        target = self.commit.table_folder(ENTITIES.name) / "part-0.parquet"
        pq.write_table(table, target, compression="zstd", row_group_size=1_000_000)
        self.commit.add_part_files(ENTITIES.name, [target])
        return entity_sizes(labels)

    def _components_spark(self, count: int) -> tuple[int, int, int]:
        from counterflow.graph.clustering.spark_components import star_components
        from counterflow.store.spark_engine import SparkEngine

        assert isinstance(self.engine, SparkEngine)
        spark = self.engine.spark
        mapped = spark.sql(
            "SELECT coalesce(ea.entity_id, l.address_id) AS x, "
            "coalesce(eb.entity_id, l.linked_id) AS y FROM links l "
            "LEFT JOIN prior_entities ea ON ea.address_id = l.address_id "
            "LEFT JOIN prior_entities eb ON eb.address_id = l.linked_id"
        )
        star_components(mapped).createOrReplaceTempView("relabel")
        spark.range(count).withColumnRenamed("id", "address_id").createOrReplaceTempView("ids")
        self.engine.materialize(
            "new_entities",
            "SELECT i.address_id, coalesce(r.entity, coalesce(p.entity_id, i.address_id)) "
            "AS entity_id FROM ids i LEFT JOIN prior_entities p ON p.address_id = i.address_id "
            "LEFT JOIN relabel r ON r.node = coalesce(p.entity_id, i.address_id)",
        )
        files = self.engine.write_parquet(
            "SELECT address_id, entity_id FROM new_entities ORDER BY address_id",
            self.commit.table_folder(ENTITIES.name),
        )
        self.commit.add_part_files(ENTITIES.name, files)
        row = self.engine.query(
            "SELECT count(*), coalesce(max(n), 0), coalesce(sum(CASE WHEN n > 1 THEN n END), 0) "
            "FROM (SELECT entity_id, count(*) AS n FROM new_entities GROUP BY entity_id) s"
        )[0]
        return int(row[0]), int(row[1]), int(row[2])


def entity_sizes(labels: np.ndarray[Any, Any]) -> tuple[int, int, int]:
    """(entities, largest entity, addresses in entities of two or more) of a labelling."""
    if labels.size == 0:
        return 0, 0, 0
    counts = np.bincount(labels)
    counts = counts[counts > 0]
    return int(counts.size), int(counts.max()), int(counts[counts > 1].sum())
