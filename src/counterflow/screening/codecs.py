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

The checksums are most of the work, and each text's is independent of the others': the loops
gather a group of texts into lanes and hash (or run the bech32 checksum over) the whole group
at once, in vector registers (see :mod:`counterflow.chains.digests`).

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

from counterflow.chains.digests import (
    KECCAK_LANES,
    SHA256_LANES,
    keccak_f_lanes,
    sha256d_lanes,
)
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
#: Per byte of a bech32 data part: its 5-bit value, and flags for a capital, a small letter, or
#: a byte outside the alphabet (OR-ed over a text, the flags say whether it is valid, one case).
_B32_UPPER, _B32_LOWER, _B32_INVALID = 0x20, 0x40, 0x80
_BECH32_CODE = np.full(256, _B32_INVALID, np.int64)
for _i, _ch in enumerate(_BECH32_CHARSET):
    _BECH32_CODE[ord(_ch)] = _i | (_B32_LOWER if _ch.isalpha() else 0)
    _BECH32_CODE[ord(_ch.upper())] = _i | (_B32_UPPER if _ch.isalpha() else 0)
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


def _hrp_state(hrp: str) -> int:
    """The bech32 checksum state after a human-readable part (the same for every address of a
    chain, so the compiled loop starts from it)."""
    checksum = 1
    for value in [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]:
        checksum = ((checksum & 0x1FFFFFF) << 5) ^ value ^ int(_BECH32_TABLE[checksum >> 25])
    return checksum


# -- per-form checks over the rows of a column (parallel over chunks of rows) -------------------
#
# Each check reads a chunk's rows one by one, rejects what is not the form, and writes what is
# left to hash (or to run through the bech32 checksum) into lanes: when a group of lanes is
# full, or at the end of the chunk, one call hashes the whole group at once (see
# counterflow.chains.digests) and the lanes' results are settled. A lane that holds no message
# in the last group of a chunk is hashed with the rest and its result ignored.

_CHUNK = 4096
#: Bech32 checksums computed at once (two AVX-512 registers of 32-bit states).
_BECH32_LANES = 32
#: Bit 0 of each byte of a word.
_BYTES_LOW = np.uint64(0x0101010101010101)


@numba.njit(cache=True, nogil=True, inline="always")
def _nibble_tops(half: np.uint64) -> np.uint64:
    """The top bits of the eight nibbles of a digest's 32-bit ``half``, as bit 0 of the byte
    of the hex digit each nibble decides: the high nibble of a byte is the earlier digit."""
    x = (half >> np.uint64(3)) & np.uint64(0x11111111)
    x = ((x & np.uint64(0x0F0F0F0F)) << np.uint64(4)) | (
        (x >> np.uint64(4)) & np.uint64(0x0F0F0F0F)
    )
    x = (x | (x << np.uint64(16))) & np.uint64(0x0000FFFF0000FFFF)
    x = (x | (x << np.uint64(8))) & np.uint64(0x00FF00FF00FF00FF)
    return (x | (x << np.uint64(4))) & np.uint64(0x0F0F0F0F0F0F0F0F)


@numba.njit(cache=True, nogil=True)
def _eip55_settle(
    state: np.ndarray,
    pending: np.ndarray,
    count: int,
    body: np.ndarray,
    done: np.ndarray,
    upper_case: np.ndarray,
) -> None:
    """Hash the ``count`` lowercased bodies in ``state`` and accept the rows whose capitals
    are where the hash's nibbles are 8 or more (EIP-55).

    ``body`` holds each lane's text as written, eight digits a little-endian word (word ``k``
    of lane ``l`` at ``k * KECCAK_LANES + l``): in each byte of a word, bit 6 says a letter
    and a clear bit 5 a capital, so the check is a few operations a word, not one a digit.
    """
    lanes = KECCAK_LANES
    keccak_f_lanes(state)
    for lane in range(count):
        wrong = np.uint64(0)
        for k in range(5):
            text = body[k * lanes + lane]
            letter = (text >> np.uint64(6)) & _BYTES_LOW
            capital = letter & ~(text >> np.uint64(5))
            digest = state[(k >> 1) * lanes + lane] >> np.uint64(32 * (k & 1))
            wrong |= (_nibble_tops(digest & np.uint64(0xFFFFFFFF)) & letter) ^ capital
        if wrong == 0:
            r = pending[lane]
            done[r] = True
            upper_case[r] = True


