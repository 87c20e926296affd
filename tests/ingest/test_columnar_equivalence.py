"""The columnar ingest path stores exactly what the SQL path stores, or hands the run over.

Every test ingests the same exports twice, once forcing the columnar path (``columnar=True``)
and once forcing the SQL path (``columnar=False``), and compares every table row for row (ids
included), the manifests' id counters and commit records, and the reports.
"""

from __future__ import annotations

import csv
import gzip
import json
import random
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from counterflow import ingest
from counterflow.errors import CounterflowError, ExportFormatError
from counterflow.ingest import columnar, pipeline
from counterflow.store import DataDirectory
from counterflow.store.schema import ALL_TABLES, TransferKind

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "src" / "counterflow" / "demo_data"
CHAIN = REPO / ".." / "shared" / "data" / "chain"
SAMPLES = CHAIN / "ethereum-etl-samples"
BLOCKS_JOB = SAMPLES / "test_export_blocks_job"

TOOK = "columnar path: checking and encoding"
HANDED_OVER = "columnar path not taken"


# -- comparing two stores ---------------------------------------------------------------------
def table_rows(store: Path, table: str) -> list[tuple[Any, ...]]:
    files = [str(p) for p in DataDirectory(store).table_files("ethereum", table)]
    if not files:
        return []
    columns = ", ".join(ALL_TABLES[table].column_names)
    return duckdb.sql(f"SELECT {columns} FROM read_parquet({files!r}) ORDER BY ALL").fetchall()


def manifest_view(store: Path) -> dict[str, Any]:
    """What two equivalent runs share in the manifest: id counters, tables, commit records."""
    manifest = DataDirectory(store).manifest("ethereum")
    return {
        "next_ids": manifest.next_ids,
        "tables": sorted(t for t, files in manifest.parts.items() if files),
        "commits": [
            {k: v for k, v in c.items() if k not in ("at", "commit")} for c in manifest.commits
        ],
    }


def report_view(report: pipeline.IngestReport) -> dict[str, Any]:
    data = report.to_json()
    for volatile in ("seconds", "commit"):
        data.pop(volatile)
    data["published"] = report.commit is not None
    return data


def assert_same_store(fast: Path, sql: Path) -> None:
    for table in ALL_TABLES:
        assert table_rows(fast, table) == table_rows(sql, table), table
    assert manifest_view(fast) == manifest_view(sql)


def parts_in_key_order(store: Path) -> bool:
    """Every transfers part lists its rows in the store's key order (what readers expect)."""
    for part in DataDirectory(store).table_files("ethereum", "transfers"):
        rows = duckdb.sql(
            "SELECT block_number, tx_index IS NULL, tx_index, seq, kind, tx_id IS NULL, tx_id "
            f"FROM read_parquet('{part}')"
        ).fetchall()
        keys = [tuple(-1 if v is None else v for v in row) for row in rows]
        if keys != sorted(keys):
            return False
    return True


def has_withdrawals(store: Path) -> bool:
    files = [str(p) for p in DataDirectory(store).table_files("ethereum", "transfers")]
    if not files:
        return False
    query = f"SELECT count(*) FROM read_parquet({files!r}) WHERE kind = ?"
    with duckdb.connect() as con:
        row = con.execute(query, [int(TransferKind.WITHDRAWAL)]).fetchone()
    return row is not None and row[0] > 0


class Paths:
    """One forced-columnar and one forced-SQL store, ingesting the same exports in turn."""

    def __init__(self, root: Path) -> None:
        self.fast = root / "fast"
        self.sql = root / "sql"

    def ingest(self, paths: list[Path], *, expect_columnar: bool = True) -> list[str]:
        notes: list[str] = []
        fast = ingest("ethereum", paths, data_dir=self.fast, columnar=True, progress=notes.append)
        sql = ingest("ethereum", paths, data_dir=self.sql, columnar=False)
        took = TOOK in notes and not any(HANDED_OVER in n for n in notes)
        assert took == expect_columnar, notes
        assert report_view(fast) == report_view(sql)
        assert_same_store(self.fast, self.sql)
        assert parts_in_key_order(self.sql)  # the SQL path sorts what it writes
        return notes


def needs(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"reference data not present: {path}")
    return path


