"""Reading list files: gzip whatever the name, UTF-8 or a clear error, CSV rows with lines."""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

import pytest

from counterflow.attribution.list_files import (
    csv_rows,
    decode_text,
    expand_paths,
    read_bytes,
    read_text,
    source_file,
)
from counterflow.errors import InputError


def test_gzip_is_read_by_content_not_by_name(tmp_path: Path) -> None:
    plain = tmp_path / "list.txt"
    plain.write_text("a\nb\n")
    disguised = tmp_path / "list.dat"
    disguised.write_bytes(gzip.compress(b"a\nb\n"))
    assert read_text(plain) == read_text(disguised) == "a\nb\n"


def test_source_file_hashes_the_bytes_on_disk(tmp_path: Path) -> None:
    packed = tmp_path / "list.gz"
    packed.write_bytes(gzip.compress(b"payload"))
    record = source_file(packed)
    assert record.path == str(packed)
    assert record.sha256 == hashlib.sha256(packed.read_bytes()).hexdigest()


def test_truncated_gzip_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "sdn.csv.gz"
    path.write_bytes(gzip.compress(b"x" * 10_000)[:-12])
    with pytest.raises(InputError, match=r"sdn\.csv\.gz: truncated or corrupt gzip data"):
        read_bytes(path)


def test_text_that_is_not_utf8_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "list.txt"
    path.write_bytes(b"first\nsecond\nna\xefve\n")
    with pytest.raises(InputError, match=r"list\.txt, line 3: not UTF-8 text \(byte 0xef\)"):
        read_text(path)


def test_a_byte_order_mark_is_dropped() -> None:
    assert decode_text("\ufeffchain,address".encode(), Path("x.csv")) == "chain,address"


def test_csv_rows_give_the_line_each_record_starts_on() -> None:
    text = 'a,b\n"multi\nline",c\n\nd,e\n\x1a\n'
    assert list(csv_rows(text, Path("x.csv"), columns=2)) == [
        (1, ["a", "b"]),
        (2, ["multi\nline", "c"]),
        (5, ["d", "e"]),
    ]


def test_csv_rows_refuse_a_wrong_column_count() -> None:
    text = "a,b,c\n1,2,3\n4,5\n"
    with pytest.raises(InputError, match=r"x\.csv, row 3 \(line 3\): 2 columns, expected 3"):
        list(csv_rows(text, Path("x.csv"), columns="header"))


def test_csv_rows_refuse_a_broken_quote() -> None:
    with pytest.raises(InputError, match=r"x\.csv, line 2: malformed CSV"):
        list(csv_rows('a,b\n"x"y,z\n', Path("x.csv")))


def test_expand_paths_walks_folders_and_skips_hidden_files(tmp_path: Path) -> None:
    (tmp_path / "b.txt").write_text("")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.txt").write_text("")
    (tmp_path / ".hidden").write_text("")
    assert expand_paths([tmp_path]) == [tmp_path / "b.txt", tmp_path / "sub" / "a.txt"]
    with pytest.raises(InputError, match=r"missing\.txt: no such file or folder"):
        expand_paths([tmp_path / "missing.txt"])
