"""UTXO address validation, canonical forms and the reasons given for rejections."""

from __future__ import annotations

import re

import pytest
from bip_utils import (
    Base58Encoder,
    BchBech32Encoder,
    P2PKHAddrDecoder,
    P2PKHAddrEncoder,
    P2SHAddrEncoder,
    P2TRAddrEncoder,
    P2WPKHAddrEncoder,
    Secp256k1PrivateKey,
    SegwitBech32Encoder,
)
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from counterflow.chains.base58 import ALPHABET, b58check_decode, b58check_encode, b58decode
from counterflow.chains.bech32 import encode_segwit
from counterflow.chains.registry import (
    BITCOIN_CASH,
    BITCOIN_MAINNET,
    BITCOIN_REGTEST,
    BITCOIN_TESTNET,
    DOGECOIN,
    LITECOIN,
    ZCASH,
    UtxoAddressFormat,
)
from counterflow.chains.utxo_address import normalize_utxo_address, utxo_script_type
from counterflow.errors import InputError, InvalidAddressError

GENESIS = "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"
P2SH = "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy"
P2WPKH = "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"
P2WSH = "bc1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3qccfmv3"
TAPROOT = "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0"
TESTNET_P2WPKH = "tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx"
TESTNET_P2PKH = "mipcBbFg9gMiCh81Kj8tqqdgoZub1ZJRfn"
BCH_SAMPLE = "bitcoincash:qzkddwa6hgh03skr4qsrygk7e087zjydxgqkpjnsw7"
DOGE = "DLrPBnddK81Tn7YStmKVAhqfxYexZFJymq"
ZEC_T1 = "t1StbPM4X3j4FGM57HpGnb9BMbS7C1nFW1r"
ZEC_T3 = "t3Vz22vK5z2LcKEdg16Yv4FFneEL1zg9ojd"
LTC_P2PKH = "LaYUy1DGfVSuSF5KbPhbLrm8kRotqiwUJn"
LTC_P2SH = "M8yFL6SFC6TreATegTyuSYkDfDRbisdpT3"
LTC_P2SH_LEGACY = "3CWFddi6m4ndiGyKqzYvsFYagqDLPVMTzC"


def _reason(address: str, fmt: UtxoAddressFormat, chain: str = "bitcoin") -> str:
    with pytest.raises(InvalidAddressError) as caught:
        normalize_utxo_address(address, fmt, chain=chain)
    assert caught.value.chain == chain
    assert caught.value.address == address
    return caught.value.reason


@pytest.mark.parametrize(
    ("address", "fmt", "script_type"),
    [
        (GENESIS, BITCOIN_MAINNET, "p2pkh"),
        (P2SH, BITCOIN_MAINNET, "p2sh"),
        (P2WPKH.lower(), BITCOIN_MAINNET, "p2wpkh"),
        (P2WSH, BITCOIN_MAINNET, "p2wsh"),
        (TAPROOT, BITCOIN_MAINNET, "p2tr"),
        ("bc1zw508d6qejxtdg4y5r3zarvaryvaxxpcs", BITCOIN_MAINNET, "witness_unknown"),
        (TESTNET_P2WPKH, BITCOIN_TESTNET, "p2wpkh"),
        (TESTNET_P2PKH, BITCOIN_TESTNET, "p2pkh"),
        (TESTNET_P2PKH, BITCOIN_REGTEST, "p2pkh"),
        (DOGE, DOGECOIN, "p2pkh"),
        (ZEC_T1, ZCASH, "p2pkh"),
        (ZEC_T3, ZCASH, "p2sh"),
        (LTC_P2PKH, LITECOIN, "p2pkh"),
        (LTC_P2SH, LITECOIN, "p2sh"),
        (LTC_P2SH_LEGACY, LITECOIN, "p2sh"),
        (BCH_SAMPLE, BITCOIN_CASH, "p2pkh"),
    ],
)
def test_valid_addresses_keep_their_canonical_form(
    address: str, fmt: UtxoAddressFormat, script_type: str
) -> None:
    assert normalize_utxo_address(address, fmt, chain="x") == address
    assert utxo_script_type(address, fmt) == script_type


