"""Files of bare addresses, one a line, take the block-parallel copy instead of the line-by-line
parse: both must read every file alike, line numbers included, across block boundaries too."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from counterflow.errors import InputError
from counterflow.screening.files import read_address_file

BLOCK = 1 << 20  # the plain path's block, in bytes


def reference(text: str) -> tuple[list[str], list[int]]:
    """Kept addresses and their line numbers of a file with nothing to trim and no commas."""
    lines = text.split("\n")
    if text.endswith("\n"):
        lines.pop()
    kept: list[str] = []
    numbers: list[int] = []
    for number, line in enumerate(lines, 1):
        if line:
            kept.append(line)
            numbers.append(number)
    if kept and kept[0].lower() == "address":
        return kept[1:], numbers[1:]
    return kept, numbers


def _read(path: Path, text: str, bom: bool = False) -> tuple[list[str], list[int]]:
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode())
    read = read_address_file(path)
    assert read.chains is None
    return read.addresses.to_pylist(), read.lines.tolist()


@settings(max_examples=80, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.text("0123456789abcdefxXT", min_size=1, max_size=12),
            st.sampled_from(["", "address", "Address"]),
        ),
        max_size=30,
    ),
    st.booleans(),
    st.booleans(),
)
def test_plain_files_read_like_their_definition(
    tmp_path_factory: pytest.TempPathFactory, lines: list[str], final_newline: bool, bom: bool
) -> None:
    text = "\n".join(lines) + ("\n" if final_newline and lines else "")
    path = tmp_path_factory.mktemp("plain") / "in.txt"
    assert _read(path, text, bom) == reference(text)


@pytest.mark.parametrize("final_newline", [True, False])
def test_lines_across_blocks(tmp_path: Path, final_newline: bool) -> None:
    # about three blocks of lines of every length up to 90, blank ones among them, and lines
    # that end exactly at a block's last byte or start at its first
    rng = np.random.default_rng(4)
    lines = ["address"]
    used = len("address\n")
    for boundary in (BLOCK, 2 * BLOCK, 3 * BLOCK):
        while used + 100 < boundary:
            length = int(rng.integers(1, 90)) if rng.random() > 0.05 else 0
            lines.append("x" * length)
            used += length + 1
        if boundary < 3 * BLOCK:  # a newline at the block's last byte, a line at the next's first
            lines += ["y" * (boundary - used - 1), "z"]
            used = boundary + 2
    lines.append("q1")
    text = "\n".join(lines) + ("\n" if final_newline else "")
    kept, numbers = _read(tmp_path / "big.txt", text)
    assert (kept, numbers) == reference(text)
    # the same file with one line to trim goes line by line, and reads the same
    text = text.replace("q1", " q1")
    assert _read(tmp_path / "parsed.txt", text) == (kept, numbers)


def test_an_empty_file_and_blank_lines_only(tmp_path: Path) -> None:
    assert _read(tmp_path / "empty.txt", "") == ([], [])
    assert _read(tmp_path / "blank.txt", "\n\n\n") == ([], [])
    assert _read(tmp_path / "header.txt", "address\n") == ([], [])


def test_bytes_that_are_not_ascii_are_still_refused(tmp_path: Path) -> None:
    path = tmp_path / "odd.txt"
    path.write_bytes(b"0xab\n0xcd\xc3\xa9\n")
    with pytest.raises(InputError, match=r"odd\.txt:2: not ASCII"):
        read_address_file(path)
