"""The UN Security Council consolidated list (real, 2025-11-18) for name screening."""

from __future__ import annotations

import gzip
import re
from collections import Counter
from datetime import date
from pathlib import Path

import pytest

from counterflow.attribution.records import ParsedList
from counterflow.attribution.un_list import parse_un_list
from counterflow.errors import InputError

UN_LIST = "sanctions/un-consolidated-2025-11-18.xml.gz"


@pytest.fixture(scope="module")
def raw(shared_data: Path) -> str:
    return gzip.decompress((shared_data / UN_LIST).read_bytes()).decode("utf-8")


@pytest.fixture(scope="module")
def parsed(shared_data: Path) -> ParsedList:
    return parse_un_list([shared_data / UN_LIST])


def test_counts_match_the_raw_document(parsed: ParsedList, raw: str) -> None:
    kinds = Counter(e.kind for e in parsed.entries)
    assert kinds["individual"] == raw.count("<INDIVIDUAL>") == 727
    assert kinds["entity"] == raw.count("<ENTITY>") == 273
    regimes = Counter(re.findall(r"<UN_LIST_TYPE>([^<]*)</UN_LIST_TYPE>", raw))
    assert Counter(p for e in parsed.entries for p in e.programs) == regimes
    assert regimes["DPRK"] == 155
    assert parsed.addresses == () and parsed.rejects == ()


def test_provenance(parsed: ParsedList, raw: str) -> None:
    assert parsed.source == "un-consolidated" and parsed.format == "un-xml"
    stamp = re.search(r'dateGenerated="(\d{4})-(\d\d)-(\d\d)T', raw)
    assert stamp is not None
    assert parsed.published == date(*map(int, stamp.groups())) == date(2025, 11, 18)


def test_entries_are_keyed_by_reference_number(parsed: ParsedList, raw: str) -> None:
    references = re.findall(r"<REFERENCE_NUMBER>([^<]*)</REFERENCE_NUMBER>", raw)
    assert [e.entry for e in parsed.entries] == [r.strip() for r in references]
    assert "KPe.023 " in references  # as published, with a trailing space
    (komid,) = [e for e in parsed.entries if e.entry == "KPe.001"]
    assert komid.name == "KOREA MINING DEVELOPMENT TRADING CORPORATION"
    assert komid.kind == "entity" and komid.programs == ("DPRK",)
    assert "KOMID" in komid.aliases and "CHANGGWANG SINYONG CORPORATION" in komid.aliases
    assert komid.countries == ("Democratic People's Republic of Korea",)


def test_individual_names_and_low_quality_aliases(parsed: ParsedList, raw: str) -> None:
    (badege,) = [e for e in parsed.entries if e.entry == "CDi.001"]
    assert badege.name == "ERIC BADEGE"
    assert badege.countries == ("Democratic Republic of the Congo",)
    blocks = re.findall(r"<INDIVIDUAL_ALIAS>(.*?)</INDIVIDUAL_ALIAS>", raw, re.DOTALL)
    low = {
        re.search(r"<ALIAS_NAME>([^<]*)</ALIAS_NAME>", b).group(1)  # type: ignore[union-attr]
        for b in blocks
        if "<QUALITY>Low</QUALITY>" in b
    }
    assert low
    every_alias = {a for e in parsed.entries for a in e.aliases}
    good = {
        re.search(r"<ALIAS_NAME>([^<]*)</ALIAS_NAME>", b).group(1)  # type: ignore[union-attr]
        for b in blocks
        if "<QUALITY>Good</QUALITY>" in b
    }
    assert '"GODANE"' in good  # some aliases are published in quotes; screened without them
    assert {name.strip('"') for name in good} <= every_alias
    assert not (low - good) & every_alias


def test_a_billion_laughs_document_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "un.xml"
    path.write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE CONSOLIDATED_LIST [<!ENTITY a "aaaaaaaaaa">'
        '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>\n'
        "<CONSOLIDATED_LIST><INDIVIDUALS><INDIVIDUAL><FIRST_NAME>&b;</FIRST_NAME>"
        "</INDIVIDUAL></INDIVIDUALS></CONSOLIDATED_LIST>"
    )
    with pytest.raises(InputError, match=r"un\.xml: refused: the document declares a DTD"):
        parse_un_list([path])


def test_an_entry_without_reference_number_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "un.xml"
    path.write_text(
        '<CONSOLIDATED_LIST dateGenerated="2025-11-18T23:00:09.174Z"><INDIVIDUALS><INDIVIDUAL>'
        "<DATAID>1</DATAID><FIRST_NAME>X</FIRST_NAME></INDIVIDUAL></INDIVIDUALS></CONSOLIDATED_LIST>"
    )
    with pytest.raises(InputError, match=r"un\.xml, INDIVIDUAL DATAID 1: REFERENCE_NUMBER"):
        parse_un_list([path])
