"""Deterministic identifiers for simulated chains: transaction and block hashes, addresses.

A simulated object has a dense integer number (transaction 17, address 40213); its hash or
address is a pure function of the scenario's key and that number. Nothing is stored to map
numbers to strings, so a chunk can be written without looking back, and two runs with the same
seed write the same bytes. The first 64-bit word of every identifier is a bijective mix of the
number, so two numbers can never collide.

Addresses are real encodings that Counterflow's codecs (and any wallet) accept: Ethereum
addresses are 40 lowercase hex digits; Bitcoin addresses are bech32 P2WPKH, bech32m P2TR, and
Base58Check P2PKH and P2SH. Everything is compiled, the double SHA-256 of Base58Check
included, and writes into buffers the caller owns: no allocation per identifier.
"""

from __future__ import annotations

import hashlib

import numpy as np
from numba import njit

from counterflow.chains.digests import sha256_block

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8).copy()
_BECH32 = np.frombuffer(b"qpzry9x8gf2tvdw0s3jn54khce6mua7l", dtype=np.uint8).copy()
_BASE58 = np.frombuffer(
    b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz", dtype=np.uint8
).copy()
_BECH32_GEN = np.array([0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3], np.int64)

# Bitcoin address kinds, in the order the simulator's wallets prefer them.
P2WPKH, P2TR, P2PKH, P2SH = 0, 1, 2, 3
SCRIPT_TYPES = ("witness_v0_keyhash", "witness_v1_taproot", "pubkeyhash", "scripthash")
#: Longest text of any address kind (P2TR), so buffers can be sized up front.
MAX_BITCOIN_ADDRESS = 62
#: Bytes of scratch space :func:`write_bitcoin_address` needs from its caller.
SCRATCH = 512


def _hrp_state(hrp: bytes) -> int:
    """The bech32 checksum state after the expanded human-readable part (fixed: ``bc``)."""
    checksum = 1
    for value in [c >> 5 for c in hrp] + [0] + [c & 31 for c in hrp]:
        top = checksum >> 25
        checksum = ((checksum & 0x1FFFFFF) << 5) ^ value
        for bit in range(5):
            if (top >> bit) & 1:
                checksum ^= int(_BECH32_GEN[bit])
    return checksum


_BC_STATE = _hrp_state(b"bc")


# Literal text, as bytes the compiled writers copy.
_T0 = np.frombuffer(b"0014", np.uint8).copy()
_T1 = np.frombuffer(b"5120", np.uint8).copy()
_T2 = np.frombuffer(b"76a914", np.uint8).copy()
_T3 = np.frombuffer(b"88ac", np.uint8).copy()
_T4 = np.frombuffer(b"a914", np.uint8).copy()
_T5 = np.frombuffer(b"87", np.uint8).copy()


@njit(cache=True, inline="always")
def mix64(x: int) -> int:
    """SplitMix64's finaliser: a bijection on 64-bit words with good avalanche."""
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


@njit(cache=True, inline="always")
def _word(key: int, number: int, index: int) -> int:
    return mix64(np.uint64(number) ^ (np.uint64(key) + np.uint64(index) * _GOLDEN))


@njit(cache=True)
def identifier_bytes(key: int, number: int, out: np.ndarray, length: int) -> None:
    """Fill ``out[:length]`` with the identifier bytes of ``number`` under ``key``."""
    position = 0
    word = 0
    while position < length:
        value = _word(key, number, word)
        for _ in range(min(8, length - position)):
            out[position] = np.uint8(value >> np.uint64(56))
            value = value << np.uint64(8)
            position += 1
        word += 1


@njit(cache=True)
def write_identifier_hex(buf: np.ndarray, pos: int, key: int, number: int, length: int) -> int:
    """Write the hex of ``number``'s identifier (``length`` bytes) at ``pos``."""
    remaining = length
    word = 0
    while remaining > 0:
        value = _word(key, number, word)
        take = 8 if remaining >= 8 else remaining
        # Shifting the word left by a constant keeps the loop free of variable shifts, which
        # lets it compile to straight-line code.
        for _ in range(take):
            octet = value >> np.uint64(56)
            value = value << np.uint64(8)
            buf[pos] = HEX[octet >> np.uint64(4)]
            buf[pos + 1] = HEX[octet & np.uint64(15)]
            pos += 2
        remaining -= take
        word += 1
    return pos


