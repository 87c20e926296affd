"""Simulated identifiers are real encodings: checked against independent implementations."""

from __future__ import annotations

import embit.base58
import embit.bech32
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from counterflow.chains.registry import normalize_address
from counterflow.exercise.identifiers import (
    P2PKH,
    P2SH,
    P2TR,
    P2WPKH,
    bitcoin_address,
    evm_address,
    identifier_bytes,
    identifier_hex,
)

keys = st.integers(min_value=0, max_value=2**64 - 1)
numbers = st.integers(min_value=0, max_value=2**62)


def program(key: int, number: int, length: int) -> bytes:
    out = np.zeros(32, np.uint8)
    identifier_bytes(np.uint64(key), np.int64(number), out, length)
    return out[:length].tobytes()


@settings(max_examples=200, deadline=None)
@given(keys, numbers)
def test_segwit_addresses_match_an_independent_encoder(key: int, number: int) -> None:
    v0 = bitcoin_address(key, number, P2WPKH)
    assert v0 == embit.bech32.encode("bc", 0, program(key, number, 20))
    v1 = bitcoin_address(key, number, P2TR)
    assert v1 == embit.bech32.encode("bc", 1, program(key, number, 32))
    assert normalize_address("bitcoin", v0) == v0 and normalize_address("bitcoin", v1) == v1


@settings(max_examples=200, deadline=None)
@given(keys, numbers)
def test_base58_addresses_match_an_independent_encoder(key: int, number: int) -> None:
    for kind, version in ((P2PKH, b"\x00"), (P2SH, b"\x05")):
        text = bitcoin_address(key, number, kind)
        assert text == embit.base58.encode_check(version + program(key, number, 20))
        assert normalize_address("bitcoin", text) == text


@settings(max_examples=200, deadline=None)
@given(keys, numbers)
def test_ethereum_addresses_and_hashes(key: int, number: int) -> None:
    address = evm_address(key, number)
    assert address == "0x" + program(key, number, 20).hex()
    assert normalize_address("ethereum", address) == address
    assert identifier_hex(key, number) == program(key, number, 32).hex()


@given(keys, st.lists(numbers, min_size=2, max_size=50, unique=True))
def test_different_numbers_never_share_an_identifier(key: int, values: list[int]) -> None:
    assert len({identifier_hex(key, n) for n in values}) == len(values)
