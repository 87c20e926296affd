"""The chains Counterflow knows, and the parameters that make one code path serve a family.

Chains are split by *model*, not by coin: every UTXO chain goes through the same ingest and
address code with its own version bytes and prefixes, and every EVM chain through the account
code. Adding a sibling chain is a new entry here, not new code.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, cast

from counterflow.errors import ConfigError

Family = Literal["utxo", "account"]


@dataclass(frozen=True, slots=True)
class UtxoAddressFormat:
    """Version bytes and prefixes of one UTXO network's address encodings.

    Base58Check versions are byte strings because some chains (Zcash) use two-byte versions.
    """

    p2pkh: tuple[bytes, ...]
    p2sh: tuple[bytes, ...]
    bech32_hrp: str | None = None
    cashaddr_prefix: str | None = None


@dataclass(frozen=True, slots=True)
class BlockNetwork:
    """A network whose raw blocks can be read: the magic framing them in ``blk*.dat`` files.

    The genesis hash lets a block range that starts at height 1 be placed without its parent.
    """

    name: str
    magic: bytes
    genesis_hash: str


@dataclass(frozen=True, slots=True)
class ChainSpec:
    """One chain: its family, native asset and address rules."""

    name: str
    family: Family
    native_symbol: str
    native_decimals: int
    utxo_format: UtxoAddressFormat | None = None
    evm_chain_id: int | None = None
    aliases: tuple[str, ...] = field(default=())
    #: Whether blockchain-etl exports of this chain can be ingested (Tron's are not yet).
    ingestible: bool = True
    #: Networks whose Bitcoin Core block files can be ingested (Bitcoin's serialisation).
    block_networks: tuple[BlockNetwork, ...] = ()

    @property
    def is_utxo(self) -> bool:
        return self.family == "utxo"

    @property
    def has_own_codec(self) -> bool:
        """Whether its addresses follow a codec of their own instead of the family's common form.

        Tron (a version byte before an EVM account), Ripple (Base58Check over another alphabet)
        and Monero (block Base58 with a Keccak checksum) share a family's ledger model but not
        its address encoding, so they carry neither UTXO version bytes nor an EVM chain id.
        """
        return self.name in _OWN_CODECS


BITCOIN_MAINNET = UtxoAddressFormat(p2pkh=(b"\x00",), p2sh=(b"\x05",), bech32_hrp="bc")
BITCOIN_TESTNET = UtxoAddressFormat(p2pkh=(b"\x6f",), p2sh=(b"\xc4",), bech32_hrp="tb")
BITCOIN_REGTEST = UtxoAddressFormat(p2pkh=(b"\x6f",), p2sh=(b"\xc4",), bech32_hrp="bcrt")
BITCOIN_CASH = UtxoAddressFormat(p2pkh=(b"\x00",), p2sh=(b"\x05",), cashaddr_prefix="bitcoincash")
LITECOIN = UtxoAddressFormat(p2pkh=(b"\x30",), p2sh=(b"\x32", b"\x05"), bech32_hrp="ltc")
DOGECOIN = UtxoAddressFormat(p2pkh=(b"\x1e",), p2sh=(b"\x16",))
ZCASH = UtxoAddressFormat(p2pkh=(b"\x1c\xb8",), p2sh=(b"\x1c\xbd",))
DASH = UtxoAddressFormat(p2pkh=(b"\x4c",), p2sh=(b"\x10",))
BITCOIN_GOLD = UtxoAddressFormat(p2pkh=(b"\x26",), p2sh=(b"\x17",), bech32_hrp="btg")
#: Bitcoin SV kept Bitcoin's version bytes and never adopted segwit, so it has no bech32 form.
BITCOIN_SV = UtxoAddressFormat(p2pkh=(b"\x00",), p2sh=(b"\x05",))
VERGE = UtxoAddressFormat(p2pkh=(b"\x1e",), p2sh=(b"\x21",), bech32_hrp="vg")

MAINNET_BLOCKS = BlockNetwork(
    "mainnet",
    bytes.fromhex("f9beb4d9"),
    "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f",
)
TESTNET_BLOCKS = (
    BlockNetwork(
        "testnet3",
        bytes.fromhex("0b110907"),
        "000000000933ea01ad0ee984209779baaec3ced90fa3f408719526f8d77f4943",
    ),
    BlockNetwork(
        "testnet4",
        bytes.fromhex("1c163f28"),
        "00000000da84f2bafbbc53dee25a72ae507ff4914b867c565be350b0da8bf043",
    ),
    BlockNetwork(
        "signet",
        bytes.fromhex("0a03cf40"),
        "00000008819873e925422c1ff0f99f7cc9bbb232af63a077a480a3633bee1ef6",
    ),
)
REGTEST_BLOCKS = BlockNetwork(
    "regtest",
    bytes.fromhex("fabfbfda"),
    "0f9188f13cb7b2f71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206",
)

_SPECS: tuple[ChainSpec, ...] = (
    ChainSpec(
        "bitcoin",
        "utxo",
        "BTC",
        8,
        BITCOIN_MAINNET,
        aliases=("btc",),
        block_networks=(MAINNET_BLOCKS,),
    ),
    ChainSpec(
        "bitcoin-testnet",
        "utxo",
        "tBTC",
        8,
        BITCOIN_TESTNET,
        aliases=("testnet",),
        block_networks=TESTNET_BLOCKS,
    ),
    ChainSpec(
        "bitcoin-regtest",
        "utxo",
        "rBTC",
        8,
        BITCOIN_REGTEST,
        aliases=("regtest",),
        block_networks=(REGTEST_BLOCKS,),
    ),
    ChainSpec("bitcoin-cash", "utxo", "BCH", 8, BITCOIN_CASH, aliases=("bitcoin_cash", "bch")),
    ChainSpec("litecoin", "utxo", "LTC", 8, LITECOIN, aliases=("ltc",)),
    ChainSpec("dogecoin", "utxo", "DOGE", 8, DOGECOIN, aliases=("doge",)),
    ChainSpec("zcash", "utxo", "ZEC", 8, ZCASH, aliases=("zec",)),
    # Chains whose addresses appear on sanctions and label lists; validated, not ingested.
    ChainSpec("dash", "utxo", "DASH", 8, DASH, ingestible=False),
    ChainSpec("bitcoin-gold", "utxo", "BTG", 8, BITCOIN_GOLD, aliases=("btg",), ingestible=False),
    ChainSpec("bitcoin-sv", "utxo", "BSV", 8, BITCOIN_SV, aliases=("bsv",), ingestible=False),
    ChainSpec("verge", "utxo", "XVG", 6, VERGE, aliases=("xvg",), ingestible=False),
    ChainSpec("monero", "utxo", "XMR", 12, aliases=("xmr",), ingestible=False),
    ChainSpec("ripple", "account", "XRP", 6, aliases=("xrp",), ingestible=False),
    ChainSpec("ethereum", "account", "ETH", 18, evm_chain_id=1, aliases=("eth",)),
    ChainSpec("ethereum-classic", "account", "ETC", 18, evm_chain_id=61, aliases=("etc",)),
    ChainSpec("polygon", "account", "POL", 18, evm_chain_id=137, aliases=("matic",)),
    ChainSpec("bsc", "account", "BNB", 18, evm_chain_id=56, aliases=("bnb",)),
    ChainSpec("arbitrum", "account", "ETH", 18, evm_chain_id=42161),
    ChainSpec("optimism", "account", "ETH", 18, evm_chain_id=10),
    ChainSpec("base", "account", "ETH", 18, evm_chain_id=8453),
    ChainSpec("avalanche", "account", "AVAX", 18, evm_chain_id=43114),
    ChainSpec("fantom", "account", "FTM", 18, evm_chain_id=250, aliases=("ftm",)),
    ChainSpec("tron", "account", "TRX", 6, aliases=("trx",), ingestible=False),
)

#: Chains whose addresses have a codec of their own: (module, function), imported on first use.
_OWN_CODECS: dict[str, tuple[str, str]] = {
    "tron": ("counterflow.chains.tron_address", "normalize_tron_address"),
    "ripple": ("counterflow.chains.ripple_address", "normalize_ripple_address"),
    "monero": ("counterflow.chains.monero_address", "normalize_monero_address"),
}

CHAINS: dict[str, ChainSpec] = {spec.name: spec for spec in _SPECS}
_BY_ALIAS: dict[str, ChainSpec] = {
    alias: spec for spec in _SPECS for alias in (spec.name, *spec.aliases)
}


def get_chain(name: str | ChainSpec) -> ChainSpec:
    """Look a chain up by name or alias; an unknown name lists the known ones."""
    if isinstance(name, ChainSpec):
        return name
    spec = _BY_ALIAS.get(name.strip().lower())
    if spec is None:
        known = ", ".join(sorted(CHAINS))
        raise ConfigError(f"unknown chain {name!r}; known chains: {known}")
    return spec


def address_normalizer(chain: str | ChainSpec) -> Callable[[str], str]:
    """The function that validates and normalises addresses of ``chain``.

    Imported lazily so the registry stays importable without the codec modules' dependencies.
    """
    spec = get_chain(chain)
    own = _OWN_CODECS.get(spec.name)
    if own is not None:
        module, function = own
        return cast(Callable[[str], str], getattr(importlib.import_module(module), function))
    if spec.family == "account":
        from counterflow.chains.evm_address import normalize_evm_address

        return lambda address: normalize_evm_address(address, chain=spec.name)
    from counterflow.chains.utxo_address import normalize_utxo_address

    assert spec.utxo_format is not None
    fmt = spec.utxo_format
    return lambda address: normalize_utxo_address(address, fmt, chain=spec.name)


def normalize_address(chain: str | ChainSpec, address: str) -> str:
    """Validate ``address`` for ``chain`` and return its canonical stored form.

    Raises :class:`~counterflow.errors.InvalidAddressError` naming the address and the reason.
    """
    return address_normalizer(chain)(address)