@njit(cache=True, inline="always")
def _polymod_step(checksum: int, value: int) -> int:
    top = checksum >> 25
    checksum = ((checksum & 0x1FFFFFF) << 5) ^ value
    for bit in range(5):
        if (top >> bit) & 1:
            checksum ^= _BECH32_GEN[bit]
    return checksum


@njit(cache=True)
def write_segwit(
    buf: np.ndarray, pos: int, version: int, program: np.ndarray, length: int, work: np.ndarray
) -> int:
    """Write the mainnet segwit address of ``program``: bech32 for v0, bech32m for v1+.

    ``work`` (64 bytes or more) holds the 5-bit groups while the checksum is computed.
    """
    work[0] = version
    count = 1
    accumulator = 0
    bits = 0
    for i in range(length):
        accumulator = ((accumulator << 8) | program[i]) & 0xFFF
        bits += 8
        while bits >= 5:
            bits -= 5
            work[count] = (accumulator >> bits) & 31
            count += 1
    if bits:
        work[count] = (accumulator << (5 - bits)) & 31
        count += 1
    checksum = np.int64(_BC_STATE)
    for i in range(count):
        checksum = _polymod_step(checksum, work[i])
    for _ in range(6):
        checksum = _polymod_step(checksum, 0)
    checksum ^= 1 if version == 0 else 0x2BC830A3
    buf[pos] = 98  # b
    buf[pos + 1] = 99  # c
    buf[pos + 2] = 49  # 1
    pos += 3
    for i in range(count):
        buf[pos] = _BECH32[work[i]]
        pos += 1
    for i in range(6):
        buf[pos] = _BECH32[(checksum >> (5 * (5 - i))) & 31]
        pos += 1
    return pos


_BASE58_CHUNK = 58**5  # five digits per long division, and it fits in 30 bits


@njit(cache=True)
def write_base58check(
    buf: np.ndarray, pos: int, version: int, payload: np.ndarray, work: np.ndarray
) -> int:
    """Write Base58Check of ``version || payload[:20]``; ``work`` needs 416 bytes.

    The 25 bytes are held as seven 32-bit limbs and divided by 58^5 at a time, five digits per
    pass instead of one, which is what makes this as quick as bech32.
    """
    raw = work[:25]
    first = work[32:64]
    second = work[64:96]
    digits = work[96:136]
    w = work[160:416].view(np.uint32)  # 64 words of message schedule
    raw[0] = version
    raw[1:21] = payload[:20]
    sha256_block(raw, 21, w, first)
    sha256_block(first, 32, w, second)
    raw[21:25] = second[:4]
    limbs = (
        np.int64(raw[0]),
        (np.int64(raw[1]) << 24) | (np.int64(raw[2]) << 16) | (np.int64(raw[3]) << 8) | raw[4],
        (np.int64(raw[5]) << 24) | (np.int64(raw[6]) << 16) | (np.int64(raw[7]) << 8) | raw[8],
        (np.int64(raw[9]) << 24) | (np.int64(raw[10]) << 16) | (np.int64(raw[11]) << 8) | raw[12],
        (np.int64(raw[13]) << 24) | (np.int64(raw[14]) << 16) | (np.int64(raw[15]) << 8) | raw[16],
        (np.int64(raw[17]) << 24) | (np.int64(raw[18]) << 16) | (np.int64(raw[19]) << 8) | raw[20],
        (np.int64(raw[21]) << 24) | (np.int64(raw[22]) << 16) | (np.int64(raw[23]) << 8) | raw[24],
    )  # fmt: skip
    l0, l1, l2, l3, l4, l5, l6 = limbs
    size = 0
    while l0 | l1 | l2 | l3 | l4 | l5 | l6:
        rest = 0
        cur = l0
        l0, rest = cur // _BASE58_CHUNK, cur % _BASE58_CHUNK
        cur = (rest << 32) | l1
        l1, rest = cur // _BASE58_CHUNK, cur % _BASE58_CHUNK
        cur = (rest << 32) | l2
        l2, rest = cur // _BASE58_CHUNK, cur % _BASE58_CHUNK
        cur = (rest << 32) | l3
        l3, rest = cur // _BASE58_CHUNK, cur % _BASE58_CHUNK
        cur = (rest << 32) | l4
        l4, rest = cur // _BASE58_CHUNK, cur % _BASE58_CHUNK
        cur = (rest << 32) | l5
        l5, rest = cur // _BASE58_CHUNK, cur % _BASE58_CHUNK
        cur = (rest << 32) | l6
        l6, rest = cur // _BASE58_CHUNK, cur % _BASE58_CHUNK
        for _ in range(5):
            digits[size] = rest % 58
            rest //= 58
            size += 1
    while size > 0 and digits[size - 1] == 0:
        size -= 1  # the last pass's high digits may be zero padding
    zeros = 0
    while zeros < 25 and raw[zeros] == 0:
        buf[pos] = 49  # "1"
        pos += 1
        zeros += 1
    for j in range(size - 1, -1, -1):
        buf[pos] = _BASE58[digits[j]]
        pos += 1
    return pos


