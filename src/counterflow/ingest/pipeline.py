"""Ingest: export files → legs → validated, de-duplicated, dictionary-encoded transfers.

One run is one commit. The steps, each a SQL statement run by the chosen engine:

1. read the export files as typed text relations (``raw_*``);
2. the chain family's transform turns rows into legs (:mod:`.utxo`, :mod:`.account`);
3. addresses that are not already canonical are checked and normalised by the chain's codec;
4. rows with a problem are an error (default) or quarantined to a reject file
   (``skip_invalid``); a bad row is dropped whole, so a transaction is never half-stored;
5. (export, block) pairs the store already holds are dropped, which makes a re-run a no-op;
6. new addresses, transactions and assets get dense ids, in order of first appearance;
7. Parquet parts are written into a fresh commit folder and the manifest swapped atomically.

Nothing reaches the store unless every step succeeds; an interrupted run leaves it untouched.

Step 1 can also be a :class:`~counterflow.ingest.sources.RelationSource` that computes the
``raw_*`` relations in export shape (Bitcoin Core block files, :mod:`.block_files`); every later
step is the same, so such a source stores exactly what the export of the same blocks would.
"""

from __future__ import annotations

import itertools
import json
import os
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from counterflow.chains.registry import ChainSpec, address_normalizer, get_chain
from counterflow.errors import ConfigError, ExportFormatError, InputError, InvalidAddressError
from counterflow.ingest import account, utxo
from counterflow.ingest.checks import (
    decimal_amount,
    first_failure,
    overflow_text,
    required,
    unsigned_int,
)
from counterflow.ingest.exports import (
    COLUMNAR_TOKEN_TRANSFER_COLUMNS,
    COLUMNAR_TRANSACTION_COLUMNS,
    SPECS,
    BrokenLine,
    ExportFile,
    ExportKind,
    check_columns,
    discover,
    find_broken_lines,
    without_lines,
)
from counterflow.ingest.legs import LEG_COLUMNS, leg_select, union_all
from counterflow.ingest.sources import Relations, RelationSource
from counterflow.store.datadir import DataDirectory, PendingCommit
from counterflow.store.duckdb_engine import DuckDBEngine, memory_limit_bytes
from counterflow.store.engine import Engine, EngineError, open_engine
from counterflow.store.schema import (
    ADDRESSES,
    ALL_TABLES,
    ASSETS,
    BLOCKS,
    COVERAGE,
    PENDING_INPUTS,
    TRANSACTIONS,
    TRANSFERS,
)

if TYPE_CHECKING:  # the columnar path imports numba, so it is loaded only when taken
    from counterflow.ingest import columnar

Progress = Callable[[str], None]

_FAMILY_KINDS: dict[str, tuple[ExportKind, ...]] = {
    "utxo": (ExportKind.BLOCKS, ExportKind.TRANSACTIONS),
    "account": (
        ExportKind.BLOCKS,
        ExportKind.TRANSACTIONS,
        ExportKind.RECEIPTS,
        ExportKind.TOKEN_TRANSFERS,
        ExportKind.TRACES,
        ExportKind.TOKENS,
    ),
}

#: Exports whose rows make their blocks "covered", with the column holding the block number.
_COVERAGE_SOURCES: dict[ExportKind, str] = {
    ExportKind.BLOCKS: '"number"',
    ExportKind.TRANSACTIONS: "block_number",
    ExportKind.TOKEN_TRANSFERS: "block_number",
    ExportKind.TRACES: "block_number",
}

#: The natural key of a row of each export: rows repeated across the files of one run (a JSON
#: and a CSV copy, overlapping shards) are read once.
_ROW_KEYS: dict[tuple[str, ExportKind], str] = {
    ("utxo", ExportKind.BLOCKS): '"number"',
    ("utxo", ExportKind.TRANSACTIONS): "lower(hash), block_number",
    ("account", ExportKind.BLOCKS): '"number"',
    ("account", ExportKind.TRANSACTIONS): "lower(hash)",
    ("account", ExportKind.RECEIPTS): "lower(transaction_hash)",
    ("account", ExportKind.TOKEN_TRANSFERS): "lower(transaction_hash), log_index",
    ("account", ExportKind.TRACES): (
        "block_number, coalesce(trace_id, concat_ws('/', transaction_hash, trace_type, "
        'trace_address, reward_type, to_address, "value"))'
    ),
    ("account", ExportKind.TOKENS): "lower(address)",
}

_STORE_VIEWS = {
    "store_transfers": TRANSFERS,
    "store_addresses": ADDRESSES,
    "store_transactions": TRANSACTIONS,
    "store_assets": ASSETS,
    "store_blocks": BLOCKS,
    "store_coverage": COVERAGE,
    "store_pending": PENDING_INPUTS,
}


@dataclass
class IngestReport:
    """What one ingest did. Counts of ``read``/``stored``/``rejected``/``skipped`` are transfers."""

    chain: str
    engine: str
    files: list[str]
    ignored_files: list[str]
    read: int = 0
    stored: int = 0
    rejected: int = 0
    skipped: int = 0
    rejected_rows: int = 0
    new_addresses: int = 0
    new_transactions: int = 0
    new_blocks: int = 0
    pending_inputs: int = 0
    rejects_file: str | None = None
    commit: str | None = None
    seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class _Reject:
    file: str
    row: int | None
    field: str | None
    reason: str


