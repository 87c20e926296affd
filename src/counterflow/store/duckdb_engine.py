"""The embedded default engine: DuckDB in-process, reading and writing Parquet directly."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from counterflow.store.engine import Engine, EngineError
from counterflow.store.schema import Table


def sql_literal(value: str) -> str:
    """Quote a string (a file path) as a SQL literal; paths are not user SQL."""
    return "'" + value.replace("'", "''") + "'"


def sql_list(values: Sequence[str]) -> str:
    return "[" + ", ".join(sql_literal(v) for v in values) + "]"


def default_memory_limit() -> str:
    """``$COUNTERFLOW_MEMORY_LIMIT`` (e.g. ``8GB``), else half of the machine's memory.

    DuckDB's own default is 80%: on a machine shared with a node or other jobs that is enough
    for the kernel to kill the ingest of a large export. Past the limit, joins, sorts and
    aggregations spill to disk instead.
    """
    configured = os.environ.get("COUNTERFLOW_MEMORY_LIMIT")
    if configured:
        return configured
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, OSError, ValueError):
        return "4GB"
    return f"{max(1, total // 2 // 2**20)}MB"


_UNITS = {
    "b": 1,
    "bytes": 1,
    "kb": 1000,
    "mb": 1000**2,
    "gb": 1000**3,
    "tb": 1000**4,
    "kib": 2**10,
    "mib": 2**20,
    "gib": 2**30,
    "tib": 2**40,
}


def memory_limit_bytes() -> int:
    """:func:`default_memory_limit` in bytes (DuckDB's units: ``GB`` is 1000^3, ``GiB`` 2^30).

    A limit that cannot be read is taken as 0, so that nothing sized by it is held in memory.
    """
    match = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([a-zA-Z]*)\s*", default_memory_limit())
    if match is None:
        return 0
    unit = _UNITS.get(match.group(2).lower() or "b")
    return int(float(match.group(1)) * unit) if unit else 0


class DuckDBEngine(Engine):
    name = "duckdb"

    def __init__(
        self,
        *,
        threads: int | None = None,
        memory_limit: str | None = None,
        temp_directory: Path | None = None,
    ) -> None:
        self.con = duckdb.connect(":memory:")
        if threads:
            self.con.execute(f"SET threads = {int(threads)}")
        self.con.execute(
            f"SET memory_limit = {sql_literal(memory_limit or default_memory_limit())}"
        )
        # Spill files go to a private folder removed on close, not to ./.tmp of the caller.
        self._spill: str | None = None
        if temp_directory is None:
            self._spill = tempfile.mkdtemp(prefix="counterflow-spill-")
            temp_directory = Path(self._spill)
        self.con.execute(f"SET temp_directory = {sql_literal(str(temp_directory))}")
        self.con.execute("SET TimeZone = 'UTC'")

    def read_export(
        self,
        name: str,
        files: Sequence[tuple[Path, str, list[str]]],
        columns: dict[str, str],
        *,
        row_numbers: bool,
    ) -> None:
        # Row numbers need rows in file order; without them, unordered execution is faster.
        self._run(f"SET preserve_insertion_order = {'true' if row_numbers else 'false'}")
        selects = [
            self._scan(path, fmt, header, columns, row_numbers) for path, fmt, header in files
        ]
        if not selects:
            cols = ", ".join(f"CAST(NULL AS {t}) AS {_q(c)}" for c, t in columns.items())
            selects = [
                f"SELECT {cols}, CAST(NULL AS VARCHAR) AS _file, CAST(NULL AS BIGINT) AS _row "
                "WHERE false"
            ]
        self.view(name, " UNION ALL ".join(selects))

    @staticmethod
    def _scan(
        path: Path, fmt: str, header: list[str], columns: dict[str, str], row_numbers: bool
    ) -> str:
        present = set(header)
        if fmt == "csv":
            # A CSV is read with its own header's columns (all text) and projected to ours.
            csv_columns = (
                "{"
                + ", ".join(
                    f"{sql_literal(c)}: {sql_literal(columns.get(c, 'VARCHAR'))}" for c in header
                )
                + "}"
            )
            source = (
                f"read_csv({sql_literal(str(path))}, columns = {csv_columns}, header = true, "
                "delim = ',', quote = '\"', escape = '\"', strict_mode = true, "
                "auto_detect = false)"
            )
        else:
            wanted = {c: t for c, t in columns.items() if c in present}
            json_columns = (
                "{"
                + ", ".join(f"{sql_literal(c)}: {sql_literal(t)}" for c, t in wanted.items())
                + "}"
            )
            source = (
                f"read_json({sql_literal(str(path))}, columns = {json_columns}, "
                "format = 'newline_delimited')"
            )
        projection = ", ".join(
            f"{_q(c)}" if c in present else f"CAST(NULL AS {t}) AS {_q(c)}"
            for c, t in columns.items()
        )
        row = "row_number() OVER ()" if row_numbers else "CAST(NULL AS BIGINT)"
        return (
            f"SELECT {projection}, {sql_literal(str(path))} AS _file, {row} AS _row FROM {source}"
        )

    def read_table(self, name: str, table: Table, files: Sequence[Path]) -> None:
        if files:
            cols = ", ".join(_q(c) for c in table.column_names)
            self.view(
                name,
                f"SELECT {cols} FROM read_parquet({sql_list([str(f) for f in files])})",
            )
        else:
            cols = ", ".join(f"CAST(NULL AS {c.sql_type}) AS {_q(c.name)}" for c in table.columns)
            self.view(name, f"SELECT {cols} WHERE false")

    def _run(self, sql: str) -> duckdb.DuckDBPyConnection:
        try:
            return self.con.execute(sql)
        except (duckdb.BinderException, duckdb.ParserException, duckdb.CatalogException):
            raise  # a bug in job SQL, not a problem with the user's data
        except duckdb.Error as exc:
            raise EngineError(str(exc).splitlines()[0] if str(exc) else repr(exc)) from exc

    def materialize(self, name: str, sql: str) -> None:
        self._run(f"CREATE OR REPLACE TEMP TABLE {_q(name)} AS {sql}")

    def view(self, name: str, sql: str) -> None:
        self._run(f"CREATE OR REPLACE TEMP VIEW {_q(name)} AS {sql}")

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        return self._run(sql).fetchall()

    def register_arrow(self, name: str, data: pa.Table) -> None:
        self.con.register(f"_arrow_{name}", data)
        self._run(
            f"CREATE OR REPLACE TEMP TABLE {_q(name)} AS SELECT * FROM {_q('_arrow_' + name)}"
        )
        self.con.unregister(f"_arrow_{name}")

    def arrow(self, sql: str) -> pa.Table:
        """The result of ``sql`` as an Arrow table (the columnar ingest path reads with it)."""
        try:
            return self.con.sql(sql).to_arrow_table()
        except (duckdb.BinderException, duckdb.ParserException, duckdb.CatalogException):
            raise
        except duckdb.Error as exc:
            raise EngineError(str(exc).splitlines()[0] if str(exc) else repr(exc)) from exc

    def arrow_batches(self, sql: str, rows: int) -> Iterator[pa.RecordBatch]:
        """The result of ``sql`` as Arrow record batches of about ``rows`` rows, as computed.

        Nothing else may run on the engine until the batches are consumed.
        """
        try:
            reader = self.con.sql(sql).to_arrow_reader(rows)
            yield from reader
        except (duckdb.BinderException, duckdb.ParserException, duckdb.CatalogException):
            raise
        except duckdb.Error as exc:
            raise EngineError(str(exc).splitlines()[0] if str(exc) else repr(exc)) from exc

    def attach_arrow(self, name: str, data: pa.Table) -> None:
        """Make ``data`` readable as ``name`` without copying it (unlike :meth:`register_arrow`).

        The table must stay unchanged while the engine reads it; the engine holds a reference.
        """
        self.con.register(name, data)

    def write_parquet(self, sql: str, folder: Path) -> list[Path]:
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / "part-0.parquet"
        self._run(
            f"COPY ({sql}) TO {sql_literal(str(target))} "
            "(FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 1000000)"
        )
        return [target] if target.exists() else []

    def close(self) -> None:
        self.con.close()
        if self._spill is not None:
            shutil.rmtree(self._spill, ignore_errors=True)


def _q(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'
