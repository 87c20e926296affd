"""Rollback: remove every block above a height, as if it had never been ingested.

A node that reorganises replaces its newest blocks; the store must then forget them before the
winning branch is ingested. A rollback is one commit like an ingest (same lock, same atomic
manifest swap), so an interrupted rollback leaves the store as it was.

What goes:

- transfers, blocks, coverage and pending inputs of blocks above ``height``;
- dictionary entries first assigned by those blocks: addresses and transactions no remaining
  transfer refers to and that came with the removed blocks, assets no remaining transfer uses;
- an input below ``height`` resolved from an output above it (only possible when blocks were
  ingested out of chain order) goes back to ``pending_inputs``, as a fresh ingest of the
  remaining blocks would leave it. Outputs spent by removed inputs are unspent again simply
  because the input rows are gone: spending is recorded only by the input.

Ids are dense and assigned in order of first appearance, so the removed ids are normally the
newest ones and the counters just move back. When they are not (a rollback into the middle of
one ingest's range, whose transactions known only as spent-from were numbered after all its
blocks), the remaining ids above the first removed one are renumbered in their old order,
which is the order a fresh ingest of the remaining blocks assigns.

Only the parts that hold removed or renumbered rows are rewritten; Parquet footers (per-file
maxima) tell which without reading the data.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from counterflow.chains.registry import ChainSpec, get_chain
from counterflow.errors import ConfigError
from counterflow.store.datadir import DataDirectory, PendingCommit
from counterflow.store.duckdb_engine import DuckDBEngine, sql_list
from counterflow.store.schema import (
    ADDRESSES,
    ASSETS,
    BLOCKS,
    COVERAGE,
    PENDING_INPUTS,
    TRANSACTIONS,
    TRANSFERS,
    Table,
    TransferKind,
)

Progress = Callable[[str], None]

#: Transfer columns holding ids of each dictionary.
_REFERENCES: dict[str, tuple[str, ...]] = {
    "transaction": ("tx_id", "prev_tx_id"),
    "address": ("src_id", "dst_id"),
    "asset": ("asset_id",),
}
_DICTIONARIES: dict[str, tuple[Table, str]] = {
    "transaction": (TRANSACTIONS, "tx_id"),
    "address": (ADDRESSES, "address_id"),
    "asset": (ASSETS, "asset_id"),
}


@dataclass
class RollbackReport:
    """What one rollback removed. ``pending_restored`` counts inputs made pending again."""

    chain: str
    height: int
    blocks: int = 0
    transfers: int = 0
    addresses: int = 0
    transactions: int = 0
    assets: int = 0
    pending_removed: int = 0
    pending_restored: int = 0
    renumbered: list[str] | None = None
    commit: str | None = None
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def rollback(
    directory: str | os.PathLike[str] | DataDirectory | None,
    chain: str | ChainSpec,
    height: int,
    *,
    progress: Progress | None = None,
) -> RollbackReport:
    """Remove everything the store holds for blocks above ``height`` of ``chain``, atomically.

    ``height`` -1 empties the chain. Nothing above ``height``: nothing is written.
    """
    started = time.perf_counter()
    spec = get_chain(chain)
    if height < -1:
        raise ConfigError(f"cannot roll back to height {height}: heights start at 0 (-1 empties)")
    data = directory if isinstance(directory, DataDirectory) else DataDirectory(directory)
    report = RollbackReport(chain=spec.name, height=height)
    note = progress or (lambda _stage: None)
    with data.writer(spec.name) as commit:
        engine = DuckDBEngine()
        try:
            _Rollback(commit, engine, height, note).run(report)
        finally:
            engine.close()
    report.seconds = round(time.perf_counter() - started, 3)
    return report


class _Rollback:
    def __init__(
        self, commit: PendingCommit, engine: DuckDBEngine, height: int, note: Progress
    ) -> None:
        self.commit = commit
        self.engine = engine
        self.height = height
        self.note = note
        self.chain_dir = commit.directory.chain_dir(commit.chain)

    # -- helpers ----------------------------------------------------------------------------
    def _files(self, table: Table) -> list[str]:
        return [str(self.chain_dir / rel) for rel in self.commit.base.files(table.name)]

    def _maxima(self, files: list[str], columns: tuple[str, ...]) -> dict[str, int]:
        """The largest value of any of ``columns`` per file, from the Parquet footers."""
        if not files:
            return {}
        wanted = ", ".join(f"'{c}'" for c in columns)
        rows = self.engine.query(
            f"SELECT file_name, max(TRY_CAST(stats_max_value AS BIGINT)) "
            f"FROM parquet_metadata({sql_list(files)}) WHERE path_in_schema IN ({wanted}) "
            "GROUP BY file_name"
        )
        return {str(name): -1 if top is None else int(top) for name, top in rows}

    def _read(self, name: str, table: Table, files: list[str]) -> None:
        self.engine.read_table(name, table, [Path(f) for f in files])

    def _count(self, sql: str) -> int:
        return int(self.engine.query(sql)[0][0])

    def _commit_of(self, file: str) -> str:
        return Path(file).relative_to(self.chain_dir).parts[1]

    def _replace(self, table: Table, old: list[str], sql: str) -> None:
        """Write ``sql`` as the new parts of ``table`` in place of the files ``old``."""
        if table.name in (ASSETS.name, PENDING_INPUTS.name) or old:
            files = self.engine.write_parquet(sql, self.commit.table_folder(table.name))
            self.commit.add_part_files(table.name, files)
        if old:
            self.commit.drop_part_files(
                table.name, [str(Path(f).relative_to(self.chain_dir)) for f in old]
            )

    # -- the rollback -----------------------------------------------------------------------
    def run(self, report: RollbackReport) -> None:
        h = self.height
        eng = self.engine
        self.note("finding blocks to remove")
        above = {
            table.name: {
                f for f, top in self._maxima(self._files(table), (column,)).items() if top > h
            }
            for table, column in (
                (TRANSFERS, "block_number"),
                (BLOCKS, "block_number"),
                (COVERAGE, "block_number"),
                (TRANSACTIONS, "block_number"),
                (ADDRESSES, "first_block"),
            )
        }
        self._read("store_pending", PENDING_INPUTS, self._files(PENDING_INPUTS))
        report.pending_removed = self._count(
            f"SELECT count(*) FROM store_pending WHERE block_number > {h}"
        )
        if not any(above.values()) and not report.pending_removed:
            return
        touched = {self._commit_of(f) for files in above.values() for f in files}

        # Candidates: entries that came with a touched commit and may belong to removed blocks.
        tx_parts = [f for f in self._files(TRANSACTIONS) if self._commit_of(f) in touched]
        addr_parts = [f for f in self._files(ADDRESSES) if self._commit_of(f) in touched]
        self._read("tx_touched", TRANSACTIONS, tx_parts)
        self._read("addr_touched", ADDRESSES, addr_parts)
        eng.materialize(
            "tx_above", f"SELECT tx_id, tx_hash FROM tx_touched WHERE block_number > {h}"
        )
        first_above = eng.query("SELECT min(tx_id) FROM tx_above")[0][0]

        # Transfer parts to read: those with rows above h, and those whose inputs may spend
        # from a transaction above h.
        transfer_files = self._files(TRANSFERS)
        rewrite = set(above[TRANSFERS.name])
        if first_above is not None:
            rewrite |= {
                f
                for f, top in self._maxima(transfer_files, ("prev_tx_id",)).items()
                if top >= first_above
            }
        self._read("transfers_read", TRANSFERS, sorted(rewrite))
        input_kind = int(TransferKind.INPUT)
        eng.materialize(
            "transfers_rw",
            f"""
            SELECT f.*, f.block_number <= {h} AND NOT coalesce(
                       f.kind = {input_kind}
                       AND f.prev_tx_id IN (SELECT tx_id FROM tx_above), false) AS keep,
                   f.block_number <= {h} AND coalesce(
                       f.kind = {input_kind}
                       AND f.prev_tx_id IN (SELECT tx_id FROM tx_above), false) AS repend
            FROM transfers_read AS f
            """,
        )
        report.transfers = self._count("SELECT count(*) FROM transfers_rw WHERE NOT keep")
        report.pending_restored = self._count("SELECT count(*) FROM transfers_rw WHERE repend")

        candidates = {
            "transaction": f"SELECT tx_id AS id FROM tx_touched "
            f"WHERE block_number > {h} OR block_number IS NULL",
            "address": f"SELECT address_id AS id FROM addr_touched WHERE first_block > {h}",
            "asset": "SELECT DISTINCT asset_id AS id FROM transfers_rw "
            "WHERE NOT keep AND asset_id > 0",
        }
        for name, sql in candidates.items():
            eng.materialize(f"cand_{name}", sql)
        lowest = {name: eng.query(f"SELECT min(id) FROM cand_{name}")[0][0] for name in candidates}

        # Referenced by a remaining transfer: in the kept rows read, or in other parts that
        # hold ids as large as a candidate's.
        others = [f for f in transfer_files if f not in rewrite]
        maxima = {name: self._maxima(others, cols) for name, cols in _REFERENCES.items()}
        extra = sorted(
            {
                f
                for name, low in lowest.items()
                if low is not None
                for f, top in maxima[name].items()
                if top >= low
            }
        )
        self._read("transfers_extra", TRANSFERS, extra)
        columns = ", ".join(TRANSFERS.column_names)
        eng.view(
            "transfers_kept",
            f"SELECT {columns} FROM transfers_rw WHERE keep "
            f"UNION ALL SELECT {columns} FROM transfers_extra",
        )
        next_ids: dict[str, int] = {}
        # Per dictionary, the smallest id that is renumbered (None: no renumbering).
        maps: dict[str, int | None] = {}
        renumbered: list[str] = []
        for name, cols in _REFERENCES.items():
            used = " UNION ".join(
                f"SELECT {c} AS id FROM transfers_kept WHERE {c} IN (SELECT id FROM cand_{name})"
                for c in cols
            )
            eng.materialize(
                f"removed_{name}",
                f"SELECT id FROM cand_{name} WHERE id NOT IN ({used})",
            )
            count, low = eng.query(f"SELECT count(*), min(id) FROM removed_{name}")[0]
            base_next = self.commit.base.next_id(name)
            if name == "asset":
                base_next = max(base_next, 1)
            maps[name] = None
            if not count:
                continue
            next_ids[name] = base_next - int(count)
            if int(count) == base_next - int(low):
                continue  # the newest ids went: the counter moves back
            renumbered.append(name)
            table, id_col = _DICTIONARIES[name]
            files = (
                self._files(table)
                if table is ASSETS
                else [
                    f for f, top in self._maxima(self._files(table), (id_col,)).items() if top > low
                ]
            )
            self._read(f"high_{name}", table, files)
            eng.materialize(
                f"map_{name}",
                f"""
                SELECT {id_col} AS old, CAST({low} + row_number() OVER (ORDER BY {id_col}) - 1
                                            AS {"INTEGER" if table is ASSETS else "BIGINT"}) AS new
                FROM high_{name}
                WHERE {id_col} > {low} AND {id_col} NOT IN (SELECT id FROM removed_{name})
                """,
            )
            maps[name] = self._count(f"SELECT min(old) FROM map_{name}")
        report.renumbered = renumbered or None
        report.addresses = self._count("SELECT count(*) FROM removed_address")
        report.transactions = self._count("SELECT count(*) FROM removed_transaction")
        report.assets = self._count("SELECT count(*) FROM removed_asset")
        report.blocks = self._count_blocks(above[BLOCKS.name])

        self.note("writing")
        self._write_transfers(rewrite, others, maps)
        self._write_dictionaries(tx_parts, addr_parts, maps)
        self._write_by_block(BLOCKS, above[BLOCKS.name], "block_number")
        self._write_by_block(COVERAGE, above[COVERAGE.name], "block_number")
        self.note("writing pending inputs")
        self._write_pending()
        record = {
            "at": datetime.now(UTC).isoformat(timespec="seconds"),
            "rollback_to": h,
            "blocks": report.blocks,
            "transfers": -report.transfers,
        }
        self.commit.publish(next_ids, record)
        report.commit = self.commit.commit_id

    def _count_blocks(self, files: set[str]) -> int:
        self._read("blocks_above", BLOCKS, sorted(files))
        return self._count(f"SELECT count(*) FROM blocks_above WHERE block_number > {self.height}")

    def _mapped(self, column: str, name: str, maps: dict[str, int | None]) -> tuple[str, str]:
        """The expression for ``column`` after renumbering, and the join it needs."""
        if maps.get(name) is None:
            return column, ""
        alias = f"m_{column}"
        return (
            f"coalesce({alias}.new, f.{column}) AS {column}",
            f" LEFT JOIN map_{name} AS {alias} ON {alias}.old = f.{column}",
        )

    def _write_transfers(
        self,
        rewrite: set[str],
        others: list[str],
        maps: dict[str, int | None],
    ) -> None:
        # Parts with no removed row are rewritten only if they refer to renumbered ids.
        renumber_parts: set[str] = set()
        for name, cols in _REFERENCES.items():
            low = maps.get(name)
            if low is not None:
                renumber_parts |= {f for f, top in self._maxima(others, cols).items() if top >= low}
        self._read("transfers_renumber", TRANSFERS, sorted(renumber_parts))
        columns = ", ".join(TRANSFERS.column_names)
        source = (
            f"SELECT {columns} FROM transfers_rw WHERE keep "
            f"UNION ALL SELECT {columns} FROM transfers_renumber"
        )
        selects: list[str] = []
        joins = ""
        for column in TRANSFERS.column_names:
            owner = next((n for n, cols in _REFERENCES.items() if column in cols), None)
            if owner is None:
                selects.append(f"f.{column}")
                continue
            expr, join = self._mapped(column, owner, maps)
            selects.append(expr if join else f"f.{column}")
            joins += join
        self._replace(
            TRANSFERS,
            sorted(rewrite | renumber_parts),
            f"SELECT {', '.join(selects)} FROM ({source}) AS f{joins}",
        )

    def _write_dictionaries(
        self,
        tx_parts: list[str],
        addr_parts: list[str],
        maps: dict[str, int | None],
    ) -> None:
        for name, parts in (("transaction", tx_parts), ("address", addr_parts)):
            table, id_col = _DICTIONARIES[name]
            removed = self._count(f"SELECT count(*) FROM removed_{name}")
            files = set(parts) if removed else set()
            low = maps.get(name)
            if low is not None:
                files |= {
                    f
                    for f, top in self._maxima(self._files(table), (id_col,)).items()
                    if top >= low
                }
            if not files:
                continue
            self._read(f"{name}_rewrite", table, sorted(files))
            expr, join = self._mapped(id_col, name, maps)
            cols = [expr if c == id_col else f"f.{c}" for c in table.column_names]
            self._replace(
                table,
                sorted(files),
                f"SELECT {', '.join(cols)} FROM {name}_rewrite AS f{join} "
                f"WHERE f.{id_col} NOT IN (SELECT id FROM removed_{name})",
            )
        self._read("assets_all", ASSETS, self._files(ASSETS))
        expr, join = self._mapped("asset_id", "asset", maps)
        cols = [expr if c == "asset_id" else f"f.{c}" for c in ASSETS.column_names]
        self._replace(
            ASSETS,
            self._files(ASSETS),
            f"SELECT {', '.join(cols)} FROM assets_all AS f{join} "
            "WHERE f.asset_id NOT IN (SELECT id FROM removed_asset) ORDER BY 1",
        )

    def _write_by_block(self, table: Table, files: set[str], column: str) -> None:
        if not files:
            return
        self._read(f"{table.name}_rewrite", table, sorted(files))
        self._replace(
            table,
            sorted(files),
            f"SELECT * FROM {table.name}_rewrite WHERE {column} <= {self.height} ORDER BY ALL",
        )

    def _write_pending(self) -> None:
        h = self.height
        restored = self._count("SELECT count(*) FROM transfers_rw WHERE repend")
        if restored:
            self._read("tx_all", TRANSACTIONS, self._files(TRANSACTIONS))
            again = """
                UNION ALL
                SELECT r.block_number, r.tx_index, r.seq, t.tx_hash, p.tx_hash, r.prev_vout,
                       r.block_time
                FROM transfers_rw AS r
                JOIN tx_all AS t ON t.tx_id = r.tx_id
                JOIN tx_above AS p ON p.tx_id = r.prev_tx_id
                WHERE r.repend
            """
        else:
            again = ""
            if not self._files(PENDING_INPUTS):
                return  # account chains keep no pending inputs
        self._replace(
            PENDING_INPUTS,
            self._files(PENDING_INPUTS),
            f"""
            SELECT * FROM (
                SELECT * FROM store_pending WHERE block_number <= {h} {again}
            ) ORDER BY block_number, tx_index, seq
            """,
        )
