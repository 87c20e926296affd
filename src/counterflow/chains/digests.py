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
"""

from __future__ import annotations

import math

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


@numba.njit(cache=True, nogil=True, inline="always")
def _rotr32(x: np.uint32, n: int) -> np.uint32:
    return np.uint32((x >> np.uint32(n)) | (x << np.uint32(32 - n)))


@numba.njit(cache=True, nogil=True)
def sha256_block(message: np.ndarray, n: int, w: np.ndarray, digest: np.ndarray) -> None:
    """SHA-256 of ``message[:n]`` (``n`` <= 55: one block) into ``digest[:32]``.

    ``w`` is a uint32 scratch of 64 words; ``digest`` may not alias ``message``. Every sum is
    wrapped back to 32 bits explicitly, because numba widens integer arithmetic.
    """
    for i in range(16):
        w[i] = np.uint32(0)
    for i in range(n):
        w[i >> 2] |= np.uint32(message[i]) << np.uint32(24 - 8 * (i & 3))
    w[n >> 2] |= np.uint32(0x80) << np.uint32(24 - 8 * (n & 3))
    w[15] = np.uint32(8 * n)
    for i in range(16, 64):
        x = w[i - 15]
        y = w[i - 2]
        s0 = _rotr32(x, 7) ^ _rotr32(x, 18) ^ (x >> np.uint32(3))
        s1 = _rotr32(y, 17) ^ _rotr32(y, 19) ^ (y >> np.uint32(10))
        w[i] = np.uint32(w[i - 16] + s0 + w[i - 7] + s1)
    a, b, c, d = _SHA_H[0], _SHA_H[1], _SHA_H[2], _SHA_H[3]
    e, f, g, h = _SHA_H[4], _SHA_H[5], _SHA_H[6], _SHA_H[7]
    for i in range(64):
        s1 = _rotr32(e, 6) ^ _rotr32(e, 11) ^ _rotr32(e, 25)
        choice = (e & f) ^ (~e & g)
        first = np.uint32(h + s1 + choice + _SHA_K[i] + w[i])
        s0 = _rotr32(a, 2) ^ _rotr32(a, 13) ^ _rotr32(a, 22)
        majority = (a & b) ^ (a & c) ^ (b & c)
        second = np.uint32(s0 + majority)
        h, g, f, e = g, f, e, np.uint32(d + first)
        d, c, b, a = c, b, a, np.uint32(first + second)
    final = (a, b, c, d, e, f, g, h)
    for i in range(8):
        value = np.uint32(_SHA_H[i] + final[i])
        for j in range(4):
            digest[4 * i + j] = np.uint8((value >> np.uint32(24 - 8 * j)) & np.uint32(0xFF))


def sha256_short(message: bytes) -> bytes:
    """SHA-256 of a message of at most 55 bytes, through the compiled path."""
    if len(message) > 55:
        raise ValueError(f"sha256_short hashes one block (at most 55 bytes), not {len(message)}")
    digest = np.zeros(32, np.uint8)
    data = np.frombuffer(message.ljust(1, b"\0"), np.uint8)
    sha256_block(data, len(message), np.zeros(64, np.uint32), digest)
    return digest.tobytes()


# -- Keccak-256 ---------------------------------------------------------------------------------


@numba.njit(cache=True, nogil=True, inline="always")
def _rotl64(x: np.uint64, n: int) -> np.uint64:
    return (x << np.uint64(n)) | (x >> np.uint64(64 - n))


@numba.njit(cache=True, nogil=True)
def _keccak_f(lanes: np.ndarray) -> None:
    """Keccak-f[1600] on ``lanes`` (lane ``x + 5y`` is ``a{x}{y}``): theta, rho and pi into
    ``b``, chi back into ``a``, iota."""
    a00 = lanes[0]
    a10 = lanes[1]
    a20 = lanes[2]
    a30 = lanes[3]
    a40 = lanes[4]
    a01 = lanes[5]
    a11 = lanes[6]
    a21 = lanes[7]
    a31 = lanes[8]
    a41 = lanes[9]
    a02 = lanes[10]
    a12 = lanes[11]
    a22 = lanes[12]
    a32 = lanes[13]
    a42 = lanes[14]
    a03 = lanes[15]
    a13 = lanes[16]
    a23 = lanes[17]
    a33 = lanes[18]
    a43 = lanes[19]
    a04 = lanes[20]
    a14 = lanes[21]
    a24 = lanes[22]
    a34 = lanes[23]
    a44 = lanes[24]
    for r in range(24):
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
        a00 = b00 ^ (~b10 & b20)
        a10 = b10 ^ (~b20 & b30)
        a20 = b20 ^ (~b30 & b40)
        a30 = b30 ^ (~b40 & b00)
        a40 = b40 ^ (~b00 & b10)
        a01 = b01 ^ (~b11 & b21)
        a11 = b11 ^ (~b21 & b31)
        a21 = b21 ^ (~b31 & b41)
        a31 = b31 ^ (~b41 & b01)
        a41 = b41 ^ (~b01 & b11)
        a02 = b02 ^ (~b12 & b22)
        a12 = b12 ^ (~b22 & b32)
        a22 = b22 ^ (~b32 & b42)
        a32 = b32 ^ (~b42 & b02)
        a42 = b42 ^ (~b02 & b12)
        a03 = b03 ^ (~b13 & b23)
        a13 = b13 ^ (~b23 & b33)
        a23 = b23 ^ (~b33 & b43)
        a33 = b33 ^ (~b43 & b03)
        a43 = b43 ^ (~b03 & b13)
        a04 = b04 ^ (~b14 & b24)
        a14 = b14 ^ (~b24 & b34)
        a24 = b24 ^ (~b34 & b44)
        a34 = b34 ^ (~b44 & b04)
        a44 = b44 ^ (~b04 & b14)
        a00 ^= _KECCAK_RC[r]
    lanes[0] = a00
    lanes[1] = a10
    lanes[2] = a20
    lanes[3] = a30
    lanes[4] = a40
    lanes[5] = a01
    lanes[6] = a11
    lanes[7] = a21
    lanes[8] = a31
    lanes[9] = a41
    lanes[10] = a02
    lanes[11] = a12
    lanes[12] = a22
    lanes[13] = a32
    lanes[14] = a42
    lanes[15] = a03
    lanes[16] = a13
    lanes[17] = a23
    lanes[18] = a33
    lanes[19] = a43
    lanes[20] = a04
    lanes[21] = a14
    lanes[22] = a24
    lanes[23] = a34
    lanes[24] = a44


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
