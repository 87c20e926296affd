"""Bad input to ``ingest``: a precise, located error, and a store left exactly as it was.

Bad files are made in tmp_path from real rows (the bundled Bitcoin export) or from rows in
ethereum-etl's token_transfers CSV layout. Every failing ingest runs against a store that already
holds good data, and the whole data directory (manifest bytes included) is compared before and
after. The ``skip_invalid`` tests then check that the same bad rows are quarantined, with their
file, row, field and reason, while the good rows around them are stored, except that a block is
only ever stored whole per export: the other rows of an (export, block) with a rejected row are
held back (listed in the reject file, not stored, the block not marked covered), so that
re-ingesting the corrected file stores the whole block exactly once. A malformed line has no
readable block, so the blocks of the well-formed rows just before and after it are held back.
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
#: Rows of blocks 50001-50002 (the store fixture holds only block 50000's transaction): rows 1-3
#: are the three transactions of block 50001, row 4 the one of block 50002.
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
ADDRESS_COLUMNS = ["token_address", "from_address", "to_address"]


def held_reason(block: int) -> str:
    """The reject-file reason of a good row held back because its block had a rejected row."""
    return (
        f"held back: another row of block {block} in this export was rejected "
        "(or a malformed line next to it); re-ingest the corrected file to store the whole block"
    )


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


def hash_counts(store: Path, chain: str) -> dict[str, int]:
    """How many transfers each stored transaction has (a duplicate would double them)."""
    with StoreReader(DataDirectory(store)) as reader:
        rows = reader.rows(
            f"SELECT t.tx_hash, count(*) FROM {reader.table(chain, 'transfers')} AS f "
            f"JOIN {reader.table(chain, 'transactions')} AS t USING (tx_id) GROUP BY t.tx_hash"
        )
    return {r[0]: int(r[1]) for r in rows}


def covered(store: Path, chain: str, source: str) -> set[int]:
    with StoreReader(DataDirectory(store)) as reader:
        rows = reader.rows(
            f"SELECT block_number FROM {reader.table(chain, 'coverage')} WHERE source = ?",
            [source],
        )
    return {int(r[0]) for r in rows}


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
    assert exc.field == field
    if field is not None:
        assert f"field {field!r}" in message
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
    field: str | None  # None when the row cannot be read at all (a malformed line)
    reason: str
    good_transfers: int  # what skip_invalid stores
    good_hashes: frozenset[str]
    bad_hash: str | None  # a transaction only in the bad row, None when the row is unreadable
    fixed_lines: tuple[str, ...]  # the whole file with the bad row corrected
    fixed_hash: str  # the bad row's transaction once corrected
    #: (row, block) of each good row that skip_invalid holds back: the rest of the bad row's
    #: (export, block) or, for a malformed line, of the blocks of the well-formed rows just
    #: before and after it.
    held: tuple[tuple[int, int], ...] = ()
    held_hashes: frozenset[str] = frozenset()
    rejected_transfers: int = 0  # the bad row's transfers (if readable) and the held rows'
    corrected_transfers: int = 0  # what a strict re-ingest of the corrected file adds


def _held_blocks(blocks: list[int], bad_row: int, readable: bool) -> set[int]:
    """Blocks skip_invalid holds back for a bad row, given the block of each row of the file.

    A readable bad row holds back its own block; a malformed line (whose block cannot be read)
    the blocks of the nearest rows before and after it.
    """
    if readable:
        return {blocks[bad_row - 1]}
    return {blocks[i - 1] for i in (bad_row - 1, bad_row + 1) if 1 <= i <= len(blocks)}


def _btc_case(
    tmp: Path, bad_row: int, mutate: Callable[[dict[str, Any]], str], field: str | None, reason: str
) -> Case:
    """All of BTC_LATER (block 50001 in rows 1-3, block 50002 in row 4), row ``bad_row`` bad."""
    records = [json.loads(line) for line in BTC_LATER]
    fixed = [json.dumps(r) for r in records]
    lines = list(fixed)
    bad = records[bad_row - 1]
    lines[bad_row - 1] = mutate(json.loads(fixed[bad_row - 1]))
    readable = field is not None
    blocks = _held_blocks([r["block_number"] for r in records], bad_row, readable)
    held = [
        (i, r["block_number"])
        for i, r in enumerate(records, start=1)
        if i != bad_row and r["block_number"] in blocks
    ]
    held_records = [records[i - 1] for i, _ in held]
    good = [
        r
        for i, r in enumerate(records, start=1)
        if i != bad_row and r["block_number"] not in blocks
    ]
    rejected = sum(btc_legs(r) for r in held_records) + (btc_legs(bad) if readable else 0)
    return Case(
        "bitcoin",
        write_lines(tmp / "btc" / "transactions.json", lines),
        bad_row,
        field,
        reason,
        sum(btc_legs(r) for r in good),
        frozenset(r["hash"] for r in good),
        bad["hash"] if readable else None,
        tuple(fixed),
        bad["hash"],
        tuple(held),
        frozenset(r["hash"] for r in held_records),
        rejected,
        btc_legs(bad) + sum(btc_legs(r) for r in held_records),
    )


def _token_case(tmp: Path, bad: list[str], field: str | None, reason: str) -> Case:
    """Three token transfers, each in a block of its own (20_000_001 to 20_000_003), row 2 bad.

    A readable bad row holds nothing else back; a malformed one holds back rows 1 and 3.
    """
    rows = [token_row(1), bad, token_row(3)]
    readable = field is not None and len(bad) == len(TOKEN_HEADER)
    fixed = [",".join(TOKEN_HEADER)] + [",".join(token_row(i)) for i in (1, 2, 3)]
    blocks = _held_blocks([20_000_000 + i for i in (1, 2, 3)], 2, readable)
    held = [(i, 20_000_000 + i) for i in (1, 3) if 20_000_000 + i in blocks]
    good = [i for i in (1, 3) if 20_000_000 + i not in blocks]
    return Case(
        "ethereum",
        write_csv(tmp / "eth" / "token_transfers.csv", rows),
        2,
        field,
        reason,
        len(good),
        frozenset(token_row(i)[4] for i in good),
        bad[4] if readable else None,
        tuple(fixed),
        token_row(2)[4],
        tuple(held),
        frozenset(token_row(i)[4] for i, _ in held),
        (1 if readable else 0) + len(held),
        1 + len(held),
    )


def case_malformed_json(tmp: Path) -> Case:
    return _btc_case(tmp, 2, lambda r: json.dumps(r)[:120], None, "malformed JSON")


def case_csv_missing_field(tmp: Path) -> Case:
    return _token_case(tmp, token_row(2)[:-1], None, "expected 7 fields, found 6")


def case_truncated_last_line(tmp: Path) -> Case:
    return _btc_case(tmp, len(BTC_LATER), lambda r: json.dumps(r)[:-15], None, "malformed JSON")


def _break_btc_address(record: dict[str, Any]) -> str:
    address = record["outputs"][0]["addresses"][0]
    assert address == "1HaHTfmvoUW6i6nhJf8jJs6tU4cHNmBQHQ"
    record["outputs"][0]["addresses"] = [address[:-1] + "R"]  # one base58 character changed
    return json.dumps(record)


def case_bitcoin_checksum(tmp: Path) -> Case:
    """Row 2 is in block 50001 with rows 1 and 3, which skip_invalid therefore holds back."""
    return _btc_case(
        tmp, 2, _break_btc_address, "outputs.addresses", "1HaHTfmvoUW6i6nhJf8jJs6tU4cHNmBQHR"
    )


def case_eip55(tmp: Path) -> Case:
    return _token_case(tmp, token_row(2, from_address=EIP55_BAD), "from_address", "EIP-55")


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
    make: Callable[[Path], Case], store: Path, base_store: Path, tmp_path: Path
) -> None:
    case = make(tmp_path)
    before = transfer_count(store, case.chain)
    rejects = tmp_path / "rejects.jsonl"
    report = ingest(
        case.chain, [case.path], data_dir=store, skip_invalid=True, rejects_path=rejects
    )
    assert report.stored == case.good_transfers
    assert report.rejected == case.rejected_transfers
    assert report.rejected_rows == 1 + len(case.held)
    assert report.rejects_file == str(rejects)
    # A run that stores nothing (every good row held back) makes no commit.
    assert (report.commit is not None) == (case.good_transfers > 0)
    assert transfer_count(store, case.chain) == before + case.good_transfers
    hashes = stored_hashes(store, case.chain)
    assert case.good_hashes <= hashes
    assert not case.held_hashes & hashes
    if case.bad_hash is not None:
        assert case.bad_hash not in hashes  # the bad row is dropped whole
    found = read_rejects(rejects)
    assert all(set(r) == {"file", "row", "field", "reason"} for r in found)
    assert {r["file"] for r in found} == {str(case.path)}
    [reject] = [r for r in found if r["row"] == case.row]
    assert reject["field"] == case.field
    assert case.reason in reject["reason"]
    held = sorted((r["row"], r["field"], r["reason"]) for r in found if r is not reject)
    assert held == [(row, None, held_reason(block)) for row, block in case.held]
    source = "transactions" if case.chain == "bitcoin" else "token_transfers"
    assert not {block for _, block in case.held} & covered(store, case.chain, source)

    # The corrected file adds exactly the bad row and the rows held back with it, once: the
    # store ends up as a strict ingest of the corrected file into the same store leaves it.
    write_lines(case.path, list(case.fixed_lines))
    again = ingest(case.chain, [case.path], data_dir=store)
    assert again.stored == case.corrected_transfers
    assert transfer_count(store, case.chain) == (
        before + case.good_transfers + case.corrected_transfers
    )
    assert case.good_hashes | case.held_hashes | {case.fixed_hash} <= stored_hashes(
        store, case.chain
    )
    assert ingest(case.chain, [case.path], data_dir=store).stored == 0
    clean = tmp_path / "clean"
    shutil.copytree(base_store, clean)
    ingest(case.chain, [case.path], data_dir=clean)
    assert hash_counts(store, case.chain) == hash_counts(clean, case.chain)
    assert covered(store, case.chain, source) == covered(clean, case.chain, source)


# -- file-level cases -----------------------------------------------------------------------
def test_wrong_column_set_names_missing_column(store: Path, tmp_path: Path) -> None:
    header = [c for c in TOKEN_HEADER if c != "value"]
    row = [v for c, v in zip(TOKEN_HEADER, token_row(1), strict=True) if c != "value"]
    path = write_csv(tmp_path / "token_transfers.csv", [row], header=header)
    exc = failing_ingest(store, ExportFormatError, "ethereum", [path])
    assert_located(exc, path, None, "value", "header missing column(s) value")


def test_wrong_column_set_json_names_missing_column(store: Path, tmp_path: Path) -> None:
    record = json.loads(BTC_LATER[0])
    del record["outputs"]
    path = write_lines(tmp_path / "transactions.json", [json.dumps(record)])
    exc = failing_ingest(store, ExportFormatError, "bitcoin", [path])
    assert_located(exc, path, 1, "outputs", "first record missing column(s) outputs")


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
    assert_located(exc, path, None, "value", "header missing column(s) value")


def test_csv_header_problem_is_not_reported_as_data_row_1(store: Path, tmp_path: Path) -> None:
    """Rows are 1-based *data* rows and a CSV header is not one: its problem carries no row."""
    header = [c for c in TOKEN_HEADER if c not in ("value", "log_index")]
    path = write_csv(tmp_path / "token_transfers.csv", [["x"] * len(header)], header=header)
    exc = failing_ingest(store, ExportFormatError, "ethereum", [path])
    # The field is the first missing column; the message names them all.
    assert_located(exc, path, None, "log_index", "header missing column(s) log_index, value")
    assert "row 1" not in str(exc)


@pytest.mark.parametrize("column", ADDRESS_COLUMNS)
def test_malformed_token_address_names_its_column(column: str, store: Path, tmp_path: Path) -> None:
    """The field is the column of the user's file, never an SQL alias such as ``t.<column>``."""
    path = write_csv(
        tmp_path / "token_transfers.csv", [token_row(1), token_row(2, **{column: "0x1234"})]
    )
    exc = failing_ingest(store, ExportFormatError, "ethereum", [path])
    assert_located(exc, path, 2, column, "not an address")


