"""Name screening: normalisation, variants found, common words and strangers not, visibility;
and on the real UN list."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from screening_stores import account_store, import_list

from counterflow.attribution.records import ListEntry
from counterflow.attribution.tagstore import StoredEntry
from counterflow.attribution.tlp import Viewer
from counterflow.screening import NameIndex, Screener, normalize_name

WHEN = datetime(2025, 1, 1, tzinfo=UTC)


def entry(key: str, name: str, *aliases: str, kind: str = "individual") -> StoredEntry:
    return StoredEntry(
        source="un-consolidated",
        version="2025-11-18",
        entry=key,
        name=name,
        kind=kind,
        programs=("DPRK",),
        aliases=aliases,
        countries=("KP",),
        remarks="",
        tlp="clear",
        owner=None,
        valid_from=WHEN,
        valid_to=None,
        removed_in=None,
    )


PARTIES = [
    entry("KPi.001", "KIM Jong Un", "Kim Jong-un"),
    entry("KPi.002", "PAK To-Chun"),
    entry("KPe.001", "KOREA KWANGSON BANKING CORP.", "KKBC", kind="entity"),
    entry("KPe.002", "LAZARUS GROUP", "HIDDEN COBRA", "APT38", kind="entity"),
    entry("XXi.001", "José María ÁLVAREZ-PEÑA"),
]


def test_normalisation() -> None:
    assert normalize_name("Kim Jong-un") == normalize_name("JONG UN, Kim") == "jong kim un"
    assert normalize_name("General Kim Jong Un") == "jong kim un"
    assert normalize_name("Korea Kwangson Banking Corp.") == "banking korea kwangson"
    assert normalize_name("José María Álvarez-Peña") == "alvarez jose maria pena"


def test_variants_match_and_common_words_do_not() -> None:
    index = NameIndex(PARTIES)
    for query, expected in [
        ("Kim Jong Un", "KPi.001"),
        ("Mr. Jong-Un KIM", "KPi.001"),
        ("Pak To Chun", "KPi.002"),
        ("Korea Kwangson Banking Corporation", "KPe.001"),
        ("Jose Maria Alvarez Pena", "XXi.001"),
        ("Lazarus Grup", "KPe.002"),
    ]:
        found = index.search(query)
        assert found.matches and found.matches[0].entry == expected, query
        assert found.matches[0].score >= found.threshold
    hidden = index.search("hidden cobra").matches[0]
    assert (hidden.entry, hidden.alias, hidden.matched, hidden.name) == (
        "KPe.002",
        True,
        "HIDDEN COBRA",
        "LAZARUS GROUP",
    )
    # a common word or a stranger sharing one word is not a match
    for query in ("Kim", "Kim Yong Chol", "Korea", "Lazarus", "John Smith", "KK"):
        assert index.search(query).matches == (), query


def test_screener_names_respect_visibility(tmp_path: Path) -> None:
    store = account_store(tmp_path, [("a", "b", 1)])
    public = ListEntry("KPi.001", "KIM Jong Un", "individual", ("DPRK",), ("Kim Jong-un",))
    private = ListEntry("case-9", "CHOE Song Il", "individual", ("DPRK",))
    import_list(store, "un-consolidated", [], date(2024, 1, 1), entries=[public])
    import_list(
        store, "partner-a-names", [], date(2024, 1, 1), entries=[private], tlp="red",
        owner="partner-a",
    )  # fmt: skip
    screener = Screener(store)
    [kim, choe] = screener.screen_names(["kim jong un", "Choe Song-Il"])
    assert kim.matches[0].entry == "KPi.001" and kim.matches[0].source == "un-consolidated"
    assert choe.matches[0].entry == "case-9"
    [hidden] = screener.screen_names(["Choe Song-Il"], viewer=Viewer("partner-b"))
    assert hidden.matches == ()
    [own] = screener.screen_names(["Choe Song-Il"], viewer=Viewer("partner-a"))
    assert own.matches[0].entry == "case-9"
    document = kim.to_json()
    assert document["matches"][0]["programs"] == ["DPRK"]


def test_real_un_list(shared_data: Path) -> None:
    from counterflow.attribution.un_list import parse_un_list

    parsed = parse_un_list([shared_data / "sanctions" / "un-consolidated-2025-11-18.xml.gz"])
    parties = [
        StoredEntry(
            "un-consolidated", "2025-11-18", e.entry, e.name, e.kind, e.programs, e.aliases,
            e.countries, e.remarks, "clear", None, WHEN, None, None,
        )
        for e in parsed.entries
    ]  # fmt: skip
    index = NameIndex(parties)
    assert len(index) > 3000
    dprk = [p for p in parties if "DPRK" in " ".join(p.programs) or p.entry.startswith("KP")]
    assert dprk
    target = dprk[0]
    found = index.search(" ".join(reversed(target.name.split())).title())
    assert found.matches[0].entry == target.entry
    assert index.search("Maria Fernanda Gonzalez Ruiz").matches == ()


@pytest.mark.parametrize("limit", [0, -1])
def test_limit_must_be_positive(tmp_path: Path, limit: int) -> None:
    store = account_store(tmp_path, [("a", "b", 1)])
    with pytest.raises(Exception, match="limit"):
        Screener(store).screen_names(["x"], limit=limit)
