"""Label CSVs: Etherscan's label export (real tarball, 2023-10) and the generic format."""

from __future__ import annotations

import csv
import io
import tarfile
from pathlib import Path

import pytest

from counterflow.attribution.label_csv import (
    ETHERSCAN_CONFIDENCE,
    etherscan_category,
    parse_etherscan_labels,
    parse_label_csv,
)
from counterflow.attribution.records import BRIDGE, DEX, EXCHANGE, MIXER, SANCTIONED, ParsedList
from counterflow.errors import InputError

TARBALL = "labels/etherscan-labels-2023-10.tar.gz"
TORNADO_ROUTER = "0xd90e2f925da726b50c4ed8d0fb90ad053324f31b"


@pytest.fixture(scope="module")
def members(shared_data: Path) -> dict[str, list[list[str]]]:
    """Etherscan's Ethereum account label files, read straight from the tarball."""
    out = {}
    with tarfile.open(shared_data / TARBALL) as archive:
        for info in archive:
            parts = info.name.split("/")
            if info.isfile() and parts[-3:-1] == ["etherscan", "accounts"]:
                handle = archive.extractfile(info)
                assert handle is not None
                text = handle.read().decode("utf-8")
                out[parts[-1].removesuffix(".csv")] = list(csv.reader(io.StringIO(text)))
    return out


@pytest.fixture(scope="module")
def ethereum(shared_data: Path) -> ParsedList:
    return parse_etherscan_labels([shared_data / TARBALL], chains=["ethereum"])


def _categories(parsed: ParsedList, address: str) -> set[str]:
    return {a.category for a in parsed.addresses if a.address == address}


def test_known_addresses_get_their_categories(
    ethereum: ParsedList, members: dict[str, list[list[str]]]
) -> None:
    (router,) = [row for row in members["tornado-cash"] if row[2] == "Tornado.Cash: Router"]
    assert router[1] == TORNADO_ROUTER
    assert _categories(ethereum, TORNADO_ROUTER) == {MIXER, SANCTIONED}
    binance = members["binance"][1][1]
    assert EXCHANGE in _categories(ethereum, binance)
    deposit = members["binance-deposit"][1][1]
    assert EXCHANGE in _categories(ethereum, deposit)
    kraken = members["kraken"][1][1]
    assert EXCHANGE in _categories(ethereum, kraken)
    bridge = members["bridge"][1][1]
    assert BRIDGE in _categories(ethereum, bridge)
    uniswap_like = members["dex"][1][1]
    assert DEX in _categories(ethereum, uniswap_like)
    labels = {a.label for a in ethereum.addresses if a.address == TORNADO_ROUTER}
    assert labels == {"Tornado.Cash: Router"}


def test_every_labelled_row_is_taken(
    ethereum: ParsedList, members: dict[str, list[list[str]]]
) -> None:
    pairs = {
        (row[1], etherscan_category(label))
        for label, rows in members.items()
        for row in rows[1:]
        if row[1].startswith("0x")
    }
    assert {(a.address, a.category) for a in ethereum.addresses} == pairs
    assert all(a.chain == "ethereum" for a in ethereum.addresses)
    assert {a.confidence for a in ethereum.addresses} == {
        ETHERSCAN_CONFIDENCE
    } and ETHERSCAN_CONFIDENCE < 1
    sanctioned = {a.address for a in ethereum.addresses if a.category == SANCTIONED}
    assert sanctioned == {row[1] for row in members["ofac-sanctions-lists"][1:]}


def test_all_explorers_footers_and_pseudo_addresses(shared_data: Path) -> None:
    parsed = parse_etherscan_labels([shared_data / TARBALL])
    assert {a.chain for a in parsed.addresses} == {
        "ethereum", "bsc", "polygon", "optimism", "arbitrum", "avalanche", "fantom",
    }  # fmt: skip
    assert not any("Sum of" in a.label for a in parsed.addresses)
    assert {r.value for r in parsed.rejects} == {"genesis", ""}
    assert all("contract-deployer.csv, line" in r.where for r in parsed.rejects)
    assert parsed.source == "etherscan-labels" and parsed.format == "etherscan-labels"


