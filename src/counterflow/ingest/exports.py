"""blockchain-etl export files: their kind, their required columns, and where they are broken.

The data contract is the export schema of bitcoin-etl and ethereum-etl, the format of the public
BigQuery ``crypto_*`` data sets. Files are JSON lines or CSV, optionally gzip-compressed. A
folder is expanded to the export files inside it (recursively), in name order.

Engines read the files; this module only looks at their first line (to check the column set
before any work is done) and, when an engine has refused a file, re-reads it line by line to say
exactly where it is broken. That keeps the fast path free of per-line Python.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import IO

from counterflow.errors import ExportFormatError, InputError


class ExportKind(StrEnum):
    BLOCKS = "blocks"
    TRANSACTIONS = "transactions"
    TOKEN_TRANSFERS = "token_transfers"
    TRACES = "traces"
    RECEIPTS = "receipts"
    TOKENS = "tokens"


_UTXO_INPUT = (
    'STRUCT("index" VARCHAR, spent_transaction_hash VARCHAR, spent_output_index VARCHAR, '
    '"type" VARCHAR, addresses VARCHAR[], "value" VARCHAR)[]'
)
_UTXO_OUTPUT = 'STRUCT("index" VARCHAR, script_hex VARCHAR, "type" VARCHAR, addresses VARCHAR[], "value" VARCHAR)[]'  # noqa: E501


@dataclass(frozen=True, slots=True)
class ExportSpec:
    """The columns Counterflow reads from one kind of export, and which of them must exist.

    Every scalar is read as text and validated in SQL, so a bad value becomes a row-level
    reject with its field named rather than a file-level parse failure.
    """

    kind: ExportKind
    family: str
    columns: dict[str, str]
    required: frozenset[str]
    formats: frozenset[str] = frozenset({"json", "csv"})


def _text(*names: str) -> dict[str, str]:
    return dict.fromkeys(names, "VARCHAR")


SPECS: dict[tuple[str, ExportKind], ExportSpec] = {
    ("utxo", ExportKind.BLOCKS): ExportSpec(
        ExportKind.BLOCKS,
        "utxo",
        _text("hash", "number", "timestamp", "transaction_count", "previous_block_hash"),
        frozenset({"hash", "number", "timestamp"}),
    ),
    ("utxo", ExportKind.TRANSACTIONS): ExportSpec(
        ExportKind.TRANSACTIONS,
        "utxo",
        {
            **_text("hash", "block_number", "block_hash", "block_timestamp", "is_coinbase"),
            **_text("index", "input_count", "output_count"),
            "inputs": _UTXO_INPUT,
            "outputs": _UTXO_OUTPUT,
        },
        frozenset({"hash", "block_number", "block_timestamp", "inputs", "outputs"}),
        formats=frozenset({"json"}),
    ),
    ("account", ExportKind.BLOCKS): ExportSpec(
        ExportKind.BLOCKS,
        "account",
        {
            **_text("number", "hash", "parent_hash", "timestamp", "transaction_count", "miner"),
            "withdrawals": "VARCHAR",
        },
        frozenset({"number", "hash", "timestamp"}),
    ),
    ("account", ExportKind.TRANSACTIONS): ExportSpec(
        ExportKind.TRANSACTIONS,
        "account",
        _text(
            "hash",
            "block_number",
            "block_hash",
            "transaction_index",
            "from_address",
            "to_address",
            "value",
            "gas_price",
            "block_timestamp",
            "receipt_gas_used",
            "receipt_status",
            "receipt_effective_gas_price",
            "receipt_contract_address",
        ),
        frozenset(
            {"hash", "block_number", "transaction_index", "from_address", "to_address", "value"}
        ),
    ),
    ("account", ExportKind.TOKEN_TRANSFERS): ExportSpec(
        ExportKind.TOKEN_TRANSFERS,
        "account",
        _text(
            "token_address",
            "from_address",
            "to_address",
            "value",
            "transaction_hash",
            "log_index",
            "block_number",
            "block_timestamp",
        ),
        frozenset(
            {
                "token_address",
                "from_address",
                "to_address",
                "value",
                "transaction_hash",
                "log_index",
                "block_number",
            }
        ),
    ),
    ("account", ExportKind.TRACES): ExportSpec(
        ExportKind.TRACES,
        "account",
        _text(
            "block_number",
            "transaction_hash",
            "transaction_index",
            "from_address",
            "to_address",
            "value",
            "trace_type",
            "call_type",
            "trace_address",
            "error",
            "status",
            "block_timestamp",
            "reward_type",
            "trace_id",
        ),
        frozenset(
            {
                "block_number",
                "transaction_hash",
                "from_address",
                "to_address",
                "value",
                "trace_type",
                "trace_address",
                "status",
            }
        ),
    ),
    ("account", ExportKind.RECEIPTS): ExportSpec(
        ExportKind.RECEIPTS,
        "account",
        _text(
            "transaction_hash",
            "block_number",
            "gas_used",
            "status",
            "effective_gas_price",
            "contract_address",
        ),
        frozenset({"transaction_hash", "block_number", "gas_used", "status"}),
    ),
    ("account", ExportKind.TOKENS): ExportSpec(
        ExportKind.TOKENS,
        "account",
        _text("address", "symbol", "name", "decimals"),
        frozenset({"address", "decimals"}),
    ),
}

#: The columns of the account transactions and token_transfers exports that the columnar
#: ingest path (:mod:`.columnar`) reads, in the order its kernels take them.
COLUMNAR_TRANSACTION_COLUMNS = (
    "hash",
    "block_number",
    "transaction_index",
    "from_address",
    "to_address",
    "value",
    "gas_price",
    "block_timestamp",
    "receipt_gas_used",
    "receipt_status",
    "receipt_effective_gas_price",
    "receipt_contract_address",
    "block_hash",
)
COLUMNAR_TOKEN_TRANSFER_COLUMNS = tuple(SPECS[("account", ExportKind.TOKEN_TRANSFERS)].columns)

# Longest names first, so "token_transfers" is not taken for "transfers" and so on.
_NAME_HINTS: tuple[tuple[str, ExportKind | None], ...] = (
    ("token_transfers", ExportKind.TOKEN_TRANSFERS),
    ("geth_traces", None),
    ("transactions", ExportKind.TRANSACTIONS),
    ("receipts", ExportKind.RECEIPTS),
    ("contracts", None),
    ("traces", ExportKind.TRACES),
    ("blocks", ExportKind.BLOCKS),
    ("tokens", ExportKind.TOKENS),
    ("logs", None),
)

_EXTENSIONS = (".json", ".jsonl", ".csv", ".json.gz", ".jsonl.gz", ".csv.gz")


@dataclass(frozen=True, slots=True)
class ExportFile:
    """One export file: its path, kind and format (``json`` or ``csv``)."""

    path: Path
    kind: ExportKind
    format: str


@dataclass(frozen=True, slots=True)
class Discovery:
    files: list[ExportFile]
    ignored: list[Path]


def file_format(path: Path) -> str | None:
    name = path.name.lower()
    if not name.endswith(_EXTENSIONS):
        return None
    return "csv" if ".csv" in name else "json"


def classify(path: Path) -> ExportKind | None:
    """The export kind a file name announces, or None for a recognised but unused export.

    Raises :class:`InputError` when the name matches no blockchain-etl export.
    """
    stem = path.name.lower()
    for hint, kind in _NAME_HINTS:
        if hint in stem:
            return kind
    raise InputError(
        f"{path}: cannot tell which export this is from its name; blockchain-etl names files "
        "blocks, transactions, token_transfers, traces, receipts or tokens (.json/.csv[.gz])"
    )


def _looks_like_export(path: Path) -> bool:
    stem = path.name.lower()
    return any(hint in stem for hint, _ in _NAME_HINTS)


def discover(paths: list[Path]) -> Discovery:
    """Expand folders and classify every export file.

    Inside a folder, files that are not exports (recorded RPC responses beside them, say) are
    listed as ignored; a file named on the command line that is not an export is an error.
    """
    found: list[ExportFile] = []
    ignored: list[Path] = []
    for root in paths:
        if not root.exists():
            raise InputError(f"{root}: no such file or folder")
        candidates = (
            sorted(p for p in root.rglob("*") if p.is_file() and file_format(p))
            if root.is_dir()
            else [root]
        )
        if root.is_dir() and not candidates:
            raise InputError(f"{root}: folder holds no export files ({', '.join(_EXTENSIONS)})")
        for path in candidates:
            fmt = file_format(path)
            if fmt is None:
                raise InputError(
                    f"{path}: not an export file; expected one of {', '.join(_EXTENSIONS)}"
                )
            if root.is_dir() and not _looks_like_export(path):
                ignored.append(path)
                continue
            kind = classify(path)
            if kind is None:
                ignored.append(path)
            else:
                found.append(ExportFile(path, kind, fmt))
    return Discovery(found, ignored)


def open_text(path: Path) -> IO[str]:
    if path.name.endswith(".gz"):
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", newline="")
    return open(path, encoding="utf-8", newline="")


#: How far a JSON file is searched for its first well-formed record.
_SNIFF_LINES = 1000


def header_columns(export: ExportFile) -> list[str] | None:
    """Column names of a file: its CSV header, or the keys of its first well-formed JSON record.

    Returns None for an empty file. A malformed JSON line before the first good record is left
    for the read to report (or, with --skip-invalid, to quarantine) at its own row.
    """
    try:
        with open_text(export.path) as fh:
            if export.format == "csv":
                first = fh.readline()
                return next(csv.reader([first])) if first.strip() else None
            for row, line in enumerate(fh, start=1):
                if row > _SNIFF_LINES:
                    break
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except ValueError:
                    continue
                if isinstance(record, dict):
                    return list(record)
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise ExportFormatError(str(export.path), f"cannot read file: {exc}", row=1) from exc
    broken = next(find_broken_lines(export, limit=1), None)
    if broken is None:
        return None
    raise ExportFormatError(
        str(export.path),
        f"no readable JSON record in its first lines: {broken.reason}",
        row=broken.row,
    )


def check_columns(export: ExportFile, spec: ExportSpec) -> list[str] | None:
    """Fail early, naming the missing columns, when a file has the wrong column set."""
    if export.format not in spec.formats:
        raise ExportFormatError(
            str(export.path),
            f"{spec.family} {spec.kind} exports are read from "
            f"{' or '.join(sorted(spec.formats))}, not {export.format}",
        )
    columns = header_columns(export)
    if columns is None:
        return None
    missing = sorted(spec.required - set(columns))
    if missing:
        # A CSV header is not a data row; a JSON file's first line is.
        where = "header" if export.format == "csv" else "first record"
        raise ExportFormatError(
            str(export.path),
            f"not a {spec.kind} export: {where} missing column(s) {', '.join(missing)}",
            row=None if export.format == "csv" else 1,
            field=missing[0],
        )
    return columns


@dataclass(frozen=True, slots=True)
class BrokenLine:
    row: int
    reason: str


def find_broken_lines(export: ExportFile, limit: int | None = None) -> Iterator[BrokenLine]:
    """Re-read a file an engine refused, yielding the rows that are not well-formed.

    ``row`` counts data records from 1, as the engines number them: a CSV header is not a
    row, a quoted field may span lines, and blank JSON lines are not rows. A truncated
    compressed file is reported at the row where decompression failed.
    """
    count = 0
    row = 0
    try:
        with open_text(export.path) as fh:
            if export.format == "csv":
                reader = csv.reader(fh)
                header = next(reader, None)
                width = len(header) if header else 0
                for row, fields in enumerate(reader, start=1):
                    if len(fields) != width:
                        yield BrokenLine(row, f"expected {width} fields, found {len(fields)}")
                        count += 1
                    if limit is not None and count >= limit:
                        return
            else:
                for row, line in enumerate(_json_records(fh), start=1):
                    try:
                        record = json.loads(line)
                    except ValueError as exc:
                        yield BrokenLine(row, f"malformed JSON: {exc.args[0]}")
                        count += 1
                    else:
                        if not isinstance(record, dict):
                            yield BrokenLine(row, "a JSON line must be an object")
                            count += 1
                    if limit is not None and count >= limit:
                        return
    except (OSError, EOFError, UnicodeDecodeError, csv.Error) as exc:
        yield BrokenLine(row + 1, f"file is truncated or corrupt: {exc}")


def _json_records(lines: Iterable[str]) -> Iterator[str]:
    return (line for line in lines if line.strip())


def without_lines(export: ExportFile, drop: set[int], target: Path) -> ExportFile:
    """Copy ``export`` to ``target`` leaving out data rows ``drop`` (for --skip-invalid).

    Rows are numbered as :func:`find_broken_lines` numbers them.
    """
    with open_text(export.path) as src, open(target, "w", encoding="utf-8", newline="") as dst:
        try:
            if export.format == "csv":
                reader = csv.reader(src)
                writer = csv.writer(dst, lineterminator="\n")
                header = next(reader, None)
                if header is not None:
                    writer.writerow(header)
                for row, fields in enumerate(reader, start=1):
                    if row not in drop:
                        writer.writerow(fields)
            else:
                for row, line in enumerate(_json_records(src), start=1):
                    if row not in drop:
                        dst.write(line if line.endswith("\n") else line + "\n")
        except (OSError, EOFError, UnicodeDecodeError, csv.Error):
            pass  # a truncated tail was already reported as a broken row
    return ExportFile(target, export.kind, export.format)