@numba.njit(cache=True, nogil=True)
def _evm_chunk(
    offsets: np.ndarray,
    data: np.ndarray,
    rows: np.ndarray,
    hex_class: np.ndarray,
    done: np.ndarray,
    upper_case: np.ndarray,
) -> None:
    """:func:`_evm_rows` over one chunk's rows: single-case texts are settled as they come,
    mixed-case ones wait in a lane for :func:`_eip55_settle`."""
    lanes = KECCAK_LANES
    state = np.zeros(25 * lanes, np.uint64)
    body = np.zeros(5 * lanes, np.uint64)
    pending = np.zeros(lanes, np.int64)
    count = 0
    for q in range(len(rows)):
        r = rows[q]
        start = offsets[r]
        if offsets[r + 1] - start != 42 or data[start] != 48 or data[start + 1] != 120:
            continue
        # branch-free: OR the classes of all 40 digits
        text = data[start + 2 : start + 42]
        classes = 0
        for j in range(40):
            classes |= hex_class[text[j]]
        if classes & _NOT_HEX:
            continue
        if classes != _LOWER | _UPPER:  # single case: valid as written
            done[r] = True
            upper_case[r] = (classes & _UPPER) != 0
            continue
        # mixed case must be the EIP-55 spelling: the Keccak-256 of the lowercased body
        # (40 bytes: five words, then the padding) decides it, a group of lanes at a time
        for k in range(25):
            state[k * lanes + count] = np.uint64(0)
        for k in range(5):  # eight digits a little-endian word
            word = np.uint64(0)
            for b in range(8):
                word |= np.uint64(text[8 * k + b]) << np.uint64(8 * b)
            body[k * lanes + count] = word
            state[k * lanes + count] = word | np.uint64(0x2020202020202020)  # lowercased
        state[5 * lanes + count] = np.uint64(0x01)
        state[16 * lanes + count] = np.uint64(0x80) << np.uint64(56)
        pending[count] = r
        count += 1
        if count == lanes:
            _eip55_settle(state, pending, count, body, done, upper_case)
            count = 0
    if count:
        _eip55_settle(state, pending, count, body, done, upper_case)


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
        _evm_chunk(
            offsets,
            data,
            rows[chunk * _CHUNK : min(n, (chunk + 1) * _CHUNK)],
            hex_class,
            done,
            upper_case,
        )


@numba.njit(cache=True, nogil=True)
def _bech32_settle(
    values: np.ndarray,
    ends: np.ndarray,
    count: int,
    hrp_state: int,
    generator: np.ndarray,
    checks: np.ndarray,
    targets: np.ndarray,
    pending: np.ndarray,
    capitals: np.ndarray,
    done: np.ndarray,
    upper_case: np.ndarray,
) -> None:
    """Run the bech32 checksum over the data parts of the first ``count`` lanes, from the
    human-readable part's state ``hrp_state``, and accept the rows whose checksum comes out at
    their witness version's constant (``targets``).

    ``values[j * _BECH32_LANES + lane]`` is the 5-bit value at step ``j``; a lane's state
    stops changing after its ``ends[lane]`` values, so lanes of different lengths share the
    steps. The generator's terms are selected by masks rather than a table, so that the loop
    over the lanes is one vector operation a step.
    """
    lanes = _BECH32_LANES
    steps = 0
    for lane in range(count):
        steps = max(steps, ends[lane])
    g0 = np.uint32(generator[0])
    g1 = np.uint32(generator[1])
    g2 = np.uint32(generator[2])
    g3 = np.uint32(generator[3])
    g4 = np.uint32(generator[4])
    zero = np.uint32(0)
    one = np.uint32(1)
    for lane in range(lanes):
        checks[lane] = np.uint32(hrp_state)
    for j in range(steps):
        for lane in range(lanes):
            chk = checks[lane]
            top = chk >> np.uint32(25)
            step = ((chk & np.uint32(0x1FFFFFF)) << np.uint32(5)) ^ values[j * lanes + lane]
            step ^= (zero - (top & one)) & g0
            step ^= (zero - ((top >> np.uint32(1)) & one)) & g1
            step ^= (zero - ((top >> np.uint32(2)) & one)) & g2
            step ^= (zero - ((top >> np.uint32(3)) & one)) & g3
            step ^= (zero - ((top >> np.uint32(4)) & one)) & g4
            checks[lane] = np.uint32(step) if j < ends[lane] else chk
    for lane in range(count):
        if checks[lane] == targets[lane]:
            r = pending[lane]
            done[r] = True
            upper_case[r] = capitals[lane]


