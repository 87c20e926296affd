"""CashAddr against the specification's examples and an independent implementation."""

from __future__ import annotations

import pytest
from bip_utils import BchBech32Decoder, BchBech32Encoder
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from counterflow.chains.base58 import b58check_decode
from counterflow.chains.bech32 import CHARSET
from counterflow.chains.cashaddr import (
    HASH_SIZES,
    TYPE_P2PKH,
    TYPE_P2SH,
    decode_cashaddr,
    encode_cashaddr,
)

PREFIX = "bitcoincash"

# The CashAddr specification's examples: legacy address and its CashAddr.
SPEC_EXAMPLES = [
    (
        "1BpEi6DfDAUFd7GtittLSdBeYJvcoaVggu",
        "bitcoincash:qpm2qsznhks23z7629mms6s4cwef74vcwvy22gdx6a",
    ),
    (
        "1KXrWXciRDZUpQwQmuM1DbwsKDLYAYsVLR",
        "bitcoincash:qr95sy3j9xwd2ap32xkykttr4cvcu7as4y0qverfuy",
    ),
    ("16w1D5WRVKJuZUsSRzdLp9w3YGcgoxDXb", "bitcoincash:qqq3728yw0y47sqn6l2na30mcw6zm78dzqre909m2r"),
    (
        "3CWFddi6m4ndiGyKqzYvsFYagqDLPVMTzC",
        "bitcoincash:ppm2qsznhks23z7629mms6s4cwef74vcwvn0h829pq",
    ),
    (
        "3LDsS579y7sruadqu11beEJoTjdFiFCdX4",
        "bitcoincash:pr95sy3j9xwd2ap32xkykttr4cvcu7as4yc93ky28e",
    ),
    (
        "31nwvkZwyPdgzjBJZXfDmSWsC4ZLKpYyUw",
        "bitcoincash:pqq3728yw0y47sqn6l2na30mcw6zm78dzq5ucqzc37",
    ),
]

SAMPLE = "bitcoincash:qzkddwa6hgh03skr4qsrygk7e087zjydxgqkpjnsw7"


@pytest.mark.parametrize(("legacy", "cashaddr"), SPEC_EXAMPLES)
def test_specification_examples(legacy: str, cashaddr: str) -> None:
    payload = b58check_decode(legacy)
    kind = TYPE_P2PKH if payload[0] == 0x00 else TYPE_P2SH
    assert encode_cashaddr(PREFIX, kind, payload[1:]) == cashaddr
    assert decode_cashaddr(cashaddr, PREFIX) == (kind, payload[1:])


def test_sample_address_is_p2pkh() -> None:
    kind, hash_bytes = decode_cashaddr(SAMPLE, PREFIX)
    assert kind == TYPE_P2PKH
    assert len(hash_bytes) == 20
    assert encode_cashaddr(PREFIX, kind, hash_bytes) == SAMPLE


@pytest.mark.parametrize("spelling", [SAMPLE, SAMPLE.upper(), SAMPLE.split(":")[1]])
def test_prefix_is_optional_and_case_is_uniform(spelling: str) -> None:
    assert decode_cashaddr(spelling, PREFIX) == decode_cashaddr(SAMPLE, PREFIX)


def test_other_prefix_is_part_of_the_checksum() -> None:
    kind, hash_bytes = decode_cashaddr(SAMPLE, PREFIX)
    testnet = encode_cashaddr("bchtest", kind, hash_bytes)
    assert testnet.split(":")[1] != SAMPLE.split(":")[1]
    with pytest.raises(ValueError, match="prefix 'bchtest' does not match 'bitcoincash'"):
        decode_cashaddr(testnet, PREFIX)
    with pytest.raises(ValueError, match="checksum mismatch"):
        decode_cashaddr(testnet.split(":")[1], PREFIX)


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("bitcoincash:qzkddwa6hgh03skr4qsrygk7e087zjydxgqkpjnsW7", "mixed case"),
        ("BITCOINCASH:qzkddwa6hgh03skr4qsrygk7e087zjydxgqkpjnsw7", "mixed case"),
        ("bitcoincash:qzkddwa6hgh03skr4qsrygk7e087zjydxgqkpjnsw8", "checksum mismatch"),
        ("bitcoincash:qzkddwa6hgh03skr4qsrygk7e087zjydxgqkpjnsbw", "character 'b' at position 52"),
        ("bitcoincash:qqqqqqqq", "no longer than the 8-character checksum"),
        ("bchreg:qzkddwa6hgh03skr4qsrygk7e087zjydxgqkpjnsw7", "prefix 'bchreg'"),
    ],
)
def test_rejections_name_the_reason(address: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        decode_cashaddr(address, PREFIX)


def test_reserved_bit_and_size_mismatch_are_rejected() -> None:
    # Build payloads with a bad version byte through the independent encoder.
    reserved = BchBech32Encoder.Encode(PREFIX, b"\x80", bytes(20))
    with pytest.raises(ValueError, match="reserved high bit"):
        decode_cashaddr(reserved, PREFIX)
    wrong_size = BchBech32Encoder.Encode(PREFIX, b"\x03", bytes(20))  # announces 32 bytes
    with pytest.raises(ValueError, match="announces a 32-byte hash, payload holds 20"):
        decode_cashaddr(wrong_size, PREFIX)


@pytest.mark.parametrize(
    ("prefix", "kind", "size", "reason"),
    [
        ("BitcoinCash", 0, 20, "lowercase letters and digits"),
        ("", 0, 20, "lowercase letters and digits"),
        (PREFIX, 16, 20, "does not fit in 4 bits"),
        (PREFIX, 0, 21, "hash must be one of"),
    ],
)
def test_encode_refuses_bad_arguments(prefix: str, kind: int, size: int, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        encode_cashaddr(prefix, kind, bytes(size))


@settings(max_examples=200)
@given(
    st.sampled_from([TYPE_P2PKH, TYPE_P2SH]),
    st.sampled_from(HASH_SIZES).flatmap(lambda n: st.binary(min_size=n, max_size=n)),
    st.sampled_from([PREFIX, "bchtest", "bchreg"]),
)
def test_matches_independent_implementation(kind: int, hash_bytes: bytes, prefix: str) -> None:
    version = bytes([(kind << 3) | HASH_SIZES.index(len(hash_bytes))])
    address = encode_cashaddr(prefix, kind, hash_bytes)
    assert address == BchBech32Encoder.Encode(prefix, version, hash_bytes)
    assert BchBech32Decoder.Decode(prefix, address) == (version, hash_bytes)
    assert decode_cashaddr(address, prefix) == (kind, hash_bytes)
    assert decode_cashaddr(address.split(":")[1].upper(), prefix) == (kind, hash_bytes)


@settings(max_examples=200)
@given(st.binary(min_size=20, max_size=20), st.data())
def test_single_character_substitution_is_rejected(hash_bytes: bytes, data: st.DataObject) -> None:
    address = encode_cashaddr(PREFIX, TYPE_P2PKH, hash_bytes)
    position = data.draw(st.integers(len(PREFIX) + 1, len(address) - 1), label="position")
    replacement = data.draw(st.sampled_from(CHARSET), label="replacement")
    assume(replacement != address[position])
    mutated = address[:position] + replacement + address[position + 1 :]
    with pytest.raises(ValueError, match="checksum mismatch"):
        decode_cashaddr(mutated, PREFIX)