def ingest(
    chain: str | ChainSpec,
    paths: Sequence[str | os.PathLike[str]],
    *,
    blocks: bool = False,
    data_dir: str | os.PathLike[str] | DataDirectory | None = None,
    engine: str = "duckdb",
    skip_invalid: bool = False,
    rejects_path: str | os.PathLike[str] | None = None,
    progress: Progress | None = None,
    columnar: bool | None = None,
) -> IngestReport:
    """Ingest blockchain-etl export files (or folders of them) for ``chain`` into the store.

    With ``blocks``, the paths are Bitcoin Core block files (``blk*.dat``), raw blocks or
    folders of them instead, read by :class:`~counterflow.ingest.block_files.BlockFileSource`.

    Idempotent: (export, block) pairs already stored are skipped. Atomic: on any error, or if
    the process dies, the store is as it was. With ``skip_invalid``, rows that fail
    validation go to a JSON-lines reject file (one object per row with file, row, field and
    reason) instead of failing the run.

    Account exports take the columnar path (:mod:`.columnar`) where it applies and the SQL
    path otherwise; both store the same rows. By default (``columnar=None``) the columnar path
    is tried for exports of at least :data:`COLUMNAR_MIN_BYTES`, where it pays for loading its
    compiled kernels; ``True`` tries it whatever the size and ``False`` runs the SQL path only
    (tests compare the two; it also rules the columnar path out when diagnosing).
    """
    if blocks:
        if skip_invalid or rejects_path is not None:
            raise ConfigError(
                "--skip-invalid applies to export rows; a block file is read whole or the "
                "ingest stops at the first broken block"
            )
        from counterflow.ingest.block_files import BlockFileSource

        return ingest_source(
            chain,
            BlockFileSource([Path(p) for p in paths]),
            data_dir=data_dir,
            engine=engine,
            progress=progress,
        )
    started = time.perf_counter()
    spec = get_chain(chain)
    if not spec.ingestible:
        raise ConfigError(
            f"{spec.name} exports cannot be ingested yet; its addresses can be validated"
        )
    directory = data_dir if isinstance(data_dir, DataDirectory) else DataDirectory(data_dir)
    note = progress or (lambda _stage: None)
    note("discovering files")
    discovery = discover([Path(p) for p in paths])
    allowed = _FAMILY_KINDS[spec.family]
    files: list[ExportFile] = []
    headers: dict[Path, list[str]] = {}
    for export in discovery.files:
        if export.kind not in allowed:
            raise InputError(
                f"{export.path}: a {export.kind} export does not apply to {spec.name} "
                f"({spec.family} chains read {', '.join(k.value for k in allowed)})"
            )
        columns = check_columns(export, SPECS[(spec.family, export.kind)])
        if columns is not None:
            files.append(export)
            headers[export.path] = columns
    report = IngestReport(
        chain=spec.name,
        engine=engine,
        files=[str(f.path) for f in files],
        ignored_files=[str(p) for p in discovery.ignored],
    )
    if discovery.ignored:
        report.warnings.append(
            f"{len(discovery.ignored)} file(s) not read (listed in ignored_files): logs, "
            "contracts and geth_traces exports add no value movement to token_transfers and "
            "traces, and other files in the folders are not exports"
        )
    with directory.writer(spec.name) as commit:
        done = False
        if (
            columnar is not False
            and engine == "duckdb"
            and not skip_invalid
            and spec.family == "account"
            and (columnar or _large_exports_bytes(files) >= COLUMNAR_MIN_BYTES)
        ):
            with open_engine(engine) as eng:
                fast = _ColumnarRun(spec, eng, commit, files, dict(headers), False, note)
                handover = fast.try_execute(report)
            done = handover is None
            if handover is not None:
                note(f"columnar path not taken ({handover}); running the SQL path")
        if not done:
            with open_engine(engine) as eng:
                run = _Run(spec, eng, commit, files, headers, skip_invalid, note)
                run.execute(report, rejects_path)
    report.seconds = round(time.perf_counter() - started, 3)
    return report


def ingest_source(
    chain: str | ChainSpec,
    source: RelationSource,
    *,
    data_dir: str | os.PathLike[str] | DataDirectory | None = None,
    engine: str = "duckdb",
    progress: Progress | None = None,
) -> IngestReport:
    """Ingest the raw relations ``source`` computes, with the export path's guarantees."""
    started = time.perf_counter()
    spec = get_chain(chain)
    source.check(spec)
    directory = data_dir if isinstance(data_dir, DataDirectory) else DataDirectory(data_dir)
    note = progress or (lambda _stage: None)
    report = IngestReport(
        chain=spec.name, engine=engine, files=source.files, ignored_files=source.ignored
    )
    with directory.writer(spec.name) as commit, open_engine(engine) as eng:
        run = _Run(spec, eng, commit, [], {}, False, note, source=source)
        run.execute(report, None)
    report.seconds = round(time.perf_counter() - started, 3)
    return report


def _block_row_failure() -> tuple[str, str]:
    """(field, reason) SQL of the first failing check of a ``raw_blocks`` row."""
    return first_failure(
        [
            unsigned_int('"number"', "number"),
            required("hash"),
            unsigned_int('"timestamp"', "timestamp"),
        ]
    )


