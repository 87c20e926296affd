"""The scale-out engine: PySpark, in local mode for tests and on a cluster for large chains.

It runs the same job SQL as the embedded engine, transpiled from DuckDB's dialect by sqlglot,
and writes the same Parquet tables, so a store can be built by either and read by both. Needs the
``spark`` extra (``pip install 'counterflow[spark]'``) and a Java 17 runtime.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

import pyarrow as pa
import sqlglot
from sqlglot import exp

from counterflow.errors import ConfigError
from counterflow.store.engine import Engine, EngineError
from counterflow.store.schema import Table


def spark_type(sql_type: str) -> str:
    """A DuckDB column type as Spark DDL."""
    return exp.DataType.build(sql_type, dialect="duckdb").sql(dialect="spark")


@cache
def to_spark_sql(sql: str) -> str:
    return sqlglot.transpile(sql, read="duckdb", write="spark")[0]


def default_session(master: str = "local[2]") -> Any:
    """A local Spark session tuned for small machines: no UI, few shuffle partitions, UTC."""
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:
        raise ConfigError(
            "the spark engine needs the spark extra: pip install 'counterflow[spark]' "
            "(and a Java 17 runtime)"
        ) from exc
    return (
        SparkSession.builder.master(master)
        .appName("counterflow")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS")
        .config("spark.driver.memory", "3g")
        # Job SQL nests many views; Spark renders each plan as text for its listeners, and an
        # unbounded rendering of a deep plan can exhaust the driver's heap.
        .config("spark.sql.maxPlanStringLength", "100000")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .getOrCreate()
    )


class SparkEngine(Engine):
    name = "spark"

    def __init__(self, *, session: Any = None, master: str = "local[2]") -> None:
        self.spark = session if session is not None else default_session(master)
        self._cached: list[Any] = []

    def _guard(self, action: Any) -> Any:
        try:
            return action()
        except EngineError:
            raise
        except Exception as exc:  # py4j and pyspark raise many unrelated types
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
            raise EngineError(first) from exc

    def read_export(
        self,
        name: str,
        files: Sequence[tuple[Path, str, list[str]]],
        columns: dict[str, str],
        *,
        row_numbers: bool,
    ) -> None:
        from pyspark.sql import functions as F  # noqa: N812

        frames = [
            self._scan(path, fmt, header, columns, row_numbers) for path, fmt, header in files
        ]
        if not frames:
            ddl = ", ".join(f"`{c}` {spark_type(t)}" for c, t in columns.items())
            df = self.spark.createDataFrame([], f"{ddl}, _file STRING, _row BIGINT")
        else:
            df = frames[0]
            for other in frames[1:]:
                df = df.unionByName(other)
        df = df.select(*[F.col(f"`{c}`") for c in columns], "_file", "_row")
        self._guard(lambda: df.createOrReplaceTempView(name))

    def _scan(
        self, path: Path, fmt: str, header: list[str], columns: dict[str, str], row_numbers: bool
    ) -> Any:
        from pyspark.sql import functions as F  # noqa: N812

        reader = self.spark.read.option("mode", "FAILFAST")
        if fmt == "csv":
            ddl = ", ".join(f"`{c}` {spark_type(columns.get(c, 'VARCHAR'))}" for c in header)
            df = (
                reader.schema(ddl)
                .option("header", "true")
                .option("quote", '"')
                .option("escape", '"')
                .csv(str(path))
            )
        else:
            present = [c for c in columns if c in set(header)]
            ddl = ", ".join(f"`{c}` {spark_type(columns[c])}" for c in present) or "_x STRING"
            df = reader.schema(ddl).json(str(path))
        for column, sql_type in columns.items():
            if column not in df.columns:
                df = df.withColumn(column, F.lit(None).cast(spark_type(sql_type)))
        df = df.withColumn("_file", F.lit(str(path)))
        if row_numbers:
            # Partitions of one file come back in file order, so the index is the row number.
            indexed = df.rdd.zipWithIndex().map(lambda pair: (*pair[0], pair[1] + 1))
            schema = df.schema.add("_row", "long")
            return self.spark.createDataFrame(indexed, schema)
        return df.withColumn("_row", F.lit(None).cast("long"))

    def read_table(self, name: str, table: Table, files: Sequence[Path]) -> None:
        ddl = ", ".join(f"`{c.name}` {spark_type(c.sql_type)}" for c in table.columns)
        if files:
            df = self.spark.read.schema(ddl).parquet(*[str(f) for f in files])
        else:
            df = self.spark.createDataFrame([], ddl)
        self._guard(lambda: df.createOrReplaceTempView(name))

    def materialize(self, name: str, sql: str) -> None:
        # A local checkpoint computes the relation once and cuts its lineage, so later plans
        # start from it instead of re-planning (and re-rendering) every view beneath it.
        def run() -> None:
            df = self.spark.sql(to_spark_sql(sql)).localCheckpoint(eager=True)
            self._cached.append(df)
            df.createOrReplaceTempView(name)

        self._guard(run)

    def view(self, name: str, sql: str) -> None:
        self._guard(lambda: self.spark.sql(to_spark_sql(sql)).createOrReplaceTempView(name))

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        rows = self._guard(lambda: self.spark.sql(to_spark_sql(sql)).collect())
        return [tuple(row) for row in rows]

    def register_arrow(self, name: str, data: pa.Table) -> None:
        def run() -> None:
            if any(pa.types.is_nested(f.type) for f in data.schema):
                # Raw relations from a computed source (block files) nest lists of structs;
                # Spark 4 takes an Arrow table with its schema as it is.
                self.spark.createDataFrame(data).createOrReplaceTempView(name)
                return
            types = {pa.string(): "STRING", pa.int64(): "BIGINT", pa.int32(): "INT"}
            ddl = ", ".join(f"`{f.name}` {types.get(f.type, 'STRING')}" for f in data.schema)
            df = self.spark.createDataFrame(data.to_pylist() or [], ddl)
            df.createOrReplaceTempView(name)

        self._guard(run)

    def write_parquet(self, sql: str, folder: Path) -> list[Path]:
        folder.mkdir(parents=True, exist_ok=True)
        staging = folder / "_spark"

        def run() -> None:
            df = self.spark.sql(to_spark_sql(sql))
            df.coalesce(1).write.mode("overwrite").parquet(str(staging))

        self._guard(run)
        written = []
        for i, part in enumerate(sorted(staging.glob("part-*.parquet"))):
            target = folder / f"part-{i}.parquet"
            part.rename(target)
            written.append(target)
        shutil.rmtree(staging, ignore_errors=True)
        return written

    def close(self) -> None:
        for df in self._cached:
            df.unpersist()
        self._cached.clear()
        for table in self.spark.catalog.listTables():
            if table.isTemporary:
                self.spark.catalog.dropTempView(table.name)
