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

import math

import numba
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from counterflow.chains.registry import get_chain

# -- constants, derived from their definitions rather than copied ------------------------------


def _primes(count: int) -> list[int]:
    found: list[int] = []
    n = 2
    while len(found) < count:
        if all(n % p for p in found if p * p <= n):
            found.append(n)
        n += 1
    return found


def _icbrt(n: int) -> int:
    x: int = round(float(n) ** (1 / 3))
    while x**3 > n:
        x -= 1
    while (x + 1) ** 3 <= n:
        x += 1
    return x


# SHA-256: first 32 bits of the fractional parts of the cube roots of the first 64 primes (K)
# and of the square roots of the first 8 (initial hash)
_SHA_K = np.array([_icbrt(p << 96) & 0xFFFFFFFF for p in _primes(64)], np.uint32)
_SHA_H = np.array([math.isqrt(p << 64) & 0xFFFFFFFF for p in _primes(8)], np.uint32)


def _keccak_round_constants() -> np.ndarray:
    """FIPS 202 round constants from the degree-8 LFSR ``x^8 + x^6 + x^5 + x^4 + 1``."""
    state = 1
    bits = []
    for _ in range(7 * 24):
        bits.append(state & 1)
        state <<= 1
        if state & 0x100:
            state ^= 0x171
    constants = []
    for i in range(24):
        value = 0
        for j in range(7):
            if bits[7 * i + j]:
                value |= 1 << ((1 << j) - 1)
        constants.append(value)
    return np.array(constants, np.uint64)