class _Run:
    """One ingest inside the write lock: the engine session and the commit under way."""

    def __init__(
        self,
        spec: ChainSpec,
        engine: Engine,
        commit: PendingCommit,
        files: list[ExportFile],
        headers: dict[Path, list[str]],
        skip_invalid: bool,
        note: Progress,
        *,
        source: RelationSource | None = None,
    ) -> None:
        self.spec = spec
        self.source = source
        self._relations: Relations | None = None
        self.engine = engine
        self.commit = commit
        self.files = files
        self.headers = headers
        self.skip_invalid = skip_invalid
        self.note = note
        self.rejects: list[_Reject] = []
        self._original: dict[str, str] = {}
        self._dropped: dict[str, list[int]] = {}  # cleaned copy -> rows left out, sorted
        # Rows of cleaned copies next to a quarantined line: their blocks are held back, since
        # the malformed line most likely belonged to one of them (exports are in block order).
        self._neighbours: set[tuple[str, int]] = set()
        self._address_map_empty = False
        self._scratch: tempfile.TemporaryDirectory[str] | None = None

    # -- orchestration --------------------------------------------------------------------
    def execute(self, report: IngestReport, rejects_path: str | os.PathLike[str] | None) -> None:
        try:
            self._register_store()
            self._build(precise=self.skip_invalid)
            bad = self._count("SELECT count(*) FROM legs_checked WHERE reason IS NOT NULL")
            if bad and not self.skip_invalid:
                # Row numbers cost a pass over the files, so they are computed only now.
                self._build(precise=True)
                raise self._first_reject()
            report.read, report.skipped = self.engine.query(
                "SELECT count(*), count(*) FILTER (WHERE NOT is_new) FROM legs_all "
                "WHERE kind > 0 AND source <> 'pending'"
            )[0]
            self._drop_rejected(report)
            if self._relations is not None:
                report.warnings.extend(self._relations.warnings)
            if self.rejects:
                # Written before the commit: a run whose record of rejects could not be
                # written must not have stored anything.
                report.rejects_file = str(self._write_rejects(rejects_path))
            self._write(report)
        finally:
            if self._scratch is not None:
                self._scratch.cleanup()

    def _register_store(self) -> None:
        directory = self.commit.directory
        for view, table in _STORE_VIEWS.items():
            files = directory.table_files(self.spec.name, table.name, self.commit.base)
            self.engine.read_table(view, table, files)

    def _build(self, *, precise: bool) -> None:
        """Read the files and build checked legs; a malformed file is located and reported."""
        try:
            self._read_and_transform(precise)
        except EngineError as exc:
            if self.source is not None:
                raise InputError(f"{', '.join(self.source.files)}: {exc}") from exc
            broken = self._locate_broken_files()
            if not broken:
                raise ExportFormatError(
                    ", ".join(str(f.path) for f in self.files), f"cannot be read: {exc}"
                ) from exc
            if not self.skip_invalid:
                export, line = broken[0]
                raise ExportFormatError(str(export.path), line.reason, row=line.row) from exc
            self._quarantine_broken_lines(broken)
            self._read_and_transform(precise)

    def _read_and_transform(self, precise: bool) -> None:
        if self.source is not None:
            self._register_source()
        else:
            self._read_exports(precise)
        self.note("transforming")
        if self.spec.is_utxo:
            utxo.build_legs(self.engine)
        else:
            account.build_legs(self.engine)
        self._add_block_row_checks()
        self._drop_covered()
        self.note("validating addresses")
        self._check_addresses()

    def _register_source(self) -> None:
        assert self.source is not None
        if self._relations is None:  # computed once, even when the build runs twice
            self.note(self.source.stage)
            self._relations = self.source.relations(self.spec, self.engine)
        for kind in _FAMILY_KINDS[self.spec.family]:
            self.engine.register_arrow(f"raw_{kind.value}", self._relations.tables[kind])

    def _read_exports(self, precise: bool, kinds: Sequence[ExportKind] | None = None) -> None:
        self.note("reading exports")
        for kind in kinds if kinds is not None else _FAMILY_KINDS[self.spec.family]:
            files = [f for f in self.files if f.kind is kind]
            self.engine.read_export(
                f"raw_{kind.value}_files",
                [(f.path, f.format, self.headers[f.path]) for f in files],
                SPECS[(self.spec.family, kind)].columns,
                row_numbers=precise,
            )
            # Each export is read from disk once; every later step reads the table. Rows that
            # several files of the run repeat are kept once (first file, first row).
            if len(files) <= 1:
                self.engine.materialize(
                    f"raw_{kind.value}", f"SELECT * FROM raw_{kind.value}_files"
                )
            else:
                key = _ROW_KEYS[(self.spec.family, kind)]
                self.engine.materialize(
                    f"raw_{kind.value}",
                    f"""
                    SELECT * FROM (
                        SELECT f.*, row_number() OVER (
                            PARTITION BY {key} ORDER BY f._file, f._row) AS _copy
                        FROM raw_{kind.value}_files AS f
                    ) AS d WHERE _copy = 1
                    """,
                )

    def _locate_broken_files(self) -> list[tuple[ExportFile, BrokenLine]]:
        found: list[tuple[ExportFile, BrokenLine]] = []
        for export in self.files:
            found.extend((export, line) for line in find_broken_lines(export))
        return found

    def _quarantine_broken_lines(self, broken: list[tuple[ExportFile, BrokenLine]]) -> None:
        self._scratch = tempfile.TemporaryDirectory(prefix="counterflow-clean-")
        by_file: dict[Path, set[int]] = {}
        for export, line in broken:
            by_file.setdefault(export.path, set()).add(line.row)
            self.rejects.append(_Reject(str(export.path), line.row, None, line.reason))
        cleaned: list[ExportFile] = []
        for i, export in enumerate(self.files):
            if export.path in by_file:
                suffix = ".csv" if export.format == "csv" else ".json"
                target = Path(self._scratch.name) / f"{i}-{export.kind.value}{suffix}"
                clean = without_lines(export, by_file[export.path], target)
                self.headers[clean.path] = self.headers[export.path]
                self._original[str(clean.path)] = str(export.path)
                dropped = sorted(by_file[export.path])
                self._dropped[str(clean.path)] = dropped
                for row in dropped:
                    before = (row - 1) - sum(1 for d in dropped if d <= row - 1)
                    for neighbour in (before, before + 1):
                        if neighbour >= 1:
                            self._neighbours.add((str(clean.path), neighbour))
                cleaned.append(clean)
            else:
                cleaned.append(export)
        self.files = cleaned

    # -- steps ------------------------------------------------------------------------------
    def _add_block_row_checks(self) -> None:
        """Block rows are checked too, so a bad blocks export cannot slip in unnoticed."""
        field, reason = _block_row_failure()
        block_checks = leg_select(
            _file="_file",
            _row="_row",
            source="'blocks'",
            block_number='TRY_CAST("number" AS BIGINT)',
            kind="0",
            seq="0",
            field=field,
            reason=reason,
        )
        self.engine.view(
            "legs_with_block_checks",
            union_all(
                [
                    "SELECT * FROM legs",
                    f"SELECT {block_checks} FROM raw_blocks WHERE {reason} IS NOT NULL",
                ]
            ),
        )

    def _drop_covered(self) -> None:
        """Mark the legs of (export, block) pairs that the store does not hold yet as new.

        Coverage is per block, so every file of an export that shares blocks (shards of one
        range) must come in the same run; a later run skips blocks an earlier one stored.
        """
        sources = " UNION ALL ".join(
            f"SELECT '{kind.value}' AS source, TRY_CAST({col} AS BIGINT) AS block_number "
            f"FROM raw_{kind.value}"
            for kind, col in _COVERAGE_SOURCES.items()
            if kind in _FAMILY_KINDS[self.spec.family]
        )
        self.engine.materialize(
            "batch_new_coverage",
            f"""
            SELECT DISTINCT b.source, b.block_number FROM ({sources}) AS b
            WHERE b.block_number IS NOT NULL AND NOT EXISTS (
                SELECT 1 FROM store_coverage AS c
                WHERE c.source = b.source AND c.block_number = b.block_number)
            """,
        )
        # All legs are computed once, each marked new or not; counts and later steps scan it.
        # The join with the coverage is skipped when it cannot drop anything (an empty store).
        if not self._count("SELECT count(*) FROM store_coverage"):
            self.engine.materialize(
                "legs_all", "SELECT l.*, true AS is_new FROM legs_with_block_checks AS l"
            )
        else:
            self.engine.materialize(
                "legs_all",
                """
                SELECT l.*, (l.source = 'pending'
                             OR (l.reason IS NOT NULL AND l.block_number IS NULL)
                             OR n.source IS NOT NULL) AS is_new
                FROM legs_with_block_checks AS l
                LEFT JOIN batch_new_coverage AS n
                  ON n.source = l.source AND n.block_number = l.block_number
                """,
            )
        self.engine.view("legs_new", "SELECT * FROM legs_all WHERE is_new")

    def _check_addresses(self) -> None:
        """Run the chain's codec on every address that is not provably canonical already."""
        if self.source is not None and self.source.canonical_addresses:
            canonical = "true"
        elif not self.spec.is_utxo:
            canonical = "regexp_matches(a, '^0x[0-9a-f]{40}$')"
        else:
            canonical = "false"
        rows = self.engine.query(
            f"""
            SELECT DISTINCT a FROM (
                SELECT src AS a FROM legs_new WHERE reason IS NULL
                UNION ALL SELECT dst FROM legs_new WHERE reason IS NULL
                UNION ALL SELECT asset FROM legs_new WHERE reason IS NULL
            ) AS x
            WHERE a IS NOT NULL AND NOT starts_with(a, 'x-') AND NOT ({canonical})
              AND NOT EXISTS (SELECT 1 FROM store_addresses AS s WHERE s.address = x.a)
            """
        )
        normalize = address_normalizer(self.spec)
        raw: list[str] = []
        canon: list[str | None] = []
        errors: list[str | None] = []
        for (address,) in rows:
            raw.append(address)
            try:
                canon.append(normalize(address))
                errors.append(None)
            except InvalidAddressError as exc:
                canon.append(None)
                errors.append(str(exc))
        self.engine.register_arrow(
            "address_map",
            pa.table(
                {
                    "raw": pa.array(raw, pa.string()),
                    "canonical": pa.array(canon, pa.string()),
                    "error": pa.array(errors, pa.string()),
                }
            ),
        )
        self._address_map_empty = not raw
        if self._address_map_empty:
            # Every address is canonical already (the usual case for lowercase EVM exports).
            self.engine.view("legs_checked", f"SELECT {', '.join(LEG_COLUMNS)} FROM legs_new")
            return
        src_field, dst_field = (
            ("inputs.addresses", "outputs.addresses")
            if self.spec.is_utxo
            else ("from_address", "to_address")
        )
        cols = [
            f"coalesce(m_{c}.canonical, l.{c}) AS {c}" if c in ("src", "dst", "asset") else f"l.{c}"
            for c in LEG_COLUMNS
            if c not in ("field", "reason")
        ]
        self.engine.view(
            "legs_checked",
            f"""
            SELECT {", ".join(cols)},
                   CASE WHEN l.reason IS NOT NULL THEN l.field
                        WHEN m_src.error IS NOT NULL THEN '{src_field}'
                        WHEN m_dst.error IS NOT NULL THEN '{dst_field}'
                        WHEN m_asset.error IS NOT NULL THEN 'token_address' END AS field,
                   coalesce(l.reason, m_src.error, m_dst.error, m_asset.error) AS reason
            FROM legs_new AS l
            LEFT JOIN address_map AS m_src ON m_src.raw = l.src
            LEFT JOIN address_map AS m_dst ON m_dst.raw = l.dst
            LEFT JOIN address_map AS m_asset ON m_asset.raw = l.asset
            """,
        )

    def _first_reject(self) -> ExportFormatError:
        rows = self.engine.query(
            "SELECT _file, _row, field, reason FROM legs_checked WHERE reason IS NOT NULL "
            "ORDER BY _file, _row LIMIT 1"
        )
        if not rows:  # pragma: no cover - the fast pass found one, the precise pass must too
            return ExportFormatError("(batch)", "a row failed validation")
        path, row, fld, reason = rows[0]
        return ExportFormatError(
            self._display(path), reason, row=self._original_row(path, row), field=fld
        )

    def _display(self, path: str) -> str:
        return self._original.get(path, path)

    def _original_row(self, path: str, row: int | None) -> int | None:
        """A row of a cleaned copy as the row of the file the user gave."""
        if row is None:
            return None
        for dropped in self._dropped.get(path, []):
            if dropped <= row:
                row += 1
            else:
                break
        return row

    def _drop_rejected(self, report: IngestReport) -> None:
        """Drop rejected rows, and hold back the rest of each (export, block) they belong to.

        A block is only ever stored whole: if one row of it is rejected, its other rows are
        held back too and the block is not marked covered, so that re-ingesting a corrected
        file stores the complete block exactly once.
        """
        if (
            self._address_map_empty
            and not self._neighbours
            and not self._count("SELECT count(*) FROM legs_checked WHERE reason IS NOT NULL")
        ):
            self.engine.view("new_coverage", "SELECT * FROM batch_new_coverage")
            self.engine.view(
                "rejected_rows",
                "SELECT CAST(NULL AS VARCHAR) AS _file, CAST(NULL AS BIGINT) AS _row, "
                "CAST(NULL AS VARCHAR) AS detail WHERE false",
            )
            report.rejected_rows = len(self.rejects)
            # Nothing to drop and nothing to rewrite: later steps scan the leg table directly.
            self.engine.view("legs_final", "SELECT * FROM legs_checked WHERE kind > 0")
            return
        self.engine.materialize(
            "rejected_rows",
            """
            SELECT _file, _row, min(coalesce(field, '') || '|' || reason) AS detail
            FROM legs_checked WHERE reason IS NOT NULL GROUP BY _file, _row
            """,
        )
        self.engine.register_arrow(
            "broken_neighbours",
            pa.table(
                {
                    "_file": pa.array([f for f, _ in sorted(self._neighbours)], pa.string()),
                    "_row": pa.array([r for _, r in sorted(self._neighbours)], pa.int64()),
                }
            ),
        )
        self.engine.materialize(
            "held_blocks",
            """
            SELECT DISTINCT l.source, l.block_number FROM legs_checked AS l
            WHERE l.block_number IS NOT NULL AND l.source <> 'pending' AND (
                EXISTS (SELECT 1 FROM rejected_rows AS r
                        WHERE r._file = l._file AND r._row = l._row)
                OR EXISTS (SELECT 1 FROM broken_neighbours AS b
                           WHERE b._file = l._file AND b._row = l._row))
            """,
        )
        self.engine.view(
            "new_coverage",
            """
            SELECT n.* FROM batch_new_coverage AS n WHERE NOT EXISTS (
                SELECT 1 FROM held_blocks AS h
                WHERE h.source = n.source AND h.block_number = n.block_number)
            """,
        )
        for path, row, detail in self.engine.query(
            "SELECT _file, _row, detail FROM rejected_rows ORDER BY _file, _row"
        ):
            fld, _, reason = detail.partition("|")
            self.rejects.append(
                _Reject(self._display(path), self._original_row(path, row), fld or None, reason)
            )
        held_back = """
            SELECT DISTINCT l._file, l._row, l.block_number FROM legs_checked AS l
            JOIN held_blocks AS h ON h.source = l.source AND h.block_number = l.block_number
            WHERE NOT EXISTS (
                SELECT 1 FROM rejected_rows AS r WHERE r._file = l._file AND r._row = l._row)
        """
        for path, row, block in self.engine.query(f"{held_back} ORDER BY 1, 2"):
            self.rejects.append(
                _Reject(
                    self._display(path),
                    self._original_row(path, row),
                    None,
                    f"held back: another row of block {block} in this export was rejected "
                    "(or a malformed line next to it); re-ingest the corrected file to store "
                    "the whole block",
                )
            )
        report.rejected_rows = len(self.rejects)
        self.engine.materialize(
            "legs_final",
            """
            SELECT l.* FROM legs_checked AS l
            WHERE l.kind > 0
              AND NOT EXISTS (SELECT 1 FROM rejected_rows AS r
                              WHERE r._file = l._file AND r._row = l._row)
              AND NOT EXISTS (SELECT 1 FROM held_blocks AS h
                              WHERE h.source = l.source AND h.block_number = l.block_number)
            """,
        )
        report.rejected = self._count(
            "SELECT count(*) FROM legs_checked WHERE kind > 0"
        ) - self._count("SELECT count(*) FROM legs_final")

    def _write(self, report: IngestReport) -> None:
        eng = self.engine
        manifest = self.commit.base
        next_address = manifest.next_id("address")
        next_tx = manifest.next_id("transaction")
        next_asset = max(manifest.next_id("asset"), 1)  # 0 is the native asset
        self.note("assigning ids")
        eng.materialize(
            "new_addresses",
            f"""
            SELECT CAST({next_address} + row_number() OVER (ORDER BY first_block, address) - 1
                        AS BIGINT) AS address_id,
                   address, first_block
            FROM (
                SELECT a AS address, min(block_number) AS first_block FROM (
                    SELECT src AS a, block_number FROM legs_final
                    UNION ALL SELECT dst, block_number FROM legs_final
                ) AS x WHERE a IS NOT NULL GROUP BY a
            ) AS n
            WHERE NOT EXISTS (SELECT 1 FROM store_addresses AS s WHERE s.address = n.address)
            """,
        )
        eng.materialize(
            "new_transactions",
            f"""
            SELECT CAST({next_tx} + row_number() OVER (
                        ORDER BY block_number, tx_index, tx_hash) - 1 AS BIGINT) AS tx_id,
                   tx_hash, block_number, tx_index
            FROM (
                SELECT tx_hash, min(block_number) AS block_number, min(tx_index) AS tx_index
                FROM (
                    SELECT tx_hash, block_number, tx_index FROM legs_final
                    WHERE tx_hash IS NOT NULL
                    UNION ALL
                    SELECT b.tx_hash, b.block_number, b.tx_index FROM batch_transactions AS b
                    WHERE b.reason IS NULL AND EXISTS (
                        SELECT 1 FROM new_coverage AS c
                        WHERE c.source = 'transactions' AND c.block_number = b.block_number)
                    UNION ALL
                    SELECT prev_hash, CAST(NULL AS BIGINT), CAST(NULL AS INTEGER)
                    FROM legs_final WHERE prev_hash IS NOT NULL
                ) AS u
                GROUP BY tx_hash
            ) AS n
            WHERE NOT EXISTS (SELECT 1 FROM store_transactions AS s WHERE s.tx_hash = n.tx_hash)
            """,
        )
        eng.materialize(
            "all_assets",
            f"""
            SELECT asset_id, contract, symbol, decimals FROM store_assets
            UNION ALL
            SELECT CAST({next_asset} + row_number() OVER (ORDER BY first_block, contract) - 1
                        AS INTEGER), contract, CAST(NULL AS VARCHAR), CAST(NULL AS INTEGER)
            FROM (SELECT asset AS contract, min(block_number) AS first_block FROM legs_final
                  WHERE asset IS NOT NULL GROUP BY asset) AS n
            WHERE NOT EXISTS (SELECT 1 FROM store_assets AS s WHERE s.contract = n.contract)
            """,
        )
        eng.view(
            "all_addresses",
            "SELECT address_id, address FROM store_addresses "
            "UNION ALL SELECT address_id, address FROM new_addresses",
        )
        eng.view(
            "all_transactions",
            "SELECT tx_id, tx_hash FROM store_transactions "
            "UNION ALL SELECT tx_id, tx_hash FROM new_transactions",
        )
        # Only UTXO inputs name the transaction they spend from.
        prev_id, prev_join = (
            ("p.tx_id", "LEFT JOIN all_transactions AS p ON p.tx_hash = l.prev_hash")
            if self.spec.is_utxo
            else ("CAST(NULL AS BIGINT)", "")
        )
        transfers_sql = f"""
            SELECT l.block_number, l.tx_index, l.seq, CAST(l.kind AS TINYINT) AS kind,
                   t.tx_id, s.address_id AS src_id, d.address_id AS dst_id,
                   CAST(coalesce(a.asset_id, 0) AS INTEGER) AS asset_id,
                   {decimal_amount("l.amount_text")} AS amount,
                   {overflow_text("l.amount_text")} AS amount_raw,
                   to_timestamp(l.block_ts) AS block_time,
                   {prev_id} AS prev_tx_id, l.prev_vout
            FROM legs_final AS l
            LEFT JOIN all_transactions AS t ON t.tx_hash = l.tx_hash
            LEFT JOIN all_addresses AS s ON s.address = l.src
            LEFT JOIN all_addresses AS d ON d.address = l.dst
            LEFT JOIN all_assets AS a ON a.contract = l.asset
            {prev_join}
            ORDER BY l.block_number, l.tx_index NULLS LAST, l.seq, kind, t.tx_id NULLS LAST
        """
        self._prepare_blocks()
        if self.spec.is_utxo:
            self._prepare_pending()
        counts = dict(
            zip(
                ("legs_final", "new_addresses", "new_transactions", "new_blocks", "new_coverage"),
                self.engine.query(
                    "SELECT (SELECT count(*) FROM legs_final), "
                    "(SELECT count(*) FROM new_addresses), "
                    "(SELECT count(*) FROM new_transactions), "
                    "(SELECT count(*) FROM new_blocks), (SELECT count(*) FROM new_coverage)"
                )[0],
                strict=True,
            )
        )
        self._store(report, transfers_sql, counts, (next_address, next_tx, next_asset))

    def _tally(self) -> tuple[int, int, int]:
        """Stored transfers without a position, lost contract-creation values, without a time."""
        unknown_order = self._count("SELECT count(*) FROM legs_final WHERE tx_index IS NULL")
        lost = 0
        if not self.spec.is_utxo:
            lost = self._count(
                "SELECT count(*) FROM tx_rows WHERE reason IS NULL AND dst IS NULL "
                "AND coalesce(status, '1') = '1' AND ltrim(value_text, '0') <> ''"
            )
        no_time = self._count("SELECT count(*) FROM legs_final WHERE block_ts IS NULL")
        return unknown_order, lost, no_time

    def _store(
        self,
        report: IngestReport,
        transfers_sql: str,
        counts: dict[str, int],
        next_ids: tuple[int, int, int],
    ) -> None:
        """Write every table of the run into the pending commit and publish it.

        Both paths end here: the relations ``new_addresses``, ``new_transactions``,
        ``all_assets``, ``new_blocks`` and ``new_coverage`` exist, and ``transfers_sql`` selects
        the transfers rows.
        """
        next_address, next_tx, next_asset = next_ids
        report.stored = int(counts["legs_final"])
        report.new_addresses = int(counts["new_addresses"])
        report.new_transactions = int(counts["new_transactions"])
        report.new_blocks = int(counts["new_blocks"])
        if self.spec.is_utxo:
            report.pending_inputs = self._count("SELECT count(*) FROM pending_next")
        if not any(counts.values()) and not self._pending_changed():
            return  # nothing new: publish nothing, so a re-run leaves the store byte-identical
        self.note("writing transfers")
        self._write_large_tables(transfers_sql)
        self._write_table(
            BLOCKS.name,
            "SELECT block_number, block_hash, parent_hash, block_time, tx_count "
            "FROM new_blocks ORDER BY block_number",
        )
        self._write_table(
            COVERAGE.name,
            "SELECT source, block_number FROM new_coverage ORDER BY source, block_number",
        )
        self._write_assets()
        if self.spec.is_utxo:
            self._write_table(
                PENDING_INPUTS.name,
                "SELECT * FROM pending_next ORDER BY block_number, tx_index, seq",
            )
        new_assets = self._count(f"SELECT count(*) FROM all_assets WHERE asset_id >= {next_asset}")
        unknown_order, lost, no_time = self._tally()
        if unknown_order:
            report.warnings.append(
                f"{unknown_order} transfer(s) whose transaction position is unknown (ingest the "
                "transactions export with them to order them within their block)"
            )
        if lost:
            report.warnings.append(
                f"{lost} contract creation(s) carried value to an address the export does "
                "not give (no receipt_contract_address): that value is not stored; ingest "
                "the receipts export with the transactions"
            )
        if no_time:
            report.warnings.append(
                f"{no_time} transfer(s) without a block time (ingest the blocks export too)"
            )
        record = {
            "at": datetime.now(UTC).isoformat(timespec="seconds"),
            "engine": self.engine.name,
            "files": (
                self.source.files
                if self.source is not None
                else [self._display(str(f.path)) for f in self.files]
            ),
            "transfers": report.stored,
            "rejected_rows": report.rejected_rows,
        }
        self.commit.publish(
            {
                "address": next_address + report.new_addresses,
                "transaction": next_tx + report.new_transactions,
                "asset": next_asset + new_assets,
            },
            record,
        )
        report.commit = self.commit.commit_id

    def _write_large_tables(self, transfers_sql: str) -> None:
        """The transfers and the new addresses and transactions: most of a commit's bytes."""
        self._write_table(TRANSFERS.name, transfers_sql)
        self._write_table(
            ADDRESSES.name,
            # Dictionaries are written unsorted: readers join on the id, and sorting millions
            # of rows costs more than it saves.
            "SELECT address_id, address, first_block FROM new_addresses",
        )
        self._write_table(
            TRANSACTIONS.name,
            "SELECT tx_id, tx_hash, block_number, tx_index FROM new_transactions",
        )

    def _write_table(self, table: str, sql: str) -> None:
        if table not in ALL_TABLES:  # pragma: no cover - programming error
            raise ConfigError(f"unknown table {table}")
        files = self.engine.write_parquet(sql, self.commit.table_folder(table))
        self.commit.add_part_files(table, files)

    def _prepare_blocks(self) -> None:
        from_txs = (
            "SELECT TRY_CAST(block_number AS BIGINT) AS block_number, block_hash, "
            "CAST(NULL AS VARCHAR) AS parent_hash, TRY_CAST(block_timestamp AS BIGINT) AS ts, "
            "CAST(NULL AS INTEGER) AS tx_count FROM raw_transactions"
        )
        parent = "parent_hash" if not self.spec.is_utxo else "previous_block_hash"
        from_blocks = (
            f'SELECT TRY_CAST("number" AS BIGINT) AS block_number, hash AS block_hash, '
            f"{parent} AS parent_hash, "
            'TRY_CAST("timestamp" AS BIGINT) AS ts, '
            "TRY_CAST(transaction_count AS INTEGER) AS tx_count FROM raw_blocks"
        )
        self.engine.materialize(
            "new_blocks",
            f"""
            SELECT block_number, max(lower(block_hash)) AS block_hash,
                   max(lower(parent_hash)) AS parent_hash, to_timestamp(max(ts)) AS block_time,
                   max(tx_count) AS tx_count
            FROM ({from_blocks} UNION ALL {from_txs}) AS b
            WHERE block_number IS NOT NULL AND ts IS NOT NULL
              AND NOT EXISTS (SELECT 1 FROM store_blocks AS s WHERE s.block_number = b.block_number)
              AND EXISTS (SELECT 1 FROM new_coverage AS n WHERE n.block_number = b.block_number)
            GROUP BY block_number
            """,
        )

    def _write_assets(self) -> None:
        native = self.spec
        token_info = (
            """
            LEFT JOIN (SELECT lower(address) AS contract, max(symbol) AS symbol,
                              max(TRY_CAST(decimals AS INTEGER)) AS decimals
                       FROM raw_tokens GROUP BY lower(address)) AS t
                   ON t.contract = a.contract
            """
            if not native.is_utxo
            else "LEFT JOIN (SELECT CAST(NULL AS VARCHAR) AS contract, "
            "CAST(NULL AS VARCHAR) AS symbol, CAST(NULL AS INTEGER) AS decimals) AS t "
            "ON t.contract = a.contract"
        )
        symbol = native.native_symbol.replace("'", "")
        self._write_table(
            ASSETS.name,
            f"""
            SELECT 0 AS asset_id, CAST(NULL AS VARCHAR) AS contract, '{symbol}' AS symbol,
                   {int(native.native_decimals)} AS decimals
            UNION ALL
            SELECT a.asset_id, a.contract, coalesce(t.symbol, a.symbol),
                   coalesce(t.decimals, a.decimals)
            FROM all_assets AS a {token_info}
            WHERE a.asset_id > 0
            ORDER BY asset_id
            """,
        )

    def _prepare_pending(self) -> None:
        """The pending inputs after this run: still unresolved, from new blocks, not rejected."""
        self.engine.materialize(
            "pending_next",
            """
            SELECT p.block_number, p.tx_index, p.seq, p.tx_hash, p.prev_tx_hash, p.prev_vout,
                   p.block_time
            FROM pending_candidates AS p
            WHERE (p._file = 'pending' OR EXISTS (
                      SELECT 1 FROM new_coverage AS n
                      WHERE n.source = 'transactions' AND n.block_number = p.block_number))
            UNION ALL
            SELECT s.block_number, s.tx_index, s.seq, s.tx_hash, s.prev_tx_hash, s.prev_vout,
                   s.block_time
            FROM store_pending AS s
            WHERE EXISTS (SELECT 1 FROM rejected_rows AS r
                          WHERE r._file = 'pending:' || s.tx_hash AND r._row = s.seq)
            """,
        )

    def _pending_changed(self) -> bool:
        if not self.spec.is_utxo:
            return False
        return bool(
            self._count("SELECT count(*) FROM store_pending")
            != self._count("SELECT count(*) FROM pending_next")
        )

    def _count(self, sql: str) -> int:
        return int(self.engine.query(sql)[0][0])

    def _write_rejects(self, rejects_path: str | os.PathLike[str] | None) -> Path:
        if rejects_path is not None:
            target = Path(rejects_path)
        else:
            name = f"{self.spec.name}-{self.commit.commit_id}.jsonl"
            target = self.commit.directory.rejects_dir / name
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_name(f".{target.name}.partial")
            with open(partial, "w", encoding="utf-8") as fh:
                for reject in sorted(self.rejects, key=lambda r: (r.file, r.row or 0)):
                    fh.write(json.dumps(asdict(reject), sort_keys=True) + "\n")
            os.replace(partial, target)
        except OSError as exc:
            raise InputError(f"cannot write the reject file {target}: {exc}") from exc
        return target


