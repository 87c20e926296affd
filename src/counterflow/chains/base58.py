"""Base58 and Base58Check, the encoding of legacy UTXO addresses and of Tron addresses.

Base58 drops the glyphs people confuse on paper (``0 O I l``). It is a big-endian base
conversion, so leading zero bytes would vanish; each one is written as a leading ``'1'``
(the zero digit) to keep the byte length, which is what makes version byte ``0x00``
addresses start with ``1``. Base58Check appends the first four bytes of a double SHA-256 so
that a mistyped address is caught before anything is attributed to it.
"""

from __future__ import annotations

import hashlib

ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
CHECKSUM_SIZE = 4

_DIGIT_OF = {char: value for value, char in enumerate(ALPHABET)}
#: Every two-digit Base58 string by value: encoding peels two digits per division, which halves
#: the work of the loop that dominates deriving addresses from block files.
_PAIRS = tuple(high + low for high in ALPHABET for low in ALPHABET)
_PAIR_BASE = 58 * 58


def b58encode(data: bytes) -> str:
    """Encode bytes as Base58, one leading ``'1'`` per leading zero byte."""
    zeros = len(data) - len(data.lstrip(b"\x00"))
    number = int.from_bytes(data, "big")
    pairs: list[str] = []
    while number:
        number, remainder = divmod(number, _PAIR_BASE)
        pairs.append(_PAIRS[remainder])
    # The top pair may start with a zero digit ('1'); a number has no leading zero digits, so
    # every leading '1' here is that padding, and the zero bytes are added back explicitly.
    return "1" * zeros + "".join(reversed(pairs)).lstrip("1")


def b58decode(text: str) -> bytes:
    """Decode Base58; the first character outside the alphabet is named with its position.

    The position matters to a user holding a hand-copied address: ``0``/``O``/``I``/``l`` are
    the usual culprits and the message points straight at them.
    """
    number = 0
    for position, char in enumerate(text):
        digit = _DIGIT_OF.get(char)
        if digit is None:
            raise ValueError(f"invalid base58 character {char!r} at position {position}")
        number = number * 58 + digit
    zeros = len(text) - len(text.lstrip("1"))
    return b"\x00" * zeros + number.to_bytes((number.bit_length() + 7) // 8, "big")


def _checksum(payload: bytes) -> bytes:
    return hashlib.sha256(hashlib.sha256(payload).digest()).digest()[:CHECKSUM_SIZE]


def b58check_encode(payload: bytes) -> str:
    """Encode ``payload`` (version bytes included) with its 4-byte checksum appended."""
    return b58encode(payload + _checksum(payload))


def b58check_decode(text: str) -> bytes:
    """Decode Base58Check and return the payload without its checksum.

    Raises :class:`ValueError` when a character is outside the alphabet, when fewer than four
    bytes decode (no room for a checksum), or when the checksum does not match.
    """
    raw = b58decode(text)
    if len(raw) < CHECKSUM_SIZE:
        raise ValueError(
            f"too short: {len(raw)} bytes decoded, the checksum alone is {CHECKSUM_SIZE}"
        )
    payload, checksum = raw[:-CHECKSUM_SIZE], raw[-CHECKSUM_SIZE:]
    if _checksum(payload) != checksum:
        raise ValueError("checksum mismatch")
    return payload
