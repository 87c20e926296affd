"""Address files for batch screening: one address per line, or CSV rows ``address[,chain]``.

Files of millions of addresses are split into lines and fields by one compiled pass over
their bytes, and the fields gathered into Arrow columns: no Python object per line. Every line
is numbered, blank ones included, so that an invalid address is reported with its exact line.
Blank lines and lines starting with ``#`` are skipped; fields are trimmed of spaces, tabs and
carriage returns; a first row whose first field is ``address`` is a header. Addresses and
chain names are ASCII: any other byte in a field is refused with its line named.

Most large files are the plainest case: one address a line and nothing to trim, no comma, no
comment. One vectorised pass over the bytes tells whether a file is that case, and if so one
more pass copies it into the Arrow column with the newlines left out, writing the offsets as
it meets them, in parallel over blocks of the file: the line-by-line parse, which the other
files take, takes more than twice as long.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numba
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from counterflow.errors import InputError

_BOM = b"\xef\xbb\xbf"


@dataclass
class AddressFile:
    """The addresses of a file, their chains where the file names them, and their line numbers."""

    path: str
    addresses: pa.Array  # large_string
    chains: pa.Array | None  # large_string, null where a row names none
    lines: np.ndarray  # int64, 1-based

    def where(self, position: int) -> str:
        return f"{self.path}:{int(self.lines[position])}"


@numba.njit(cache=True, nogil=True)
def _is_blank(byte: int) -> bool:
    return byte == 32 or byte == 9 or byte == 13


def _line_ends(raw: np.ndarray, start: int) -> np.ndarray:
    """End (exclusive: the newline, or the end of the file for a last line without one) of
    every line from ``start`` on; a line starts one byte after the previous one ends."""
    ends = np.flatnonzero(raw[start:] == 10)
    ends += start
    last = int(ends[-1]) + 1 if len(ends) else start
    if last < len(raw):
        ends = np.append(ends, len(raw))
    return ends


@numba.njit(cache=True, nogil=True, parallel=True)
def _fields(
    raw: np.ndarray, start: int, ends: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per line: the trimmed first field ``[lo, hi)``, the trimmed second ``[clo, chi)``
    (empty when none), and a status: 0 skipped (blank, comment), 1 kept, 2 more than two
    fields, 3 a byte that is not ASCII."""
    lines = len(ends)
    lo = np.zeros(lines, np.int64)
    hi = np.zeros(lines, np.int64)
    clo = np.zeros(lines, np.int64)
    chi = np.zeros(lines, np.int64)
    status = np.zeros(lines, np.int8)
    for line in numba.prange(lines):
        s = start if line == 0 else ends[line - 1] + 1
        e = ends[line]
        while s < e and _is_blank(raw[s]):
            s += 1
        while e > s and _is_blank(raw[e - 1]):
            e -= 1
        if s == e or raw[s] == 35:  # blank, or '#'
            continue
        state = 1
        commas = 0
        first = e
        second = e
        for j in range(s, e):
            byte = raw[j]
            if byte >= 128:
                state = 3
            elif byte == 44:  # ','
                commas += 1
                if commas == 1:
                    first = j
                elif commas == 2:
                    second = j
        if commas > 1 and state == 1:
            state = 2
        a_hi = first
        while a_hi > s and _is_blank(raw[a_hi - 1]):
            a_hi -= 1
        c_lo, c_hi = first, first
        if commas >= 1:
            c_lo, c_hi = first + 1, second
            while c_lo < c_hi and _is_blank(raw[c_lo]):
                c_lo += 1
            while c_hi > c_lo and _is_blank(raw[c_hi - 1]):
                c_hi -= 1
        lo[line] = s
        hi[line] = a_hi
        clo[line] = c_lo
        chi[line] = c_hi
        status[line] = state
    return lo, hi, clo, chi, status


