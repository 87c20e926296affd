"""Base58 and Base58Check against known vectors and two independent implementations."""

from __future__ import annotations

import json
from pathlib import Path

import embit.base58
import pytest
from bip_utils import Base58Decoder, Base58Encoder
from hypothesis import given, settings
from hypothesis import strategies as st

from counterflow.chains.base58 import (
    ALPHABET,
    b58check_decode,
    b58check_encode,
    b58decode,
    b58encode,
)

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared"
BITCOINLIB_VECTORS = (
    SHARED
    / "data/chain/bitcoin-blocks/python-bitcoinlib/bitcoin/tests/data"
    / "base58_encode_decode.json"
)

GENESIS = "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"
GENESIS_HASH160 = "62e907b15cbf27d5425399ebf6f0fb50ebb88f18"


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        (b"", ""),
        (b"\x00", "1"),
        (b"\x00\x00\x00", "111"),
        (b"\x00\x01", "12"),
        (b"\x39", "z"),
        (b"\x3a", "21"),
        (bytes.fromhex("00000000000000000000"), "1111111111"),
    ],
)
def test_encode_decode_small_values(raw: bytes, text: str) -> None:
    assert b58encode(raw) == text
    assert b58decode(text) == raw


def test_python_bitcoinlib_vectors() -> None:
    if not BITCOINLIB_VECTORS.is_file():
        pytest.skip(f"reference data absent: {BITCOINLIB_VECTORS}")
    vectors = json.loads(BITCOINLIB_VECTORS.read_text())
    assert vectors
    for raw_hex, text in vectors:
        assert b58encode(bytes.fromhex(raw_hex)) == text
        assert b58decode(text).hex() == raw_hex


def test_genesis_address_decodes_to_version_and_hash() -> None:
    payload = b58check_decode(GENESIS)
    assert payload == b"\x00" + bytes.fromhex(GENESIS_HASH160)
    assert b58check_encode(payload) == GENESIS


@pytest.mark.parametrize(
    ("text", "char", "position"),
    [("10", "0", 1), ("O", "O", 0), ("abcIdef", "I", 3), ("1l", "l", 1), ("12 3", " ", 2)],
)
def test_invalid_character_is_named_with_position(text: str, char: str, position: int) -> None:
    with pytest.raises(
        ValueError, match=rf"invalid base58 character '{char}' at position {position}"
    ):
        b58decode(text)


def test_check_decode_rejects_a_typo() -> None:
    with pytest.raises(ValueError, match="checksum mismatch"):
        b58check_decode(GENESIS[:-1] + "b")


@pytest.mark.parametrize("text", ["", "1", "z", "2g", "111"])
def test_check_decode_rejects_strings_shorter_than_a_checksum(text: str) -> None:
    with pytest.raises(ValueError, match="too short"):
        b58check_decode(text)


def test_check_decode_accepts_an_empty_payload() -> None:
    assert b58check_decode(b58check_encode(b"")) == b""


@settings(max_examples=200)
@given(st.binary(max_size=64))
def test_encode_matches_independent_implementations(raw: bytes) -> None:
    text = b58encode(raw)
    assert text == Base58Encoder.Encode(raw)
    assert text == embit.base58.encode(raw)
    assert b58decode(text) == raw
    if raw:
        assert Base58Decoder.Decode(text) == raw


@settings(max_examples=200)
@given(st.binary(max_size=40))
def test_check_encode_matches_independent_implementation(payload: bytes) -> None:
    text = b58check_encode(payload)
    assert text == Base58Encoder.CheckEncode(payload)
    assert b58check_decode(text) == payload


@settings(max_examples=200)
@given(st.binary(min_size=21, max_size=26), st.data())
def test_single_character_substitution_is_rejected(payload: bytes, data: st.DataObject) -> None:
    text = b58check_encode(payload)
    position = data.draw(st.integers(0, len(text) - 1), label="position")
    replacement = data.draw(
        st.sampled_from([char for char in ALPHABET if char != text[position]]),
        label="replacement",
    )
    mutated = text[:position] + replacement + text[position + 1 :]
    with pytest.raises(ValueError, match="checksum mismatch"):
        b58check_decode(mutated)
