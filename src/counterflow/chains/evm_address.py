"""EVM account addresses: validation, canonical form and EIP-55 checksums.

An EVM address is 20 bytes written as ``0x`` and 40 hex digits. Hex is case-insensitive,
so EIP-55 hides a checksum in the case of the letters: a letter is uppercase when the
matching nibble of keccak256(lowercase hex body) is 8 or more. A single-case body carries no
checksum and is accepted as written; a mixed-case body claims one, and a wrong one means the
address was altered, so it is rejected rather than silently lowercased.

Addresses are stored lowercase: one spelling per account, whatever case the source used.
"""

from __future__ import annotations

from Crypto.Hash import keccak

from counterflow.errors import InvalidAddressError

BODY_LENGTH = 40
_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")


def _checksum_body(lower_body: str) -> str:
    digest = keccak.new(digest_bits=256, data=lower_body.encode("ascii")).hexdigest()
    return "".join(
        char.upper() if char > "9" and nibble >= "8" else char
        for char, nibble in zip(lower_body, digest, strict=False)
    )


def _validated_body(address: str, chain: str) -> str:
    """The 40-character hex body of ``address``, in its original case; rejects bad shape."""

    def fail(reason: str) -> InvalidAddressError:
        return InvalidAddressError(chain, address, reason)

    if not address:
        raise fail("empty address")
    if address != address.strip():
        raise fail("leading or trailing whitespace; strip the address before passing it")
    if address.startswith("0X"):
        raise fail("prefix must be lowercase '0x', not '0X'")
    if not address.startswith("0x"):
        if len(address) == BODY_LENGTH and _HEX_DIGITS.issuperset(address):
            raise fail(f"missing 0x prefix (did you mean '0x{address}'?)")
        raise fail("missing 0x prefix")
    body = address[2:]
    for position, char in enumerate(body, start=2):
        if char not in _HEX_DIGITS:
            raise fail(f"non-hex character {char!r} at position {position}")
    if len(body) != BODY_LENGTH:
        raise fail(f"expected 40 hex digits after 0x, got {len(body)}")
    return body


def normalize_evm_address(address: str, *, chain: str = "ethereum") -> str:
    """Validate ``address`` and return it as lowercase ``0x`` + 40 hex digits.

    Raises :class:`~counterflow.errors.InvalidAddressError` for a wrong shape or, when the
    letters are mixed case, an EIP-55 checksum that does not match; the message then gives
    the correctly checksummed spelling so the user can compare it with their source.
    """
    body = _validated_body(address, chain)
    lower = body.lower()
    if body != lower and body != body.upper():
        expected = _checksum_body(lower)
        if body != expected:
            raise InvalidAddressError(
                chain, address, f"EIP-55 checksum mismatch (expected 0x{expected})"
            )
    return "0x" + lower


def to_checksum_address(address: str, *, chain: str = "ethereum") -> str:
    """The EIP-55 spelling of a valid ``address``, for display and export to other tools."""
    return "0x" + _checksum_body(normalize_evm_address(address, chain=chain)[2:])


def is_checksum_address(address: str) -> bool:
    """Whether ``address`` is well formed and written exactly in its EIP-55 case."""
    try:
        body = _validated_body(address, "ethereum")
    except InvalidAddressError:
        return False
    return body == _checksum_body(body.lower())