def test_bech32_is_stored_lowercase() -> None:
    assert normalize_utxo_address(P2WPKH.upper(), BITCOIN_MAINNET, chain="bitcoin") == (
        P2WPKH.lower()
    )
    assert normalize_utxo_address(TAPROOT.upper(), BITCOIN_MAINNET, chain="bitcoin") == TAPROOT


def test_litecoin_bech32() -> None:
    address = encode_segwit("ltc", 0, bytes(range(20)))
    assert normalize_utxo_address(address.upper(), LITECOIN, chain="litecoin") == address
    assert utxo_script_type(address, LITECOIN) == "p2wpkh"


def test_regtest_bech32() -> None:
    address = encode_segwit("bcrt", 1, bytes(32))
    assert normalize_utxo_address(address, BITCOIN_REGTEST, chain="bitcoin-regtest") == address
    assert utxo_script_type(address, BITCOIN_REGTEST) == "p2tr"


@pytest.mark.parametrize(
    "spelling",
    [
        BCH_SAMPLE,
        BCH_SAMPLE.upper(),
        BCH_SAMPLE.split(":")[1],
        BCH_SAMPLE.split(":")[1].upper(),
    ],
)
def test_cashaddr_is_stored_lowercase_with_prefix(spelling: str) -> None:
    assert normalize_utxo_address(spelling, BITCOIN_CASH, chain="bitcoin-cash") == BCH_SAMPLE


@pytest.mark.parametrize(
    ("legacy", "cashaddr", "script_type"),
    [
        (
            "1BpEi6DfDAUFd7GtittLSdBeYJvcoaVggu",
            "bitcoincash:qpm2qsznhks23z7629mms6s4cwef74vcwvy22gdx6a",
            "p2pkh",
        ),
        (
            "3CWFddi6m4ndiGyKqzYvsFYagqDLPVMTzC",
            "bitcoincash:ppm2qsznhks23z7629mms6s4cwef74vcwvn0h829pq",
            "p2sh",
        ),
    ],
)
def test_bitcoin_cash_legacy_is_converted_to_cashaddr(
    legacy: str, cashaddr: str, script_type: str
) -> None:
    assert normalize_utxo_address(legacy, BITCOIN_CASH, chain="bitcoin-cash") == cashaddr
    assert utxo_script_type(legacy, BITCOIN_CASH) == script_type
    assert utxo_script_type(cashaddr, BITCOIN_CASH) == script_type


def _cashaddr_via_oracle(kind: int, hash_bytes: bytes) -> str:
    """A CashAddr built by bip_utils, for types and sizes our encoder is not asked to make."""
    size_code = {20: 0, 24: 1, 28: 2, 32: 3, 40: 4, 48: 5, 56: 6, 64: 7}[len(hash_bytes)]
    address: str = BchBech32Encoder.Encode(
        "bitcoincash", bytes([(kind << 3) | size_code]), hash_bytes
    )
    return address


def test_bitcoin_cash_p2sh32() -> None:
    address = _cashaddr_via_oracle(1, bytes(range(32)))
    assert normalize_utxo_address(address, BITCOIN_CASH, chain="bitcoin-cash") == address
    assert utxo_script_type(address, BITCOIN_CASH) == "p2sh"


