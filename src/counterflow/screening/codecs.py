"""Bulk recognition of valid address forms, so a large batch skips the per-address codec.

Screening ten million addresses through the registry codecs one at a time costs minutes (an
EIP-55 check or a bech32 decode is tens of microseconds in Python). The common forms can be
checked for a whole Arrow column at once, by compiled loops over the column's bytes:

- EVM ``0x`` + 40 hex digits: single-case is valid as written; mixed case must carry the EIP-55
  checksum (Keccak-256 of the lowercase body);
- Bitcoin-family bech32/bech32m (``bc1…``): the checksum, the witness version's constant and
  program length (v0: 20 or 32 bytes, v1: 32), padding, one case;
- Base58Check P2PKH/P2SH: 25 bytes whose version byte is the chain's and whose last four are
  the double SHA-256 checksum.

This module only *recognises* valid texts and gives their canonical form (lowercase for EVM
and bech32, as written for Base58). Whatever it does not recognise — an invalid text, another
form, another chain — the caller sends through the registry codec (one call per distinct
text), which decides and words the error. So the codec stays the only authority on what is
invalid, and the fast path can only ever agree with it (tests/screening compare both).
"""

from __future__ import annotations

from collections.abc import Sequence

import numba
import numpy as np
import pyarrow as pa

from counterflow.chains.digests import keccak256_block, sha256_block
from counterflow.chains.registry import get_chain

# -- alphabets ---------------------------------------------------------------------------------

_B58_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B58_VALUE = np.full(256, -1, np.int64)
for _i, _ch in enumerate(_B58_ALPHABET):
    _B58_VALUE[ord(_ch)] = _i
#: Class of each byte in a hex body: a digit, a lowercase or capital letter, or not hex.
_LOWER, _UPPER, _NOT_HEX = 1, 2, 4
_HEX_CLASS = np.full(256, _NOT_HEX, np.uint8)
_HEX_CLASS[np.frombuffer(b"0123456789", np.uint8)] = 0
_HEX_CLASS[np.frombuffer(b"abcdef", np.uint8)] = _LOWER
_HEX_CLASS[np.frombuffer(b"ABCDEF", np.uint8)] = _UPPER
_BECH32_CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_BECH32_VALUE = np.full(256, -1, np.int64)
for _i, _ch in enumerate(_BECH32_CHARSET):
    _BECH32_VALUE[ord(_ch)] = _i
    _BECH32_VALUE[ord(_ch.upper())] = _i
_BECH32_GEN = np.array([0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3], np.int64)
#: XOR of the generator terms selected by each 5-bit value shifted out of the checksum
_BECH32_TABLE = np.array(
    [
        np.bitwise_xor.reduce(np.where([(top >> g) & 1 for g in range(5)], _BECH32_GEN, 0))
        for top in range(32)
    ],
    np.int64,
)
_BECH32M_CONST = 0x2BC830A3


# -- per-form checks over the rows of a column (parallel over chunks of rows) -------------------

_CHUNK = 4096


