"""Monero addresses: block Base58 and the Keccak checksum, checked against bip_utils."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from bip_utils import Base58XmrDecoder, Base58XmrEncoder, Monero
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from counterflow.chains.base58 import ALPHABET
from counterflow.chains.monero_address import (
    INTEGRATED,
    STANDARD,
    SUBADDRESS,
    block_b58decode,
    block_b58encode,
    encode_monero_address,
    monero_address_kind,
    normalize_monero_address,
)
from counterflow.chains.registry import normalize_address
from counterflow.errors import InvalidAddressError

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared"
OFAC_XMR = SHARED / "data/sanctions/ofac-addresses-by-ticker-2024-09/sanctioned_addresses_XMR.txt"

#: Wallet seeds; hashing keeps them away from the degenerate all-zero key.
seeds = st.integers(0, 2**64).map(lambda n: hashlib.sha256(n.to_bytes(9, "big")).digest())


@settings(max_examples=200)
@given(st.binary(max_size=100))
def test_block_base58_matches_bip_utils(data: bytes) -> None:
    text = block_b58encode(data)
    assert text == Base58XmrEncoder.Encode(data)
    assert block_b58decode(text) == data
    if data:
        assert Base58XmrDecoder.Decode(text) == data


@settings(max_examples=60, deadline=None)
@given(seeds, st.binary(min_size=8, max_size=8), st.integers(0, 3), st.integers(1, 5))
def test_wallet_addresses_from_bip_utils_are_accepted(
    seed: bytes, payment_id: bytes, major: int, minor: int
) -> None:
    wallet = Monero.FromSeed(seed)
    primary = str(wallet.PrimaryAddress())
    integrated = str(wallet.IntegratedAddress(payment_id))
    subaddress = str(wallet.Subaddress(minor, major))
    assert monero_address_kind(primary) == "standard"
    assert monero_address_kind(integrated) == "integrated"
    assert monero_address_kind(subaddress) == "subaddress"
    for address in (primary, integrated, subaddress):
        assert normalize_address("monero", address) == address
    spend = wallet.PublicSpendKey().RawCompressed().ToBytes()
    view = wallet.PublicViewKey().RawCompressed().ToBytes()
    assert encode_monero_address(STANDARD, spend, view) == primary
    assert encode_monero_address(INTEGRATED, spend, view, payment_id) == integrated


@settings(max_examples=200)
@given(st.binary(min_size=64, max_size=64), st.sampled_from([STANDARD, SUBADDRESS]), st.data())
def test_single_character_substitution_is_rejected(
    keys: bytes, network: int, data: st.DataObject
) -> None:
    address = encode_monero_address(network, keys[:32], keys[32:])
    position = data.draw(st.integers(0, len(address) - 1), label="position")
    replacement = data.draw(st.sampled_from(ALPHABET), label="replacement")
    assume(replacement != address[position])
    with pytest.raises(InvalidAddressError):
        normalize_monero_address(address[:position] + replacement + address[position + 1 :])


def _reason(address: str) -> str:
    with pytest.raises(InvalidAddressError) as caught:
        normalize_monero_address(address)
    assert caught.value.chain == "monero"
    return caught.value.reason


def test_rejections_say_what_is_wrong() -> None:
    address = encode_monero_address(STANDARD, bytes(range(32)), bytes(range(32, 64)))
    last = "a" if address[-1] != "a" else "b"
    assert "Keccak-256 checksum mismatch" in _reason(address[:-1] + last)
    assert "a final block of 8 characters is not a valid length" in _reason(address + "1")
    testnet = block_b58encode(bytes([53]) + bytes(64) + bytes(4))
    assert "Monero testnet address, not mainnet" in _reason(testnet)
    assert "invalid base58 character '0'" in _reason("0" + address[1:])
    assert "empty address" in _reason("")
    assert "whitespace" in _reason(address + " ")
    overflow = "z" * 11
    assert "overflows its 8 bytes" in _reason(overflow + address[11:])


def test_ofac_monero_list_holds_two_addresses_and_one_hex_string() -> None:
    if not OFAC_XMR.is_file():
        pytest.skip(f"reference data absent: {OFAC_XMR}")
    listed = OFAC_XMR.read_text().split()
    kinds = {}
    for address in listed:
        try:
            kinds[address] = monero_address_kind(address)
        except InvalidAddressError as exc:
            kinds[address] = exc.reason
    assert sorted(k for k in kinds.values() if k in ("standard", "subaddress")) == [
        "standard",
        "subaddress",
    ]
    (hex_string,) = [a for a in listed if len(a) == 64]
    assert "invalid base58 character '0'" in kinds[hex_string]
