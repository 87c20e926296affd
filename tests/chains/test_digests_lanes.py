"""The multi-message hashes agree with hashlib and pycryptodome, message by message, whatever
the batch size: empty, one, a lane short of a group, a group, a group and one, several."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
from Crypto.Hash import keccak
from hypothesis import given, settings
from hypothesis import strategies as st

from counterflow.chains.digests import (
    KECCAK_LANES,
    SHA256_LANES,
    keccak256_many,
    sha256_many,
)


def reference_keccak256(message: bytes) -> bytes:
    return keccak.new(digest_bits=256, data=message).digest()


def reference_sha256d(message: bytes) -> bytes:
    return hashlib.sha256(hashlib.sha256(message).digest()).digest()


def _sizes(lanes: int) -> list[int]:
    return [0, 1, lanes - 1, lanes, lanes + 1, 2 * lanes - 1, 3 * lanes + 5]


def _messages(seed: int, count: int, lengths: list[int]) -> list[bytes]:
    rng = np.random.default_rng(seed)
    return [rng.bytes(lengths[i % len(lengths)]) for i in range(count)]


@pytest.mark.parametrize("count", _sizes(SHA256_LANES))
def test_sha256_lanes_at_every_batch_size(count: int) -> None:
    # 21 bytes: a Base58Check payload; 32: the digest hashed again; 0 and 55: the block edges
    messages = _messages(count, count, [21, 32, 0, 55, 7])
    assert sha256_many(messages) == [hashlib.sha256(m).digest() for m in messages]
    assert sha256_many(messages, double=True) == [reference_sha256d(m) for m in messages]


@pytest.mark.parametrize("count", _sizes(KECCAK_LANES))
def test_keccak256_lanes_at_every_batch_size(count: int) -> None:
    # 40 bytes: an EVM address's hex body; 0, 135 and 136 - 1: the block edges
    messages = _messages(count, count, [40, 0, 135, 8, 20])
    assert keccak256_many(messages) == [reference_keccak256(m) for m in messages]


@settings(deadline=None, max_examples=60)
@given(st.lists(st.binary(max_size=55), max_size=3 * SHA256_LANES + 3))
def test_sha256_lanes_match_hashlib(messages: list[bytes]) -> None:
    assert sha256_many(messages) == [hashlib.sha256(m).digest() for m in messages]
    assert sha256_many(messages, double=True) == [reference_sha256d(m) for m in messages]


@settings(deadline=None, max_examples=60)
@given(st.lists(st.binary(max_size=135), max_size=3 * KECCAK_LANES + 3))
def test_keccak256_lanes_match_pycryptodome(messages: list[bytes]) -> None:
    assert keccak256_many(messages) == [reference_keccak256(m) for m in messages]


def test_a_lane_does_not_see_the_previous_group() -> None:
    # a long message, then a short one in the same lane of the next group: the short one's
    # block must not keep any word of the long one
    lanes = SHA256_LANES
    messages = [b"\xff" * 55] * lanes + [b"a"] * lanes
    assert sha256_many(messages)[lanes:] == [hashlib.sha256(b"a").digest()] * lanes
    lanes = KECCAK_LANES
    messages = [b"\xff" * 135] * lanes + [b"a"] * lanes
    assert keccak256_many(messages)[lanes:] == [reference_keccak256(b"a")] * lanes


def test_messages_beyond_one_block_are_refused() -> None:
    with pytest.raises(ValueError, match="at most 55 bytes"):
        sha256_many([b"", bytes(56)])
    with pytest.raises(ValueError, match="at most 135 bytes"):
        keccak256_many([bytes(136)])