@pytest.mark.parametrize("column", ADDRESS_COLUMNS)
def test_eip55_checksum_error_names_its_column(column: str, store: Path, tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "token_transfers.csv", [token_row(1), token_row(2, **{column: EIP55_BAD})]
    )
    exc = failing_ingest(store, ExportFormatError, "ethereum", [path])
    assert_located(exc, path, 2, column, "EIP-55 checksum mismatch")


def test_bitcoin_input_address_error_names_inputs_addresses(store: Path, tmp_path: Path) -> None:
    records = [json.loads(line) for line in BTC_LATER]
    address = records[2]["inputs"][0]["addresses"][0]
    assert address == "18dxbN6m8zxieN8F9BchXmhbeXUdFLr8fD"
    records[2]["inputs"][0]["addresses"] = [address[:-1] + "R"]
    path = write_lines(tmp_path / "transactions.json", [json.dumps(r) for r in records])
    exc = failing_ingest(store, ExportFormatError, "bitcoin", [path])
    assert_located(exc, path, 3, "inputs.addresses", "Base58Check checksum mismatch")


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

    # With skip_invalid the truncated tail is quarantined and the block of the complete row
    # just before it is held back: the tail most likely belonged to that block.
    rejects = tmp_path / "rejects.jsonl"
    report = ingest("bitcoin", [path], data_dir=store, skip_invalid=True, rejects_path=rejects)
    kept = [json.loads(line) for line in BTC_LATER[:complete]]
    block = kept[-1]["block_number"]
    held = [i for i, r in enumerate(kept, start=1) if r["block_number"] == block]
    good = [r for r in kept if r["block_number"] != block]
    assert report.stored == sum(btc_legs(r) for r in good)
    assert report.rejected == sum(btc_legs(kept[i - 1]) for i in held)
    assert report.rejected_rows == len(held) + 1
    hashes = stored_hashes(store, "bitcoin")
    assert {r["hash"] for r in good} <= hashes
    assert not {kept[i - 1]["hash"] for i in held} & hashes
    found = sorted((r["file"], r["row"], r["field"], r["reason"]) for r in read_rejects(rejects))
    assert [(f, row, fld) for f, row, fld, _ in found] == [
        (str(path), row, None) for row in [*held, complete + 1]
    ]
    assert [reason for *_, reason in found[:-1]] == [held_reason(block)] * len(held)
    assert "truncated" in found[-1][3]
    assert block not in covered(store, "bitcoin", "transactions")


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
    """Every row is a block of its own, so every good row is stored and none is held back."""
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
    assert [r["field"] for r in rejects] == ["value", "to_address", "value", "value"]
    assert "negative amount" in rejects[0]["reason"]
    assert "not an address" in rejects[1]["reason"]
    assert all("not an integer" in r["reason"] for r in rejects[2:])


