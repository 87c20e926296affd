"""Property: any integer amount in an export comes back exactly, however wide."""

from __future__ import annotations

import tempfile
from pathlib import Path

import duckdb
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from counterflow import ingest
from counterflow.store import DataDirectory

HEADER = "token_address,from_address,to_address,value,transaction_hash,log_index,block_number\n"

amounts = st.one_of(
    st.integers(min_value=0, max_value=2**64),
    st.integers(min_value=2**64, max_value=10**38 - 1),
    st.integers(min_value=10**38, max_value=10**78),  # beyond DECIMAL(38,0): spam tokens
)
addresses = st.binary(min_size=20, max_size=20).map(lambda b: "0x" + b.hex())


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(addresses, addresses, amounts), min_size=1, max_size=12))
def test_token_amounts_round_trip_exactly(rows: list[tuple[str, str, int]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        export = Path(tmp) / "token_transfers.csv"
        lines = [
            f"0x{'7' * 40},{src},{dst},{value},0x{i:064x},{i},{100 + i // 4}\n"
            for i, (src, dst, value) in enumerate(rows)
        ]
        export.write_text(HEADER + "".join(lines))
        report = ingest("ethereum", [export], data_dir=Path(tmp) / "store")
        assert report.stored == len(rows)
        files = [
            str(p) for p in DataDirectory(Path(tmp) / "store").table_files("ethereum", "transfers")
        ]
        stored = duckdb.sql(
            f"SELECT amount, amount_raw FROM read_parquet({files!r}) ORDER BY seq"
        ).fetchall()
        for (amount, raw), (_s, _d, value) in zip(stored, rows, strict=True):
            if value < 10**38:
                assert raw is None and int(amount) == value
            else:
                assert amount is None and int(raw) == value
