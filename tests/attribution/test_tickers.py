"""OFAC tickers to chains, and placing listed addresses on them."""

from __future__ import annotations

import pytest

from counterflow.attribution.tickers import (
    KNOWN_TICKERS,
    TICKER_CHAINS,
    place_address,
    ticker_chain,
    ticker_of,
)
from counterflow.chains.registry import CHAINS

TRON_USDT = "TTKnV2S1295UrPr7N67Tp9ykNL7xX2Z4Uj"
ETH = "0xb6f5ec1a0a9cd1526536d3f0426c429529471f40"
OMNI = "1LrxsRd7zNuxPJcL5rttnoeJFy1y4AffYY"


def test_every_ticker_names_a_registered_chain() -> None:
    assert set(TICKER_CHAINS.values()) <= set(CHAINS)
    assert {"XBT", "ETH", "USDT", "USDC", "TRX", "XMR", "XRP", "DASH", "BTG", "BSV", "XVG"} <= (
        KNOWN_TICKERS
    )


@pytest.mark.parametrize(
    ("ticker", "address", "chain"),
    [
        ("USDT", ETH, "ethereum"),
        ("USDT", TRON_USDT, "tron"),
        ("USDT", TRON_USDT.lower(), "tron"),
        ("USDT", OMNI, "bitcoin"),
        ("USDC", ETH, "ethereum"),
        ("usdc", TRON_USDT, "tron"),
        ("XBT", OMNI, "bitcoin"),
        ("BSC", ETH, "bsc"),
    ],
)
def test_the_address_form_decides_a_token_chain(ticker: str, address: str, chain: str) -> None:
    assert ticker_chain(ticker, address) == chain


def test_usdc_has_no_omni_form() -> None:
    with pytest.raises(ValueError, match="USDC address of no known form"):
        ticker_chain("USDC", OMNI)


def test_unknown_ticker_is_named() -> None:
    with pytest.raises(ValueError, match=r"unknown ticker 'SOL': no chain is known for it"):
        place_address("SOL", "So11111111111111111111111111111111111111112")


def test_place_address_canonicalises_and_names_ticker_and_reason() -> None:
    assert place_address("ETH", "0x098B716B8Aaf21512996dC57EB0615e2383E2f96") == (
        "ethereum",
        "0x098b716b8aaf21512996dc57eb0615e2383e2f96",
    )
    with pytest.raises(
        ValueError,
        match="not a valid bitcoin address for ticker XBT: version byte 0x41 is a tron address",
    ):
        place_address("XBT", "TUCsTq7TofTCJRRoHk6RvhMoS2mJLm5Yzq")


@pytest.mark.parametrize(
    ("id_type", "ticker"),
    [
        ("Digital Currency Address - XBT", "XBT"),
        ("Digital Currency Address - USDT ", "USDT"),
        ("Passport", None),
        ("Digital Currency Address - ", None),
    ],
)
def test_ticker_of(id_type: str, ticker: str | None) -> None:
    assert ticker_of(id_type) == ticker