@numba.njit(cache=True, nogil=True, parallel=True)
def _copy(raw: np.ndarray, lo: np.ndarray, hi: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    data = np.empty(offsets[-1], np.uint8)
    for i in numba.prange(len(lo)):
        data[offsets[i] : offsets[i + 1]] = raw[lo[i] : hi[i]]  # a slice copy is a memcpy
    return data


def _strings(raw: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> pa.Array:
    """The byte ranges ``[lo, hi)`` of ``raw`` as an Arrow string column."""
    offsets = np.zeros(len(lo) + 1, np.int64)
    np.cumsum(hi - lo, out=offsets[1:])
    data = _copy(raw, lo, hi, offsets)
    return pa.LargeStringArray.from_buffers(len(lo), pa.py_buffer(offsets), pa.py_buffer(data))


#: Bytes per block of the plain-file passes (one task of the parallel loops).
_BLOCK = 1 << 20


@numba.njit(cache=True, nogil=True, parallel=True)
def _plain_scan(raw: np.ndarray, start: int, newlines: np.ndarray) -> bool:
    """Newlines per block into ``newlines``; whether any byte would need the line-by-line
    parse (a blank to trim, a comma, a ``#``, a byte that is not ASCII)."""
    blocks = len(newlines)
    special = 0
    for b in numba.prange(blocks):
        lo = start + b * _BLOCK
        block = raw[lo : min(len(raw), lo + _BLOCK)]  # indices from 0: no wraparound checks
        count = 0
        odd = False
        for i in range(len(block)):
            byte = block[i]
            count += int(byte == 10)
            odd = odd | (byte == 32) | (byte == 9) | (byte == 13) | (byte == 44) | (byte == 35)
            odd = odd | (byte >= 128)
        newlines[b] = count
        special += int(odd)
    return special > 0


@numba.njit(cache=True, nogil=True)
def _split_block(
    block: np.ndarray, line: int, at: int, offsets: np.ndarray, data: np.ndarray
) -> None:
    """One block of :func:`_plain_split`: a function of its own, because numba compiles the
    body of a parallel loop into slower code than a plain function's (about 1.5x here)."""
    for i in range(len(block)):
        byte = block[i]
        if byte == 10:
            line += 1
            offsets[line] = at
        else:
            data[at] = byte
            at += 1


@numba.njit(cache=True, nogil=True, parallel=True)
def _plain_split(
    raw: np.ndarray, start: int, first_line: np.ndarray, offsets: np.ndarray, data: np.ndarray
) -> None:
    """Copy ``raw`` from ``start`` into ``data`` without its newlines, and write at each
    newline the end of its line in ``data`` (``offsets[line + 1]``); block ``b``'s first line
    ending in it is ``first_line[b]``, and its first byte lands after as many newlines."""
    for b in numba.prange(len(first_line)):
        lo = start + b * _BLOCK
        line = first_line[b]
        _split_block(raw[lo : min(len(raw), lo + _BLOCK)], line, lo - start - line, offsets, data)


def _read_plain(raw: np.ndarray, start: int) -> tuple[pa.Array, np.ndarray] | None:
    """The column and line numbers of a file of bare addresses, one a line; ``None`` when the
    file needs the line-by-line parse."""
    newlines = np.zeros(max(1, -(-(len(raw) - start) // _BLOCK)), np.int64)
    if _plain_scan(raw, start, newlines):
        return None
    first_line = np.zeros(len(newlines), np.int64)
    np.cumsum(newlines[:-1], out=first_line[1:])
    ends = int(first_line[-1] + newlines[-1])
    tail = len(raw) > start and raw[-1] != 10  # a last line without its newline
    lines = ends + int(tail)
    size = len(raw) - start - ends
    offsets = np.zeros(lines + 1, np.int64)
    data = np.empty(max(size, 1), np.uint8)
    _plain_split(raw, start, first_line, offsets, data)
    offsets[lines] = size
    column = pa.LargeStringArray.from_buffers(lines, pa.py_buffer(offsets), pa.py_buffer(data))
    numbers = np.arange(1, lines + 1, dtype=np.int64)
    kept = offsets[1:] > offsets[:-1]  # blank lines are empty here
    first = int(np.argmax(kept)) if lines and kept.any() else -1
    if first >= 0 and column[first].as_py().lower() == "address":
        kept[first] = False
    skipped = int(np.argmax(kept)) if kept.any() else lines  # a header, blank lines first
    if kept[skipped:].all():  # (a slice: no copy)
        return column.slice(skipped), numbers[skipped:]
    rows = np.flatnonzero(kept)
    return column.take(pa.array(rows)), numbers[rows]


def read_address_file(path: str | Path) -> AddressFile:
    """Read ``path``; an unreadable file, a row with more than two fields or a field that is not
    ASCII is refused, naming the file and line."""
    file = Path(path)
    if not file.is_file():
        raise InputError(f"{file}: no such address file")
    try:
        raw = np.fromfile(file, np.uint8)
    except OSError as exc:
        raise InputError(f"{file}: cannot read: {exc}") from None
    start = 3 if raw[:3].tobytes() == _BOM else 0
    plain = _read_plain(raw, start)
    if plain is not None:
        return AddressFile(str(file), plain[0], None, plain[1])
    ends = _line_ends(raw, start)
    lo, hi, clo, chi, status = _fields(raw, start, ends)
    numbers = np.arange(1, len(ends) + 1, dtype=np.int64)
    bad = np.flatnonzero(status >= 2)
    if len(bad):
        line = int(bad[0])
        text = raw[lo[line] : max(chi[line], hi[line])].tobytes().decode("utf-8", "replace")
        if status[line] == 2:
            reason = f"expected 'address' or 'address,chain', got {text!r}"
        else:
            reason = f"not ASCII text: {text!r}"
        raise InputError(f"{file}:{int(numbers[line])}: {reason}")
    kept = status == 1
    first = int(np.argmax(kept)) if kept.any() else -1
    if first >= 0 and raw[lo[first] : hi[first]].tobytes().lower() == b"address":
        kept[first] = False
    if not kept.all():  # (most files keep every line: no copies then)
        rows = np.flatnonzero(kept)
        lo, hi, clo, chi, numbers = lo[rows], hi[rows], clo[rows], chi[rows], numbers[rows]
    addresses = _strings(raw, lo, hi)
    chains: pa.Array | None = None
    if bool((chi > clo).any()):
        named = _strings(raw, clo, chi)
        chains = pc.if_else(pc.equal(named, ""), pa.scalar(None, pa.large_string()), named)
    return AddressFile(str(file), addresses, chains, numbers)
