"""EVM addresses: shape checks, EIP-55 examples, and bip_utils as an independent oracle."""

from __future__ import annotations

import pytest
from bip_utils import EthAddrDecoder, EthAddrEncoder, Secp256k1PrivateKey
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from counterflow.chains.evm_address import (
    is_checksum_address,
    normalize_evm_address,
    to_checksum_address,
)
from counterflow.errors import InvalidAddressError

# EIP-55, "Test Cases": every one is written in its checksummed case.
EIP55_EXAMPLES = [
    # all caps
    "0x52908400098527886E0F7030069857D2E4169EE7",
    "0x8617E340B3D01FA5F11F306F4090FD50E238070D",
    # all lower
    "0xde709f2102306220921060314715629080e2fb77",
    "0x27b1fdb04752bbc536007a920d24acb045561c26",
    # normal
    "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
    "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
    "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
    "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
]
MIXED = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"


@pytest.mark.parametrize("address", EIP55_EXAMPLES)
def test_eip55_examples(address: str) -> None:
    assert is_checksum_address(address)
    assert to_checksum_address(address.lower()) == address
    assert to_checksum_address(address.upper().replace("0X", "0x")) == address
    assert normalize_evm_address(address) == address.lower()


@pytest.mark.parametrize("address", [MIXED.lower(), "0x" + MIXED[2:].upper()])
def test_single_case_is_accepted_without_a_checksum(address: str) -> None:
    assert normalize_evm_address(address) == MIXED.lower()
    assert not is_checksum_address(address)


def test_wrong_checksum_names_the_expected_spelling() -> None:
    wrong = MIXED[:-1] + "D"
    with pytest.raises(InvalidAddressError) as caught:
        normalize_evm_address(wrong, chain="polygon")
    assert caught.value.chain == "polygon"
    assert caught.value.address == wrong
    assert caught.value.reason == f"EIP-55 checksum mismatch (expected {MIXED})"
    assert not is_checksum_address(wrong)


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        (MIXED[2:], f"missing 0x prefix (did you mean '{MIXED}'?)"),
        ("5aAeb6053F", "missing 0x prefix"),
        ("0X" + MIXED[2:], "prefix must be lowercase '0x'"),
        (MIXED[:-2], "expected 40 hex digits after 0x, got 38"),
        (MIXED + "00", "expected 40 hex digits after 0x, got 42"),
        ("0x", "expected 40 hex digits after 0x, got 0"),
        (MIXED[:10] + "g" + MIXED[11:], "non-hex character 'g' at position 10"),
        ("", "empty address"),
        (MIXED + " ", "leading or trailing whitespace"),
        ("\t" + MIXED, "leading or trailing whitespace"),
    ],
)
def test_shape_errors_are_precise(address: str, reason: str) -> None:
    with pytest.raises(InvalidAddressError) as caught:
        normalize_evm_address(address)
    assert reason in caught.value.reason
    assert caught.value.chain == "ethereum"
    assert not is_checksum_address(address)


def test_to_checksum_address_validates_its_input() -> None:
    with pytest.raises(InvalidAddressError, match="EIP-55 checksum mismatch"):
        to_checksum_address(MIXED[:-1] + "D")


private_keys = st.integers(1, 2**255).map(
    lambda n: Secp256k1PrivateKey.FromBytes(n.to_bytes(32, "big"))
)


@settings(max_examples=200, deadline=None)
@given(private_keys)
def test_checksum_matches_bip_utils_for_real_keys(key: Secp256k1PrivateKey) -> None:
    address = EthAddrEncoder.EncodeKey(key.PublicKey())
    assert to_checksum_address(address.lower()) == address
    assert is_checksum_address(address)
    assert normalize_evm_address(address) == address.lower()


@settings(max_examples=200)
@given(st.binary(min_size=20, max_size=20))
def test_checksum_accepted_by_bip_utils_for_random_accounts(account: bytes) -> None:
    address = to_checksum_address("0x" + account.hex())
    assert EthAddrDecoder.DecodeAddr(address) == account
    assert normalize_evm_address(address) == "0x" + account.hex()


@settings(max_examples=200)
@given(st.binary(min_size=20, max_size=20), st.data())
def test_flipping_the_case_of_one_letter_is_rejected(account: bytes, data: st.DataObject) -> None:
    address = to_checksum_address("0x" + account.hex())
    letters = [i for i, char in enumerate(address) if i > 1 and char.isalpha()]
    assume(len(letters) >= 2)
    position = data.draw(st.sampled_from(letters), label="position")
    mutated = address[:position] + address[position].swapcase() + address[position + 1 :]
    body = mutated[2:]
    # Flipping the only upper- (or lower-) case letter leaves a single-case body, which
    # carries no checksum and is rightly accepted.
    assume(body != body.lower() and body != body.upper())
    with pytest.raises(InvalidAddressError, match="EIP-55 checksum mismatch"):
        normalize_evm_address(mutated)
