"""Untrusted XML: any DTD refused before expansion, malformed documents located, streamed flat."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from counterflow.attribution.xml_safety import child_text, local_name, stream_records
from counterflow.errors import InputError

BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<sdnList><sdnEntry><uid>1</uid><lastName>&lol4;</lastName></sdnEntry></sdnList>
"""
XXE = """<?xml version="1.0"?>
<!DOCTYPE sdnList [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<sdnList><sdnEntry><uid>1</uid><lastName>&xxe;</lastName></sdnEntry></sdnList>
"""
EXTERNAL_DTD = """<?xml version="1.0"?>
<!DOCTYPE sdnList SYSTEM "http://attacker.example/evil.dtd">
<sdnList><sdnEntry><uid>1</uid></sdnEntry></sdnList>
"""


def _read(path: Path, wanted: set[str]) -> list[tuple[str, str]]:
    return [(name, child_text(element, "uid")) for name, element in stream_records(path, wanted)]


@pytest.mark.parametrize("document", [BILLION_LAUGHS, XXE, EXTERNAL_DTD])
def test_any_dtd_is_refused_naming_the_file(tmp_path: Path, document: str) -> None:
    path = tmp_path / "sdn.xml"
    path.write_text(document)
    with pytest.raises(InputError, match=r"sdn\.xml: refused: the document declares a DTD"):
        _read(path, {"sdnEntry"})


def test_a_dtd_inside_gzip_is_refused_too(tmp_path: Path) -> None:
    path = tmp_path / "sdn.xml.gz"
    path.write_bytes(gzip.compress(XXE.encode()))
    with pytest.raises(InputError, match="XXE"):
        _read(path, {"sdnEntry"})


def test_malformed_xml_names_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "list.xml"
    path.write_text("<sdnList>\n  <sdnEntry><uid>1</uid>\n</sdnList>\n")
    with pytest.raises(
        InputError, match=r"list\.xml, line 3, column 2: malformed XML: mismatched tag"
    ):
        _read(path, {"sdnEntry"})


def test_truncated_gzip_is_an_input_error(tmp_path: Path) -> None:
    body = "<r>" + "<e><uid>1</uid></e>" * 5000 + "</r>"
    path = tmp_path / "list.xml.gz"
    path.write_bytes(gzip.compress(body.encode())[:-40])
    with pytest.raises(InputError, match=r"list\.xml\.gz: (truncated or corrupt gzip|.*malformed)"):
        _read(path, {"e"})


def test_records_are_streamed_with_local_names_and_detached(tmp_path: Path) -> None:
    path = tmp_path / "list.xml"
    path.write_text(
        '<r xmlns="urn:a" date="2024"><meta><e><uid>0</uid></e></meta>'
        "<e><uid>1</uid><e><uid>inner</uid></e></e><other/><e><uid>2</uid></e></r>"
    )
    records = stream_records(path, {"e"})
    root_name, root = next(records)
    assert (root_name, root.get("date")) == ("r", "2024")
    seen = []
    previous = None
    for name, element in records:
        seen.append((name, child_text(element, "uid")))
        if previous is not None:
            assert len(previous) == 0  # a record read is cleared once the caller moves on
        previous = element
    # An "e" inside another "e" belongs to the outer record; one inside other content is a record.
    assert seen == [("e", "0"), ("e", "1"), ("e", "2")]
    assert len(root) == 0  # records and other content were detached: nothing piles up


def test_local_name() -> None:
    assert local_name("{http://www.un.org/sanctions/1.0}Feature") == "Feature"
    assert local_name("Feature") == "Feature"
