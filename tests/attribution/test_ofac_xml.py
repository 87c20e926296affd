"""OFAC's XML renderings of the SDN list, on fixtures written from the published schemas.

No real sdn.xml or sdn_advanced.xml is available offline; the fixtures (see their header
comments) carry the real entries' programs, aliases and addresses, so the checks below compare
them with the real per-ticker extraction rather than with values restated here.
"""

from __future__ import annotations

import gzip
import re
from datetime import date
from pathlib import Path

import pytest

from counterflow.attribution.ofac_xml import parse_ofac_advanced_xml, parse_ofac_xml
from counterflow.attribution.records import ParsedList
from counterflow.errors import InputError

FIXTURES = Path(__file__).resolve().parent / "fixtures"
LEGACY = FIXTURES / "sdn.xml"
ADVANCED = FIXTURES / "sdn_advanced.xml"
ADVANCED_UN_NAMESPACE = FIXTURES / "sdn_advanced_un_namespace.xml"
TICKER_LISTS = "sanctions/ofac-addresses-by-ticker-2024-09"


def _all() -> list[ParsedList]:
    return [
        parse_ofac_xml([LEGACY]),
        parse_ofac_advanced_xml([ADVANCED]),
        parse_ofac_advanced_xml([ADVANCED_UN_NAMESPACE]),
    ]


def test_the_two_namespaces_use_different_uris() -> None:
    namespaces = {
        re.search(r'<Sanctions [^>]*xmlns="([^"]+)"', p.read_text()).group(1)  # type: ignore[union-attr]
        for p in (ADVANCED, ADVANCED_UN_NAMESPACE)
    }
    assert len(namespaces) == 2


def test_every_rendering_gives_the_same_list() -> None:
    legacy, advanced, older = _all()
    for parsed in (legacy, advanced, older):
        assert parsed.source == "ofac-sdn"
        assert parsed.published == date(2024, 9, 27)
    assert legacy.format == "ofac-xml" and advanced.format == "ofac-advanced-xml"
    assert legacy.entries == advanced.entries == older.entries
    assert legacy.addresses == advanced.addresses == older.addresses
    assert [(r.value, r.reason) for r in legacy.rejects] == [
        (r.value, r.reason) for r in advanced.rejects
    ]


@pytest.mark.parametrize("parsed", _all(), ids=["legacy", "advanced", "un-namespace"])
def test_lazarus_group(parsed: ParsedList, shared_data: Path) -> None:
    (lazarus,) = [e for e in parsed.entries if e.name == "LAZARUS GROUP"]
    assert (lazarus.entry, lazarus.kind, lazarus.programs) == ("27307", "entity", ("DPRK3",))
    assert "HIDDEN COBRA" in lazarus.aliases
    assert lazarus.countries == ("Korea, North",)
    mine = {a.address for a in parsed.addresses if a.entry == "27307"}
    assert len(mine) == 8
    assert all(
        a.chain == "ethereum" and a.ticker == "ETH" for a in parsed.addresses if a.entry == "27307"
    )
    published = (shared_data / TICKER_LISTS / "sanctioned_addresses_ETH.txt").read_text().split()
    assert mine <= {address.lower() for address in published}
    assert any(address.startswith("0x098b716b") for address in mine)


@pytest.mark.parametrize("parsed", _all(), ids=["legacy", "advanced", "un-namespace"])
def test_an_individual_with_tokens_on_ethereum(parsed: ParsedList) -> None:
    (kim,) = [e for e in parsed.entries if e.entry == "43377"]
    assert (kim.name, kim.kind, kim.programs) == ("KIM, Sang Man", "individual", ("DPRK4",))
    assert kim.aliases == ("KIM, Sangman",)
    tickers = {
        a.ticker
        for a in parsed.addresses
        if a.address == "0xb6f5ec1a0a9cd1526536d3f0426c429529471f40"
    }
    assert tickers == {"ETH", "USDT", "USDC"}
    assert {a.chain for a in parsed.addresses if a.entry == "43377"} == {"ethereum", "bitcoin"}


@pytest.mark.parametrize("parsed", _all(), ids=["legacy", "advanced", "un-namespace"])
def test_weak_aliases_are_left_out_and_bad_addresses_rejected(parsed: ParsedList) -> None:
    (front,) = [e for e in parsed.entries if e.entry == "99001"]
    assert front.aliases == ("EXAMPLE FRONT",)
    assert front.programs == ("CYBER2", "DPRK3")
    reasons = {r.value: r.reason for r in parsed.rejects}
    assert "checksum mismatch" in reasons["1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb"]
    assert (
        "ticker XMR" in reasons["5be5543ff73456ab9f2d207887e2af87322c651ea1a873c5b25b7ffae456c320"]
    )
    assert "unknown ticker 'SOL'" in reasons["So11111111111111111111111111111111111111112"]
    assert all("99001" in r.where for r in parsed.rejects)
    assert not any(a.entry == "99001" for a in parsed.addresses)


def test_gzip_is_read_transparently(tmp_path: Path) -> None:
    packed = tmp_path / "sdn_advanced.xml.gz"
    packed.write_bytes(gzip.compress(ADVANCED.read_bytes()))
    parsed = parse_ofac_advanced_xml([packed])
    assert parsed.entries == parse_ofac_advanced_xml([ADVANCED]).entries
    assert parsed.files[0].path == str(packed)


def test_an_xxe_attempt_is_refused(tmp_path: Path) -> None:
    text = (
        LEGACY.read_text()
        .replace(
            "<sdnList xmlns:xsi",
            '<!DOCTYPE sdnList [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n<sdnList xmlns:xsi',
        )
        .replace("<lastName>LAZARUS GROUP</lastName>", "<lastName>&xxe;</lastName>")
    )
    path = tmp_path / "sdn.xml"
    path.write_text(text)
    with pytest.raises(InputError, match=r"sdn\.xml: refused: the document declares a DTD"):
        parse_ofac_xml([path])


def test_the_wrong_rendering_is_named(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"root element is <Sanctions>, not <sdnList>"):
        parse_ofac_xml([ADVANCED])
    with pytest.raises(InputError, match=r"root element is <sdnList>, not <Sanctions>"):
        parse_ofac_advanced_xml([LEGACY])


def test_an_undefined_reference_value_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "sdn_advanced.xml"
    path.write_text(ADVANCED.read_text().replace('FeatureTypeID="887"', 'FeatureTypeID="8870"'))
    with pytest.raises(
        InputError, match=r"DistinctParty 43377: FeatureTypeID '8870' is not defined"
    ):
        parse_ofac_advanced_xml([path])


def test_a_truncated_document_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "sdn.xml"
    path.write_text(LEGACY.read_text()[:3000])
    with pytest.raises(InputError, match=r"sdn\.xml, line \d+, column \d+: malformed XML"):
        parse_ofac_xml([path])


def test_a_bad_publish_date_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "sdn.xml"
    path.write_text(LEGACY.read_text().replace("09/27/2024", "2024-09-27"))
    with pytest.raises(InputError, match=r"Publish_Date '2024-09-27' is not a date"):
        parse_ofac_xml([path])
