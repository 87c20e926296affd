"""Id <-> text lookups saved beside the graph index, so that naming a trace's holders is a gather.

A trace turns a few thousand ids back into addresses and transaction hashes, and a few texts
(seeds, labels, bridge releases) into ids. Asking the store for them is a scan of its
``addresses`` or ``transactions`` Parquet each time (a quarter of a second at 20 M transfers,
sixteen times per trace), far more than the compiled search itself. These arrays are built
with the index, saved and memory-mapped with it, and invalidated with it, so they always
describe the same store parts.

Addresses (ids are dense, ``0 … A−1``): the texts' UTF-8 bytes as one blob in id order with
``A + 1`` int64 offsets (ids without a row, if any, are listed in ``addr_missing``), and for
text → id a sorted array of 64-bit hashes of the text with the ids in that order. A hash hit
is confirmed by comparing the text, and every id sharing a hash is tried, so collisions cost
a comparison, never a wrong answer.

Transactions: a hash that is the chain's usual form (``0x`` on account chains, none on UTXO
chains, then 64 lowercase hex digits) is kept as its 32 bytes in id order, with a sorted
index of its first 8 bytes. Anything else the store holds (a pseudo hash, another case) is
kept verbatim in a small text table of its own, so every lookup returns exactly the store's
text. ``tx_state`` says which table holds an id: 0 none, 1 the 32-byte one, 2 the text one.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import numba
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from counterflow.chains.registry import get_chain

LOOKUP_ARRAYS = (
    "addr_blob",
    "addr_offsets",
    "addr_missing",
    "addr_keys",
    "addr_order",
    "tx_bytes",
    "tx_state",
    "tx_keys",
    "tx_order",
    "odd_ids",
    "odd_blob",
    "odd_offsets",
    "odd_keys",
    "odd_order",
)
_MISSING, _REGULAR, _ODD = 0, 1, 2


@dataclass
class Lookups:
    """The lookup arrays of one chain; see the module docstring for the layout."""

    prefix: str
    addr_blob: np.ndarray  # uint8, address texts in id order
    addr_offsets: np.ndarray  # int64, n_addresses + 1
    addr_missing: np.ndarray  # int64, sorted ids below n_addresses without a row
    addr_keys: np.ndarray  # uint64, sorted text hashes
    addr_order: np.ndarray  # int32, ids in addr_keys order
    tx_bytes: np.ndarray  # uint8 (n_transactions, 32)
    tx_state: np.ndarray  # uint8 per tx id: 0 missing, 1 in tx_bytes, 2 in the odd table
    tx_keys: np.ndarray  # uint64, sorted first 8 bytes (little-endian) of tx_bytes rows
    tx_order: np.ndarray  # int32, tx ids in tx_keys order
    odd_ids: np.ndarray  # int64, sorted tx ids whose hash text is not the usual form
    odd_blob: np.ndarray  # uint8, their texts in odd_ids order
    odd_offsets: np.ndarray  # int64
    odd_keys: np.ndarray  # uint64, sorted text hashes
    odd_order: np.ndarray  # int32, positions in odd_ids, in odd_keys order

    def nbytes(self) -> int:
        return sum(int(getattr(self, name).nbytes) for name in LOOKUP_ARRAYS)

    # -- addresses ----------------------------------------------------------------------------
    # Each call is batched: the offsets are gathered and the texts hashed in one array
    # operation, so that naming the 60 k holders of a poison trace stays in milliseconds.
    def address_texts(self, ids: list[int]) -> dict[int, str]:
        """The stored text of every id that has a row; others are left out."""
        wanted = _valid_ids(ids, len(self.addr_offsets) - 1, self.addr_missing)
        buf, bounds = _slices(self.addr_blob, self.addr_offsets, wanted)
        if buf.isascii():  # every address form is; decoded once, then sliced
            text = buf.decode("ascii")
            pieces = [text[a:b] for a, b in itertools.pairwise(bounds)]
            return dict(zip(wanted.tolist(), pieces, strict=True))
        return {i: buf[bounds[k] : bounds[k + 1]].decode() for k, i in enumerate(wanted.tolist())}

    def address_ids(self, texts: list[str]) -> dict[str, int]:
        """The id of every text the store holds exactly; others are left out."""
        encoded = [text.encode() for text in texts]
        keys = _text_hashes(encoded)
        lo = np.searchsorted(self.addr_keys, keys, side="left")
        hi = np.searchsorted(self.addr_keys, keys, side="right")
        # the first candidate of every text, compared in one batch; the rest one by one
        first = np.asarray(self.addr_order[np.minimum(lo, max(len(self.addr_order) - 1, 0))])
        first = first.astype(np.int64) if len(self.addr_order) else np.zeros(0, np.int64)
        buf, bounds = _slices(self.addr_blob, self.addr_offsets, first)
        found: dict[str, int] = {}
        for k, (text, raw) in enumerate(zip(texts, encoded, strict=True)):
            if lo[k] == hi[k]:
                continue
            if buf[bounds[k] : bounds[k + 1]] == raw:
                found[text] = int(first[k])
                continue
            for p in range(int(lo[k]) + 1, int(hi[k])):
                i = int(self.addr_order[p])
                start, end = int(self.addr_offsets[i]), int(self.addr_offsets[i + 1])
                if bytes(self.addr_blob[start:end]) == raw:
                    found[text] = i
                    break
        if len(self.addr_missing):
            found = {t: i for t, i in found.items() if not _contains(self.addr_missing, i)}
        return found

    # -- transactions -------------------------------------------------------------------------
    def tx_hashes(self, ids: list[int]) -> dict[int, str]:
        """The stored hash text of every tx id that has a row; others are left out."""
        wanted = np.asarray(ids, np.int64)
        wanted = wanted[(wanted >= 0) & (wanted < len(self.tx_state))]
        state = np.asarray(self.tx_state[wanted])
        regular = wanted[state == _REGULAR]
        found = dict(
            zip(regular.tolist(), _hex_texts(self.prefix, self.tx_bytes[regular]), strict=True)
        )
        odd = wanted[state == _ODD]
        if len(odd):
            rows = np.searchsorted(self.odd_ids, odd)
            buf, bounds = _slices(self.odd_blob, self.odd_offsets, rows)
            for k, i in enumerate(odd.tolist()):
                found[i] = buf[bounds[k] : bounds[k + 1]].decode()
        return found

    def tx_ids(self, hashes: list[str]) -> dict[str, int]:
        """The id of every hash text the store holds exactly; others are left out."""
        found: dict[str, int] = {}
        odd: list[str] = []
        for text in hashes:
            raw = _regular_bytes(text, self.prefix)
            if raw is None:
                odd.append(text)
                continue
            key = np.uint64(int.from_bytes(raw[:8], "little"))
            lo = int(np.searchsorted(self.tx_keys, key, side="left"))
            hi = int(np.searchsorted(self.tx_keys, key, side="right"))
            for p in range(lo, hi):
                i = int(self.tx_order[p])
                if bytes(self.tx_bytes[i]) == raw:
                    found[text] = i
                    break
        encoded = [text.encode() for text in odd]
        for text, raw_text, rows in zip(
            odd, encoded, _candidates(self.odd_keys, self.odd_order, encoded), strict=True
        ):
            for k in rows:
                start, end = int(self.odd_offsets[k]), int(self.odd_offsets[k + 1])
                if bytes(self.odd_blob[start:end]) == raw_text:
                    found[text] = int(self.odd_ids[k])
                    break
        return found


def _valid_ids(ids: list[int], n: int, missing: np.ndarray) -> np.ndarray:
    wanted = np.asarray(ids, np.int64)
    wanted = wanted[(wanted >= 0) & (wanted < n)]
    if len(missing) and len(wanted):
        wanted = wanted[~np.isin(wanted, missing)]
    return wanted


def _slices(blob: np.ndarray, offsets: np.ndarray, rows: np.ndarray) -> tuple[bytes, list[int]]:
    """The texts of ``rows`` as one bytes object and the bounds of each in it."""
    starts = np.asarray(offsets[rows], np.int64)
    lengths = np.asarray(offsets[rows + 1], np.int64) - starts
    bounds = np.zeros(len(rows) + 1, np.int64)
    np.cumsum(lengths, out=bounds[1:])
    packed = _gathered(np.asarray(blob), starts, bounds)
    return packed.tobytes(), bounds.tolist()


def _contains(sorted_ids: np.ndarray, i: int) -> bool:
    if not len(sorted_ids):
        return False
    k = int(np.searchsorted(sorted_ids, i))
    return k < len(sorted_ids) and int(sorted_ids[k]) == i


def _candidates(keys: np.ndarray, order: np.ndarray, texts: list[bytes]) -> list[list[int]]:
    """Per text, every row whose text hashes alike (usually one; more only on a collision)."""
    if not texts:
        return []
    hashes = _text_hashes(texts)
    lo = np.searchsorted(keys, hashes, side="left")
    hi = np.searchsorted(keys, hashes, side="right")
    return [
        [int(order[p]) for p in range(a, b)] for a, b in zip(lo.tolist(), hi.tolist(), strict=True)
    ]


def _text_hashes(texts: list[bytes]) -> np.ndarray:
    bounds = np.zeros(len(texts) + 1, np.int64)
    np.cumsum([len(t) for t in texts], out=bounds[1:])
    return _hash_texts(np.frombuffer(b"".join(texts) or b"\0", np.uint8), bounds)


def _regular_bytes(text: str, prefix: str) -> bytes | None:
    """The 32 bytes of a hash in the chain's usual form, or None for any other text."""
    if len(text) != len(prefix) + 64 or not text.startswith(prefix):
        return None
    digits = text[len(prefix) :]
    # fromhex accepts uppercase digits and spaces, which are not the usual form
    if not digits.isascii() or (not digits.islower() and not digits.isdigit()):
        return None
    try:
        raw = bytes.fromhex(digits)
    except ValueError:
        return None
    return raw if len(raw) == 32 else None