@numba.njit(cache=True, nogil=True, parallel=True)
def _evm_rows(
    offsets: np.ndarray,
    data: np.ndarray,
    rows: np.ndarray,
    hex_class: np.ndarray,
    done: np.ndarray,
    upper_case: np.ndarray,
) -> None:
    """``done[r]`` for valid EVM texts: any single case, or a correct EIP-55 case;
    ``upper_case[r]`` where such a text has capitals (its canonical form is lowercased)."""
    n = len(rows)
    for chunk in numba.prange((n + _CHUNK - 1) // _CHUNK):
        body = np.zeros(40, np.uint8)
        lanes = np.zeros(25, np.uint64)
        digest = np.zeros(32, np.uint8)
        for q in range(chunk * _CHUNK, min(n, (chunk + 1) * _CHUNK)):
            r = rows[q]
            start = offsets[r]
            if offsets[r + 1] - start != 42 or data[start] != 48 or data[start + 1] != 120:
                continue
            # branch-free: OR the classes of all 40 digits, lowercase as we go
            classes = 0
            for j in range(40):
                ch = data[start + 2 + j]
                classes |= hex_class[ch]
                body[j] = ch | 0x20  # digits keep their value, A-F become a-f
            if classes & _NOT_HEX:
                continue
            if classes == _LOWER | _UPPER:  # mixed case: it must be the EIP-55 spelling
                keccak256_block(body, 40, lanes, digest)
                wrong = 0
                for j in range(40):
                    kind = hex_class[data[start + 2 + j]]
                    nibble = (digest[j >> 1] >> 4) if (j & 1) == 0 else (digest[j >> 1] & 15)
                    wrong |= (kind == _LOWER and nibble >= 8) | (kind == _UPPER and nibble < 8)
                if wrong:
                    continue
            done[r] = True
            upper_case[r] = (classes & _UPPER) != 0


@numba.njit(cache=True, nogil=True, parallel=True)
def _bech32_rows(
    offsets: np.ndarray,
    data: np.ndarray,
    rows: np.ndarray,
    hrp: np.ndarray,
    values: np.ndarray,
    generator: np.ndarray,  # _BECH32_TABLE
    bech32m: int,
    done: np.ndarray,
    upper_case: np.ndarray,
) -> None:
    """``done[r]`` for valid segwit v0 (20/32-byte) or v1 (32-byte) addresses of ``hrp``."""
    n = len(rows)
    h = len(hrp)
    for chunk in numba.prange((n + _CHUNK - 1) // _CHUNK):
        data5 = np.zeros(96, np.int64)
        for q in range(chunk * _CHUNK, min(n, (chunk + 1) * _CHUNK)):
            r = rows[q]
            start = offsets[r]
            length = offsets[r + 1] - start
            if length < h + 8 or length > 90 or data[start + h] != 49:  # '1'
                continue
            upper = 0
            lower = 0
            good = True
            for j in range(h):
                ch = data[start + j]
                if 65 <= ch <= 90:
                    upper += 1
                    ch += 32
                elif 97 <= ch <= 122:
                    lower += 1
                if ch != hrp[j]:
                    good = False
                    break
            if not good:
                continue
            m = length - h - 1
            for j in range(m):
                ch = data[start + h + 1 + j]
                if 65 <= ch <= 90:
                    upper += 1
                elif 97 <= ch <= 122:
                    lower += 1
                v = values[ch]
                if v < 0:
                    good = False
                    break
                data5[j] = v
            if not good or (upper > 0 and lower > 0):
                continue
            chk = 1
            for step in range(2 * h + 1 + m):
                if step < h:
                    v = hrp[step] >> 5
                elif step == h:
                    v = 0
                elif step <= 2 * h:
                    v = hrp[step - h - 1] & 31
                else:
                    v = data5[step - 2 * h - 1]
                chk = ((chk & 0x1FFFFFF) << 5) ^ v ^ generator[chk >> 25]
            version = data5[0]
            if (version == 0 and chk != 1) or (version == 1 and chk != bech32m) or version > 1:
                continue
            acc = 0
            bits = 0
            size = 0
            for j in range(1, m - 6):
                acc = ((acc << 5) | data5[j]) & 0xFFF
                bits += 5
                if bits >= 8:
                    bits -= 8
                    size += 1
            if bits >= 5 or (acc & ((1 << bits) - 1)) != 0:
                continue
            if (version == 0 and size != 20 and size != 32) or (version == 1 and size != 32):
                continue
            done[r] = True
            upper_case[r] = upper > 0


@numba.njit(cache=True, nogil=True, parallel=True)
def _base58check_rows(
    offsets: np.ndarray,
    data: np.ndarray,
    rows: np.ndarray,
    values: np.ndarray,
    versions: np.ndarray,
    done: np.ndarray,
) -> None:
    """``done[r]`` for Base58Check texts of 25 bytes: a version byte of ``versions``, a 20-byte
    hash and the 4-byte double SHA-256 checksum."""
    n = len(rows)
    for chunk in numba.prange((n + _CHUNK - 1) // _CHUNK):
        limbs = np.zeros(7, np.uint64)  # the number, little-endian base 2^32
        digits = np.zeros(35, np.int64)
        payload = np.zeros(25, np.uint8)
        w = np.zeros(64, np.uint32)
        first = np.zeros(32, np.uint8)
        second = np.zeros(32, np.uint8)
        for q in range(chunk * _CHUNK, min(n, (chunk + 1) * _CHUNK)):
            r = rows[q]
            start = offsets[r]
            length = offsets[r + 1] - start
            if length < 26 or length > 35:
                continue
            for j in range(7):
                limbs[j] = np.uint64(0)
            good = True
            zeros = 0
            leading = True
            for j in range(length):
                v = values[data[start + j]]
                if v < 0:
                    good = False
                    break
                digits[j] = v
                if leading and v == 0:
                    zeros += 1
                else:
                    leading = False
            if not good:
                continue
            # five digits per pass over the limbs: 58^5 < 2^30, so a limb times it plus the
            # carry stays within 64 bits
            j = length % 5
            head = 0
            for p in range(j):
                head = head * 58 + digits[p]
            limbs[0] = np.uint64(head)
            while j < length:
                chunk_value = digits[j]
                for p in range(1, 5):
                    chunk_value = chunk_value * 58 + digits[j + p]
                carry = np.uint64(chunk_value)
                for p in range(7):
                    t = limbs[p] * np.uint64(656356768) + carry
                    limbs[p] = t & np.uint64(0xFFFFFFFF)
                    carry = t >> np.uint64(32)
                if carry != 0:
                    good = False
                    break
                j += 5
            # 25 bytes are 200 bits: the top limb holds at most 8 of them
            if not good or limbs[6] > np.uint64(0xFF):
                continue
            for j in range(25):
                bit = 8 * (24 - j)
                payload[j] = np.uint8((limbs[bit >> 5] >> np.uint64(bit & 31)) & np.uint64(0xFF))
            lead = 0
            while lead < 25 and payload[lead] == 0:
                lead += 1
            if lead != zeros or (payload[0] != versions[0] and payload[0] != versions[1]):
                continue
            sha256_block(payload, 21, w, first)
            sha256_block(first, 32, w, second)
            if (
                second[0] == payload[21]
                and second[1] == payload[22]
                and second[2] == payload[23]
                and second[3] == payload[24]
            ):
                done[r] = True


@numba.njit(cache=True, nogil=True, parallel=True)
def _classify_rows(
    offsets: np.ndarray,
    data: np.ndarray,
    prefix_blob: np.ndarray,
    prefix_offsets: np.ndarray,
    prefix_codes: np.ndarray,
    codes: np.ndarray,
) -> None:
    """``codes[r]``: the code of the first prefix the text starts with (``-1``: none)."""
    n = len(offsets) - 1
    rules = len(prefix_codes)
    for chunk in numba.prange((n + _CHUNK - 1) // _CHUNK):
        for r in range(chunk * _CHUNK, min(n, (chunk + 1) * _CHUNK)):
            start = offsets[r]
            length = offsets[r + 1] - start
            codes[r] = -1
            for p in range(rules):
                lo = prefix_offsets[p]
                size = prefix_offsets[p + 1] - lo
                if size > length:
                    continue
                same = True
                for j in range(size):
                    if data[start + j] != prefix_blob[lo + j]:
                        same = False
                        break
                if same:
                    codes[r] = prefix_codes[p]
                    break


# -- the column API -----------------------------------------------------------------------------


def buffers(texts: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Offsets (int64) and bytes of a string column, without copying the bytes.

    Nulls count as empty texts: their offsets span nothing.
    """
    column = texts.cast(pa.large_string()) if texts.type != pa.large_string() else texts
    _, offsets_buffer, data_buffer = column.buffers()
    offsets = np.frombuffer(offsets_buffer, np.int64, len(column) + 1, column.offset * 8)
    if data_buffer is None:
        return offsets, np.zeros(0, np.uint8)
    return offsets, np.frombuffer(data_buffer, np.uint8)


def classify(offsets: np.ndarray, data: np.ndarray, prefixes: list[tuple[str, int]]) -> np.ndarray:
    """Per text, the code of the first of ``prefixes`` ``(prefix, code)`` it starts with."""
    encoded = [p.encode() for p, _ in prefixes]
    blob = np.frombuffer(b"".join(encoded), np.uint8) if encoded else np.zeros(0, np.uint8)
    bounds = np.zeros(len(encoded) + 1, np.int64)
    bounds[1:] = np.cumsum([len(e) for e in encoded])
    codes = np.empty(len(offsets) - 1, np.int16)
    _classify_rows(offsets, data, blob, bounds, np.array([c for _, c in prefixes], np.int16), codes)
    return codes


def bulk_check(
    chain: str, offsets: np.ndarray, data: np.ndarray, rows: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """For the texts at ``rows`` (positions into the column) of one chain: ``(done, upper)``
    over the whole column — which are recognised as valid, and which of those are written in
    capitals that their canonical form lowercases (EVM hex, bech32); others (Base58) are
    canonical as written."""
    n = len(offsets) - 1
    done = np.zeros(n, np.bool_)
    upper = np.zeros(n, np.bool_)
    spec = get_chain(chain)
    if len(rows) == 0 or spec.has_own_codec:
        return done, upper
    rows = np.ascontiguousarray(rows, np.int64)
    if spec.family == "account":
        _evm_rows(offsets, data, rows, _HEX_CLASS, done, upper)
        return done, upper
    fmt = spec.utxo_format
    if fmt is None:
        return done, upper
    if fmt.bech32_hrp is not None:
        hrp = np.frombuffer(fmt.bech32_hrp.encode(), np.uint8).astype(np.int64)
        _bech32_rows(
            offsets, data, rows, hrp, _BECH32_VALUE, _BECH32_TABLE, _BECH32M_CONST, done, upper
        )
    singles = [v[0] for v in (*fmt.p2pkh, *fmt.p2sh) if len(v) == 1]
    if 0 < len(singles) <= 2:
        versions = np.array([singles[0], singles[-1]], np.int64)
        _base58check_rows(offsets, data, rows, _B58_VALUE, versions, done)
    return done, upper


@numba.njit(cache=True, nogil=True)
def _rewritten_offsets(
    offsets: np.ndarray, slot: np.ndarray, value_offsets: np.ndarray, out: np.ndarray
) -> None:
    """Offsets of the column with the texts that have a ``slot`` replaced by that value."""
    total = 0
    for r in range(len(offsets) - 1):
        k = slot[r]
        if k >= 0:
            total += value_offsets[k + 1] - value_offsets[k]
        else:
            total += offsets[r + 1] - offsets[r]
        out[r + 1] = total


@numba.njit(cache=True, nogil=True, parallel=True)
def _rewritten_bytes(
    offsets: np.ndarray,
    data: np.ndarray,
    upper: np.ndarray,
    slot: np.ndarray,
    value_offsets: np.ndarray,
    value_data: np.ndarray,
    out_offsets: np.ndarray,
    out: np.ndarray,
) -> None:
    n = len(offsets) - 1
    for chunk in numba.prange((n + _CHUNK - 1) // _CHUNK):
        for r in range(chunk * _CHUNK, min(n, (chunk + 1) * _CHUNK)):
            at = out_offsets[r]
            k = slot[r]
            if k >= 0:
                out[at : out_offsets[r + 1]] = value_data[value_offsets[k] : value_offsets[k + 1]]
            elif upper[r]:
                for j in range(offsets[r], offsets[r + 1]):
                    ch = data[j]
                    out[at] = ch + 32 if 65 <= ch <= 90 else ch
                    at += 1
            else:  # a slice copy is a memcpy
                out[at : out_offsets[r + 1]] = data[offsets[r] : offsets[r + 1]]


def rewritten(
    texts: pa.Array,
    upper: np.ndarray,
    rows: np.ndarray | None = None,
    values: Sequence[str | None] = (),
) -> pa.Array:
    """``texts`` with the items marked in ``upper`` lowercased (ASCII) and the items at ``rows``
    (no repeats) replaced by ``values`` (``None``: null); other items must not be null.

    This is how a batch gets its canonical column: the bulk checks lowercase millions of texts
    and the codec answers for a few; one compiled copy does both, where Arrow's lowercasing
    and masked replacement would each cost seconds on ten million items.
    """
    offsets, data = buffers(texts)
    n = len(offsets) - 1
    slot = np.full(n, -1, np.int64)
    encoded = [(v or "").encode() for v in values]
    value_offsets = np.zeros(len(encoded) + 1, np.int64)
    validity = None
    if rows is not None and len(rows):
        slot[rows] = np.arange(len(rows))
        np.cumsum([len(e) for e in encoded], out=value_offsets[1:])
        missing = np.array([v is None for v in values], np.bool_)
        if missing.any():
            valid = np.ones(n, np.bool_)
            valid[np.asarray(rows)[missing]] = False
            validity = pa.array(valid).buffers()[1]
    value_data = np.frombuffer(b"".join(encoded) or b"\0", np.uint8)
    out_offsets = np.zeros(n + 1, np.int64)
    _rewritten_offsets(offsets, slot, value_offsets, out_offsets)
    out = np.empty(max(int(out_offsets[-1]), 1), np.uint8)
    _rewritten_bytes(offsets, data, upper, slot, value_offsets, value_data, out_offsets, out)
    if out_offsets[-1] < 2**31:  # the plain string type, as callers expect, without a cast
        return pa.StringArray.from_buffers(
            n, pa.py_buffer(out_offsets.astype(np.int32)), pa.py_buffer(out), validity
        )
    return pa.LargeStringArray.from_buffers(
        n, pa.py_buffer(out_offsets), pa.py_buffer(out), validity
    )


def bulk_canonical(chain: str, texts: pa.Array) -> tuple[np.ndarray, pa.Array]:
    """``(done, canonical)`` for a column of one chain's texts: which are recognised as valid,
    and every text's canonical form where recognised (undefined elsewhere)."""
    offsets, data = buffers(texts)
    done, upper = bulk_check(chain, offsets, data, np.arange(len(texts), dtype=np.int64))
    return done, rewritten(texts, upper)
