"""XRP Ledger classic addresses, checked against bip_utils and a published address."""

from __future__ import annotations

from pathlib import Path

import pytest
from bip_utils import Secp256k1PrivateKey, XrpAddrDecoder, XrpAddrEncoder
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from counterflow.chains.registry import normalize_address
from counterflow.chains.ripple_address import (
    ALPHABET,
    normalize_ripple_address,
    ripple_account_id,
    ripple_encode_account,
)
from counterflow.errors import InvalidAddressError

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared"
OFAC_XRP = SHARED / "data/sanctions/ofac-addresses-by-ticker-2024-09/sanctioned_addresses_XRP.txt"

#: The XRP Ledger's well-known address of AccountID zero.
ACCOUNT_ZERO = "rrrrrrrrrrrrrrrrrrrrrhoLvTp"


def test_account_zero() -> None:
    assert ripple_encode_account(bytes(20)) == ACCOUNT_ZERO
    assert ripple_account_id(ACCOUNT_ZERO) == bytes(20)


private_keys = st.integers(1, 2**255).map(
    lambda n: Secp256k1PrivateKey.FromBytes(n.to_bytes(32, "big"))
)


@settings(max_examples=200, deadline=None)
@given(private_keys)
def test_addresses_from_keys_match_bip_utils(key: Secp256k1PrivateKey) -> None:
    address = XrpAddrEncoder.EncodeKey(key.PublicKey())
    assert normalize_address("ripple", address) == address
    assert ripple_account_id(address) == XrpAddrDecoder.DecodeAddr(address)
    assert ripple_encode_account(ripple_account_id(address)) == address


@settings(max_examples=200)
@given(st.binary(min_size=20, max_size=20), st.data())
def test_single_character_substitution_is_rejected(account: bytes, data: st.DataObject) -> None:
    address = ripple_encode_account(account)
    assert XrpAddrDecoder.DecodeAddr(address) == account
    position = data.draw(st.integers(0, len(address) - 1), label="position")
    replacement = data.draw(st.sampled_from(ALPHABET), label="replacement")
    assume(replacement != address[position])
    with pytest.raises(InvalidAddressError):
        normalize_ripple_address(address[:position] + replacement + address[position + 1 :])


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        (ACCOUNT_ZERO[:-1] + "q", "Base58Check checksum mismatch"),
        ("r0" + ACCOUNT_ZERO[2:], "invalid character '0' at position 1"),
        ("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", "checksum mismatch"),
        ("X7AcgcsBL6XDcUb289X4mJ8djcdyKaB5hJDWMArnXr61cqZ", "X-addresses"),
        ("", "empty address"),
        (ACCOUNT_ZERO + " ", "whitespace"),
    ],
)
def test_rejections_say_what_is_wrong(address: str, reason: str) -> None:
    with pytest.raises(InvalidAddressError) as caught:
        normalize_ripple_address(address)
    assert caught.value.chain == "ripple"
    assert reason in caught.value.reason


def test_ofac_xrp_address_validates() -> None:
    if not OFAC_XRP.is_file():
        pytest.skip(f"reference data absent: {OFAC_XRP}")
    (address,) = OFAC_XRP.read_text().split()
    assert normalize_address("ripple", address) == address
    assert ripple_account_id(address) == XrpAddrDecoder.DecodeAddr(address)