# -- real exports -----------------------------------------------------------------------------
REAL = {
    "demo-json-gz": [DEMO / "ethereum"],
    "mainnet-17173049-withdrawals": [CHAIN / "ethereum-mainnet-17173049-17173050"],
    "stream-17173049": [SAMPLES / "test_stream" / "blocks_17173049_17173050"],
    "stream-1755634": [SAMPLES / "test_stream" / "blocks_1755634_1755635"],
    "token-transfers-csv": [SAMPLES / "test_export_token_transfers_job"],
    "blocks-and-transactions-csv": [
        BLOCKS_JOB / "blocks_with_transactions" / "expected_blocks.csv",
        BLOCKS_JOB / "blocks_with_transactions" / "expected_transactions.csv",
    ],
    "withdrawals-json": [
        BLOCKS_JOB / "blocks_with_transactions_and_withdrawals" / "expected_blocks.json",
        BLOCKS_JOB / "blocks_with_transactions_and_withdrawals" / "expected_transactions.json",
    ],
}

#: Exports the columnar path does not read: the run goes to the SQL path, unchanged.
HANDED = {
    "traces-with-errors": [SAMPLES / "test_export_traces_job"],
    "stream-with-traces": [SAMPLES / "test_stream" / "blocks_2112234_2112234"],
    "receipts": [SAMPLES / "test_export_receipts_job"],
    "repeated-rows-across-files": [BLOCKS_JOB],
}


@pytest.mark.parametrize("name", sorted(REAL))
def test_real_exports_store_the_same_rows(name: str, tmp_path: Path) -> None:
    paths = [needs(p) for p in REAL[name]]
    stores = Paths(tmp_path)
    stores.ingest(paths)
    stores.ingest(paths)  # a re-run stores nothing, on both paths
    # Exports list rows by block and position, so the merge writes them in key order;
    # withdrawals (block-level, last in their block) are appended after the others.
    assert parts_in_key_order(stores.fast) or has_withdrawals(stores.fast)


def test_exports_streamed_in_small_batches_store_the_same_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pipeline, "_BATCH_ROWS", 7)
    Paths(tmp_path).ingest([needs(CHAIN / "ethereum-mainnet-17173049-17173050")])


@pytest.mark.parametrize("name", sorted(HANDED))
def test_exports_it_does_not_read_are_handed_to_the_sql_path(name: str, tmp_path: Path) -> None:
    paths = [needs(p) for p in HANDED[name]]
    notes = Paths(tmp_path).ingest(paths, expect_columnar=False)
    assert any(HANDED_OVER in n for n in notes)


def test_by_default_small_exports_take_the_sql_path(tmp_path: Path) -> None:
    notes: list[str] = []
    ingest("ethereum", [DEMO / "ethereum"], data_dir=tmp_path, progress=notes.append)
    assert not any("columnar" in n for n in notes)


# -- generated exports ------------------------------------------------------------------------
TX_COLUMNS = [
    "hash",
    "nonce",
    "block_hash",
    "block_number",
    "transaction_index",
    "from_address",
    "to_address",
    "value",
    "gas",
    "gas_price",
    "block_timestamp",
    "receipt_gas_used",
    "receipt_contract_address",
    "receipt_status",
    "receipt_effective_gas_price",
]
TOKEN_COLUMNS = [
    "token_address",
    "from_address",
    "to_address",
    "value",
    "transaction_hash",
    "log_index",
    "block_number",
    "block_timestamp",
]

_pool = random.Random(20240601)
HOLDERS = ["0x" + _pool.randbytes(20).hex() for _ in range(9)] + ["0x" + "00" * 20]
TOKENS = ["0x" + _pool.randbytes(20).hex() for _ in range(3)]

amounts = st.one_of(
    st.just("0"),
    st.integers(0, 10**6).map(str),
    st.integers(0, 10**38 - 1).map(str),
    st.integers(10**38, 10**46).map(str),  # kept exactly as text
    st.integers(0, 10**40).map(lambda v: f"000{v}"),  # leading zeros
)


