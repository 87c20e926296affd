"""Community extractions of the SDN list: per-ticker lists (2024-09), keyed JSON (2025-08)."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from counterflow.attribution.ofac_json import (
    case_insensitive,
    parse_ofac_json,
    parse_ofac_ticker_lists,
)
from counterflow.attribution.records import ParsedList
from counterflow.errors import InputError

TICKER_LISTS = "sanctions/ofac-addresses-by-ticker-2024-09"
JSON_2025 = "sanctions/ofac-crypto-addresses-2025-08-22.json"


@pytest.fixture(scope="module")
def tickers(shared_data: Path) -> ParsedList:
    return parse_ofac_ticker_lists([shared_data / TICKER_LISTS])


@pytest.fixture(scope="module")
def raw_2025(shared_data: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((shared_data / JSON_2025).read_text())
    return document


@pytest.fixture(scope="module")
def hints(tickers: ParsedList) -> dict[str, str]:
    """What the tag store would build from the addresses it already holds."""
    return {a.address.casefold(): a.address for a in tickers.addresses}


def _raw_lines(folder: Path) -> dict[str, list[str]]:
    return {
        path.name.removeprefix("sanctioned_addresses_").removesuffix(
            ".txt"
        ): path.read_text().split()
        for path in folder.glob("sanctioned_addresses_*.txt")
    }


def test_every_listed_address_is_taken_or_rejected(tickers: ParsedList, shared_data: Path) -> None:
    raw = _raw_lines(shared_data / TICKER_LISTS)
    assert sum(len(v) for v in raw.values()) == 654
    assert len(raw["XBT"]) == 435 and len(raw["ETH"]) == 152
    taken = Counter(a.ticker for a in tickers.addresses)
    rejected = Counter(
        r.where.split("sanctioned_addresses_")[1].split(".")[0] for r in tickers.rejects
    )
    assert taken + rejected == Counter({t: len(v) for t, v in raw.items()})
    assert {r.value for r in tickers.rejects} == {
        "TUCsTq7TofTCJRRoHk6RvhMoS2mJLm5Yzq",  # a Tron address filed under XBT
        "5be5543ff73456ab9f2d207887e2af87322c651ea1a873c5b25b7ffae456c320",  # not Monero
    }
    # .txt and .json renderings of each ticker agree, and are read once.
    assert len(tickers.files) == 2 * len(raw)
    assert tickers.published is None and tickers.source == "ofac-sdn"


def test_the_eight_lazarus_ethereum_addresses(
    tickers: ParsedList, raw_2025: dict[str, Any]
) -> None:
    lazarus = {
        key
        for key, item in raw_2025["addresses"].items()
        if any(e["entity"] == "LAZARUS GROUP" for e in item["entries"])
    }
    assert len(lazarus) == 8
    ethereum = {a.address for a in tickers.addresses if a.chain == "ethereum"}
    assert lazarus <= ethereum
    assert any(address.startswith("0x098b716b") for address in lazarus)


def test_token_tickers_are_placed_by_address_form(tickers: ParsedList) -> None:
    usdt = Counter(a.chain for a in tickers.addresses if a.ticker == "USDT")
    assert set(usdt) == {"ethereum", "tron", "bitcoin"}
    assert {a.chain for a in tickers.addresses if a.ticker == "XRP"} == {"ripple"}
    assert {a.chain for a in tickers.addresses if a.ticker == "XMR"} == {"monero"}


def test_the_2025_json_with_case_restored_where_hints_allow(
    shared_data: Path, raw_2025: dict[str, Any], hints: dict[str, str]
) -> None:
    parsed = parse_ofac_json([shared_data / JSON_2025], case_hints=hints)
    keys = raw_2025["addresses"]
    assert len(keys) == 640 == raw_2025["metadata"]["totalAddresses"]
    assert parsed.published == date(2025, 8, 21)
    restored = {a.address.casefold().removeprefix("bitcoincash:") for a in parsed.addresses}
    rejected = {r.value for r in parsed.rejects}
    assert restored | rejected == set(keys)  # every address accounted for
    assert not restored & rejected
    for address in parsed.addresses:  # a Base58 address is stored in its real case
        if address.address.casefold() in hints:
            assert address.address == hints[address.address.casefold()]
    lost = [r for r in parsed.rejects if "case cannot be restored" in r.reason]
    assert lost and all(r.value not in hints for r in lost)
    assert len(parsed.addresses) > 600


def test_without_hints_only_case_insensitive_encodings_are_taken(
    shared_data: Path, raw_2025: dict[str, Any]
) -> None:
    parsed = parse_ofac_json([shared_data / JSON_2025])
    for address in parsed.addresses:
        assert case_insensitive(address.chain, address.address)
    prefixes = Counter(a.address[:3] for a in parsed.addresses if a.chain == "bitcoin")
    assert set(prefixes) == {"bc1"}
    # Hex, bech32 and CashAddr keys, recognised here by their prefixes.
    expected = {
        (key, entry["uid"], entry["type"].rsplit(" ", 1)[1])
        for key, item in raw_2025["addresses"].items()
        for entry in item["entries"]
        if key.startswith(("0x", "bc1", "ltc1"))
        or (entry["type"].endswith("BCH") and key[0] in "qp")
    }
    taken = {(a.address.removeprefix("bitcoincash:"), a.entry, a.ticker) for a in parsed.addresses}
    assert taken == expected
    assert all(
        "case cannot be restored" in r.reason or "ticker XMR" in r.reason for r in parsed.rejects
    )


def test_entries_name_the_parties(shared_data: Path, raw_2025: dict[str, Any]) -> None:
    parsed = parse_ofac_json([shared_data / JSON_2025])
    uids = {e["uid"] for item in raw_2025["addresses"].values() for e in item["entries"]}
    assert {e.entry for e in parsed.entries} == uids
    (kim,) = [e for e in parsed.entries if e.entry == "43377"]
    assert kim.programs == ("DPRK4",) and kim.aliases == ("Sangman KIM",)
    (multi,) = [e for e in parsed.entries if e.entry == "28264"]
    assert multi.programs == ("CYBER2", "DPRK3")


def test_a_folder_whose_renderings_disagree_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "sanctioned_addresses_ETH.txt").write_text(
        "0x098b716b8aaf21512996dc57eb0615e2383e2f96\n"
    )
    (tmp_path / "sanctioned_addresses_ETH.json").write_text("[]")
    with pytest.raises(InputError, match="both list ETH addresses but not the same ones"):
        parse_ofac_ticker_lists([tmp_path])


def test_a_file_of_no_ticker_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "addresses.txt"
    path.write_text("0x098b716b8aaf21512996dc57eb0615e2383e2f96\n")
    with pytest.raises(InputError, match="cannot tell the ticker"):
        parse_ofac_ticker_lists([path])


def test_an_unknown_ticker_file_rejects_its_addresses(tmp_path: Path) -> None:
    path = tmp_path / "sanctioned_addresses_SOL.txt"
    path.write_text("So11111111111111111111111111111111111111112\n")
    parsed = parse_ofac_ticker_lists([path])
    (reject,) = parsed.rejects
    assert reject.where == f"{path}, line 1"
    assert "unknown ticker 'SOL'" in reject.reason


def test_malformed_json_names_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "ofac.json"
    path.write_text('{"metadata": {},\n "addresses": {"0x1": }\n}')
    with pytest.raises(InputError, match=r"ofac\.json, line 2, column \d+: not valid JSON"):
        parse_ofac_json([path])


@settings(max_examples=50)
@given(st.binary(min_size=20, max_size=20))
def test_lowercased_evm_addresses_need_no_hint(account: bytes) -> None:
    assert case_insensitive("ethereum", "0x" + account.hex())
    assert case_insensitive("bitcoin", "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4")
    assert not case_insensitive("bitcoin", "1a1zp1ep5qgefi2dmptftl5slmv7divfna")
    assert not case_insensitive("tron", "tjcnkspa7y5okkxvqaidzbzqx3qyq6sxmw")
    assert case_insensitive("tron", "41" + account.hex())