def _keccak_rotations() -> np.ndarray:
    """Rotation offset of lane (x, y) at index ``x + 5y`` (FIPS 202, rho step)."""
    offsets = [0] * 25
    x, y = 1, 0
    for t in range(24):
        offsets[x + 5 * y] = ((t + 1) * (t + 2) // 2) % 64
        x, y = y, (2 * x + 3 * y) % 5
    return np.array(offsets, np.int64)


def _keccak_steps() -> np.ndarray:
    """Index tables of one round, lane ``i = x + 5y``: rows are pi's target lane, chi's two
    neighbours, theta's two neighbouring columns (of ``x``, for ``i < 5``)."""
    steps = np.zeros((5, 25), np.int64)
    for i in range(25):
        x, y = i % 5, i // 5
        steps[0, i] = y + 5 * ((2 * x + 3 * y) % 5)
        steps[1, i] = (x + 1) % 5 + 5 * y
        steps[2, i] = (x + 2) % 5 + 5 * y
        steps[3, i] = (x + 4) % 5
        steps[4, i] = (x + 1) % 5
    return steps


_KECCAK_RC = _keccak_round_constants()
_KECCAK_ROT = _keccak_rotations()
_KECCAK_STEPS = _keccak_steps()
_B58_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B58_VALUE = np.full(256, -1, np.int64)
for _i, _ch in enumerate(_B58_ALPHABET):
    _B58_VALUE[ord(_ch)] = _i
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


# -- compiled primitives (scratch arrays passed in: nothing is allocated per address) --------


@numba.njit(cache=True, nogil=True)
def _rotl64(x: np.uint64, n: int) -> np.uint64:
    if n == 0:
        return x
    n64 = np.uint64(n)
    return (x << n64) | (x >> (np.uint64(64) - n64))


@numba.njit(cache=True, nogil=True)
def _keccak_f(
    lanes: np.ndarray, c: np.ndarray, b: np.ndarray, rc: np.ndarray, rot: np.ndarray
) -> None:
    steps = _KECCAK_STEPS
    for r in range(24):
        for x in range(5):
            c[x] = lanes[x] ^ lanes[x + 5] ^ lanes[x + 10] ^ lanes[x + 15] ^ lanes[x + 20]
        for x in range(5):
            d = c[steps[3, x]] ^ _rotl64(c[steps[4, x]], 1)
            lanes[x] ^= d
            lanes[x + 5] ^= d
            lanes[x + 10] ^= d
            lanes[x + 15] ^= d
            lanes[x + 20] ^= d
        for i in range(25):
            b[steps[0, i]] = _rotl64(lanes[i], rot[i])
        for i in range(25):
            lanes[i] = b[i] ^ (~b[steps[1, i]] & b[steps[2, i]])
        lanes[0] ^= rc[r]


@numba.njit(cache=True, nogil=True)
def _keccak256(
    message: np.ndarray,
    n: int,
    lanes: np.ndarray,
    c: np.ndarray,
    b: np.ndarray,
    rc: np.ndarray,
    rot: np.ndarray,
    out: np.ndarray,
) -> None:
    """Keccak-256 (Ethereum's padding 0x01 … 0x80) of ``message[:n]``, ``n`` < 136."""
    for i in range(25):
        lanes[i] = np.uint64(0)
    for i in range(n):
        lanes[i >> 3] ^= np.uint64(message[i]) << np.uint64(8 * (i & 7))
    lanes[n >> 3] ^= np.uint64(0x01) << np.uint64(8 * (n & 7))
    lanes[16] ^= np.uint64(0x80) << np.uint64(56)
    _keccak_f(lanes, c, b, rc, rot)
    for i in range(32):
        out[i] = np.uint8((lanes[i >> 3] >> np.uint64(8 * (i & 7))) & np.uint64(0xFF))


@numba.njit(cache=True, nogil=True)
def _rotr32(x: np.uint32, n: int) -> np.uint32:
    return np.uint32((x >> np.uint32(n)) | (x << np.uint32(32 - n)))


@numba.njit(cache=True, nogil=True)
def _sha256(
    message: np.ndarray, n: int, w: np.ndarray, k: np.ndarray, h0: np.ndarray, out: np.ndarray
) -> None:
    """SHA-256 of ``message[:n]``, ``n`` <= 55 (one block), into ``out``."""
    for i in range(16):
        w[i] = np.uint32(0)
    for i in range(n):
        w[i >> 2] |= np.uint32(message[i]) << np.uint32(24 - 8 * (i & 3))
    w[n >> 2] |= np.uint32(0x80) << np.uint32(24 - 8 * (n & 3))
    w[15] = np.uint32(8 * n)
    for i in range(16, 64):
        s0 = _rotr32(w[i - 15], 7) ^ _rotr32(w[i - 15], 18) ^ (w[i - 15] >> np.uint32(3))
        s1 = _rotr32(w[i - 2], 17) ^ _rotr32(w[i - 2], 19) ^ (w[i - 2] >> np.uint32(10))
        w[i] = np.uint32(w[i - 16] + s0 + w[i - 7] + s1)
    a, b, c, d = h0[0], h0[1], h0[2], h0[3]
    e, f, g, h = h0[4], h0[5], h0[6], h0[7]
    for i in range(64):
        s1 = _rotr32(e, 6) ^ _rotr32(e, 11) ^ _rotr32(e, 25)
        ch = (e & f) ^ (~e & g)
        t1 = np.uint32(h + s1 + ch + k[i] + w[i])
        s0 = _rotr32(a, 2) ^ _rotr32(a, 13) ^ _rotr32(a, 22)
        maj = (a & b) ^ (a & c) ^ (b & c)
        t2 = np.uint32(s0 + maj)
        h, g, f, e = g, f, e, np.uint32(d + t1)
        d, c, b, a = c, b, a, np.uint32(t1 + t2)
    final = (a, b, c, d, e, f, g, h)
    for i in range(8):
        value = np.uint32(h0[i] + final[i])
        for j in range(4):
            out[4 * i + j] = np.uint8((value >> np.uint32(24 - 8 * j)) & np.uint32(0xFF))


def sha256_short(message: bytes) -> bytes:
    """SHA-256 of a short message (at most 55 bytes), through the compiled path (for tests)."""
    out = np.zeros(32, np.uint8)
    data = np.frombuffer(message, np.uint8)
    _sha256(data, len(data), np.zeros(64, np.uint32), _SHA_K, _SHA_H, out)
    return out.tobytes()


def keccak256_short(message: bytes) -> bytes:
    """Keccak-256 of a short message (under 136 bytes), through the compiled path (for tests)."""
    out = np.zeros(32, np.uint8)
    data = np.frombuffer(message, np.uint8)
    scratch = np.zeros(25, np.uint64), np.zeros(5, np.uint64), np.zeros(25, np.uint64)
    _keccak256(data, len(data), *scratch, _KECCAK_RC, _KECCAK_ROT, out)
    return out.tobytes()


# -- per-form checks over the rows of a column (parallel over chunks of rows) -------------------

_CHUNK = 4096


@numba.njit(cache=True, nogil=True, parallel=True)
def _evm_rows(
    offsets: np.ndarray,
    data: np.ndarray,
    rows: np.ndarray,
    rc: np.ndarray,
    rot: np.ndarray,
    done: np.ndarray,
    upper_case: np.ndarray,
) -> None:
    """``done[r]`` for valid EVM texts: any single case, or a correct EIP-55 case;
    ``upper_case[r]`` where such a text has capitals (its canonical form is lowercased)."""
    n = len(rows)
    for chunk in numba.prange((n + _CHUNK - 1) // _CHUNK):
        body = np.zeros(40, np.uint8)
        lanes = np.zeros(25, np.uint64)
        c = np.zeros(5, np.uint64)
        b = np.zeros(25, np.uint64)
        digest = np.zeros(32, np.uint8)
        for q in range(chunk * _CHUNK, min(n, (chunk + 1) * _CHUNK)):
            r = rows[q]
            start = offsets[r]
            if offsets[r + 1] - start != 42 or data[start] != 48 or data[start + 1] != 120:
                continue
            upper = 0
            lower = 0
            good = True
            for j in range(40):
                ch = data[start + 2 + j]
                if 48 <= ch <= 57:
                    body[j] = ch
                elif 97 <= ch <= 102:
                    body[j] = ch
                    lower += 1
                elif 65 <= ch <= 70:
                    body[j] = ch + 32
                    upper += 1
                else:
                    good = False
                    break
            if not good:
                continue
            if upper > 0 and lower > 0:
                _keccak256(body, 40, lanes, c, b, rc, rot, digest)
                for j in range(40):
                    ch = data[start + 2 + j]
                    nibble = (digest[j >> 1] >> 4) if (j & 1) == 0 else (digest[j >> 1] & 15)
                    if (ch >= 97 and nibble >= 8) or (65 <= ch <= 70 and nibble < 8):
                        good = False
                        break
            if good:
                done[r] = True
                upper_case[r] = upper > 0


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
    k: np.ndarray,
    h0: np.ndarray,
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
            # two digits per pass over the limbs (58^2 = 3364)
            j = length % 2
            if j == 1:
                limbs[0] = np.uint64(digits[0])
            while j < length:
                carry = np.uint64(digits[j] * 58 + digits[j + 1])
                for p in range(7):
                    t = limbs[p] * np.uint64(3364) + carry
                    limbs[p] = t & np.uint64(0xFFFFFFFF)
                    carry = t >> np.uint64(32)
                if carry != 0:
                    good = False
                    break
                j += 2
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
            _sha256(payload, 21, w, k, h0, first)
            _sha256(first, 32, w, k, h0, second)
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
        _evm_rows(offsets, data, rows, _KECCAK_RC, _KECCAK_ROT, done, upper)
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
        _base58check_rows(offsets, data, rows, _B58_VALUE, versions, _SHA_K, _SHA_H, done)
    return done, upper


def lowered(texts: pa.Array, upper: np.ndarray) -> pa.Array:
    """``texts`` with the items marked in ``upper`` lowercased (the others untouched)."""
    rows = np.flatnonzero(upper)
    if len(rows) == 0:
        return texts
    return pc.replace_with_mask(texts, pa.array(upper), pc.utf8_lower(texts.take(pa.array(rows))))


def bulk_canonical(chain: str, texts: pa.Array) -> tuple[np.ndarray, pa.Array]:
    """``(done, canonical)`` for a column of one chain's texts: which are recognised as valid,
    and every text's canonical form where recognised (undefined elsewhere)."""
    offsets, data = buffers(texts)
    done, upper = bulk_check(chain, offsets, data, np.arange(len(texts), dtype=np.int64))
    return done, lowered(texts, upper)
