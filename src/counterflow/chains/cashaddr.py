"""CashAddr, the Bitcoin Cash address format.

Bitcoin Cash kept Bitcoin's Base58 version bytes after the 2017 split, so a legacy address
is valid on both chains and funds went to the wrong one. CashAddr gives BCH its own
encoding: the Bech32 character set, a network prefix (``bitcoincash:``) that is part of the
checksum even when it is left off the written address, and a 40-bit BCH checksum.

The payload is a version byte followed by the hash. The version byte holds a reserved zero
bit, a 4-bit type (0 P2PKH, 1 P2SH) and a 3-bit code for the hash size.
"""

from __future__ import annotations

from collections.abc import Iterable

from counterflow.chains.bech32 import CHARSET, convert_bits

TYPE_P2PKH = 0
TYPE_P2SH = 1
CHECKSUM_LENGTH = 8

#: Hash size in bytes for each value of the version byte's low three bits.
HASH_SIZES = (20, 24, 28, 32, 40, 48, 56, 64)

_VALUE_OF = {char: value for value, char in enumerate(CHARSET)}
_GENERATOR = (0x98F2BC8E61, 0x79B76D99E2, 0xF33E5FB3C4, 0xAE2EABE2A8, 0x1E4F43E470)


def _polymod(values: Iterable[int]) -> int:
    checksum = 1
    for value in values:
        top = checksum >> 35
        checksum = ((checksum & 0x07FFFFFFFF) << 5) ^ value
        for bit, generator in enumerate(_GENERATOR):
            if (top >> bit) & 1:
                checksum ^= generator
    return checksum ^ 1


def _prefix_values(prefix: str) -> list[int]:
    # Only the low five bits of each prefix character enter the checksum, then a zero for
    # the ':' separator; this is why the prefix can be dropped and still be verified.
    return [ord(char) & 31 for char in prefix] + [0]


def _check_prefix(prefix: str) -> None:
    if not prefix or not all("a" <= char <= "z" or "0" <= char <= "9" for char in prefix):
        raise ValueError(f"prefix {prefix!r} must be lowercase letters and digits")


def encode_cashaddr(prefix: str, kind: int, hash_bytes: bytes) -> str:
    """Encode a hash as ``prefix:payload`` in lowercase, the form stored and displayed."""
    _check_prefix(prefix)
    if not 0 <= kind <= 15:
        raise ValueError(f"type {kind} does not fit in 4 bits")
    if len(hash_bytes) not in HASH_SIZES:
        sizes = ", ".join(str(size) for size in HASH_SIZES)
        raise ValueError(f"hash must be one of {sizes} bytes, got {len(hash_bytes)}")
    version = (kind << 3) | HASH_SIZES.index(len(hash_bytes))
    data = convert_bits(bytes([version]) + hash_bytes, 8, 5, pad=True)
    residue = _polymod([*_prefix_values(prefix), *data, *([0] * CHECKSUM_LENGTH)])
    checksum = [(residue >> (5 * (CHECKSUM_LENGTH - 1 - i))) & 31 for i in range(CHECKSUM_LENGTH)]
    return prefix + ":" + "".join(CHARSET[value] for value in [*data, *checksum])


def decode_cashaddr(address: str, prefix: str) -> tuple[int, bytes]:
    """Decode a CashAddr for network ``prefix`` into its type and hash.

    The written prefix is optional; when it is absent the network's own prefix is assumed,
    which the checksum then confirms. Raises :class:`ValueError` naming the rule broken.
    """
    _check_prefix(prefix)
    if address.lower() != address and address.upper() != address:
        raise ValueError("mixed case")
    text = address.lower()
    written_prefix, colon, payload = text.rpartition(":")
    if colon and written_prefix != prefix:
        raise ValueError(f"prefix {written_prefix!r} does not match {prefix!r}")
    if len(payload) <= CHECKSUM_LENGTH:
        raise ValueError(
            f"payload has {len(payload)} characters, "
            f"no longer than the {CHECKSUM_LENGTH}-character checksum"
        )
    offset = len(text) - len(payload)
    data: list[int] = []
    for index, char in enumerate(payload):
        value = _VALUE_OF.get(char)
        if value is None:
            raise ValueError(f"invalid cashaddr character {char!r} at position {offset + index}")
        data.append(value)
    if _polymod([*_prefix_values(prefix), *data]) != 0:
        raise ValueError("checksum mismatch")
    raw = bytes(convert_bits(data[:-CHECKSUM_LENGTH], 5, 8, pad=False))
    version, hash_bytes = raw[0], raw[1:]
    if version & 0x80:
        raise ValueError(f"version byte 0x{version:02x} has the reserved high bit set")
    expected_size = HASH_SIZES[version & 0x07]
    if len(hash_bytes) != expected_size:
        raise ValueError(
            f"version byte 0x{version:02x} announces a {expected_size}-byte hash, "
            f"payload holds {len(hash_bytes)}"
        )
    return version >> 3, hash_bytes