def test_skip_invalid_json_number_amounts(store: Path, tmp_path: Path) -> None:
    """JSON numbers that are not integers (1.5, 1e+18) are refused, never rounded.

    Rows 2 and 3 are in block 50001 with row 1, which is held back; row 4 (block 50002) is
    stored.
    """
    records = [json.loads(line) for line in BTC_LATER]
    assert [r["block_number"] for r in records] == [50001, 50001, 50001, 50002]
    records[1]["outputs"][0]["value"] = 1.5
    records[2]["outputs"][0]["value"] = 1e18
    path = write_lines(tmp_path / "transactions.json", [json.dumps(r) for r in records])
    rejects = tmp_path / "rejects.jsonl"
    report = ingest("bitcoin", [path], data_dir=store, skip_invalid=True, rejects_path=rejects)
    assert report.stored == btc_legs(records[3])
    assert report.rejected == sum(btc_legs(r) for r in records[:3])
    assert report.rejected_rows == 3
    found = sorted((r["row"], r["field"], r["reason"]) for r in read_rejects(rejects))
    assert [(row, fld) for row, fld, _ in found] == [
        (1, None),
        (2, "outputs.value"),
        (3, "outputs.value"),
    ]
    assert found[0][2] == held_reason(50001)
    assert all("not an integer" in reason for _, _, reason in found[1:])
    hashes = stored_hashes(store, "bitcoin")
    assert records[3]["hash"] in hashes
    assert not {r["hash"] for r in records[:3]} & hashes
    assert 50001 not in covered(store, "bitcoin", "transactions")
    assert 50002 in covered(store, "bitcoin", "transactions")


