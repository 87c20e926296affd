"""Tron addresses in Base58Check and hex spellings, checked against bip_utils."""

from __future__ import annotations

import pytest
from bip_utils import Secp256k1PrivateKey, TrxAddrDecoder, TrxAddrEncoder
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from counterflow.chains.base58 import ALPHABET, b58check_encode
from counterflow.chains.tron_address import normalize_tron_address, tron_to_hex
from counterflow.errors import InvalidAddressError

# Tron's documented example pair; the hex also agrees with bip_utils' TrxAddrDecoder.
BASE58 = "TJCnKsPa7y5okkXvQAidZBzqx3QyQ6sxMW"
HEX = "415a523b449890854c8fc460ab602df9f31fe4293f"


@pytest.mark.parametrize("spelling", [BASE58, HEX, HEX.upper(), "0x" + HEX, "0X" + HEX.upper()])
def test_both_spellings_normalise_to_base58(spelling: str) -> None:
    assert normalize_tron_address(spelling) == BASE58
    assert tron_to_hex(spelling) == HEX


def _reason(address: str) -> str:
    with pytest.raises(InvalidAddressError) as caught:
        normalize_tron_address(address)
    assert caught.value.chain == "tron"
    assert caught.value.address == address
    return caught.value.reason


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        (BASE58[:-1] + "X", "Base58Check checksum mismatch"),
        (BASE58[:3] + "0" + BASE58[4:], "invalid base58 character '0' at position 3"),
        ("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", "version byte 0x00 is not tron's 0x41"),
        (b58check_encode(b"\x41" + bytes(21)), "payload is 22 bytes, expected 21"),
        ("0x" + HEX[2:], "hex form must start with 41, the tron version byte; this looks like EVM"),
        (HEX[2:], "hex form must start with 41, the tron version byte; this looks like EVM"),
        ("42" + HEX[2:], "hex form must start with 41, the tron version byte, not 42"),
        ("0x" + HEX + "00", "hex form must be 42 hex digits ('41' + 40), got 44"),
        ("0x" + HEX[:-1] + "g", "non-hex character 'g' at position 43"),
        ("", "empty address"),
        (BASE58 + " ", "leading or trailing whitespace"),
        ("T" * 65, "too long for a tron address"),
    ],
)
def test_rejections_say_what_is_wrong(address: str, reason: str) -> None:
    assert reason in _reason(address)


private_keys = st.integers(1, 2**255).map(
    lambda n: Secp256k1PrivateKey.FromBytes(n.to_bytes(32, "big"))
)


@settings(max_examples=200, deadline=None)
@given(private_keys)
def test_addresses_from_keys_match_bip_utils(key: Secp256k1PrivateKey) -> None:
    address = TrxAddrEncoder.EncodeKey(key.PublicKey())
    assert normalize_tron_address(address) == address
    account = TrxAddrDecoder.DecodeAddr(address)
    assert tron_to_hex(address) == "41" + account.hex()
    assert normalize_tron_address("0x41" + account.hex()) == address


@settings(max_examples=200)
@given(st.binary(min_size=20, max_size=20))
def test_random_accounts_round_trip(account: bytes) -> None:
    address = normalize_tron_address("41" + account.hex())
    assert address.startswith("T")
    assert len(address) == 34
    assert TrxAddrDecoder.DecodeAddr(address) == account
    assert tron_to_hex(address) == "41" + account.hex()


@settings(max_examples=200)
@given(st.binary(min_size=20, max_size=20), st.data())
def test_single_character_substitution_is_rejected(account: bytes, data: st.DataObject) -> None:
    address = normalize_tron_address("41" + account.hex())
    position = data.draw(st.integers(0, len(address) - 1), label="position")
    replacement = data.draw(st.sampled_from(ALPHABET), label="replacement")
    assume(replacement != address[position])
    with pytest.raises(InvalidAddressError):
        normalize_tron_address(address[:position] + replacement + address[position + 1 :])
