"""Reading list files as published: gzip or not, UTF-8 or refused, CSV rows with their lines.

Every list parser reads its files through here so that the same rules hold for all of them: a
file compressed with gzip is read transparently whatever its name (detected by its magic bytes),
the hash recorded for provenance is that of the bytes on disk, and anything unreadable (a
truncated archive, text that is not UTF-8, a broken CSV quote) becomes an
:class:`~counterflow.errors.InputError` naming the file and, where known, the line, before the
parser has produced anything.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Literal

from counterflow.attribution.records import SourceFile
from counterflow.errors import InputError

GZIP_MAGIC = b"\x1f\x8b"
#: Decompressed size above which a file is refused: lists are megabytes, a bomb is not.
MAX_DECOMPRESSED = 1 << 30
_CHUNK = 1 << 20


def expand_paths(paths: Iterable[str | Path]) -> list[Path]:
    """The files ``paths`` name; a folder gives the files inside it, recursively, in name order.

    Hidden files (a leading dot) inside a folder are skipped; a missing path is an error.
    """
    files: list[Path] = []
    for given in paths:
        path = Path(given)
        if path.is_dir():
            files.extend(
                p
                for p in sorted(path.rglob("*"))
                if p.is_file() and not any(s.startswith(".") for s in p.relative_to(path).parts)
            )
        elif path.is_file():
            files.append(path)
        else:
            raise InputError(f"{path}: no such file or folder")
    if not files:
        raise InputError("no list files given")
    return files


def is_gzip(path: Path) -> bool:
    """Whether ``path`` starts with gzip's magic bytes (its name does not matter)."""
    with path.open("rb") as handle:
        return handle.read(len(GZIP_MAGIC)) == GZIP_MAGIC


def source_file(path: Path) -> SourceFile:
    """The provenance record of ``path``: its name and the SHA-256 of its bytes on disk."""
    digest = hashlib.sha256()
    try:
        with path.open("rb") as handle:
            while chunk := handle.read(_CHUNK):
                digest.update(chunk)
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None
    return SourceFile(str(path), digest.hexdigest())


def read_bytes(path: Path) -> bytes:
    """The content of ``path``, decompressed when it is gzip."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if not raw.startswith(GZIP_MAGIC):
        return raw
    out = bytearray()
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(raw)) as stream:
            while chunk := stream.read(_CHUNK):
                out += chunk
                if len(out) > MAX_DECOMPRESSED:
                    raise InputError(
                        f"{path}: decompresses to more than {MAX_DECOMPRESSED >> 20} MiB; "
                        "refused as a likely decompression bomb"
                    )
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise InputError(f"{path}: truncated or corrupt gzip data ({exc})") from None
    return bytes(out)


def open_binary(path: Path) -> io.BufferedIOBase:
    """A stream of the content of ``path``, decompressing gzip on the fly (for large XML).

    Errors of a truncated or corrupt archive surface while reading; :mod:`xml_safety` turns
    them into an :class:`~counterflow.errors.InputError` naming the file.
    """
    try:
        if is_gzip(path):
            return gzip.GzipFile(path, "rb")
        return path.open("rb")
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None


def decode_text(data: bytes, path: Path) -> str:
    """``data`` as UTF-8 text (a byte-order mark dropped); other encodings are refused.

    The error names the line of the first offending byte, where an editor shows it.
    """
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise InputError(
            f"{path}, line {line}: not UTF-8 text (byte 0x{data[exc.start]:02x}); "
            "save the file as UTF-8"
        ) from None


def read_text(path: Path) -> str:
    return decode_text(read_bytes(path), path)


def csv_rows(
    text: str, path: Path, *, columns: int | Literal["header"] | None = None
) -> Iterator[tuple[int, list[str]]]:
    """The records of a CSV text with the line each starts on.

    Blank lines are skipped, and so is a record holding only ``\x1a``: the DOS end-of-file mark
    OFAC's legacy CSV files end with.

    ``columns``, when given, is the field count every record must have (``"header"``: as many
    as the first record); a record with another count means the file is not the format it
    claims (or a quote is unbalanced) and is an error naming the row, never a silently shifted
    record.
    """
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    row = 0
    while True:
        line = reader.line_num + 1
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise InputError(f"{path}, line {line}: malformed CSV: {exc}") from None
        if not record or record == ["\x1a"]:
            continue
        row += 1
        if columns == "header":
            columns = len(record)
        if columns is not None and len(record) != columns:
            raise InputError(
                f"{path}, row {row} (line {line}): {len(record)} columns, expected {columns}"
            )
        yield line, record