def test_skip_invalid_without_bad_rows_writes_no_reject_file(store: Path, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "token_transfers.csv", [token_row(1), token_row(2)])
    report = ingest("ethereum", [path], data_dir=store, skip_invalid=True)
    assert report.stored == 2 and report.rejected_rows == 0 and report.rejects_file is None
    assert not DataDirectory(store).rejects_dir.exists()


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_skip_invalid_row_numbers_after_a_malformed_line(
    fmt: str, store: Path, tmp_path: Path
) -> None:
    """Rows are those of the user's file, also after a malformed line was cut out of it.

    Broken lines are cut out into a cleaned copy that the engine re-reads; rejected and
    held-back rows after a cut line must still be reported by their row in the original file.
    """
    if fmt == "json":
        # Block 50002's row first, then block 50001's three rows: malformed, negative amount,
        # held back. The rows next to the malformed line (1 and 3) hold back their blocks too.
        records = [json.loads(line) for line in (BTC_LATER[3], *BTC_LATER[:3])]
        records[2]["outputs"][0]["value"] = -1
        lines = [json.dumps(r) for r in records]
        lines[1] = lines[1][:80]
        path = write_lines(tmp_path / "transactions.json", lines)
        chain, field, malformed = "bitcoin", "outputs.value", "malformed JSON"
        held = {1: 50002, 4: 50001}
        bad_row = 3
        stored = 0
    else:
        rows = [
            token_row(1),  # row 1: held back (next to the malformed line)
            token_row(2)[:3],  # row 2: malformed
            token_row(3),  # row 3: held back (next to the malformed line, and in row 4's block)
            token_row(4, value="-1", block_number=str(20_000_003)),  # row 4: negative amount
            token_row(5),  # row 5: stored
        ]
        path = write_csv(tmp_path / "token_transfers.csv", rows)
        chain, field, malformed = "ethereum", "value", "expected 7 fields, found 3"
        held = {1: 20_000_001, 3: 20_000_003}
        bad_row = 4
        stored = 1
    rejects = tmp_path / "rejects.jsonl"
    report = ingest(chain, [path], data_dir=store, skip_invalid=True, rejects_path=rejects)
    assert report.rejected_rows == 4
    assert report.stored == stored
    found = sorted(
        ((r["file"], r["row"], r["field"]) for r in read_rejects(rejects)),
        key=lambda r: r[1],
    )
    expected = {2: None, bad_row: field} | dict.fromkeys(held)
    assert found == [(str(path), row, expected[row]) for row in sorted(expected)]
    reasons = {r["row"]: r["reason"] for r in read_rejects(rejects)}
    assert malformed in reasons[2]
    assert "negative amount" in reasons[bad_row]
    assert {row: reasons[row] for row in held} == {
        row: held_reason(block) for row, block in held.items()
    }


