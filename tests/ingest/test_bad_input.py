"""Bad input to ``ingest``: a precise, located error, and a store left exactly as it was.

Bad files are made in tmp_path from real rows (the bundled Bitcoin export) or from rows in
ethereum-etl's token_transfers CSV layout. Every failing ingest runs against a store that already
holds good data, and the whole data directory (manifest bytes included) is compared before and
after. The ``skip_invalid`` tests then check that the same bad rows are quarantined, with their
file, row, field and reason, while the good rows around them are stored.
"""

from __future__ import annotations

import gzip
import json
import shutil
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from counterflow.demo import demo_data_dir
from counterflow.errors import (
    ConfigError,
    CounterflowError,
    ExportFormatError,
    InputError,
)
from counterflow.ingest import ingest, pipeline
from counterflow.store.datadir import DataDirectory
from counterflow.store.reader import StoreReader

DEMO = demo_data_dir()
BTC_LINES = (DEMO / "bitcoin" / "transactions.json").read_text(encoding="utf-8").splitlines()
#: Rows of blocks 50001-50002 (the store fixture holds only block 50000's transaction).
BTC_LATER = BTC_LINES[1:]
TOKEN_HEADER = [
    "token_address",
    "from_address",
    "to_address",
    "value",
    "transaction_hash",
    "log_index",
    "block_number",
]
TOKEN = "0x" + "ab" * 20
#: A real EIP-55 checksummed address (from the EIP-55 test vectors), then one letter's case
#: flipped so that its checksum is wrong.
EIP55_GOOD = "0x52908400098527886E0F7030069857D2E4169EE7"
EIP55_BAD = "0x52908400098527886E0F7030069857D2E4169Ee7"


# -- helpers --------------------------------------------------------------------------------
def btc_legs(record: dict[str, Any]) -> int:
    """Transfers one bitcoin-etl transaction row becomes: inputs, outputs, coinbase credit."""
    return len(record["inputs"]) + len(record["outputs"]) + (1 if record["is_coinbase"] else 0)