@numba.njit(cache=True, nogil=True)
def _bech32_chunk(
    offsets: np.ndarray,
    data: np.ndarray,
    rows: np.ndarray,
    hrp: np.ndarray,
    hrp_state: int,
    codes: np.ndarray,  # _BECH32_CODE
    generator: np.ndarray,  # _BECH32_GEN
    bech32m: int,
    done: np.ndarray,
    upper_case: np.ndarray,
) -> None:
    """:func:`_bech32_rows` over one chunk's rows: the checks that need no checksum, per
    row, then the checksum for a whole group of lanes in :func:`_bech32_settle`."""
    h = len(hrp)
    lanes = _BECH32_LANES
    values = np.zeros(90 * lanes, np.uint32)
    ends = np.zeros(lanes, np.int64)
    checks = np.zeros(lanes, np.uint32)
    targets = np.zeros(lanes, np.uint32)
    pending = np.zeros(lanes, np.int64)
    capitals = np.zeros(lanes, np.bool_)
    count = 0
    for q in range(len(rows)):
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
        text = data[start + h + 1 : start + length]  # the data part
        flags = 0
        for j in range(m):
            code = codes[text[j]]
            flags |= code
            values[j * lanes + count] = np.uint32(code & 31)
        if flags & _B32_INVALID:
            continue
        capital = upper > 0 or (flags & _B32_UPPER) != 0
        if capital and (lower > 0 or (flags & _B32_LOWER) != 0):
            continue
        version = values[count]
        bits = 5 * (m - 7)  # the program: after the version, before the 6-digit checksum
        size = bits >> 3
        spare = bits & 7
        if version > 1 or spare >= 5:
            continue
        if (values[(m - 7) * lanes + count] & np.uint32((1 << spare) - 1)) != 0:
            continue
        if (version == 0 and size != 20 and size != 32) or (version == 1 and size != 32):
            continue
        ends[count] = m
        targets[count] = 1 if version == 0 else bech32m
        pending[count] = r
        capitals[count] = capital
        count += 1
        if count == lanes:
            _bech32_settle(
                values,
                ends,
                count,
                hrp_state,
                generator,
                checks,
                targets,
                pending,
                capitals,
                done,
                upper_case,
            )
            count = 0
    if count:
        _bech32_settle(
            values,
            ends,
            count,
            hrp_state,
            generator,
            checks,
            targets,
            pending,
            capitals,
            done,
            upper_case,
        )