def test_a_single_label_csv_and_an_unpacked_folder(tmp_path: Path, shared_data: Path) -> None:
    with tarfile.open(shared_data / TARBALL) as archive:
        member = archive.getmember("data/etherscan/accounts/tornado-cash.csv")
        archive.extract(member, tmp_path, filter="data")
    folder_result = parse_etherscan_labels([tmp_path])
    single = parse_etherscan_labels([tmp_path / "data/etherscan/accounts/tornado-cash.csv"])
    assert folder_result.addresses == single.addresses
    assert {a.category for a in single.addresses} == {MIXER}


def test_a_truncated_tarball_is_an_error(tmp_path: Path, shared_data: Path) -> None:
    data = (shared_data / TARBALL).read_bytes()
    broken = tmp_path / "labels.tar.gz"
    broken.write_bytes(data[: len(data) // 3])
    with pytest.raises(InputError, match=r"labels\.tar\.gz: truncated or corrupt"):
        parse_etherscan_labels([broken])


@pytest.mark.parametrize(
    ("label", "category"),
    [
        ("binance", EXCHANGE),
        ("upbit", EXCHANGE),
        ("poloniex-deposit", EXCHANGE),
        ("tornado-cash", MIXER),
        ("multichain", BRIDGE),
        ("uniswap", DEX),
        ("ofac-sanctions-lists", SANCTIONED),
        ("heist", "stolen_funds"),
        ("airdrop-hunter", "airdrop-hunter"),
    ],
)
def test_etherscan_category(label: str, category: str) -> None:
    assert etherscan_category(label) == category


def test_generic_label_csv(tmp_path: Path) -> None:
    path = tmp_path / "labels.csv"
    path.write_text(
        "Address,Chain,Category,Label,Confidence,Note\n"
        "0x098B716B8Aaf21512996dC57EB0615e2383E2f96,eth,stolen_funds,Ronin exploiter,0.9,x\n"
        "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa,bitcoin,other,Genesis,,\n"
        "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb,bitcoin,other,Typo,,\n"
        "TJCnKsPa7y5okkXvQAidZBzqx3QyQ6sxMW,solana,exchange,X,,\n"
        "TJCnKsPa7y5okkXvQAidZBzqx3QyQ6sxMW,tron,exchange,X,1.5,\n"
        "TJCnKsPa7y5okkXvQAidZBzqx3QyQ6sxMW,tron,,X,,\n"
    )
    parsed = parse_label_csv([path], source="analyst-notes", confidence=0.4)
    ronin = "0x098b716b8aaf21512996dc57eb0615e2383e2f96"
    assert [(a.chain, a.address, a.category, a.label, a.confidence) for a in parsed.addresses] == [
        ("ethereum", ronin, "stolen_funds", "Ronin exploiter", 0.9),
        ("bitcoin", "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", "other", "Genesis", 0.4),
    ]
    reasons = [(r.where.rsplit(", ", 1)[1], r.reason) for r in parsed.rejects]
    assert reasons[0] == ("line 4", "not a valid bitcoin address: Base58Check checksum mismatch")
    assert reasons[1][0] == "line 5" and "unknown chain 'solana'" in reasons[1][1]
    assert reasons[2] == ("line 6", "confidence 1.5 is outside [0, 1]")
    assert reasons[3] == ("line 7", "category is empty")


def test_generic_label_csv_needs_its_columns(tmp_path: Path) -> None:
    path = tmp_path / "labels.csv"
    path.write_text("chain,address,label\nbitcoin,1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa,x\n")
    with pytest.raises(InputError, match=r"labels\.csv, line 1: the header lacks category"):
        parse_label_csv([path], source="s")
    path.write_text("chain,address,category,label\nbitcoin,1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa,x\n")
    with pytest.raises(InputError, match=r"labels\.csv, row 2 \(line 2\): 3 columns, expected 4"):
        parse_label_csv([path], source="s")
