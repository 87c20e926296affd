"""Monero addresses: block Base58 with a Keccak-256 checksum.

Monero does not encode an address as one big number: the bytes are cut into 8-byte blocks and
each block is written as exactly 11 Base58 digits (a shorter final block takes the fewest
digits that can hold it), so the length of the text fixes the length of the data and a typo
stays inside its block. The data is a network byte, the public spend and view keys (32 bytes
each), an 8-byte payment id for integrated addresses, then the first four bytes of the
Keccak-256 (the original Keccak, not SHA3-256) of everything before it.

Mainnet network bytes: 18 (standard, ``4…``), 19 (integrated, ``4…``, 106 characters) and 42
(subaddress, ``8…``). Case matters (Base58), so the canonical form is the address as written;
a string that decodes but would be written differently (a digit block holding more than its
bytes) is refused, so that one address has exactly one spelling.
"""

from __future__ import annotations

from Crypto.Hash import keccak

from counterflow.chains.base58 import ALPHABET
from counterflow.errors import InvalidAddressError

CHAIN = "monero"
FULL_BLOCK_SIZE = 8
FULL_ENCODED_SIZE = 11
#: Digits needed for a final block of 0…8 bytes.
ENCODED_SIZES = (0, 2, 3, 5, 6, 7, 9, 10, 11)
CHECKSUM_SIZE = 4
KEY_SIZE = 32
PAYMENT_ID_SIZE = 8

#: Mainnet network bytes and what follows the two public keys before the checksum.
STANDARD = 18
INTEGRATED = 19
SUBADDRESS = 42
_KINDS: dict[int, tuple[str, int]] = {
    STANDARD: ("standard", 0),
    INTEGRATED: ("integrated", PAYMENT_ID_SIZE),
    SUBADDRESS: ("subaddress", 0),
}
#: Network bytes of the other Monero networks, to say why an address is refused.
_OTHER_NETWORKS: dict[int, str] = {
    53: "testnet",
    54: "testnet",
    63: "testnet",
    24: "stagenet",
    25: "stagenet",
    36: "stagenet",
}
_BYTE_SIZE_OF = {size: index for index, size in enumerate(ENCODED_SIZES)}
_DIGIT_OF = {char: value for value, char in enumerate(ALPHABET)}
#: Longer than an integrated address (the longest kind); stops a pasted blob early.
_MAX_LENGTH = 128


def block_b58encode(data: bytes) -> str:
    """Encode ``data`` as Monero's block Base58."""
    out: list[str] = []
    for start in range(0, len(data), FULL_BLOCK_SIZE):
        block = data[start : start + FULL_BLOCK_SIZE]
        number = int.from_bytes(block, "big")
        digits: list[str] = []
        for _ in range(ENCODED_SIZES[len(block)]):
            number, remainder = divmod(number, 58)
            digits.append(ALPHABET[remainder])
        out.append("".join(reversed(digits)))
    return "".join(out)


def block_b58decode(text: str) -> bytes:
    """Decode Monero's block Base58; raises :class:`ValueError` saying where it breaks."""
    out = bytearray()
    for start in range(0, len(text), FULL_ENCODED_SIZE):
        chunk = text[start : start + FULL_ENCODED_SIZE]
        size = _BYTE_SIZE_OF.get(len(chunk))
        if size is None:
            raise ValueError(f"a final block of {len(chunk)} characters is not a valid length")
        number = 0
        for offset, char in enumerate(chunk):
            digit = _DIGIT_OF.get(char)
            if digit is None:
                position = start + offset
                raise ValueError(f"invalid base58 character {char!r} at position {position}")
            number = number * 58 + digit
        if number >> (8 * size):
            raise ValueError(f"block at position {start} overflows its {size} bytes")
        out += number.to_bytes(size, "big")
    return bytes(out)


def _checksum(payload: bytes) -> bytes:
    return keccak.new(digest_bits=256, data=payload).digest()[:CHECKSUM_SIZE]


def encode_monero_address(
    network: int, spend_key: bytes, view_key: bytes, payment_id: bytes = b""
) -> str:
    """The address of the given keys (and payment id, for an integrated address)."""
    if network not in _KINDS:
        raise ValueError(f"network byte {network} is not a Monero mainnet address kind")
    if len(spend_key) != KEY_SIZE or len(view_key) != KEY_SIZE:
        raise ValueError(f"public keys are {KEY_SIZE} bytes each")
    if len(payment_id) != _KINDS[network][1]:
        raise ValueError(f"network byte {network} takes a {_KINDS[network][1]}-byte payment id")
    payload = bytes([network]) + spend_key + view_key + payment_id
    return block_b58encode(payload + _checksum(payload))


def monero_address_kind(address: str) -> str:
    """``standard``, ``integrated`` or ``subaddress``; raises like the normaliser."""

    def fail(reason: str) -> InvalidAddressError:
        return InvalidAddressError(CHAIN, address, reason)

    if not address:
        raise fail("empty address")
    if address != address.strip():
        raise fail("leading or trailing whitespace; strip the address before passing it")
    if len(address) > _MAX_LENGTH:
        raise fail(f"{len(address)} characters is too long for a Monero address")
    try:
        raw = block_b58decode(address)
    except ValueError as exc:
        raise fail(f"block Base58 {exc}") from None
    if not raw:
        raise fail("nothing decodes")
    network = raw[0]
    if network not in _KINDS:
        other = _OTHER_NETWORKS.get(network)
        if other is not None:
            raise fail(f"network byte {network} is a Monero {other} address, not mainnet")
        raise fail(f"network byte {network} is not a Monero address kind (18, 19 or 42)")
    kind, extra = _KINDS[network]
    expected = 1 + 2 * KEY_SIZE + extra + CHECKSUM_SIZE
    if len(raw) != expected:
        raise fail(f"{kind} address decodes to {len(raw)} bytes, expected {expected}")
    payload, checksum = raw[:-CHECKSUM_SIZE], raw[-CHECKSUM_SIZE:]
    if _checksum(payload) != checksum:
        raise fail("Keccak-256 checksum mismatch")
    return kind


def normalize_monero_address(address: str) -> str:
    """Validate a Monero mainnet address and return it as written (its canonical form).

    Raises :class:`~counterflow.errors.InvalidAddressError` with ``chain='monero'``.
    """
    monero_address_kind(address)
    return address