@pytest.mark.parametrize(
    ("address", "fmt", "chain", "reason"),
    [
        (
            TESTNET_P2PKH,
            BITCOIN_MAINNET,
            "bitcoin",
            "version byte 0x6f is a testnet P2PKH, not bitcoin",
        ),
        (GENESIS, BITCOIN_TESTNET, "bitcoin-testnet", "version byte 0x00 is a bitcoin P2PKH"),
        (DOGE, BITCOIN_MAINNET, "bitcoin", "version byte 0x1e is a dogecoin P2PKH, not bitcoin"),
        (ZEC_T1, BITCOIN_MAINNET, "bitcoin", "version bytes 0x1cb8 are a zcash P2PKH, not bitcoin"),
        (GENESIS, ZCASH, "zcash", "version byte 0x00 is a bitcoin P2PKH, not zcash"),
        (LTC_P2PKH, BITCOIN_CASH, "bitcoin-cash", "version byte 0x30 is a litecoin P2PKH"),
        (
            "TUCsTq7TofTCJRRoHk6RvhMoS2mJLm5Yzq",
            BITCOIN_MAINNET,
            "bitcoin",
            "version byte 0x41 is a tron address, not bitcoin",
        ),
        (GENESIS[:-1] + "b", BITCOIN_MAINNET, "bitcoin", "Base58Check checksum mismatch"),
        (
            GENESIS[:5] + "0" + GENESIS[6:],
            BITCOIN_MAINNET,
            "bitcoin",
            "character '0' at position 5",
        ),
        ("1", BITCOIN_MAINNET, "bitcoin", "Base58Check too short"),
        ("1" * 65, BITCOIN_MAINNET, "bitcoin", "too long for a Base58Check address"),
        (TESTNET_P2WPKH, BITCOIN_MAINNET, "bitcoin", "prefix 'tb' is bitcoin testnet, not bitcoin"),
        (P2WPKH, LITECOIN, "litecoin", "prefix 'bc' is bitcoin, not litecoin"),
        (P2WPKH, DOGECOIN, "dogecoin", "bitcoin bech32 address; dogecoin has no bech32 form"),
        (P2WPKH, BITCOIN_CASH, "bitcoin-cash", "bitcoin-cash has no bech32 form"),
        (
            "BC1QR508D6QEJXTDG4Y5R3ZARVARYV98GJ9P",
            BITCOIN_MAINNET,
            "bitcoin",
            "bech32 witness v0 program must be 20 or 32 bytes",
        ),
        (
            "bc1pw508d6qejxtdg4y5r3zarvary0c5xw7kw508d6qejxtdg4y5r3zarvary0c5xw7k7grplx",
            BITCOIN_MAINNET,
            "bitcoin",
            "bech32 witness v1\\+ must use bech32m, not bech32",
        ),
        ("bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kV8F3T4", BITCOIN_MAINNET, "bitcoin", "mixed case"),
        (P2WPKH[:-1] + "5", BITCOIN_MAINNET, "bitcoin", "bech32 checksum mismatch"),
        ("", BITCOIN_MAINNET, "bitcoin", "empty address"),
        (" " + GENESIS, BITCOIN_MAINNET, "bitcoin", "leading or trailing whitespace"),
        (GENESIS + "\n", BITCOIN_MAINNET, "bitcoin", "leading or trailing whitespace"),
        (BCH_SAMPLE[:-1] + "8", BITCOIN_CASH, "bitcoin-cash", "cashaddr checksum mismatch"),
        (BCH_SAMPLE.replace("w7", "W7"), BITCOIN_CASH, "bitcoin-cash", "cashaddr mixed case"),
        (
            "bchtest:" + BCH_SAMPLE.split(":")[1],
            BITCOIN_CASH,
            "bitcoin-cash",
            "cashaddr prefix 'bchtest' does not match 'bitcoincash'",
        ),
    ],
)
def test_rejections_say_what_is_wrong(
    address: str, fmt: UtxoAddressFormat, chain: str, reason: str
) -> None:
    assert re.search(reason, _reason(address, fmt, chain))


def test_error_is_an_input_error_and_a_value_error() -> None:
    with pytest.raises(InvalidAddressError) as caught:
        normalize_utxo_address(TESTNET_P2PKH, BITCOIN_MAINNET, chain="bitcoin")
    assert isinstance(caught.value, InputError)
    assert isinstance(caught.value, ValueError)
    assert TESTNET_P2PKH in str(caught.value)
    assert "bitcoin" in str(caught.value)


