"""XRP Ledger classic addresses (``r…``): Base58Check over Ripple's own alphabet.

An account is a 20-byte AccountID behind the version byte ``0x00``, checksummed like Bitcoin
(first four bytes of a double SHA-256) but written with a permutation of the Base58 alphabet
chosen so that account addresses start with ``r``. The two alphabets hold the same 58
characters, so translating one into the other lets the Bitcoin decoder do the arithmetic; the
character check happens first, on the text as written, so an error names the character the
user typed.

Case matters (it is Base58), so the canonical form is the address as written. X-addresses
(``X…``, an account plus a destination tag) are refused with a reason rather than guessed at.
"""

from __future__ import annotations

from counterflow.chains.base58 import ALPHABET as BITCOIN_ALPHABET
from counterflow.chains.base58 import b58check_decode, b58check_encode
from counterflow.errors import InvalidAddressError

CHAIN = "ripple"
ALPHABET = "rpshnaf39wBUDNEGHJKLM4PQRST7VWXYZ2bcdeCg65jkm8oFqi1tuvAxyz"
ACCOUNT_VERSION = 0x00
ACCOUNT_ID_SIZE = 20
#: Longer than any classic address; stops a pasted blob before the quadratic Base58 decode.
_MAX_LENGTH = 64
_TO_BITCOIN = str.maketrans(ALPHABET, BITCOIN_ALPHABET)
_FROM_BITCOIN = str.maketrans(BITCOIN_ALPHABET, ALPHABET)
_CHARS = frozenset(ALPHABET)


def ripple_encode_account(account_id: bytes) -> str:
    """The classic ``r…`` address of a 20-byte AccountID."""
    if len(account_id) != ACCOUNT_ID_SIZE:
        raise ValueError(f"an AccountID is {ACCOUNT_ID_SIZE} bytes, got {len(account_id)}")
    return b58check_encode(bytes([ACCOUNT_VERSION]) + account_id).translate(_FROM_BITCOIN)


def ripple_account_id(address: str) -> bytes:
    """The 20-byte AccountID of a classic address; raises like :func:`normalize_ripple_address`."""

    def fail(reason: str) -> InvalidAddressError:
        return InvalidAddressError(CHAIN, address, reason)

    if not address:
        raise fail("empty address")
    if address != address.strip():
        raise fail("leading or trailing whitespace; strip the address before passing it")
    if len(address) > _MAX_LENGTH:
        raise fail(f"{len(address)} characters is too long for an XRP Ledger address")
    for position, char in enumerate(address):
        if char not in _CHARS:
            raise fail(f"invalid character {char!r} at position {position} (Ripple's Base58)")
    if address[0] == "X" and len(address) == 47:
        raise fail("X-addresses (account plus destination tag) are not accepted; give the r…")
    try:
        payload = b58check_decode(address.translate(_TO_BITCOIN))
    except ValueError as exc:
        raise fail(f"Base58Check {exc}") from None
    if len(payload) != 1 + ACCOUNT_ID_SIZE:
        raise fail(f"payload is {len(payload)} bytes, expected {1 + ACCOUNT_ID_SIZE}")
    if payload[0] != ACCOUNT_VERSION:
        raise fail(f"version byte 0x{payload[0]:02x} is not an account address (0x00)")
    return payload[1:]


def normalize_ripple_address(address: str) -> str:
    """Validate a classic XRP Ledger address and return it as written (its canonical form).

    Raises :class:`~counterflow.errors.InvalidAddressError` with ``chain='ripple'``.
    """
    ripple_account_id(address)
    return address