@njit(cache=True)
def write_bitcoin_address(
    buf: np.ndarray, pos: int, key: int, number: int, kind: int, scratch: np.ndarray
) -> int:
    """Write the address ``number`` of ``kind``; ``scratch`` is :data:`SCRATCH` bytes."""
    program = scratch[:32]
    work = scratch[32:]
    identifier_bytes(key, number, program, 32)
    if kind == P2WPKH:
        return write_segwit(buf, pos, 0, program, 20, work)
    if kind == P2TR:
        return write_segwit(buf, pos, 1, program, 32, work)
    return write_base58check(buf, pos, 0 if kind == P2PKH else 5, program, work)


@njit(cache=True)
def write_script_hex(buf: np.ndarray, pos: int, key: int, number: int, kind: int) -> int:
    """The output script that pays the address, as blockchain-etl's ``script_hex``."""
    if kind == P2WPKH:
        pos = _put_ascii(buf, pos, _T0)
        return write_identifier_hex(buf, pos, key, number, 20)
    if kind == P2TR:
        pos = _put_ascii(buf, pos, _T1)
        return write_identifier_hex(buf, pos, key, number, 32)
    if kind == P2PKH:
        pos = _put_ascii(buf, pos, _T2)
        pos = write_identifier_hex(buf, pos, key, number, 20)
        return _put_ascii(buf, pos, _T3)
    pos = _put_ascii(buf, pos, _T4)
    pos = write_identifier_hex(buf, pos, key, number, 20)
    return _put_ascii(buf, pos, _T5)


@njit(cache=True, inline="always")
def _put_ascii(buf: np.ndarray, pos: int, text: np.ndarray) -> int:
    end = pos + len(text)
    buf[pos:end] = text
    return end


def bitcoin_address(key: int, number: int, kind: int) -> str:
    """One address as text (for ground truth, labels and tests)."""
    buf = np.empty(MAX_BITCOIN_ADDRESS, np.uint8)
    scratch = np.empty(SCRATCH, np.uint8)
    end = write_bitcoin_address(buf, 0, np.uint64(key), np.int64(number), kind, scratch)
    return buf[:end].tobytes().decode("ascii")


def evm_address(key: int, number: int) -> str:
    buf = np.empty(40, np.uint8)
    write_identifier_hex(buf, 0, np.uint64(key), np.int64(number), 20)
    return "0x" + buf.tobytes().decode("ascii")


def identifier_hex(key: int, number: int, length: int = 32) -> str:
    buf = np.empty(2 * length, np.uint8)
    write_identifier_hex(buf, 0, np.uint64(key), np.int64(number), length)
    return buf.tobytes().decode("ascii")


def derive_key(seed: int, purpose: str) -> int:
    """A 64-bit key per (seed, purpose), so each namespace of identifiers is independent."""
    digest = hashlib.sha256(f"counterflow-exercise/{seed}/{purpose}".encode()).digest()
    return int.from_bytes(digest[:8], "big")