class _FrozenClock(datetime):
    @classmethod
    def now(cls, tz: Any = None) -> _FrozenClock:
        return cls(2024, 1, 2, 3, 4, 5, tzinfo=tz)


def test_default_reject_files_of_two_runs_do_not_overwrite_each_other(
    store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The default reject file is named by the run's commit id, not by the second.

    Two skip_invalid runs within the same second (a script ingesting files one by one) must not
    share DATA_DIR/rejects/CHAIN-STAMP.jsonl. The clock is frozen to make "the same second"
    certain.
    """
    monkeypatch.setattr(pipeline, "datetime", _FrozenClock)
    first = write_csv(
        tmp_path / "a" / "token_transfers.csv", [token_row(1, value="-1"), token_row(3)]
    )
    second = write_csv(
        tmp_path / "b" / "token_transfers.csv", [token_row(2, value="1.5"), token_row(4)]
    )
    one = ingest("ethereum", [first], data_dir=store, skip_invalid=True)
    two = ingest("ethereum", [second], data_dir=store, skip_invalid=True)
    assert one.rejects_file is not None and two.rejects_file is not None
    assert one.commit is not None and two.commit is not None and one.commit != two.commit
    rejects_dir = DataDirectory(store).rejects_dir
    assert Path(one.rejects_file) == rejects_dir / f"ethereum-{one.commit}.jsonl"
    assert Path(two.rejects_file) == rejects_dir / f"ethereum-{two.commit}.jsonl"
    assert [(r["file"], r["row"]) for r in read_rejects(one.rejects_file)] == [(str(first), 1)]
    assert [(r["file"], r["row"]) for r in read_rejects(two.rejects_file)] == [(str(second), 1)]


def test_corrected_row_can_be_ingested_after_quarantine(store: Path, tmp_path: Path) -> None:
    """A quarantined row's (export, block) is not marked covered, so its fix can be ingested."""
    path = tmp_path / "token_transfers.csv"
    write_csv(path, [token_row(1), token_row(2, value="-5"), token_row(3)])
    first = ingest("ethereum", [path], data_dir=store, skip_invalid=True)
    assert first.stored == 2 and first.rejected == 1 and first.rejected_rows == 1
    assert 20_000_002 not in covered(store, "ethereum", "token_transfers")
    before = transfer_count(store, "ethereum")

    write_csv(path, [token_row(1), token_row(2, value="5"), token_row(3)])
    second = ingest("ethereum", [path], data_dir=store)
    assert (second.stored, second.skipped) == (1, 2)
    assert transfer_count(store, "ethereum") == before + 1
    assert token_row(2)[4] in stored_hashes(store, "ethereum")
    assert 20_000_002 in covered(store, "ethereum", "token_transfers")


def test_skip_invalid_holds_back_the_rest_of_a_block(store: Path, tmp_path: Path) -> None:
    """A block is stored whole or not at all: good rows beside a rejected one are held back.

    Rows 1, 2, 3 and 5 are in block 20_000_050, rows 2 and 5 bad; row 4 is a block of its own.
    Rows 1 and 3 are held back: not stored, listed in the reject file with the held-back reason,
    and the block is not marked covered, so the corrected file stores the whole block once.
    """
    block = 20_000_050
    in_block = {"block_number": str(block)}
    path = tmp_path / "token_transfers.csv"
    write_csv(
        path,
        [
            token_row(1, **in_block),
            token_row(2, value="-5", **in_block),
            token_row(3, **in_block),
            token_row(4),
            token_row(5, to_address="0x1234", **in_block),
        ],
    )
    before = transfer_count(store, "ethereum")
    rejects = tmp_path / "rejects.jsonl"
    report = ingest("ethereum", [path], data_dir=store, skip_invalid=True, rejects_path=rejects)
    assert (report.read, report.stored, report.rejected, report.rejected_rows) == (5, 1, 4, 4)
    assert transfer_count(store, "ethereum") == before + 1
    hashes = stored_hashes(store, "ethereum")
    assert token_row(4)[4] in hashes
    assert not {token_row(i)[4] for i in (1, 2, 3, 5)} & hashes
    found = sorted(
        ((r["file"], r["row"], r["field"], r["reason"]) for r in read_rejects(rejects)),
        key=lambda r: r[1],
    )
    assert [(f, row, fld) for f, row, fld, _ in found] == [
        (str(path), 1, None),
        (str(path), 2, "value"),
        (str(path), 3, None),
        (str(path), 5, "to_address"),
    ]
    assert found[0][3] == found[2][3] == held_reason(block)
    assert "negative amount" in found[1][3]
    assert "not an address" in found[3][3]
    assert block not in covered(store, "ethereum", "token_transfers")
    assert 20_000_004 in covered(store, "ethereum", "token_transfers")

    write_csv(
        path,
        [
            token_row(1, **in_block),
            token_row(2, value="5", **in_block),
            token_row(3, **in_block),
            token_row(4),
            token_row(5, **in_block),
        ],
    )
    fixed = ingest("ethereum", [path], data_dir=store)
    assert (fixed.stored, fixed.skipped, fixed.rejected_rows) == (4, 1, 0)
    assert block in covered(store, "ethereum", "token_transfers")
    again = ingest("ethereum", [path], data_dir=store)
    assert (again.stored, again.skipped) == (0, 5)
    assert transfer_count(store, "ethereum") == before + 5
    counts = hash_counts(store, "ethereum")
    assert [counts.get(token_row(i)[4]) for i in range(1, 6)] == [1, 1, 1, 1, 1]


def test_hold_back_is_per_export(tmp_path: Path) -> None:
    """A rejected token transfer holds back its block's token transfers, not its transactions.

    The bundled ethereum export (blocks 17173049-17173050) is ingested into a fresh store with
    one token transfer of block 17173049 made negative: that block's other token transfers are
    held back, its native transfers (transactions export) and block 17173050 are stored. The
    corrected file then brings the store to exactly what a clean ingest stores.
    """
    source = DEMO / "ethereum"
    with gzip.open(source / "token_transfers.json.gz", "rt", encoding="utf-8") as fh:
        tokens = [json.loads(line) for line in fh]
    block = 17173049
    in_block = [i for i, t in enumerate(tokens) if t["block_number"] == block]
    assert len(in_block) > 1 and len(in_block) < len(tokens)
    bad_index = in_block[len(in_block) // 2]
    folder = tmp_path / "export"
    folder.mkdir()
    for name in ("blocks.json.gz", "transactions.json.gz"):
        shutil.copy(source / name, folder / name)
    broken = [dict(t) for t in tokens]
    broken[bad_index]["value"] = "-5"
    token_file = write_lines(folder / "token_transfers.json", [json.dumps(t) for t in broken])

    clean_store = tmp_path / "clean"
    clean = ingest("ethereum", [source], data_dir=clean_store)
    store = tmp_path / "data"
    rejects = tmp_path / "rejects.jsonl"
    report = ingest("ethereum", [folder], data_dir=store, skip_invalid=True, rejects_path=rejects)
    # One token transfer is one transfer, so the counts of rows and transfers agree.
    assert report.rejected_rows == report.rejected == len(in_block)
    assert report.stored == clean.stored - len(in_block)
    found = read_rejects(rejects)
    assert {r["file"] for r in found} == {str(token_file)}
    assert sorted(r["row"] for r in found) == [i + 1 for i in in_block]
    [bad] = [r for r in found if r["field"] is not None]
    assert (bad["row"], bad["field"]) == (bad_index + 1, "value")
    assert all(r["reason"] == held_reason(block) for r in found if r is not bad)
    assert block not in covered(store, "ethereum", "token_transfers")
    assert {block, block + 1} <= covered(store, "ethereum", "transactions")
    assert block + 1 in covered(store, "ethereum", "token_transfers")

    write_lines(token_file, [json.dumps(t) for t in tokens])
    fixed = ingest("ethereum", [folder], data_dir=store)
    assert fixed.stored == len(in_block)
    assert transfer_count(store, "ethereum") == transfer_count(clean_store, "ethereum")
    assert hash_counts(store, "ethereum") == hash_counts(clean_store, "ethereum")


def test_corrected_malformed_line_can_be_ingested_after_quarantine(
    store: Path, tmp_path: Path
) -> None:
    """A malformed line holds back the blocks of its neighbours, so its fix can be ingested.

    Row 2 of the four (block 50001 in rows 1-3, block 50002 in row 4) is cut short. Its
    neighbours are rows 1 and 3, so block 50001 is held back and not marked covered; the
    corrected file then stores the whole block, each transaction exactly once.
    """
    case = case_malformed_json(tmp_path)
    records = [json.loads(line) for line in case.fixed_lines]
    block = [r for r in records if r["block_number"] == 50001]
    assert len(block) == 3 and records[1] in block
    first = ingest(case.chain, [case.path], data_dir=store, skip_invalid=True)
    assert (first.stored, first.rejected_rows) == (btc_legs(records[3]), 3)
    assert 50001 not in covered(store, "bitcoin", "transactions")
    assert 50002 in covered(store, "bitcoin", "transactions")
    assert not {r["hash"] for r in block} & stored_hashes(store, "bitcoin")

    write_lines(case.path, list(case.fixed_lines))
    again = ingest(case.chain, [case.path], data_dir=store)
    assert again.stored == case.corrected_transfers == sum(btc_legs(r) for r in block)
    assert 50001 in covered(store, "bitcoin", "transactions")
    counts = hash_counts(store, "bitcoin")
    assert [counts.get(r["hash"]) for r in records] == [btc_legs(r) for r in records]
    assert ingest(case.chain, [case.path], data_dir=store).stored == 0
    assert hash_counts(store, "bitcoin") == counts


def test_malformed_first_json_line(store: Path, tmp_path: Path) -> None:
    """A JSON export's columns come from its first well-formed record, not its first line.

    So a malformed first line is a bad row like any other: the strict run names row 1, and
    skip_invalid quarantines it and holds back the block of row 2 (its only neighbour), while
    block 50002 (row 4) is stored.
    """
    records = [json.loads(line) for line in BTC_LATER]
    fixed = [json.dumps(r) for r in records]
    path = write_lines(tmp_path / "transactions.json", [fixed[0][:80], *fixed[1:]])
    exc = failing_ingest(store, ExportFormatError, "bitcoin", [path])
    assert_located(exc, path, 1, None, "malformed JSON")

    rejects = tmp_path / "rejects.jsonl"
    report = ingest("bitcoin", [path], data_dir=store, skip_invalid=True, rejects_path=rejects)
    assert report.stored == btc_legs(records[3])
    assert report.rejected == btc_legs(records[1]) + btc_legs(records[2])
    assert report.rejected_rows == 3
    found = sorted((r["file"], r["row"], r["field"], r["reason"]) for r in read_rejects(rejects))
    assert [(f, row, fld) for f, row, fld, _ in found] == [
        (str(path), 1, None),
        (str(path), 2, None),
        (str(path), 3, None),
    ]
    assert "malformed JSON" in found[0][3]
    assert found[1][3] == found[2][3] == held_reason(50001)
    hashes = stored_hashes(store, "bitcoin")
    assert records[3]["hash"] in hashes
    assert not {r["hash"] for r in records[:3]} & hashes
    assert 50001 not in covered(store, "bitcoin", "transactions")
    assert 50002 in covered(store, "bitcoin", "transactions")

    write_lines(path, fixed)
    again = ingest("bitcoin", [path], data_dir=store)
    assert again.stored == sum(btc_legs(r) for r in records[:3])
    counts = hash_counts(store, "bitcoin")
    assert [counts.get(r["hash"]) for r in records] == [btc_legs(r) for r in records]
    assert 50001 in covered(store, "bitcoin", "transactions")


def test_json_columns_are_sought_in_the_first_1000_lines(store: Path, tmp_path: Path) -> None:
    """With no well-formed record in its first 1000 lines, a JSON export has no columns to read.

    999 malformed lines before the good records are quarantined under skip_invalid; 1000 fail
    the run, skip_invalid or not, at the first malformed row.
    """
    records = [json.loads(line) for line in BTC_LATER]
    lines = [json.dumps(r) for r in records]
    rejects = tmp_path / "rejects.jsonl"
    path = write_lines(tmp_path / "ok" / "transactions.json", ["{"] * 999 + lines)
    report = ingest("bitcoin", [path], data_dir=store, skip_invalid=True, rejects_path=rejects)
    # Row 1000, the first good one, is next to the last malformed line: block 50001 is held.
    assert report.stored == btc_legs(records[3])
    assert report.rejected_rows == 999 + 3
    found = {r["row"]: (r["field"], r["reason"]) for r in read_rejects(rejects)}
    assert sorted(found) == list(range(1, 1003))
    assert all(
        found[row][0] is None and "malformed JSON" in found[row][1] for row in range(1, 1000)
    )
    assert [found[row] for row in (1000, 1001, 1002)] == [(None, held_reason(50001))] * 3
    assert 50001 not in covered(store, "bitcoin", "transactions")

    path = write_lines(tmp_path / "bad" / "transactions.json", ["{"] * 1000 + lines)
    for skip_invalid in (False, True):
        exc = failing_ingest(store, ExportFormatError, "bitcoin", [path], skip_invalid=skip_invalid)
        assert_located(exc, path, 1, None, "no readable JSON record in its first lines")
