"""Deterministic identifiers for simulated chains: transaction and block hashes, addresses.

A simulated object has a dense integer number (transaction 17, address 40213); its hash or
address is a pure function of the scenario's key and that number. Nothing is stored to map
numbers to strings, so a chunk can be written without looking back, and two runs with the same
seed write the same bytes. The first 64-bit word of every identifier is a bijective mix of the
number, so two numbers can never collide.

Addresses are real encodings that Counterflow's codecs (and any wallet) accept: Ethereum
addresses are 40 lowercase hex digits; Bitcoin addresses are bech32 P2WPKH, bech32m P2TR, and
Base58Check P2PKH and P2SH. Base58Check needs a double SHA-256, which is done with hashlib for
the legacy share of addresses; everything else runs compiled.
"""

from __future__ import annotations

import hashlib

import numpy as np
from numba import njit

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
PROGRAM_LENGTH = (20, 32, 20, 20)
#: Longest text of any address kind (P2TR), so buffers can be sized up front.
MAX_BITCOIN_ADDRESS = 62


@njit(cache=True, inline="always")
def mix64(x: int) -> int:
    """SplitMix64's finaliser: a bijection on 64-bit words with good avalanche."""
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


@njit(cache=True)
def identifier_bytes(key: int, number: int, out: np.ndarray, length: int) -> None:
    """Fill ``out[:length]`` with the identifier bytes of ``number`` under ``key``."""
    for word in range((length + 7) // 8):
        value = mix64(np.uint64(number) ^ (key + np.uint64(word) * _GOLDEN))
        for byte in range(8):
            position = word * 8 + byte
            if position < length:
                out[position] = np.uint8((value >> np.uint64(56 - 8 * byte)) & np.uint64(0xFF))


@njit(cache=True)
def write_hex(buf: np.ndarray, pos: int, data: np.ndarray, length: int) -> int:
    for i in range(length):
        buf[pos] = HEX[data[i] >> 4]
        buf[pos + 1] = HEX[data[i] & 15]
        pos += 2
    return pos


@njit(cache=True)
def write_identifier_hex(buf: np.ndarray, pos: int, key: int, number: int, length: int) -> int:
    """Write the hex of ``number``'s identifier (``length`` bytes) at ``pos``."""
    scratch = np.empty(32, np.uint8)
    identifier_bytes(key, number, scratch, length)
    return write_hex(buf, pos, scratch, length)


@njit(cache=True)
def _bech32_polymod_step(checksum: int, value: int) -> int:
    top = checksum >> 25
    checksum = ((checksum & 0x1FFFFFF) << 5) ^ value
    for bit in range(5):
        if (top >> bit) & 1:
            checksum ^= _BECH32_GEN[bit]
    return checksum


@njit(cache=True)
def write_segwit(buf: np.ndarray, pos: int, version: int, program: np.ndarray, length: int) -> int:
    """Write the mainnet (``bc``) segwit address of ``program``: bech32 v0, bech32m v1+."""
    data = np.empty(60, np.int64)
    data[0] = version
    count = 1
    accumulator = 0
    bits = 0
    for i in range(length):
        accumulator = ((accumulator << 8) | program[i]) & 0xFFF
        bits += 8
        while bits >= 5:
            bits -= 5
            data[count] = (accumulator >> bits) & 31
            count += 1
    if bits:
        data[count] = (accumulator << (5 - bits)) & 31
        count += 1
    checksum = np.int64(1)
    # hrp_expand("bc") = [3, 3, 0, 2, 3]
    for value in (3, 3, 0, 2, 3):
        checksum = _bech32_polymod_step(checksum, value)
    for i in range(count):
        checksum = _bech32_polymod_step(checksum, data[i])
    for _ in range(6):
        checksum = _bech32_polymod_step(checksum, 0)
    checksum ^= 1 if version == 0 else 0x2BC830A3
    buf[pos] = 98  # b
    buf[pos + 1] = 99  # c
    buf[pos + 2] = 49  # 1
    pos += 3
    for i in range(count):
        buf[pos] = _BECH32[data[i]]
        pos += 1
    for i in range(6):
        buf[pos] = _BECH32[(checksum >> (5 * (5 - i))) & 31]
        pos += 1
    return pos


@njit(cache=True)
def write_base58check(
    buf: np.ndarray, pos: int, version: int, payload: np.ndarray, checksum: int
) -> int:
    """Write Base58Check of ``version || payload[:20] || checksum``."""
    raw = np.empty(25, np.uint8)
    raw[0] = version
    raw[1:21] = payload[:20]
    for i in range(4):
        raw[21 + i] = (checksum >> np.uint32(24 - 8 * i)) & np.uint32(0xFF)
    digits = np.zeros(40, np.int64)
    size = 0
    for byte in raw:
        carry = np.int64(byte)
        for j in range(size):
            carry += digits[j] << 8
            digits[j] = carry % 58
            carry //= 58
        while carry:
            digits[size] = carry % 58
            carry //= 58
            size += 1
    zeros = 0
    while zeros < 25 and raw[zeros] == 0:
        buf[pos] = 49  # "1"
        pos += 1
        zeros += 1
    for j in range(size - 1, -1, -1):
        buf[pos] = _BASE58[digits[j]]
        pos += 1
    return pos


def base58_checksums(key: int, numbers: np.ndarray, version: int) -> np.ndarray:
    """The 4-byte Base58Check checksums of the legacy addresses ``numbers`` (as uint32)."""
    out = np.empty(len(numbers), np.uint32)
    scratch = np.empty(32, np.uint8)
    prefix = bytes([version])
    for i, number in enumerate(numbers):
        identifier_bytes(np.uint64(key), np.int64(number), scratch, 20)
        digest = hashlib.sha256(hashlib.sha256(prefix + scratch[:20].tobytes()).digest()).digest()
        out[i] = int.from_bytes(digest[:4], "big")
    return out


@njit(cache=True)
def write_bitcoin_address(
    buf: np.ndarray, pos: int, key: int, number: int, kind: int, checksum: int
) -> int:
    program = np.empty(32, np.uint8)
    identifier_bytes(key, number, program, 32)
    if kind == P2WPKH:
        return write_segwit(buf, pos, 0, program, 20)
    if kind == P2TR:
        return write_segwit(buf, pos, 1, program, 32)
    return write_base58check(buf, pos, 0 if kind == P2PKH else 5, program, checksum)


@njit(cache=True)
def write_script_hex(buf: np.ndarray, pos: int, key: int, number: int, kind: int) -> int:
    """The output script that pays the address, as blockchain-etl's ``script_hex``."""
    program = np.empty(32, np.uint8)
    identifier_bytes(key, number, program, 32)
    if kind == P2WPKH:
        pos = _put_ascii(buf, pos, "0014")
        return write_hex(buf, pos, program, 20)
    if kind == P2TR:
        pos = _put_ascii(buf, pos, "5120")
        return write_hex(buf, pos, program, 32)
    if kind == P2PKH:
        pos = _put_ascii(buf, pos, "76a914")
        pos = write_hex(buf, pos, program, 20)
        return _put_ascii(buf, pos, "88ac")
    pos = _put_ascii(buf, pos, "a914")
    pos = write_hex(buf, pos, program, 20)
    return _put_ascii(buf, pos, "87")


@njit(cache=True, inline="always")
def _put_ascii(buf: np.ndarray, pos: int, text: str) -> int:
    for char in text:
        buf[pos] = ord(char)
        pos += 1
    return pos


def bitcoin_address(key: int, number: int, kind: int) -> str:
    """One address as text (for ground truth, labels and tests)."""
    buf = np.empty(MAX_BITCOIN_ADDRESS, np.uint8)
    checksum = np.uint32(0)
    if kind in (P2PKH, P2SH):
        checksum = base58_checksums(key, np.array([number]), 0 if kind == P2PKH else 5)[0]
    end = write_bitcoin_address(buf, 0, np.uint64(key), np.int64(number), kind, checksum)
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