@st.composite
def export_sets(draw: st.DrawFn) -> dict[str, Any]:
    """Blocks of transactions (failed ones, contract creations, fees or none) and token
    transfers (of those transactions or of ones not in the export), with a blocks export or
    without, some rows without a timestamp of their own."""
    rng = random.Random(draw(st.integers(0, 2**32)))
    start = draw(st.integers(1, 10**7))
    numbers = sorted({start + draw(st.integers(0, 6)) for _ in range(draw(st.integers(1, 5)))})
    txs: list[dict[str, Any]] = []
    tokens: list[dict[str, Any]] = []
    for number in numbers:
        block_hash = "0x" + rng.randbytes(32).hex()
        timestamp = str(1_600_000_000 + number * 12)
        for index in range(draw(st.integers(0, 4))):
            to = draw(st.sampled_from([*HOLDERS, None]))
            gas_used = draw(st.one_of(st.none(), st.integers(0, 10**6)))
            txs.append(
                {
                    "hash": "0x" + rng.randbytes(32).hex(),
                    "nonce": str(index),
                    "block_hash": block_hash,
                    "block_number": str(number),
                    "transaction_index": str(index),
                    "from_address": draw(st.sampled_from(HOLDERS)),
                    "to_address": to,
                    "value": draw(amounts),
                    "gas": "21000",
                    "gas_price": str(draw(st.integers(0, 10**12))),
                    "block_timestamp": draw(st.sampled_from([timestamp, None])),
                    "receipt_gas_used": None if gas_used is None else str(gas_used),
                    "receipt_contract_address": (
                        draw(st.sampled_from([*HOLDERS[:3], None])) if to is None else None
                    ),
                    "receipt_status": draw(st.sampled_from(["1", "0", None])),
                    "receipt_effective_gas_price": draw(
                        st.one_of(st.none(), st.integers(0, 10**12).map(str))
                    ),
                }
            )
    for log_index in range(draw(st.integers(0, 10))):
        known = [t for t in txs if t["block_number"]]
        if known and draw(st.booleans()):
            tx = draw(st.sampled_from(known))
            tx_hash = tx["hash"]
            # mostly the transaction's block; else a later one, whose run finds the
            # transaction's position in the store
            number_text = draw(st.sampled_from([tx["block_number"], str(max(numbers))]))
        else:
            tx_hash = "0x" + rng.randbytes(32).hex()
            number_text = str(draw(st.sampled_from(numbers)))
        tokens.append(
            {
                "token_address": draw(st.sampled_from(TOKENS)),
                "from_address": draw(st.sampled_from(HOLDERS)),
                "to_address": draw(st.sampled_from(HOLDERS)),
                "value": draw(amounts),
                "transaction_hash": draw(
                    st.sampled_from([tx_hash, "0x" + tx_hash[2:].upper()])  # lowered alike
                ),
                "log_index": str(log_index),
                "block_number": number_text,
                "block_timestamp": None,
            }
        )
    blocks = [
        {
            "number": str(n),
            "hash": "0x" + rng.randbytes(32).hex(),
            "timestamp": str(1_600_000_000 + n * 12),
        }
        for n in numbers
        if draw(st.booleans())
    ]
    return {
        "numbers": numbers,
        "cut": draw(st.sampled_from(numbers)),
        "txs": txs,
        "tokens": tokens,
        "blocks": blocks,
        "json": draw(st.booleans()),
    }


