"""OFAC's legacy SDN CSV: the real January 2022 file, and the companions on small copies."""

from __future__ import annotations

import csv
import gzip
import io
import re
from collections import Counter
from pathlib import Path

import pytest

from counterflow.attribution.ofac_csv import parse_ofac_csv
from counterflow.attribution.records import SANCTIONED, ParsedList
from counterflow.errors import InputError

SDN_2022 = "sanctions/ofac-sdn-2022-01.csv.gz"


@pytest.fixture(scope="module")
def raw_rows(shared_data: Path) -> list[list[str]]:
    with gzip.open(shared_data / SDN_2022, "rt", encoding="utf-8", newline="") as handle:
        return list(csv.reader(handle))


@pytest.fixture(scope="module")
def parsed(shared_data: Path) -> ParsedList:
    return parse_ofac_csv([shared_data / SDN_2022])


def test_every_row_is_an_entry(parsed: ParsedList, raw_rows: list[list[str]]) -> None:
    assert len(parsed.entries) == len(raw_rows) == 9044
    assert [e.entry for e in parsed.entries] == [row[0] for row in raw_rows]
    # One ent_num is published twice; both parties are kept.
    assert [e.name for e in parsed.entries if e.entry == "2677"] == [
        row[1] for row in raw_rows if row[0] == "2677"
    ]
    assert parsed.source == "ofac-sdn"
    assert parsed.format == "ofac-csv"
    assert parsed.published is None  # the CSV states no date


def test_lazarus_group(parsed: ParsedList, raw_rows: list[list[str]]) -> None:
    (raw,) = [row for row in raw_rows if row[1] == "LAZARUS GROUP"]
    (entry,) = [e for e in parsed.entries if e.name == "LAZARUS GROUP"]
    assert entry.entry == raw[0] == "27307"
    assert entry.kind == "entity"
    assert entry.programs == ("DPRK3",)
    assert set(re.findall(r"a\.k\.a\. '([^']+)'", raw[11])) == set(entry.aliases)
    assert {"HIDDEN COBRA", "APPLEWORM", "TEMP.HERMIT"} <= set(entry.aliases)


def test_kinds_and_split_programs(parsed: ParsedList, raw_rows: list[list[str]]) -> None:
    expected = Counter({"-0-": "entity"}.get(row[2].strip(), row[2].strip()) for row in raw_rows)
    assert Counter(e.kind for e in parsed.entries) == expected
    by_id = {e.entry: e for e in parsed.entries}
    for row in raw_rows:
        if "] [" in row[3]:
            assert by_id[row[0]].programs == tuple(row[3].split("] ["))
    korea = [e for e in parsed.entries if "Korea, North" in e.countries]
    assert len(korea) > 50


def test_addresses_per_ticker_match_a_count_of_the_remarks(
    parsed: ParsedList, raw_rows: list[list[str]]
) -> None:
    occurrences = Counter(
        ticker
        for row in raw_rows
        for ticker in re.findall(r"Digital Currency Address - (\w+)", row[11])
    )
    assert occurrences["XBT"] == 102
    assert occurrences["ETH"] == 6
    taken = Counter(a.ticker for a in parsed.addresses)
    rejected = Counter(
        re.search(r"ticker (\w+)", r.reason).group(1)  # type: ignore[union-attr]
        for r in parsed.rejects
    )
    assert taken + rejected == occurrences
    assert len(parsed.addresses) == len({(a.chain, a.address, a.entry) for a in parsed.addresses})
    assert all(a.category == SANCTIONED and a.confidence == 1.0 for a in parsed.addresses)


def test_addresses_carry_their_entry(parsed: ParsedList) -> None:
    chatex = [a for a in parsed.addresses if a.label == "CHATEX"]
    assert chatex and {a.entry for a in chatex} == {"33854"}
    assert all(a.chain == "bitcoin" or a.ticker != "XBT" for a in parsed.addresses)


def test_addresses_cut_by_the_remarks_limit_are_rejected_with_the_reason(
    parsed: ParsedList,
) -> None:
    cut = [r for r in parsed.rejects if "cut at 1000 characters" in r.reason]
    assert {r.value for r in cut} == {"3", "1Gq", "1B64QRxf"}
    assert all("sdn_comments.csv" in r.reason for r in cut)
    (hex_string,) = [r for r in parsed.rejects if r.value.startswith("5be5543f")]
    assert "monero" in hex_string.reason and "ticker XMR" in hex_string.reason
    assert "(ent_num 29585)" in hex_string.where


