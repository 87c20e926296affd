"""The tag store: versions, delisting, idempotence, atomicity and TLP visibility."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from counterflow.attribution.records import (
    SANCTIONED,
    ListedAddress,
    ListEntry,
    ParsedList,
    Reject,
    SourceFile,
)
from counterflow.attribution.tagstore import TagStore
from counterflow.attribution.tlp import OPERATOR, Viewer
from counterflow.errors import InputError, StoreError

LAZARUS_1 = "0x098b716b8aaf21512996dc57eb0615e2383e2f96"
LAZARUS_2 = "0xa0e1c89ef1a489c9c7de96311ed5ce5d32c20e4b"
TORNADO = "0xd90e2f925da726b50c4ed8d0fb90ad053324f31b"
BTC = "bc1qa5wkgaew2dkv56kfvj49j0av5nml45x9ek9hz6"


def listed(address: str, entry: str, label: str, chain: str = "ethereum") -> ListedAddress:
    return ListedAddress(
        chain=chain,
        address=address,
        category=SANCTIONED,
        label=label,
        confidence=1.0,
        entry=entry,
        programs=("DPRK3",) if entry == "24295" else ("CYBER2",),
        ticker="ETH" if chain == "ethereum" else "XBT",
    )


def version(
    published: date, *addresses: ListedAddress, digest: str, entries: tuple[ListEntry, ...] = ()
) -> ParsedList:
    return ParsedList(
        source="ofac-sdn",
        format="ofac-json",
        files=(SourceFile(path=f"/lists/sdn-{published}.json", sha256=digest),),
        published=published,
        entries=entries,
        addresses=addresses,
        rejects=(Reject(where="sdn.json: XMR", value="5be5543f", reason="not an address"),),
    )


LAZARUS = ListEntry(entry="24295", name="LAZARUS GROUP", kind="entity", programs=("DPRK3",))
TORNADO_ENTRY = ListEntry(entry="32480", name="TORNADO CASH", kind="entity", programs=("CYBER2",))
V2024 = version(
    date(2024, 9, 27),
    listed(LAZARUS_1, "24295", "LAZARUS GROUP"),
    listed(TORNADO, "32480", "TORNADO CASH"),
    listed(BTC, "24295", "LAZARUS GROUP", chain="bitcoin"),
    digest="a" * 64,
    entries=(LAZARUS, TORNADO_ENTRY),
)
V2025 = version(
    date(2025, 8, 21),
    listed(LAZARUS_1, "24295", "LAZARUS GROUP"),
    listed(LAZARUS_2, "24295", "LAZARUS GROUP"),
    listed(BTC, "24295", "LAZARUS GROUP", chain="bitcoin"),
    digest="b" * 64,
    entries=(LAZARUS,),
)


def at(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(tzinfo=UTC)


@pytest.fixture
def store(tmp_path: Path) -> TagStore:
    return TagStore(tmp_path / "data")


def test_a_new_version_records_additions_and_delistings(store: TagStore) -> None:
    first = store.import_list(V2024)
    assert (first.added, first.removed, first.version) == (3, 0, "2024-09-27")
    assert first.entries_added == 2 and len(first.rejects) == 1
    second = store.import_list(V2025)
    assert (second.added, second.removed, second.unchanged) == (1, 1, 2)
    assert (second.entries_added, second.entries_removed) == (0, 1)

    diff = store.diff("ofac-sdn")
    assert (diff.old, diff.new) == ("2024-09-27", "2025-08-21")
    assert [t.address for t in diff.added] == [LAZARUS_2]
    assert [t.address for t in diff.removed] == [TORNADO]
    assert [e.name for e in diff.entries_removed] == ["TORNADO CASH"]

    # screening honours validity: Tornado Cash counts before its delisting, not after
    before = store.lookup("ethereum", [TORNADO, LAZARUS_2], at=at("2025-01-01"))
    assert set(before) == {TORNADO}
    after = store.lookup("ethereum", [TORNADO, LAZARUS_2], at=at("2025-09-01"))
    assert set(after) == {LAZARUS_2}
    (history,) = store.history("ethereum", TORNADO)
    assert history.removed_in == "2025-08-21"
    assert history.valid_to == at("2025-08-21")
    assert history.valid_from == at("2024-09-27")
    assert [v.version for v in store.versions()] == ["2024-09-27", "2025-08-21"]
    assert {e.name for e in store.entries(at=at("2025-09-01"))} == {"LAZARUS GROUP"}


def test_a_relisted_address_opens_a_new_period(store: TagStore) -> None:
    store.import_list(V2024)
    store.import_list(V2025)
    v2026 = version(
        date(2026, 3, 1),
        listed(TORNADO, "32480", "TORNADO CASH"),
        digest="c" * 64,
    )
    report = store.import_list(v2026)
    assert report.added == 1 and report.removed == 3
    periods = store.history("ethereum", TORNADO)
    assert [(p.valid_from.date(), p.valid_to and p.valid_to.date()) for p in periods] == [
        (date(2024, 9, 27), date(2025, 8, 21)),
        (date(2026, 3, 1), None),
    ]
    diff = store.diff("ofac-sdn", old="2024-09-27", new="2026-03-01")
    assert {t.address for t in diff.removed} == {LAZARUS_1, BTC}
    assert diff.added == ()


def test_importing_the_same_files_again_changes_nothing(store: TagStore) -> None:
    store.import_list(V2024)
    generation = store.generation
    again = store.import_list(V2024, version="another-name")
    assert again.no_change and again.added == 0
    assert store.generation == generation
    assert len(store.versions()) == 1


def test_an_older_version_after_a_newer_one_is_refused_and_nothing_changes(
    store: TagStore,
) -> None:
    store.import_list(V2025)
    generation = store.generation
    with pytest.raises(InputError, match="older than version '2025-08-21'"):
        store.import_list(V2024)
    assert store.generation == generation
    assert len(store.tags()) == 3


def test_a_version_name_cannot_be_reused_for_other_files(store: TagStore) -> None:
    store.import_list(V2024, version="v1")
    with pytest.raises(InputError, match="already has a version 'v1'"):
        store.import_list(V2025, version="v1")


def test_a_failed_write_leaves_the_previous_store(
    store: TagStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.import_list(V2024)
    generation = store.generation
    before = store.tags(at=at("2025-01-01"))
    real = pq.write_table
    calls = []

    def failing(table: object, where: object, **kwargs: object) -> None:
        calls.append(where)
        if len(calls) == 2:
            raise OSError("disk full")
        real(table, where, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(pq, "write_table", failing)
    with pytest.raises(OSError, match="disk full"):
        store.import_list(V2025)
    monkeypatch.undo()
    fresh = TagStore(store.directory)
    assert fresh.generation == generation
    assert fresh.tags(at=at("2025-01-01")) == before
    leftovers = [p.name for p in fresh.root.iterdir() if p.name.startswith(".")]
    assert leftovers == []
    assert fresh.import_list(V2025).added == 1


def test_tlp_hides_a_partners_amber_tags_from_other_partners(store: TagStore) -> None:
    store.import_list(V2024)  # operator, clear
    private = ParsedList(
        source="partner-a-intel",
        format="address-list",
        files=(SourceFile("/a/list.txt", "d" * 64),),
        published=date(2025, 1, 1),
        addresses=(
            ListedAddress(
                chain="ethereum",
                address=LAZARUS_2,
                category="stolen_funds",
                label="Partner A case 17",
                confidence=0.9,
            ),
        ),
    )
    store.import_list(private, tlp="amber", owner="partner-a")
    later = at("2025-02-01")
    a, b = Viewer("partner-a"), Viewer("partner-b")
    assert LAZARUS_2 in store.lookup("ethereum", [LAZARUS_2], viewer=a, at=later)
    assert LAZARUS_2 in store.lookup("ethereum", [LAZARUS_2], viewer=OPERATOR, at=later)
    assert store.lookup("ethereum", [LAZARUS_2], viewer=b, at=later) == {}
    assert store.history("ethereum", LAZARUS_2, viewer=b) == []
    assert {v.source for v in store.versions(b)} == {"ofac-sdn"}
    assert {v.source for v in store.versions(a)} == {"ofac-sdn", "partner-a-intel"}
    assert all(t.owner is None for t in store.tags(viewer=b, at=later))
    with pytest.raises(InputError, match="no list 'partner-a-intel'"):
        store.diff("partner-a-intel", viewer=b, owner="partner-a")
    # clear tags are shared with every partner
    assert LAZARUS_1 in store.lookup("ethereum", [LAZARUS_1], viewer=b, at=later)


def test_tags_carry_what_the_tracer_needs(store: TagStore) -> None:
    store.import_list(V2024)
    (tag,) = store.lookup("bitcoin", [BTC], at=at("2024-10-01"))[BTC]
    graph_tag = tag.to_graph_tag()
    assert (graph_tag.chain, graph_tag.address, graph_tag.category) == ("bitcoin", BTC, SANCTIONED)
    assert graph_tag.source == "ofac-sdn@2024-09-27"
    assert tag.programs == ("DPRK3",) and tag.entry == "24295"
    table = store.arrow_tags(at=at("2024-10-01"))
    assert table.num_rows == 3
    assert sorted(table.column("address").to_pylist()) == sorted([BTC, LAZARUS_1, TORNADO])
    document = tag.to_json()
    assert document["valid_from"] == "2024-09-27T00:00:00Z" and document["valid_to"] is None


def test_naive_times_are_refused(store: TagStore) -> None:
    with pytest.raises(InputError, match="no time zone"):
        store.tags(at=datetime(2025, 1, 1))


def test_a_manifest_from_another_format_is_a_store_error(store: TagStore) -> None:
    store.import_list(V2024)
    (store.root / "manifest.json").write_text('{"format": 99, "generation": "x"}')
    with pytest.raises(StoreError, match="format 99"):
        store.tags()


def test_a_rendering_without_entries_neither_delists_parties_nor_loses_them(
    store: TagStore,
) -> None:
    store.import_list(V2024)
    tickers = ParsedList(
        source="ofac-sdn",
        format="ofac-tickers",
        files=(SourceFile("/lists/tickers", "e" * 64),),
        published=date(2025, 1, 1),
        addresses=tuple(
            ListedAddress(t.chain, t.address, SANCTIONED, "OFAC SDN", 1.0) for t in V2024.addresses
        ),
    )
    report = store.import_list(tickers)
    # the same addresses under no entry: nothing delisted, the entries stay
    assert (report.added, report.removed, report.entries_removed) == (0, 0, 0)
    assert {e.name for e in store.entries()} == {"LAZARUS GROUP", "TORNADO CASH"}
    (tag,) = store.lookup("ethereum", [LAZARUS_1])[LAZARUS_1]
    assert tag.entry == "24295" and tag.version == "2024-09-27"


def test_a_partial_rendering_adds_entries_without_delisting_the_rest(store: TagStore) -> None:
    store.import_list(V2024)
    extraction = ParsedList(
        source="ofac-sdn",
        format="ofac-json",
        files=(SourceFile("/lists/extract.json", "f" * 64),),
        published=date(2025, 2, 1),
        entries=(ListEntry("40000", "NEW PARTY", "entity"),),
        addresses=V2024.addresses,
        entries_complete=False,
    )
    report = store.import_list(extraction)
    assert (report.entries_added, report.entries_removed) == (1, 0)
    assert {e.name for e in store.entries()} == {"LAZARUS GROUP", "TORNADO CASH", "NEW PARTY"}


def test_a_fuller_rendering_names_the_entry_of_an_address_listed_without_one(
    store: TagStore,
) -> None:
    bare = ParsedList(
        source="ofac-sdn",
        format="ofac-tickers",
        files=(SourceFile("/lists/tickers", "1" * 64),),
        published=date(2024, 9, 27),
        addresses=(ListedAddress("ethereum", LAZARUS_1, SANCTIONED, "OFAC SDN", 1.0),),
    )
    store.import_list(bare)
    store.import_list(V2025)
    (tag,) = store.lookup("ethereum", [LAZARUS_1])[LAZARUS_1]
    assert (tag.label, tag.entry, tag.programs) == ("LAZARUS GROUP", "24295", ("DPRK3",))
    assert tag.valid_from == at("2024-09-27")  # the listing period did not restart