def test_wrong_payload_length_after_a_known_version() -> None:
    address = b58check_encode(b"\x00" + bytes(21))
    assert (
        _reason(address, BITCOIN_MAINNET) == "payload after version 0x00 is 21 bytes, expected 20"
    )


def test_unknown_version_lists_the_expected_ones() -> None:
    reason = _reason(b58check_encode(b"\x99" + bytes(20)), LITECOIN, "litecoin")
    assert "expected version 0x30 or 0x32 or 0x05" in reason


def test_cashaddr_type_other_than_p2pkh_or_p2sh_is_refused() -> None:
    token_aware = _cashaddr_via_oracle(2, bytes(20))
    assert "cashaddr type 2 is not supported" in _reason(token_aware, BITCOIN_CASH, "bitcoin-cash")


def test_script_type_names_the_chain_from_the_registry() -> None:
    with pytest.raises(InvalidAddressError) as caught:
        utxo_script_type(TESTNET_P2PKH, BITCOIN_MAINNET)
    assert caught.value.chain == "bitcoin"
    custom = UtxoAddressFormat(p2pkh=(b"\x01",), p2sh=(b"\x02",))
    with pytest.raises(InvalidAddressError) as caught:
        utxo_script_type(GENESIS, custom)
    assert caught.value.chain == "utxo"


def _base58_starting_with(prefix: str, version: bytes) -> str:
    """A valid Base58Check address for ``version`` whose text begins with ``prefix``."""
    # The leading characters depend only on the leading bytes: pick a number whose Base58
    # form starts with the prefix, keep its version and hash, and add the real checksum.
    raw = b58decode(prefix + "z" * (34 - len(prefix)))
    assert raw[: len(version)] == version
    return b58check_encode(raw[:21])


def test_base58_that_begins_like_bech32_is_still_base58() -> None:
    address = _base58_starting_with("LTC1", b"\x30")
    assert address.startswith("LTC1")
    assert normalize_utxo_address(address, LITECOIN, chain="litecoin") == address
    assert utxo_script_type(address, LITECOIN) == "p2pkh"


# --- property tests against bip_utils -------------------------------------------------------

private_keys = st.integers(1, 2**255).map(
    lambda n: Secp256k1PrivateKey.FromBytes(n.to_bytes(32, "big"))
)

BASE58_CHAINS = [
    ("bitcoin", BITCOIN_MAINNET),
    ("bitcoin-testnet", BITCOIN_TESTNET),
    ("litecoin", LITECOIN),
    ("dogecoin", DOGECOIN),
    ("zcash", ZCASH),
]


@settings(max_examples=150, deadline=None)
@given(private_keys, st.sampled_from(BASE58_CHAINS))
def test_base58_addresses_from_keys_match_bip_utils(
    key: Secp256k1PrivateKey, chain_fmt: tuple[str, UtxoAddressFormat]
) -> None:
    chain, fmt = chain_fmt
    public = key.PublicKey()
    p2pkh = P2PKHAddrEncoder.EncodeKey(public, net_ver=fmt.p2pkh[0])
    p2sh = P2SHAddrEncoder.EncodeKey(public, net_ver=fmt.p2sh[0])
    assert normalize_utxo_address(p2pkh, fmt, chain=chain) == p2pkh
    assert normalize_utxo_address(p2sh, fmt, chain=chain) == p2sh
    assert utxo_script_type(p2pkh, fmt) == "p2pkh"
    assert utxo_script_type(p2sh, fmt) == "p2sh"
    hash160 = P2PKHAddrDecoder.DecodeAddr(p2pkh, net_ver=fmt.p2pkh[0])
    assert b58check_decode(p2pkh) == fmt.p2pkh[0] + hash160


