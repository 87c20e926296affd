"""OFAC's currency tickers, the chains they denote, and placing a listed address on one.

OFAC writes each address as ``Digital Currency Address - TICKER address``. Most tickers name
one chain (``XBT`` is Bitcoin, in ISO 4217 style). Stablecoins do not: ``USDT`` and ``USDC`` are
tokens issued on several chains, so the address form decides: ``0x…`` is the ERC-20 token on
Ethereum, ``T…`` the TRC-20 token on Tron, and a Bitcoin address under ``USDT`` is Tether on the
Omni layer. Which chain an address is on matters because screening compares canonical
addresses per chain.

Every address is validated with its chain's codec before it is accepted. A ticker with no
known chain, or an address that fails its chain's checks (a checksum, a version byte, a length),
is not guessed at: the caller turns the reason given here into a reported
:class:`~counterflow.attribution.records.Reject`. OFAC's own lists contain such cases (a Tron
address filed under ``XBT``, a 64-digit hex string under ``XMR``).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from counterflow.attribution.records import SANCTIONED, ListedAddress
from counterflow.chains.registry import normalize_address
from counterflow.errors import InvalidAddressError

#: The prefix OFAC puts before the ticker in its ID type (XML) and remarks (CSV).
DIGITAL_CURRENCY_PREFIX = "Digital Currency Address - "

#: Tickers that name one chain.
TICKER_CHAINS: Mapping[str, str] = MappingProxyType(
    {
        "XBT": "bitcoin",
        "ETH": "ethereum",
        "TRX": "tron",
        "XMR": "monero",
        "LTC": "litecoin",
        "ZEC": "zcash",
        "DASH": "dash",
        "BSV": "bitcoin-sv",
        "BCH": "bitcoin-cash",
        "BTG": "bitcoin-gold",
        "ETC": "ethereum-classic",
        "XVG": "verge",
        "XRP": "ripple",
        "ARB": "arbitrum",
        "BSC": "bsc",
    }
)
#: Tokens issued on several chains; the address form picks the chain (:func:`ticker_chain`).
TOKEN_TICKERS = frozenset({"USDT", "USDC"})
KNOWN_TICKERS = frozenset(TICKER_CHAINS) | TOKEN_TICKERS


def ticker_of(id_type: str) -> str | None:
    """The ticker of an OFAC ID type ``Digital Currency Address - XBT``; ``None`` for others."""
    if not id_type.startswith(DIGITAL_CURRENCY_PREFIX):
        return None
    return id_type[len(DIGITAL_CURRENCY_PREFIX) :].strip() or None


def ticker_chain(ticker: str, address: str) -> str:
    """The chain an address listed under ``ticker`` is on.

    The address form is read case-insensitively (a list may have lowercased it). Raises
    :class:`ValueError` with a reason for an unknown ticker or a token address of no known form.
    """
    code = ticker.strip().upper()
    chain = TICKER_CHAINS.get(code)
    if chain is not None:
        return chain
    if code in TOKEN_TICKERS:
        folded = address.strip().lower()
        if folded.startswith("0x"):
            return "ethereum"
        if folded.startswith("t"):
            return "tron"
        if code == "USDT" and (folded[:1] in ("1", "3") or folded.startswith("bc1")):
            return "bitcoin"
        raise ValueError(
            f"{code} address of no known form (0x… for Ethereum, T… for Tron"
            + (", a Bitcoin address for Omni)" if code == "USDT" else ")")
        )
    known = ", ".join(sorted(KNOWN_TICKERS))
    raise ValueError(f"unknown ticker {ticker!r}: no chain is known for it (known: {known})")


def place_address(ticker: str, address: str) -> tuple[str, str]:
    """``(chain, canonical address)`` of an address listed under ``ticker``.

    Raises :class:`ValueError` whose message names the ticker, the chain tried and what is
    wrong with the address, for the caller's reject report.
    """
    chain = ticker_chain(ticker, address)
    try:
        return chain, normalize_address(chain, address)
    except InvalidAddressError as exc:
        raise ValueError(
            f"not a valid {chain} address for ticker {ticker.strip().upper()}: {exc.reason}"
        ) from None


def sanctioned_address(
    ticker: str,
    address: str,
    *,
    label: str,
    entry: str | None = None,
    programs: tuple[str, ...] = (),
) -> ListedAddress:
    """An OFAC designation of ``address`` under ``ticker``; :class:`ValueError` as
    :func:`place_address` raises it when the address cannot be taken."""
    chain, canonical = place_address(ticker, address)
    return ListedAddress(
        chain=chain,
        address=canonical,
        category=SANCTIONED,
        label=label,
        confidence=1.0,
        entry=entry,
        programs=programs,
        ticker=ticker,
    )