@numba.njit(cache=True, nogil=True, parallel=True)
def _bech32_rows(
    offsets: np.ndarray,
    data: np.ndarray,
    rows: np.ndarray,
    hrp: np.ndarray,
    hrp_state: int,
    codes: np.ndarray,  # _BECH32_CODE
    generator: np.ndarray,  # _BECH32_GEN
    bech32m: int,
    done: np.ndarray,
    upper_case: np.ndarray,
) -> None:
    """``done[r]`` for valid segwit v0 (20/32-byte) or v1 (32-byte) addresses of ``hrp``.

    The checks that need no checksum come first, per row: the human-readable part, the
    alphabet, one case, the witness version, and the program's length and padding (what is
    left of its 5-bit groups after the last whole byte: fewer than 5 bits, all zero).
    """
    n = len(rows)
    for chunk in numba.prange((n + _CHUNK - 1) // _CHUNK):
        _bech32_chunk(
            offsets,
            data,
            rows[chunk * _CHUNK : min(n, (chunk + 1) * _CHUNK)],
            hrp,
            hrp_state,
            codes,
            generator,
            bech32m,
            done,
            upper_case,
        )


#: Base58Check texts of 25 bytes have at most 35 digits: seven groups of five, each group's
#: value below 58^5 < 2^30, so that a 32-bit limb times 58^5 plus a carry fits in 64 bits. 35
#: digits are below 2^206, so seven 32-bit limbs always hold the number.
_B58_GROUPS = 7
_B58_GROUP_BASE = 58**5
#: Rows of the Base58 scratch (uint64, a row per lane): the digit groups, then the number's
#: 32-bit limbs (little-endian). One array, so that the compiler sees the rows cannot overlap.
_B58_LIMBS = _B58_GROUPS
_B58_ROWS = _B58_LIMBS + 7


@numba.njit(cache=True, nogil=True)
def _base58_settle(
    scratch: np.ndarray,
    zeros: np.ndarray,
    pending: np.ndarray,
    count: int,
    versions: np.ndarray,
    w: np.ndarray,
    digest: np.ndarray,
    done: np.ndarray,
) -> None:
    """Turn the lanes' digit groups into 25-byte numbers, double-SHA-256 their first 21 bytes
    and accept the rows whose last four bytes are the first four of it, whose number fits in
    25 bytes, whose version byte is one of ``versions`` and whose leading zero bytes are as
    many as their leading '1's (``zeros``).

    Each step of the base conversion is a loop over the lanes (the seven limbs unrolled in
    it), which the compiler turns into vector multiplies over the lanes.
    """
    lanes = SHA256_LANES
    limbs = _B58_LIMBS * lanes
    base = np.uint64(_B58_GROUP_BASE)
    mask = np.uint64(0xFFFFFFFF)
    for i in range(limbs, _B58_ROWS * lanes):
        scratch[i] = np.uint64(0)
    for g in range(_B58_GROUPS):
        for lane in range(lanes):
            carry = scratch[g * lanes + lane]
            for p in range(7):
                t = scratch[limbs + p * lanes + lane] * base + carry
                scratch[limbs + p * lanes + lane] = t & mask
                carry = t >> np.uint64(32)
    # the first block: bytes 0-20 of the payload, padded; byte 4i of the payload is bit
    # 168 - 32i of the number, 8 bits into limb 5 - i
    for i in range(5):
        for lane in range(lanes):
            low = scratch[limbs + (5 - i) * lanes + lane]
            high = scratch[limbs + (6 - i) * lanes + lane]
            w[i * lanes + lane] = np.uint32(
                ((low >> np.uint64(8)) | (high << np.uint64(24))) & mask
            )
    for lane in range(lanes):
        byte20 = scratch[limbs + lanes + lane] & np.uint64(0xFF)
        w[5 * lanes + lane] = np.uint32((byte20 << np.uint64(24)) | np.uint64(0x800000))
    for i in range(6, 15):
        for lane in range(lanes):
            w[i * lanes + lane] = np.uint32(0)
    for lane in range(lanes):
        w[15 * lanes + lane] = np.uint32(8 * 21)
    sha256d_lanes(w, digest)
    for lane in range(count):
        # 25 bytes are 200 bits: the top limb holds the version byte alone, and a number of
        # more bytes has more up there than a byte
        top = np.int64(scratch[limbs + 6 * lanes + lane])
        if digest[lane] != np.uint32(scratch[limbs + lane]) or (
            top != versions[0] and top != versions[1]
        ):
            continue
        # as many leading zero bytes as leading '1's; byte j is bits 8 * (24 - j) on
        lead = 0
        while lead < 25:
            bit = 8 * (24 - lead)
            limb = scratch[limbs + (bit >> 5) * lanes + lane]
            if ((limb >> np.uint64(bit & 31)) & np.uint64(0xFF)) != 0:
                break
            lead += 1
        if lead == zeros[lane]:
            done[pending[lane]] = True


@numba.njit(cache=True, nogil=True)
def _base58check_chunk(
    offsets: np.ndarray,
    data: np.ndarray,
    rows: np.ndarray,
    values: np.ndarray,
    versions: np.ndarray,
    done: np.ndarray,
) -> None:
    """:func:`_base58check_rows` over one chunk: each text's digits, in groups of five
    aligned on the last digit (as if a shorter text had leading zero digits, which change
    nothing), go to a lane; :func:`_base58_settle` does the rest for a whole group of lanes."""
    lanes = SHA256_LANES
    scratch = np.zeros(_B58_ROWS * lanes, np.uint64)
    zeros = np.zeros(lanes, np.int64)
    pending = np.zeros(lanes, np.int64)
    w = np.zeros(64 * lanes, np.uint32)
    digest = np.zeros(8 * lanes, np.uint32)
    count = 0
    for q in range(len(rows)):
        r = rows[q]
        start = offsets[r]
        length = offsets[r + 1] - start
        if length < 26 or length > 35:
            continue
        lead = 0
        text = data[start : start + length]
        while lead < length and text[lead] == 49:  # '1', the zero digit
            lead += 1
        # the groups: none (zero) first, then the head's few digits, then groups of five
        head = length % 5
        g = _B58_GROUPS - length // 5 - (head > 0)
        for k in range(g):
            scratch[k * lanes + count] = np.uint64(0)
        bad = 0
        group = 0
        for j in range(head):
            v = values[text[j]]
            bad |= v  # -1 outside the alphabet
            group = group * 58 + v
        if head:
            scratch[g * lanes + count] = np.uint64(group)
            g += 1
        for j in range(head, length, 5):
            group = 0
            for k in range(5):
                v = values[text[j + k]]
                bad |= v
                group = group * 58 + v
            scratch[g * lanes + count] = np.uint64(group)
            g += 1
        if bad < 0:
            continue
        zeros[count] = lead
        pending[count] = r
        count += 1
        if count == lanes:
            _base58_settle(scratch, zeros, pending, count, versions, w, digest, done)
            count = 0
    if count:
        _base58_settle(scratch, zeros, pending, count, versions, w, digest, done)


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
        _base58check_chunk(
            offsets,
            data,
            rows[chunk * _CHUNK : min(n, (chunk + 1) * _CHUNK)],
            values,
            versions,
            done,
        )


@numba.njit(cache=True, nogil=True, parallel=True)
def _classify_rows(
    offsets: np.ndarray,
    data: np.ndarray,
    prefix_blob: np.ndarray,
    prefix_offsets: np.ndarray,
    prefix_codes: np.ndarray,
    by_first: np.ndarray,
    by_first_rules: np.ndarray,
    codes: np.ndarray,
) -> None:
    """``codes[r]``: the code of the first prefix the text starts with (``-1``: none).

    Only the prefixes that can match are tried: those starting with the text's first byte,
    in their order (``by_first_rules[by_first[b]:by_first[b + 1]]``; entry 256 for empty
    texts), so most texts try one or two instead of all of them.
    """
    n = len(offsets) - 1
    for chunk in numba.prange((n + _CHUNK - 1) // _CHUNK):
        for r in range(chunk * _CHUNK, min(n, (chunk + 1) * _CHUNK)):
            start = offsets[r]
            length = offsets[r + 1] - start
            codes[r] = -1
            head = data[start] if length > 0 else 256
            for k in range(by_first[head], by_first[head + 1]):
                p = by_first_rules[k]
                lo = prefix_offsets[p]
                size = prefix_offsets[p + 1] - lo
                if size > length:
                    continue
                same = True
                for j in range(1, size):  # the first byte matches by construction
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
    # per first byte (256: an empty text), the prefixes that can match, in order; an empty
    # prefix can match any text
    candidates: list[list[int]] = [[] for _ in range(257)]
    for i, e in enumerate(encoded):
        for head in range(257) if not e else (e[0],):
            candidates[head].append(i)
    by_first = np.zeros(258, np.int64)
    by_first[1:] = np.cumsum([len(c) for c in candidates])
    rules = np.array([i for c in candidates for i in c], np.int64)
    codes = np.empty(len(offsets) - 1, np.int16)
    _classify_rows(
        offsets,
        data,
        blob,
        bounds,
        np.array([c for _, c in prefixes], np.int16),
        by_first,
        rules,
        codes,
    )
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
            offsets,
            data,
            rows,
            hrp,
            _hrp_state(fmt.bech32_hrp),
            _BECH32_CODE,
            _BECH32_GEN,
            _BECH32M_CONST,
            done,
            upper,
        )
    singles = [v[0] for v in (*fmt.p2pkh, *fmt.p2sh) if len(v) == 1]
    if 0 < len(singles) <= 2:
        versions = np.array([singles[0], singles[-1]], np.int64)
        _base58check_rows(offsets, data, rows, _B58_VALUE, versions, done)
    return done, upper


@numba.njit(cache=True, nogil=True, parallel=True)
def _rewritten_offsets(
    offsets: np.ndarray, rows: np.ndarray, shifts: np.ndarray, out: np.ndarray
) -> None:
    """Offsets of the rewritten column: a text's own, moved by ``shifts[k]``, the change in
    length of the ``k`` replaced texts (``rows``, ascending) before it."""
    n = len(offsets) - 1
    base = offsets[0]
    for chunk in numba.prange((n + _CHUNK - 1) // _CHUNK):
        lo = chunk * _CHUNK
        k = np.searchsorted(rows, lo)
        for r in range(lo, min(n, lo + _CHUNK)):
            while k < len(rows) and rows[k] < r:
                k += 1
            out[r] = offsets[r] - base + shifts[k]
    out[n] = offsets[n] - base + shifts[len(rows)]


@numba.njit(cache=True, nogil=True)
def _lower_ascii(text: np.ndarray) -> None:
    """ASCII capitals of ``text`` lowercased in place, without a branch a byte (so that the
    loop over a slice, indexed from 0, vectorises)."""
    for j in range(len(text)):
        ch = text[j]
        text[j] = ch | (np.uint8((ch >= 65) & (ch <= 90)) << np.uint8(5))


@numba.njit(cache=True, nogil=True, parallel=True)
def _rewritten_bytes(
    offsets: np.ndarray,
    data: np.ndarray,
    upper: np.ndarray,
    rows: np.ndarray,
    value_offsets: np.ndarray,
    value_data: np.ndarray,
    out_offsets: np.ndarray,
    out: np.ndarray,
) -> None:
    """Per chunk of rows: one copy of each run of texts between replaced ones (a run keeps its
    texts' lengths, so its bytes move as one block), the capitals lowered where marked, then
    the replacements (``rows``, ascending) written in."""
    n = len(offsets) - 1
    for chunk in numba.prange((n + _CHUNK - 1) // _CHUNK):
        lo = chunk * _CHUNK
        hi = min(n, lo + _CHUNK)
        first = int(np.searchsorted(rows, lo))
        k = first
        run = lo
        while run < hi:
            stop = rows[k] if k < len(rows) and rows[k] < hi else hi
            out[out_offsets[run] : out_offsets[stop]] = data[offsets[run] : offsets[stop]]
            run = stop + 1
            k += 1
        for r in range(lo, hi):
            if upper[r]:
                _lower_ascii(out[out_offsets[r] : out_offsets[r + 1]])
        for i in range(first, len(rows)):
            r = rows[i]
            if r >= hi:
                break
            out[out_offsets[r] : out_offsets[r + 1]] = value_data[
                value_offsets[i] : value_offsets[i + 1]
            ]


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
    and masked replacement would each cost seconds on ten million items. Nothing the size of
    the column is made but the new column itself: on ten million items each such array costs
    a tenth of a second.
    """
    offsets, data = buffers(texts)
    n = len(offsets) - 1
    at = np.asarray(rows if rows is not None else [], np.int64)
    order = np.argsort(at, kind="stable")
    at = at[order]
    encoded = [(values[i] or "").encode() for i in order.tolist()]
    value_offsets = np.zeros(len(encoded) + 1, np.int64)
    np.cumsum([len(e) for e in encoded], out=value_offsets[1:])
    value_data = np.frombuffer(b"".join(encoded) or b"\0", np.uint8)
    # per replaced text, the change in length of it and those before it
    shifts = np.zeros(len(at) + 1, np.int64)
    np.cumsum(np.diff(value_offsets) - (offsets[at + 1] - offsets[at]), out=shifts[1:])
    size = int(offsets[-1] - offsets[0] + shifts[-1])
    # the plain string type where it can hold the column, as callers expect, without a cast
    large = size >= 2**31
    out_offsets = np.empty(n + 1, np.int64 if large else np.int32)
    _rewritten_offsets(offsets, at, shifts, out_offsets)
    out = np.empty(max(size, 1), np.uint8)
    _rewritten_bytes(offsets, data, upper, at, value_offsets, value_data, out_offsets, out)
    validity = None
    missing = [k for k, i in enumerate(order.tolist()) if values[i] is None]
    if missing:
        valid = np.ones(n, np.bool_)
        valid[at[missing]] = False
        validity = pa.array(valid).buffers()[1]
    kind = pa.LargeStringArray if large else pa.StringArray
    return kind.from_buffers(n, pa.py_buffer(out_offsets), pa.py_buffer(out), validity)


def bulk_canonical(chain: str, texts: pa.Array) -> tuple[np.ndarray, pa.Array]:
    """``(done, canonical)`` for a column of one chain's texts: which are recognised as valid,
    and every text's canonical form where recognised (undefined elsewhere)."""
    offsets, data = buffers(texts)
    done, upper = bulk_check(chain, offsets, data, np.arange(len(texts), dtype=np.int64))
    return done, rewritten(texts, upper)
