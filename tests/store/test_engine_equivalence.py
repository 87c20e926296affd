"""The Spark engine runs the same export path and writes the same tables as DuckDB."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

from counterflow import ingest
from counterflow.store import DataDirectory
from counterflow.store.schema import ALL_TABLES

pytestmark = [pytest.mark.spark, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "src" / "counterflow" / "demo_data"
SAMPLES = REPO / ".." / "shared" / "data" / "chain"


@pytest.fixture(scope="module")
def spark_session() -> Iterator[Any]:
    pytest.importorskip("pyspark")
    from counterflow.store.spark_engine import default_session

    session = default_session()
    session.sparkContext.setLogLevel("ERROR")
    yield session


def rows(data_dir: Path, chain: str, table: str) -> list[tuple[Any, ...]]:
    files = [str(p) for p in DataDirectory(data_dir).table_files(chain, table)]
    if not files:
        return []
    columns = ", ".join(ALL_TABLES[table].column_names)
    return duckdb.sql(f"SELECT {columns} FROM read_parquet({files!r}) ORDER BY ALL").fetchall()


CASES = [
    ("bitcoin", [DEMO / "bitcoin"]),
    ("ethereum", [DEMO / "ethereum"]),
    ("ethereum", [SAMPLES / "ethereum-etl-samples" / "test_export_traces_job"]),
    (
        "ethereum",
        [
            SAMPLES
            / "ethereum-etl-samples"
            / "test_export_blocks_job"
            / "blocks_with_transactions_and_withdrawals"
            / "expected_blocks.csv"
        ],
    ),
    ("zcash", [SAMPLES / "bitcoin-etl-samples" / "test_export_blocks_job" / "zcash"]),
]


@pytest.mark.parametrize(("chain", "paths"), CASES, ids=[f"{c}-{p[0].name}" for c, p in CASES])
def test_spark_and_duckdb_write_identical_tables(
    spark_session: Any, tmp_path: Path, chain: str, paths: list[Path]
) -> None:
    if not all(p.exists() for p in paths):
        pytest.skip("reference data not present")
    embedded = ingest(chain, paths, data_dir=tmp_path / "duckdb")
    spark = ingest(chain, paths, data_dir=tmp_path / "spark", engine="spark")
    assert spark.stored == embedded.stored > 0
    assert (spark.read, spark.rejected, spark.pending_inputs) == (
        embedded.read,
        embedded.rejected,
        embedded.pending_inputs,
    )
    for table in ALL_TABLES:
        assert rows(tmp_path / "spark", chain, table) == rows(tmp_path / "duckdb", chain, table), (
            table
        )


def test_spark_reports_the_row_of_a_bad_value(spark_session: Any, tmp_path: Path) -> None:
    from counterflow.errors import ExportFormatError

    bad = tmp_path / "token_transfers.csv"
    bad.write_text(
        "token_address,from_address,to_address,value,transaction_hash,log_index,block_number\n"
        f"0x{'a' * 40},0x{'b' * 40},0x{'c' * 40},10,0x{'d' * 64},0,5\n"
        f"0x{'a' * 40},0x{'b' * 40},0x{'c' * 40},1.5,0x{'e' * 64},1,5\n"
    )
    with pytest.raises(ExportFormatError) as err:
        ingest("ethereum", [bad], data_dir=tmp_path / "d", engine="spark")
    assert err.value.row == 2
    assert err.value.field == "value"


def test_spark_and_duckdb_store_the_same_block_files(spark_session: Any, tmp_path: Path) -> None:
    """Block files reach the engines as nested Arrow tables, not files; the tables still agree."""
    btcd = SAMPLES / "bitcoin-blocks" / "btcd"
    paths = [
        btcd / "blockchain" / "testdata" / "blk_0_to_4.dat.bz2",
        btcd / "database" / "testdata" / "blocks1-256.bz2",
    ]
    if not all(p.exists() for p in paths):
        pytest.skip("reference data not present")
    embedded = ingest("bitcoin", paths, blocks=True, data_dir=tmp_path / "duckdb")
    spark = ingest("bitcoin", paths, blocks=True, data_dir=tmp_path / "spark", engine="spark")
    assert spark.stored == embedded.stored > 0
    for table in ALL_TABLES:
        assert rows(tmp_path / "spark", "bitcoin", table) == rows(
            tmp_path / "duckdb", "bitcoin", table
        ), table
