"""Output scripts → (type, address), against BIP vectors, real exports and embit as an oracle."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from embit.ec import PrivateKey
from embit.networks import NETWORKS
from embit.script import Script, p2pkh
from hypothesis import given, settings
from hypothesis import strategies as st

from counterflow.chains import bitcoin_script as bs
from counterflow.chains.bech32 import decode_segwit
from counterflow.chains.bitcoin_script import ScriptAddresses, classify, script_address
from counterflow.chains.registry import (
    BITCOIN_CASH,
    BITCOIN_MAINNET,
    BITCOIN_TESTNET,
    DOGECOIN,
)

CHAIN_DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "chain"
DEMO = Path(__file__).resolve().parents[2] / "src" / "counterflow" / "demo_data" / "bitcoin"
GENESIS_KEY = (
    "04678afdb0fe5548271967f1a67130b7105cd6a828e03909a67962e0ea1f61deb649f6bc3f4cef38c4f35504e51e"
    "c112de5c384df7ba0b8d578a4c702b6bf11d5f"
)

# (script hex, type, mainnet address): BIP-173/350 vectors, the genesis output, and templates.
KNOWN = [
    (f"41{GENESIS_KEY}ac", "pubkey", "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"),
    (
        "76a914b5cd7aaed869cd5ccb45868e8666e7e934a2373688ac",
        "pubkeyhash",
        "1HaHTfmvoUW6i6nhJf8jJs6tU4cHNmBQHQ",
    ),
    (
        "a914e9c3dd0c07aac76179ebc76a6c78d4d67c6c160a87",
        "scripthash",
        "3P14159f73E4gFr7JterCCQh9QjiTjiZrG",
    ),
    (
        "0014751e76e8199196d454941c45d1b3a323f1433bd6",
        "witness_v0_keyhash",
        "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4",
    ),
    (
        "00201863143c14c5166804bd19203356da136c985678cd4d27a1b8c6329604903262",
        "witness_v0_scripthash",
        "bc1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3qccfmv3",
    ),
    (
        "512079be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798",
        "witness_v1_taproot",
        "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0",
    ),
    ("6002751e", "witness_unknown", "bc1sw50qgdz25j"),
    ("51024e73", "anchor", "bc1pfeessrawgf"),
    ("6a", "nulldata", None),
    ("6a0b68656c6c6f20776f726c64", "nulldata", None),
    ("6a4c0100", "nulldata", None),
    ("6aac", "nonstandard", None),  # OP_RETURN followed by a non-push
    ("6a4c", "nonstandard", None),  # a push that runs past the end
    ("", "nonstandard", None),
    ("0003000000", "nonstandard", None),  # witness v0 of 3 bytes: no rule spends it
    ("ac", "nonstandard", None),
    (f"5141{GENESIS_KEY}21{'02' + '11' * 32}52ae", "multisig", None),
    (f"5221{'03' + '22' * 32}21{'02' + '11' * 32}52ae", "multisig", None),
    (f"5321{'03' + '22' * 32}21{'02' + '11' * 32}52ae", "nonstandard", None),  # m > n
    (f"5121{'05' + '22' * 32}51ae", "nonstandard", None),  # 0x05 is no key prefix
    (f"21{'05' + '11' * 32}ac", "nonstandard", None),
]


@pytest.mark.parametrize(("script", "kind", "address"), KNOWN)
def test_known_scripts(script: str, kind: str, address: str | None) -> None:
    assert script_address(bytes.fromhex(script), BITCOIN_MAINNET) == (kind, address)


def test_every_type_is_listed() -> None:
    assert {kind for _, kind, _ in KNOWN} == set(bs.SCRIPT_TYPES)


def test_other_networks_use_their_own_encodings() -> None:
    p2wpkh = bytes.fromhex("0014751e76e8199196d454941c45d1b3a323f1433bd6")
    assert script_address(p2wpkh, BITCOIN_TESTNET) == (
        "witness_v0_keyhash",
        "tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx",
    )
    assert script_address(p2wpkh, DOGECOIN) == ("witness_v0_keyhash", None)  # no bech32
    p2pkh_script = bytes.fromhex("76a914" + "00" * 20 + "88ac")
    kind, address = script_address(p2pkh_script, BITCOIN_CASH)
    assert kind == "pubkeyhash"
    assert address is not None and address.startswith("bitcoincash:q")


def test_script_addresses_remember_and_stay_bounded() -> None:
    addresses = ScriptAddresses(BITCOIN_MAINNET, limit=2)
    scripts = [bytes.fromhex(s) for s, _, _ in KNOWN[:4]]
    assert [addresses(s) for s in scripts] == [addresses.derive(s) for s in scripts]
    assert len(addresses._known) <= 2


def _export_outputs() -> list[dict[str, object]]:
    found = [*DEMO.glob("transactions.json")]
    samples = CHAIN_DATA / "bitcoin-etl-samples" / "test_export_blocks_job" / "bitcoin"
    found += sorted(samples.rglob("expected_transactions.json")) if samples.exists() else []
    outputs: list[dict[str, object]] = []
    for path in found:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                outputs.extend(json.loads(line)["outputs"])
    return outputs


def test_real_export_outputs_get_the_exported_type_and_address() -> None:
    """bitcoin-etl's own exports (from real bitcoind) name every output the same way."""
    outputs = _export_outputs()
    assert len(outputs) >= 5
    for output in outputs:
        kind, address = script_address(bytes.fromhex(str(output["script_hex"])), BITCOIN_MAINNET)
        assert kind == output["type"]
        assert ([address] if address else []) == output["addresses"]