def _hash_texts(blob: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    # outputs of the compiled loops are allocated by numpy throughout: it asks the kernel for
    # huge pages, which a compiled function's own allocation does not (page faults dominate)
    out = np.empty(len(offsets) - 1, np.uint64)
    _hash_into(blob, offsets, out)
    return out


@numba.njit(cache=True, nogil=True)
def _hash_into(blob: np.ndarray, offsets: np.ndarray, out: np.ndarray) -> None:
    # FNV-1a over each text's bytes, then a splitmix64 finish so that near-identical texts
    # (addresses differ in a few characters) spread over the whole 64-bit range.
    for i in range(len(offsets) - 1):
        h = np.uint64(0xCBF29CE484222325)
        for p in range(offsets[i], offsets[i + 1]):
            h = (h ^ np.uint64(blob[p])) * np.uint64(0x100000001B3)
        h = (h ^ (h >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        h = (h ^ (h >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        out[i] = h ^ (h >> np.uint64(31))


_HEX_DIGITS = np.frombuffer(b"0123456789abcdef", np.uint8).astype(np.uint32)


def _hex_texts(prefix: str, rows: np.ndarray) -> list[str]:
    """``prefix`` + the lowercase hex of every row of 32 bytes, as str objects.

    The code points of all texts are written into one array viewed as fixed-width unicode,
    whose ``tolist`` makes the strings in one C loop instead of one slice and one
    concatenation per hash in Python.
    """
    raw = np.asarray(rows, np.uint8).reshape(-1, 32)
    start = len(prefix)
    width = start + 64
    points = np.empty((len(raw), width), np.uint32)
    points[:, :start] = np.array([ord(ch) for ch in prefix], np.uint32)
    points[:, start::2] = _HEX_DIGITS[raw >> 4]
    points[:, start + 1 :: 2] = _HEX_DIGITS[raw & 15]
    texts = cast(list[str], points.view(np.dtype((np.str_, width))).ravel().tolist())
    return texts


_HEX = np.full(256, -1, np.int8)
_HEX[np.frombuffer(b"0123456789abcdef", np.uint8)] = np.arange(16, dtype=np.int8)


def _decode_regular(
    blob: np.ndarray, offsets: np.ndarray, prefix: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Each text: the prefix then 64 lowercase hex digits -> 32 bytes; ``ok`` False for others."""
    n = len(offsets) - 1
    out = np.zeros(n * 32, np.uint8)
    ok = np.zeros(n, np.bool_)
    _decode_hex(blob, offsets, prefix, _HEX, out, ok)
    return out.reshape(-1, 32), ok


@numba.njit(cache=True, nogil=True)
def _decode_hex(
    blob: np.ndarray,
    offsets: np.ndarray,
    prefix: np.ndarray,
    table: np.ndarray,
    out: np.ndarray,
    ok: np.ndarray,
) -> None:
    n = len(offsets) - 1
    width = len(prefix) + 64
    for i in range(n):
        start = offsets[i]
        if offsets[i + 1] - start != width:
            continue
        good = True
        for j in range(len(prefix)):
            if blob[start + j] != prefix[j]:
                good = False
        base = start + len(prefix)
        for j in range(32):
            hi = table[blob[base + 2 * j]]
            lo = table[blob[base + 2 * j + 1]]
            if hi < 0 or lo < 0:
                good = False
            out[i * 32 + j] = np.uint8(((np.int64(hi) & 15) << 4) | (np.int64(lo) & 15))
        ok[i] = good


def _gather(
    blob: np.ndarray, offsets: np.ndarray, rows: np.ndarray, new_offsets: np.ndarray
) -> np.ndarray:
    """The texts of ``rows`` packed into a blob of their own (offsets computed by the caller)."""
    out = np.empty(int(new_offsets[-1]), np.uint8)
    _gather_at(blob, np.asarray(offsets[rows], np.int64), new_offsets, out)
    return out


def _gathered(blob: np.ndarray, starts: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    out = np.empty(int(bounds[-1]), np.uint8)
    _gather_at(blob, starts, bounds, out)
    return out


@numba.njit(cache=True, nogil=True)
def _gather_at(blob: np.ndarray, starts: np.ndarray, bounds: np.ndarray, out: np.ndarray) -> None:
    # Text k (at ``starts[k]`` in ``blob``) copied to ``bounds[k]`` of one packed buffer.
    for k in range(len(starts)):
        for j in range(bounds[k + 1] - bounds[k]):
            out[bounds[k] + j] = blob[starts[k] + j]


class _Pieces:
    """Texts as Arrow left them: one byte slice per chunk, addressed as if concatenated.

    Kept apart until the texts are laid out in id order, so that the bytes are copied once,
    straight to their place (a copy of a few hundred megabytes costs mostly fresh pages).
    """

    def __init__(self, slices: list[np.ndarray]) -> None:
        self.slices = slices
        self.starts = np.zeros(len(slices) + 1, np.int64)
        np.cumsum([len(x) for x in slices], out=self.starts[1:])

    def joined(self) -> np.ndarray:
        return np.concatenate(self.slices) if self.slices else np.zeros(0, np.uint8)

    def copy_into(self, lo: int, hi: int, out: np.ndarray, at: int) -> None:
        """Bytes ``lo … hi`` (joined positions) to ``out[at:]``."""
        k = int(np.searchsorted(self.starts, lo, side="right")) - 1
        while lo < hi:
            piece, base = self.slices[k], int(self.starts[k])
            take = min(hi, base + len(piece)) - lo
            out[at : at + take] = piece[lo - base : lo - base + take]
            lo, at, k = lo + take, at + take, k + 1


def _texts(
    files: list[Path], id_column: str, text_column: str
) -> tuple[np.ndarray, _Pieces, np.ndarray]:
    """Ids, texts (pieces) and their int64 offsets from 0, of a table's parts, from Parquet.

    No cast to a wider string type, no per-value work: the offsets are rebased per chunk.
    """
    ids_parts: list[np.ndarray] = []
    slices: list[np.ndarray] = []
    offsets_parts: list[np.ndarray] = [np.zeros(1, np.int64)]
    base = 0
    for f in files:
        table = pq.read_table(f, columns=[id_column, text_column])
        ids_parts.append(table.column(id_column).to_numpy().astype(np.int64, copy=False))
        for chunk in table.column(text_column).chunks:
            if not len(chunk):
                continue
            _, off_buf, data_buf = chunk.buffers()
            width = np.int64 if pa.types.is_large_string(chunk.type) else np.int32
            raw = np.frombuffer(off_buf, width)[chunk.offset : chunk.offset + len(chunk) + 1]
            raw = raw.astype(np.int64)
            data = np.frombuffer(data_buf, np.uint8) if data_buf is not None else _EMPTY
            slices.append(data[int(raw[0]) : int(raw[-1])])
            offsets_parts.append(raw[1:] - raw[0] + base)
            base += int(raw[-1] - raw[0])
    ids = np.concatenate(ids_parts) if ids_parts else np.zeros(0, np.int64)
    return ids, _Pieces(slices), np.concatenate(offsets_parts)


_EMPTY = np.zeros(0, np.uint8)


def _in_id_order(
    ids: np.ndarray, pieces: _Pieces, offsets: np.ndarray, n: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(blob, offsets with n + 1 entries, sorted ids without a row) with texts in id order."""
    if bool(np.all(ids[1:] > ids[:-1])):
        blob = pieces.joined()
        if len(ids) == n:  # ids 0 … n − 1 in order: the layout already is the answer
            return blob, offsets, np.zeros(0, np.int64)
    else:
        # A part is written in a few runs of ids: each run's texts are copied to their ids'
        # place in one go, no sort, unless an id repeats (not in a valid store; first row
        # wins) or the runs are too many
        placed = _place_texts(ids, pieces, offsets, n)
        if placed is not None:
            return placed
        blob = pieces.joined()
        order = np.argsort(ids, kind="stable")
        ids = ids[order]
        keep = np.ones(len(ids), np.bool_)
        keep[1:] = ids[1:] != ids[:-1]
        ids, rows = ids[keep], order[keep]
        packed = np.zeros(len(rows) + 1, np.int64)
        np.cumsum(offsets[rows + 1] - offsets[rows], out=packed[1:])
        blob, offsets = _gather(blob, offsets, rows, packed), packed
    lengths = np.zeros(n, np.int64)
    lengths[ids] = np.diff(offsets)
    spread = np.zeros(n + 1, np.int64)
    np.cumsum(lengths, out=spread[1:])
    present = np.zeros(n, np.bool_)
    present[ids] = True
    return np.ascontiguousarray(blob), spread, np.nonzero(~present)[0].astype(np.int64)


def _place_texts(
    ids: np.ndarray, pieces: _Pieces, offsets: np.ndarray, n: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Texts moved to their ids' slots a run of consecutive ids at a time (one copy each).

    None when an id repeats or the runs are too many to copy one by one: the caller sorts.
    """
    present = np.zeros(n, np.bool_)
    present[ids] = True
    if int(np.count_nonzero(present)) != len(ids):
        return None
    starts = np.concatenate([[0], np.flatnonzero(np.diff(ids) != 1) + 1, [len(ids)]])
    if len(starts) > _MAX_RUNS:
        return None
    lengths = np.zeros(n, np.int64)
    lengths[ids] = np.diff(offsets)
    spread = np.zeros(n + 1, np.int64)
    np.cumsum(lengths, out=spread[1:])
    placed = np.empty(int(spread[-1]), np.uint8)
    for a, b in zip(starts[:-1].tolist(), starts[1:].tolist(), strict=True):
        pieces.copy_into(int(offsets[a]), int(offsets[b]), placed, int(spread[ids[a]]))
    return placed, spread, np.nonzero(~present)[0].astype(np.int64)


#: Most runs of consecutive ids copied one by one; beyond, sorting the ids is cheaper.
_MAX_RUNS = 10_000


def _sorted_keys(keys: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    # Rows sharing a key (a collision) keep their order: a lookup tries each of them.
    keys = np.ascontiguousarray(keys, np.uint64)
    rows = np.ascontiguousarray(rows, np.int64)
    n = len(keys)
    # about four keys per bucket: the bucket table stays small (fresh memory is costly)
    bits = max(1, min(22, (n - 1).bit_length() - 2))
    starts = np.zeros((1 << bits) + 1, np.int64)
    out_keys = np.empty(n, np.uint64)
    out_rows = np.empty(n, np.int64)
    if not _bucket_sort(
        keys, rows, bits, _BUCKET_LIMIT, starts, out_keys, out_rows
    ):  # keys far from uniform (not hashes): a comparison sort
        order = np.argsort(keys, kind="stable")
        out_keys, out_rows = keys[order], rows[order]
    return np.ascontiguousarray(out_keys), out_rows.astype(np.int32)


#: Largest bucket the bucket sort accepts before handing over to a comparison sort.
_BUCKET_LIMIT = 256


@numba.njit(cache=True, nogil=True)
def _bucket_sort(
    keys: np.ndarray,
    rows: np.ndarray,
    bits: int,
    limit: int,
    starts: np.ndarray,
    out_keys: np.ndarray,
    out_rows: np.ndarray,
) -> bool:
    # Hash keys are uniform: scattered by their top ``bits`` bits into about one bucket per
    # key, then each (tiny) bucket sorted by insertion; stable, linear time. A bucket larger
    # than ``limit`` means the keys are not uniform: False, and the caller sorts another way.
    shift = np.uint64(64 - bits)
    for k in range(len(keys)):
        starts[np.int64(keys[k] >> shift) + 1] += 1
    for b in range(1 << bits):
        if starts[b + 1] > limit:
            return False
        starts[b + 1] += starts[b]
    fill = starts[:-1].copy()
    for k in range(len(keys)):
        at = np.int64(keys[k] >> shift)
        out_keys[fill[at]] = keys[k]
        out_rows[fill[at]] = rows[k]
        fill[at] += 1
    for b in range(1 << bits):
        for i in range(starts[b] + 1, starts[b + 1]):
            key = out_keys[i]
            row = out_rows[i]
            j = i - 1
            while j >= starts[b] and out_keys[j] > key:
                out_keys[j + 1] = out_keys[j]
                out_rows[j + 1] = out_rows[j]
                j -= 1
            out_keys[j + 1] = key
            out_rows[j + 1] = row
    return True


def build_lookups(
    chain: str,
    address_files: list[Path],
    transaction_files: list[Path],
) -> Lookups:
    """The lookup arrays of a chain's stored addresses and transactions.

    Ids run ``0 … max``: the index's holder numbering counts the same way.
    """
    prefix = "0x" if get_chain(chain).family == "account" else ""
    ids, texts, text_offsets = _texts(address_files, "address_id", "address")
    n_addresses = int(ids.max()) + 1 if len(ids) else 0
    addr_blob, addr_offsets, addr_missing = _in_id_order(ids, texts, text_offsets, n_addresses)
    hashes = _hash_texts(addr_blob, addr_offsets)
    present = np.ones(n_addresses, np.bool_)
    present[addr_missing] = False
    rows = np.nonzero(present)[0]
    addr_keys, addr_order = _sorted_keys(hashes[rows], rows)

    ids, texts, text_offsets = _texts(transaction_files, "tx_id", "tx_hash")
    n_transactions = int(ids.max()) + 1 if len(ids) else 0
    blob, offsets, missing = _in_id_order(ids, texts, text_offsets, n_transactions)
    tx_bytes, ok = _decode_regular(blob, offsets, np.frombuffer(prefix.encode(), np.uint8))
    tx_state = np.full(n_transactions, _ODD, np.uint8)
    tx_state[ok] = _REGULAR
    tx_state[missing] = _MISSING
    tx_bytes[~ok] = 0
    regular = np.nonzero(tx_state == _REGULAR)[0]
    first8 = np.ascontiguousarray(tx_bytes[regular, :8]).view("<u8").ravel().astype(np.uint64)
    tx_keys, tx_order = _sorted_keys(first8, regular)

    odd_ids = np.nonzero(tx_state == _ODD)[0].astype(np.int64)
    lengths = offsets[odd_ids + 1] - offsets[odd_ids]
    odd_offsets = np.zeros(len(odd_ids) + 1, np.int64)
    np.cumsum(lengths, out=odd_offsets[1:])
    odd_blob = _gather(blob, offsets, odd_ids, odd_offsets)
    odd_keys, odd_order = _sorted_keys(
        _hash_texts(odd_blob, odd_offsets), np.arange(len(odd_ids), dtype=np.int64)
    )
    return Lookups(
        prefix=prefix,
        addr_blob=addr_blob,
        addr_offsets=addr_offsets,
        addr_missing=addr_missing,
        addr_keys=addr_keys,
        addr_order=addr_order,
        tx_bytes=tx_bytes,
        tx_state=tx_state,
        tx_keys=tx_keys,
        tx_order=tx_order,
        odd_ids=odd_ids,
        odd_blob=odd_blob,
        odd_offsets=odd_offsets,
        odd_keys=odd_keys,
        odd_order=odd_order,
    )
