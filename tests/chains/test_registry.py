"""The chain registry, its dispatch to the codecs, and real addresses from the OFAC list."""

from __future__ import annotations

from pathlib import Path

import pytest

from counterflow.chains.registry import (
    CHAINS,
    ChainSpec,
    address_normalizer,
    get_chain,
    normalize_address,
)
from counterflow.errors import ConfigError, InvalidAddressError

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared"
OFAC = SHARED / "data/sanctions/ofac-addresses-by-ticker-2024-09"

#: Entries of the OFAC XBT list that are not Bitcoin addresses, with the chain they are for.
#: OFAC's SDN entry files this Tron address under the XBT ticker; it fails Bitcoin's version
#: check and passes Tron's, so the list is wrong, not the codec.
MISFILED_IN_XBT = {"TUCsTq7TofTCJRRoHk6RvhMoS2mJLm5Yzq": "tron"}


@pytest.mark.parametrize(
    ("name", "canonical"),
    [
        ("bitcoin", "bitcoin"),
        ("BTC", "bitcoin"),
        ("  eth ", "ethereum"),
        ("bch", "bitcoin-cash"),
        ("bitcoin_cash", "bitcoin-cash"),
        ("matic", "polygon"),
        ("trx", "tron"),
        ("regtest", "bitcoin-regtest"),
    ],
)
def test_get_chain_by_name_or_alias(name: str, canonical: str) -> None:
    assert get_chain(name).name == canonical


def test_get_chain_passes_a_spec_through() -> None:
    spec = CHAINS["zcash"]
    assert get_chain(spec) is spec


def test_unknown_chain_lists_the_known_ones() -> None:
    with pytest.raises(ConfigError, match="unknown chain 'solana'; known chains: arbitrum, "):
        get_chain("solana")


def test_every_utxo_chain_has_a_format_and_every_evm_chain_an_id() -> None:
    for spec in CHAINS.values():
        assert isinstance(spec, ChainSpec)
        if spec.has_own_codec:  # Tron, Ripple, Monero: neither UTXO prefixes nor EVM
            continue
        if spec.is_utxo:
            assert spec.utxo_format is not None
        else:
            assert spec.evm_chain_id is not None


@pytest.mark.parametrize(
    ("chain", "address", "canonical"),
    [
        ("bitcoin", "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"),
        (
            "btc",
            "BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4",
            "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4",
        ),
        (
            "bitcoin-testnet",
            "tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx",
            "tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx",
        ),
        (
            "bitcoin-cash",
            "1BpEi6DfDAUFd7GtittLSdBeYJvcoaVggu",
            "bitcoincash:qpm2qsznhks23z7629mms6s4cwef74vcwvy22gdx6a",
        ),
        ("dogecoin", "DLrPBnddK81Tn7YStmKVAhqfxYexZFJymq", "DLrPBnddK81Tn7YStmKVAhqfxYexZFJymq"),
        ("zcash", "t1StbPM4X3j4FGM57HpGnb9BMbS7C1nFW1r", "t1StbPM4X3j4FGM57HpGnb9BMbS7C1nFW1r"),
        ("litecoin", "LaYUy1DGfVSuSF5KbPhbLrm8kRotqiwUJn", "LaYUy1DGfVSuSF5KbPhbLrm8kRotqiwUJn"),
        (
            "ethereum",
            "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
            "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed",
        ),
        (
            "bsc",
            "0x52908400098527886E0F7030069857D2E4169EE7",
            "0x52908400098527886e0f7030069857d2e4169ee7",
        ),
        (
            "tron",
            "415a523b449890854c8fc460ab602df9f31fe4293f",
            "TJCnKsPa7y5okkXvQAidZBzqx3QyQ6sxMW",
        ),
    ],
)
def test_normalize_address_dispatches_by_chain(chain: str, address: str, canonical: str) -> None:
    assert normalize_address(chain, address) == canonical
    assert address_normalizer(chain)(address) == canonical


@pytest.mark.parametrize("chain", sorted(CHAINS))
def test_errors_name_the_canonical_chain(chain: str) -> None:
    with pytest.raises(InvalidAddressError) as caught:
        normalize_address(chain, "not-an-address")
    assert caught.value.chain == chain


def _ofac_list(ticker: str) -> list[str]:
    path = OFAC / f"sanctioned_addresses_{ticker}.txt"
    if not path.is_file():
        pytest.skip(f"reference data absent: {path}")
    addresses = path.read_text().split()
    assert addresses, path
    return addresses


def _failures(addresses: list[str], chains: tuple[str, ...]) -> list[str]:
    failures = []
    for address in addresses:
        reasons = []
        for chain in chains:
            try:
                normalize_address(chain, address)
                break
            except InvalidAddressError as exc:
                reasons.append(exc.reason)
        else:
            failures.append(f"{address}: {'; '.join(reasons)}")
    return failures


@pytest.mark.parametrize(
    ("ticker", "chains"),
    [
        ("ETH", ("ethereum",)),
        ("TRX", ("tron",)),
        ("BCH", ("bitcoin-cash",)),
        ("LTC", ("litecoin",)),
        ("ZEC", ("zcash",)),
        ("ETC", ("ethereum-classic",)),
        ("ARB", ("arbitrum",)),
        ("BSC", ("bsc",)),
        # Tether and USDC are tokens: on EVM chains, Tron, and (Omni) Bitcoin.
        ("USDT", ("ethereum", "tron", "bitcoin")),
        ("USDC", ("ethereum", "tron")),
    ],
)
def test_every_ofac_address_validates_for_its_chain(ticker: str, chains: tuple[str, ...]) -> None:
    assert _failures(_ofac_list(ticker), chains) == []


def test_every_ofac_bitcoin_address_validates() -> None:
    addresses = _ofac_list("XBT")
    bitcoin = [address for address in addresses if address not in MISFILED_IN_XBT]
    assert len(bitcoin) > 400
    assert _failures(bitcoin, ("bitcoin",)) == []
    for address, chain in MISFILED_IN_XBT.items():
        assert address in addresses
        with pytest.raises(InvalidAddressError, match="version byte 0x41 is a tron address"):
            normalize_address("bitcoin", address)
        assert normalize_address(chain, address) == address


def test_ofac_bitcoin_cash_list_mixes_legacy_and_cashaddr() -> None:
    canonical = [normalize_address("bitcoin-cash", a) for a in _ofac_list("BCH")]
    assert all(address.startswith("bitcoincash:") for address in canonical)
    assert len(set(canonical)) == len(canonical)
