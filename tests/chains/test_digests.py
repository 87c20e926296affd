"""The compiled one-block hashes agree with hashlib and pycryptodome on every length they take."""

from __future__ import annotations

import hashlib

import pytest
from Crypto.Hash import keccak
from hypothesis import given, settings
from hypothesis import strategies as st

from counterflow.chains.digests import keccak256_short, sha256_short


def reference_keccak256(message: bytes) -> bytes:
    return keccak.new(digest_bits=256, data=message).digest()


@settings(deadline=None)
@given(st.binary(max_size=55))
def test_sha256_matches_hashlib(message: bytes) -> None:
    assert sha256_short(message) == hashlib.sha256(message).digest()


@settings(deadline=None)
@given(st.binary(max_size=135))
def test_keccak256_matches_pycryptodome(message: bytes) -> None:
    assert keccak256_short(message) == reference_keccak256(message)


@pytest.mark.parametrize("length", [0, 7, 8, 40, 55, 127, 128, 135])
def test_keccak256_at_lane_and_block_edges(length: int) -> None:
    message = bytes(range(length))
    assert keccak256_short(message) == reference_keccak256(message)


def test_keccak256_is_ethereums_not_sha3() -> None:
    # Keccak-256 of the empty string, as Ethereum uses it (SHA3-256 pads differently)
    expected = "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
    assert keccak256_short(b"").hex() == expected
    assert keccak256_short(b"") != hashlib.sha3_256(b"").digest()


def test_messages_beyond_one_block_are_refused() -> None:
    with pytest.raises(ValueError, match="at most 55 bytes"):
        sha256_short(bytes(56))
    with pytest.raises(ValueError, match="at most 135 bytes"):
        keccak256_short(bytes(136))