#: Size of the transactions and token_transfers exports from which the columnar path is tried
#: by default: below it, loading the compiled kernels costs more than the SQL path takes.
COLUMNAR_MIN_BYTES = 32 * 2**20


def _large_exports_bytes(files: Sequence[ExportFile]) -> int:
    """Bytes of the exports the columnar path reads with its kernels (gzip: as expanded)."""
    return sum(
        f.path.stat().st_size * (_GZIP_RATIO if f.path.name.endswith(".gz") else 1)
        for f in files
        if f.kind in (ExportKind.TRANSACTIONS, ExportKind.TOKEN_TRANSFERS)
    )


class _NotApplicable(Exception):  # noqa: N818 - a decision, not an error
    """Found before the columnar path's kernels are used: the SQL path takes the run."""


@dataclass(frozen=True)
class _RawExports:
    """The relations the columnar kernels start from, as DuckDB read them."""

    withdrawals: pa.Table  # rows of the SQL path's withdrawal_legs view
    times: pa.Table  # block_times: block_number, ts (-1: none)
    blocks: np.ndarray  # block numbers of the blocks export
    coverage: pa.Table  # the store's coverage: source, block_number
    addresses: pa.Table  # the store's addresses: address, address_id
    transactions: pa.Table  # the store's transactions: tx_hash, tx_id, tx_index
    assets: pa.Table  # the store's assets: contract, asset_id


