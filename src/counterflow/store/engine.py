"""The engine seam: one interface through which the store is read and written.

Job logic (ingest transforms, later clustering and exposure) is written once as SQL in DuckDB's
dialect against named relations. The embedded engine runs it as is; the Spark engine transpiles
it with sqlglot. Engines differ only in how they read files and write Parquet, which is what the
abstract methods below cover, so a job never branches on the engine.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa

from counterflow.errors import ConfigError, CounterflowError
from counterflow.store.schema import Table

ENGINES = ("duckdb", "spark")


class EngineError(CounterflowError):
    """A statement failed inside the engine; the pipeline turns it into a precise error."""


class Engine(ABC):
    """A SQL engine with named relations, file readers and a Parquet writer."""

    name: str

    @abstractmethod
    def read_export(
        self,
        name: str,
        files: Sequence[tuple[Path, str, list[str]]],
        columns: dict[str, str],
        *,
        row_numbers: bool,
    ) -> None:
        """Register ``name`` as the union of export files, typed as ``columns``.

        Each file is given as (path, format, its own column names). Columns a file lacks read
        as NULL. The relation carries ``_file`` and ``_row`` (1-based data row of the file, or
        NULL when ``row_numbers`` is false: numbering costs a pass, so it is done only to
        explain errors).
        """

    @abstractmethod
    def read_table(self, name: str, table: Table, files: Sequence[Path]) -> None:
        """Register ``name`` as a store table made of ``files`` (possibly none)."""

    @abstractmethod
    def materialize(self, name: str, sql: str) -> None:
        """Compute ``sql`` once and register the result as ``name``."""

    @abstractmethod
    def view(self, name: str, sql: str) -> None:
        """Register ``sql`` as ``name`` without computing it."""

    @abstractmethod
    def query(self, sql: str) -> list[tuple[Any, ...]]:
        """Run ``sql`` and return its rows."""

    @abstractmethod
    def register_arrow(self, name: str, data: pa.Table) -> None:
        """Register a relation computed in Python (e.g. the addresses it normalised)."""

    @abstractmethod
    def write_parquet(self, sql: str, folder: Path) -> list[Path]:
        """Write the result of ``sql`` as Parquet files into the empty ``folder``."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release the engine's resources."""

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_engine(name: str, **options: Any) -> Engine:
    """The engine called ``name``; Spark is imported only when asked for."""
    if name == "duckdb":
        from counterflow.store.duckdb_engine import DuckDBEngine

        return DuckDBEngine(**options)
    if name == "spark":
        from counterflow.store.spark_engine import SparkEngine

        return SparkEngine(**options)
    raise ConfigError(f"unknown engine {name!r}; choose one of: {', '.join(ENGINES)}")