SDN_ROWS = [
    [
        "27307", "LAZARUS GROUP", "-0- ", "DPRK3", "-0- ", "-0- ", "-0- ", "-0- ", "-0- ",
        "-0- ", "-0- ", "a.k.a. 'HIDDEN COBRA'.",
    ],
    [
        "33854", "CHATEX", "-0- ", "CYBER2] [ELECTION-EO13848", "-0- ", "-0- ", "-0- ",
        "-0- ", "-0- ", "-0- ", "-0- ",
        "Digital Currency Address - ETH 0x6f1ca141a28907f78ebaa64fb83a9088b02a8352; "
        + "x" * 879
        + "; alt. Digital Currency Address - XBT 1A1zP1eP",
    ],
]  # fmt: skip


def _write(path: Path, rows: list[list[str]], tail: str = "") -> Path:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    path.write_text(out.getvalue() + tail)
    return path


def test_companion_files_add_aliases_countries_and_the_rest_of_the_remarks(
    tmp_path: Path,
) -> None:
    assert len(SDN_ROWS[1][11]) == 1000
    sdn = _write(tmp_path / "sdn.csv", SDN_ROWS, tail="\x1a\n")
    alone = parse_ofac_csv([sdn])
    (cut,) = alone.rejects
    assert cut.value == "1A1zP1eP" and "sdn_comments.csv" in cut.reason
    _write(
        tmp_path / "add.csv",
        [["27307", "42164", "Potonggang District", "Pyongyang", "Korea, North", "-0- "]],
    )
    _write(tmp_path / "alt.csv", [["27307", "37701", "aka", "GUARDIANS OF PEACE", "-0- "]])
    _write(tmp_path / "sdn_comments.csv", [["33854", "5QGefi2DMPTfTL5SLmv7DivfNa."]])
    whole = parse_ofac_csv([tmp_path])
    assert whole.rejects == ()
    assert len(whole.files) == 4
    lazarus, chatex = whole.entries
    assert lazarus.aliases == ("HIDDEN COBRA", "GUARDIANS OF PEACE")
    assert lazarus.countries == ("Korea, North",)
    assert chatex.programs == ("CYBER2", "ELECTION-EO13848")
    assert [(a.chain, a.address) for a in whole.addresses] == [
        ("ethereum", "0x6f1ca141a28907f78ebaa64fb83a9088b02a8352"),
        ("bitcoin", "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"),
    ]


def test_a_row_with_another_column_count_is_an_error(tmp_path: Path) -> None:
    sdn = _write(tmp_path / "sdn.csv", [SDN_ROWS[0], SDN_ROWS[0][:11]])
    with pytest.raises(InputError, match=r"sdn\.csv, row 2 \(line 2\): 11 columns, expected 12"):
        parse_ofac_csv([sdn])


def test_a_file_of_no_known_width_is_an_error(tmp_path: Path) -> None:
    other = _write(tmp_path / "other.csv", [["a", "b", "c"]])
    with pytest.raises(InputError, match=r"other\.csv, row 1: 3 columns; OFAC's legacy CSV"):
        parse_ofac_csv([other])


def test_companions_without_sdn_csv_are_an_error(tmp_path: Path) -> None:
    alt = _write(tmp_path / "alt.csv", [["27307", "37701", "aka", "GUARDIANS OF PEACE", "-0- "]])
    with pytest.raises(InputError, match=r"no sdn\.csv"):
        parse_ofac_csv([alt])


def test_truncated_gzip_gives_no_partial_result(tmp_path: Path, shared_data: Path) -> None:
    data = (shared_data / SDN_2022).read_bytes()
    broken = tmp_path / "sdn.csv.gz"
    broken.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match=r"sdn\.csv\.gz: truncated or corrupt gzip"):
        parse_ofac_csv([broken])


def test_text_that_is_not_utf8_is_an_error(tmp_path: Path) -> None:
    sdn = tmp_path / "sdn.csv"
    sdn.write_bytes(
        b'306,"BANCO NACIONAL DE CUBA",-0- ,CUBA,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,"\xe9"\n'
    )
    with pytest.raises(InputError, match=r"sdn\.csv, line 1: not UTF-8"):
        parse_ofac_csv([sdn])