def _read_ahead(
    batches: Iterator[pa.RecordBatch] | None, ready: Future[None]
) -> list[pa.RecordBatch]:
    """Record batches read while ``ready`` is not done (the kernels are loading)."""
    held: list[pa.RecordBatch] = []
    if batches is None:
        return held
    try:
        while not ready.done():
            held.append(next(batches))
    except StopIteration:
        pass
    except EngineError as exc:
        raise _NotApplicable(f"an export cannot be read as it is: {exc}") from exc
    return held


def _load_columnar() -> None:
    """Import the columnar path and load its kernels (run beside the reading of the exports)."""
    from counterflow.ingest import columnar

    columnar.warm_up()


#: Rows per record batch streamed from DuckDB to the kernels.
_BATCH_ROWS = 1 << 18
#: Fewer bytes than any transactions or token_transfers row takes (their hashes and addresses
#: alone take more), so that export bytes / this over-estimates the rows.
_MIN_ROW_BYTES = 100

#: Exports the columnar path reads; a run with any other export goes to the SQL path.
_COLUMNAR_KINDS = frozenset(
    {ExportKind.TRANSACTIONS, ExportKind.TOKEN_TRANSFERS, ExportKind.BLOCKS, ExportKind.TOKENS}
)
#: Bound on the columnar path's peak memory per byte of transactions and token_transfers
#: export (2.5 GiB for the benchmark's 1.07 GB of CSV: parsed keys, dictionaries, transfers).
_COLUMNAR_BYTES_PER_EXPORT_BYTE = 3
#: Assumed expansion of a gzip-compressed export.
_GZIP_RATIO = 8


