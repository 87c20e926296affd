"""TagPacks read as one list version: bad tags become rejects, the rest is kept."""

from __future__ import annotations

from pathlib import Path

import pytest

from counterflow.attribution.tagpack import (
    GRAPHSENSE_CONFIDENCE,
    load_tagpack,
    parse_tagpacks,
    tag_confidence,
)
from counterflow.errors import InputError

PACK = """\
title: Lazarus exploit addresses
creator: analyst
currency: ETH
category: stolen_funds
confidence: forensic
tags:
  - address: "0x098B716B8Aaf21512996dC57EB0615e2383E2f96"
    label: Ronin exploiter
  - address: 0x098b716b8aaf21512996dc57eb0615e2383e2f96
    label: Ronin exploiter (unquoted)
    confidence: ownership
  - address: "0x098B716B8Aaf21512996dC57EB0615e2383E2f9"
    label: short
  - address: 1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa
    currency: BTC
    label: genesis
    confidence: 0.3
  - address: 1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa
    currency: DOGE2
    label: unknown currency
  - address: 1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa
    currency: BTC
    label: odd confidence
    confidence: guesswork
"""


def test_good_tags_are_kept_and_bad_ones_rejected(tmp_path: Path) -> None:
    path = tmp_path / "pack.yaml"
    path.write_text(PACK)
    parsed = parse_tagpacks([path])
    assert parsed.source == "Lazarus exploit addresses" and parsed.format == "tagpack"
    ronin = "0x098b716b8aaf21512996dc57eb0615e2383e2f96"
    assert [(a.chain, a.address, a.label, a.confidence) for a in parsed.addresses] == [
        ("ethereum", ronin, "Ronin exploiter", 0.5),  # forensic, from the header
        ("ethereum", ronin, "Ronin exploiter (unquoted)", 1.0),  # a YAML number, read back
        ("bitcoin", "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", "genesis", 0.3),
    ]
    assert {a.category for a in parsed.addresses} == {"stolen_funds"}
    where = [r.where.split(": ", 1)[1] for r in parsed.rejects]
    assert where == ["tags[2].address", "tags[4].currency", "tags[5].confidence"]
    assert "expected 40 hex digits" in parsed.rejects[0].reason
    # The strict reader stops at the first bad tag, as before.
    with pytest.raises(InputError, match=r"pack\.yaml: tags\[2\]\.address"):
        load_tagpack(path)


def test_packs_of_different_titles_need_a_source(tmp_path: Path) -> None:
    first, second = tmp_path / "a.yaml", tmp_path / "b.yaml"
    first.write_text(PACK)
    second.write_text(PACK.replace("title: Lazarus exploit addresses", "title: Other"))
    with pytest.raises(InputError, match="give a source name"):
        parse_tagpacks([first, second])
    assert parse_tagpacks([first, second], source="team-tags").source == "team-tags"


def test_a_file_that_is_not_a_tagpack_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "pack.yaml"
    path.write_text("title: x\n")
    with pytest.raises(InputError, match="missing 'tags' list"):
        parse_tagpacks([path])


@pytest.mark.parametrize(
    ("value", "confidence"), [("ownership", 1.0), ("web_crawl", 0.2), ("0.75", 0.75), ("60", 0.6)]
)
def test_tag_confidence(value: str, confidence: float) -> None:
    assert tag_confidence(value) == confidence
    assert all(0 < level <= 1 for level in GRAPHSENSE_CONFIDENCE.values())
