"""Bech32/Bech32m against the BIP-173 and BIP-350 test vectors and two other implementations."""

from __future__ import annotations

import json
from pathlib import Path

import embit.bech32
import pytest
from bip_utils import SegwitBech32Decoder, SegwitBech32Encoder
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from counterflow.chains.bech32 import (
    CHARSET,
    Encoding,
    bech32_decode,
    bech32_encode,
    convert_bits,
    decode_segwit,
    encode_segwit,
)

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared"
BITCOINLIB_DATA = SHARED / "data/chain/bitcoin-blocks/python-bitcoinlib/bitcoin/tests/data"

# BIP-173, "Test vectors": strings with a valid Bech32 checksum.
BECH32_VALID = [
    "A12UEL5L",
    "a12uel5l",
    "an83characterlonghumanreadablepartthatcontainsthenumber1andtheexcludedcharactersbio1tt5tgs",
    "abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw",
    "11qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqc8247j",
    "split1checkupstagehandshakeupstreamerranterredcaperred2y9e3w",
    "?1ezyfcl",
]

# BIP-350, "Test vectors for Bech32m": strings with a valid Bech32m checksum.
BECH32M_VALID = [
    "A1LQFN3A",
    "a1lqfn3a",
    "an83characterlonghumanreadablepartthatcontainsthetheexcludedcharactersbioandnumber11sg7hg6",
    "abcdef1l7aum6echk45nj3s0wdvt2fg8x9yrzpqzd3ryx",
    "11llllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllludsr8",
    "split1checkupstagehandshakeupstreamerranterredcaperredlc445v",
    "?1v759aa",
]

# BIP-173 invalid strings, with the reason each must be rejected for.
CHECKSUM_STRING_INVALID = [
    ("\x201nwldj5", "not printable ASCII"),
    ("\x7f1axkwrx", "not printable ASCII"),
    ("\x801eym55h", "not printable ASCII"),
    (
        "an84characterslonghumanreadablepartthatcontainsthenumber1andtheexcludedcharactersbio1569pvx",
        "exceeds the maximum of 90",
    ),
    ("pzry9x0s0muk", "no separator"),
    ("1pzry9x0s0muk", "empty human-readable part"),
    ("x1b4n0q5v", "invalid bech32 character 'b' at position 2"),
    ("li1dgmt3", "shorter than the 6-character checksum"),
    ("de1lg7wt\xff", "not printable ASCII"),
    ("A1G7SGD8", "checksum mismatch"),  # checksum computed over the uppercase HRP
    ("10a06t8", "empty human-readable part"),
    ("1qzzfhee", "empty human-readable part"),
    # BIP-350 additions
    ("M1VUXWEZ", "checksum mismatch"),
    ("qyrz8wqd2c9m", "no separator"),
    ("1qyrz8wqd2c9m", "empty human-readable part"),
    ("y1b0jsk6g", "invalid bech32 character 'b'"),
    ("lt1igcx5c0", "invalid bech32 character 'i'"),
    ("in1muywd", "shorter than the 6-character checksum"),
    ("mm1crxm3i", "invalid bech32 character 'i'"),
    ("au1s5cgom", "invalid bech32 character 'o'"),
    ("16plkw9", "empty human-readable part"),
    ("1p2gdwpf", "empty human-readable part"),
]

# BIP-350, "Test vectors for v0-v16 native segregated witness addresses": valid addresses and
# the scriptPubKey each pays to.
SEGWIT_VALID = [
    ("BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4", "0014751e76e8199196d454941c45d1b3a323f1433bd6"),
    (
        "tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sl5k7",
        "00201863143c14c5166804bd19203356da136c985678cd4d27a1b8c6329604903262",
    ),
    (
        "bc1pw508d6qejxtdg4y5r3zarvary0c5xw7kw508d6qejxtdg4y5r3zarvary0c5xw7kt5nd6y",
        "5128751e76e8199196d454941c45d1b3a323f1433bd6751e76e8199196d454941c45d1b3a323f1433bd6",
    ),
    ("BC1SW50QGDZ25J", "6002751e"),
    ("bc1zw508d6qejxtdg4y5r3zarvaryvaxxpcs", "5210751e76e8199196d454941c45d1b3a323"),
    (
        "tb1qqqqqp399et2xygdj5xreqhjjvcmzhxw4aywxecjdzew6hylgvsesrxh6hy",
        "0020000000c4a5cad46221b2a187905e5266362b99d5e91c6ce24d165dab93e86433",
    ),
    (
        "tb1pqqqqp399et2xygdj5xreqhjjvcmzhxw4aywxecjdzew6hylgvsesf3hn0c",
        "5120000000c4a5cad46221b2a187905e5266362b99d5e91c6ce24d165dab93e86433",
    ),
    (
        "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0",
        "512079be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798",
    ),
]