def write_lines(path: Path, lines: list[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def token_row(i: int, **override: str) -> list[str]:
    """One token transfer in block 20_000_000 + i (a block the store does not hold)."""
    values = {
        "token_address": TOKEN,
        "from_address": f"0x{i:040x}",
        "to_address": "0x" + "cd" * 20,
        "value": str(1000 + i),
        "transaction_hash": f"0x{i:064x}",
        "log_index": str(i),
        "block_number": str(20_000_000 + i),
    }
    values.update(override)
    return [values[c] for c in TOKEN_HEADER]


def write_csv(path: Path, rows: list[list[str]], header: list[str] = TOKEN_HEADER) -> Path:
    return write_lines(path, [",".join(header)] + [",".join(r) for r in rows])


def transfer_count(store: Path, chain: str) -> int:
    with StoreReader(DataDirectory(store)) as reader:
        return int(reader.rows(f"SELECT count(*) FROM {reader.table(chain, 'transfers')}")[0][0])


def stored_hashes(store: Path, chain: str) -> set[str]:
    with StoreReader(DataDirectory(store)) as reader:
        rows = reader.rows(f"SELECT tx_hash FROM {reader.table(chain, 'transactions')}")
    return {r[0] for r in rows}


def read_rejects(path: str | Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines()]


def manifests(store: Path) -> dict[str, bytes]:
    return {p.parent.name: p.read_bytes() for p in sorted(store.glob("chains/*/manifest.json"))}


def tree(store: Path) -> dict[str, bytes | None]:
    return {
        str(p.relative_to(store)): (p.read_bytes() if p.is_file() else None)
        for p in sorted(store.rglob("*"))
    }


def failing_ingest(
    store: Path,
    error: type[CounterflowError],
    chain: str,
    paths: list[Path],
    **options: Any,
) -> CounterflowError:
    """Run an ingest that must fail with exactly ``error``; the store must not change at all."""
    manifests_before, tree_before = manifests(store), tree(store)
    assert manifests_before, "the store fixture should hold committed data"
    with pytest.raises(error) as caught:
        ingest(chain, paths, data_dir=store, **options)
    assert type(caught.value) is error, f"{type(caught.value).__name__}: {caught.value}"
    assert manifests(store) == manifests_before
    assert tree(store) == tree_before
    return caught.value


def assert_located(
    exc: CounterflowError, path: Path, row: int | None, field: str | None, reason: str
) -> None:
    """The error names the file, the 1-based data row and the field, in attributes and text."""
    assert isinstance(exc, ExportFormatError)
    message = str(exc)
    assert exc.path == str(path)
    assert message.startswith(str(path))
    assert exc.row == row
    if row is not None:
        assert f"row {row}" in message
    if field is None:
        assert exc.field is None
    else:
        assert exc.field is not None and field in exc.field
        assert exc.field in message
    assert reason in message


# -- fixtures -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def base_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store holding bitcoin block 50000 and the two bundled ethereum blocks."""
    root = tmp_path_factory.mktemp("base")
    store = root / "data"
    seed = write_lines(root / "seed" / "transactions.json", BTC_LINES[:1])
    assert ingest("bitcoin", [seed], data_dir=store).stored == btc_legs(json.loads(BTC_LINES[0]))
    assert ingest("ethereum", [DEMO / "ethereum"], data_dir=store).stored > 0
    return store


@pytest.fixture
def store(base_store: Path, tmp_path: Path) -> Path:
    """A private copy of the base store, so that a test may write to it."""
    target = tmp_path / "data"
    shutil.copytree(base_store, target)
    return target


# -- the row-level cases, shared by the strict and the skip_invalid tests -------------------
@dataclass(frozen=True)
class Case:
    chain: str
    path: Path
    row: int
    field: str | None
    reason: str
    good_transfers: int  # what skip_invalid stores
    good_hashes: frozenset[str]
    bad_hash: str | None  # a transaction only in the bad row, None when the row is unreadable


def _btc_case(
    tmp: Path, bad_row: int, mutate: Callable[[dict[str, Any]], str], field: str | None, reason: str
) -> Case:
    records = [json.loads(line) for line in BTC_LATER[:3]]
    lines = [json.dumps(r) for r in records]
    lines[bad_row - 1] = mutate(records[bad_row - 1])
    good = [r for i, r in enumerate(records, start=1) if i != bad_row]
    bad = records[bad_row - 1]
    return Case(
        "bitcoin",
        write_lines(tmp / "btc" / "transactions.json", lines),
        bad_row,
        field,
        reason,
        sum(btc_legs(r) for r in good),
        frozenset(r["hash"] for r in good),
        bad["hash"] if field is not None else None,
    )


def _token_case(tmp: Path, bad: list[str], field: str | None, reason: str) -> Case:
    rows = [token_row(1), bad, token_row(3)]
    return Case(
        "ethereum",
        write_csv(tmp / "eth" / "token_transfers.csv", rows),
        2,
        field,
        reason,
        2,
        frozenset({token_row(1)[4], token_row(3)[4]}),
        bad[4] if field is not None and len(bad) == len(TOKEN_HEADER) else None,
    )


def case_malformed_json(tmp: Path) -> Case:
    return _btc_case(tmp, 2, lambda r: json.dumps(r)[:120], None, "malformed JSON")


def case_csv_missing_field(tmp: Path) -> Case:
    return _token_case(tmp, token_row(2)[:-1], None, "expected 7 fields, found 6")


def case_truncated_last_line(tmp: Path) -> Case:
    return _btc_case(tmp, 3, lambda r: json.dumps(r)[:-15], None, "malformed JSON")


def _break_btc_address(record: dict[str, Any]) -> str:
    address = record["outputs"][0]["addresses"][0]
    assert address == "1HaHTfmvoUW6i6nhJf8jJs6tU4cHNmBQHQ"
    record["outputs"][0]["addresses"] = [address[:-1] + "R"]  # one base58 character changed
    return json.dumps(record)


def case_bitcoin_checksum(tmp: Path) -> Case:
    return _btc_case(tmp, 2, _break_btc_address, "address", "1HaHTfmvoUW6i6nhJf8jJs6tU4cHNmBQHR")


def case_eip55(tmp: Path) -> Case:
    return _token_case(tmp, token_row(2, from_address=EIP55_BAD), "address", "EIP-55")


def case_negative_amount(tmp: Path) -> Case:
    return _token_case(tmp, token_row(2, value="-5"), "value", "negative amount")


def case_fraction_amount(tmp: Path) -> Case:
    return _token_case(tmp, token_row(2, value="1.5"), "value", "not an integer")


def case_exponent_amount(tmp: Path) -> Case:
    return _token_case(tmp, token_row(2, value="1e18"), "value", "not an integer")


def _json_value(value: float) -> Callable[[dict[str, Any]], str]:
    def mutate(record: dict[str, Any]) -> str:
        record["outputs"][0]["value"] = value  # a JSON number, as float-minded exporters write
        return json.dumps(record)

    return mutate


def case_json_float_amount(tmp: Path) -> Case:
    return _btc_case(tmp, 2, _json_value(1.5), "outputs.value", "not an integer")


def case_json_exponent_amount(tmp: Path) -> Case:
    return _btc_case(tmp, 2, _json_value(1e18), "outputs.value", "not an integer")


def case_json_negative_amount(tmp: Path) -> Case:
    return _btc_case(tmp, 3, _json_value(-1), "outputs.value", "negative amount")


ROW_CASES = [
    case_malformed_json,
    case_csv_missing_field,
    case_truncated_last_line,
    case_bitcoin_checksum,
    case_eip55,
    case_negative_amount,
    case_fraction_amount,
    case_exponent_amount,
    case_json_float_amount,
    case_json_exponent_amount,
    case_json_negative_amount,
]


@pytest.mark.parametrize("make", ROW_CASES, ids=lambda f: f.__name__.removeprefix("case_"))
def test_bad_row_fails_located_and_store_unchanged(
    make: Callable[[Path], Case], store: Path, tmp_path: Path
) -> None:
    case = make(tmp_path)
    exc = failing_ingest(store, ExportFormatError, case.chain, [case.path])
    assert_located(exc, case.path, case.row, case.field, case.reason)


#: Cases whose skip_invalid behaviour is not already covered by a test of several bad rows.
SKIP_CASES = [
    case_malformed_json,
    case_csv_missing_field,
    case_truncated_last_line,
    case_bitcoin_checksum,
    case_eip55,
]


@pytest.mark.parametrize("make", SKIP_CASES, ids=lambda f: f.__name__.removeprefix("case_"))
def test_skip_invalid_quarantines_bad_row(
    make: Callable[[Path], Case], store: Path, tmp_path: Path
) -> None:
    case = make(tmp_path)
    before = transfer_count(store, case.chain)
    rejects = tmp_path / "rejects.jsonl"
    report = ingest(
        case.chain, [case.path], data_dir=store, skip_invalid=True, rejects_path=rejects
    )
    assert report.stored == case.good_transfers
    assert report.rejected_rows == 1
    assert report.rejects_file == str(rejects)
    assert report.commit is not None
    assert transfer_count(store, case.chain) == before + case.good_transfers
    hashes = stored_hashes(store, case.chain)
    assert case.good_hashes <= hashes
    if case.bad_hash is not None:
        assert case.bad_hash not in hashes  # the bad row is dropped whole
    [reject] = read_rejects(rejects)
    assert set(reject) == {"file", "row", "field", "reason"}
    assert reject["file"] == str(case.path)
    assert reject["row"] == case.row
    if case.field is None:
        assert reject["field"] is None
    else:
        assert case.field in reject["field"]
    assert case.reason in reject["reason"]


# -- file-level cases -----------------------------------------------------------------------
def test_wrong_column_set_names_missing_column(store: Path, tmp_path: Path) -> None:
    header = [c for c in TOKEN_HEADER if c != "value"]
    row = [v for c, v in zip(TOKEN_HEADER, token_row(1), strict=True) if c != "value"]
    path = write_csv(tmp_path / "token_transfers.csv", [row], header=header)
    exc = failing_ingest(store, ExportFormatError, "ethereum", [path])
    assert isinstance(exc, ExportFormatError)
    assert exc.path == str(path)
    assert exc.field == "value"
    assert "missing column(s) value" in str(exc)
    assert str(path) in str(exc)


def test_wrong_column_set_json_names_missing_column(store: Path, tmp_path: Path) -> None:
    record = json.loads(BTC_LATER[0])
    del record["outputs"]
    path = write_lines(tmp_path / "transactions.json", [json.dumps(record)])
    exc = failing_ingest(store, ExportFormatError, "bitcoin", [path])
    assert_located(exc, path, 1, "outputs", "missing column(s) outputs")


def test_real_csv_missing_value_column(store: Path, tmp_path: Path, shared_data: Path) -> None:
    """A real ethereum-etl token_transfers CSV with its ``value`` column cut out."""
    source = (
        shared_data
        / "chain/ethereum-etl-samples/test_export_token_transfers_job/block_with_transfers"
        / "expected_token_transfers.csv"
    )
    if not source.is_file():
        pytest.skip(f"{source} not found")
    lines = source.read_text(encoding="utf-8").splitlines()
    assert lines[0].split(",") == TOKEN_HEADER
    drop = TOKEN_HEADER.index("value")
    cut = [",".join(f for i, f in enumerate(line.split(",")) if i != drop) for line in lines]
    path = write_lines(tmp_path / "token_transfers.csv", cut)
    exc = failing_ingest(store, ExportFormatError, "ethereum", [path])
    assert isinstance(exc, ExportFormatError)
    assert exc.field == "value" and str(path) in str(exc)


def test_csv_header_problem_is_not_reported_as_data_row_1(store: Path, tmp_path: Path) -> None:
    """SRC BUG (exports.py check_columns): a CSV header error is reported as "row 1".

    Rows are 1-based *data* rows and a CSV header is not a row, so "row 1" sends the user to
    the first data line, which is fine. The header problem should carry no row (or say header).
    """
    header = [c for c in TOKEN_HEADER if c != "value"]
    path = write_csv(tmp_path / "token_transfers.csv", [["x"] * len(header)], header=header)
    exc = failing_ingest(store, ExportFormatError, "ethereum", [path])
    assert isinstance(exc, ExportFormatError)
    assert exc.row is None
    assert "row 1" not in str(exc)


def test_malformed_token_address_names_its_column(store: Path, tmp_path: Path) -> None:
    """SRC BUG (account.py _token_legs): the field named is the SQL alias ``t.<column>``.

    A token_transfers row whose address is not 0x + 40 hex digits is reported with field
    't.from_address', a name that appears nowhere in the user's file (token_address and
    to_address alike).
    """
    column = "from_address"
    path = write_csv(
        tmp_path / "token_transfers.csv", [token_row(1), token_row(2, **{column: "0x1234"})]
    )
    exc = failing_ingest(store, ExportFormatError, "ethereum", [path])
    assert_located(exc, path, 2, column, "not an address")
    assert isinstance(exc, ExportFormatError)
    assert exc.field == column


def test_truncated_gzip(store: Path, tmp_path: Path) -> None:
    whole = gzip.compress("".join(line + "\n" for line in BTC_LATER).encode())
    cut = whole[: len(whole) // 2]
    path = tmp_path / "gz" / "transactions.json.gz"
    path.parent.mkdir()
    path.write_bytes(cut)
    # What survives the cut: the complete lines before it; the first incomplete one is bad.
    readable = zlib.decompressobj(wbits=31).decompress(cut).decode()
    complete = readable.count("\n")
    assert 1 <= complete < len(BTC_LATER)
    exc = failing_ingest(store, ExportFormatError, "bitcoin", [path])
    assert_located(exc, path, complete + 1, None, "truncated")

    rejects = tmp_path / "rejects.jsonl"
    report = ingest("bitcoin", [path], data_dir=store, skip_invalid=True, rejects_path=rejects)
    good = [json.loads(line) for line in BTC_LATER[:complete]]
    assert report.stored == sum(btc_legs(r) for r in good)
    assert {r["hash"] for r in good} <= stored_hashes(store, "bitcoin")
    [reject] = read_rejects(rejects)
    assert reject["file"] == str(path) and reject["row"] == complete + 1
    assert "truncated" in reject["reason"]


def test_unknown_chain_is_config_error(store: Path) -> None:
    exc = failing_ingest(store, ConfigError, "notachain", [DEMO / "bitcoin"])
    assert "notachain" in str(exc)
    assert "bitcoin" in str(exc)  # it lists the chains that do exist
    assert exc.exit_code == 2


@pytest.mark.parametrize("name", ["notes.json", "export.txt", "data.parquet"])
def test_file_that_is_not_an_export_is_input_error(store: Path, tmp_path: Path, name: str) -> None:
    path = write_lines(tmp_path / name, [BTC_LATER[0]])
    exc = failing_ingest(store, InputError, "bitcoin", [path])
    assert str(exc).startswith(str(path))
    assert exc.exit_code == 3


def test_nonexistent_path_is_input_error(store: Path, tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "transactions.json"
    exc = failing_ingest(store, InputError, "bitcoin", [DEMO / "bitcoin", missing])
    assert str(missing) in str(exc)
    assert "no such file" in str(exc)


def test_export_of_the_wrong_family_is_input_error(store: Path, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "token_transfers.csv", [token_row(1)])
    exc = failing_ingest(store, InputError, "bitcoin", [path])
    assert str(path) in str(exc) and "token_transfers" in str(exc)


def test_good_file_beside_a_bad_one_is_not_stored(store: Path, tmp_path: Path) -> None:
    """One run is one commit: a bad file fails the run, good files in it included."""
    good = write_csv(tmp_path / "a" / "token_transfers.csv", [token_row(7), token_row(8)])
    bad = write_csv(tmp_path / "b" / "token_transfers.csv", [token_row(9, value="-1")])
    exc = failing_ingest(store, ExportFormatError, "ethereum", [good, bad])
    assert_located(exc, bad, 1, "value", "negative amount")


# -- skip_invalid beyond one bad row ------------------------------------------------------
def test_skip_invalid_several_bad_rows_in_one_csv(store: Path, tmp_path: Path) -> None:
    rows = [
        token_row(1),
        token_row(2, value="-1"),
        token_row(3),
        token_row(4, to_address="0x1234"),
        token_row(5, value="2.5"),
        token_row(6, value="1e18"),
        token_row(7),
    ]
    path = write_csv(tmp_path / "token_transfers.csv", rows)
    before = transfer_count(store, "ethereum")
    report = ingest("ethereum", [path], data_dir=store, skip_invalid=True)
    assert (report.read, report.stored, report.rejected, report.rejected_rows) == (7, 3, 4, 4)
    assert transfer_count(store, "ethereum") == before + 3
    assert {token_row(i)[4] for i in (1, 3, 7)} <= stored_hashes(store, "ethereum")
    assert not {token_row(i)[4] for i in (2, 4, 5, 6)} & stored_hashes(store, "ethereum")
    # Without rejects_path the reject file goes to DATA_DIR/rejects/.
    assert report.rejects_file is not None
    assert Path(report.rejects_file).parent == DataDirectory(store).rejects_dir
    rejects = read_rejects(report.rejects_file)
    assert {r["file"] for r in rejects} == {str(path)}
    assert [r["row"] for r in rejects] == [2, 4, 5, 6]
    assert [rejects[i]["field"] for i in (0, 2, 3)] == ["value", "value", "value"]
    assert "to_address" in rejects[1]["field"]  # exact name: see the test of token addresses
    assert "negative amount" in rejects[0]["reason"]
    assert "not an address" in rejects[1]["reason"]
    assert all("not an integer" in r["reason"] for r in rejects[2:])


def test_skip_invalid_json_number_amounts(store: Path, tmp_path: Path) -> None:
    """JSON numbers that are not integers (1.5, 1e+18) are refused, never rounded."""
    records = [json.loads(line) for line in BTC_LATER]
    records[1]["outputs"][0]["value"] = 1.5
    records[2]["outputs"][0]["value"] = 1e18
    path = write_lines(tmp_path / "transactions.json", [json.dumps(r) for r in records])
    rejects = tmp_path / "rejects.jsonl"
    report = ingest("bitcoin", [path], data_dir=store, skip_invalid=True, rejects_path=rejects)
    good = [records[0], records[3]]
    assert report.stored == sum(btc_legs(r) for r in good)
    assert report.rejected == btc_legs(records[1]) + btc_legs(records[2])
    found = read_rejects(rejects)
    assert [(r["row"], r["field"]) for r in found] == [(2, "outputs.value"), (3, "outputs.value")]
    assert all("not an integer" in r["reason"] for r in found)
    hashes = stored_hashes(store, "bitcoin")
    assert {r["hash"] for r in good} <= hashes
    assert not {records[1]["hash"], records[2]["hash"]} & hashes


def test_skip_invalid_without_bad_rows_writes_no_reject_file(store: Path, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "token_transfers.csv", [token_row(1), token_row(2)])
    report = ingest("ethereum", [path], data_dir=store, skip_invalid=True)
    assert report.stored == 2 and report.rejected_rows == 0 and report.rejects_file is None
    assert not DataDirectory(store).rejects_dir.exists()


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_skip_invalid_row_numbers_after_a_malformed_line(
    fmt: str, store: Path, tmp_path: Path
) -> None:
    """SRC BUG (pipeline.py _quarantine_broken_lines / _drop_rejected): rows shift.

    With skip_invalid, broken lines are cut out into a cleaned copy and the engine re-reads
    that copy, so every row after a cut line is reported one row too early: a bad amount on
    data row 4 of the original file is written to the reject file as row 3.
    """
    if fmt == "json":
        records = [json.loads(line) for line in BTC_LATER]
        lines = [json.dumps(r) for r in records]
        lines[1] = lines[1][:80]  # row 2: malformed
        records[3]["outputs"][0]["value"] = -1  # row 4: negative amount
        lines[3] = json.dumps(records[3])
        path = write_lines(tmp_path / "transactions.json", lines)
        chain, field = "bitcoin", "outputs.value"
    else:
        rows = [token_row(1), token_row(2)[:3], token_row(3), token_row(4, value="-1")]
        path = write_csv(tmp_path / "token_transfers.csv", rows)
        chain, field = "ethereum", "value"
    rejects = tmp_path / "rejects.jsonl"
    report = ingest(chain, [path], data_dir=store, skip_invalid=True, rejects_path=rejects)
    assert report.rejected_rows == 2
    found = [(r["file"], r["row"], r["field"]) for r in read_rejects(rejects)]
    assert found == [(str(path), 2, None), (str(path), 4, field)]


class _FrozenClock(datetime):
    @classmethod
    def now(cls, tz: Any = None) -> _FrozenClock:
        return cls(2024, 1, 2, 3, 4, 5, tzinfo=tz)


def test_default_reject_files_of_two_runs_do_not_overwrite_each_other(
    store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SRC BUG (pipeline.py _write_rejects): the default reject file is named by the second.

    Two skip_invalid runs within the same second (a script ingesting files one by one) get the
    same DATA_DIR/rejects/CHAIN-STAMP.jsonl, and the second silently replaces the first's rows.
    The clock is frozen here to make "the same second" certain.
    """
    monkeypatch.setattr(pipeline, "datetime", _FrozenClock)
    first = write_csv(tmp_path / "a" / "token_transfers.csv", [token_row(1, value="-1")])
    second = write_csv(tmp_path / "b" / "token_transfers.csv", [token_row(2, value="1.5")])
    one = ingest("ethereum", [first], data_dir=store, skip_invalid=True)
    two = ingest("ethereum", [second], data_dir=store, skip_invalid=True)
    assert one.rejects_file is not None and two.rejects_file is not None
    recorded = read_rejects(one.rejects_file)
    if one.rejects_file == two.rejects_file:
        recorded = [r for r in recorded if r["file"] == str(first)]
    assert [(r["file"], r["row"]) for r in recorded] == [(str(first), 1)]


def test_corrected_row_can_be_ingested_after_quarantine(store: Path, tmp_path: Path) -> None:
    """SRC BUG (pipeline.py _drop_covered): a quarantined row's block is marked covered.

    The reject file exists so that bad rows can be fixed and ingested again, but the run that
    quarantined a row records its (token_transfers, block) as stored. Re-ingesting the
    corrected file then skips the row as "already stored" and it can never enter the store.
    """
    path = tmp_path / "token_transfers.csv"
    write_csv(path, [token_row(1), token_row(2, value="-5"), token_row(3)])
    first = ingest("ethereum", [path], data_dir=store, skip_invalid=True)
    assert first.stored == 2 and first.rejected_rows == 1
    before = transfer_count(store, "ethereum")

    write_csv(path, [token_row(1), token_row(2, value="5"), token_row(3)])
    second = ingest("ethereum", [path], data_dir=store)
    assert second.stored == 1
    assert transfer_count(store, "ethereum") == before + 1
    assert token_row(2)[4] in stored_hashes(store, "ethereum")
