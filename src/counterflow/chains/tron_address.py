"""Tron account addresses in their two spellings, and the canonical one.

A Tron address is an EVM-style 20-byte account id behind a version byte ``0x41``. Wallets
and explorers show it as Base58Check (``T...``, 34 characters); the node API and many exports
use hex (``41`` + 40 hex digits, sometimes with ``0x``). Both are accepted and stored as
Base58Check, the form users search for.
"""

from __future__ import annotations

from counterflow.chains.base58 import b58check_decode, b58check_encode
from counterflow.errors import InvalidAddressError

CHAIN = "tron"
VERSION = 0x41
PAYLOAD_SIZE = 21
_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")
#: Longer than either spelling; stops a pasted blob before the quadratic Base58 decode.
_MAX_LENGTH = 64


def _payload(address: str) -> bytes:
    """The 21 payload bytes (version byte first) of either spelling of ``address``."""

    def fail(reason: str) -> InvalidAddressError:
        return InvalidAddressError(CHAIN, address, reason)

    if not address:
        raise fail("empty address")
    if address != address.strip():
        raise fail("leading or trailing whitespace; strip the address before passing it")
    if len(address) > _MAX_LENGTH:
        raise fail(f"{len(address)} characters is too long for a tron address")

    body = address[2:] if address[:2] in ("0x", "0X") else address
    looks_hex = len(body) in (40, 42) and _HEX_DIGITS.issuperset(body)
    if body != address or looks_hex:
        for position, char in enumerate(body, start=len(address) - len(body)):
            if char not in _HEX_DIGITS:
                raise fail(f"non-hex character {char!r} at position {position}")
        if len(body) == 2 * (PAYLOAD_SIZE - 1):
            raise fail("hex form must start with 41, the tron version byte; this looks like EVM")
        if len(body) != 2 * PAYLOAD_SIZE:
            raise fail(f"hex form must be 42 hex digits ('41' + 40), got {len(body)}")
        payload = bytes.fromhex(body)
        if payload[0] != VERSION:
            raise fail(f"hex form must start with 41, the tron version byte, not {body[:2]}")
        return payload

    try:
        payload = b58check_decode(address)
    except ValueError as exc:
        raise fail(f"Base58Check {exc}") from None
    if len(payload) != PAYLOAD_SIZE:
        raise fail(f"payload is {len(payload)} bytes, expected {PAYLOAD_SIZE}")
    if payload[0] != VERSION:
        raise fail(f"version byte 0x{payload[0]:02x} is not tron's 0x{VERSION:02x}")
    return payload


def normalize_tron_address(address: str) -> str:
    """Validate either spelling of a Tron address and return its Base58Check ``T...`` form.

    Raises :class:`~counterflow.errors.InvalidAddressError` with ``chain='tron'``.
    """
    return b58check_encode(_payload(address))


def tron_to_hex(address: str) -> str:
    """The lowercase hex spelling (``41`` + 40 hex digits) of either spelling of ``address``."""
    return _payload(address).hex()