class _ColumnarRun(_Run):
    """The columnar path (:mod:`.columnar`) of an account-chain export ingest.

    Small exports (blocks, tokens) and small derived relations (withdrawals, block times, the
    blocks and assets tables) go through the SQL path's own statements; the large ones
    (transactions, token_transfers) are checked, encoded and joined by the columnar kernels.
    :meth:`try_execute` either stores exactly what :class:`_Run` would, or writes nothing and
    says why it hands over.
    """

    _batch: columnar.Batch
    _parts: list[Future[tuple[str, list[Path]]]]

    def try_execute(self, report: IngestReport) -> str | None:
        """Store the run and return None, or return why the SQL path must take it."""
        try:
            self._check_applicable()
            # The kernels load (about a second) while DuckDB reads the small exports and the
            # first batches of the large ones.
            with ThreadPoolExecutor(max_workers=1) as pool:
                loading = pool.submit(_load_columnar)
                raw = self._read()
                txs = self._stream(ExportKind.TRANSACTIONS)
                held = _read_ahead(txs, loading)
                loading.result()
            from counterflow.ingest import columnar

            try:
                batch = self._compute(raw, None if txs is None else itertools.chain(held, txs))
            except columnar.Handover as handover:
                return handover.reason
            except EngineError as exc:
                raise _NotApplicable(f"an export cannot be read as it is: {exc}") from exc
        except _NotApplicable as reason:
            return str(reason)
        # From here on the run is the columnar path's: the dictionaries are written while the
        # transfers are made, then the transfers in two halves, all into the pending commit.
        self._batch = batch
        with ThreadPoolExecutor(max_workers=2) as pool:
            self._parts = [
                pool.submit(self._write_part, TRANSACTIONS.name, batch.transactions, 0),
                pool.submit(self._write_part, ADDRESSES.name, batch.addresses, 0),
            ]
            transfers = batch.transfers()
            rows = transfers.num_rows
            halves = [(0, rows // 2), (rows // 2, rows - rows // 2)] if rows >= 2_000_000 else []
            self._parts += [
                pool.submit(self._write_part, TRANSFERS.name, partial(transfers.slice, *half), n)
                for n, half in enumerate(halves or [(0, rows)])
            ]
            self._store_batch(report, batch)
        return None

    # -- deciding and computing (nothing is written) ------------------------------------------
    def _check_applicable(self) -> None:
        kinds = {f.kind for f in self.files}
        if kinds - _COLUMNAR_KINDS:
            names = ", ".join(sorted(k.value for k in kinds - _COLUMNAR_KINDS))
            raise _NotApplicable(f"{names} exports are read by the SQL path")
        if not kinds & {ExportKind.TRANSACTIONS, ExportKind.TOKEN_TRANSFERS}:
            raise _NotApplicable("no transactions or token_transfers export")
        size = _large_exports_bytes(self.files)
        if size * _COLUMNAR_BYTES_PER_EXPORT_BYTE > memory_limit_bytes():
            raise _NotApplicable(
                f"the exports ({size / 2**30:.1f} GiB) would not fit the memory limit in memory"
            )

    def _read(self) -> _RawExports:
        """The small relations the kernels start from, read and checked by the SQL path's
        code, and the store's dictionaries and coverage (read before the large exports are
        streamed: the engine runs one statement at a time)."""
        self.note("columnar path: reading exports")
        self._register_store()
        try:
            self._read_exports(False, (ExportKind.BLOCKS, ExportKind.TOKENS))
            _field, reason = _block_row_failure()
            if self._count(f"SELECT count(*) FROM raw_blocks WHERE {reason} IS NOT NULL"):
                raise _NotApplicable("a blocks row fails its check")
            account.withdrawal_legs(self.engine)
            withdrawals = self._arrow(
                "SELECT block_number, block_ts, seq, dst, amount_text, reason FROM withdrawal_legs"
            )
            account.block_times(self.engine)
            times = self._arrow(
                "SELECT block_number, coalesce(ts, -1) AS ts FROM block_times ORDER BY block_number"
            )
            blocks = self._arrow(
                'SELECT TRY_CAST("number" AS BIGINT) AS b FROM raw_blocks '
                'WHERE TRY_CAST("number" AS BIGINT) IS NOT NULL'
            )
            return _RawExports(
                withdrawals=withdrawals,
                times=times,
                blocks=blocks.column("b").to_numpy(),
                coverage=self._arrow("SELECT source, block_number FROM store_coverage"),
                addresses=self._arrow("SELECT address, address_id FROM store_addresses"),
                transactions=self._arrow("SELECT tx_hash, tx_id, tx_index FROM store_transactions"),
                assets=self._arrow("SELECT contract, asset_id FROM store_assets"),
            )
        except EngineError as exc:
            raise _NotApplicable(f"an export cannot be read as it is: {exc}") from exc

    def _stream(self, kind: ExportKind) -> Iterator[pa.RecordBatch] | None:
        """The text columns of a large export, as record batches while DuckDB reads them."""
        files = [f for f in self.files if f.kind is kind]
        if not files:
            return None
        self.engine.read_export(
            f"raw_{kind.value}_files",
            [(f.path, f.format, self.headers[f.path]) for f in files],
            SPECS[(self.spec.family, kind)].columns,
            row_numbers=False,
        )
        columns = (
            COLUMNAR_TRANSACTION_COLUMNS
            if kind is ExportKind.TRANSACTIONS
            else COLUMNAR_TOKEN_TRANSFER_COLUMNS
        )
        select = ", ".join(f'"{c}"' for c in columns)
        assert isinstance(self.engine, DuckDBEngine)
        return self.engine.arrow_batches(
            f"SELECT {select} FROM raw_{kind.value}_files", _BATCH_ROWS
        )

    def _capacity(self, kind: ExportKind) -> int:
        """Rows to allocate for an export before knowing its length: an over-estimate (memory
        never written costs nothing), the outputs grow if it falls short."""
        files = [f for f in self.files if f.kind is kind]
        size = _large_exports_bytes(files)
        return size // _MIN_ROW_BYTES + _BATCH_ROWS

    def _compute(
        self, raw: _RawExports, txs_batches: Iterator[pa.RecordBatch] | None
    ) -> columnar.Batch:
        from counterflow.ingest import columnar

        self.note("columnar path: checking and encoding")
        withdrawals = columnar.WithdrawalLegs.from_view(raw.withdrawals)
        txs = (
            columnar.TransactionRows.scan(txs_batches, self._capacity(ExportKind.TRANSACTIONS))
            if txs_batches is not None
            else None
        )
        token_batches = self._stream(ExportKind.TOKEN_TRANSFERS)
        tokens = (
            columnar.TokenTransferRows.scan(
                token_batches, self._capacity(ExportKind.TOKEN_TRANSFERS)
            )
            if token_batches is not None
            else None
        )
        # The blocks table reads the transactions' block hashes and times, as in the SQL path.
        if txs is not None:
            self._attach("raw_transactions", txs.blocks)
        else:
            self.engine.read_export(
                "raw_transactions",
                [],
                SPECS[(self.spec.family, ExportKind.TRANSACTIONS)].columns,
                row_numbers=False,
            )
        token_files = [f for f in self.files if f.kind is ExportKind.TOKEN_TRANSFERS]
        return columnar.build(
            txs,
            tokens,
            withdrawals,
            raw.blocks,
            self._store_state(raw),
            check_token_keys=len(token_files) > 1,
        )

    def _store_state(self, raw: _RawExports) -> columnar.StoreState:
        from counterflow.ingest import columnar

        manifest = self.commit.base
        coverage: dict[str, np.ndarray] = {}
        for source in ("transactions", "token_transfers", "blocks"):
            mine = raw.coverage.filter(pc.equal(raw.coverage.column("source"), source))
            coverage[source] = np.sort(mine.column("block_number").to_numpy())
        return columnar.StoreState(
            addresses=raw.addresses,
            transactions=raw.transactions,
            assets=raw.assets,
            coverage=coverage,
            block_times=(
                raw.times.column("block_number").to_numpy(),
                raw.times.column("ts").to_numpy(),
            ),
            next_address=manifest.next_id("address"),
            next_tx=manifest.next_id("transaction"),
            next_asset=max(manifest.next_id("asset"), 1),  # 0 is the native asset
        )

    # -- writing -----------------------------------------------------------------------------
    def _store_batch(self, report: IngestReport, batch: columnar.Batch) -> None:
        self._attach("new_coverage", batch.new_coverage)
        self._attach("columnar_assets", batch.new_assets)
        self.engine.view(
            "all_assets",
            "SELECT asset_id, contract, symbol, decimals FROM store_assets UNION ALL "
            "SELECT asset_id, contract, CAST(NULL AS VARCHAR), CAST(NULL AS INTEGER) "
            "FROM columnar_assets",
        )
        self._prepare_blocks()
        report.read, report.skipped = batch.read, batch.skipped
        counts = {
            "legs_final": batch.stored,
            "new_addresses": batch.new_address_count,
            "new_transactions": batch.new_transaction_count,
            "new_blocks": self._count("SELECT count(*) FROM new_blocks"),
            "new_coverage": batch.new_coverage.num_rows,
        }
        manifest = self.commit.base
        next_ids = (
            manifest.next_id("address"),
            manifest.next_id("transaction"),
            max(manifest.next_id("asset"), 1),
        )
        self._store(report, "", counts, next_ids)

    def _write_part(
        self, table: str, make: Callable[[], pa.Table], number: int
    ) -> tuple[str, list[Path]]:
        """Make a table and write it as Parquet part ``number`` of ``table`` in the commit."""
        from counterflow.ingest import columnar

        return table, columnar.write_parquet(make(), self.commit.table_folder(table), number)

    def _write_large_tables(self, transfers_sql: str) -> None:
        """The parts written beside the making of the transfers, recorded in the commit."""
        for part in self._parts:
            table, files = part.result()
            self.commit.add_part_files(table, files)

    def _tally(self) -> tuple[int, int, int]:
        batch = self._batch
        return batch.unknown_order, batch.lost_creations, batch.no_time

    # -- engine access -----------------------------------------------------------------------
    def _arrow(self, sql: str) -> pa.Table:
        assert isinstance(self.engine, DuckDBEngine)
        return self.engine.arrow(sql)

    def _attach(self, name: str, table: pa.Table) -> None:
        assert isinstance(self.engine, DuckDBEngine)
        self.engine.attach_arrow(name, table)
