"""Bech32 (BIP-173) and Bech32m (BIP-350), the encodings of native segwit addresses.

Both share a character set and a BCH checksum over GF(32); they differ only in the constant
the checksum must leave behind. BIP-350 introduced Bech32m because Bech32 lets a ``q`` be
inserted or deleted just before a final ``p`` undetected, and bound the two variants to
witness versions: version 0 keeps Bech32, versions 1 to 16 (Taproot is 1) must use Bech32m.
Decoding is strict about that binding, because an address that mixes them is one no wallet
would produce and funds sent to it may be unspendable.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Iterable, Sequence
from typing import Literal

Encoding = Literal["bech32", "bech32m"]

CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
MAX_LENGTH = 90
CHECKSUM_LENGTH = 6

_CONSTANT: dict[Encoding, int] = {"bech32": 1, "bech32m": 0x2BC830A3}
_ENCODING_OF: dict[int, Encoding] = {value: name for name, value in _CONSTANT.items()}
_VALUE_OF = {char: value for value, char in enumerate(CHARSET)}
_GENERATOR = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)


#: The generator terms each value of the checksum's top five bits folds back in, XORed together
#: once here so that the checksum loop does one lookup per character instead of five tests:
#: deriving block-file outputs encodes an address per output, and this loop dominated it.
_FOLD = tuple(
    functools.reduce(operator.xor, (g for bit, g in enumerate(_GENERATOR) if (top >> bit) & 1), 0)
    for top in range(32)
)


def _polymod(values: Iterable[int]) -> int:
    checksum = 1
    for value in values:
        checksum = ((checksum & 0x1FFFFFF) << 5) ^ value ^ _FOLD[checksum >> 25]
    return checksum


def _hrp_expand(hrp: str) -> list[int]:
    # The high bits of each HRP character go first so that a case change in the HRP, or a
    # swap of two HRP characters, alters the checksum as a data error would.
    return [ord(char) >> 5 for char in hrp] + [0] + [ord(char) & 31 for char in hrp]


def convert_bits(data: Iterable[int], from_bits: int, to_bits: int, *, pad: bool) -> list[int]:
    """Regroup a stream of ``from_bits``-wide values into ``to_bits``-wide values.

    Going 8 to 5 pads the last group with zero bits. Going back (``pad=False``) refuses a
    whole spare group or non-zero padding: both would let two strings decode to the same
    bytes, and a canonical form is the point of normalising addresses.
    """
    if from_bits == 8 and to_bits == 5 and pad and isinstance(data, bytes | bytearray):
        return _bytes_to_5bit(data)
    accumulator = 0
    bits = 0
    out: list[int] = []
    max_out = (1 << to_bits) - 1
    max_accumulator = (1 << (from_bits + to_bits - 1)) - 1
    for value in data:
        if value < 0 or value >> from_bits:
            raise ValueError(f"value {value} does not fit in {from_bits} bits")
        accumulator = ((accumulator << from_bits) | value) & max_accumulator
        bits += from_bits
        while bits >= to_bits:
            bits -= to_bits
            out.append((accumulator >> bits) & max_out)
    if pad:
        if bits:
            out.append((accumulator << (to_bits - bits)) & max_out)
    elif bits >= from_bits:
        raise ValueError(f"more than {from_bits - 1} bits of padding")
    elif (accumulator << (to_bits - bits)) & max_out:
        raise ValueError("non-zero padding bits")
    return out


def _bytes_to_5bit(data: bytes | bytearray) -> list[int]:
    """``convert_bits(data, 8, 5, pad=True)`` through one big integer, several times faster.

    Encoding is the hot direction (one address per block-file output); shifting one integer
    replaces a Python-level loop over every bit group.
    """
    bits = 8 * len(data)
    spare = -bits % 5
    number = int.from_bytes(data, "big") << spare
    return [(number >> shift) & 31 for shift in range(bits + spare - 5, -1, -5)]


def bech32_encode(hrp: str, data: Sequence[int], encoding: Encoding) -> str:
    """Encode 5-bit ``data`` under ``hrp`` with a Bech32 or Bech32m checksum, in lowercase."""
    hrp = hrp.lower()
    values = [*_hrp_expand(hrp), *data]
    residue = _polymod([*values, *([0] * CHECKSUM_LENGTH)]) ^ _CONSTANT[encoding]
    checksum = [(residue >> (5 * (CHECKSUM_LENGTH - 1 - i))) & 31 for i in range(CHECKSUM_LENGTH)]
    return hrp + "1" + "".join(CHARSET[value] for value in [*data, *checksum])


def bech32_decode(text: str) -> tuple[str, list[int], Encoding]:
    """Split a Bech32/Bech32m string into lowercase HRP, 5-bit data and the variant found.

    The data is returned without the checksum. Raises :class:`ValueError` naming the first
    rule broken, so that a user can tell a typo from a wrong network or a wrong format.
    """
    for position, char in enumerate(text):
        if not 33 <= ord(char) <= 126:
            raise ValueError(f"character {char!r} at position {position} is not printable ASCII")
    if text.lower() != text and text.upper() != text:
        raise ValueError("mixed case")
    if len(text) > MAX_LENGTH:
        raise ValueError(f"length {len(text)} exceeds the maximum of {MAX_LENGTH}")
    text = text.lower()
    separator = text.rfind("1")
    if separator < 0:
        raise ValueError("no separator '1' between human-readable part and data")
    if separator == 0:
        raise ValueError("empty human-readable part")
    hrp, data_part = text[:separator], text[separator + 1 :]
    if len(data_part) < CHECKSUM_LENGTH:
        raise ValueError(
            f"data part has {len(data_part)} characters, "
            f"shorter than the {CHECKSUM_LENGTH}-character checksum"
        )
    data: list[int] = []
    for offset, char in enumerate(data_part):
        value = _VALUE_OF.get(char)
        if value is None:
            position = separator + 1 + offset
            raise ValueError(f"invalid bech32 character {char!r} at position {position}")
        data.append(value)
    encoding = _ENCODING_OF.get(_polymod([*_hrp_expand(hrp), *data]))
    if encoding is None:
        raise ValueError("checksum mismatch")
    return hrp, data[:-CHECKSUM_LENGTH], encoding


def _check_witness(version: int, program_length: int, encoding: Encoding | None) -> None:
    if not 0 <= version <= 16:
        raise ValueError(f"witness version {version} is out of range 0..16")
    if encoding is not None:
        if version == 0 and encoding != "bech32":
            raise ValueError("witness v0 must use bech32, not bech32m")
        if version > 0 and encoding != "bech32m":
            raise ValueError("witness v1+ must use bech32m, not bech32")
    if not 2 <= program_length <= 40:
        raise ValueError(f"witness program must be 2 to 40 bytes, got {program_length}")
    if version == 0 and program_length not in (20, 32):
        raise ValueError(f"witness v0 program must be 20 or 32 bytes, got {program_length}")


def decode_segwit(hrp: str, address: str) -> tuple[int, bytes]:
    """Decode a segwit address for network ``hrp`` into witness version and program.

    Version 1 with a 32-byte program is Taproot; other v1+ combinations are valid but not yet
    given a meaning by consensus, and are returned as they are.
    """
    found_hrp, data, encoding = bech32_decode(address)
    if found_hrp != hrp.lower():
        raise ValueError(f"human-readable part {found_hrp!r} does not match {hrp.lower()!r}")
    if not data:
        raise ValueError("empty data part: no witness version")
    version = data[0]
    if version > 16:
        raise ValueError(f"witness version {version} is out of range 0..16")
    program = bytes(convert_bits(data[1:], 5, 8, pad=False))
    _check_witness(version, len(program), encoding)
    return version, program


def encode_segwit(hrp: str, version: int, program: bytes) -> str:
    """Encode a witness program as an address, choosing Bech32 or Bech32m by version."""
    _check_witness(version, len(program), None)
    encoding: Encoding = "bech32" if version == 0 else "bech32m"
    address = bech32_encode(hrp, [version, *convert_bits(program, 8, 5, pad=True)], encoding)
    if len(address) > MAX_LENGTH:
        raise ValueError(f"length {len(address)} exceeds the maximum of {MAX_LENGTH}")
    return address
