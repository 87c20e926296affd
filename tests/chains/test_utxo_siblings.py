"""Dash, Bitcoin Gold, Bitcoin SV and Verge: Base58Check (and bech32) with their own prefixes.

They go through the shared UTXO codec with their registry parameters; bip_utils' generic
P2PKH, P2SH and P2WPKH encoders, given the same version bytes, are the independent oracle.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from bip_utils import P2PKHAddrEncoder, P2SHAddrEncoder, P2WPKHAddrEncoder, Secp256k1PrivateKey
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from counterflow.chains.base58 import ALPHABET
from counterflow.chains.registry import CHAINS, get_chain, normalize_address
from counterflow.errors import InvalidAddressError

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared"
OFAC = SHARED / "data/sanctions/ofac-addresses-by-ticker-2024-09"

#: chain: (P2PKH version, P2SH version, bech32 prefix), from each project's chain parameters.
PARAMETERS = {
    "dash": (b"\x4c", b"\x10", None),
    "bitcoin-gold": (b"\x26", b"\x17", "btg"),
    "bitcoin-sv": (b"\x00", b"\x05", None),
    "verge": (b"\x1e", b"\x21", "vg"),
}

private_keys = st.integers(1, 2**255).map(
    lambda n: Secp256k1PrivateKey.FromBytes(n.to_bytes(32, "big"))
)


def test_registry_parameters() -> None:
    for chain, (p2pkh, p2sh, hrp) in PARAMETERS.items():
        spec = CHAINS[chain]
        assert spec.utxo_format is not None
        assert spec.utxo_format.p2pkh == (p2pkh,)
        assert spec.utxo_format.p2sh == (p2sh,)
        assert spec.utxo_format.bech32_hrp == hrp
        assert not spec.ingestible


@pytest.mark.parametrize("chain", sorted(PARAMETERS))
@settings(max_examples=50, deadline=None)
@given(key=private_keys)
def test_addresses_from_keys_match_bip_utils(chain: str, key: Secp256k1PrivateKey) -> None:
    p2pkh, p2sh, hrp = PARAMETERS[chain]
    public = key.PublicKey()
    addresses = [
        P2PKHAddrEncoder.EncodeKey(public, net_ver=p2pkh),
        P2SHAddrEncoder.EncodeKey(public, net_ver=p2sh),
    ]
    if hrp is not None:
        segwit = P2WPKHAddrEncoder.EncodeKey(public, hrp=hrp, wit_ver=0)
        assert normalize_address(chain, segwit.upper()) == segwit
        addresses.append(segwit)
    for address in addresses:
        assert normalize_address(chain, address) == address


@pytest.mark.parametrize("chain", sorted(PARAMETERS))
@settings(max_examples=50, deadline=None)
@given(key=private_keys, data=st.data())
def test_single_character_substitution_is_rejected(
    chain: str, key: Secp256k1PrivateKey, data: st.DataObject
) -> None:
    address = P2PKHAddrEncoder.EncodeKey(key.PublicKey(), net_ver=PARAMETERS[chain][0])
    position = data.draw(st.integers(0, len(address) - 1), label="position")
    replacement = data.draw(st.sampled_from(ALPHABET), label="replacement")
    assume(replacement != address[position])
    with pytest.raises(InvalidAddressError):
        normalize_address(chain, address[:position] + replacement + address[position + 1 :])


def test_a_bitcoin_address_is_not_a_dash_address() -> None:
    with pytest.raises(InvalidAddressError, match="bitcoin P2PKH, not dash"):
        normalize_address("dash", "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa")


def test_bitcoin_sv_has_no_bech32_form() -> None:
    with pytest.raises(InvalidAddressError, match="bitcoin-sv has no bech32 form"):
        normalize_address("bsv", "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4")


@pytest.mark.parametrize(
    ("ticker", "chain"),
    [("DASH", "dash"), ("BTG", "bitcoin-gold"), ("BSV", "bitcoin-sv"), ("XVG", "verge")],
)
def test_every_ofac_address_validates_for_its_chain(ticker: str, chain: str) -> None:
    path = OFAC / f"sanctioned_addresses_{ticker}.txt"
    if not path.is_file():
        pytest.skip(f"reference data absent: {path}")
    addresses = path.read_text().split()
    assert addresses
    for address in addresses:
        assert normalize_address(get_chain(chain), address) == address
