"""Compiled one-block SHA-256 and Keccak-256, for checksums over millions of addresses.

Address checksums hash a few dozen bytes: Base58Check the double SHA-256 of 21 and then 32
bytes, EIP-55 the Keccak-256 of 40 hex digits. Checking or writing millions of addresses is
only quick if that hashing runs compiled, inside the loop over the addresses, without a
Python call or an allocation per address: these functions are numba-compiled, take their
scratch space from the caller, and can be called from other compiled code. They handle one
block only (up to 55 bytes for SHA-256, up to 135 for Keccak-256), which is all an address
needs; ``sha256_short`` and ``keccak256_short`` wrap them for Python callers and tests, which
compare them with hashlib and pycryptodome.

Keccak-f[1600] is written out over 25 scalar lanes (not an array indexed through tables) so
that the lanes live in registers (about 0.3-0.45 µs a hash here, where the table-driven loop
took about twice that). The rotation offsets in it are FIPS 202's rho table; the round
constants are derived below from their LFSR definition, and SHA-256's from the primes that
define them.

Checking a column of addresses hashes millions of such messages, which are independent of each
other; hashed one after the other, each waits on its own chain of dependent rotations and
additions. The ``*_lanes`` functions hash a group of messages at once, in struct-of-arrays
form: word ``i`` of message ``l`` is at ``[i * lanes + l]``, and every step is a loop over the
messages whose body is straight-line code, which LLVM turns into one vector instruction per
step (on AVX-512, ``inspect_asm`` shows zmm registers and ``vprolq``/``vprold`` for the
rotations). The arrays are flat and the lane counts constants so that the compiler can see
that the messages do not overlap: indexed ``[i, lane]`` with strides known only at run time,
the same loops stayed scalar. The counts are sized to the 32 vector registers of AVX-512: 8
Keccak states of 25 words (one register per word; 16 spilled and took 1.5x as long per
message), and 32 SHA-256 messages (two registers per word, two independent chains in flight:
16 took 1.5x as long). Measured on one core of the 2-core AVX-512 machine: a Keccak-f[1600]
about 56 ns a message this way against about 320 ns alone, a SHA-256 block about 25 ns
against about 210 ns. No flag is needed: numba compiles for the host CPU, and the
vectorisation needs no reassociation (integer operations only, no fastmath).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numba
import numpy as np

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


_KECCAK_RC = _keccak_round_constants()

# -- SHA-256 ------------------------------------------------------------------------------------

#: Messages a call of :func:`sha256_lanes` hashes at once.
SHA256_LANES = 32


@numba.njit(cache=True, nogil=True, inline="always")
def _rotr32(x: np.uint32, n: int) -> np.uint32:
    return np.uint32((x >> np.uint32(n)) | (x << np.uint32(32 - n)))


@numba.njit(cache=True, nogil=True, inline="always")
def _sha_schedule(w16: np.uint32, w15: np.uint32, w7: np.uint32, w2: np.uint32) -> np.uint32:
    """Message word ``i`` from words ``i-16``, ``i-15``, ``i-7`` and ``i-2``."""
    s0 = _rotr32(w15, 7) ^ _rotr32(w15, 18) ^ (w15 >> np.uint32(3))
    s1 = _rotr32(w2, 17) ^ _rotr32(w2, 19) ^ (w2 >> np.uint32(10))
    return np.uint32(w16 + s0 + w7 + s1)


@numba.njit(cache=True, nogil=True, inline="always")
def _sha_round(
    a: np.uint32,
    b: np.uint32,
    c: np.uint32,
    d: np.uint32,
    e: np.uint32,
    f: np.uint32,
    g: np.uint32,
    h: np.uint32,
    k: np.uint32,
    w: np.uint32,
) -> tuple[np.uint32, np.uint32]:
    """One round, as the new ``(d, h)``: the caller renames the eight words instead of moving
    them, so that the round's result is the new ``e`` and ``a`` in those two places.

    Every sum is wrapped back to 32 bits explicitly, because numba widens integer arithmetic.
    """
    s1 = _rotr32(e, 6) ^ _rotr32(e, 11) ^ _rotr32(e, 25)
    choice = (e & f) ^ (~e & g)
    first = np.uint32(h + s1 + choice + k + w)
    s0 = _rotr32(a, 2) ^ _rotr32(a, 13) ^ _rotr32(a, 22)
    majority = (a & b) ^ (a & c) ^ (b & c)
    return np.uint32(d + first), np.uint32(first + s0 + majority)


@numba.njit(cache=True, nogil=True)
def sha256_block(message: np.ndarray, n: int, w: np.ndarray, digest: np.ndarray) -> None:
    """SHA-256 of ``message[:n]`` (``n`` <= 55: one block) into ``digest[:32]``.

    ``w`` is a uint32 scratch of 64 words; ``digest`` may not alias ``message``.
    """
    for i in range(16):
        w[i] = np.uint32(0)
    for i in range(n):
        w[i >> 2] |= np.uint32(message[i]) << np.uint32(24 - 8 * (i & 3))
    w[n >> 2] |= np.uint32(0x80) << np.uint32(24 - 8 * (n & 3))
    w[15] = np.uint32(8 * n)
    for i in range(16, 64):
        w[i] = _sha_schedule(w[i - 16], w[i - 15], w[i - 7], w[i - 2])
    a, b, c, d = _SHA_H[0], _SHA_H[1], _SHA_H[2], _SHA_H[3]
    e, f, g, h = _SHA_H[4], _SHA_H[5], _SHA_H[6], _SHA_H[7]
    for i in range(64):
        d, h = _sha_round(a, b, c, d, e, f, g, h, _SHA_K[i], w[i])
        h, g, f, e, d, c, b, a = g, f, e, d, c, b, a, h
    final = (a, b, c, d, e, f, g, h)
    for i in range(8):
        value = np.uint32(_SHA_H[i] + final[i])
        for j in range(4):
            digest[4 * i + j] = np.uint8((value >> np.uint32(24 - 8 * j)) & np.uint32(0xFF))


@numba.njit(cache=True, nogil=True)
def sha256_pad_lane(message: np.ndarray, start: int, n: int, w: np.ndarray, lane: int) -> None:
    """Write ``message[start:start + n]`` (``n`` <= 55), padded into one block, as lane
    ``lane`` of the message words ``w`` of :func:`sha256_lanes`."""
    for i in range(16):
        w[i * SHA256_LANES + lane] = np.uint32(0)
    for i in range(n):
        w[(i >> 2) * SHA256_LANES + lane] |= np.uint32(message[start + i]) << np.uint32(
            24 - 8 * (i & 3)
        )
    w[(n >> 2) * SHA256_LANES + lane] |= np.uint32(0x80) << np.uint32(24 - 8 * (n & 3))
    w[15 * SHA256_LANES + lane] = np.uint32(8 * n)


@numba.njit(cache=True, nogil=True)
def sha256_lanes(w: np.ndarray, digest: np.ndarray) -> None:
    """SHA-256 of :data:`SHA256_LANES` one-block messages at once.

    ``w`` (uint32, 64 words a lane) holds in its first 16 words each lane's padded block, word
    ``i`` of lane ``l`` at ``w[i * SHA256_LANES + l]`` (:func:`sha256_pad_lane` writes one);
    the other 48 are scratch for the message schedule. Word ``k`` of lane ``l``'s digest
    (big-endian, as SHA-256 writes it) goes to ``digest[k * SHA256_LANES + l]``. Lanes that
    hold no message cost as much as the others, and their digests mean nothing.
    """
    lanes = SHA256_LANES
    for i in range(16, 64):
        for lane in range(lanes):
            w[i * lanes + lane] = _sha_schedule(
                w[(i - 16) * lanes + lane],
                w[(i - 15) * lanes + lane],
                w[(i - 7) * lanes + lane],
                w[(i - 2) * lanes + lane],
            )
    for k in range(8):
        for lane in range(lanes):
            digest[k * lanes + lane] = _SHA_H[k]
    # eight rounds a pass over the lanes, so that the eight words stay in registers and come
    # back to their own names at the end of the pass
    for i in range(0, 64, 8):
        k0, k1, k2, k3 = _SHA_K[i], _SHA_K[i + 1], _SHA_K[i + 2], _SHA_K[i + 3]
        k4, k5, k6, k7 = _SHA_K[i + 4], _SHA_K[i + 5], _SHA_K[i + 6], _SHA_K[i + 7]
        for lane in range(lanes):
            a = digest[lane]
            b = digest[lanes + lane]
            c = digest[2 * lanes + lane]
            d = digest[3 * lanes + lane]
            e = digest[4 * lanes + lane]
            f = digest[5 * lanes + lane]
            g = digest[6 * lanes + lane]
            h = digest[7 * lanes + lane]
            d, h = _sha_round(a, b, c, d, e, f, g, h, k0, w[i * lanes + lane])
            c, g = _sha_round(h, a, b, c, d, e, f, g, k1, w[(i + 1) * lanes + lane])
            b, f = _sha_round(g, h, a, b, c, d, e, f, k2, w[(i + 2) * lanes + lane])
            a, e = _sha_round(f, g, h, a, b, c, d, e, k3, w[(i + 3) * lanes + lane])
            h, d = _sha_round(e, f, g, h, a, b, c, d, k4, w[(i + 4) * lanes + lane])
            g, c = _sha_round(d, e, f, g, h, a, b, c, k5, w[(i + 5) * lanes + lane])
            f, b = _sha_round(c, d, e, f, g, h, a, b, k6, w[(i + 6) * lanes + lane])
            e, a = _sha_round(b, c, d, e, f, g, h, a, k7, w[(i + 7) * lanes + lane])
            digest[lane] = a
            digest[lanes + lane] = b
            digest[2 * lanes + lane] = c
            digest[3 * lanes + lane] = d
            digest[4 * lanes + lane] = e
            digest[5 * lanes + lane] = f
            digest[6 * lanes + lane] = g
            digest[7 * lanes + lane] = h
    for k in range(8):
        for lane in range(lanes):
            digest[k * lanes + lane] = np.uint32(digest[k * lanes + lane] + _SHA_H[k])


@numba.njit(cache=True, nogil=True)
def sha256d_lanes(w: np.ndarray, digest: np.ndarray) -> None:
    """Double SHA-256 (Base58Check's checksum) of :data:`SHA256_LANES` one-block messages:
    :func:`sha256_lanes`, then again over each 32-byte digest, which is padded in place."""
    sha256_lanes(w, digest)
    lanes = SHA256_LANES
    for k in range(8):
        for lane in range(lanes):
            w[k * lanes + lane] = digest[k * lanes + lane]
    for lane in range(lanes):
        w[8 * lanes + lane] = np.uint32(0x80000000)
    for k in range(9, 15):
        for lane in range(lanes):
            w[k * lanes + lane] = np.uint32(0)
    for lane in range(lanes):
        w[15 * lanes + lane] = np.uint32(256)
    sha256_lanes(w, digest)


def sha256_short(message: bytes) -> bytes:
    """SHA-256 of a message of at most 55 bytes, through the compiled path."""
    if len(message) > 55:
        raise ValueError(f"sha256_short hashes one block (at most 55 bytes), not {len(message)}")
    digest = np.zeros(32, np.uint8)
    data = np.frombuffer(message.ljust(1, b"\0"), np.uint8)
    sha256_block(data, len(message), np.zeros(64, np.uint32), digest)
    return digest.tobytes()


@numba.njit(cache=True, nogil=True)
def _sha256_many(data: np.ndarray, offsets: np.ndarray, double: bool, out: np.ndarray) -> None:
    """Digests of the messages ``data[offsets[m]:offsets[m + 1]]`` into the rows of ``out``,
    :data:`SHA256_LANES` at a time; the last group's unused lanes hash stale words."""
    count = len(offsets) - 1
    lanes = SHA256_LANES
    w = np.zeros(64 * lanes, np.uint32)
    digest = np.zeros(8 * lanes, np.uint32)
    for group in range(0, count, lanes):
        size = min(lanes, count - group)
        for lane in range(size):
            m = group + lane
            sha256_pad_lane(data, offsets[m], offsets[m + 1] - offsets[m], w, lane)
        if double:
            sha256d_lanes(w, digest)
        else:
            sha256_lanes(w, digest)
        for lane in range(size):
            for k in range(8):
                word = digest[k * lanes + lane]
                for j in range(4):
                    out[group + lane, 4 * k + j] = np.uint8(
                        (word >> np.uint32(24 - 8 * j)) & np.uint32(0xFF)
                    )


def _concatenated(messages: Sequence[bytes], limit: int, name: str) -> tuple[np.ndarray, ...]:
    sizes = [len(m) for m in messages]
    if sizes and max(sizes) > limit:
        raise ValueError(f"{name} hashes one block (at most {limit} bytes), not {max(sizes)}")
    offsets = np.zeros(len(sizes) + 1, np.int64)
    np.cumsum(sizes, out=offsets[1:])
    data = np.frombuffer(b"".join(messages).ljust(1, b"\0"), np.uint8)
    return data, offsets


def sha256_many(messages: Sequence[bytes], double: bool = False) -> list[bytes]:
    """SHA-256 (or double SHA-256) of each message of at most 55 bytes, through the lanes."""
    data, offsets = _concatenated(messages, 55, "sha256_many")
    out = np.zeros((len(messages), 32), np.uint8)
    _sha256_many(data, offsets, double, out)
    return [row.tobytes() for row in out]


# -- Keccak-256 ---------------------------------------------------------------------------------

#: Messages a call of :func:`keccak_f_lanes` permutes at once.
KECCAK_LANES = 8


@numba.njit(cache=True, nogil=True, inline="always")
def _rotl64(x: np.uint64, n: int) -> np.uint64:
    return (x << np.uint64(n)) | (x >> np.uint64(64 - n))


@numba.njit(cache=True, nogil=True, inline="always")
def _keccak_round(
    a00: np.uint64,
    a10: np.uint64,
    a20: np.uint64,
    a30: np.uint64,
    a40: np.uint64,
    a01: np.uint64,
    a11: np.uint64,
    a21: np.uint64,
    a31: np.uint64,
    a41: np.uint64,
    a02: np.uint64,
    a12: np.uint64,
    a22: np.uint64,
    a32: np.uint64,
    a42: np.uint64,
    a03: np.uint64,
    a13: np.uint64,
    a23: np.uint64,
    a33: np.uint64,
    a43: np.uint64,
    a04: np.uint64,
    a14: np.uint64,
    a24: np.uint64,
    a34: np.uint64,
    a44: np.uint64,
    rc: np.uint64,
) -> tuple[np.uint64, ...]:
    """One round of Keccak-f[1600] on lanes ``a{x}{y}``: theta, rho and pi into ``b``, chi
    back into the 25 lanes returned (in the order ``x + 5y``), iota."""
    c0 = a00 ^ a01 ^ a02 ^ a03 ^ a04
    c1 = a10 ^ a11 ^ a12 ^ a13 ^ a14
    c2 = a20 ^ a21 ^ a22 ^ a23 ^ a24
    c3 = a30 ^ a31 ^ a32 ^ a33 ^ a34
    c4 = a40 ^ a41 ^ a42 ^ a43 ^ a44
    d0 = c4 ^ _rotl64(c1, 1)
    d1 = c0 ^ _rotl64(c2, 1)
    d2 = c1 ^ _rotl64(c3, 1)
    d3 = c2 ^ _rotl64(c4, 1)
    d4 = c3 ^ _rotl64(c0, 1)
    b00 = a00 ^ d0
    b02 = _rotl64(a10 ^ d1, 1)
    b04 = _rotl64(a20 ^ d2, 62)
    b01 = _rotl64(a30 ^ d3, 28)
    b03 = _rotl64(a40 ^ d4, 27)
    b13 = _rotl64(a01 ^ d0, 36)
    b10 = _rotl64(a11 ^ d1, 44)
    b12 = _rotl64(a21 ^ d2, 6)
    b14 = _rotl64(a31 ^ d3, 55)
    b11 = _rotl64(a41 ^ d4, 20)
    b21 = _rotl64(a02 ^ d0, 3)
    b23 = _rotl64(a12 ^ d1, 10)
    b20 = _rotl64(a22 ^ d2, 43)
    b22 = _rotl64(a32 ^ d3, 25)
    b24 = _rotl64(a42 ^ d4, 39)
    b34 = _rotl64(a03 ^ d0, 41)
    b31 = _rotl64(a13 ^ d1, 45)
    b33 = _rotl64(a23 ^ d2, 15)
    b30 = _rotl64(a33 ^ d3, 21)
    b32 = _rotl64(a43 ^ d4, 8)
    b42 = _rotl64(a04 ^ d0, 18)
    b44 = _rotl64(a14 ^ d1, 2)
    b41 = _rotl64(a24 ^ d2, 61)
    b43 = _rotl64(a34 ^ d3, 56)
    b40 = _rotl64(a44 ^ d4, 14)
    return (
        b00 ^ (~b10 & b20) ^ rc,
        b10 ^ (~b20 & b30),
        b20 ^ (~b30 & b40),
        b30 ^ (~b40 & b00),
        b40 ^ (~b00 & b10),
        b01 ^ (~b11 & b21),
        b11 ^ (~b21 & b31),
        b21 ^ (~b31 & b41),
        b31 ^ (~b41 & b01),
        b41 ^ (~b01 & b11),
        b02 ^ (~b12 & b22),
        b12 ^ (~b22 & b32),
        b22 ^ (~b32 & b42),
        b32 ^ (~b42 & b02),
        b42 ^ (~b02 & b12),
        b03 ^ (~b13 & b23),
        b13 ^ (~b23 & b33),
        b23 ^ (~b33 & b43),
        b33 ^ (~b43 & b03),
        b43 ^ (~b03 & b13),
        b04 ^ (~b14 & b24),
        b14 ^ (~b24 & b34),
        b24 ^ (~b34 & b44),
        b34 ^ (~b44 & b04),
        b44 ^ (~b04 & b14),
    )


@numba.njit(cache=True, nogil=True)
def _keccak_f(lanes: np.ndarray) -> None:
    """Keccak-f[1600] on ``lanes`` (lane ``x + 5y`` is ``a{x}{y}``), in 25 scalar variables."""
    a00, a10, a20, a30, a40 = lanes[0], lanes[1], lanes[2], lanes[3], lanes[4]
    a01, a11, a21, a31, a41 = lanes[5], lanes[6], lanes[7], lanes[8], lanes[9]
    a02, a12, a22, a32, a42 = lanes[10], lanes[11], lanes[12], lanes[13], lanes[14]
    a03, a13, a23, a33, a43 = lanes[15], lanes[16], lanes[17], lanes[18], lanes[19]
    a04, a14, a24, a34, a44 = lanes[20], lanes[21], lanes[22], lanes[23], lanes[24]
    for r in range(24):
        (
            a00, a10, a20, a30, a40,
            a01, a11, a21, a31, a41,
            a02, a12, a22, a32, a42,
            a03, a13, a23, a33, a43,
            a04, a14, a24, a34, a44,
        ) = _keccak_round(
            a00, a10, a20, a30, a40,
            a01, a11, a21, a31, a41,
            a02, a12, a22, a32, a42,
            a03, a13, a23, a33, a43,
            a04, a14, a24, a34, a44,
            _KECCAK_RC[r],
        )  # fmt: skip
    lanes[0], lanes[1], lanes[2], lanes[3], lanes[4] = a00, a10, a20, a30, a40
    lanes[5], lanes[6], lanes[7], lanes[8], lanes[9] = a01, a11, a21, a31, a41
    lanes[10], lanes[11], lanes[12], lanes[13], lanes[14] = a02, a12, a22, a32, a42
    lanes[15], lanes[16], lanes[17], lanes[18], lanes[19] = a03, a13, a23, a33, a43
    lanes[20], lanes[21], lanes[22], lanes[23], lanes[24] = a04, a14, a24, a34, a44


@numba.njit(cache=True, nogil=True)
def keccak_f_lanes(state: np.ndarray) -> None:
    """Keccak-f[1600] on :data:`KECCAK_LANES` states at once: word ``x + 5y`` of state ``l``
    at ``state[(x + 5y) * KECCAK_LANES + l]`` (:func:`keccak256_pad_lane` absorbs a message
    into one). Each round loads and stores the 25 words of each state once."""
    n = KECCAK_LANES
    for r in range(24):
        rc = _KECCAK_RC[r]
        for lane in range(n):
            (
                state[lane], state[n + lane], state[2 * n + lane],
                state[3 * n + lane], state[4 * n + lane],
                state[5 * n + lane], state[6 * n + lane], state[7 * n + lane],
                state[8 * n + lane], state[9 * n + lane],
                state[10 * n + lane], state[11 * n + lane], state[12 * n + lane],
                state[13 * n + lane], state[14 * n + lane],
                state[15 * n + lane], state[16 * n + lane], state[17 * n + lane],
                state[18 * n + lane], state[19 * n + lane],
                state[20 * n + lane], state[21 * n + lane], state[22 * n + lane],
                state[23 * n + lane], state[24 * n + lane],
            ) = _keccak_round(
                state[lane], state[n + lane], state[2 * n + lane],
                state[3 * n + lane], state[4 * n + lane],
                state[5 * n + lane], state[6 * n + lane], state[7 * n + lane],
                state[8 * n + lane], state[9 * n + lane],
                state[10 * n + lane], state[11 * n + lane], state[12 * n + lane],
                state[13 * n + lane], state[14 * n + lane],
                state[15 * n + lane], state[16 * n + lane], state[17 * n + lane],
                state[18 * n + lane], state[19 * n + lane],
                state[20 * n + lane], state[21 * n + lane], state[22 * n + lane],
                state[23 * n + lane], state[24 * n + lane],
                rc,
            )  # fmt: skip


@numba.njit(cache=True, nogil=True)
def keccak256_block(message: np.ndarray, n: int, lanes: np.ndarray, digest: np.ndarray) -> None:
    """Keccak-256 with Ethereum's padding (0x01 … 0x80, not SHA-3's 0x06) of ``message[:n]``
    (``n`` <= 135: one block) into ``digest[:32]``; ``lanes`` is a uint64 scratch of 25."""
    for i in range(25):
        lanes[i] = np.uint64(0)
    for i in range(n):
        lanes[i >> 3] ^= np.uint64(message[i]) << np.uint64(8 * (i & 7))
    lanes[n >> 3] ^= np.uint64(0x01) << np.uint64(8 * (n & 7))
    lanes[16] ^= np.uint64(0x80) << np.uint64(56)
    _keccak_f(lanes)
    for i in range(32):
        digest[i] = np.uint8((lanes[i >> 3] >> np.uint64(8 * (i & 7))) & np.uint64(0xFF))


@numba.njit(cache=True, nogil=True)
def keccak256_pad_lane(
    message: np.ndarray, start: int, n: int, state: np.ndarray, lane: int
) -> None:
    """Absorb ``message[start:start + n]`` (``n`` <= 135), with Ethereum's padding, into state
    ``lane`` of :func:`keccak_f_lanes`, overwriting it. After the permutation the digest is
    that state's words 0-3, little-endian."""
    for i in range(25):
        state[i * KECCAK_LANES + lane] = np.uint64(0)
    for i in range(n):
        state[(i >> 3) * KECCAK_LANES + lane] ^= np.uint64(message[start + i]) << np.uint64(
            8 * (i & 7)
        )
    state[(n >> 3) * KECCAK_LANES + lane] ^= np.uint64(0x01) << np.uint64(8 * (n & 7))
    state[16 * KECCAK_LANES + lane] ^= np.uint64(0x80) << np.uint64(56)


def keccak256_short(message: bytes) -> bytes:
    """Keccak-256 of a message of at most 135 bytes, through the compiled path."""
    if len(message) > 135:
        raise ValueError(
            f"keccak256_short hashes one block (at most 135 bytes), not {len(message)}"
        )
    digest = np.zeros(32, np.uint8)
    data = np.frombuffer(message.ljust(1, b"\0"), np.uint8)
    keccak256_block(data, len(message), np.zeros(25, np.uint64), digest)
    return digest.tobytes()


@numba.njit(cache=True, nogil=True)
def _keccak256_many(data: np.ndarray, offsets: np.ndarray, out: np.ndarray) -> None:
    """Digests of the messages ``data[offsets[m]:offsets[m + 1]]`` into the rows of ``out``,
    :data:`KECCAK_LANES` at a time; the last group's unused lanes permute stale states."""
    count = len(offsets) - 1
    lanes = KECCAK_LANES
    state = np.zeros(25 * lanes, np.uint64)
    for group in range(0, count, lanes):
        size = min(lanes, count - group)
        for lane in range(size):
            m = group + lane
            keccak256_pad_lane(data, offsets[m], offsets[m + 1] - offsets[m], state, lane)
        keccak_f_lanes(state)
        for lane in range(size):
            for i in range(32):
                word = state[(i >> 3) * lanes + lane]
                out[group + lane, i] = np.uint8((word >> np.uint64(8 * (i & 7))) & np.uint64(0xFF))


def keccak256_many(messages: Sequence[bytes]) -> list[bytes]:
    """Keccak-256 of each message of at most 135 bytes, through the lanes."""
    data, offsets = _concatenated(messages, 135, "keccak256_many")
    out = np.zeros((len(messages), 32), np.uint8)
    _keccak256_many(data, offsets, out)
    return [row.tobytes() for row in out]