# -- against embit ----------------------------------------------------------------------------

#: The order of secp256k1: a private key is a number in 1..N-1.
CURVE_ORDER = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
keys = st.binary(min_size=32, max_size=32).filter(
    lambda b: 0 < int.from_bytes(b, "big") < CURVE_ORDER
)


@settings(max_examples=150, deadline=None)
@given(secret=keys, compressed=st.booleans())
def test_p2pk_is_the_p2pkh_address_of_the_key(secret: bytes, compressed: bool) -> None:
    key = PrivateKey(secret, compressed=compressed).get_public_key()
    sec = key.sec()
    script = bytes([len(sec)]) + sec + b"\xac"
    assert script_address(script, BITCOIN_MAINNET) == (
        "pubkey",
        p2pkh(key).address(NETWORKS["main"]),
    )


TEMPLATES = {
    "pubkeyhash": (b"\x76\xa9\x14", 20, b"\x88\xac"),
    "scripthash": (b"\xa9\x14", 20, b"\x87"),
    "witness_v0_keyhash": (b"\x00\x14", 20, b""),
    "witness_v0_scripthash": (b"\x00\x20", 32, b""),
    "witness_v1_taproot": (b"\x51\x20", 32, b""),
}


@settings(max_examples=300, deadline=None)
@given(kind=st.sampled_from(sorted(TEMPLATES)), payload=st.binary(min_size=32, max_size=32))
def test_standard_templates_match_embit(kind: str, payload: bytes) -> None:
    prefix, size, suffix = TEMPLATES[kind]
    script = prefix + payload[:size] + suffix
    for fmt, network in ((BITCOIN_MAINNET, "main"), (BITCOIN_TESTNET, "test")):
        assert script_address(script, fmt) == (
            kind,
            Script(script).address(NETWORKS[network]),
        )


@settings(max_examples=300, deadline=None)
@given(script=st.binary(max_size=60))
def test_any_bytes_classify_without_error_and_agree_with_embit(script: bytes) -> None:
    """Arbitrary scripts never crash, and whatever embit calls standard, we call the same."""
    kind, address = script_address(script, BITCOIN_MAINNET)
    assert kind in bs.SCRIPT_TYPES
    embit_kind = Script(script).script_type()
    names = {
        "p2pkh": "pubkeyhash",
        "p2sh": "scripthash",
        "p2wpkh": "witness_v0_keyhash",
        "p2wsh": "witness_v0_scripthash",
        "p2tr": "witness_v1_taproot",
    }
    if embit_kind in names:
        assert kind == names[embit_kind]
        assert address == Script(script).address(NETWORKS["main"])


@settings(max_examples=200, deadline=None)
@given(
    version=st.integers(min_value=2, max_value=16),
    program=st.binary(min_size=2, max_size=40),
)
def test_future_witness_versions_are_addresses(version: int, program: bytes) -> None:
    script = bytes([0x50 + version, len(program)]) + program
    kind, address = script_address(script, BITCOIN_MAINNET)
    assert kind == "witness_unknown"
    assert address is not None
    assert decode_segwit("bc", address) == (version, program)


@settings(max_examples=200, deadline=None)
@given(pushes=st.lists(st.binary(max_size=300), max_size=4))
def test_op_return_with_pushes_is_nulldata(pushes: list[bytes]) -> None:
    body = b""
    for data in pushes:
        if len(data) < 0x4C:
            body += bytes([len(data)]) + data
        elif len(data) <= 0xFF:
            body += b"\x4c" + bytes([len(data)]) + data
        else:
            body += b"\x4d" + len(data).to_bytes(2, "little") + data
    assert classify(b"\x6a" + body)[0] == "nulldata"