# BIP-350 invalid segwit addresses (and BIP-173's that still apply), with our reason.
SEGWIT_INVALID = [
    ("tc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq5zuyut", "human-readable part 'tc'"),
    ("bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqh2y7hd", "must use bech32m"),
    ("tb1z0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqglt7rf", "must use bech32m"),
    ("BC1S0XLXVLHEMJA6C4DQV22UAPCTQUPFHLXM9H8Z3K2E72Q4K9HCZ7VQ54WELL", "must use bech32m"),
    ("bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kemeawh", "v0 must use bech32, not bech32m"),
    ("tb1q0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq24jc47", "v0 must use bech32"),
    ("bc1p38j9r5y49hruaue7wxjce0updqjuyyx0kh56v8s25huc6995vvpql3jow4", "character 'o'"),
    ("BC130XLXVLHEMJA6C4DQV22UAPCTQUPFHLXM9H8Z3K2E72Q4K9HCZ7VQ7ZWS8R", "witness version 17"),
    ("bc1pw5dgrnzv", "2 to 40 bytes, got 1"),
    (
        "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7v8n0nx0muaewav253zgeav",
        "2 to 40 bytes, got 41",
    ),
    ("BC1QR508D6QEJXTDG4Y5R3ZARVARYV98GJ9P", "v0 program must be 20 or 32 bytes, got 16"),
    ("tb1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq47Zagq", "mixed case"),
    ("bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7v07qwwzcrf", "bits of padding"),
    ("tb1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vpggkg4j", "non-zero padding"),
    ("bc1gmk9yu", "no witness version"),
    # BIP-173 only
    ("tc1qw508d6qejxtdg4y5r3zarvary0c5xw7kg3g4ty", "human-readable part 'tc'"),
    ("bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5", "checksum mismatch"),
    ("BC13W508D6QEJXTDG4Y5R3ZARVARY0C5XW7KN40WF2", "witness version 17"),
    ("bc1rw5uspcuh", "must use bech32m"),
    ("tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sL5k7", "mixed case"),
    ("tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3pjxtptv", "non-zero padding"),
]


def _script_pubkey(version: int, program: bytes) -> str:
    opcode = version + 0x50 if version else 0
    return bytes([opcode, len(program)]).hex() + program.hex()


@pytest.mark.parametrize("text", BECH32_VALID)
def test_bip173_valid_bech32_checksums(text: str) -> None:
    hrp, data, encoding = bech32_decode(text)
    assert encoding == "bech32"
    assert bech32_encode(hrp, data, "bech32") == text.lower()


@pytest.mark.parametrize("text", BECH32M_VALID)
def test_bip350_valid_bech32m_checksums(text: str) -> None:
    hrp, data, encoding = bech32_decode(text)
    assert encoding == "bech32m"
    assert bech32_encode(hrp, data, "bech32m") == text.lower()