@settings(max_examples=150, deadline=None)
@given(private_keys, st.sampled_from([("bitcoin", BITCOIN_MAINNET), ("litecoin", LITECOIN)]))
def test_segwit_addresses_from_keys_match_bip_utils(
    key: Secp256k1PrivateKey, chain_fmt: tuple[str, UtxoAddressFormat]
) -> None:
    chain, fmt = chain_fmt
    assert fmt.bech32_hrp is not None
    public = key.PublicKey()
    p2wpkh = P2WPKHAddrEncoder.EncodeKey(public, hrp=fmt.bech32_hrp)
    p2tr = P2TRAddrEncoder.EncodeKey(public, hrp=fmt.bech32_hrp)
    assert normalize_utxo_address(p2wpkh.upper(), fmt, chain=chain) == p2wpkh
    assert normalize_utxo_address(p2tr, fmt, chain=chain) == p2tr
    assert utxo_script_type(p2wpkh, fmt) == "p2wpkh"
    assert utxo_script_type(p2tr, fmt) == "p2tr"


@settings(max_examples=150)
@given(st.binary(min_size=20, max_size=20), st.sampled_from([0, 1]))
def test_bitcoin_cash_legacy_and_cashaddr_agree_with_bip_utils(hash160: bytes, kind: int) -> None:
    legacy = Base58Encoder.CheckEncode((b"\x00", b"\x05")[kind] + hash160)
    cashaddr = BchBech32Encoder.Encode("bitcoincash", bytes([kind << 3]), hash160)
    assert normalize_utxo_address(legacy, BITCOIN_CASH, chain="bitcoin-cash") == cashaddr
    assert normalize_utxo_address(cashaddr.upper(), BITCOIN_CASH, chain="bitcoin-cash") == cashaddr


@settings(max_examples=150)
@given(st.binary(min_size=32, max_size=32))
def test_p2wsh_from_random_script_hash(script_hash: bytes) -> None:
    address = SegwitBech32Encoder.Encode("bc", 0, script_hash)
    assert utxo_script_type(address, BITCOIN_MAINNET) == "p2wsh"


VALID_SAMPLES = [
    (GENESIS, BITCOIN_MAINNET),
    (P2SH, BITCOIN_MAINNET),
    (P2WPKH.lower(), BITCOIN_MAINNET),
    (TAPROOT, BITCOIN_MAINNET),
    (ZEC_T1, ZCASH),
    (DOGE, DOGECOIN),
    (LTC_P2SH, LITECOIN),
    (BCH_SAMPLE, BITCOIN_CASH),
]


@settings(max_examples=200)
@given(st.sampled_from(VALID_SAMPLES), st.data())
def test_single_character_substitution_is_rejected(
    sample: tuple[str, UtxoAddressFormat], data: st.DataObject
) -> None:
    address, fmt = sample
    is_base58 = fmt.cashaddr_prefix is None and not address.startswith(("bc1", "ltc1"))
    alphabet = ALPHABET if is_base58 else "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
    first = 0 if is_base58 else address.index(":" if ":" in address else "1") + 1
    position = data.draw(st.integers(first, len(address) - 1), label="position")
    replacement = data.draw(st.sampled_from(alphabet), label="replacement")
    assume(replacement != address[position])
    mutated = address[:position] + replacement + address[position + 1 :]
    with pytest.raises(InvalidAddressError):
        normalize_utxo_address(mutated, fmt, chain="x")


@settings(max_examples=100)
@given(st.sampled_from(VALID_SAMPLES), st.data())
def test_flipping_the_case_of_one_letter_is_rejected(
    sample: tuple[str, UtxoAddressFormat], data: st.DataObject
) -> None:
    address, fmt = sample
    letters = [i for i, char in enumerate(address) if char.isalpha()]
    position = data.draw(st.sampled_from(letters), label="position")
    mutated = address[:position] + address[position].swapcase() + address[position + 1 :]
    with pytest.raises(InvalidAddressError):
        normalize_utxo_address(mutated, fmt, chain="x")