def write_exports(folder: Path, data: dict[str, Any], last_block: int) -> list[Path]:
    """The rows of blocks up to ``last_block`` as export files (CSV or JSON lines)."""
    folder.mkdir(parents=True)

    def keep(rows: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
        return [r for r in rows if int(r[key]) <= last_block]

    files = [
        (folder / "transactions", TX_COLUMNS, keep(data["txs"], "block_number")),
        (folder / "token_transfers", TOKEN_COLUMNS, keep(data["tokens"], "block_number")),
        (folder / "blocks", ["number", "hash", "timestamp"], keep(data["blocks"], "number")),
    ]
    written = []
    for stem, columns, rows in files:
        if not rows:
            continue
        if data["json"]:
            path = stem.with_suffix(".json")
            path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
        else:
            path = stem.with_suffix(".csv")
            with open(path, "w", newline="", encoding="utf-8") as fh:
                writer = csv.DictWriter(fh, columns, lineterminator="\n")
                writer.writeheader()
                writer.writerows(rows)
        written.append(path)
    return written


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(data=export_sets())
def test_generated_exports_and_a_second_overlapping_ingest(
    data: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> None:
    root = tmp_path_factory.mktemp("generated")
    first = write_exports(root / "first", data, data["cut"])
    everything = write_exports(root / "all", data, max(data["numbers"]))
    if not any(p.stem in ("transactions", "token_transfers") for p in everything):
        return  # nothing the columnar path reads
    stores = Paths(root)
    with pytest.MonkeyPatch.context() as patch:
        # Record batches of a few rows, and outputs that must grow past their first guess.
        patch.setattr(pipeline, "_BATCH_ROWS", 3)
        patch.setattr(pipeline, "_MIN_ROW_BYTES", 10**9)
        if any(p.stem in ("transactions", "token_transfers") for p in first):
            stores.ingest(first)
        # New blocks append; blocks the first run stored are skipped, on both paths alike.
        stores.ingest(everything)
    shutil.rmtree(root)


def test_token_transfers_in_shards(tmp_path: Path) -> None:
    rows = [good_token_row(i, block=100 + i // 4) for i in range(12)]
    first = token_csv(tmp_path / "disjoint" / "token_transfers_0.csv", rows[:6])
    second = token_csv(tmp_path / "disjoint" / "token_transfers_1.csv", rows[6:])
    Paths(tmp_path / "a").ingest([first, second])
    overlapping = token_csv(tmp_path / "overlap" / "token_transfers_1.csv", rows[5:])
    notes = Paths(tmp_path / "b").ingest([first, overlapping], expect_columnar=False)
    assert any("repeated across" in n for n in notes)


# -- bad input ends as it does on the SQL path ------------------------------------------------
def both_fail(tmp_path: Path, paths: list[Path]) -> tuple[str, list[str]]:
    notes: list[str] = []
    with pytest.raises(CounterflowError) as fast:
        ingest("ethereum", paths, data_dir=tmp_path / "f", columnar=True, progress=notes.append)
    with pytest.raises(CounterflowError) as sql:
        ingest("ethereum", paths, data_dir=tmp_path / "s", columnar=False)
    assert type(fast.value) is type(sql.value)
    assert str(fast.value) == str(sql.value)
    for store in ("f", "s"):
        assert not DataDirectory(tmp_path / store).chains()  # nothing was published
    return str(fast.value), notes


def token_csv(path: Path, rows: list[list[str]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(TOKEN_COLUMNS[:-1])
        writer.writerows(rows)
    return path


def good_token_row(log_index: int, block: int = 100) -> list[str]:
    return [
        TOKENS[0],
        HOLDERS[0],
        HOLDERS[1],
        "12345",
        "0x" + "ab" * 32,
        str(log_index),
        str(block),
    ]


def test_a_bad_address_row_is_reported_as_by_the_sql_path(tmp_path: Path) -> None:
    bad = good_token_row(2)
    bad[2] = "0x" + "zz" * 20
    path = token_csv(tmp_path / "in" / "token_transfers.csv", [good_token_row(1), bad])
    message, notes = both_fail(tmp_path, [path])
    assert "row 2" in message and "to_address" in message
    assert any(HANDED_OVER in n for n in notes)


def test_a_truncated_file_is_reported_as_by_the_sql_path(tmp_path: Path) -> None:
    plain = token_csv(
        tmp_path / "plain" / "token_transfers.csv", [good_token_row(i) for i in range(500)]
    )
    data = gzip.compress(plain.read_bytes())
    path = tmp_path / "in" / "token_transfers.csv.gz"
    path.parent.mkdir()
    path.write_bytes(data[: len(data) // 2])
    _message, notes = both_fail(tmp_path, [path])
    assert any(HANDED_OVER in n for n in notes)


def test_a_row_with_too_many_fields_is_reported_as_by_the_sql_path(tmp_path: Path) -> None:
    path = token_csv(
        tmp_path / "in" / "token_transfers.csv", [good_token_row(1), [*good_token_row(2), "x"]]
    )
    message, _notes = both_fail(tmp_path, [path])
    assert "row 2" in message


def test_a_checksummed_address_is_handed_over_and_stored_alike(tmp_path: Path) -> None:
    row = good_token_row(1)
    row[1] = "0x52908400098527886E0F7030069857D2E4169EE7"  # EIP-55 test vector
    path = token_csv(tmp_path / "in" / "token_transfers.csv", [row, good_token_row(2)])
    notes = Paths(tmp_path).ingest([path], expect_columnar=False)
    assert any("EIP-55" in n for n in notes)


def test_a_fee_too_wide_for_the_kernels_is_handed_over_and_stored_alike(tmp_path: Path) -> None:
    tx = {c: None for c in TX_COLUMNS} | {
        "hash": "0x" + "cd" * 32,
        "block_number": "7",
        "transaction_index": "0",
        "from_address": HOLDERS[0],
        "to_address": HOLDERS[1],
        "value": "5",
        "gas_price": "1",
        "receipt_gas_used": "1" + "0" * 12,  # more digits than the kernels multiply
    }
    folder = tmp_path / "in"
    folder.mkdir()
    with open(folder / "transactions.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, TX_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerow(tx)
    notes = Paths(tmp_path).ingest([folder], expect_columnar=False)
    assert any("receipt gas used" in n for n in notes)


def test_exports_too_large_for_the_memory_limit_go_to_the_sql_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pipeline, "memory_limit_bytes", lambda: 1000)
    notes = Paths(tmp_path).ingest([DEMO / "ethereum"], expect_columnar=False)
    assert any("memory limit" in n for n in notes)


# -- atomicity and idempotence ----------------------------------------------------------------
def tree(root: Path) -> dict[str, bytes | None]:
    return {
        str(p.relative_to(root)): (p.read_bytes() if p.is_file() else None)
        for p in sorted(root.rglob("*"))
        if p.name != ".lock"
    }


def test_a_failed_write_publishes_nothing_and_a_rerun_completes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = tmp_path / "store"
    first = [SAMPLES / "test_export_token_transfers_job"]
    ingest("ethereum", [needs(first[0])], data_dir=store, columnar=True)
    before = tree(store)
    real: Callable[..., list[Path]] = columnar.write_parquet
    calls: list[Path] = []

    def failing(table: Any, folder: Path, number: int = 0) -> list[Path]:
        calls.append(folder)
        if len(calls) == 2:
            raise OSError("disk full")
        return real(table, folder, number)

    monkeypatch.setattr(columnar, "write_parquet", failing)
    with pytest.raises(OSError, match="disk full"):
        ingest("ethereum", [DEMO / "ethereum"], data_dir=store, columnar=True)
    assert tree(store) == before
    monkeypatch.setattr(columnar, "write_parquet", real)
    stores = Paths(tmp_path / "again")
    for paths in (first, [DEMO / "ethereum"]):
        stores.ingest(paths)
    rerun = ingest("ethereum", [DEMO / "ethereum"], data_dir=store, columnar=True)
    assert rerun.commit is not None
    assert_same_store(store, stores.fast)


def test_a_rerun_through_the_columnar_path_leaves_the_store_byte_identical(tmp_path: Path) -> None:
    store = tmp_path / "store"
    ingest("ethereum", [DEMO / "ethereum"], data_dir=store, columnar=True)
    before = tree(store)
    again = ingest("ethereum", [DEMO / "ethereum"], data_dir=store, columnar=True)
    assert again.commit is None and again.stored == 0 and again.skipped == again.read > 0
    assert tree(store) == before


def test_bad_input_message_names_the_file_row_and_field(tmp_path: Path) -> None:
    bad = good_token_row(1)
    bad[3] = "1.5"
    path = token_csv(tmp_path / "in" / "token_transfers.csv", [bad])
    with pytest.raises(ExportFormatError) as err:
        ingest("ethereum", [path], data_dir=tmp_path / "store", columnar=True)
    assert err.value.row == 1 and err.value.field == "value"


# -- the id order -----------------------------------------------------------------------------
@settings(max_examples=200, deadline=None)
@given(
    rows=st.lists(
        st.tuples(
            st.integers(0, 3),  # few first blocks: many ties on it
            st.sampled_from([0, 1, 2**63, 2**64 - 1]),  # first words tie too
            st.integers(0, 2**64 - 1),
            st.integers(0, 2**32 - 1),
        ),
        max_size=40,
        unique_by=lambda r: r[1:],  # a dictionary's keys are distinct
    ),
    wide=st.booleans(),
)
def test_ids_follow_the_sql_order_of_first_block_then_text(
    rows: list[tuple[int, int, int, int]], wide: bool
) -> None:
    """Sorting by the packed key and settling ties equals ORDER BY first_block, address; a
    span of first blocks too wide to pack takes the plain multi-key sort."""
    import numpy as np

    blocks = np.array([r[0] * (10**17 if wide else 1) for r in rows], dtype=np.int64)
    keys = np.array([r[1:] for r in rows], dtype=np.uint64).reshape(len(rows), 3)
    codes = np.arange(len(rows), dtype=np.int64)
    got = columnar._order([blocks], keys, codes).tolist()
    expected = sorted(codes.tolist(), key=lambda i: (int(blocks[i]), *map(int, keys[i])))
    assert got == expected


@pytest.mark.parametrize(
    ("setting", "expected"),
    [("4GB", 4 * 10**9), ("800MiB", 800 * 2**20), ("1.5 GB", 1_500_000_000), ("lots", 0)],
)
def test_the_memory_limit_is_read_in_duckdb_units(
    setting: str, expected: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    from counterflow.store.duckdb_engine import memory_limit_bytes

    monkeypatch.setenv("COUNTERFLOW_MEMORY_LIMIT", setting)
    assert memory_limit_bytes() == expected