@pytest.mark.parametrize(("text", "reason"), CHECKSUM_STRING_INVALID)
def test_invalid_checksum_strings(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        bech32_decode(text)


@pytest.mark.parametrize(("address", "script_hex"), SEGWIT_VALID)
def test_valid_segwit_addresses(address: str, script_hex: str) -> None:
    hrp = address[: address.rfind("1")].lower()
    version, program = decode_segwit(hrp, address)
    assert _script_pubkey(version, program) == script_hex
    assert encode_segwit(hrp, version, program) == address.lower()


@pytest.mark.parametrize(("address", "reason"), SEGWIT_INVALID)
def test_invalid_segwit_addresses(address: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        decode_segwit("tb" if address.lower().startswith("tb") else "bc", address)


def test_taproot_is_witness_v1_with_32_bytes() -> None:
    address = "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0"
    version, program = decode_segwit("bc", address)
    assert (version, len(program)) == (1, 32)
    # The program is the x-only key of the secp256k1 generator in BIP-350's example.
    assert program.hex().startswith("79be667ef9dcbbac")


def test_hrp_comparison_ignores_case_of_the_expected_hrp() -> None:
    assert decode_segwit("BC", "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4")[0] == 0


@pytest.mark.parametrize(
    ("version", "length", "reason"),
    [
        (0, 21, "v0 program must be 20 or 32 bytes"),
        (1, 1, "2 to 40 bytes"),
        (16, 41, "2 to 40 bytes"),
        (17, 20, "witness version 17"),
        (-1, 20, "witness version -1"),
    ],
)
def test_encode_refuses_invalid_witness(version: int, length: int, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        encode_segwit("bc", version, bytes(length))


def test_encode_refuses_addresses_over_90_characters() -> None:
    with pytest.raises(ValueError, match="exceeds the maximum of 90"):
        encode_segwit("x" * 30, 1, bytes(40))


def test_python_bitcoinlib_vectors() -> None:
    """python-bitcoinlib predates BIP-350: its v1+ vectors use Bech32 and are invalid now."""
    encode_decode = BITCOINLIB_DATA / "bech32_encode_decode.json"
    invalid = BITCOINLIB_DATA / "bech32_invalid.json"
    if not encode_decode.is_file() or not invalid.is_file():
        pytest.skip(f"reference data absent: {BITCOINLIB_DATA}")
    pairs = json.loads(encode_decode.read_text())
    assert pairs
    for script_hex, address in pairs:
        hrp = address[: address.rfind("1")].lower()
        if script_hex.startswith("00"):
            version, program = decode_segwit(hrp, address)
            assert _script_pubkey(version, program) == script_hex
        else:
            with pytest.raises(ValueError, match="must use bech32m, not bech32"):
                decode_segwit(hrp, address)
    rejected = json.loads(invalid.read_text())
    assert rejected
    for address, _reason in rejected:
        with pytest.raises(ValueError):
            decode_segwit("tb" if address.lower().startswith("tb") else "bc", address)


@settings(max_examples=200)
@given(st.binary(max_size=60), st.sampled_from([(8, 5), (5, 8)]))
def test_convert_bits_round_trips(raw: bytes, widths: tuple[int, int]) -> None:
    if widths == (8, 5):
        assert bytes(convert_bits(convert_bits(raw, 8, 5, pad=True), 5, 8, pad=False)) == raw
    else:
        values = [byte & 31 for byte in raw]
        regrouped = convert_bits(values, 5, 8, pad=True)
        assert convert_bits(regrouped, 8, 5, pad=True)[: len(values)] == values


def test_convert_bits_rejects_oversized_values() -> None:
    with pytest.raises(ValueError, match="does not fit in 5 bits"):
        convert_bits([32], 5, 8, pad=True)


witness = st.one_of(
    st.tuples(st.just(0), st.sampled_from([20, 32])),
    st.tuples(st.integers(1, 16), st.integers(2, 40)),
).flatmap(lambda vl: st.tuples(st.just(vl[0]), st.binary(min_size=vl[1], max_size=vl[1])))


@settings(max_examples=200)
@given(witness, st.sampled_from(["bc", "tb", "bcrt", "ltc"]))
def test_segwit_matches_independent_implementations(
    version_program: tuple[int, bytes], hrp: str
) -> None:
    version, program = version_program
    address = encode_segwit(hrp, version, program)
    assert address == SegwitBech32Encoder.Encode(hrp, version, program)
    assert address == embit.bech32.encode(hrp, version, program)
    assert decode_segwit(hrp, address) == (version, program)
    assert decode_segwit(hrp, address.upper()) == (version, program)
    assert SegwitBech32Decoder.Decode(hrp, address) == (version, program)


@settings(max_examples=200)
@given(witness, st.data())
def test_single_character_substitution_is_rejected(
    version_program: tuple[int, bytes], data: st.DataObject
) -> None:
    version, program = version_program
    address = encode_segwit("bc", version, program)
    position = data.draw(st.integers(3, len(address) - 1), label="position")
    replacement = data.draw(st.sampled_from(CHARSET), label="replacement")
    assume(replacement != address[position])
    mutated = address[:position] + replacement + address[position + 1 :]
    with pytest.raises(ValueError):
        decode_segwit("bc", mutated)


@settings(max_examples=100)
@given(witness)
def test_wrong_checksum_variant_is_rejected(version_program: tuple[int, bytes]) -> None:
    version, program = version_program
    wrong: Encoding = "bech32m" if version == 0 else "bech32"
    address = bech32_encode("bc", [version, *convert_bits(program, 8, 5, pad=True)], wrong)
    with pytest.raises(ValueError, match="must use bech32"):
        decode_segwit("bc", address)


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=64))
def test_convert_bits_from_bytes_equals_the_general_regrouping(data: bytes) -> None:
    """Bytes take a faster route to 5-bit groups (encoding); it must give the same groups."""
    assert convert_bits(data, 8, 5, pad=True) == convert_bits(list(data), 8, 5, pad=True)
    assert bytes(convert_bits(convert_bits(data, 8, 5, pad=True), 5, 8, pad=False)) == data
